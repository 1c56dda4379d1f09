/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/record/record.h"

/*
 * gc decisions (DESIGN §4), as pure data: the facts cryptlayer gc gathered about one
 * layer in, a verdict and its reason out. No syscalls here.
 */
#define CL_GC_GRACE_SECONDS 60 /* younger layers may be mid-creation: precreate → create */

enum cl_gc_verdict {
	CL_GC_KEEP,
	CL_GC_RECLAIM,
	CL_GC_LOCK, /* persistent, left unlocked by a start that failed: unmount, remove the key */
	_CL_GC_VERDICT_MAX,
};

struct cl_gc_facts {
	const struct cl_record *rec;  /* NULL: a layer directory without a record */
	bool layer_exists;	      /* containers/<id> is in the store */
	bool owner_dir_exists;	      /* rec->owner_dir exists (false when not recorded) */
	bool pid_alive;		      /* rec->pid > 0 and that process exists */
	bool in_use;		      /* a container's mount namespace holds the merged mount */
	bool mounted;		      /* the merged dir is mounted in the host namespace */
	bool persistent_in_store;     /* keys/<id> exists: a persistent layer (lives on reboot) */
	bool key_present;	      /* orphans: the key of its policy is in the kernel */
	long age_s;		      /* seconds since the record (or directory) was written */
	const struct cl_record *desc; /* orphans: a persistent layer's store descriptor, or NULL */
	bool desc_missing;  /* orphans: keys/<id> but no descriptor (creation cut short) */
	bool creator_alive; /* state creating/unlocking: its process still runs */
	/*
	 * Proof that an owner was removed needs its storage to be there: the directory that
	 * holds the owner's (podman: overlay-containers), on a filesystem that a reboot does
	 * not empty. Otherwise a missing owner directory proves nothing, and doubt keeps.
	 */
	bool owner_anchor_exists;
	bool owner_anchor_volatile; /* tmpfs or ramfs */
};

/**
 * cl_plan_gc() - whether gc reclaims the layer described by @f. Never reclaims a layer
 * whose recorded process is alive, one made by 'create' (no owner), a persistent one
 * (its owner-gone rule is cl_plan_gc_persistent()), or one younger than the grace time
 * unless its owner is provably gone.
 * @ret_why: a short reason for the report (static string)
 */
enum cl_gc_verdict cl_plan_gc(const struct cl_gc_facts *f, const char **ret_why);

/**
 * cl_plan_gc_persistent() - the rule for persistent layers: kept, unless the owner that
 * recorded an owner_dir (podman's userdata dir, a bundle) is provably gone (its anchor
 * exists on a filesystem that survives a reboot) and no container uses the layer;
 * 'create' layers (no owner_dir) are never collected.
 */
enum cl_gc_verdict cl_plan_gc_persistent(const struct cl_gc_facts *f, const char **ret_why);
