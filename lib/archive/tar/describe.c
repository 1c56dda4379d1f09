/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The packer's per-entry work, on the pool's worker threads (pack.h): everything the
 * tar entry needs from the filesystem, and the content of small files. Touches only its
 * own batch; the walker owns everything else (hardlinks, the archive).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/limits.h>
#include <unistd.h>

#include "lib/archive/tar/internal.h"
#include "lib/archive/tar/pack.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

#define XATTR_LIST_MAX_LEN (64U * 1024)

/* what describing one entry needs, on the worker's stack */
struct desc {
	const struct pack_conf *c;
	struct pack_scratch *s;
	int dfd;
	const char *name;
	char *path;
	struct stat st;
	int fd; /* the open file or directory, or -1 */
};

struct archive_entry *pack_new_entry(const char *path, const struct stat *st)
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

int pack_scratch_new(void *arg, void **wctx, struct cl_error **err)
{
	struct pack_scratch *s = calloc(1, sizeof(*s));

	(void)arg;
	if (!s)
		return cl_error_set(err, ENOMEM, "pack worker");
	*wctx = s;
	s->xlist = malloc(XATTR_LIST_MAX_LEN);
	s->xval = malloc(XATTR_SIZE_MAX);
	if (!s->xlist || !s->xval)
		return cl_error_set(err, ENOMEM, "pack worker");
	return 0;
}

void pack_scratch_free(void *wctx)
{
	struct pack_scratch *s = wctx;

	free(s->xlist);
	free(s->xval);
	free(s);
}

struct archive_entry *pack_empty_file(const char *path, unsigned perm, uid_t uid, gid_t gid,
				      time_t mtime, long mtime_nsec)
{
	struct archive_entry *e = archive_entry_new();

	if (!e)
		return NULL;
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	archive_entry_set_mtime(e, mtime, mtime_nsec);
	archive_entry_set_size(e, 0);
	return e;
}

int pack_open_same(int dfd, const char *name, int flags, dev_t dev, ino_t ino, struct stat *st)
{
	int fd = openat(dfd, name, flags);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || st->st_ino != ino || st->st_dev != dev) {
		close(fd);
		return -EAGAIN;
	}
	return fd;
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
 * Copy xattrs, dropping overlay bookkeeping; report an opaque directory. Without an
 * open fd (a symlink, device or fifo) the entry is reached as "/proc/self/fd/DFD/NAME"
 * with the l*xattr calls, which do not follow the last link.
 */
static int desc_xattrs(struct desc *d, struct archive_entry *e, bool *ret_opaque,
		       struct cl_error **err)
{
	const char *opq =
	    d->c->flags & CL_TAR_USERXATTR ? "user.overlay.opaque" : "trusted.overlay.opaque";
	char *list = d->s->xlist, *val = d->s->xval;
	_cleanup_free_ char *proc = NULL;
	ssize_t n;

	if (d->fd < 0 && asprintf(&proc, "/proc/self/fd/%d/%s", d->dfd, d->name) < 0)
		return cl_error_set(err, ENOMEM, "'%s': xattrs", d->path);
	n = xattr_list(d->fd, proc, list, XATTR_LIST_MAX_LEN);
	if (n < 0 && (errno == ENOTSUP || errno == EPERM))
		return 0;
	if (n < 0)
		return cl_error_set(err, errno, "'%s': list xattrs", d->path);
	for (char *k = list; k < list + n; k += strlen(k) + 1) {
		ssize_t vl = xattr_get(d->fd, proc, k, val, XATTR_SIZE_MAX);

		if (vl < 0 && errno == ENODATA)
			continue; /* removed meanwhile */
		if (vl < 0)
			return cl_error_set(err, errno, "'%s': xattr '%s'", d->path, k);
		if (!strcmp(k, opq) && vl == 1 && val[0] == 'y')
			*ret_opaque = true;
		if (!cl_tar_xattr_is_overlay(k))
			archive_entry_xattr_add_entry(e, k, val, (size_t)vl);
	}
	return 0;
}

static int desc_symlink(struct desc *d, struct archive_entry *e, struct cl_error **err)
{
	size_t cap = (size_t)d->st.st_size + 2;
	_cleanup_free_ char *target = malloc(cap);
	ssize_t n;

	if (!target)
		return cl_error_set(err, ENOMEM, "'%s'", d->path);
	n = readlinkat(d->dfd, d->name, target, cap);
	if (n < 0 || (size_t)n >= cap)
		return cl_error_set(err, n < 0 ? errno : EAGAIN, "'%s': readlink", d->path);
	target[n] = '\0';
	archive_entry_copy_symlink(e, target);
	return 0;
}

/*
 * Stat the entry and open it if it is a regular file or a directory. The d_type from
 * the listing saves the separate stat for those (fstat of the open fd is the truth);
 * anything else, or a type that changed, is stat'ed without following and opened only
 * if it is a file or directory, then checked to be the same inode.
 */
