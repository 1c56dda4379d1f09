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
#include "lib/layer/internal.h"

/*
 * A lock file is unlinked under its lock once its layer is gone, so a waiter that then
 * holds a file no longer at that path retries with a fresh one.
 */
int cl_layer_id_lock(const struct cl_ctx *ctx, const char *id, int *ret_fd, struct cl_error **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL;
	int r;

	*ret_fd = -1;
	if (!id || !cl_oci_id_valid(id))
		return 0;
	if (asprintf(&dir, "%s/locks", ctx->root) < 0 || asprintf(&path, "%s/%s", dir, id) < 0)
		return cl_error_set(err, ENOMEM, "lock of layer '%s'", id);
	r = cl_mkdir_p_at(AT_FDCWD, dir, 0700, err);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_close_ int fd =
		    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct stat held, now;

		if (fd < 0)
			return cl_error_set(err, errno, "open '%s'", path);
		if (flock(fd, LOCK_EX) < 0)
			return cl_error_set(err, errno, "lock '%s'", path);
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_ino == now.st_ino &&
		    held.st_dev == now.st_dev) {
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
