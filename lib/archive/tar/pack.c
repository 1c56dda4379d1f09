/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory (an overlay upper) → OCI layer tar (pax). Our own walk rather than
 * archive_read_disk: name order (reproducible layers), no following of symlinks or
 * crossing of mounts, and the overlay conversions happen where the entries are made.
 *
 * The walker (the caller's thread) lists directories and hands their entries, in
 * order, to a pool of workers in batches (describe.c: stat, open, xattrs, small files'
 * content); it collects the batches in the same order and writes the archive. So the
 * system calls that bound a tree of small files run on every core, while the order,
 * hardlinks and the archive stay on one thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/archive/pool.h"
#include "lib/archive/tar/internal.h"
#include "lib/archive/tar/pack.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

#define IO_BLOCK (1U << 20)

struct link_node {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct pack {
	struct archive *a;
	cl_sink_fn sink;
	void *sink_ctx;
	struct cl_error *sink_err;
	struct pack_conf conf;
	void *links;	    /* tsearch tree of struct link_node: hardlinks */
	unsigned char *buf; /* the walker's reads of large files */
	struct cl_pool *pool;
	struct pack_batch *batches; /* one per ring slot */
	unsigned depth;
	struct pack_batch *cur; /* being filled */
	struct cl_pool_job *cur_job;
	unsigned open_dirs, max_open_dirs;
};

static la_ssize_t pack_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct pack *p = ud;

	if (p->sink(p->sink_ctx, buf, len, &p->sink_err) < 0) {
		archive_set_error(a, EIO, "output failed");
		return -1;
	}
	return (la_ssize_t)len;
}

/* libarchive's message, unless our sink failed first (its error is the real one) */
static int pack_fail(struct pack *p, const char *path, struct cl_error **err)
{
	if (p->sink_err) {
		return cl_error_move(err, &p->sink_err);
	}
	return cl_error_set(err, archive_errno(p->a) > 0 ? archive_errno(p->a) : EIO, "'%s': %s",
			    path, archive_error_string(p->a));
}

static int link_cmp(const void *a, const void *b)
{
	const struct link_node *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static void link_free(void *n)
{
	free(((struct link_node *)n)->path);
	free(n);
}

/* the first path seen for a multiply-linked inode, or NULL (and remember this one) */
static const char *link_lookup(struct pack *p, dev_t dev, ino_t ino, const char *path)
{
	struct link_node key = {dev, ino, NULL}, *n, **found;

	found = tfind(&key, &p->links, link_cmp);
	if (found)
		return (*found)->path;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strdup(path))) {
		free(n);
		return NULL; /* out of memory: stored as a separate copy, still correct data */
	}
	n->dev = dev;
	n->ino = ino;
	if (!tsearch(n, &p->links, link_cmp))
		link_free(n);
	return NULL;
}

