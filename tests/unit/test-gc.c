/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/plan/gc.c: which layers gc reclaims (DESIGN §4). Pure: facts in, verdict out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/plan/gc.h"

#define OLD (CL_GC_GRACE_SECONDS + 1)

static void expect(const struct cl_gc_facts *f, enum cl_gc_verdict want, const char *why)
{
	const char *got = NULL;

	if (cl_plan_gc(f, &got) != want)
		fail_msg("verdict %d (%s), want %d (%s)", cl_plan_gc(f, &got), got, want, why);
	assert_non_null(got);
	if (!strstr(got, why))
		fail_msg("reason '%s' lacks '%s'", got, why);
}

static void test_hook(void **state)
{
	struct cl_record rec = {.owner = "hook", .keymode = "ephemeral", .pid = 42};
	struct cl_gc_facts f = {.rec = &rec, .layer_exists = true, .pid_alive = true};

	(void)state;
	expect(&f, CL_GC_KEEP, "running");
	f.layer_exists = false; /* a live process is never touched, whatever else */
	expect(&f, CL_GC_KEEP, "running");
	f.pid_alive = false;
	expect(&f, CL_GC_RECLAIM, "record without a layer");
	f.layer_exists = true;
	expect(&f, CL_GC_RECLAIM, "process gone");
}

static void test_podman(void **state)
{
	struct cl_record rec = {.owner = "podman",
				.keymode = "ephemeral",
				.owner_dir =
				    "/run/containers/storage/overlay-containers/x/userdata"};
	struct cl_gc_facts f = {.rec = &rec,
				.layer_exists = true,
				.mounted = true,
				.owner_dir_exists = true,
				.in_use = true,
				.age_s = OLD};

	(void)state;
	expect(&f, CL_GC_KEEP, "running");
	f.in_use = false;
	expect(&f, CL_GC_RECLAIM, "not running");
	f.age_s = 0; /* between precreate and 'runc create' */
	expect(&f, CL_GC_KEEP, "being created");
	f.owner_dir_exists = false; /* podman rm: gone whatever the age */
	expect(&f, CL_GC_RECLAIM, "removed");
	f.in_use = true;
	expect(&f, CL_GC_RECLAIM, "removed");
	rec.owner_dir = NULL; /* id from cgroupsPath only: no userdata dir known */
	expect(&f, CL_GC_KEEP, "running");
}

static void test_cli_bundle_persistent(void **state)
{
	struct cl_record rec = {.owner = "cli", .keymode = "ephemeral"};
	struct cl_gc_facts f = {.rec = &rec, .layer_exists = true, .age_s = OLD};

	(void)state;
	expect(&f, CL_GC_KEEP, "create");
	rec.owner = NULL;
	expect(&f, CL_GC_KEEP, "create");
	rec.owner = "bundle";
	rec.owner_dir = "/srv/bundle";
	f.owner_dir_exists = true;
	expect(&f, CL_GC_KEEP, "bundle exists");
	f.owner_dir_exists = false;
	expect(&f, CL_GC_RECLAIM, "bundle removed");
	rec.keymode = "persistent";
	f.mounted = true; /* unlocked: its merged dir is mounted */
	/* a missing owner proves nothing where a reboot empties its storage: doubt keeps */
	expect(&f, CL_GC_KEEP, "reboot");
	f.owner_anchor_exists = true;
	f.owner_anchor_volatile = true;
	expect(&f, CL_GC_KEEP, "reboot");
	f.owner_anchor_volatile = false;
	expect(&f, CL_GC_RECLAIM, "persistent layer whose owner was removed");
	rec.owner = "podman";
	expect(&f, CL_GC_RECLAIM, "persistent layer whose owner was removed");
	f.in_use = true;
	expect(&f, CL_GC_KEEP, "persistent layer in use");
	f.in_use = false;
	f.owner_dir_exists = true;
	/* mounted, held by no container, past the grace time: a podman start that failed */
	expect(&f, CL_GC_LOCK, "not running");
	rec.owner = "bundle"; /* 'prepare', then 'runc run' whenever the user likes */
	expect(&f, CL_GC_KEEP, "persistent");
	f.owner_dir_exists = false;
	rec.owner_dir = NULL;
	expect(&f, CL_GC_KEEP, "persistent");
	rec.owner = "cli";
	rec.keymode = "ephemeral";
	f.layer_exists = false;
	f.mounted = false;
	expect(&f, CL_GC_RECLAIM, "record without a layer");
	f.mounted = true; /* mounted: the directory is there after all */
	expect(&f, CL_GC_KEEP, "create");
}

