/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI layer tar → directory (a new overlay upper). libarchive's disk writer does the
 * file work with ARCHIVE_EXTRACT_SECURE_* (no absolute paths, no "..", never through
 * a symlink); every name is also checked here first, and the overlay conversions are
 * made on the way: ".wh.NAME" → char 0/0 NAME, "DIR/.wh..wh..opq" → DIR's opaque xattr
 * (set through openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)).
 *
 * With CL_TAR_LAYERED the tar is one more layer over what the directory already holds
 * (import of a multi-layer image into one upper), with the OCI whiteout rules
 * (image-spec layer.md): ".wh.NAME" removes whatever the earlier layers left at NAME
 * before the whiteout goes there, "DIR/.wh..wh..opq" removes DIR's children that this
 * layer did not write (earlier layers' and, through the xattr, the base's), an entry
 * replacing a directory of an earlier layer with a non-directory removes that
 * directory, and a directory made where an earlier layer left a whiteout is opaque
 * (else the base's directory would show through again).
 *
 * An imported archive can be made by anyone who holds a recipient's public key, so with
 * CL_TAR_NO_DEVICES / CL_TAR_NO_SETID nothing privileged is taken from it: each entry is
 * checked as the archive gives it, before the conversions (a whiteout is made here, never
 * copied from a device entry).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/archive/tar/internal.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

struct unpack {
	struct archive *in, *out;
	cl_source_fn src;
	void *src_ctx;
	struct cl_error *src_err;
	int dirfd;
	unsigned flags;
	void *seen; /* CL_TAR_LAYERED: tsearch tree of the paths this layer wrote */
};

static la_ssize_t unpack_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct unpack *u = ud;
	ssize_t n = u->src(u->src_ctx, buf, &u->src_err);

	if (n < 0) {
		archive_set_error(a, EIO, "input failed");
		return -1;
	}
	return n;
}

static int unpack_fail(struct unpack *u, struct archive *a, const char *path, struct cl_error **err)
{
	if (u->src_err) { /* the source's own error (e.g. a bad chunk tag) comes first */
		return cl_error_move(err, &u->src_err);
	}
	return cl_error_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "'%s': %s",
			    path ? path : "tar", archive_error_string(a));
}

/* relative, no "..": checked here before libarchive's own SECURE_* checks; @name is entry
 * @path itself or its hardlink target (@what), and the error names the entry either way */
static int check_name(const char *path, const char *name, const char *what, struct cl_error **err)
{
	const char *p = name;
	bool self = name == path;

	if (!name || !name[0])
		return cl_error_set(err, EINVAL, "empty %s in the layer", what);
	if (name[0] == '/')
		return self ? cl_error_set(err, EPERM, "'%s': absolute %s refused", path, what)
			    : cl_error_set(err, EPERM, "'%s': absolute %s '%s' refused", path, what,
					   name);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return self ? cl_error_set(err, EPERM, "'%s': '..' in %s refused", path,
						   what)
				    : cl_error_set(err, EPERM, "'%s': '..' in %s '%s' refused",
						   path, what, name);
		p += n;
		p += *p == '/';
	}
	return 0;
}

/* POSIX.1e file capabilities, as libarchive reads them from a pax header */
#define CAPABILITY_XATTR "security.capability"

static const char *setid_name(mode_t mode)
{
	if ((mode & S_ISUID) && (mode & S_ISGID))
		return "setuid+setgid";
	return mode & S_ISUID ? "setuid" : "setgid";
}

/* what an untrusted archive may not create unless the caller allows it (import's flags) */
static int check_privilege(unsigned flags, struct archive_entry *e, const char *path,
			   struct cl_error **err)
{
	mode_t type = archive_entry_filetype(e), mode = archive_entry_mode(e) & 07777;
	const char *name;
	const void *val;
	size_t len;

	if ((flags & CL_TAR_NO_DEVICES) && (type == AE_IFCHR || type == AE_IFBLK))
		return cl_error_set(
		    err, EPERM,
		    "'%s': %s device %u:%u refused (an archive can be made by anyone "
		    "with the public key; --allow-devices accepts it)",
		    path, type == AE_IFCHR ? "character" : "block",
		    (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e));
	if (!(flags & CL_TAR_NO_SETID))
		return 0;
	if (mode & (S_ISUID | S_ISGID))
		return cl_error_set(err, EPERM,
				    "'%s': %s mode %04o refused (an archive can be made by anyone "
				    "with the public key; --allow-setid accepts it)",
				    path, setid_name(mode), (unsigned)mode);
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK)
		if (!strcmp(name, CAPABILITY_XATTR))
			return cl_error_set(err, EPERM,
					    "'%s': file capabilities (" CAPABILITY_XATTR
					    ") refused (an archive can be made by anyone with the "
					    "public key; --allow-setid accepts them)",
					    path);
	return 0;
}