static int desc_open(struct desc *d, unsigned char type, struct cl_error **err)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;

	if (type == DT_REG || type == DT_DIR) {
		d->fd = openat(d->dfd, d->name, flags | (type == DT_DIR ? O_DIRECTORY : 0));
		if (d->fd >= 0)
			return fstat(d->fd, &d->st) < 0
				   ? cl_error_set(err, errno, "stat '%s'", d->path)
				   : 0;
		if (errno != ELOOP && errno != ENOTDIR)
			return cl_error_set(err, errno, "open '%s'", d->path);
	}
	if (fstatat(d->dfd, d->name, &d->st, AT_SYMLINK_NOFOLLOW) < 0)
		return cl_error_set(err, errno, "stat '%s'", d->path);
	if (!S_ISREG(d->st.st_mode) && !S_ISDIR(d->st.st_mode))
		return 0;
	d->fd = pack_open_same(d->dfd, d->name, flags | (S_ISDIR(d->st.st_mode) ? O_DIRECTORY : 0),
			       d->st.st_dev, d->st.st_ino, &st);
	if (d->fd == -EAGAIN)
		return cl_error_set(err, EAGAIN, "'%s' changed while packing", d->path);
	return d->fd < 0 ? cl_error_set(err, -d->fd, "open '%s'", d->path) : 0;
}

/* an overlay whiteout (char 0/0) becomes an empty ".wh.NAME" file */
static struct archive_entry *desc_whiteout(struct desc *d, const char *prefix,
					   struct cl_error **err)
{
	_cleanup_free_ char *path = NULL;
	struct archive_entry *e = NULL;

	if (asprintf(&path, "%s" CL_TAR_WH_PREFIX "%s", prefix, d->name) >= 0)
		e = pack_empty_file(path, d->st.st_mode & 07777, d->st.st_uid, d->st.st_gid,
				    d->st.st_mtim.tv_sec, d->st.st_mtim.tv_nsec);
	if (!e)
		cl_error_set(err, ENOMEM, "whiteout");
	return e;
}

/* read a small dense file whole into the batch buffer; else leave it to the walker */
static int desc_content(struct desc *d, struct pack_item *it, unsigned char *buf, size_t *used,
			size_t cap, struct cl_error **err)
{
	size_t size = (size_t)d->st.st_size, at = *used;

	if (d->st.st_size == 0)
		return 0;
	if ((off_t)d->st.st_blocks * 512 < d->st.st_size || size > cap - at) {
		it->data = PACK_DATA_REOPEN; /* maybe sparse, or too large to read ahead */
		return 0;
	}
	for (size_t got = 0; got < size;) {
		ssize_t n = pread(d->fd, buf + at + got, size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cl_error_set(err, n < 0 ? errno : EIO, "'%s': %s", d->path,
					    n < 0 ? "read" : "file shrank while packing");
		got += (size_t)n;
	}
	it->data = PACK_DATA_BUF;
	it->off = at;
	*used = (at + size + 63) & ~(size_t)63; /* the next one cache-line aligned */
	if (*used > cap)
		*used = cap;
	return 0;
}

static int desc_entry(struct desc *d, const struct pack_dir *dir, unsigned char type,
		      struct pack_item *it, unsigned char *buf, size_t *used, size_t cap,
		      struct cl_error **err)
{
	_cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
	int r = desc_open(d, type, err);

	if (r < 0)
		return r;
	if (S_ISSOCK(d->st.st_mode))
		return 0; /* tar cannot hold sockets; they mean nothing in a layer */
	if (S_ISCHR(d->st.st_mode) && d->st.st_rdev == makedev(0, 0)) {
		it->e = desc_whiteout(d, dir->prefix, err);
		return it->e ? 0 : -ENOMEM;
	}
	if (!strncmp(d->name, CL_TAR_WH_PREFIX, sizeof(CL_TAR_WH_PREFIX) - 1))
		return cl_error_set(err, EINVAL,
				    "'%s': names starting with '" CL_TAR_WH_PREFIX
				    "' cannot be stored in an OCI layer",
				    d->path);
	if (S_ISDIR(d->st.st_mode) && d->st.st_dev != d->c->dev)
		return cl_error_set(err, EXDEV, "'%s' is a mount point inside the layer", d->path);
	e = pack_new_entry(d->path, &d->st);
	if (!e)
		return cl_error_set(err, ENOMEM, "'%s'", d->path);
	if (S_ISLNK(d->st.st_mode) && desc_symlink(d, e, err) < 0)
		return -EIO;
	if (desc_xattrs(d, e, &it->opaque, err) < 0)
		return -EIO;
	if (S_ISREG(d->st.st_mode) && desc_content(d, it, buf, used, cap, err) < 0)
		return -EIO;
	it->e = TAKE_PTR(e);
	return 0;
}

int pack_describe_batch(const struct pack_conf *c, struct pack_scratch *s, struct pack_batch *b,
			unsigned char *buf, size_t cap)
{
	size_t used = 0;

	for (b->n_done = 0; b->n_done < b->n; b->n_done++) {
		const struct pack_dir *dir = b->ents[b->n_done].dir;
		const struct pack_name *ent = &dir->ents[b->ents[b->n_done].idx];
		struct desc d = {.c = c, .s = s, .dfd = dir->fd, .name = ent->name, .fd = -1};
		struct pack_item *it = &b->items[b->n_done];
		int r;

		*it = (struct pack_item){0};
		if (asprintf(&d.path, "%s%s", dir->prefix, d.name) < 0)
			return cl_error_set(&b->err, ENOMEM, "'%s'", d.name);
		r = desc_entry(&d, dir, ent->type, it, buf, &used, cap, &b->err);
		if (d.fd >= 0)
			close(d.fd);
		free(d.path);
		if (r < 0)
			return r;
	}
	return 0;
}

void pack_batch_clear(struct pack_batch *b)
{
	for (size_t i = 0; i < b->n_done; i++)
		archive_entry_free(b->items[i].e);
	cl_error_free(&b->err);
	b->n_done = 0;
}
