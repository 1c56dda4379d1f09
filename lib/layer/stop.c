/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tearing layers down: stop (poststop), lock, destroy, and undoing dead creations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cleanup.h"
#include "lib/core/proc.h"
#include "lib/layer/gc-facts.h"
#include "lib/layer/internal.h"

int cl_layer_teardown(const struct cl_ctx *ctx, struct cl_store *store, const struct cl_record *rec,
		      bool erase, struct cl_teardown_report *ret_rep, struct cl_error **err)
{
	struct cl_teardown_report rep = {};
	struct cl_plan plan = {};
	int r;

	r = erase ? cl_plan_erase(rec, &plan, err) : cl_plan_teardown(rec, &plan, err);
	if (r == 0)
		r = cl_exec_teardown(store, rec, &plan, ctx->run_dir, &rep, err);
	/* kept: a persistent layer locked; its files and key file stay */
	rep.kept = !plan.ephemeral && !erase && !(rec->state && !strcmp(rec->state, "creating"));
	if (ret_rep)
		*ret_rep = rep;
	cl_plan_clear(&plan);
	return r;
}

int cl_layer_erase_orphan(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			  char *key_hex, bool persistent, struct cl_error **err)
{
	struct cl_record rec = {.id = (char *)id,
				.key_id = key_hex,
				.keymode = persistent ? "persistent" : "ephemeral",
				.owner = "cli"};
	_cleanup_free_ char *layer = NULL, *merged = NULL;

	if (asprintf(&layer, "%s/containers/%s", store->dir, id) < 0 ||
	    asprintf(&merged, "%s/merged", layer) < 0)
		return cl_error_set(err, ENOMEM, "erase '%s'", id);
	rec.layer_dir = layer;
	rec.merged = merged;
	return cl_layer_teardown(ctx, store, &rec, true, NULL, err);
}

/*
 * what a destroy cut short leaves without record or descriptor: the layer directory or
 * key file, erased unless its key is in the kernel or it is mounted (then it may be a
 * layer recorded in another run dir: refused)
 */
static int destroy_leftover(const struct cl_ctx *ctx, const char *id, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record desc = {};
	_cleanup_free_ char *key_hex = NULL;
	struct cl_gc_facts f = {};
	int r;

	r = cl_store_open(ctx->root, 0, false, &store, NULL);
	if (r < 0)
		return 0; /* nothing there */
	/* a btrfs snapshot (its note) may be all that is left */
	if (cl_layer_only_snapshot(store, id))
		return cl_layer_snapshot_orphan(ctx, store, id, err) < 0 ? cl_error_errnum(err) : 0;
	if (cl_layer_orphan_facts(ctx, store, id, &desc, &key_hex, &f) < 0)
		return 0; /* nothing there */
	if (f.key_present || f.mounted)
		return cl_error_set(err, EBUSY,
				    "layer '%s' has no record in '%s' but its key is present or it "
				    "is mounted (recorded in another run dir?)",
				    id, ctx->run_dir);
	r = cl_layer_erase_orphan(ctx, store, id, key_hex, f.persistent_in_store, err);
	if (r < 0)
		return r;
	return cl_layer_snapshot_orphan(ctx, store, id, err) < 0 ? cl_error_errnum(err) : 0;
}

int cl_layer_destroy_nolock(const struct cl_ctx *ctx, const char *id,
			    struct cl_teardown_report *ret_rep, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	const char *why = NULL;
	char buf[CL_LAYER_WHY_MAX];
	int r;

	r = cl_layer_find(ctx, id, &store, &rec, NULL, err);
	if (r == 0)
		return destroy_leftover(ctx, id, err);
	if (r < 0)
		return r;
	if (cl_layer_in_use(&rec, buf, sizeof(buf), &why))
		return cl_error_set(err, EBUSY, "%s", why);
	return cl_layer_teardown(ctx, store, &rec, true, ret_rep, err);
}

typedef int (*teardown_fn)(const struct cl_ctx *ctx, const char *id,
			   struct cl_teardown_report *ret_rep, struct cl_error **err);

/* @fn under layer @id's lock */
static int locked(teardown_fn fn, const struct cl_ctx *ctx, const char *id,
		  struct cl_teardown_report *ret_rep, struct cl_error **err)
{
	_cleanup_close_ int lk = -1;
	int r;

	r = cl_layer_id_lock(ctx, id, &lk, err);
	if (r < 0)
		return r;
	r = fn(ctx, id, ret_rep, err);
	cl_layer_id_unlock(ctx, id, &lk);
	return r;
}

int cl_layer_destroy(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		     struct cl_error **err)
{
	return locked(cl_layer_destroy_nolock, ctx, id, ret_rep, err);
}

