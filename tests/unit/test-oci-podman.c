/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci/podman.c: the podman container id of a precreate config.json (DESIGN §3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "oci/oci.h"

#define ID "3a160c846bde0deb91ec7873803ece722d72f52a9e9038b87c942457db8ac1a0"
#define ID2 "fa81da07d6b4152d3006ebf28d9bf1d955b88c26925ab04ef44cbde85029232d"
#define CAPTURED "75ac7ffafd9833e27ced116970483f707dac0a875b7090d528bae231ebc19971"
#define ENV(id) "/run/containers/storage/overlay-containers/" id "/userdata/.containerenv"
#define USERDATA(id) "/run/containers/storage/overlay-containers/" id "/userdata"

static int parse(const char *cg, const char *env, struct cl_oci_podman *p, struct cl_error **err)
{
	struct cl_oci_config c = {.cgroups_path = (char *)cg, .containerenv = (char *)env};

	return cl_oci_podman_parse(&c, p, err);
}

static void expect_id(const char *cg, const char *env, const char *id, const char *userdata)
{
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;

	if (parse(cg, env, &p, &err) < 0)
		fail_msg("'%s' / '%s': %s", cg ? cg : "-", env ? env : "-", err->msg);
	assert_null(err);
	assert_string_equal(p.id, id);
	if (userdata)
		assert_string_equal(p.userdata, userdata);
	else
		assert_null(p.userdata);
	cl_oci_podman_clear(&p);
}

static void expect_refused(const char *cg, const char *env, int errnum, const char *needle)
{
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;

	assert_int_equal(parse(cg, env, &p, &err), -errnum);
	assert_non_null(err);
	assert_int_equal(err->errnum, errnum);
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' lacks '%s'", err->msg, needle);
	cl_error_free(&err);
	assert_null(p.userdata);
	assert_int_equal(parse(cg, env, &p, NULL), -errnum); /* discarded error */
}

static void test_cgroups_forms(void **state)
{
	(void)state;
	expect_id("/libpod_parent/libpod-" ID, NULL, ID, NULL);
	expect_id("/machine/pods/libpod-" ID, NULL, ID, NULL);
	expect_id("libpod-" ID, NULL, ID, NULL);
	expect_id("machine.slice:libpod:" ID, NULL, ID, NULL);
	expect_id("user.slice:libpod:" ID, NULL, ID, NULL);
}

static void test_containerenv(void **state)
{
	(void)state;
	/* --cgroups=disabled: no cgroupsPath at all */
	expect_id(NULL, ENV(ID), ID, USERDATA(ID));
	expect_id("/system.slice/other", ENV(ID), ID, USERDATA(ID));
	expect_id("/libpod_parent/libpod-" ID, ENV(ID), ID, USERDATA(ID));
	expect_id("/libpod_parent/libpod-" ID, "/elsewhere/.containerenv", ID, NULL);
}

static void test_refused(void **state)
{
	static const char *const bad_cg[] = {
	    "",
	    "/",
	    "/libpod_parent/libpod-",
	    "/libpod_parent/libpod-" ID "x",
	    "/libpod_parent/libpod-" ID "/x",
	    "/libpod_parent/crio-" ID,
	    "/libpod_parent/"
	    "libpod-3A160C846BDE0DEB91EC7873803ECE722D72F52A9E9038B87C942457DB8AC1A0",
	    "/libpod_parent/libpod-" ID ".scope",
	    "machine.slice:crio:" ID,
	    "machine.slice:libpod:" ID ":x",
	    "machine.slice:" ID,
	    "a:libpodx:" ID,
	    "/libpod_parent/libpod-../../etc/passwd",
	};
	static const char *const bad_env[] = {
	    "",
	    ".containerenv",
	    "relative/overlay-containers/" ID "/userdata/.containerenv",
	    "/overlay-containers/" ID "/userdata/.containerenv",
	    "/x/overlay-containers/" ID "/userdata/.containerenv2",
	    "/x/overlay-containers/../" ID "/userdata/.containerenv",
	    "/x/../overlay-containers/" ID "/userdata/.containerenv",
	    "/x//overlay-containers/" ID "/userdata/.containerenv",
	    "/x/./overlay-containers/" ID "/userdata/.containerenv",
	    "/x/containers/" ID "/userdata/.containerenv",
	    "/x/overlay-containers/x" ID "/userdata/.containerenv",
	};

	(void)state;
	expect_refused(NULL, NULL, ENOENT, "no podman container id");
	for (size_t i = 0; i < sizeof(bad_cg) / sizeof(bad_cg[0]); i++)
		expect_refused(bad_cg[i], NULL, ENOENT, "no podman container id");
	for (size_t i = 0; i < sizeof(bad_env) / sizeof(bad_env[0]); i++)
		expect_refused(NULL, bad_env[i], ENOENT, "no podman container id");
	expect_refused("/libpod_parent/libpod-" ID, ENV(ID2), EINVAL, "disagree");
}

/* a real podman 4.3.1 precreate input: the id precreate finds is poststop's state id */
static void test_captured_config(void **state)
{
	struct cl_oci_config c = {};
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;
	char buf[65536];
	FILE *f = fopen("tests/data/config-podman-precreate.json", "re");
	size_t n;

	(void)state;
	if (!f)
		fail_msg("tests/data/config-podman-precreate.json: run from the top of the tree");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(cl_oci_config_parse(buf, n, NULL, &c, &err), 0);
	assert_string_equal(
	    c.root_path, "/tmp/pexp/st/overlay/"
			 "0e808c7ae65f157f9aec9ad3bd20e523c214042a27b205fd0ec5689de91b9cdd/merged");
	assert_int_equal(cl_oci_podman_parse(&c, &p, &err), 0);
	assert_string_equal(p.id, CAPTURED);
	assert_string_equal(p.userdata, "/tmp/pexp/rr/overlay-containers/" CAPTURED "/userdata");
	assert_true(cl_oci_id_valid(p.id));
	cl_oci_podman_clear(&p);
	cl_oci_config_clear(&c);
}

static void test_mounts_shape(void **state)
{
	static const char *const ok =
	    "{\"root\":{\"path\":\"/r\"},\"mounts\":[1,{\"destination\":2},"
	    "{\"destination\":\"/run/.containerenv\",\"source\":\"" ENV(ID) "\"}]}";
	static const char *const bad = "{\"root\":{\"path\":\"/r\"},\"mounts\":{}}";
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_oci_config_parse(ok, strlen(ok), NULL, &c, &err), 0);
	assert_string_equal(c.containerenv, ENV(ID));
	cl_oci_config_clear(&c);
	assert_int_equal(cl_oci_config_parse(bad, strlen(bad), NULL, &c, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "'mounts' is not an array"));
	cl_error_free(&err);
	assert_null(c.root_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroups_forms), cmocka_unit_test(test_containerenv),
	    cmocka_unit_test(test_refused),	  cmocka_unit_test(test_captured_config),
	    cmocka_unit_test(test_mounts_shape),
	};

	return cmocka_run_group_tests_name("oci-podman", tests, NULL, NULL);
}
