/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One operation per layer id at a time (DESIGN §4): an flock on <root>/locks/<id>. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/trust.h"
#include "lib/layer/internal.h"

/*
 * A lock file is unlinked under its lock once its layer is gone, so a waiter that then
 * holds a file no longer at that path retries with a fresh one.
 */
int cl_layer_id_lock(const struct cl_ctx *ctx, const char *id, int *ret_fd, struct cl_error **err)
{
	_cleanup_free_ char *name = NULL, *path = NULL;
	_cleanup_close_ int rfd = -1;

	*ret_fd = -1;
	if (!id || !cl_oci_id_valid(id))
		return 0;
	if (asprintf(&name, "locks/%s", id) < 0 || asprintf(&path, "%s/%s", ctx->root, name) < 0)
		return cl_error_set(err, ENOMEM, "lock of layer '%s'", id);
	/* the store root, checked once (lib/core/trust.h); the lock file under that fd */
	rfd = cl_trusted_dir_open(ctx->root, "store root", CL_TRUST_CREATE | CL_TRUST_ONCE, 0700,
				  err);
	if (rfd < 0)
		return rfd;
	if (mkdirat(rfd, "locks", 0700) < 0 && errno != EEXIST)
		return cl_error_set(err, errno, "mkdir '%s/locks'", ctx->root);
	for (;;) {
		_cleanup_close_ int fd =
		    openat(rfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct stat held, now;

		if (fd < 0)
			return cl_error_set(err, errno, "open '%s'", path);
		if (flock(fd, LOCK_EX) < 0)
			return cl_error_set(err, errno, "lock '%s'", path);
		if (fstat(fd, &held) == 0 && fstatat(rfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
	}
}

static bool exists_at(int dfd, const char *dir, const char *id)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	return faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

bool cl_layer_gone(const struct cl_ctx *ctx, const char *id)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s/%s.json", ctx->run_dir, id);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		return false;
	r = cl_store_open(ctx->root, 0, false, &store, NULL);
	if (r == -ENOENT)
		return true; /* no store, no layer */
	if (r < 0)
		return false; /* cannot tell: keep the lock file */
	return !exists_at(store->dir_fd, "containers", id) &&
	       !exists_at(store->dir_fd, "keys", id) && !exists_at(store->dir_fd, "nest", id) &&
	       !exists_at(store->dir_fd, "snapshots", id);
}

void cl_layer_id_unlock(const struct cl_ctx *ctx, const char *id, int *fd)
{
	char path[512];

	if (!fd || *fd < 0)
		return;
	if (cl_layer_gone(ctx, id)) {
		(void)cl_record_remove(ctx->run_dir, id, NULL); /* a left-over .tmp */
		snprintf(path, sizeof(path), "%s/locks/%s", ctx->root, id);
		(void)unlink(path);
	}
	close(*fd);
	*fd = -1;
}
