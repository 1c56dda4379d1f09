/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/core/err.h"
#include "lib/exec/exec.h"
#include "lib/plan/gc.h"
#include "lib/plan/plan.h"
#include "lib/record/record.h"
#include "oci/oci.h"

/* What every layer operation needs to know about this invocation. */
struct cl_ctx {
	const char *root;
	const char *run_dir;
	const char *self; /* absolute path of the binary, for hooks we add */
	const char *machine_key;
};

struct cl_layer_args {
	const char *id;
	const struct cl_request *req;
	const char *lower; /* as given; resolved and checked here */
	enum cl_owner owner;
	const char *root_path; /* CL_OWNER_HOOK */
	pid_t pid;	       /* CL_OWNER_HOOK */
	const char *owner_dir; /* CL_OWNER_BUNDLE/PODMAN: gc reclaims the layer once it is gone */
	cl_exec_populate_fn populate; /* import: fills upper before the mount, or NULL */
	void *populate_ctx;
};

/**
 * cl_layer_create() - gather host facts (realpath and owner of the lower), open or make
 * the store, plan and run the creation; on failure nothing is left behind.
 * Return: 0 and *ret_rec (the record written), or -errno.
 */
int cl_layer_create(const struct cl_ctx *ctx, const struct cl_layer_args *a,
		    struct cl_record *ret_rec, struct cl_error **err);

/**
 * cl_layer_destroy() - erase layer @id (DESIGN §4 order). A layer that does not exist
 * is success. Unless @stopped (poststop: the container is gone), a layer in use by a
 * live process is refused with EBUSY and left untouched.
 * Return: 0 or -errno (-EBUSY also when a key is not ABSENT afterwards).
 */
int cl_layer_destroy(const struct cl_ctx *ctx, const char *id, bool stopped,
		     struct cl_teardown_report *ret_rep, struct cl_error **err);

/**
 * cl_layer_create_rewrite() - cl_layer_create_or_unlock(), then config.json @json
 * rewritten to use the layer: root.path → its merged dir, plus a poststop hook that
 * erases it, or locks a persistent one (our absolute path, the global options and --id;
 * runc runs it even when create fails). Shared by prepare (bundle) and precreate
 * (podman). On failure an ephemeral layer is gone and a persistent one locked.
 * Return: 0 and *ret_json (malloc'ed), or -errno.
 */
int cl_layer_create_rewrite(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			    const char *json, size_t len, char **ret_json, struct cl_error **err);

/* One layer gc looked at: kept or reclaimed, why, and the error if reclaiming failed. */
struct cl_gc_item {
	const char *id;
	enum cl_gc_verdict verdict;
	const char *why;
	const struct cl_error *error;
};

typedef void (*cl_gc_report_fn)(const struct cl_gc_item *item, void *data);

/**
 * cl_layer_gc() - reconcile records, mounts, keys and directories (DESIGN §4): every
 * record in ctx->run_dir and every layer directory in the store at ctx->root that has
 * no record; lib/plan/gc.c decides, reclaimed layers are erased in the teardown order.
 * Serialised by an flock on <root>/gc.lock. @fn (may be NULL) sees every layer.
 * Return: the number of layers that could not be reclaimed (>= 0), or -errno.
 */
int cl_layer_gc(const struct cl_ctx *ctx, cl_gc_report_fn fn, void *data, struct cl_error **err);

/**
 * cl_layer_stop() - what a container stop does to layer @id (poststop): erase an
 * ephemeral layer, lock a persistent one (unmount, remove the key, check ABSENT; files,
 * key file and descriptor stay). No layer, or an already locked one, is success.
 * Return: 0 or -errno (-EBUSY when a key is not ABSENT afterwards).
 */
int cl_layer_stop(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		  struct cl_error **err);

/**
 * cl_layer_lock() - lock persistent layer @id (cryptlayer lock): like cl_layer_stop(),
 * but refuses (EBUSY) a layer a running container uses, an unknown id (ENOENT) and an
 * ephemeral layer (EINVAL). Locking a locked layer is success.
 * Return: 0 or -errno.
 */
int cl_layer_lock(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		  struct cl_error **err);

/**
 * cl_layer_unlock() - unwrap layer @a->id's key from keys/<id> with the machine key
 * (repairing a damaged copy), add it and mount the layer as @a->owner asks. @a->lower
 * may be NULL (the recorded base); otherwise it must be the recorded base. @a->req may
 * be NULL. An already unlocked layer is success (*ret_rec is its record). On failure
 * the layer stays locked and nothing is deleted.
 * Return: 0 and *ret_rec, or -errno (ENOENT: no such persistent layer).
 */
int cl_layer_unlock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
		    struct cl_record *ret_rec, struct cl_error **err);

/**
 * cl_layer_create_or_unlock() - for a persistent request whose layer exists in the store,
 * cl_layer_unlock(); otherwise cl_layer_create() (hooks: a container started again).
 * Return: 0 and *ret_rec, or -errno.
 */
int cl_layer_create_or_unlock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			      struct cl_record *ret_rec, struct cl_error **err);

/**
 * cl_layer_reclaim_removed() - erase (with their key files) the locked persistent
 * layers in the store at ctx->root whose owner was removed (cl_plan_gc rules): 'podman
 * rm' runs no hook, so poststop calls this. Layers with a record are left to gc.
 * Return: 0 or -errno (the first failure; the pass stops there).
 */
int cl_layer_reclaim_removed(const struct cl_ctx *ctx, struct cl_error **err);

/**
 * cl_layer_reclaim_removed_podman() - erase the recorded ephemeral layers of podman
 * containers that were removed (their userdata directory is gone): a container whose
 * crun create failed gets no poststop from crun or podman, and 'podman rm' runs no hook,
 * so precreate calls this at every podman run and start. @except (the container being
 * started) is skipped. Return: 0 or -errno (the first failure; the pass stops there).
 */
int cl_layer_reclaim_removed_podman(const struct cl_ctx *ctx, const char *except,
				    struct cl_error **err);

/** cl_layer_pid_alive() - whether the container process @pid (> 0) still runs (not a zombie). */
bool cl_layer_pid_alive(pid_t pid);

/** cl_layer_new_id() - a fresh random id "cl-<16 hex>". Return: 0 or -errno. */
int cl_layer_new_id(char **ret);
