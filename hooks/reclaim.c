/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 'podman rm' runs no hook, so the locked persistent layer of a removed container would
 * wait for 'cryptlayer gc' or 'destroy'. Every poststop therefore erases the persistent
 * layers whose owner is gone (lib/plan/gc.c rules). The pass looks only at keys/, which
 * holds one key file per persistent layer, so a store without persistent layers costs
 * the hook one failed openat() however many containers run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/layer.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "lib/mount/overlay.h"
#include "lib/store/store.h"

/* the gc facts of a described layer without a record; false if it is not a candidate */
static bool described_facts(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			    struct cl_record *desc, struct cl_gc_facts *f)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.json", ctx->run_dir, id);
	if (access(path, F_OK) == 0)
		return false; /* recorded: unlocked or in use, full gc's business */
	if (cl_record_desc_read(store->dir_fd, ctx->root, store->dir, id, desc, NULL) < 0)
		return false;
	snprintf(path, sizeof(path), "keys/%s", id);
	*f = (struct cl_gc_facts){
	    .layer_exists = true,
	    .persistent_in_store = faccessat(store->dir_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0,
	    .desc = desc,
	    .owner_dir_exists = desc->owner_dir && access(desc->owner_dir, F_OK) == 0,
	    .mounted = desc->merged && cl_mount_is_mountpoint(desc->merged) != 0,
	};
	return f->persistent_in_store;
}

/* a key file's name is its layer's id */
static char *key_file_id(DIR *d, const char *name)
{
	(void)d;
	return cl_oci_id_valid(name) ? strdup(name) : NULL;
}

/* the ids of the persistent layers: the names in keys/ (none if it does not exist) */
static int persistent_ids(int store_fd, char ***ret, struct cl_error **err)
{
	int fd = openat(store_fd, "keys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int n;

	if (!d && (fd >= 0 || errno != ENOENT)) {
		n = errno;
		if (fd >= 0)
			close(fd);
		return cl_error_set(err, n, "open 'keys' in the store");
	}
	n = cl_dir_names(d, key_file_id, ret);
	return n < 0 ? cl_error_set(err, -n, "list 'keys' in the store") : n;
}

int cl_layer_reclaim_removed(const struct cl_ctx *ctx, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	char **ids = NULL;
	int n, r;

	r = cl_store_open(ctx->root, 0, false, &store, err);
	if (r == -ENOENT) {
		cl_error_free(err);
		return 0;
	}
	if (r < 0)
		return r;
	n = persistent_ids(store->dir_fd, &ids, err);
	if (n < 0)
		return n;
	for (int i = 0; i < n && r == 0; i++) {
		struct cl_record desc = {};
		struct cl_gc_facts f;
		const char *why = NULL;

		if (described_facts(ctx, store, ids[i], &desc, &f) &&
		    cl_plan_gc(&f, &why) == CL_GC_RECLAIM) {
			r = cl_layer_destroy(ctx, ids[i], true, NULL, err);
			if (r == 0)
				cl_log(CL_LOG_INFO, "%s: %s: erased with its key file", ids[i],
				       why);
		}
		cl_record_clear(&desc);
	}
	cl_strv_free(ids);
	return r;
}

/* a recorded ephemeral podman layer whose container was removed ('podman rm') */
static bool podman_removed(const struct cl_record *rec)
{
	return rec->owner && !strcmp(rec->owner, "podman") && rec->owner_dir &&
	       (!rec->keymode || strcmp(rec->keymode, "persistent")) &&
	       access(rec->owner_dir, F_OK) < 0 && errno == ENOENT;
}

int cl_layer_reclaim_removed_podman(const struct cl_ctx *ctx, const char *except,
				    struct cl_error **err)
{
	char **ids = NULL;
	int n = cl_record_list(ctx->run_dir, &ids, err), r = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n && r == 0; i++) {
		struct cl_record rec = {};

		if ((except && !strcmp(ids[i], except)) ||
		    cl_record_read(ctx->run_dir, ids[i], &rec, NULL) < 0)
			continue;
		if (podman_removed(&rec)) {
			r = cl_layer_destroy(ctx, ids[i], true, NULL, err);
			if (r == 0)
				cl_log(CL_LOG_INFO, "%s: podman container removed: layer erased",
				       ids[i]);
		}
		cl_record_clear(&rec);
	}
	cl_strv_free(ids);
	return r;
}
