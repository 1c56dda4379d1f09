/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cheap reclaim passes that hooks run (gc does the full reconcile): 'podman rm' runs
 * no hook, and a container whose 'runc create' failed gets no poststop from podman, so
 * poststop and precreate erase what removed containers left. Each decision is taken under
 * the layer's lock on facts read under it, by the gc rules (lib/plan/gc.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/layer/gc-facts.h"
#include "lib/mount/overlay.h"

static void report(cl_gc_report_fn fn, void *data, const char *id, enum cl_gc_verdict v,
		   const char *why, const struct cl_error *e)
{
	struct cl_gc_item item = {.id = id, .verdict = v, .why = why, .error = e};

	if (fn)
		fn(&item, data);
}

/* a locked persistent layer (no record) whose owner was removed: erase it, under its lock */
static int reclaim_described(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			     cl_gc_report_fn fn, void *data, struct cl_error **err)
{
	_cleanup_(cl_record_clear) struct cl_record desc = {};
	_cleanup_free_ char *key_hex = NULL;
	_cleanup_close_ int lk = -1;
	struct cl_gc_facts f = {};
	const char *why = NULL;
	char path[512];
	int r;

	r = cl_layer_id_lock(ctx, id, &lk, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.json", ctx->run_dir, id);
	/* recorded: unlocked or in use, gc's business */
	if (access(path, F_OK) < 0 &&
	    cl_layer_orphan_facts(ctx, store, id, &desc, &key_hex, &f) == 0 && f.desc &&
	    cl_plan_gc_persistent(&f, &why) == CL_GC_RECLAIM) {
		r = cl_layer_destroy_nolock(ctx, id, NULL, err);
		report(fn, data, id, CL_GC_RECLAIM, why, r < 0 && err ? *err : NULL);
	}
	cl_layer_id_unlock(ctx, id, &lk);
	return r;
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

int cl_layer_reclaim_removed(const struct cl_ctx *ctx, cl_gc_report_fn fn, void *data,
			     struct cl_error **err)
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
	for (int i = 0; i < n && r == 0; i++)
		r = reclaim_described(ctx, store, ids[i], fn, data, err);
	cl_strv_free(ids);
	return r;
}

/* a recorded podman layer whose container directory is gone (cheap: no lock, no scan) */
static bool podman_removed(const struct cl_ctx *ctx, const char *id, struct cl_record *rec)
{
	cl_record_clear(rec);
	return cl_record_read(ctx->run_dir, id, rec, NULL) == 0 && rec->owner &&
	       !strcmp(rec->owner, "podman") && rec->owner_dir &&
	       access(rec->owner_dir, F_OK) < 0 && errno == ENOENT;
}

/* a candidate, looked at again under its lock, by gc's rules */
static int reclaim_podman_one(const struct cl_ctx *ctx, const char *id, cl_gc_report_fn fn,
			      void *data, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	struct cl_gc_facts f = {};
	const char *why = NULL;
	int r = 0;

	if (!podman_removed(ctx, id, &rec))
		return 0;
	if (cl_store_open(rec.store_root, 0, false, &store, NULL) < 0)
		return 0; /* gc will say why */
	cl_layer_record_facts(ctx, store, &rec, &f);
	if (cl_plan_gc(&f, &why) != CL_GC_RECLAIM)
		return 0;
	r = cl_layer_is_creating(&rec) ? cl_layer_finish_stale(ctx, id, err)
				       : cl_layer_teardown(ctx, store, &rec, true, NULL, err);
	report(fn, data, id, CL_GC_RECLAIM, why, r < 0 && err ? *err : NULL);
	return r < 0 ? r : 0;
}

int cl_layer_reclaim_podman(const struct cl_ctx *ctx, const char *except, cl_gc_report_fn fn,
			    void *data, struct cl_error **err)
{
	char **ids = NULL;
	int n = cl_record_list(ctx->run_dir, &ids, err), r = 0;

	if (n < 0)
		return n;
	for (int i = 0; i < n && r == 0; i++) {
		_cleanup_(cl_record_clear) struct cl_record rec = {};
		_cleanup_close_ int lk = -1;

		if ((except && !strcmp(ids[i], except)) || !podman_removed(ctx, ids[i], &rec))
			continue;
		r = cl_layer_id_lock(ctx, ids[i], &lk, err);
		if (r == 0)
			r = reclaim_podman_one(ctx, ids[i], fn, data, err);
		cl_layer_id_unlock(ctx, ids[i], &lk);
	}
	cl_strv_free(ids);
	return r;
}
