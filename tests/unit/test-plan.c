/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/plan: (request, host facts) → ordered ops. Pure, so this is the bulk of the tests. */
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

#include "lib/plan/plan.h"
#include "tests/unit/plan-helpers.h"

#define STORE_ROOT "/var/lib/cryptlayer"
#define STORE_DIR STORE_ROOT "/store"
#define RUN_DIR "/run/cryptlayer"

static struct cl_request req;
static struct cl_plan_input in;

static int setup(void **state)
{
	(void)state;
	req = (struct cl_request){
	    .enabled = true, .keymode = CL_KEY_EPHEMERAL, .backend = CL_BACKEND_OVERLAY};
	in = (struct cl_plan_input){
	    .id = "c1",
	    .req = &req,
	    .lower = "/srv/base",
	    .lower_mode = S_IFDIR | 0755,
	    .lower_uid = 1000,
	    .lower_gid = 1001,
	    .store_root = STORE_ROOT,
	    .store_dir = STORE_DIR,
	    .run_dir = RUN_DIR,
	    .owner = CL_OWNER_CLI,
	};
	return 0;
}

/* ---- create ---------------------------------------------------------------------------- */

static void test_create_cli(void **state)
{
	struct cl_plan p = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_plan_create(&in, &p, &err), 0);
	assert_null(err);
	assert_ops(
	    &p,
	    "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,mount-merged,write-record");
	assert_int_equal(p.owner, CL_OWNER_CLI);
	assert_int_equal(p.pid, 0);
	assert_string_equal(p.layer_rel, "containers/c1");
	assert_string_equal(p.crypt_rel, "containers/c1/crypt");
	assert_string_equal(p.upper_rel, "containers/c1/crypt/upper");
	assert_string_equal(p.work_rel, "containers/c1/crypt/work");
	assert_string_equal(p.merged_rel, "containers/c1/merged");
	assert_string_equal(p.rec.id, "c1");
	assert_string_equal(p.rec.base, "/srv/base");
	assert_string_equal(p.rec.backend, "overlay");
	assert_string_equal(p.rec.keymode, "ephemeral");
	assert_string_equal(p.rec.store_root, STORE_ROOT);
	assert_string_equal(p.rec.layer_dir, STORE_DIR "/containers/c1");
	assert_string_equal(p.rec.upper, STORE_DIR "/containers/c1/crypt/upper");
	assert_string_equal(p.rec.merged, STORE_DIR "/containers/c1/merged");
	assert_string_equal(p.rec.owner, "cli");
	assert_string_equal(p.rec.state, "running");
	assert_null(p.rec.key_id); /* known only once the kernel computed it */
	assert_int_equal(p.rec.pid, 0);
	cl_plan_clear(&p);
	assert_int_equal(p.n_ops, 0);
	assert_null(p.rec.id);
	cl_plan_clear(&p); /* twice is fine */
}

static void test_create_bundle(void **state)
{
	struct cl_plan p = {};

	(void)state;
	in.owner = CL_OWNER_BUNDLE;
	in.pid = 99; /* ignored outside hook mode */
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(
	    &p,
	    "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,mount-merged,write-record");
	assert_string_equal(p.rec.owner, "bundle");
	assert_string_equal(p.rec.merged, STORE_DIR "/containers/c1/merged");
	assert_int_equal(p.pid, 0);
	assert_int_equal(p.rec.pid, 0);
	cl_plan_clear(&p);
}

/* import: the upper is filled before the overlay is mounted, in every owner mode */
static void test_create_populate(void **state)
{
	struct cl_plan p = {};

	(void)state;
	in.populate = true;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(
	    &p,
	    "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,populate-upper,mount-merged,"
	    "write-record");
	cl_plan_clear(&p);
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/c/rootfs";
	in.pid = 42;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(&p, "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,populate-upper,"
		       "mount-container,write-record");
	cl_plan_clear(&p);
}