/* record the data regions of a sparse file (SEEK_DATA/SEEK_HOLE) */
static int pack_sparse_map(int fd, const struct stat *st, struct archive_entry *e)
{
	off_t off = 0;
	bool any = false;

	if (st->st_size == 0 || (off_t)st->st_blocks * 512 >= st->st_size)
		return 0;
	while (off < st->st_size) {
		off_t d = lseek(fd, off, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break;
		if (d < 0)
			return errno == EINVAL ? 0 : -errno; /* no SEEK_DATA: store it dense */
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		h = h > st->st_size ? st->st_size : h;
		archive_entry_sparse_add_entry(e, d, h - d);
		any = true;
		off = h;
	}
	if (!any) /* all hole: one empty region at the end keeps the size */
		archive_entry_sparse_add_entry(e, st->st_size, 0);
	return 0;
}

static int pack_feed(struct pack *p, const unsigned char *buf, size_t n, const char *path,
		     struct cl_error **err)
{
	la_ssize_t w = archive_write_data(p->a, buf, n);

	return w < 0 || (size_t)w != n ? pack_fail(p, path, err) : 0;
}

/*
 * The pax writer takes the whole logical content and drops what falls in holes, so
 * holes are fed as zeros (never read from the file) and data is read at its offset.
 */
static int pack_data(struct pack *p, int fd, struct archive_entry *e, off_t size, const char *path,
		     struct cl_error **err)
{
	static const unsigned char zeros[64 * 1024];
	bool sparse = archive_entry_sparse_reset(e) > 0;
	la_int64_t off = 0, len = size;
	off_t pos = 0;

	while (pos < size) {
		if (sparse && archive_entry_sparse_next(e, &off, &len) != ARCHIVE_OK)
			off = size, len = 0;
		for (; pos < off;) {
			off_t gap = off - pos;
			size_t n = gap < (off_t)sizeof(zeros) ? (size_t)gap : sizeof(zeros);

			if (pack_feed(p, zeros, n, path, err) < 0)
				return -EIO;
			pos += (off_t)n;
		}
		for (; pos < off + len;) {
			off_t left = off + len - pos;
			size_t want = left < IO_BLOCK ? (size_t)left : IO_BLOCK;
			ssize_t n = pread(fd, p->buf, want, pos);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return cl_error_set(err, n < 0 ? errno : EIO, "'%s': %s", path,
						    n < 0 ? "read" : "file shrank while packing");
			if (pack_feed(p, p->buf, (size_t)n, path, err) < 0)
				return -EIO;
			pos += n;
		}
		if (!sparse)
			break;
	}
	return 0;
}

/* a large or maybe sparse file: open it again (the same inode) and stream it */
static int emit_reopen(struct pack *p, int dfd, const char *name, struct archive_entry *e,
		       struct cl_error **err)
{
	const char *path = archive_entry_pathname(e);
	struct stat st;
	_cleanup_close_ int fd =
	    pack_open_same(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			   archive_entry_dev(e), (ino_t)archive_entry_ino64(e), &st);
	int r;

	if (fd == -EAGAIN || (fd >= 0 && !S_ISREG(st.st_mode)))
		return cl_error_set(err, EAGAIN, "'%s' changed while packing", path);
	if (fd < 0)
		return cl_error_set(err, -fd, "open '%s'", path);
	st.st_size = archive_entry_size(e); /* what the header says */
	r = pack_sparse_map(fd, &st, e);
	if (r < 0)
		return cl_error_set(err, -r, "'%s': find holes", path);
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, path, err);
	return pack_data(p, fd, e, st.st_size, path, err);
}

static int emit_opaque_marker(struct pack *p, struct archive_entry *dir, struct cl_error **err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
	_cleanup_free_ char *marker = NULL;
	const char *path = archive_entry_pathname(dir);
	size_t len = strlen(path);

	/* the pax writer may have added the directory's trailing '/' to its entry */
	if (len > 0 && path[len - 1] == '/')
		len--;
	if (asprintf(&marker, "%.*s/" CL_TAR_WH_OPAQUE, (int)len, path) >= 0)
		e = pack_empty_file(marker, 0644, (uid_t)archive_entry_uid(dir),
				    (gid_t)archive_entry_gid(dir), archive_entry_mtime(dir),
				    archive_entry_mtime_nsec(dir));
	if (!e)
		return cl_error_set(err, ENOMEM, "opaque marker");
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, marker, err);
	return 0;
}

/*
 * A directory must be the one the walker listed: else it changed type or was replaced
 * after the listing, and its content would be wrong.
 */
static bool emit_dir_ok(const struct pack_ent *ent, struct archive_entry *e)
{
	return ent->has_sub && ent->sub_ino == (ino_t)archive_entry_ino64(e) &&
	       ent->sub_dev == archive_entry_dev(e);
}

static int emit_item(struct pack *p, struct pack_batch *b, size_t k, const unsigned char *buf,
		     struct cl_error **err)
{
	struct pack_item *it = &b->items[k];
	const struct pack_ent *ent = &b->ents[k];
	struct archive_entry *e = it->e;
	bool dir = e && archive_entry_filetype(e) == AE_IFDIR;
	const char *path, *first = NULL;

