/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The btrfs backend's part of the lifecycle (DESIGN §6b): the facts lib/plan decides on
 * (is the base a subvolume, is the snapshot directory on its filesystem), and gc of
 * snapshots whose layer is gone (the store's note snapshots/<id> names each one).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/btrfs/snapshot.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/layer/internal.h"

/* the snapshot directory, or (not made yet) its parent: on the base's btrfs? */
static bool dir_same_fs(int base_fd, const char *dir, bool *ret_exists)
{
	_cleanup_free_ char *parent = strdup(dir);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *slash;

	*ret_exists = fd >= 0;
	if (fd < 0 && errno == ENOENT && parent && (slash = strrchr(parent, '/'))) {
		slash[slash == parent] = '\0';
		fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd >= 0 && cl_btrfs_same_fs_fd(base_fd, fd) == 1;
}

int cl_layer_btrfs_facts(const struct cl_ctx *ctx, const char *lower, const char *id,
			 struct cl_plan_input *in)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *dir = NULL;

	(void)id;
	in->snapshot_dir = ctx->snapshot_dir;
	fd = open(lower, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* exec's own open reports it */
	in->lower_on_btrfs = cl_btrfs_on_btrfs_fd(fd);
	in->lower_subvolume = cl_btrfs_is_subvolume_fd(fd) == 1;
	if (!in->lower_subvolume)
		return 0;
	dir = cl_plan_snapshot_dir(lower, ctx->snapshot_dir);
	if (!dir)
		return -ENOMEM;
	in->snapshot_dir_same_fs = dir_same_fs(fd, dir, &in->snapshot_dir_exists);
	return 0;
}

const char *cl_layer_btrfs_upper(int kernel_fscrypt, bool *ret_subvolume)
{
	const char *why = NULL;

	if (kernel_fscrypt < 0) {
		*ret_subvolume = false;
		return "btrfs encryption not probed (no btrfs mounted): upper and work on the "
		       "fscrypt store";
	}
	*ret_subvolume =
	    cl_plan_btrfs_upper(kernel_fscrypt > 0, CL_PLAN_BTRFS_SUBVOLUME_UPPER_BUILT, &why) ==
	    CL_BTRFS_UPPER_SUBVOLUME;
	return why;
}

bool cl_layer_snapshot_noted(struct cl_store *store, const char *id)
{
	char note[512];

	snprintf(note, sizeof(note), "snapshots/%s", id);
	return faccessat(store->dir_fd, note, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool exists_in(struct cl_store *store, const char *dir, const char *id)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	return faccessat(store->dir_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

bool cl_layer_only_snapshot(struct cl_store *store, const char *id)
{
	return cl_layer_snapshot_noted(store, id) && !exists_in(store, "containers", id) &&
	       !exists_in(store, "keys", id);
}

int cl_layer_snapshot_orphan(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			     struct cl_error **err)
{
	struct cl_record rec = {.id = (char *)id, .keymode = "ephemeral", .owner = "cli"};
	_cleanup_free_ char *note = NULL, *text = NULL;
	struct cl_plan plan = {.n_ops = 1, .ops = {CL_OP_DELETE_SNAPSHOT}};
	size_t len = 0;
	int r;

	/* only once nothing else of the layer is left: no record, directory or key file */
	if (!cl_layer_only_snapshot(store, id))
		return 0;
	if (asprintf(&note, "snapshots/%s", id) < 0)
		return cl_error_set(err, ENOMEM, "gc");
	r = cl_read_file_at(store->dir_fd, note, 4096, &text, &len, err);
	if (r < 0)
		return r;
	/* cut short by a kill (exec.c write_note): the snapshot comes after the whole note */
	if (len == 0 || text[len - 1] != '\n') {
		if (unlinkat(store->dir_fd, note, 0) < 0 && errno != ENOENT)
			return cl_error_set(err, errno, "remove '%s/%s'", store->dir, note);
		return 1;
	}
	text[strcspn(text, "\n")] = '\0';
	if (text[0] != '/')
		return cl_error_set(err, EINVAL, "'%s/%s' is malformed", store->dir, note);
	rec.snapshot = text;
	r = cl_exec_teardown(store, &rec, &plan, ctx->run_dir, NULL, err);
	return r < 0 ? r : 1;
}