static void test_create_hook(void **state)
{
	struct cl_plan p = {};

	(void)state;
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/bundles/demo/rootfs";
	in.pid = 23253;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(
	    &p,
	    "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,mount-container,write-record");
	assert_int_equal(p.owner, CL_OWNER_HOOK);
	assert_int_equal(p.pid, 23253);
	assert_int_equal(p.rec.pid, 23253);
	assert_string_equal(p.rec.owner, "hook");
	/* the mount target is the container's root.path; the upper still lives in the store */
	assert_string_equal(p.rec.merged, "/run/bundles/demo/rootfs");
	assert_string_equal(p.rec.upper, STORE_DIR "/containers/c1/crypt/upper");
	cl_plan_clear(&p);
}

static void test_create_hook_needs_pid_and_root(void **state)
{
	(void)state;
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/bundles/demo/rootfs";
	in.pid = 0;
	expect_refused(&in, EINVAL, "hook layer needs the container's root.path and pid");
	in.pid = -1;
	expect_refused(&in, EINVAL, "needs the container's root.path and pid");
	in.pid = 1234;
	in.root_path = NULL;
	expect_refused(&in, EINVAL, "needs the container's root.path and pid");
}

static void test_create_upper_owner(void **state)
{
	struct cl_plan p = {};

	(void)state;
	/* mode bits (incl. sticky/setgid) and owner come from the lower root; not the type */
	in.lower_mode = S_IFDIR | 01777;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_int_equal(p.upper_mode, 01777);
	assert_int_equal(p.upper_uid, 1000);
	assert_int_equal(p.upper_gid, 1001);
	cl_plan_clear(&p);
	in.lower_mode = S_IFDIR | 02750;
	in.lower_uid = 0;
	in.lower_gid = 0;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_int_equal(p.upper_mode, 02750);
	assert_int_equal(p.upper_uid, 0);
	assert_int_equal(p.upper_gid, 0);
	cl_plan_clear(&p);
}

static void test_create_volatile_ephemeral(void **state)
{
	struct cl_plan p = {};

	(void)state;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_true(p.ephemeral);
	assert_true(p.volatile_);
	cl_plan_clear(&p);
	/* persistent layers must survive: never volatile (DESIGN §3) */
	req.keymode = CL_KEY_PERSISTENT;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_false(p.ephemeral);
	assert_false(p.volatile_);
	cl_plan_clear(&p);
	assert_int_equal(cl_plan_unlock(&in, &p, NULL), 0);
	assert_false(p.volatile_);
	cl_plan_clear(&p);
}

static void test_create_persistent(void **state)
{
	struct cl_plan p = {};

	(void)state;
	req.keymode = CL_KEY_PERSISTENT;
	in.machine_key = "keyring:mk";
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	/* the key file is durable before the policy is set and anything is written */
	assert_ops(
	    &p, "begin-record,mkdir-layer,add-key,write-keyfile,set-policy,mkdir-upper,write-desc,"
		"mount-merged,write-record");
	assert_string_equal(p.keys_rel, "keys");
	assert_string_equal(p.machine_key, "keyring:mk");
	assert_string_equal(p.rec.keymode, "persistent");
	cl_plan_clear(&p);
	in.machine_key = NULL;
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/runc/c1/rootfs";
	in.pid = 99;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(
	    &p, "begin-record,mkdir-layer,add-key,write-keyfile,set-policy,mkdir-upper,write-desc,"
		"mount-container,write-record");
	assert_null(p.machine_key);
	cl_plan_clear(&p);
}

