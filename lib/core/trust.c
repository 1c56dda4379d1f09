/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/trust.h"
#include "lib/core/userns.h"

#define MAX_LINKS 40 /* as the kernel's path walk */

/*
 * The overflow uid in a user namespace other than the initial one (where unmapped owners,
 * root among them, show as it: /proc/sys/kernel/overflowuid, 65534 by default), else -1.
 */
static uid_t userns_overflow_uid(void)
{
	static int known;
	static uid_t v = (uid_t)-1;
	char buf[32] = "";
	FILE *f;

	if (known)
		return v;
	known = 1;
	if (!cl_userns_nested())
		return v;
	v = 65534;
	f = fopen("/proc/sys/kernel/overflowuid", "re");
	if (f && fgets(buf, sizeof(buf), f))
		v = (uid_t)strtoul(buf, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/*
 * The owner rule, the one place for it: root or the effective uid; above the target, in
 * a user namespace, also the overflow uid. With CL_TRUST_OWN the target is the effective
 * uid's only, compared as seen in the namespace (under rootless podman uid 0 is the user).
 */
static bool trusted_uid(uid_t uid, bool target, unsigned flags)
{
	uid_t ov = userns_overflow_uid();

	if (target && (flags & CL_TRUST_OWN))
		return uid == geteuid();
	return uid == 0 || uid == geteuid() || (!target && ov != (uid_t)-1 && uid == ov);
}

const char *cl_trust_check_stat(const struct stat *st, int target, unsigned flags, char *buf,
				size_t len)
{
	unsigned mode = st->st_mode & 07777;

	if (!trusted_uid(st->st_uid, target, flags)) {
		if (target && (flags & CL_TRUST_OWN))
			snprintf(buf, len, "owned by uid %u, not by this user (uid %u here)",
				 (unsigned)st->st_uid, (unsigned)geteuid());
		else if (geteuid() == 0)
			snprintf(buf, len, "owned by uid %u, not by root", (unsigned)st->st_uid);
		else
			snprintf(buf, len, "owned by uid %u, neither root nor uid %u",
				 (unsigned)st->st_uid, (unsigned)geteuid());
		return buf;
	}
	if (target && (mode & (S_IWGRP | S_IWOTH))) {
		snprintf(buf, len, "writable by %s (mode %04o)",
			 mode & S_IWOTH ? "others" : "its group", mode);
		return buf;
	}
	if (!target && (mode & S_IWOTH) && !(mode & S_ISVTX)) {
		snprintf(buf, len, "world-writable without the sticky bit (mode %04o)", mode);
		return buf;
	}
	return NULL;
}

static int refuse(struct cl_error **err, const char *path, const char *why)
{
	return cl_error_set(err, EPERM, "'%s' is %s", path[0] ? path : "/", why);
}

/* the walk: fd of the directory reached and its canonical path */
struct walk {
	int fd;
	char done[PATH_MAX];
	int links;
	bool noncanonical; /* CL_TRUST_CANONICAL refused a symlink */
};

static int check_fd(struct walk *w, int fd, bool target, struct cl_error **err)
{
	char why[96];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cl_error_set(err, errno, "stat '%s'", w->done[0] ? w->done : "/");
	if (!S_ISDIR(st.st_mode))
		return cl_error_set(err, ENOTDIR, "'%s'", w->done);
	if (cl_trust_check_stat(&st, target, 0, why, sizeof(why)))
		return refuse(err, w->done, why);
	return 0;
}

/* back to '/' (an absolute symlink, or the start) */
static int walk_root(struct walk *w, struct cl_error **err)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cl_error_set(err, errno, "open '/'");
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->done[0] = '\0';
	return check_fd(w, fd, false, err);
}

/*
 * step into @name: a directory becomes w->fd, checked as one above the target unless
 * @last; a symlink (trusted) is read into @ret_target and returns 1
 */
static int step(struct walk *w, const char *name, bool last, unsigned flags, mode_t mode,
		char ret_target[PATH_MAX], struct cl_error **err)
{
	_cleanup_close_ int fd = openat(w->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	size_t dl = strlen(w->done);
	struct stat st;
	ssize_t n;
	int r;

	if (fd < 0 && errno == ENOENT && (flags & CL_TRUST_CREATE)) {
		if (mkdirat(w->fd, name, mode) < 0 && errno != EEXIST)
			return cl_error_set(err, errno, "mkdir '%s/%s'", w->done, name);
		fd = openat(w->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0 || fstat(fd, &st) < 0)
		return cl_error_set(err, errno, "open '%s/%s'", w->done, name);
	if (S_ISLNK(st.st_mode) && (flags & CL_TRUST_CANONICAL)) {
		w->noncanonical = true;
		return cl_error_set(err, ELOOP, "'%s/%s' is a symlink, pass the real path", w->done,
				    name);
	}
	if (S_ISLNK(st.st_mode)) {
		if (++w->links > MAX_LINKS)
			return cl_error_set(err, ELOOP, "'%s/%s'", w->done, name);
		if (!trusted_uid(st.st_uid, true, 0))
			return cl_error_set(err, EPERM, "symlink '%s/%s' is owned by uid %u",
					    w->done, name, (unsigned)st.st_uid);
		n = readlinkat(fd, "", ret_target, PATH_MAX - 1);
		if (n < 0)
			return cl_error_set(err, errno, "readlink '%s/%s'", w->done, name);
		ret_target[n] = '\0';
		return 1;
	}
	if (dl + 1 + strlen(name) >= sizeof(w->done))
		return cl_error_set(err, ENAMETOOLONG, "'%s/%s'", w->done, name);
	snprintf(w->done + dl, sizeof(w->done) - dl, "/%s", name);
	/* the last one is checked as the target, by the caller */
	r = last ? 0 : check_fd(w, fd, false, err);
	if (r < 0)
		return r;
	close(w->fd);
	w->fd = TAKE_FD(fd);
	return 0;
}

/* ".." of the walk: the directory above (already checked on the way down) */
static int step_up(struct walk *w, struct cl_error **err)
{
	int fd = openat(w->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *slash = strrchr(w->done, '/');

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s/..'", w->done);
	close(w->fd);
	w->fd = fd;
	if (slash)
		*slash = '\0';
	return check_fd(w, fd, false, err);
}

/* the walk of @path from '/'; w->fd is then the last directory, checked as above it */
static int walk_path(struct walk *w, const char *path, unsigned flags, mode_t mode,
		     struct cl_error **err)
{
	_cleanup_free_ char *rest = strdup(path);
	char name[NAME_MAX + 1], target[PATH_MAX];
	char *p = rest;
	int r = rest ? walk_root(w, err) : cl_error_set(err, ENOMEM, "'%s'", path);

	while (r >= 0) {
		char *end, *next;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		if ((size_t)(end - p) > NAME_MAX)
			return cl_error_set(err, ENAMETOOLONG, "'%s'", path);
		memcpy(name, p, (size_t)(end - p));
		name[end - p] = '\0';
		p = end;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			r = step_up(w, err);
			continue;
		}
		r = step(w, name, !p[strspn(p, "/")], flags, mode, target, err);
		if (r <= 0)
			continue;
		/* a symlink: its target, then what was left */
		if (asprintf(&next, "%s/%s", target, p) < 0)
			return cl_error_set(err, ENOMEM, "'%s'", path);
		free(rest);
		rest = p = next;
		r = target[0] == '/' ? walk_root(w, err) : 0;
	}
	return r;
}

/* an absolute path with no '.', '..' or empty component (no '//', no trailing '/') */
static bool canonical_text(const char *path)
{
	const char *p = path;

	if (path[0] != '/')
		return false;
	if (!strcmp(path, "/"))
		return true;
	while (*p == '/') {
		const char *end = strchrnul(p + 1, '/');
		size_t n = (size_t)(end - p - 1);

		if (n == 0 || (n == 1 && p[1] == '.') || (n == 2 && p[1] == '.' && p[2] == '.'))
			return false;
		p = end;
	}
	return true;
}

/* CL_TRUST_ONCE: the directories walked and checked by this process, with their rules */
#define ONCE_RULES (CL_TRUST_OWN | CL_TRUST_CANONICAL)
static struct {
	char *path;
	unsigned rules;
	int fd; /* O_PATH */
} once[4];

/*
 * A new open file description of the kept directory, not a dup: callers flock() what they
 * get (the store root), and a lock on a shared description would outlive their close().
 */
static int once_get(const char *path, unsigned rules)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(once) && once[i].path; i++)
		if (once[i].rules == rules && !strcmp(once[i].path, path)) {
			int fd = openat(once[i].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			return fd < 0 ? -errno : fd;
		}
	return -ENOENT;
}

static void once_put(const char *path, unsigned rules, int fd)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(once); i++) {
		if (once[i].path)
			continue;
		once[i].fd = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (once[i].fd < 0)
			return;
		once[i].path = strdup(path);
		once[i].rules = rules;
		if (!once[i].path) {
			close(once[i].fd);
			once[i].fd = -1;
		}
		return;
	}
}

