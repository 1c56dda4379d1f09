/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Questions about the mount table. The fast path asks the kernel directly (statx(2)
 * STATX_ATTR_MOUNT_ROOT, Linux 5.8; statmount(2)/listmount(2), Linux 6.8); older kernels
 * get libmount's mountinfo parser, loaded on demand (lib/mount/libmount-dl.h says why).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/mount/libmount-dl.h"
#include "lib/mount/overlay.h"
#include "lib/mount/uapi-statmount.h"

void cl_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Append a copy of @str to the NULL-terminated @v holding @n entries. */
static int strv_push(char ***v, int n, const char *str)
{
	char **nv = realloc(*v, sizeof(**v) * (size_t)(n + 2));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[n] = strdup(str);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -ENOMEM;
}

/* ---- libmount (fallback) ------------------------------------------------------------ */

static const struct cl_libmount *lm_table(struct libmnt_table **ret, struct cl_error **err)
{
	const struct cl_libmount *lm = cl_libmount(err);
	struct libmnt_table *tb;
	int r;

	if (!lm)
		return NULL;
	tb = lm->mnt_new_table();
	if (!tb) {
		cl_error_set(err, ENOMEM, "mountinfo");
		return NULL;
	}
	r = lm->mnt_table_parse_file(tb, "/proc/self/mountinfo");
	if (r < 0) {
		lm->mnt_unref_table(tb);
		cl_error_libmount(err, r, "parse '/proc/self/mountinfo'");
		return NULL;
	}
	*ret = tb;
	return lm;
}

int cl_mount_submounts_libmount(const char *target, char ***ret_paths, struct cl_error **err)
{
	struct libmnt_table *tb = NULL;
	const struct cl_libmount *lm = lm_table(&tb, err);
	struct libmnt_iter *itr = NULL;
	struct libmnt_fs *parent, *child;
	char **v = NULL;
	int n = 0, r = 0;

	if (!lm)
		return cl_error_errnum(err);
	itr = lm->mnt_new_iter(MNT_ITER_FORWARD);
	v = calloc(1, sizeof(*v));
	parent = lm->mnt_table_find_target(tb, target, MNT_ITER_BACKWARD);
	if (!itr || !v)
		r = cl_error_set(err, ENOMEM, "mountinfo");
	else if (!parent)
		r = cl_error_set(err, ENOENT, "'%s' is not a mount point", target);
	while (r == 0 && lm->mnt_table_next_child_fs(tb, itr, parent, &child) == 0)
		if (strv_push(&v, n++, lm->mnt_fs_get_target(child)) < 0)
			r = cl_error_set(err, ENOMEM, "mountinfo");
	if (itr)
		lm->mnt_free_iter(itr);
	lm->mnt_unref_table(tb);
	if (r < 0) {
		cl_strv_free(v);
		return r;
	}
	*ret_paths = v;
	return n;
}

static int is_mountpoint_libmount(const char *path)
{
	struct libmnt_table *tb = NULL;
	const struct cl_libmount *lm = lm_table(&tb, NULL);
	int r;

	if (!lm)
		return -EIO;
	r = lm->mnt_table_find_target(tb, path, MNT_ITER_BACKWARD) != NULL;
	lm->mnt_unref_table(tb);
	return r;
}

/* ---- the kernel's own answers --------------------------------------------------------- */

int cl_mount_is_mountpoint(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW, 0, &stx) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return !!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return is_mountpoint_libmount(path); /* Linux < 5.8 */
}

/* The unique id (Linux 6.8) of the mount whose root is @path: 1, 0 (unsupported), -errno */
static int mount_unique_id(const char *path, uint64_t *ret, struct cl_error **err)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE,
		  &stx) < 0)
		return cl_error_set(err, errno, "statx '%s'", path);
	if (!(stx.stx_mask & STATX_MNT_ID_UNIQUE))
		return 0;
	if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return cl_error_set(err, ENOENT, "'%s' is not a mount point", path);
	*ret = stx.stx_mnt_id;
	return 1;
}