	if (!e)
		return 0;
	path = archive_entry_pathname(e);
	if (dir && !emit_dir_ok(ent, e))
		return cl_error_set(err, EAGAIN, "'%s' changed while packing", path);
	if (!dir && archive_entry_nlink(e) > 1)
		first = link_lookup(p, archive_entry_dev(e), (ino_t)archive_entry_ino64(e), path);
	if (first) {
		archive_entry_copy_hardlink(e, first);
		archive_entry_set_size(e, 0);
		it->data = PACK_DATA_NONE;
	}
	if (it->data == PACK_DATA_REOPEN)
		return emit_reopen(p, ent->dir->fd, ent->dir->ents[ent->idx].name, e, err);
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, path, err);
	if (it->data == PACK_DATA_BUF &&
	    pack_feed(p, buf + it->off, (size_t)archive_entry_size(e), path, err) < 0)
		return -EIO;
	if (it->opaque && dir)
		return emit_opaque_marker(p, e, err);
	return 0;
}

static void dir_unref(struct pack_dir *d)
{
	if (!d || --d->refs > 0)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	free(d->prefix);
	if (d->own_fd) {
		close(d->fd);
		(*d->open_count)--;
	}
	free(d);
}

/* done with a batch: its items and its references on directories */
static void batch_release(struct pack_batch *b)
{
	pack_batch_clear(b);
	for (size_t i = 0; i < b->n; i++)
		dir_unref(b->ents[i].dir);
	b->n = 0;
}

/* the oldest batch, once described: write its entries */
static int collect_one(struct pack *p, struct cl_error **err)
{
	struct cl_pool_job *job = cl_pool_job_wait(p->pool);
	struct pack_batch *b;
	int r = 0;

	if (!job)
		return cl_error_set(err, EIO, "pack: nothing in flight");
	b = &p->batches[job->slot];
	for (size_t k = 0; k < b->n_done && r == 0; k++)
		r = emit_item(p, b, k, job->buf, err);
	if (r == 0 && b->err)
		r = cl_error_move(err, &b->err);
	batch_release(b);
	cl_pool_job_put(p->pool, job);
	return r;
}

static void batch_submit(struct pack *p)
{
	if (p->cur)
		cl_pool_job_submit(p->pool, p->cur_job);
	p->cur = NULL;
	p->cur_job = NULL;
}

/* append entry @i of @dir to the batch being filled, starting one if needed */
static int batch_add(struct pack *p, struct pack_dir *dir, size_t i, struct cl_error **err)
{
	struct cl_pool_job *job;

	if (!p->cur) {
		while (!(job = cl_pool_job_get(p->pool))) {
			int r = collect_one(p, err);

			if (r < 0)
				return r;
		}
		p->cur = &p->batches[job->slot];
		p->cur_job = job;
		p->cur->n = 0;
	}
	p->cur->ents[p->cur->n++] = (struct pack_ent){.dir = dir, .idx = i};
	dir->refs++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pack_name *)a)->name, ((const struct pack_name *)b)->name);
}

