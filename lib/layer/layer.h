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

/*
 * The layer lifecycle (create, unlock, stop, lock, destroy, gc), the service that the
 * stage hooks (hooks/) and the CLI (cmd/) share. Every operation on a layer id runs
 * under that id's lock, and every decision to tear a layer down is taken under it, on
 * facts read under it. Nothing here prints: outcomes go back as errors and reports.
 */

#define CL_LAYER_MAX_BASE_DIRS 32

/* What every layer operation needs to know about this invocation. */
struct cl_ctx {
	const char *root;
	const char *run_dir;
	const char *self; /* absolute path of the binary, for hooks we add */
	const char *machine_key;
	/*
	 * the administrator's allowlist (--base-dir): when any is given, or when
	 * base_dir_required, a named base must resolve to a directory at or below one of them
	 */
	const char *const *base_dirs;
	size_t n_base_dirs;
	bool base_dir_required;
	/* btrfs backend: where snapshots go (--snapshot-dir), NULL: beside the base */
	const char *snapshot_dir;
	/* cl_sandbox_enter() flags, for hooks/ and cmd/; the poststop entry we add keeps them */
	unsigned sandbox_flags;
};

struct cl_layer_args {
	const char *id;
	const struct cl_request *req;
	const char *lower;  /* as given; resolved and checked here */
	bool lower_is_root; /* @lower is the container's root.path, not a named base */
	enum cl_owner owner;
	const char *root_path; /* CL_OWNER_HOOK */
	pid_t pid;	       /* CL_OWNER_HOOK */
	const char *bundle;    /* the container's OCI bundle (hook, bundle, podman), or NULL */
	const char *owner_dir; /* CL_OWNER_BUNDLE/PODMAN: gc reclaims the layer once it is gone */
	cl_exec_populate_fn populate; /* import: fills upper before the mount, or NULL */
	void *populate_ctx;
	const struct cl_oci_config *config; /* the container's config (nested checks), or NULL */
};

/*
 * Who asks a stage hook's stop: a hook tears down only the layer its own container made
 * (its record names this bundle, and its recorded init is no longer running).
 */
struct cl_layer_caller {
	const char *bundle; /* the OCI state's bundle, or NULL when the state had none */
};

/**
 * cl_layer_store_ready() - re-attach the store of @ctx now (loop device, mount), or with
 * @create make it (mkfs), so that the command, once sandboxed (no exec, no mount(2)),
 * finds it. Best effort: whatever fails here fails again, reported, in the command.
 */
void cl_layer_store_ready(const struct cl_ctx *ctx, bool create);

/**
 * cl_layer_create() - gather host facts (realpath and owner of the lower), open or make
 * the store, plan and run the creation. An id in use is refused (EEXIST); a creation of
 * the same id that a killed process left behind is undone first. On failure nothing is
 * left behind, or (a key that would not go ABSENT) a record that gc finishes.
 * Return: 0 and *ret_rec (the record written), or -errno.
 */
int cl_layer_create(const struct cl_ctx *ctx, const struct cl_layer_args *a,
		    struct cl_record *ret_rec, struct cl_error **err);

/**
 * cl_layer_destroy() - erase layer @id (DESIGN §4 order). A layer that does not exist
 * is success. A layer in use (a running container, a live creator, a mount another
 * namespace holds) is refused with EBUSY and left untouched.
 * Return: 0 or -errno (-EBUSY also when a key is not ABSENT afterwards).
 */
int cl_layer_destroy(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		     struct cl_error **err);

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

/* One layer gc (or a reclaim pass) looked at: kept or reclaimed, why, and the error. */
struct cl_gc_item {
	const char *id;
	enum cl_gc_verdict verdict;
	const char *why;
	const struct cl_error *error;
};

typedef void (*cl_gc_report_fn)(const struct cl_gc_item *item, void *data);

/**
 * cl_layer_gc() - reconcile records, mounts, keys and directories (DESIGN §4): every
 * record in ctx->run_dir, every layer directory and key file in the store at ctx->root,
 * and the lock files of layers that are gone. lib/plan/gc.c decides, under each layer's
 * lock; reclaimed layers are erased in the teardown order. One gc at a time per root.
 * @fn (may be NULL) sees every layer.
 * Return: the number of layers that could not be reclaimed (>= 0), or -errno.
 */
int cl_layer_gc(const struct cl_ctx *ctx, cl_gc_report_fn fn, void *data, struct cl_error **err);

/* what a stop did */
enum cl_stop_outcome {
	CL_STOP_NONE,	  /* no such layer */
	CL_STOP_ERASED,	  /* ephemeral (or never finished): erased, key ABSENT */
	CL_STOP_LOCKED,	  /* persistent: unmounted, key ABSENT, files and key file kept */
	CL_STOP_NOT_OURS, /* another container's or a 'create' layer: left alone */
	_CL_STOP_MAX,
};

