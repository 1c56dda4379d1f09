/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nested containers (DESIGN §6): the annotation and the config facts a nest is checked on. */
#include "tests/unit/oci-helpers.h"

#define KV(k, v)                                                                                   \
	{                                                                                          \
		(char *)(k), (char *)(v)                                                           \
	}

static void test_nested_enables(void **state)
{
	const struct cl_kv alone[] = {KV("io.cryptlayer.nested", "true")};
	const struct cl_kv off[] = {KV("io.cryptlayer.nested", "false")};
	const struct cl_kv contra[] = {KV("io.cryptlayer.enable", "false"),
				       KV("io.cryptlayer.nested", "true")};
	struct cl_request r = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_oci_request_parse(alone, 1, &r, NULL), 0);
	assert_true(r.nested);
	assert_true(r.enabled); /* a nest goes beside a layer */
	cl_oci_request_clear(&r);
	assert_int_equal(cl_oci_request_parse(off, 1, &r, NULL), 0);
	assert_false(r.nested);
	assert_false(r.enabled);
	cl_oci_request_clear(&r);
	expect_error(cl_oci_request_parse(contra, 2, &r, &err), &err, EINVAL,
		     "'io.cryptlayer.enable=false' contradicts 'io.cryptlayer.nested=true'");
}

static void facts(const char *json, bool admin, bool userns)
{
	struct cl_oci_config c = {};

	assert_int_equal(config_parse(json, "/b", &c, NULL), 0);
	if (c.cap_sys_admin != admin || c.user_ns != userns)
		fail_msg("%s: cap_sys_admin %d user_ns %d", json, c.cap_sys_admin, c.user_ns);
	cl_oci_config_clear(&c);
}

static void test_config_facts(void **state)
{
	(void)state;
	facts("{\"root\":{\"path\":\"r\"}}", false, false);
	facts("{\"root\":{\"path\":\"r\"},\"process\":{\"capabilities\":{\"bounding\":"
	      "[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\"]}}}",
	      true, false);
	/* effective alone is not enough: the bounding set caps what inner processes get */
	facts("{\"root\":{\"path\":\"r\"},\"process\":{\"capabilities\":{\"effective\":"
	      "[\"CAP_SYS_ADMIN\"],\"bounding\":[\"CAP_CHOWN\"]}}}",
	      false, false);
	facts("{\"root\":{\"path\":\"r\"},\"process\":{\"capabilities\":{\"bounding\":"
	      "\"CAP_SYS_ADMIN\"}}}",
	      false, false);
	facts("{\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"pid\"},"
	      "{\"type\":\"user\"}]}}",
	      false, true);
	facts("{\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":[{\"containerID\":0,"
	      "\"hostID\":1000,\"size\":1}]}}",
	      false, true);
	facts("{\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}],"
	      "\"uidMappings\":[]}}",
	      false, false);
	facts("{\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[7,{\"type\":3}]}}", false,
	      false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nested_enables),
	    cmocka_unit_test(test_config_facts),
	};

	return cmocka_run_group_tests_name("nested", tests, NULL, NULL);
}
