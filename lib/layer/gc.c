/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gc (DESIGN §4): for every recorded layer, every layer directory without a record and
 * every lock file, take the layer's lock, gather the facts under it, let lib/plan/gc.c
 * decide, and erase what it reclaims in the teardown order.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/proc.h"
#include "lib/core/trust.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/layer/gc-facts.h"
#include "lib/layer/internal.h"
#include "lib/mount/overlay.h"

struct gc_run {
	const struct cl_ctx *ctx;
	cl_gc_report_fn report;
	void *data;
	int failed;
};

static void report(struct gc_run *run, const char *id, enum cl_gc_verdict v, const char *why,
		   struct cl_error **err)
{
	struct cl_gc_item item = {.id = id, .verdict = v, .why = why, .error = *err};

	if (*err)
		run->failed++;
	if (run->report)
		run->report(&item, run->data);
	cl_error_free(err);
}

/* reclaim a layer gc decided on: undo a dead creation, else erase */
static int reclaim(const struct cl_ctx *ctx, struct cl_store *store, const struct cl_record *rec,
		   struct cl_error **err)
{
	if (cl_layer_is_creating(rec))
		return cl_layer_finish_stale(ctx, rec->id, err) < 0 ? cl_error_errnum(err) : 0;
	return cl_layer_teardown(ctx, store, rec, true, NULL, err);
}

/* one recorded layer, under its lock */
static void gc_record(struct gc_run *run, const char *id)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	struct cl_error *err = NULL;
	struct cl_gc_facts f = {};
	enum cl_gc_verdict v = CL_GC_KEEP;
	const char *why = "unreadable record";

	if (cl_record_read(run->ctx->run_dir, id, &rec, &err) < 0) {
		if (err && err->errnum == ENOENT)
			cl_error_free(&err); /* erased meanwhile */
		else
			report(run, id, v, why, &err);
		return;
	}
	/* the store (re-attached after a reboot) first: a detached store hides every layer */
	why = "store unavailable";
	if (cl_store_open(rec.store_root, 0, false, &store, &err) == 0) {
		cl_layer_record_facts(run->ctx, store, &rec, &f);
		v = cl_plan_gc(&f, &why);
		if (v == CL_GC_RECLAIM)
			(void)reclaim(run->ctx, store, &rec, &err);
		else if (v == CL_GC_LOCK)
			(void)cl_layer_teardown(run->ctx, store, &rec, false, NULL, &err);
	}
	report(run, id, v, why, &err);
}

/* a layer directory (or a key file) without a record, under its lock */
static void gc_orphan(struct gc_run *run, struct cl_store *store, const char *id)
{
	_cleanup_(cl_record_clear) struct cl_record desc = {};
	_cleanup_free_ char *key_hex = NULL;
	struct cl_error *err = NULL;
	struct cl_gc_facts f = {};
	enum cl_gc_verdict v;
	const char *why;

	if (cl_layer_orphan_facts(run->ctx, store, id, &desc, &key_hex, &f) < 0)
		return;
	v = cl_plan_gc(&f, &why);
	/* a persistent layer goes with its key file: destroy finds it by its descriptor */
	if (v == CL_GC_RECLAIM && f.desc)
		(void)cl_layer_destroy_nolock(run->ctx, id, NULL, &err);
	else if (v == CL_GC_RECLAIM)
		(void)cl_layer_erase_orphan(run->ctx, store, id, key_hex, f.persistent_in_store,
					    &err);
	report(run, id, v, why, &err);
}

/* an orphan layer, then its btrfs snapshot once nothing else of it is left */
static void gc_orphan_and_snapshot(struct gc_run *run, struct cl_store *store, const char *id)
{
	struct cl_error *err = NULL;
	int r;

	if (!cl_layer_only_snapshot(store, id))
		gc_orphan(run, store, id);
	r = cl_layer_snapshot_orphan(run->ctx, store, id, &err);
	if (r != 0)
		report(run, id, CL_GC_RECLAIM, "btrfs snapshot of a layer that is gone", &err);
}

/* @id under its lock: a record, or else an orphan in the store */
static void gc_one(struct gc_run *run, struct cl_store *store, const char *id)
{
	_cleanup_close_ int lk = -1;
	struct cl_error *err = NULL;
	char path[512];

	if (cl_layer_id_lock(run->ctx, id, &lk, &err) < 0) {
		report(run, id, CL_GC_KEEP, "cannot lock", &err);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.json", run->ctx->run_dir, id);
	if (access(path, F_OK) == 0)
		gc_record(run, id);
	else if (store && !cl_layer_gone(run->ctx, id))
		gc_orphan_and_snapshot(run, store, id);
	cl_layer_id_unlock(run->ctx, id, &lk);
}

static void gc_ids(struct gc_run *run, struct cl_store *store, char **ids, int n)
{
	for (int i = 0; i < n; i++)
		gc_one(run, store, ids[i]);
	cl_strv_free(ids);
}

/* one gc at a time per store root: <root>/gc.lock (the store's own lock is for open) */
static int lock_gc(const char *root, struct cl_error **err)
{
	_cleanup_close_ int rfd =
	    cl_trusted_dir_open(root, "store root", CL_TRUST_CREATE | CL_TRUST_ONCE, 0700, err);
	_cleanup_close_ int fd = -1;

	if (rfd < 0)
		return rfd;
	fd = openat(rfd, "gc.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cl_error_set(err, errno, "open '%s/gc.lock'", root);
	if (flock(fd, LOCK_EX) < 0)
		return cl_error_set(err, errno, "lock '%s/gc.lock'", root);
	return TAKE_FD(fd);
}

int cl_layer_gc(const struct cl_ctx *ctx, cl_gc_report_fn fn, void *data, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct gc_run run = {.ctx = ctx, .report = fn, .data = data};
	_cleanup_close_ int lock = -1;
	char **recorded = NULL, **unrecorded = NULL;
	int n, m, r;

	lock = lock_gc(ctx->root, err);
	if (lock < 0)
		return lock;
	r = cl_store_open(ctx->root, 0, false, &store, err);
	if (r == -ENOENT)
		cl_error_free(err); /* no store: no layers in it */
	else if (r < 0)
		return r;
	/*
	 * Both lists first, so each layer is looked at once: one that the first pass locks
	 * (its record goes) is not an orphan of the second.
	 */
	n = cl_record_list(ctx->run_dir, &recorded, err);
	if (n < 0)
		return n;
	m = cl_layer_unrecorded_ids(ctx, store, &unrecorded, err);
	if (m < 0) {
		cl_strv_free(recorded);
		return m;
	}
	gc_ids(&run, NULL, recorded, n);
	gc_ids(&run, store, unrecorded, m);
	return run.failed;
}