/* "." or "./" (or "././"): the unpack root itself */
static bool is_root(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n > 1 || (n == 1 && p[0] != '.'))
			return false;
		p += n;
		p += *p == '/';
	}
	return true;
}

/* open directory @rel (may be "") strictly beneath the unpack root, for entry @path */
static int open_beneath(int dirfd, const char *rel, const char *path, struct cl_error **err)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how, sizeof(how));

	if (fd < 0)
		return cl_error_set(err, errno, "'%s': open '%s' beneath the layer root", path,
				    rel[0] ? rel : ".");
	return fd;
}

/* an entry's name as a key: no leading "./", no trailing '/' */
static char *norm_path(const char *p)
{
	size_t n;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	return strndup(p, n);
}

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool seen_has(const struct unpack *u, const char *key)
{
	return tfind(key, &u->seen, seen_cmp) != NULL;
}

/* CL_TAR_LAYERED: remember that this layer wrote @path */
static int seen_add(struct unpack *u, const char *path, struct cl_error **err)
{
	char *k = norm_path(path);
	char **found = k ? tsearch(k, &u->seen, seen_cmp) : NULL;

	if (!found) {
		free(k);
		return cl_error_set(err, ENOMEM, "'%s'", path);
	}
	if (*found != k)
		free(k);
	return 0;
}

/* CL_TAR_LAYERED opaque marker: DIR's children that this layer did not write go */
static int clear_dir(struct unpack *u, const char *dir, const char *path, struct cl_error **err)
{
	_cleanup_close_ int fd = open_beneath(u->dirfd, dir, path, err);
	_cleanup_free_ char *norm = norm_path(dir);
	_cleanup_free_ char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0 || !norm)
		return fd < 0 ? fd : cl_error_set(err, ENOMEM, "'%s'", path);
	d = fdopendir(dup(fd));
	if (!d)
		return cl_error_set(err, errno, "'%s': read '%s'", path, dir);
	while (r == 0 && (de = readdir(d))) {
		_cleanup_free_ char *full = NULL;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&full, "%s%s%s", norm, norm[0] ? "/" : "", de->d_name) < 0)
			r = -ENOMEM;
		else if (!seen_has(u, full) && n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));

			r = nn ? 0 : -ENOMEM;
			names = nn ? nn : names;
		}
		if (r == 0 && !seen_has(u, full) && !(names[n++] = strdup(de->d_name)))
			r = -ENOMEM;
	}
	closedir(d);
	if (r < 0)
		cl_error_set(err, ENOMEM, "'%s'", path);
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = cl_rm_rf_at(fd, names[i], err);
		free(names[i]);
	}
	return r;
}

/*
 * CL_TAR_LAYERED: what an earlier layer left at @e's name goes (a directory that @e
 * keeps as a directory stays, to be merged); *@ret_opaque: a directory replaces an
 * earlier whiteout, so it must hide the base's directory of that name
 */
static int layer_prepare(struct unpack *u, struct archive_entry *e, bool whiteout, bool *ret_opaque,
			 struct cl_error **err)
{
	_cleanup_free_ char *t = norm_path(archive_entry_pathname(e)), *dir = NULL;
	bool is_dir = archive_entry_filetype(e) == AE_IFDIR;
	struct cl_error *e2 = NULL;
	_cleanup_close_ int pfd = -1;
	const char *slash, *base;
	struct stat st;

	*ret_opaque = false;
	if (!t)
		return cl_error_set(err, ENOMEM, "unpack");
	if (!t[0] || seen_has(u, t))
		return 0; /* the root, or this layer's own: libarchive's usual rules */
	slash = strrchr(t, '/');
	base = slash ? slash + 1 : t;
	dir = slash ? strndup(t, (size_t)(slash - t + 1)) : strdup("");
	if (!dir)
		return cl_error_set(err, ENOMEM, "unpack");
	pfd = open_beneath(u->dirfd, dir, t, &e2);
	if (pfd < 0) { /* no parent yet: nothing of an earlier layer is there */
		cl_error_free(&e2);
		return 0;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cl_error_set(err, errno, "'%s': stat", t);
	if (S_ISDIR(st.st_mode) && is_dir && !whiteout)
		return 0;
	*ret_opaque = is_dir && S_ISCHR(st.st_mode) && st.st_rdev == 0;
	return cl_rm_rf_at(pfd, base, err);
}

static int set_opaque(struct unpack *u, const char *dir, const char *path, struct cl_error **err)
{
	_cleanup_close_ int fd = open_beneath(u->dirfd, dir, path, err);
	const char *name =
	    u->flags & CL_TAR_USERXATTR ? "user.overlay.opaque" : "trusted.overlay.opaque";

	if (fd < 0)
		return fd;
	if (fsetxattr(fd, name, "y", 1, 0) < 0)
		return cl_error_set(err, errno, "'%s': set %s", dir[0] ? dir : ".", name);
	return 0;
}

/* drop overlay xattrs a layer must never carry (redirect, metacopy, origin, …) */
static void strip_overlay_xattrs(struct archive_entry *e)
{
	struct archive_entry *keep = archive_entry_new();
	const char *name;
	const void *val;
	size_t len;
	bool any = false;

	if (!keep)
		return;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
		if (cl_tar_xattr_is_overlay(name))
			any = true;
		else
			archive_entry_xattr_add_entry(keep, name, val, len);
	}
	if (any) {
		archive_entry_xattr_clear(e);
		archive_entry_xattr_reset(keep);
		while (archive_entry_xattr_next(keep, &name, &val, &len) == ARCHIVE_OK)
			archive_entry_xattr_add_entry(e, name, val, len);
	}
	archive_entry_free(keep);
}

