/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/plan, btrfs backend (DESIGN §6b): the snapshot's place, its ops, and the refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "lib/core/cleanup.h"
#include "lib/plan/plan.h"
#include "tests/unit/plan-helpers.h"

#define STORE_ROOT "/var/lib/cryptlayer"
#define STORE_DIR STORE_ROOT "/store"

static struct cl_request req;
static struct cl_plan_input in;

static int setup(void **state)
{
	(void)state;
	req = (struct cl_request){
	    .enabled = true, .keymode = CL_KEY_EPHEMERAL, .backend = CL_BACKEND_BTRFS};
	in = (struct cl_plan_input){
	    .id = "c1",
	    .req = &req,
	    .lower = "/srv/images/base",
	    .lower_mode = S_IFDIR | 0755,
	    .store_root = STORE_ROOT,
	    .store_dir = STORE_DIR,
	    .run_dir = "/run/cryptlayer",
	    .owner = CL_OWNER_CLI,
	    .lower_on_btrfs = true,
	    .lower_subvolume = true,
	    .snapshot_dir_same_fs = true,
	};
	return 0;
}

static void test_create_default_dir(void **state)
{
	struct cl_plan p = {};

	(void)state;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	/* the snapshot starts once the layer is there, runs beside the key steps, and is
	 * waited for before the mount */
	assert_ops(&p, "begin-record,mkdir-layer,snapshot,add-key,set-policy,mkdir-upper,"
		       "snapshot-wait,mount-merged,write-record");
	assert_string_equal(p.rec.snapshot, "/srv/images/.cryptlayer-snapshots/c1");
	assert_string_equal(p.snapshot_dir, "/srv/images/.cryptlayer-snapshots");
	assert_true(p.snapshot_dir_default);
	assert_string_equal(p.rec.backend, "btrfs");
	assert_string_equal(p.rec.base, "/srv/images/base");
	cl_plan_clear(&p);
}

static void test_create_configured_dir(void **state)
{
	struct cl_plan p = {};

	(void)state;
	in.snapshot_dir = "/srv/snaps";
	in.snapshot_dir_exists = true;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_string_equal(p.rec.snapshot, "/srv/snaps/c1");
	assert_false(p.snapshot_dir_default);
	cl_plan_clear(&p);
}

/* a --snapshot-dir named like the default is ours: made when missing (teardown removes it) */
static void test_create_configured_dir_ours(void **state)
{
	struct cl_plan p = {};

	(void)state;
	in.snapshot_dir = "/srv/other/.cryptlayer-snapshots";
	in.snapshot_dir_exists = false;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_string_equal(p.rec.snapshot, "/srv/other/.cryptlayer-snapshots/c1");
	assert_true(p.snapshot_dir_default);
	cl_plan_clear(&p);
	assert_true(cl_plan_snapshot_dir_ours("/.cryptlayer-snapshots"));
	assert_false(cl_plan_snapshot_dir_ours("/srv/.cryptlayer-snapshots/x"));
	assert_false(cl_plan_snapshot_dir_ours("/srv/my.cryptlayer-snapshots"));
}

static void test_create_persistent_hook(void **state)
{
	struct cl_plan p = {};

	(void)state;
	req.keymode = CL_KEY_PERSISTENT;
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/c1/rootfs";
	in.pid = 42;
	in.populate = true;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(&p, "begin-record,mkdir-layer,snapshot,add-key,write-keyfile,set-policy,"
		       "mkdir-upper,write-desc,populate-upper,snapshot-wait,mount-container,"
		       "write-record");
	cl_plan_clear(&p);
}

static void test_snapshot_dir_of_top_level(void **state)
{
	_cleanup_free_ char *a = cl_plan_snapshot_dir("/base", NULL);
	_cleanup_free_ char *b = cl_plan_snapshot_dir("/a/b/c", NULL);
	_cleanup_free_ char *c = cl_plan_snapshot_dir("/a/b/c", "/x");

	(void)state;
	assert_string_equal(a, "/.cryptlayer-snapshots");
	assert_string_equal(b, "/a/b/.cryptlayer-snapshots");
	assert_string_equal(c, "/x");
}

