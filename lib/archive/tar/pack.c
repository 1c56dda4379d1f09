/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory (an overlay upper) → OCI layer tar (pax). Our own walk rather than
 * archive_read_disk: name order (reproducible layers), no following of symlinks or
 * crossing of mounts, and the overlay conversions happen where the entries are made.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/limits.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/archive/tar/internal.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

#define IO_BLOCK (1U << 20)
#define XATTR_LIST_MAX_LEN (64U * 1024)

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
	unsigned flags;
	dev_t dev;
	void *links; /* tsearch tree of struct link_node: hardlinks */
	unsigned char *buf;
	char *xlist, *xval; /* xattr names and one value */
};

CL_DEFINE_CLEANUP(struct archive_entry *, archive_entry_free)
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
		*err = TAKE_PTR(p->sink_err);
		return -(*err)->errnum;
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
static const char *link_lookup(struct pack *p, const struct stat *st, const char *path)
{
	struct link_node key = {st->st_dev, st->st_ino, NULL}, *n, **found;

	found = tfind(&key, &p->links, link_cmp);
	if (found)
		return (*found)->path;
	n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strdup(path))) {
		free(n);
		return NULL; /* out of memory: stored as a separate copy, still correct data */
	}
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	if (!tsearch(n, &p->links, link_cmp))
		link_free(n);
	return NULL;
}

static ssize_t xattr_list(int fd, const char *proc, char *buf, size_t len)
{
	return fd >= 0 ? flistxattr(fd, buf, len) : llistxattr(proc, buf, len);
}

static ssize_t xattr_get(int fd, const char *proc, const char *k, char *buf, size_t len)
{
	return fd >= 0 ? fgetxattr(fd, k, buf, len) : lgetxattr(proc, k, buf, len);
}

/*
 * Copy xattrs, dropping overlay bookkeeping; report an opaque directory. @fd is the
 * open file or directory, or -1 for a symlink, device or fifo: those are reached as
 * "/proc/self/fd/DFD/NAME" with the l*xattr calls, which do not follow the last link.
 */
static int pack_xattrs(struct pack *p, int fd, int dfd, const char *name, const char *path,
		       struct archive_entry *e, bool *ret_opaque, struct cl_error **err)
{
	const char *opq =
	    p->flags & CL_TAR_USERXATTR ? "user.overlay.opaque" : "trusted.overlay.opaque";
	_cleanup_free_ char *proc = NULL;
	ssize_t n;

	if (fd < 0 && asprintf(&proc, "/proc/self/fd/%d/%s", dfd, name) < 0)
		return cl_error_set(err, ENOMEM, "'%s': xattrs", path);
	n = xattr_list(fd, proc, p->xlist, XATTR_LIST_MAX_LEN);
	if (n < 0 && (errno == ENOTSUP || errno == EPERM))
		return 0;
	if (n < 0)
		return cl_error_set(err, errno, "'%s': list xattrs", path);
	for (char *k = p->xlist; k < p->xlist + n; k += strlen(k) + 1) {
		ssize_t vl = xattr_get(fd, proc, k, p->xval, XATTR_SIZE_MAX);

		if (vl < 0 && errno == ENODATA)
			continue; /* removed meanwhile */
		if (vl < 0)
			return cl_error_set(err, errno, "'%s': xattr '%s'", path, k);
		if (!strcmp(k, opq) && vl == 1 && p->xval[0] == 'y')
			*ret_opaque = true;
		if (!cl_tar_xattr_is_overlay(k))
			archive_entry_xattr_add_entry(e, k, p->xval, (size_t)vl);
	}
	return 0;
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

/* an overlay whiteout (char 0/0) becomes an empty ".wh.NAME" file */
static int pack_whiteout(struct pack *p, const char *prefix, const char *name,
			 const struct stat *st, struct cl_error **err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *path = NULL;

	if (!e || asprintf(&path, "%s" CL_TAR_WH_PREFIX "%s", prefix, name) < 0)
		return cl_error_set(err, ENOMEM, "whiteout");
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, st->st_mode & 07777);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	archive_entry_set_size(e, 0);
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, path, err);
	return 0;
}

static int pack_opaque_marker(struct pack *p, const char *path, const struct stat *st,
			      struct cl_error **err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = archive_entry_new();
	_cleanup_free_ char *marker = NULL;

	if (!e || asprintf(&marker, "%s/" CL_TAR_WH_OPAQUE, path) < 0)
		return cl_error_set(err, ENOMEM, "opaque marker");
	archive_entry_copy_pathname(e, marker);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	archive_entry_set_size(e, 0);
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, marker, err);
	return 0;
}

static struct archive_entry *pack_new_entry(const char *path, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();

	if (!e)
		return NULL;
	archive_entry_copy_stat(e, st);
	/* atime/ctime change on every read: keep layers reproducible */
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	archive_entry_copy_pathname(e, path);
	return e;
}

static int pack_symlink(int dfd, const char *name, const char *path, const struct stat *st,
			struct archive_entry *e, struct cl_error **err)
{
	size_t cap = (size_t)st->st_size + 2;
	_cleanup_free_ char *target = malloc(cap);
	ssize_t n;

	if (!target)
		return cl_error_set(err, ENOMEM, "'%s'", path);
	n = readlinkat(dfd, name, target, cap);
	if (n < 0 || (size_t)n >= cap)
		return cl_error_set(err, n < 0 ? errno : EAGAIN, "'%s': readlink", path);
	target[n] = '\0';
	archive_entry_copy_symlink(e, target);
	return 0;
}

