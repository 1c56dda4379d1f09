/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/core/err.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/plan/plan.h"
#include "lib/store/store.h"

/**
 * cl_exec_create() - run a creation plan. On failure every step already done is undone
 * in reverse (unmount, delete files, remove the key, remove the layer and record), and
 * the process is back in its own mount namespace.
 * Return: 0 (plan->rec.key_id filled in and recorded) or -errno.
 */
int cl_exec_create(struct cl_store *store, struct cl_plan *plan, const char *run_dir,
		   struct cl_error **err);

/*
 * Fills a new layer's upper directory (@upper_fd, O_RDONLY|O_DIRECTORY) for
 * CL_OP_POPULATE_UPPER, before its overlay is mounted. It runs with the key present;
 * on failure the layer is erased by the usual undo, so it need not clean up.
 */
typedef int (*cl_exec_populate_fn)(void *ctx, int upper_fd, struct cl_error **err);

/**
 * cl_exec_create_populated() - cl_exec_create() for a plan with CL_OP_POPULATE_UPPER,
 * which calls @fn(@ctx, upper fd). Return: 0 or -errno.
 */
int cl_exec_create_populated(struct cl_store *store, struct cl_plan *plan, const char *run_dir,
			     cl_exec_populate_fn fn, void *ctx, struct cl_error **err);

struct cl_teardown_report {
	bool had_key;
	enum cl_key_status key_status; /* after removal */
	bool unmounted;
	bool kept;	       /* persistent layer locked: files and key file kept */
	unsigned nest_keys;    /* keys found under the layer's nest (DESIGN §6), now ABSENT */
	unsigned nest_foreign; /* policies under the nest naming another layer's key: left */
};

/**
 * cl_exec_teardown() - run a teardown plan for @rec. Best effort: after a successful
 * unmount every later step runs even if one fails (files deleted, key removed), except
 * that the layer directory and the record stay after a failure, so that a retry or gc
 * finds what is left; the key file stays while the key is not ABSENT. The first
 * failure is returned.
 * Return: 0, or -errno (-EBUSY when a key is not ABSENT afterwards).
 */
int cl_exec_teardown(struct cl_store *store, const struct cl_record *rec,
		     const struct cl_plan *plan, const char *run_dir,
		     struct cl_teardown_report *ret_report, struct cl_error **err);

/**
 * cl_exec_mount_container() - move the overlay @mnt_fd onto @root_path in the mount
 * namespace of @pid and move the runtime's submounts (proc, dev, sys, ...) on top of it
 * (DESIGN §3). Always returns to the caller's namespace.
 * Return: 0 or -errno.
 */
int cl_exec_mount_container(int mnt_fd, pid_t pid, const char *root_path, struct cl_error **err);

/**
 * cl_exec_check_stub() - @root_path may hold only empty directories and empty regular
 * files (mount points the runtime made), never content: refuse symlinks, devices,
 * non-empty files; the one exception is podman's etc/mtab -> /proc/mounts link.
 * Return: 0 or -errno (EEXIST names the offending path).
 */
int cl_exec_check_stub(const char *root_path, struct cl_error **err);

/* ---- nests of nested containers (DESIGN §6), lib/exec/nest.c, nest-erase.c ---- */

/**
 * cl_exec_nest_make() - nest/<@id>/ on the store: store/ (plain) and graph/ under a v2
 * policy with @key (the layer's). Refuses (ENOTSUP) a store filesystem without fscrypt.
 * Return: 0 or -errno (EEXIST: a nest of that id exists).
 */
int cl_exec_nest_make(struct cl_store *store, const char *id, const struct cl_key_id *key,
		      struct cl_error **err);

/**
 * cl_exec_nest_mount() - bind nest/<@id>/store at var/lib/cryptlayer (nodev, nosuid) and
 * graph at var/lib/containers under @root: in the mount namespace of @pid (a hook's
 * root.path), or in this one when @pid is 0 (a merged dir). Targets are resolved inside
 * @root, made where missing, and refused (ELOOP) when a component is a symlink.
 * Return: 0 or -errno.
 */
int cl_exec_nest_mount(struct cl_store *store, const char *id, pid_t pid, const char *root,
		       struct cl_error **err);

/**
 * cl_exec_unmount_beneath() - detach every mount strictly below @dir in this namespace,
 * deepest first (from /proc/self/mountinfo). Return: the number unmounted, or -errno.
 */
int cl_exec_unmount_beneath(const char *dir, struct cl_error **err);

/**
 * cl_exec_nest_keys() - the fscrypt keys of nest/<@id>: the policies of its topmost
 * encrypted directories (never a record), found by a walk that follows no symlink, never
 * leaves the nest's filesystem or crosses a mount, at any depth with two fds open.
 * Return: the count (*ret: malloc'ed), 0 and NULL without a nest, or -errno.
 */
int cl_exec_nest_keys(struct cl_store *store, const char *id, struct cl_key_id **ret,
		      struct cl_error **err);

/**
 * cl_exec_nest_erase() - erase nest/<@id> (no nest: nothing to do): unmount what is
 * mounted beneath it (here and in the host namespace), find its keys
 * (cl_exec_nest_keys(), plus those an earlier cut-short erase listed in nest/<id>/keys),
 * leave out any that a record in @run_dir or another layer's policy in the store names
 * (a forged policy cannot reach outside the nest), list the others in nest/<id>/keys,
 * delete the nest's store and graph while the keys are present (DESIGN §2: no forced
 * sync), remove each key for all users and verify it ABSENT, then delete the nest. The
 * nest and its keys file stay when a key is not ABSENT, so a retry or gc finds them.
 * Return: 0 or -errno (-EBUSY: a key not ABSENT, or a mount that would not go).
 */
int cl_exec_nest_erase(struct cl_store *store, const char *id, const char *run_dir,
		       struct cl_teardown_report *rep, struct cl_error **err);