static void test_unlock(void **state)
{
	struct cl_plan p = {.n_ops = 77};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_plan_unlock(&in, &p, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "is not persistent"));
	cl_error_free(&err);
	assert_int_equal(p.n_ops, 77);
	req.keymode = CL_KEY_PERSISTENT;
	assert_int_equal(cl_plan_unlock(&in, &p, &err), 0);
	assert_ops(&p, "begin-record,load-key,mount-merged,write-record");
	assert_string_equal(p.rec.merged, STORE_DIR "/containers/c1/merged");
	cl_plan_clear(&p);
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/runc/c1/rootfs";
	in.pid = 99;
	assert_int_equal(cl_plan_unlock(&in, &p, &err), 0);
	assert_ops(&p, "begin-record,load-key,mount-container,write-record");
	assert_string_equal(p.rec.merged, "/run/runc/c1/rootfs");
	cl_plan_clear(&p);
	/* the same checks as create: a bad id or base is refused */
	in.id = "../x";
	assert_int_equal(cl_plan_unlock(&in, &p, &err), -EINVAL);
	cl_error_free(&err);
	in.id = "c1";
	in.pid = 0;
	assert_int_equal(cl_plan_unlock(&in, &p, &err), -EINVAL);
	cl_error_free(&err);
}

static void test_create_bad_base(void **state)
{
	static const char *const contains[][2] = {
	    {"/var", STORE_ROOT},	 {"/var/lib", STORE_ROOT},
	    {"/var/lib/", STORE_ROOT},	 {"/run", RUN_DIR},
	    {"/etc", "/etc/cryptlayer"}, {"/etc/cryptlayer", "/etc/cryptlayer"},
	};
	static const char *const inside[] = {STORE_ROOT, STORE_ROOT "/", STORE_DIR,
					     STORE_DIR "/containers/other/merged"};

	(void)state;
	in.lower = "/";
	expect_refused(&in, EPERM, "base '/' refused");
	for (size_t i = 0; i < sizeof(contains) / sizeof(contains[0]); i++) {
		char needle[256];

		in.lower = contains[i][0];
		snprintf(needle, sizeof(needle), "base '%s' refused: it contains '%s'",
			 contains[i][0], contains[i][1]);
		expect_refused(&in, EPERM, needle);
	}
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		in.lower = inside[i];
		expect_refused(&in, EPERM, "refused");
	}
	in.lower = STORE_DIR "/containers/other/merged";
	expect_refused(&in, EPERM, "it is inside the store");
}

static void test_create_near_miss_bases(void **state)
{
	/* prefixes that are not path ancestors are fine */
	static const char *const ok[] = {
	    "/var/lib/cryptlayer2", "/var/lib/crypt", "/etcx",	     "/etc/cryptlayerx", "/runx",
	    "/run2/cryptlayer",	    "/srv",	      "/home/u/base"};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct cl_plan p = {};
		struct cl_error *err = NULL;

		in.lower = ok[i];
		if (cl_plan_create(&in, &p, &err) < 0)
			fail_msg("base '%s' refused: %s", ok[i], err->msg);
		cl_plan_clear(&p);
	}
}

static void test_create_custom_roots(void **state)
{
	(void)state;
	/* --root and --run-dir move the forbidden places with them */
	in.store_root = "/srv/cl";
	in.store_dir = "/srv/cl";
	in.run_dir = "/tmp/clrun";
	in.lower = "/srv";
	expect_refused(&in, EPERM, "it contains '/srv/cl'");
	in.lower = "/tmp";
	expect_refused(&in, EPERM, "it contains '/tmp/clrun'");
	in.lower = "/srv/cl/containers/x";
	expect_refused(&in, EPERM, "inside the store");
}

static void test_create_bad_id(void **state)
{
	static const char *const bad[] = {"", ".", "..", "a/b", "../x", "a b"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.id = bad[i];
		expect_refused(&in, EINVAL, "invalid layer id");
	}
}

static void test_create_not_supported(void **state)
{
	(void)state;
	/* btrfs is built (test-plan-btrfs.c): without its facts the base is refused */
	req.backend = CL_BACKEND_BTRFS;
	expect_refused(&in, EINVAL, "base '/srv/base' is not on btrfs");
}

/* nested=true (DESIGN §6): a nest made after the policy, bound after the mount */
static void test_create_nested(void **state)
{
	struct cl_plan p = {};

	(void)state;
	req.nested = true;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(&p, "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,make-nest,"
		       "mount-merged,mount-nest,write-record");
	assert_true(p.nested);
	cl_plan_clear(&p);
	in.owner = CL_OWNER_HOOK;
	in.root_path = "/run/c1/rootfs";
	in.pid = 4321;
	assert_int_equal(cl_plan_create(&in, &p, NULL), 0);
	assert_ops(&p, "begin-record,mkdir-layer,add-key,set-policy,mkdir-upper,make-nest,"
		       "mount-container,mount-nest,write-record");
	cl_plan_clear(&p);
}