/* open a file or directory we stat'ed, checking it is still the same inode */
static int open_entry(int dfd, const char *name, const char *path, const struct stat *st,
		      struct cl_error **err)
{
	int flags =
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0);
	int fd = openat(dfd, name, flags);
	struct stat fst;

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	if (fstat(fd, &fst) < 0 || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
		close(fd);
		return cl_error_set(err, EAGAIN, "'%s' changed while packing", path);
	}
	return fd;
}

static int pack_file(struct pack *p, int fd, const char *path, const struct stat *st,
		     struct archive_entry *e, struct cl_error **err)
{
	int r = pack_sparse_map(fd, st, e);

	if (r < 0)
		return cl_error_set(err, -r, "'%s': find holes", path);
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, path, err);
	return pack_data(p, fd, e, st->st_size, path, err);
}

static int pack_dir(struct pack *p, int dfd, const char *prefix, struct cl_error **err);

static int pack_subdir(struct pack *p, int fd, const char *path, const struct stat *st, bool opaque,
		       struct cl_error **err)
{
	_cleanup_free_ char *prefix = NULL;

	if (st->st_dev != p->dev)
		return cl_error_set(err, EXDEV, "'%s' is a mount point inside the layer", path);
	if (opaque && pack_opaque_marker(p, path, st, err) < 0)
		return -EIO;
	if (asprintf(&prefix, "%s/", path) < 0)
		return cl_error_set(err, ENOMEM, "'%s'", path);
	return pack_dir(p, fd, prefix, err);
}

/* everything but the data: the entry, symlink target, xattrs, hardlink */
static int pack_describe(struct pack *p, int fd, int dfd, const char *name, const char *path,
			 const struct stat *st, struct archive_entry **ret, bool *ret_opaque,
			 struct cl_error **err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = pack_new_entry(path, st);
	const char *first = NULL;

	if (!e)
		return cl_error_set(err, ENOMEM, "'%s'", path);
	if (S_ISLNK(st->st_mode) && pack_symlink(dfd, name, path, st, e, err) < 0)
		return -EIO;
	if (pack_xattrs(p, fd, dfd, name, path, e, ret_opaque, err) < 0)
		return -EIO;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1)
		first = link_lookup(p, st, path);
	if (first) {
		archive_entry_copy_hardlink(e, first);
		archive_entry_set_size(e, 0);
	}
	*ret = TAKE_PTR(e);
	return 0;
}

static int pack_entry(struct pack *p, int dfd, const char *prefix, const char *name,
		      struct cl_error **err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	bool opaque = false;
	struct stat st;

	if (asprintf(&path, "%s%s", prefix, name) < 0)
		return cl_error_set(err, ENOMEM, "'%s'", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cl_error_set(err, errno, "stat '%s'", path);
	if (S_ISSOCK(st.st_mode))
		return 0; /* tar cannot hold sockets; they mean nothing in a layer */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
		return pack_whiteout(p, prefix, name, &st, err);
	if (!strncmp(name, CL_TAR_WH_PREFIX, sizeof(CL_TAR_WH_PREFIX) - 1))
		return cl_error_set(err, EINVAL,
				    "'%s': names starting with '" CL_TAR_WH_PREFIX
				    "' cannot be stored in an OCI layer",
				    path);
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		fd = open_entry(dfd, name, path, &st, err);
		if (fd < 0)
			return fd;
	}
	if (pack_describe(p, fd, dfd, name, path, &st, &e, &opaque, err) < 0)
		return -EIO;
	if (S_ISREG(st.st_mode) && !archive_entry_hardlink(e))
		return pack_file(p, fd, path, &st, e, err);
	if (archive_write_header(p->a, e) < ARCHIVE_WARN)
		return pack_fail(p, path, err);
	if (S_ISDIR(st.st_mode))
		return pack_subdir(p, fd, path, &st, opaque, err);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* the entries of @dfd, sorted bytewise */
static int list_dir(int dfd, char ***ret, size_t *ret_n, struct cl_error **err)
{
	int fd2 = dup(dfd);
	_cleanup_(closedirp) DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		return cl_error_set(err, errno, "opendir");
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	if (errno) {
		int e = errno;

		names_free(names, n);
		return cl_error_set(err, e, "readdir");
	}
	qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
}

static int pack_dir(struct pack *p, int dfd, const char *prefix, struct cl_error **err)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	r = list_dir(dfd, &names, &n, err);
	if (r < 0)
		return cl_error_wrap(err, "'%s'", prefix[0] ? prefix : ".");
	for (size_t i = 0; i < n && r == 0; i++)
		r = pack_entry(p, dfd, prefix, names[i], err);
	names_free(names, n);
	return r;
}

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

int cl_tar_pack(int dirfd, unsigned flags, cl_sink_fn sink, void *ctx, struct cl_error **err)
{
	struct pack p = {.sink = sink, .sink_ctx = ctx, .flags = flags};
	struct stat st;
	int r;

	if (fstat(dirfd, &st) < 0)
		return cl_error_set(err, errno, "stat layer directory");
	p.dev = st.st_dev;
	p.buf = malloc(IO_BLOCK);
	p.xlist = malloc(XATTR_LIST_MAX_LEN);
	p.xval = malloc(XATTR_SIZE_MAX);
	if (!p.buf || !p.xlist || !p.xval)
		r = cl_error_set(err, ENOMEM, "pack buffers");
	else
		r = pack_open(&p, err);
	if (r == 0)
		r = pack_dir(&p, dirfd, "", err);
	if (r == 0 && archive_write_close(p.a) != ARCHIVE_OK)
		r = pack_fail(&p, "tar", err);
	archive_write_free(p.a);
	tdestroy(p.links, link_free);
	cl_error_free(&p.sink_err);
	free(p.buf);
	free(p.xlist);
	free(p.xval);
	return r;
}
