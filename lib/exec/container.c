/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/exec/exec.h"
#include "lib/exec/ns.h"
#include "lib/mount/overlay.h"

#define STUB_MAX_DEPTH 16

static int sys_openat2(int dfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC, .resolve = resolve};

	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

/*
 * 'podman run --rootfs DIR' links DIR/etc/mtab to /proc/mounts before any hook runs
 * (DESIGN §3); the overlay hides it, so it is a mount point like the others.
 */
static bool is_podman_mtab(int dfd, const char *name, const char *path, int depth)
{
	size_t n = strlen(path);
	char target[16];
	ssize_t len;

	if (depth != 1 || strcmp(name, "mtab") || n < 4 || strcmp(path + n - 4, "/etc"))
		return false;
	len = readlinkat(dfd, name, target, sizeof(target));
	return len == (ssize_t)strlen("/proc/mounts") &&
	       !memcmp(target, "/proc/mounts", (size_t)len);
}

static int check_stub_dir(int dfd, const char *path, int depth, struct cl_error **err)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > STUB_MAX_DEPTH)
		return cl_error_set(err, ELOOP, "root.path '%s' nests too deep", path);
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return cl_error_set(err, errno, "open '%s'", path);
	}
	while (r == 0 && (de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			r = cl_error_set(err, ENOMEM, "root.path");
		else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = cl_error_set(err, errno, "stat '%s'", sub);
		else if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd(d), de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			r = fd < 0 ? cl_error_set(err, errno, "open '%s'", sub)
				   : check_stub_dir(fd, sub, depth + 1, err);
		} else if (S_ISLNK(st.st_mode) &&
			   is_podman_mtab(dirfd(d), de->d_name, path, depth)) {
			continue;
		} else if (!S_ISREG(st.st_mode) || st.st_size != 0)
			r = cl_error_set(err, EEXIST,
					 "root.path holds content at '%s' (with a base, root.path "
					 "must be an empty stub)",
					 sub);
	}
	closedir(d);
	return r;
}

int cl_exec_check_stub(const char *root_path, struct cl_error **err)
{
	int fd = open(root_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cl_error_set(err, errno, "open root.path '%s'", root_path);
	return check_stub_dir(fd, root_path, 0, err);
}

/* Resolve the first @len bytes of @rel inside @root_fd, never escaping it; -1/errno. */
static int open_in_root(int root_fd, const char *rel, size_t len, int flags)
{
	char buf[PATH_MAX];

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, rel, len);
	buf[len] = '\0';
	return sys_openat2(root_fd, buf, O_PATH | flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* Create component rel[start, end) in its (already existing) parent. */
static int make_component(int root_fd, const char *rel, size_t start, size_t end, bool as_dir)
{
	_cleanup_close_ int parent = -1;
	_cleanup_free_ char *name = strndup(rel + start, end - start);
	int r;

	if (!name)
		return -ENOMEM;
	parent = start ? open_in_root(root_fd, rel, start - 1, O_DIRECTORY)
		       : fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (parent < 0)
		return -errno;
	r = as_dir ? mkdirat(parent, name, 0755) : mknodat(parent, name, S_IFREG | 0644, 0);
	return r < 0 && errno != EEXIST ? -errno : 0;
}

/*
 * Make the mount point @rel (a directory, or an empty file when @is_dir is false) inside
 * the overlay rooted at @root_fd, resolving with RESOLVE_IN_ROOT so that a symlink in the
 * base cannot point it outside the container (the CVE-2025-23266 lesson, DESIGN §3).
 * Return: an O_PATH fd on the mount point, or -errno.
 */
static int ensure_mountpoint(int root_fd, const char *rel, bool is_dir)
{
	size_t len = strlen(rel);

	for (size_t end = 1; end <= len; end++) {
		bool last = end == len;
		size_t start = end;
		int fd, r;

		if (!last && rel[end] != '/')
			continue;
		fd = open_in_root(root_fd, rel, end, 0);
		if (fd < 0 && errno == ENOENT) {
			while (start > 0 && rel[start - 1] != '/')
				start--;
			r = make_component(root_fd, rel, start, end, is_dir || !last);
			if (r < 0)
				return r;
			fd = open_in_root(root_fd, rel, end, 0);
		}
		if (fd < 0)
			return -errno;
		if (last)
			return fd;
		close(fd);
	}
	return -EINVAL;
}

struct submount {
	char *rel; /* below root.path */
	int fd;	   /* O_PATH on the mount, opened before the overlay hides it */
	bool is_dir;
};

static void submounts_free(struct submount *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].rel);
		if (v[i].fd >= 0)
			close(v[i].fd);
	}
	free(v);
}

