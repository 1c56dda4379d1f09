/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

int cl_read_all_fd(int fd, size_t max, char **ret_buf, size_t *ret_len, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;

			if (ncap > max + 4096)
				ncap = max + 4096;
			nb = realloc(buf, ncap + 1);
			if (!nb)
				return cl_error_set(err, ENOMEM, "read");
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, errno, "read");
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return cl_error_set(err, EFBIG, "input larger than %zu bytes", max);
	}
	if (!buf && !(buf = malloc(1)))
		return cl_error_set(err, ENOMEM, "read");
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int cl_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
		    struct cl_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	if (cl_read_all_fd(fd, max, ret_buf, ret_len, err) < 0)
		return cl_error_wrap(err, "'%s'", path);
	return 0;
}

int cl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cl_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			    struct cl_error **err)
{
	return cl_write_file_replace_at(dirfd, path, buf, len, mode, 0, err);
}

/*
 * @buf into the open temporary @fd, owner (unless @uid is -1) then mode (a chown clears
 * set-id bits), fsync unless CL_WRITE_NO_SYNC
 */
static int fill(int fd, const void *buf, size_t len, mode_t mode, uid_t uid, gid_t gid,
		unsigned flags)
{
	int r = cl_write_all(fd, buf, len);

	if (r == 0 && uid != (uid_t)-1 && fchown(fd, uid, gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && !(flags & CL_WRITE_NO_SYNC) && fsync(fd) < 0)
		r = -errno;
	return r;
}

/* the part both replacements share: fill(), rename over @path; on failure @tmp goes */
static int fill_and_rename(int dirfd, int fd, const char *tmp, const char *path, const void *buf,
			   size_t len, mode_t mode, uid_t uid, gid_t gid, unsigned flags,
			   struct cl_error **err)
{
	int r = fill(fd, buf, len, mode, uid, gid, flags);

	if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return cl_error_set(err, -r, "write '%s'", path);
	}
	return 0;
}

int cl_write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     unsigned flags, struct cl_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return cl_error_set(err, ENOMEM, "write '%s'", path);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return cl_error_set(err, errno, "create '%s'", tmp);
	return fill_and_rename(dirfd, fd, tmp, path, buf, len, mode, (uid_t)-1, (gid_t)-1, flags,
			       err);
}

/* "@path.<16 random hex>.tmp" */
static int fresh_name(const char *path, char **ret)
{
	unsigned char b[8];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -EIO;
	return asprintf(ret, "%s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", path, b[0], b[1], b[2],
			b[3], b[4], b[5], b[6], b[7]) < 0
		   ? -ENOMEM
		   : 0;
}

/* a fresh name under @dirfd, O_EXCL: never one that someone planted */
static int open_fresh_tmp(int dirfd, const char *path, mode_t mode, char **ret_tmp)
{
	for (int tries = 0; tries < 8; tries++) {
		_cleanup_free_ char *tmp = NULL;
		int fd, r = fresh_name(path, &tmp);

		if (r < 0)
			return r;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0) {
			*ret_tmp = TAKE_PTR(tmp);
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/*
 * The O_TMPFILE file @fd gets a fresh name under @dirfd: through /proc/self/fd (open(2)'s
 * example), else AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH). linkat never replaces.
 */
static int link_fresh(int fd, int dirfd, const char *path, char **ret_tmp)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int tries = 0; tries < 8; tries++) {
		_cleanup_free_ char *tmp = NULL;
		int r = fresh_name(path, &tmp);

		if (r < 0)
			return r;
		r = linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW);
		if (r < 0 && errno == ENOENT) /* no /proc */
			r = linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH);
		if (r == 0) {
			*ret_tmp = TAKE_PTR(tmp);
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/*
 * O_TMPFILE + linkat (issue 15): the new contents have no name until they are complete,
 * so nothing planted under any name is opened (a FIFO named config.json.tmp hung
 * prepare), and a crash before the link leaves no copy beside @path (config.json can
 * hold secrets in env). 1 when the filesystem has no O_TMPFILE: the caller falls back.
 */
static int replace_via_tmpfile(int dirfd, const char *path, const void *buf, size_t len,
			       mode_t mode, uid_t uid, gid_t gid, struct cl_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	_cleanup_free_ char *tmp = NULL;
	int r;

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		return 1;
	if (fd < 0)
		return cl_error_set(err, errno, "create a temporary file for '%s'", path);
	r = fill(fd, buf, len, mode, uid, gid, 0);
	if (r == 0)
		r = link_fresh(fd, dirfd, path, &tmp);
	if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0) {
		r = -errno;
		(void)unlinkat(dirfd, tmp, 0);
	}
	return r < 0 ? cl_error_set(err, -r, "write '%s'", path) : 0;
}

