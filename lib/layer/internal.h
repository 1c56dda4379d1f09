/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the files of lib/layer/ only. */
#include <stdbool.h>

#include "lib/layer/layer.h"
#include "lib/store/store.h"

/**
 * cl_layer_id_lock() - take layer @id's lock, <root>/locks/<id> (DESIGN §4), waiting for
 * it. An invalid id takes no lock (*ret_fd = -1): the operation itself refuses it.
 * Return: 0 or -errno.
 */
int cl_layer_id_lock(const struct cl_ctx *ctx, const char *id, int *ret_fd, struct cl_error **err);

/**
 * cl_layer_id_unlock() - release the lock *@fd of @id (NULL-safe, -1 is no lock). When
 * nothing of the layer is left (no record, directory or key file), its lock file goes
 * too: the names of erased containers do not stay on the disk.
 */
void cl_layer_id_unlock(const struct cl_ctx *ctx, const char *id, int *fd);

/** cl_layer_gone() - whether nothing of layer @id is left: no record, directory, key file. */
bool cl_layer_gone(const struct cl_ctx *ctx, const char *id);

/** cl_layer_is_creating() - a record whose creation or unlock has not finished. */
bool cl_layer_is_creating(const struct cl_record *rec);

#define CL_LAYER_WHY_MAX 1024 /* a reason naming paths */

/**
 * cl_layer_process_alive() - the processes part of cl_layer_in_use(): a live creator
 * (creating/unlocking) or a hook layer's live container init (pid and start time).
 */
bool cl_layer_process_alive(const struct cl_record *rec, char *buf, size_t len,
			    const char **ret_why);

/**
 * cl_layer_in_use() - whether a live process still relies on the layer: its creator
 * (state creating/unlocking), its container's init (hook: pid and start time), or a
 * mount namespace holding its merged mount (cli, bundle, podman). Doubt counts as use.
 * @ret_why: a reason for the message (static or in @buf)
 */
bool cl_layer_in_use(const struct cl_record *rec, char *buf, size_t len, const char **ret_why);

/**
 * cl_layer_teardown() - run the teardown of a found layer: @erase (destroy, gc, a
 * creation that never finished) or what a stop does (lock a persistent one).
 * Return: 0 or -errno.
 */
int cl_layer_teardown(const struct cl_ctx *ctx, struct cl_store *store, const struct cl_record *rec,
		      bool erase, struct cl_teardown_report *ret_rep, struct cl_error **err);

/**
 * cl_layer_erase_orphan() - erase what is left of layer @id without record or
 * descriptor (directory, and the key file when @persistent), removing the key its
 * policy names, @key_hex (may be NULL). Return: 0 or -errno.
 */
int cl_layer_erase_orphan(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			  char *key_hex, bool persistent, struct cl_error **err);

/**
 * cl_layer_btrfs_facts() - for a btrfs-backend plan: whether @lower (canonical) is on
 * btrfs and a subvolume, and whether the snapshot directory (ctx->snapshot_dir or the
 * default beside @lower) exists and is on the same btrfs. Return: 0 or -ENOMEM.
 */
int cl_layer_btrfs_facts(const struct cl_ctx *ctx, const char *lower, const char *id,
			 struct cl_plan_input *in);

/** cl_layer_snapshot_noted() - whether the store notes a btrfs snapshot of layer @id. */
bool cl_layer_snapshot_noted(struct cl_store *store, const char *id);

/** cl_layer_only_snapshot() - the note is all that is left in the store of layer @id. */
bool cl_layer_only_snapshot(struct cl_store *store, const char *id);

/**
 * cl_layer_snapshot_orphan() - under @id's lock, when nothing else of layer @id is left
 * (no record, directory or key file): delete the snapshot its note snapshots/<id> names,
 * and the note. Return: 1 deleted, 0 nothing to do, -errno.
 */
int cl_layer_snapshot_orphan(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			     struct cl_error **err);

/** cl_layer_destroy_nolock() - cl_layer_destroy() under a lock the caller holds. */
int cl_layer_destroy_nolock(const struct cl_ctx *ctx, const char *id,
			    struct cl_teardown_report *ret_rep, struct cl_error **err);

/**
 * cl_layer_finish_stale() - under @id's lock: undo a creation (erase) or an unlock (lock)
 * whose process died. Return: 1 finished one, 0 nothing stale, -EBUSY while the
 * creator lives, or -errno.
 */
int cl_layer_finish_stale(const struct cl_ctx *ctx, const char *id, struct cl_error **err);

/** cl_layer_nest_info() - @info's nested and inner_keys, read from the store (DESIGN §6). */
void cl_layer_nest_info(struct cl_store *store, struct cl_layer_info *info);
