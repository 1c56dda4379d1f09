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
	char *base;      /* lower directory */
	char *backend;   /* "overlay" */
	char *keymode;   /* "ephemeral" | "persistent" */
	char *key_id;    /* 32 lowercase hex */
	char *store_root;
	char *layer_dir; /* absolute, host view */
	char *upper;
	char *merged;    /* mount target: merged dir (cli/bundle) or the container's root.path */
	char *owner;     /* "cli", "bundle", "hook" or "podman" */
	char *owner_dir; /* exists while the owner does: the bundle (prepare), podman's
			  * overlay-containers/<id>/userdata (precreate); gc reclaims after */
	char *state;     /* "creating", "running" */
	pid_t pid;       /* container init (hook mode) or 0 */
};

/** cl_record_write() - write @rec to <@run_dir>/<id>.json (creating @run_dir, 0700). */
int cl_record_write(const char *run_dir, const struct cl_record *rec, struct cl_error **err);

/**
 * cl_record_read() - read <@run_dir>/<@id>.json.
 * Return: 0, -ENOENT when there is no record, or -EINVAL when it is malformed.
 */
int cl_record_read(const char *run_dir, const char *id, struct cl_record *ret,
		   struct cl_error **err);

/** cl_record_remove() - unlink the record; ENOENT is success. */
int cl_record_remove(const char *run_dir, const char *id, struct cl_error **err);

/**
 * cl_record_list() - ids of every record in @run_dir, sorted.
 * Return: count (*ret_ids NULL-terminated), or -errno. A missing run dir is 0.
 */
int cl_record_list(const char *run_dir, char ***ret_ids, struct cl_error **err);

void cl_record_clear(struct cl_record *rec);