static void test_create_nested_refused(void **state)
{
	(void)state;
	req.nested = true;
	in.nest_no_sys_admin = true;
	expect_refused(&in, EPERM, "needs a privileged container: CAP_SYS_ADMIN");
	in.nest_userns = true; /* checked first: it is the deeper reason */
	expect_refused(&in, ENOTSUP, "nested=true in a user namespace is not supported yet");
	in.nest_userns = in.nest_no_sys_admin = false;
	req.keymode = CL_KEY_PERSISTENT;
	expect_refused(&in, ENOTSUP, "nested=true with a persistent key is not supported yet");
	req.keymode = CL_KEY_EPHEMERAL;
	req.backend = CL_BACKEND_BTRFS;
	expect_refused(&in, EINVAL, "is not on btrfs");
}

static void test_create_id_checked_first(void **state)
{
	(void)state;
	/* an invalid id never reaches path building, whatever else is wrong */
	in.id = "../../etc";
	in.lower = "/";
	req.backend = CL_BACKEND_BTRFS;
	expect_refused(&in, EINVAL, "invalid layer id '../../etc'");
}

/* ---- teardown -------------------------------------------------------------------------- */

static void test_teardown_ephemeral(void **state)
{
	struct cl_record rec = {.id = (char *)"c1",
				.layer_dir = (char *)STORE_DIR "/containers/c1",
				.keymode = (char *)"ephemeral",
				.owner = (char *)"cli"};
	struct cl_plan p = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_plan_teardown(&rec, &p, &err), 0);
	assert_null(err);
	/* DESIGN §4: unmount; delete the files while the key is present; remove the key */
	assert_ops(&p, "unmount,delete-files,erase-nest,remove-key,remove-layer,remove-record");
	assert_true(p.ephemeral);
	assert_int_equal(p.owner, CL_OWNER_CLI);
	cl_plan_clear(&p);
	/* no keymode recorded: erase, the safe reading */
	rec.keymode = NULL;
	assert_int_equal(cl_plan_teardown(&rec, &p, &err), 0);
	assert_ops(&p, "unmount,delete-files,erase-nest,remove-key,remove-layer,remove-record");
	cl_plan_clear(&p);
}

static void test_teardown_persistent(void **state)
{
	struct cl_record rec = {.id = (char *)"c1",
				.layer_dir = (char *)STORE_DIR "/containers/c1",
				.keymode = (char *)"persistent",
				.owner = (char *)"hook",
				.pid = 4321};
	struct cl_plan p = {};

	(void)state;
	assert_int_equal(cl_plan_teardown(&rec, &p, NULL), 0);
	/* the files stay (encrypted, key removed): unmount, remove the key */
	assert_ops(&p, "unmount-container,unmount,remove-key,remove-record");
	assert_false(p.ephemeral);
	assert_int_equal(p.owner, CL_OWNER_HOOK);
	assert_int_equal(p.pid, 4321);
	cl_plan_clear(&p);
	/* destroy: the files, the key, then the key file once the key is ABSENT */
	assert_int_equal(cl_plan_erase(&rec, &p, NULL), 0);
	assert_ops(&p, "unmount-container,unmount,delete-files,erase-nest,remove-key,erase-keyfile,"
		       "remove-layer,remove-record");
	cl_plan_clear(&p);
	/* a persistent creation that never finished is erased, key file and all, by a stop */
	rec.state = (char *)"creating";
	assert_int_equal(cl_plan_teardown(&rec, &p, NULL), 0);
	assert_ops(&p, "unmount-container,unmount,delete-files,erase-nest,remove-key,erase-keyfile,"
		       "remove-layer,remove-record");
	cl_plan_clear(&p);
	/* an unlock that never finished is locked again: the data stays */
	rec.state = (char *)"unlocking";
	assert_int_equal(cl_plan_teardown(&rec, &p, NULL), 0);
	assert_ops(&p, "unmount-container,unmount,remove-key,remove-record");
	cl_plan_clear(&p);
	rec.state = NULL;
	rec.keymode = (char *)"ephemeral";
	assert_int_equal(cl_plan_erase(&rec, &p, NULL), 0);
	assert_ops(&p, "unmount-container,unmount,delete-files,erase-nest,remove-key,remove-layer,"
		       "remove-record");
	cl_plan_clear(&p);
}

