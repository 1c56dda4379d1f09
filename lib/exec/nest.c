/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Nests of nested containers (DESIGN §6): nest/<id>/store (plain, the inner cryptlayer's
 * store) and nest/<id>/graph (under the outer layer's policy, the inner podman's graph),
 * beside the layer on the store filesystem, never inside its encrypted upper, and bound
 * into the container at /var/lib/cryptlayer and /var/lib/containers.
 */
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
#include "lib/core/fd-util.h"
#include "lib/exec/exec.h"
#include "lib/exec/ns.h"
#include "lib/mount/overlay.h"

/* what is bound where: the inner store gets nodev,nosuid (an inner root makes no devices) */
static const struct nest_bind {
	const char *name;   /* under nest/<id> */
	const char *target; /* in the container, relative to its root */
	unsigned long long attr;
} binds[] = {
    {"store", "var/lib/cryptlayer", MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID},
    {"graph", "var/lib/containers", 0},
};

int cl_exec_nest_make(struct cl_store *store, const char *id, const struct cl_key_id *key,
		      struct cl_error **err)
{
	_cleanup_free_ char *rel = NULL;
	_cleanup_close_ int nfd = -1, gfd = -1;
	const char *why = NULL;
	int r;

	if (asprintf(&rel, "nest/%s", id) < 0)
		return cl_error_set(err, ENOMEM, "nest");
	r = cl_mkdir_p_at(store->dir_fd, "nest", 0700, err);
	if (r < 0)
		return r;
	if (mkdirat(store->dir_fd, rel, 0700) < 0)
		return cl_error_set(err, errno, "mkdir '%s/%s'", store->dir, rel);
	nfd = openat(store->dir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0)
		return cl_error_set(err, errno, "open '%s/%s'", store->dir, rel);
	r = cl_fscrypt_fs_supported(nfd, &why);
	if (r == 0)
		return cl_error_set(err, ENOTSUP,
				    "nested=true: the store filesystem at '%s' has no fscrypt (%s)",
				    store->dir, why ? why : "?");
	if (r < 0)
		return cl_error_set(err, -r, "probe fscrypt on '%s/%s'", store->dir, rel);
	/* the inner store: plain, so that the inner cryptlayer sets its own policies there */
	if (mkdirat(nfd, "store", 0711) < 0 || mkdirat(nfd, "graph", 0700) < 0)
		return cl_error_set(err, errno, "mkdir in '%s/%s'", store->dir, rel);
	gfd = openat(nfd, "graph", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (gfd < 0)
		return cl_error_set(err, errno, "open '%s/%s/graph'", store->dir, rel);
	r = cl_fscrypt_set_policy(gfd, key, err);
	return r < 0 ? cl_error_wrap(err, "nest graph '%s/%s/graph'", store->dir, rel) : 0;
}

static int sys_openat2(int dfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)flags | O_CLOEXEC, .resolve = resolve};

	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

/*
 * The directory @rel inside the tree rooted at @root_fd, made where missing (0755). Every
 * component is resolved inside the root and none may be a symlink (RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS): a link planted in the image or by the container cannot send the
 * bind mount anywhere else. Return: an O_PATH fd, or -errno (ELOOP: a symlink).
 */
static int nest_target(int root_fd, const char *rel)
{
	const unsigned long long how =
	    RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	char buf[256];
	size_t len = strlen(rel);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	for (size_t end = 1; end <= len; end++) {
		_cleanup_close_ int parent = -1;
		char *slash;
		int fd;

		if (end < len && rel[end] != '/')
			continue;
		memcpy(buf, rel, end);
		buf[end] = '\0';
		fd = sys_openat2(root_fd, buf, O_PATH | O_DIRECTORY, how);
		if (fd >= 0 && end == len)
			return fd;
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(buf, '/');
		if (slash) {
			*slash = '\0';
			parent = sys_openat2(root_fd, buf, O_PATH | O_DIRECTORY, how);
		} else {
			parent = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
		}
		if (parent < 0)
			return -errno;
		if (mkdirat(parent, slash ? slash + 1 : buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		end--; /* open it again, now that it exists */
	}
	return -EINVAL;
}

/* detached copies of the nest's directories (made in the namespace the store is in) */
static int nest_clones(struct cl_store *store, const char *id, int ret[2], struct cl_error **err)
{
	struct cl_ns_guard guard;
	int r;

	r = cl_ns_enter_host(&guard, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < CL_ARRAY_SIZE(binds); i++) {
		char rel[512];

		snprintf(rel, sizeof(rel), "nest/%s/%s", id, binds[i].name);
		ret[i] = (int)open_tree(store->dir_fd, rel,
					OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
		if (ret[i] < 0) {
			r = cl_error_set(err, errno, "bind '%s/%s'", store->dir, rel);
		} else if (binds[i].attr) {
			struct mount_attr a = {.attr_set = binds[i].attr};

			if (mount_setattr(ret[i], "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
				r = cl_error_set(err, errno, "nodev,nosuid on '%s/%s'", store->dir,
						 rel);
		}
	}
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r == 0)
		r = -EIO;
	return r;
}

/* in the current namespace: each clone onto its target under @root (its path: @what) */
static int bind_all(int root_fd, const char *what, int clones[2], struct cl_error **err)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(binds); i++) {
		_cleanup_close_ int t = nest_target(root_fd, binds[i].target);
		int r;

		if (t == -ELOOP)
			return cl_error_set(err, ELOOP,
					    "nest: '/%s' in the container is or passes through a "
					    "symlink: refused (resolved inside '%s')",
					    binds[i].target, what);
		if (t < 0)
			return cl_error_set(err, -t, "nest: mount point '/%s' in '%s'",
					    binds[i].target, what);
		r = cl_mount_move_fd(clones[i], t, binds[i].target, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cl_exec_nest_mount(struct cl_store *store, const char *id, pid_t pid, const char *root,
		       struct cl_error **err)
{
	int clones[2] = {-1, -1};
	struct cl_ns_guard guard;
	int r, root_fd = -1;

	guard.home_fd = -1;
	r = nest_clones(store, id, clones, err);
	/* a merged dir is mounted in this namespace (op_mount_merged), a hook's in @pid's */
	if (r == 0 && pid > 0)
		r = cl_ns_enter_pid(pid, &guard, err);
	if (r < 0)
		goto out;
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		r = cl_error_set(err, errno, "open '%s'", root);
	else
		r = bind_all(root_fd, root, clones, err);
	/* a hook's root.path tree is detached by the undo; a merged dir's binds go here */
	if (r < 0 && pid <= 0)
		(void)cl_exec_unmount_beneath(root, NULL);
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r == 0)
		r = -EIO;
out:
	for (size_t i = 0; i < CL_ARRAY_SIZE(clones); i++)
		if (clones[i] >= 0)
			close(clones[i]);
	if (root_fd >= 0)
		close(root_fd);
	return r;
}
