/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store remove: the whole embedded store goes, once no layer is left in it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/exec/ns.h"
#include "lib/mount/overlay.h"
#include "lib/record/record.h"
#include "lib/store/store.h"

/* a directory under @dfd with any entry (a layer or a key file): -EBUSY */
static int check_empty(int dfd, const char *dir, const char *root, struct cl_error **err)
{
	int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : cl_error_set(err, errno, "open '%s'", dir);
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return cl_error_set(err, EBUSY,
					    "store '%s' still holds layer '%s' ('cryptlayer "
					    "list', then 'destroy' each)",
					    root, de->d_name);
	return 0;
}

/* a record of a layer in this store, in @run_dir: -EBUSY */
static int check_records(const char *root, const char *run_dir, struct cl_error **err)
{
	char **ids = NULL;
	int n = cl_record_list(run_dir, &ids, err), r = 0;

	for (int i = 0; i < n && r == 0; i++) {
		struct cl_record rec = {};

		if (cl_record_read(run_dir, ids[i], &rec, NULL) == 0 && rec.store_root &&
		    !strcmp(rec.store_root, root))
			r = cl_error_set(err, EBUSY,
					 "store '%s' still holds layer '%s' (recorded in '%s')",
					 root, ids[i], run_dir);
		cl_record_clear(&rec);
	}
	cl_strv_free(ids);
	return n < 0 ? n : r;
}

/* what the store put under @root: its image or directories, lock files, gc.lock */
static int remove_files(int rfd, const char *root, struct cl_error **err)
{
	static const char *const names[] = {"store.img", "store", "containers",
					    "keys",	 "locks", "gc.lock"};
	int r = 0;

	for (size_t i = 0; i < CL_ARRAY_SIZE(names) && r == 0; i++)
		r = cl_rm_rf_at(rfd, names[i], err);
	if (r == 0 && rmdir(root) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
		r = cl_error_set(err, errno, "rmdir '%s'", root);
	return r;
}

static int remove_locked(int rfd, const char *root, const char *run_dir, struct cl_error **err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int sfd = -1;
	int r;

	if (asprintf(&dir, "%s/store", root) < 0)
		return cl_error_set(err, ENOMEM, "store remove");
	/* an image store is mounted on root/store; in place, the layers are under root */
	sfd = openat(rfd, faccessat(rfd, "store.img", F_OK, 0) == 0 ? "store" : ".",
		     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "open the store under '%s'", root);
	r = check_records(root, run_dir, err);
	if (r == 0 && sfd >= 0)
		r = check_empty(sfd, "containers", root, err);
	if (r == 0 && sfd >= 0)
		r = check_empty(sfd, "keys", root, err);
	if (r < 0)
		return r;
	/*
	 * no layer is left; a mount namespace made while the store was mounted (a service
	 * with a private /tmp, a container runtime's) keeps a copy of it: detach ours, the
	 * loop device goes when the last copy does
	 */
	if (cl_mount_is_mountpoint(dir) > 0 && umount2(dir, UMOUNT_NOFOLLOW) < 0 &&
	    (errno != EBUSY || umount2(dir, UMOUNT_NOFOLLOW | MNT_DETACH) < 0))
		return cl_error_set(err, errno, "unmount '%s'", dir);
	return remove_files(rfd, root, err);
}

int cl_store_remove(const char *root, const char *run_dir, struct cl_error **err)
{
	struct cl_ns_guard guard;
	_cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (rfd < 0)
		return errno == ENOENT ? 0 : cl_error_set(err, errno, "open '%s'", root);
	if (flock(rfd, LOCK_EX) < 0)
		return cl_error_set(err, errno, "lock '%s'", root);
	/* the store is mounted in the host namespace (DESIGN §4) */
	r = cl_ns_enter_host(&guard, err);
	if (r < 0)
		return r;
	r = remove_locked(rfd, root, run_dir, err);
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r == 0)
		r = -EIO;
	return r;
}