/*
 * A direct child of root.path's mount lies below another direct child's mount point only
 * when it was mounted first and then covered (a bind at /tmp/x, then a tmpfs at /tmp):
 * the container never sees it, and its path now resolves into the covering mount.
 */
static bool submount_shadowed(char **paths, int n, int i)
{
	for (int j = 0; j < n; j++) {
		size_t l = strlen(paths[j]);

		if (j != i && !strncmp(paths[i], paths[j], l) &&
		    (paths[i][l] == '/' || (l > 0 && paths[j][l - 1] == '/')))
			return true;
	}
	return false;
}

/* Drop the shadowed children from @paths (freed); return how many are left. */
static int submounts_visible(char **paths, int n)
{
	bool *hide = calloc((size_t)n + 1, sizeof(*hide));
	int k = 0;

	for (int i = 0; hide && i < n; i++)
		hide[i] = submount_shadowed(paths, n, i);
	for (int i = 0; i < n; i++) {
		if (hide && hide[i])
			free(paths[i]);
		else
			paths[k++] = paths[i];
	}
	paths[k] = NULL;
	free(hide);
	return k;
}

static int submounts_open(const char *root_path, struct submount **ret, struct cl_error **err)
{
	char **paths = NULL;
	struct submount *v;
	size_t rlen = strlen(root_path);
	int n = cl_mount_submounts(root_path, &paths, err);

	if (n < 0)
		return n;
	n = submounts_visible(paths, n);
	v = calloc((size_t)n + 1, sizeof(*v));
	for (int i = 0; v && i < n; i++)
		v[i].fd = -1;
	for (int i = 0; v && i < n; i++) {
		struct stat st;

		v[i].rel = strdup(paths[i] + rlen + (paths[i][rlen] == '/'));
		v[i].fd = open(paths[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (!v[i].rel || v[i].fd < 0 || fstat(v[i].fd, &st) < 0) {
			int r = cl_error_set(err, v[i].rel ? errno : ENOMEM, "open mount '%s'",
					     paths[i]);

			submounts_free(v, n);
			cl_strv_free(paths);
			return r;
		}
		v[i].is_dir = S_ISDIR(st.st_mode);
	}
	cl_strv_free(paths);
	if (!v)
		return cl_error_set(err, ENOMEM, "submounts");
	*ret = v;
	return n;
}

static int set_propagation(int fd, unsigned long prop)
{
	struct mount_attr attr = {.propagation = prop};

	return mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr));
}

static int seal_stub(int fd)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC |
					      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

	return mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr));
}

/* In the container's namespace: overlay onto root.path, then the submounts onto it. */
static int stack_overlay(int mnt_fd, const char *root_path, struct cl_error **err)
{
	struct submount *subs = NULL;
	_cleanup_close_ int root_fd = -1;
	int n, r = 0;

	n = submounts_open(root_path, &subs, err);
	if (n < 0)
		return n;
	root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		submounts_free(subs, n);
		return cl_error_set(err, errno, "open root.path '%s'", root_path);
	}
	/*
	 * A mount under a shared parent cannot be moved (do_move_mount), and our overlay
	 * must not propagate to the host's peers: make root.path's mount private first
	 * (that mount alone, not its children). The overlay itself stays private.
	 */
	if (set_propagation(root_fd, MS_PRIVATE) < 0)
		r = cl_error_set(err, errno, "make '%s' private", root_path);
	/*
	 * The stub under the overlay becomes read-only, noexec, nosuid, nodev: a runtime
	 * that opened the rootfs before the hooks ran (runc >= 1.5) and pivots into the stub
	 * rather than into our overlay gets an empty root where nothing runs and nothing is
	 * written in plaintext.
	 */
	if (r == 0 && seal_stub(root_fd) < 0)
		r = cl_error_set(err, errno, "make the stub '%s' read-only", root_path);
	if (r == 0)
		r = cl_mount_move_fd(mnt_fd, root_fd, root_path, err);
	for (int i = 0; r == 0 && i < n; i++) {
		_cleanup_close_ int target = ensure_mountpoint(mnt_fd, subs[i].rel, subs[i].is_dir);

		if (target < 0)
			r = cl_error_set(err, -target, "mount point '%s' in the overlay",
					 subs[i].rel);
		else
			r = cl_mount_move_fd(subs[i].fd, target, subs[i].rel, err);
	}
	if (r < 0)
		(void)umount2(root_path, MNT_DETACH);
	submounts_free(subs, n);
	return r;
}

int cl_exec_mount_container(int mnt_fd, pid_t pid, const char *root_path, struct cl_error **err)
{
	struct cl_ns_guard guard;
	int r;

	r = cl_ns_enter_pid(pid, &guard, err);
	if (r < 0)
		return r;
	r = stack_overlay(mnt_fd, root_path, err);
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r == 0)
		r = -EIO;
	return r;
}