/*
 * Overlay conversions for one entry. Return: 1 if handled here (opaque marker) or
 * skipped (the root itself), 0 to extract @e (possibly rewritten), -errno.
 */
static int convert_entry(struct unpack *u, struct archive_entry *e, struct cl_error **err)
{
	const char *path = archive_entry_pathname(e), *hl = archive_entry_hardlink(e), *base;
	_cleanup_free_ char *dir = NULL, *target = NULL;
	size_t len, off;

	if (check_name(path, path, "path", err) < 0 ||
	    (hl && check_name(path, hl, "hardlink target", err) < 0))
		return -EPERM;
	/* "./" (tar -C DIR -c .): the root's mode and owner are the base's (DESIGN §2) */
	if (is_root(path))
		return 1;
	if (check_privilege(u->flags, e, path, err) < 0)
		return -EPERM;
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (off = len; off > 0 && path[off - 1] != '/'; off--)
		;
	base = path + off; /* the last component, up to len */
	if (strncmp(base, CL_TAR_WH_PREFIX, sizeof(CL_TAR_WH_PREFIX) - 1)) {
		strip_overlay_xattrs(e);
		return 0;
	}
	dir = strndup(path, off); /* the parent: "" or "a/b/" */
	if (!dir)
		return cl_error_set(err, ENOMEM, "'%s'", path);
	if (len - off == strlen(CL_TAR_WH_OPAQUE) && !strncmp(base, CL_TAR_WH_OPAQUE, len - off)) {
		if ((u->flags & CL_TAR_LAYERED) && clear_dir(u, dir, path, err) < 0)
			return -EIO;
		return set_opaque(u, dir, path, err) < 0 ? -EIO : 1;
	}
	base += sizeof(CL_TAR_WH_PREFIX) - 1;
	len -= off + sizeof(CL_TAR_WH_PREFIX) - 1;
	if (len == 0 || (len == 1 && base[0] == '.') || (len == 2 && !strncmp(base, "..", 2)))
		return cl_error_set(err, EPERM, "'%s': bad whiteout name", path);
	if (asprintf(&target, "%s%.*s", dir, (int)len, base) < 0)
		return cl_error_set(err, ENOMEM, "'%s'", path);
	/* what overlayfs itself makes for a deleted lower name */
	archive_entry_copy_pathname(e, target);
	archive_entry_set_filetype(e, AE_IFCHR);
	archive_entry_set_perm(e, archive_entry_perm(e) & 0777); /* never setid */
	archive_entry_set_rdev(e, 0);
	archive_entry_set_size(e, 0);
	archive_entry_copy_hardlink(e, NULL);
	archive_entry_copy_symlink(e, NULL);
	archive_entry_xattr_clear(e);
	return 0;
}

#define HOLE_BLOCK 4096 /* zero blocks of this size, aligned in the file, become holes */

static bool block_is_zero(const unsigned char *p, size_t n)
{
	/* data blocks usually differ from zero in their first bytes: a quick no first */
	if (n == 0 || p[0] || p[n - 1] || p[n / 2])
		return n == 0;
	return !memcmp(p, p + 1, n - 1);
}

/*
 * Write @size bytes at @off as few runs as possible: the aligned blocks that are all
 * zeros are skipped, so they stay holes (what ARCHIVE_EXTRACT_SPARSE did: a 1 GiB run of
 * zeros, even in a plain entry, takes no space), and each run of other blocks is one
 * write(2). ARCHIVE_EXTRACT_SPARSE made one write(2) per 4 KiB block: 30,000 calls for a
 * 124 MB layer, on the thread that bounds an import.
 */
