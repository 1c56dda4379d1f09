/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/core/err.h"

/*
 * A layer's runtime record, <run-dir>/<id>.json (DESIGN §4): key *identifier*, paths,
 * mode and state. Never key bytes. Replaced atomically (tmp + rename), not
 * fsynced: the run dir does not outlive a reboot.
 */
struct cl_record {
	char *id;
	char *base;    /* lower directory */
	char *backend; /* "overlay" | "btrfs" */
	char *keymode; /* "ephemeral" | "persistent" */
	char *key_id;  /* 32 lowercase hex */
	char *store_root;
	char *layer_dir; /* absolute, host view */
	char *upper;
	char *merged;	 /* mount target: merged dir (cli/bundle) or the container's root.path */
	char *owner;	 /* "cli", "bundle", "hook" or "podman" */
	char *owner_dir; /* exists while the owner does: the bundle (prepare), podman's
			  * overlay-containers/<id>/userdata (precreate); gc reclaims after */
	char *bundle;	 /* the OCI bundle of the container that made it (hook, bundle, podman):
			  * a stage hook tears down only the layer its own container made */
	char *state;	 /* "creating" or "unlocking" (the creator may have died: the record
			  * names everything to undo), "running", "locked" (descriptor) */
	char *snapshot;	 /* btrfs backend: the read-only snapshot of base that is the lower */
	pid_t pid;	 /* container init (hook mode) or 0 */
	unsigned long long pid_start; /* its start time (/proc/PID/stat field 22), or 0 */
	pid_t creator; /* while creating/unlocking: the cryptlayer process doing it */
	unsigned long long creator_start;
};

/** cl_record_write() - write @rec to <@run_dir>/<id>.json (creating @run_dir, 0700). */
int cl_record_write(const char *run_dir, const struct cl_record *rec, struct cl_error **err);

/**
 * cl_record_read() - read <@run_dir>/<@id>.json.
 * Return: 0, -ENOENT when there is no record, or -EINVAL when it is malformed.
 */
int cl_record_read(const char *run_dir, const char *id, struct cl_record *ret,
		   struct cl_error **err);

/** cl_record_remove() - unlink the record and a left-over "<id>.json.tmp"; ENOENT is success. */
int cl_record_remove(const char *run_dir, const char *id, struct cl_error **err);

/**
 * cl_record_list() - ids of every record in @run_dir, sorted.
 * Return: count (*ret_ids NULL-terminated), or -errno. A missing run dir is 0.
 */
int cl_record_list(const char *run_dir, char ***ret_ids, struct cl_error **err);

void cl_record_clear(struct cl_record *rec);

/*
 * A persistent layer's descriptor, containers/<id>/layer.json on the store filesystem
 * (outside the encrypted crypt/): records in the run dir vanish at reboot, the
 * descriptor does not (DESIGN §4). Fields id, base, backend, keymode, key_id, owner, owner_dir,
 * snapshot; never key bytes.
 */

/** cl_record_desc_write() - write @rec's descriptor under the store directory @store_fd. */
int cl_record_desc_write(int store_fd, const struct cl_record *rec, struct cl_error **err);

/**
 * cl_record_desc_read() - read layer @id's descriptor and complete it into a record of
 * the locked layer: layer_dir, upper, merged (cli/bundle layers) under @store_dir,
 * @store_root, state "locked", pid 0.
 * Return: 0, -ENOENT without a descriptor, -EINVAL when it is malformed.
 */
int cl_record_desc_read(int store_fd, const char *store_root, const char *store_dir, const char *id,
			struct cl_record *ret, struct cl_error **err);

/**
 * cl_record_desc_list() - ids of every layer with a descriptor, sorted.
 * Return: count (*ret_ids NULL-terminated), or -errno.
 */
int cl_record_desc_list(int store_fd, char ***ret_ids, struct cl_error **err);