int cl_layer_finish_stale(const struct cl_ctx *ctx, const char *id, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	const char *why = NULL;
	char buf[CL_LAYER_WHY_MAX];
	int r;

	r = cl_record_read(ctx->run_dir, id, &rec, NULL);
	if (r < 0 || !cl_layer_is_creating(&rec))
		return 0;
	if (cl_proc_alive(rec.creator, rec.creator_start)) {
		(void)cl_layer_in_use(&rec, buf, sizeof(buf), &why);
		return cl_error_set(err, EBUSY, "%s", why ? why : "layer is being created");
	}
	r = cl_store_open(rec.store_root, 0, false, &store, err);
	if (r < 0)
		return r;
	/* a dead creation is erased; a dead unlock leaves the layer locked */
	r = cl_layer_teardown(ctx, store, &rec, false, NULL, err);
	return r < 0 ? cl_error_wrap(err, "undo the interrupted %s of '%s'",
				     strcmp(rec.state, "creating") ? "unlock" : "creation", id)
		     : 1;
}

/* the same directory, by its canonical path when both resolve (else as written) */
static bool same_path(const char *a, const char *b)
{
	_cleanup_free_ char *ra = realpath(a, NULL), *rb = realpath(b, NULL);

	return !strcmp(ra ? ra : a, rb ? rb : b);
}

/* why a stage hook's stop must leave @rec alone, or NULL when it is its container's */
static const char *not_ours(const struct cl_record *rec, const struct cl_layer_caller *who,
			    char *buf, size_t len)
{
	const char *why = NULL;

	if (!who)
		return NULL; /* the caller made it (a rollback) */
	if (!rec->owner || !strcmp(rec->owner, "cli"))
		return "made by 'cryptlayer create' (use 'cryptlayer destroy')";
	if (who->bundle && rec->bundle && !same_path(who->bundle, rec->bundle)) {
		snprintf(buf, len, "made by the container of bundle '%s', not '%s'", rec->bundle,
			 who->bundle);
		return buf;
	}
	/*
	 * our container has exited: a live recorded init, or creator, is someone else's. A
	 * mount another namespace holds is a stale copy, not a container: the teardown goes
	 * ahead and reports a key it cannot remove (gc finishes it)
	 */
	if (cl_layer_process_alive(rec, buf, len, &why))
		return why;
	return NULL;
}

static int stop_nolock(const struct cl_ctx *ctx, const char *id, const struct cl_layer_caller *who,
		       enum cl_stop_outcome *ret_outcome, const char **ret_why,
		       struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	static __thread char buf[CL_LAYER_WHY_MAX];
	struct cl_teardown_report rep = {};
	const char *why;
	int r;

	*ret_outcome = CL_STOP_NONE;
	r = cl_layer_find(ctx, id, &store, &rec, NULL, err);
	if (r <= 0)
		return r;
	why = not_ours(&rec, who, buf, sizeof(buf));
	if (why) {
		*ret_outcome = CL_STOP_NOT_OURS;
		if (ret_why)
			*ret_why = why;
		return 0;
	}
	r = cl_layer_teardown(ctx, store, &rec, false, &rep, err);
	*ret_outcome = rep.kept ? CL_STOP_LOCKED : CL_STOP_ERASED;
	return r;
}

int cl_layer_stop(const struct cl_ctx *ctx, const char *id, const struct cl_layer_caller *who,
		  enum cl_stop_outcome *ret_outcome, const char **ret_why, struct cl_error **err)
{
	enum cl_stop_outcome out = CL_STOP_NONE;
	_cleanup_close_ int lk = -1;
	int r;

	r = cl_layer_id_lock(ctx, id, &lk, err);
	if (r < 0)
		return r;
	r = stop_nolock(ctx, id, who, &out, ret_why, err);
	cl_layer_id_unlock(ctx, id, &lk);
	if (ret_outcome)
		*ret_outcome = out;
	return r;
}

static int lock_nolock(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		       struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	const char *why = NULL;
	char buf[CL_LAYER_WHY_MAX];
	int r;

	r = cl_layer_find(ctx, id, &store, &rec, NULL, err);
	if (r == 0)
		return cl_error_set(err, ENOENT, "no layer '%s'", id);
	if (r < 0)
		return r;
	if (!rec.keymode || strcmp(rec.keymode, "persistent"))
		return cl_error_set(err, EINVAL,
				    "layer '%s' is ephemeral: it cannot be locked "
				    "('destroy' erases it)",
				    id);
	if (cl_layer_in_use(&rec, buf, sizeof(buf), &why))
		return cl_error_set(err, EBUSY, "%s", why);
	return cl_layer_teardown(ctx, store, &rec, false, ret_rep, err);
}

int cl_layer_lock(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		  struct cl_error **err)
{
	return locked(lock_nolock, ctx, id, ret_rep, err);
}