static void test_refusals(void **state)
{
	(void)state;
	in.lower_on_btrfs = false;
	in.lower_subvolume = false;
	expect_refused(&in, EINVAL, "base '/srv/images/base' is not on btrfs");
	in.lower_on_btrfs = true;
	expect_refused(&in, EINVAL,
		       "is not a btrfs subvolume (make one with 'btrfs subvolume create");
	in.lower_subvolume = true;
	in.snapshot_dir_same_fs = false;
	expect_refused(&in, EXDEV,
		       "snapshot directory '/srv/images/.cryptlayer-snapshots' is not on "
		       "the btrfs filesystem of base '/srv/images/base'");
	in.snapshot_dir_same_fs = true;
	in.snapshot_dir = "/srv/nowhere";
	in.snapshot_dir_exists = false;
	expect_refused(&in, ENOENT, "snapshot directory '/srv/nowhere' does not exist");
	in.snapshot_dir = "/srv/images/base/snaps";
	in.snapshot_dir_exists = true;
	expect_refused(&in, EINVAL, "is inside base");
	/* the overlay backend never looks at btrfs facts */
	req.backend = CL_BACKEND_OVERLAY;
	in.lower_on_btrfs = false;
	{
		struct cl_plan p = {};

		assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
		assert_null(p.rec.snapshot);
		cl_plan_clear(&p);
	}
}

static void test_unlock_keeps_snapshot(void **state)
{
	struct cl_plan p = {};
	struct cl_error *err = NULL;

	(void)state;
	req.keymode = CL_KEY_PERSISTENT;
	assert_int_equal(cl_plan_unlock(&in, &p, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "has no recorded snapshot"));
	cl_error_free(&err);
	in.snapshot = "/srv/images/.cryptlayer-snapshots/c1";
	/* the base may have changed since: no snapshot is taken, the recorded one is the lower */
	in.lower_subvolume = false;
	assert_int_equal(cl_plan_unlock(&in, &p, NULL), 0);
	assert_ops(&p, "begin-record,load-key,mount-merged,write-record");
	assert_string_equal(p.rec.snapshot, in.snapshot);
	cl_plan_clear(&p);
}

static void test_teardown(void **state)
{
	struct cl_record rec = {.id = (char *)"c1",
				.layer_dir = (char *)STORE_DIR "/containers/c1",
				.keymode = (char *)"ephemeral",
				.owner = (char *)"hook",
				.snapshot = (char *)"/srv/images/.cryptlayer-snapshots/c1"};
	struct cl_plan p = {};

	(void)state;
	assert_int_equal(cl_plan_teardown(&rec, &p, NULL), 0);
	/* §4 order, then the snapshot; the record last, so a failed delete is retried */
	assert_ops(&p, "unmount-container,unmount,delete-files,erase-nest,remove-key,remove-layer,"
		       "delete-snapshot,remove-record");
	cl_plan_clear(&p);
	/* a locked persistent layer keeps its snapshot: it comes back over the same base */
	rec.keymode = (char *)"persistent";
	rec.state = (char *)"running";
	assert_int_equal(cl_plan_teardown(&rec, &p, NULL), 0);
	assert_ops(&p, "unmount-container,unmount,remove-key,remove-record");
	cl_plan_clear(&p);
	assert_int_equal(cl_plan_erase(&rec, &p, NULL), 0);
	assert_ops(&p, "unmount-container,unmount,delete-files,erase-nest,remove-key,erase-keyfile,"
		       "remove-layer,delete-snapshot,remove-record");
	cl_plan_clear(&p);
}

/* the kernel's btrfs encryption decides where the upper goes (untested on a real kernel) */
static void test_upper_decision(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(cl_plan_btrfs_upper(false, false, &why), CL_BTRFS_UPPER_STORE);
	assert_non_null(strstr(why, "no fscrypt"));
	assert_int_equal(cl_plan_btrfs_upper(false, true, &why), CL_BTRFS_UPPER_STORE);
	assert_non_null(strstr(why, "no fscrypt"));
	assert_int_equal(cl_plan_btrfs_upper(true, false, &why), CL_BTRFS_UPPER_STORE);
	assert_non_null(strstr(why, "no re-keyed subvolume upper yet"));
	assert_int_equal(cl_plan_btrfs_upper(true, true, &why), CL_BTRFS_UPPER_SUBVOLUME);
	assert_non_null(strstr(why, "untested"));
	/* this build: the store, whatever the kernel says */
	assert_int_equal(cl_plan_btrfs_upper(true, CL_PLAN_BTRFS_SUBVOLUME_UPPER_BUILT, &why),
			 CL_BTRFS_UPPER_STORE);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create_default_dir),
	    T(test_create_configured_dir),
	    T(test_create_configured_dir_ours),
	    T(test_create_persistent_hook),
	    T(test_snapshot_dir_of_top_level),
	    T(test_refusals),
	    T(test_unlock_keeps_snapshot),
	    T(test_teardown),
	    T(test_upper_decision),
	};

	return cmocka_run_group_tests_name("plan-btrfs", tests, NULL, NULL);
}