int cl_write_file_keep_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			  struct cl_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int r;

	/* a symlink or special file is replaced, never followed: @mode and our ids */
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		mode = st.st_mode & 07777;
		if (st.st_uid != geteuid() || st.st_gid != getegid())
			uid = st.st_uid, gid = st.st_gid;
	}
	r = replace_via_tmpfile(dirfd, path, buf, len, mode, uid, gid, err);
	if (r <= 0)
		return r;
	fd = open_fresh_tmp(dirfd, path, 0600, &tmp);
	if (fd < 0)
		return cl_error_set(err, -fd, "create a temporary file for '%s'", path);
	return fill_and_rename(dirfd, fd, tmp, path, buf, len, mode, uid, gid, 0, err);
}

int cl_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct cl_error **err)
{
	_cleanup_free_ char *copy = strdup(path);
	char *p;

	if (!copy)
		return cl_error_set(err, ENOMEM, "mkdir '%s'", path);
	for (p = copy + 1;; p++) {
		char saved = *p;
		struct stat st;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
			return cl_error_set(err, errno, "mkdir '%s'", copy);
		if (fstatat(dirfd, copy, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return cl_error_set(err, errno, "stat '%s'", copy);
		if (!S_ISDIR(st.st_mode))
			return cl_error_set(err, ENOTDIR, "mkdir '%s'", copy);
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

/*
 * cl_rm_rf_at() walks the tree without recursion and with one directory open at a time
 * (two fds as it moves), so any depth fits in a small fd limit: recursing with an fd or two
 * per level fails with EMFILE some 500 levels down, where containers can easily go.
 * A pass over a directory unlinks its files and notes its subdirectories; the walk goes
 * down into each noted one, recording its name and identity, and back up through "..",
 * checking that identity first, so a directory moved out of the tree meanwhile cannot lead
 * it to delete elsewhere. Once the noted ones are gone, it reads the directory afresh:
 * what it deleted is gone, so a pass that finds no subdirectory leaves it empty.
 */
#define RM_TODO_MAX 1024 /* subdirectories noted per pass: bounds the memory of wide trees */

struct rm_level {
	char *name; /* in its parent; the top's is cl_rm_rf_at()'s @name */
	dev_t dev;
	ino_t ino;
	char **todo; /* subdirectories noted by the last pass, not yet removed */
	size_t n_todo, cap_todo;
};

struct rm_walk {
	const char *top;
	dev_t dev;	     /* of the top: never leave it */
	struct rm_level *lv; /* lv[0] is the top, lv[n - 1] the directory d reads */
	size_t n, cap;
	DIR *d;
	struct cl_error **err;
};

static void rm_level_free(struct rm_level *lv)
{
	while (lv->n_todo > 0)
		free(lv->todo[--lv->n_todo]);
	free(lv->todo);
	free(lv->name);
}

static void rm_walk_done(struct rm_walk *w)
{
	if (w->d)
		closedir(w->d);
	for (size_t i = 0; i < w->n; i++)
		rm_level_free(&w->lv[i]);
	free(w->lv);
}

/* A name in a message: at most RM_SHOW_MAX characters, "..." if cut (printf "%.*s%s") */
#define RM_SHOW_MAX 100
#define RM_SHOW(s) RM_SHOW_MAX, (s), (strnlen((s), RM_SHOW_MAX + 1) > RM_SHOW_MAX ? "..." : "")

/* Where an entry is, in a few words: " (depth 2000 under 'containers/c1/crypt')" */
static const char *rm_where(const struct rm_walk *w, size_t depth, char *buf, size_t size)
{
	buf[0] = '\0';
	if (depth > 0)
		snprintf(buf, size, " (depth %zu under '%.*s%s')", depth, RM_SHOW(w->top));
	return buf;
}

/* One short line, however deep: "rmdir 'x' (depth 2000 under 'containers/c1/crypt')" */
static int rm_fail(struct rm_walk *w, int errnum, const char *what, const char *name, size_t depth)
{
	char buf[RM_SHOW_MAX + 64];

	return cl_error_set(w->err, errnum, "%s '%.*s%s'%s", what, RM_SHOW(name),
			    rm_where(w, depth, buf, sizeof(buf)));
}

/* The same, for a state of the entry: "'x' is a mount point (depth 3 under 'top')" */
static int rm_fail_is(struct rm_walk *w, int errnum, const char *name, const char *state,
		      size_t depth)
{
	char buf[RM_SHOW_MAX + 64];

	return cl_error_set(w->err, errnum, "'%.*s%s' %s%s", RM_SHOW(name), state,
			    rm_where(w, depth, buf, sizeof(buf)));
}

/*
 * The identity of the directory open at @fd. Return: 1 if it is the root of a mount
 * (Linux >= 5.8 says so also for a bind mount within one filesystem, which has the same
 * st_dev), 0 if not (or the kernel cannot tell), or -errno.
 */
static int rm_dir_id(int fd, struct rm_level *ret)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, &sx) < 0)
		return -errno;
	ret->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	ret->ino = sx.stx_ino;
	return !!(sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Make the directory open at @fd, @name in the current one, the current one (takes @fd) */
static int rm_push(struct rm_walk *w, const char *name, int fd)
{
	_cleanup_close_ int dfd = fd;
	struct rm_level lv = {.name = NULL};
	int r = rm_dir_id(dfd, &lv);
	DIR *d;

	if (r < 0)
		return rm_fail(w, -r, "stat", name, w->n);
	if (r > 0 || lv.dev != w->dev)
		return rm_fail_is(w, EXDEV, name, "is a mount point", w->n);
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct rm_level *nlv = realloc(w->lv, ncap * sizeof(*nlv));

		if (!nlv)
			return rm_fail(w, ENOMEM, "open", name, w->n);
		w->lv = nlv;
		w->cap = ncap;
	}
	lv.name = strdup(name);
	if (!lv.name)
		return rm_fail(w, ENOMEM, "open", name, w->n);
	d = fdopendir(dfd);
	if (!d) {
		r = rm_fail(w, errno, "opendir", name, w->n);
		free(lv.name);
		return r;
	}
	TAKE_FD(dfd);
	if (w->d)
		closedir(w->d);
	w->d = d;
	w->lv[w->n++] = lv;
	return 0;
}

/* The current directory is empty: back to its parent (the one we came from), remove it */
static int rm_up(struct rm_walk *w)
{
	struct rm_level *lv = &w->lv[w->n - 1], *parent = lv - 1;
	size_t depth = w->n - 1;
	_cleanup_close_ int fd = openat(dirfd(w->d), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct rm_level up;
	int r;

	if (fd < 0)
		return rm_fail(w, errno, "open the parent of", lv->name, depth);
	r = rm_dir_id(fd, &up);
	if (r < 0)
		return rm_fail(w, -r, "stat the parent of", lv->name, depth);
	if (up.dev != parent->dev || up.ino != parent->ino)
		return rm_fail_is(w, ESTALE, lv->name, "was moved during removal", depth);
	closedir(w->d);
	w->d = NULL;
	if (unlinkat(fd, lv->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return rm_fail(w, errno, "rmdir", lv->name, depth);
	w->d = fdopendir(fd);
	if (!w->d)
		return rm_fail(w, errno, "opendir", parent->name, depth - 1);
	TAKE_FD(fd);
	rm_level_free(lv);
	w->n--;
	return 0;
}

/* Go down into @name of the current directory (or unlink it: no longer a directory) */
static int rm_down(struct rm_walk *w, const char *name)
{
	int fd = dirfd(w->d);
	int cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (cfd >= 0)
		return rm_push(w, name, cfd);
	if (errno == ENOENT)
		return 0;
	if (errno != ENOTDIR && errno != ELOOP) /* O_NOFOLLOW: a symlink is either */
		return rm_fail(w, errno, "open", name, w->n);
	if (unlinkat(fd, name, 0) < 0 && errno != ENOENT)
		return rm_fail(w, errno, "unlink", name, w->n);
	return 0;
}

static int rm_note(struct rm_level *lv, const char *name)
{
	char *s;

	if (lv->n_todo == lv->cap_todo) {
		size_t ncap = lv->cap_todo ? lv->cap_todo * 2 : 16;
		char **nv = realloc(lv->todo, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		lv->todo = nv;
		lv->cap_todo = ncap;
	}
	s = strdup(name);
	if (!s)
		return -ENOMEM;
	lv->todo[lv->n_todo++] = s;
	return 0;
}

/*
 * Read the current directory from its start: unlink what is not a directory, note up to
 * RM_TODO_MAX subdirectories. Return: how many it noted (0: it is empty now), or -errno.
 */
static int rm_pass(struct rm_walk *w)
{
	struct rm_level *lv = &w->lv[w->n - 1];
	struct dirent *de;

	rewinddir(w->d); /* mostly a fresh stream already; not when rm_down() went nowhere */
	while ((errno = 0, de = readdir(w->d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR) {
			if (unlinkat(dirfd(w->d), de->d_name, 0) == 0 || errno == ENOENT)
				continue;
			if (errno != EISDIR) /* a directory, where readdir gives no type */
				return rm_fail(w, errno, "unlink", de->d_name, w->n);
		}
		if (lv->n_todo < RM_TODO_MAX && rm_note(lv, de->d_name) < 0)
			return rm_fail(w, ENOMEM, "readdir", lv->name, w->n - 1);
	}
	if (errno)
		return rm_fail(w, errno, "readdir", lv->name, w->n - 1);
	return (int)lv->n_todo;
}

/* Empty the top, which is open as w->d */
static int rm_walk_all(struct rm_walk *w)
{
	for (;;) {
		struct rm_level *lv = &w->lv[w->n - 1];
		int r;

		if (lv->n_todo > 0) {
			_cleanup_free_ char *name = lv->todo[--lv->n_todo];

			r = rm_down(w, name);
		} else {
			r = rm_pass(w);
			if (r == 0 && w->n == 1)
				return 0;
			if (r == 0)
				r = rm_up(w);
		}
		if (r < 0)
			return r;
	}
}

int cl_rm_rf_at(int dirfd, const char *name, struct cl_error **err)
{
	_cleanup_(rm_walk_done) struct rm_walk w = {.top = name, .err = err};
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, ".", &st, 0) < 0)
		return cl_error_set(err, errno, "stat");
	w.dev = st.st_dev;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno != ENOTDIR && errno != ELOOP)
		return rm_fail(&w, errno, "open", name, 0);
	if (fd < 0) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return rm_fail(&w, errno, "unlink", name, 0);
		return 0;
	}
	r = rm_push(&w, name, fd);
	if (r == 0)
		r = rm_walk_all(&w);
	if (r < 0)
		return r;
	closedir(TAKE_PTR(w.d));
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return rm_fail(&w, errno, "rmdir", name, 0);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cl_dir_names(DIR *d, char *(*keep)(DIR *d, const char *name), char ***ret_ids)
{
	char **v = calloc(1, sizeof(*v));
	struct dirent *de;
	int n = 0;

	while (v && d && (de = readdir(d))) {
		char *id = de->d_name[0] == '.' ? NULL : keep(d, de->d_name);
		char **nv = id ? realloc(v, sizeof(*v) * (size_t)(n + 2)) : NULL;

		if (!nv) {
			free(id);
			continue;
		}
		v = nv;
		v[n++] = id;
		v[n] = NULL;
	}
	if (d)
		closedir(d);
	if (!v)
		return -ENOMEM;
	qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*ret_ids = v;
	return n;
}