/**
 * cl_layer_stop() - what a container stop does to layer @id (poststop): erase an
 * ephemeral layer, lock a persistent one. Only a layer that @who's container made is
 * touched: a layer made by 'create', by another bundle, or whose recorded init still
 * runs (another container under the same id) is left alone (*ret_outcome NOT_OURS,
 * *ret_why says why). No layer, or an already locked one, is success.
 * Return: 0 or -errno (-EBUSY when a key is not ABSENT afterwards).
 */
int cl_layer_stop(const struct cl_ctx *ctx, const char *id, const struct cl_layer_caller *who,
		  enum cl_stop_outcome *ret_outcome, const char **ret_why, struct cl_error **err);

/**
 * cl_layer_lock() - lock persistent layer @id (cryptlayer lock): unmount, remove the key,
 * check ABSENT; refuses (EBUSY) a layer in use, an unknown id (ENOENT) and an ephemeral
 * layer (EINVAL). Locking a locked layer is success.
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
 * layers in the store at ctx->root whose owner was provably removed (cl_plan_gc rules):
 * 'podman rm' runs no hook, so poststop calls this. Layers with a record are left to gc.
 * @fn (may be NULL) sees each layer erased or failing.
 * Return: 0 or -errno (the first failure; the pass stops there).
 */
int cl_layer_reclaim_removed(const struct cl_ctx *ctx, cl_gc_report_fn fn, void *data,
			     struct cl_error **err);

/**
 * cl_layer_reclaim_podman() - the recorded layers of podman containers that are not
 * running: erase the ephemeral ones whose container was removed, and lock the
 * persistent ones left unlocked by a start that failed before the runtime ran (no
 * namespace holds the mount, past the grace time). A container whose 'runc create'
 * failed gets no poststop from podman, and 'podman rm' runs no hook, so precreate calls
 * this at every podman run and start. @except (the container being started) is skipped.
 * Return: 0 or -errno (the first failure; the pass stops there).
 */
int cl_layer_reclaim_podman(const struct cl_ctx *ctx, const char *except, cl_gc_report_fn fn,
			    void *data, struct cl_error **err);

/* A layer as 'status' shows it: its record (or descriptor) and the kernel's view. */
struct cl_layer_info {
	struct cl_record rec;
	const char *key_status; /* cl_fscrypt_key_status_name(), or NULL when unknown */
	bool mounted;
	bool nested;	     /* it has a nest in the store (DESIGN §6) */
	unsigned inner_keys; /* keys under the nest, other than its own, present now */
};

/**
 * cl_layer_nest_facts() - for a nested request: whether this process runs in a user
 * namespace other than the initial one (the kernel's fscrypt and mounts need the host's
 * CAP_SYS_ADMIN), or @cfg (may be NULL) asks for one or lacks CAP_SYS_ADMIN.
 */
void cl_layer_nest_facts(const struct cl_oci_config *cfg, bool *ret_userns, bool *ret_no_admin);

/**
 * cl_layer_find() - layer @id: its run-dir record, else its store descriptor (a locked
 * persistent layer, or one whose record vanished at reboot), with the store it is in.
 * @ret_locked: true when it came from the descriptor.
 * Return: 1 found, 0 no such layer, or -errno (EINVAL: not a valid id).
 */
int cl_layer_find(const struct cl_ctx *ctx, const char *id, struct cl_store **ret_store,
		  struct cl_record *ret, bool *ret_locked, struct cl_error **err);

/** cl_layer_status() - @id's info. Return: 0, -ENOENT (no such layer) or -errno. */
int cl_layer_status(const struct cl_ctx *ctx, const char *id, struct cl_layer_info *ret,
		    struct cl_error **err);

/**
 * cl_layer_list() - the info of every layer: recorded, described in the store, or left
 * half-created, sorted by id.
 * Return: the count (*ret: free with cl_layer_info_free), or -errno.
 */
int cl_layer_list(const struct cl_ctx *ctx, struct cl_layer_info **ret, struct cl_error **err);

void cl_layer_info_free(struct cl_layer_info *v, int n);

/**
 * cl_layer_btrfs_upper() - where this build and kernel put a btrfs layer's upper
 * (DESIGN §6b), from the probe result @kernel_fscrypt (cl_btrfs_fscrypt_probe_host()):
 * *ret_subvolume true for a re-keyed btrfs subvolume, false for the fscrypt store.
 * Return: the reason (static string).
 */
const char *cl_layer_btrfs_upper(int kernel_fscrypt, bool *ret_subvolume);

/** cl_layer_new_id() - a fresh random id "cl-<16 hex>". Return: 0 or -errno. */
int cl_layer_new_id(char **ret);