static void test_orphan(void **state)
{
	struct cl_gc_facts f = {.layer_exists = true, .age_s = OLD};

	(void)state;
	expect(&f, CL_GC_RECLAIM, "without a record");
	f.key_present = true;
	expect(&f, CL_GC_KEEP, "key present");
	f.key_present = false;
	f.mounted = true;
	expect(&f, CL_GC_KEEP, "mounted");
	f.mounted = false;
	f.age_s = 3;
	expect(&f, CL_GC_KEEP, "being created");
	f.age_s = OLD;
	f.persistent_in_store = true;
	expect(&f, CL_GC_KEEP, "persistent");
	/* keys/<id> without layer.json: a persistent creation cut short (e.g. by a reboot) */
	f.desc_missing = true;
	expect(&f, CL_GC_RECLAIM, "never finished");
	f.key_present = true;
	expect(&f, CL_GC_KEEP, "persistent");
	f.key_present = false;
	f.age_s = 3;
	expect(&f, CL_GC_KEEP, "persistent");
	f.age_s = OLD;
	f.desc_missing = false;
	{
		/* locked (no record): its store descriptor names the owner */
		struct cl_record d = {.owner = "podman",
				      .keymode = "persistent",
				      .owner_dir = "/run/containers/x/userdata"};

		f.desc = &d;
		f.owner_dir_exists = true;
		expect(&f, CL_GC_KEEP, "persistent");
		f.owner_dir_exists = false;
		expect(&f, CL_GC_KEEP, "reboot"); /* after a reboot, runroot is empty */
		f.owner_anchor_exists = true;
		expect(&f, CL_GC_RECLAIM, "owner was removed");
		d.owner = "cli";
		expect(&f, CL_GC_KEEP, "persistent");
		f.desc = NULL;
	}
}

/* a creation or unlock is its process's until that dies; then gc undoes it */
static void test_creating(void **state)
{
	struct cl_record rec = {.owner = "hook", .keymode = "ephemeral", .state = "creating"};
	struct cl_gc_facts f = {.rec = &rec, .layer_exists = true, .creator_alive = true};

	(void)state;
	expect(&f, CL_GC_KEEP, "being created");
	f.creator_alive = false;
	f.pid_alive = true; /* the container's init waits for a hook that was killed */
	expect(&f, CL_GC_RECLAIM, "interrupted");
	rec.keymode = "persistent";
	rec.state = "unlocking";
	expect(&f, CL_GC_RECLAIM, "interrupted");
	f.creator_alive = true;
	expect(&f, CL_GC_KEEP, "being created");
}

/* a persistent podman layer unlocked by a start that failed before the runtime ran */
static void test_podman_persistent_not_running(void **state)
{
	struct cl_record rec = {.owner = "podman",
				.keymode = "persistent",
				.state = "running",
				.owner_dir =
				    "/var/lib/containers/storage/overlay-containers/x/userdata"};
	struct cl_gc_facts f = {.rec = &rec,
				.layer_exists = true,
				.persistent_in_store = true,
				.owner_dir_exists = true,
				.mounted = true,
				.in_use = true,
				.age_s = OLD};

	(void)state;
	expect(&f, CL_GC_KEEP, "in use");
	f.in_use = false;
	assert_int_equal(cl_plan_gc(&f, &(const char *){NULL}), CL_GC_LOCK);
	f.age_s = 3; /* between precreate and 'runc create' */
	expect(&f, CL_GC_KEEP, "persistent");
	f.age_s = OLD;
	f.mounted = false; /* recorded but unmounted: a stop or lock was cut short */
	expect(&f, CL_GC_LOCK, "cut short");
	rec.owner = "bundle"; /* 'prepare' then 'runc run' may come much later */
	f.mounted = true;
	expect(&f, CL_GC_KEEP, "persistent");
}

/* a killed lock, or a hook container that died without its poststop: key left present */
static void test_persistent_left_unlocked(void **state)
{
	struct cl_record rec = {.owner = "cli", .keymode = "persistent", .state = "running"};
	struct cl_gc_facts f = {.rec = &rec, .layer_exists = true, .persistent_in_store = true};

	(void)state;
	expect(&f, CL_GC_LOCK, "cut short"); /* not mounted */
	f.mounted = true;
	expect(&f, CL_GC_KEEP, "persistent layer");
	f.in_use = true;
	expect(&f, CL_GC_KEEP, "in use");
	rec.owner = "hook";
	rec.pid = 42;
	f.mounted = f.in_use = false; /* a hook layer is mounted only in its container */
	f.pid_alive = true;
	expect(&f, CL_GC_KEEP, "running");
	f.pid_alive = false;
	expect(&f, CL_GC_LOCK, "cut short");
	/* locked (a descriptor, no record): nothing to lock */
	f.desc = &rec;
	f.rec = NULL;
	expect(&f, CL_GC_KEEP, "persistent layer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hook),
	    cmocka_unit_test(test_podman),
	    cmocka_unit_test(test_cli_bundle_persistent),
	    cmocka_unit_test(test_orphan),
	    cmocka_unit_test(test_creating),
	    cmocka_unit_test(test_podman_persistent_not_running),
	    cmocka_unit_test(test_persistent_left_unlocked),
	};

	return cmocka_run_group_tests_name("plan-gc", tests, NULL, NULL);
}