static void test_teardown_incomplete(void **state)
{
	struct cl_record recs[] = {
	    {.layer_dir = (char *)"/s/containers/c1"},
	    {.id = (char *)"c1"},
	    {.id = (char *)"../c1", .layer_dir = (char *)"/s/containers/c1"},
	    {.id = (char *)"", .layer_dir = (char *)"/s/containers/c1"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		struct cl_plan p = {.n_ops = 77};
		struct cl_error *err = NULL;

		assert_int_equal(cl_plan_teardown(&recs[i], &p, &err), -EINVAL);
		assert_non_null(err);
		assert_string_equal(err->msg, "record is incomplete");
		cl_error_free(&err);
		assert_int_equal(p.n_ops, 77);
	}
}

/* ---- helpers --------------------------------------------------------------------------- */

static void test_op_names(void **state)
{
	(void)state;
	for (int k = 0; k < _CL_OP_MAX; k++) {
		const char *n = cl_plan_op_name((enum cl_op_kind)k);

		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (int j = 0; j < k; j++)
			assert_string_not_equal(n, cl_plan_op_name((enum cl_op_kind)j));
	}
	assert_string_equal(cl_plan_op_name(_CL_OP_MAX), "?");
	assert_string_equal(cl_plan_op_name((enum cl_op_kind)1000), "?");
}

static void test_path_contains(void **state)
{
	static const struct {
		const char *outer, *inner;
		bool want;
	} cases[] = {
	    {"/a", "/a", true},
	    {"/a", "/a/b", true},
	    {"/a", "/a/b/c", true},
	    {"/a", "/ab", false},
	    {"/a", "/", false},
	    {"/a/b", "/a", false},
	    {"/a/", "/a", true},
	    {"/a/", "/a/b", true},
	    {"/a//", "/a/b", true},
	    {"/a/", "/ab", false},
	    {"/a", "/a/", true},
	    {"/a/b", "/a/bc/d", false},
	    {"/", "/", true},
	    {"/", "/a", true},
	    {"//", "/a", true},
	    {"/", "a", false},
	    {"/ab", "/a", false},
	    {"/a/b", "/a/b/", true},
	    {"/var/lib/cryptlayer", "/var/lib/cryptlayer/store", true},
	    {"/var/lib/cryptlayer", "/var/lib/cryptlayer2", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cl_path_contains(cases[i].outer, cases[i].inner) != cases[i].want)
			fail_msg("cl_path_contains('%s', '%s') != %d", cases[i].outer,
				 cases[i].inner, cases[i].want);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_create_cli),
	    T(test_create_bundle),
	    T(test_create_hook),
	    T(test_create_hook_needs_pid_and_root),
	    T(test_create_upper_owner),
	    T(test_create_volatile_ephemeral),
	    T(test_create_bad_base),
	    T(test_create_near_miss_bases),
	    T(test_create_custom_roots),
	    T(test_create_bad_id),
	    T(test_create_not_supported),
	    T(test_create_nested),
	    T(test_create_nested_refused),
	    T(test_create_id_checked_first),
	    T(test_teardown_ephemeral),
	    T(test_teardown_persistent),
	    T(test_teardown_incomplete),
	    T(test_op_names),
	    T(test_path_contains),
	    T(test_create_persistent),
	    T(test_unlock),
	    T(test_create_populate),
	};

	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