/*
 * listmount(2) under @parent, all of them. Linux 6.8 lists the direct children; later
 * kernels list every mount beneath (the caller filters on the parent). Return: count or
 * -errno.
 */
static ssize_t list_children(uint64_t parent, uint64_t **ret)
{
	struct cl_uapi_mnt_id_req req = {.size = CL_MNT_ID_REQ_SIZE_VER0, .mnt_id = parent};
	_cleanup_free_ uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	long got;

	do {
		size_t want;

		if (n == cap) {
			uint64_t *nids = realloc(ids, (cap = cap ? cap * 2 : 32) * sizeof(*ids));

			if (!nids)
				return -ENOMEM;
			ids = nids;
		}
		want = cap - n;
		got = syscall(__NR_listmount, &req, ids + n, want, 0);
		if (got < 0)
			return -errno;
		n += (size_t)got;
		if ((size_t)got < want)
			break;
		req.param = ids[n - 1]; /* a full buffer: go on after the last id listed */
	} while (got > 0);
	*ret = TAKE_PTR(ids);
	return (ssize_t)n;
}

/* statmount(2): @id's parent and mount point (a new string). Return: 0 or -errno. */
static int mount_point(uint64_t id, uint64_t *ret_parent, char **ret)
{
	struct cl_uapi_mnt_id_req req = {
	    .size = CL_MNT_ID_REQ_SIZE_VER0,
	    .mnt_id = id,
	    .param = CL_STATMOUNT_MNT_BASIC | CL_STATMOUNT_MNT_POINT,
	};
	size_t size = 4096;

	for (;;) {
		_cleanup_free_ struct cl_uapi_statmount *sm = malloc(size);

		if (!sm)
			return -ENOMEM;
		if (syscall(__NR_statmount, &req, sm, size, 0) == 0) {
			if (!(sm->mask & CL_STATMOUNT_MNT_BASIC) ||
			    !(sm->mask & CL_STATMOUNT_MNT_POINT))
				return -EIO;
			*ret_parent = sm->mnt_parent_id;
			*ret = strdup(sm->str + sm->mnt_point);
			return *ret ? 0 : -ENOMEM;
		}
		if (errno != EOVERFLOW || size >= (1U << 20))
			return -errno;
		size *= 2;
	}
}

/* Return: the number of children, -ENOSYS (no statmount/listmount) or another -errno. */
static int submounts_statmount(uint64_t parent, char ***ret_paths)
{
	_cleanup_free_ uint64_t *ids = NULL;
	char **v = calloc(1, sizeof(*v));
	ssize_t n = v ? list_children(parent, &ids) : -ENOMEM;
	int found = 0;

	for (ssize_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = NULL;
		uint64_t up = 0;
		int r = mount_point(ids[i], &up, &p);

		if (r == -ENOENT || (r == 0 && up != parent))
			continue; /* unmounted since listmount(), or not a direct child */
		if (r == 0 && strv_push(&v, found, p) < 0)
			r = -ENOMEM;
		if (r < 0) {
			n = r;
			break;
		}
		found++;
	}
	if (n < 0) {
		cl_strv_free(v);
		return (int)n;
	}
	*ret_paths = v;
	return found;
}

int cl_mount_submounts(const char *target, char ***ret_paths, struct cl_error **err)
{
	uint64_t id;
	int r = mount_unique_id(target, &id, err);

	if (r < 0)
		return r;
	if (r > 0) {
		r = submounts_statmount(id, ret_paths);
		if (r != -ENOSYS) /* seccomp filters of older runtimes may say ENOSYS too */
			return r < 0 ? cl_error_set(err, -r, "list the mounts on '%s'", target) : r;
	}
	return cl_mount_submounts_libmount(target, ret_paths, err);
}

bool cl_mount_have_statmount(void)
{
	/* an invalid request: ENOSYS only when the kernel lacks the call */
	return syscall(__NR_statmount, NULL, NULL, 0, 0) == 0 || errno != ENOSYS;
}