/* the entries of @d->fd with their d_type, sorted bytewise */
static int dir_list(struct pack_dir *d, struct cl_error **err)
{
	int fd2 = dup(d->fd);
	_cleanup_(closedirp) DIR *dir = fd2 >= 0 ? fdopendir(fd2) : NULL;
	size_t cap = 0;
	struct dirent *de;

	if (!dir) {
		if (fd2 >= 0)
			close(fd2);
		return cl_error_set(err, errno, "'%s': opendir", d->prefix[0] ? d->prefix : ".");
	}
	while ((errno = 0, de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (d->n == cap) {
			struct pack_name *nn =
			    realloc(d->ents, (cap = cap ? 2 * cap : 32) * sizeof(*d->ents));

			if (!nn)
				return cl_error_set(err, ENOMEM, "'%s': readdir", d->prefix);
			d->ents = nn;
		}
		d->ents[d->n].type = de->d_type;
		if (!(d->ents[d->n].name = strdup(de->d_name)))
			return cl_error_set(err, ENOMEM, "'%s': readdir", d->prefix);
		d->n++;
	}
	if (errno)
		return cl_error_set(err, errno, "'%s': readdir", d->prefix[0] ? d->prefix : ".");
	if (d->n > 1)
		qsort(d->ents, d->n, sizeof(*d->ents), name_cmp);
	return 0;
}

static struct pack_dir *dir_new(struct pack *p, int fd, bool own_fd, char *prefix)
{
	struct pack_dir *d = calloc(1, sizeof(*d));

	if (!d) {
		if (own_fd)
			close(fd);
		free(prefix);
		return NULL;
	}
	*d = (struct pack_dir){.fd = fd, .own_fd = own_fd, .prefix = prefix, .refs = 1};
	if (own_fd) {
		d->open_count = &p->open_dirs;
		p->open_dirs++;
	}
	return d;
}

/*
 * Every directory with entries in flight stays open: on a wide tree of small
 * directories that is one fd per entry in the ring. Past half the fd limit, hand out
 * the batch being filled and write out the oldest ones (closing their directories)
 * before opening another.
 */
static int dir_make_room(struct pack *p, struct cl_error **err)
{
	if (p->open_dirs < p->max_open_dirs)
		return 0;
	batch_submit(p);
	while (p->open_dirs >= p->max_open_dirs && cl_pool_inflight(p->pool) > 0) {
		int r = collect_one(p, err);

		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Open and list entry @i of @parent, a directory, for the walk into it; note its inode
 * with the entry just added (the worker describes it separately: emit_dir_ok()).
 */
static int dir_open_sub(struct pack *p, struct pack_dir *parent, size_t i, struct pack_dir **ret,
			struct cl_error **err)
{
	const char *name = parent->ents[i].name;
	struct pack_ent *ent;
	struct pack_dir *d;
	char *prefix = NULL;
	struct stat st;
	int fd = openat(parent->fd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s%s'", parent->prefix, name);
	if (fstat(fd, &st) < 0 || asprintf(&prefix, "%s%s/", parent->prefix, name) < 0) {
		close(fd);
		return cl_error_set(err, errno ? errno : ENOMEM, "'%s%s'", parent->prefix, name);
	}
	d = dir_new(p, fd, true, prefix);
	if (!d)
		return cl_error_set(err, ENOMEM, "'%s%s'", parent->prefix, name);
	ent = &p->cur->ents[p->cur->n - 1];
	ent->has_sub = true;
	ent->sub_dev = st.st_dev;
	ent->sub_ino = st.st_ino;
	*ret = d;
	return st.st_dev == p->conf.dev ? dir_list(d, err) : 0; /* a mount: the worker says */
}

/* the type the listing left unknown (a filesystem without d_type) */
static void resolve_type(struct pack_dir *d, size_t i)
{
	struct stat st;

	if (d->ents[i].type != DT_UNKNOWN ||
	    fstatat(d->fd, d->ents[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return; /* the worker reports a failing stat */
	d->ents[i].type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
}

/* add the tree under @dir to the batches, in archive order */
static int walk_dir(struct pack *p, struct pack_dir *dir, struct cl_error **err)
{
	for (size_t i = 0; i < dir->n; i++) {
		struct pack_dir *sub = NULL;
		int r;

		resolve_type(dir, i);
		r = dir->ents[i].type == DT_DIR ? dir_make_room(p, err) : 0;
		if (r == 0)
			r = batch_add(p, dir, i, err);
		if (r < 0)
			return r;
		if (dir->ents[i].type == DT_DIR)
			r = dir_open_sub(p, dir, i, &sub, err);
		if (p->cur->n == PACK_BATCH_ENTRIES)
			batch_submit(p);
		if (r == 0 && sub)
			r = walk_dir(p, sub, err);
		dir_unref(sub);
		if (r < 0)
			return r;
	}
	return 0;
}

static int pack_work(void *arg, void *wctx, struct cl_pool_job *job)
{
	struct pack *p = arg;

	return pack_describe_batch(&p->conf, wctx, &p->batches[job->slot], job->buf,
				   PACK_BATCH_BYTES);
}

static const struct cl_pool_ops pack_ops = {
    .init = pack_scratch_new,
    .work = pack_work,
    .fini = pack_scratch_free,
};

static int pack_open(struct pack *p, struct cl_error **err)
{
	p->a = archive_write_new();
	if (!p->a)
		return cl_error_set(err, ENOMEM, "libarchive");
	/*
	 * full pax: xattrs, long names, sparse 1.0 and nanosecond mtimes (restricted pax
	 * rounds them to seconds). Names that are not ASCII get hdrcharset=BINARY and keep
	 * their bytes. Unblocked: no copy into 10 KiB records, no padding at the end.
	 */
	if (archive_write_set_format_pax(p->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(p->a, 0) != ARCHIVE_OK ||
	    archive_write_open2(p->a, p, NULL, pack_write_cb, NULL, NULL) != ARCHIVE_OK)
		return pack_fail(p, "tar", err);
	return 0;
}

static int pack_start(struct pack *p, unsigned threads, struct cl_error **err)
{
	struct rlimit rl;

	p->max_open_dirs = 512;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		p->max_open_dirs = rl.rlim_cur / 2 > 8 ? (unsigned)(rl.rlim_cur / 2) : 8;
	p->depth = 4 * threads < CL_POOL_MAX_DEPTH ? 4 * threads : CL_POOL_MAX_DEPTH;
	p->buf = malloc(IO_BLOCK);
	p->batches = calloc(p->depth, sizeof(*p->batches));
	if (!p->buf || !p->batches)
		return cl_error_set(err, ENOMEM, "pack buffers");
	/* the buffers hold the layer's plaintext: wiped at the end */
	return cl_pool_new(threads, p->depth, PACK_BATCH_BYTES, CL_POOL_WIPE, &pack_ops, p,
			   &p->pool, err);
}

/* stop the workers first: then no batch is in use, and each releases its directory */
static void pack_stop(struct pack *p)
{
	cl_pool_free(p->pool);
	for (size_t i = 0; p->batches && i < p->depth; i++)
		batch_release(&p->batches[i]);
	free(p->batches);
}

int cl_tar_pack(int dirfd, unsigned flags, unsigned threads, cl_sink_fn sink, void *ctx,
		struct cl_error **err)
{
	struct pack p = {.sink = sink, .sink_ctx = ctx, .conf.flags = flags};
	struct pack_dir *root = NULL;
	struct stat st;
	int r;

	if (fstat(dirfd, &st) < 0)
		return cl_error_set(err, errno, "stat layer directory");
	p.conf.dev = st.st_dev;
	threads = threads < 1 ? 1 : threads > CL_POOL_MAX_THREADS ? CL_POOL_MAX_THREADS : threads;
	r = pack_start(&p, threads, err);
	if (r == 0)
		r = pack_open(&p, err);
	if (r == 0 && !(root = dir_new(&p, dirfd, false, strdup(""))))
		r = cl_error_set(err, ENOMEM, "pack");
	if (r == 0 && !root->prefix)
		r = cl_error_set(err, ENOMEM, "pack");
	if (r == 0)
		r = dir_list(root, err);
	if (r == 0)
		r = walk_dir(&p, root, err);
	if (r == 0)
		batch_submit(&p);
	while (r == 0 && cl_pool_inflight(p.pool) > 0)
		r = collect_one(&p, err);
	if (r == 0 && archive_write_close(p.a) != ARCHIVE_OK)
		r = pack_fail(&p, "tar", err);
	dir_unref(root);
	pack_stop(&p);
	archive_write_free(p.a);
	tdestroy(p.links, link_free);
	cl_error_free(&p.sink_err);
	free(p.buf);
	return r;
}