static int write_runs(struct unpack *u, const unsigned char *buf, size_t size, la_int64_t off)
{
	size_t i = 0;

	while (i < size) {
		size_t start, len;
		bool zero;

		len = HOLE_BLOCK - (size_t)((off + (la_int64_t)i) % HOLE_BLOCK);
		len = len < size - i ? len : size - i;
		zero = block_is_zero(buf + i, len);
		start = i;
		i += len;
		while (i < size) {
			len = size - i < HOLE_BLOCK ? size - i : HOLE_BLOCK;
			if (block_is_zero(buf + i, len) != zero)
				break;
			i += len;
		}
		if (!zero && archive_write_data_block(u->out, buf + start, i - start,
						      off + (la_int64_t)start) < ARCHIVE_OK)
			return -1;
	}
	return 0;
}

static int copy_data(struct unpack *u, const char *path, struct cl_error **err)
{
	for (;;) {
		const void *buf = NULL;
		size_t size = 0;
		la_int64_t off = 0;
		int r = archive_read_data_block(u->in, &buf, &size, &off);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return unpack_fail(u, u->in, path, err);
		if (write_runs(u, buf, size, off) < 0)
			return unpack_fail(u, u->out, path, err);
	}
}

static int unpack_entry(struct unpack *u, struct archive_entry *e, struct cl_error **err)
{
	/* errors name the entry as the archive does (".wh.NAME", not the whiteout NAME) */
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *path = strdup(name ? name : "");
	int r;

	if (!path)
		return cl_error_set(err, ENOMEM, "unpack");
	bool opaque = false, whiteout;
	const char *last;

	r = convert_entry(u, e, err);
	if (r != 0)
		return r < 0 ? r : 0;
	last = strrchr(path, '/') && strrchr(path, '/')[1] ? strrchr(path, '/') + 1 : path;
	whiteout = !strncmp(last, CL_TAR_WH_PREFIX, sizeof(CL_TAR_WH_PREFIX) - 1);
	if ((u->flags & CL_TAR_LAYERED) && layer_prepare(u, e, whiteout, &opaque, err) < 0)
		return -EIO;
	/* strict: a warning here means metadata (owner, xattr, time) was not restored */
	if (archive_write_header(u->out, e) != ARCHIVE_OK)
		return unpack_fail(u, u->out, path, err);
	if (archive_entry_size(e) > 0 && copy_data(u, path, err) < 0)
		return -EIO;
	if (archive_write_finish_entry(u->out) != ARCHIVE_OK)
		return unpack_fail(u, u->out, path, err);
	if (!(u->flags & CL_TAR_LAYERED))
		return 0;
	if (opaque && set_opaque(u, archive_entry_pathname(e), path, err) < 0)
		return -EIO;
	return seen_add(u, archive_entry_pathname(e), err);
}

static int unpack_open(struct unpack *u, struct cl_error **err)
{
	int opts = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM |
		   ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR; /* holes: write_runs() */

	if (geteuid() == 0)
		opts |= ARCHIVE_EXTRACT_OWNER;
	u->in = archive_read_new();
	u->out = archive_write_disk_new();
	if (!u->in || !u->out)
		return cl_error_set(err, ENOMEM, "libarchive");
	if (archive_write_disk_set_options(u->out, opts) != ARCHIVE_OK)
		return unpack_fail(u, u->out, NULL, err);
	/* plain tar only: compression is the caller's job, never an external program */
	if (archive_read_support_format_tar(u->in) != ARCHIVE_OK ||
	    archive_read_support_filter_none(u->in) != ARCHIVE_OK ||
	    archive_read_open(u->in, u, NULL, unpack_read_cb, NULL) != ARCHIVE_OK)
		return unpack_fail(u, u->in, NULL, err);
	return 0;
}

static int unpack_run(struct unpack *u, struct cl_error **err)
{
	struct archive_entry *e = NULL;
	int r = unpack_open(u, err);

	while (r == 0) {
		r = archive_read_next_header(u->in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return unpack_fail(u, u->in, NULL, err);
		r = unpack_entry(u, e, err);
	}
	if (r < 0)
		return r;
	/* applies the deferred directory modes and times */
	if (archive_write_close(u->out) != ARCHIVE_OK)
		return unpack_fail(u, u->out, NULL, err);
	return 0;
}

int cl_tar_unpack(int dirfd, unsigned flags, cl_source_fn src, void *ctx, struct cl_error **err)
{
	struct unpack u = {.src = src, .src_ctx = ctx, .dirfd = dirfd, .flags = flags};
	_cleanup_close_ int oldcwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (oldcwd < 0)
		return cl_error_set(err, errno, "open current directory");
	/* libarchive's disk writer works relative to the cwd; it is restored below */
	if (fchdir(dirfd) < 0)
		return cl_error_set(err, errno, "enter the layer directory");
	r = unpack_run(&u, err);
	if (fchdir(oldcwd) < 0 && r == 0)
		r = cl_error_set(err, errno, "return to the previous directory");
	archive_read_free(u.in);
	archive_write_free(u.out);
	cl_error_free(&u.src_err);
	tdestroy(u.seen, free);
	return r;
}
