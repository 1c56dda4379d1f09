/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "lib/plan/gc.h"

static bool owner_is(const struct cl_record *rec, const char *name)
{
	return rec->owner && !strcmp(rec->owner, name);
}

static enum cl_gc_verdict verdict(enum cl_gc_verdict v, const char *why, const char **ret_why)
{
	*ret_why = why;
	return v;
}

/*
 * unlocked by precreate, but no container holds the mount past the grace time: the start
 * failed before the runtime ran (podman runs no poststop then)
 */
static bool podman_not_running(const struct cl_gc_facts *f)
{
	return f->rec && owner_is(f->rec, "podman") && f->mounted && !f->in_use &&
	       f->age_s >= CL_GC_GRACE_SECONDS;
}

/*
 * a record says unlocked, but its container is gone (hook) or its mount is (cli, bundle,
 * podman): a stop or a 'lock' that was killed half-way, key still in the kernel
 */
static bool left_unlocked(const struct cl_gc_facts *f)
{
	return f->rec && (owner_is(f->rec, "hook") ? !f->pid_alive : !f->mounted);
}

enum cl_gc_verdict cl_plan_gc_persistent(const struct cl_gc_facts *f, const char **ret_why)
{
	/* recorded (unlocked) or described in the store (locked, or after a reboot) */
	const struct cl_record *d = f->rec ? f->rec : f->desc;

	if (f->pid_alive || f->in_use)
		return verdict(CL_GC_KEEP, "persistent layer in use", ret_why);
	if (d && (owner_is(d, "podman") || owner_is(d, "bundle")) && d->owner_dir &&
	    !f->owner_dir_exists) {
		/* after a reboot podman's runroot (a tmpfs) is empty until podman runs again */
		if (!f->owner_anchor_exists || f->owner_anchor_volatile)
			return verdict(CL_GC_KEEP,
				       "persistent layer whose owner is not found where a reboot "
				       "may have emptied it (kept; 'destroy' erases it)",
				       ret_why);
		return verdict(CL_GC_RECLAIM, "persistent layer whose owner was removed", ret_why);
	}
	if (left_unlocked(f))
		return verdict(CL_GC_LOCK,
			       "persistent layer left unlocked by a stop or lock that was cut "
			       "short",
			       ret_why);
	if (podman_not_running(f))
		return verdict(CL_GC_LOCK,
			       "persistent layer of a podman container that is not running",
			       ret_why);
	return verdict(CL_GC_KEEP, "persistent layer", ret_why);
}

/* a layer directory nobody recorded: a crash between mkdir and the record, or a reboot */
static enum cl_gc_verdict gc_orphan(const struct cl_gc_facts *f, const char **ret_why)
{
	/* the key file is written before the descriptor: a creation cut short by a reboot */
	if (f->persistent_in_store && f->desc_missing && !f->key_present && !f->mounted &&
	    f->age_s >= CL_GC_GRACE_SECONDS)
		return verdict(CL_GC_RECLAIM, "persistent layer whose creation never finished",
			       ret_why);
	if (f->persistent_in_store)
		return cl_plan_gc_persistent(f, ret_why);
	if (f->mounted)
		return verdict(CL_GC_KEEP, "mounted but not recorded", ret_why);
	/* a hook layer recorded elsewhere is mounted only in its container: leave it */
	if (f->key_present)
		return verdict(CL_GC_KEEP, "key present but not recorded", ret_why);
	if (f->age_s < CL_GC_GRACE_SECONDS)
		return verdict(CL_GC_KEEP, "being created", ret_why);
	return verdict(CL_GC_RECLAIM, "layer without a record", ret_why);
}

static enum cl_gc_verdict gc_podman(const struct cl_gc_facts *f, const char **ret_why)
{
	if (f->rec->owner_dir && !f->owner_dir_exists)
		return verdict(CL_GC_RECLAIM, "podman container removed", ret_why);
	if (f->in_use)
		return verdict(CL_GC_KEEP, "container running", ret_why);
	if (f->age_s < CL_GC_GRACE_SECONDS)
		return verdict(CL_GC_KEEP, "being created", ret_why);
	return verdict(CL_GC_RECLAIM, "podman container not running", ret_why);
}

enum cl_gc_verdict cl_plan_gc(const struct cl_gc_facts *f, const char **ret_why)
{
	const struct cl_record *rec = f->rec;

	if (!rec)
		return gc_orphan(f, ret_why);
	/* a creation or unlock is finished by its process, or undone once that is gone */
	if (rec->state && (!strcmp(rec->state, "creating") || !strcmp(rec->state, "unlocking")))
		return f->creator_alive ? verdict(CL_GC_KEEP, "being created", ret_why)
					: verdict(CL_GC_RECLAIM, "creation interrupted", ret_why);
	/* a live recorded process is never touched, whatever else looks wrong */
	if (f->pid_alive)
		return verdict(CL_GC_KEEP, "container running", ret_why);
	if (rec->keymode && !strcmp(rec->keymode, "persistent"))
		return cl_plan_gc_persistent(f, ret_why);
	if (!f->layer_exists && !f->mounted)
		return verdict(CL_GC_RECLAIM, "record without a layer", ret_why);
	if (owner_is(rec, "hook"))
		return verdict(CL_GC_RECLAIM, "container process gone", ret_why);
	if (owner_is(rec, "podman"))
		return gc_podman(f, ret_why);
	if (owner_is(rec, "bundle") && rec->owner_dir && !f->owner_dir_exists)
		return verdict(CL_GC_RECLAIM, "bundle removed", ret_why);
	if (owner_is(rec, "bundle"))
		return verdict(CL_GC_KEEP, "bundle exists", ret_why);
	return verdict(CL_GC_KEEP, "made by create", ret_why);
}