static int trusted_dir_walk(const char *path, const char *what, unsigned flags, mode_t mode,
			    struct cl_error **err);

int cl_trusted_dir_open(const char *path, const char *what, unsigned flags, mode_t mode,
			struct cl_error **err)
{
	unsigned rules = flags & ONCE_RULES;
	int fd = (flags & CL_TRUST_ONCE) ? once_get(path, rules) : -ENOENT;

	if (fd >= 0)
		return fd;
	fd = trusted_dir_walk(path, what, flags, mode, err);
	if (fd >= 0 && (flags & CL_TRUST_ONCE))
		once_put(path, rules, fd);
	return fd;
}

static int trusted_dir_walk(const char *path, const char *what, unsigned flags, mode_t mode,
			    struct cl_error **err)
{
	struct walk w = {.fd = -1};
	char why[96];
	struct stat st;
	int fd = -1;
	int r;

	if ((flags & CL_TRUST_CANONICAL) && !canonical_text(path))
		return cl_error_set(err, ELOOP,
				    "%s '%s' is not a canonical path ('.', '..', '//' or a "
				    "trailing '/'): pass the real path",
				    what, path);
	r = walk_path(&w, path, flags, mode, err);
	if (r < 0) {
		if (w.noncanonical)
			cl_error_wrap(err, "%s '%s' is not a canonical path", what, path);
		else
			cl_error_wrap(err, "%s '%s'", what, path);
		goto out;
	}
	/* the directory itself, named as given */
	if (fstat(w.fd, &st) < 0)
		r = cl_error_set(err, errno, "stat %s '%s'", what, path);
	else if (cl_trust_check_stat(&st, true, flags, why, sizeof(why)))
		r = cl_error_set(err, EPERM, "%s '%s' is %s", what, path, why);
	else if ((fd = openat(w.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = cl_error_set(err, errno, "open %s '%s'", what, path);
out:
	if (w.fd >= 0)
		close(w.fd);
	return r < 0 ? r : fd;
}

int cl_trusted_file_check(int fd, const char *what, const char *path, struct cl_error **err)
{
	char why[96];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cl_error_set(err, errno, "stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return cl_error_set(err, EINVAL, "%s '%s' is not a regular file", what, path);
	if (cl_trust_check_stat(&st, true, 0, why, sizeof(why)))
		return cl_error_set(err, EPERM, "%s '%s' is %s", what, path, why);
	return 0;
}
