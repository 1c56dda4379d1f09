/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/store/user.c: the user's hooks.d descriptor and podman drop-in (DESIGN §7c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "lib/store/user.h"

static void test_descriptor(void **state)
{
	const char *args[] = {"cryptlayer", "--root", "/s \"q\"", "hook", "poststop"};
	struct cl_error *err = NULL;
	char *text = cl_store_user_descriptor("/usr/bin/cryptlayer", args, 5, "poststop", &err);
	json_object *o, *v;

	(void)state;
	assert_non_null(text);
	assert_int_equal(text[strlen(text) - 1], '\n');
	o = json_tokener_parse(text);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "version", &v));
	assert_string_equal(json_object_get_string(v), "1.0.0");
	assert_true(json_object_object_get_ex(o, "hook", &v));
	assert_string_equal(json_object_get_string(json_object_object_get(v, "path")),
			    "/usr/bin/cryptlayer");
	v = json_object_object_get(v, "args");
	assert_int_equal(json_object_array_length(v), 5);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 2)), "/s \"q\"");
	v = json_object_object_get(json_object_object_get(o, "when"), "annotations");
	assert_string_equal(json_object_get_string(
				json_object_object_get(v, "^io\\.cryptlayer\\.(enable|nested)$")),
			    "^true$");
	v = json_object_object_get(o, "stages");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "poststop");
	json_object_put(o);
	free(text);
}

static void test_dropin(void **state)
{
	const char *sys[] = {"/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"};
	struct cl_error *err = NULL;
	char *text = cl_store_user_dropin(sys, 2, "/home/u/.config/cryptlayer/hooks.d", &err);

	(void)state;
	assert_non_null(text);
	assert_non_null(strstr(text, "[engine]\nhooks_dir = [\n"
				     "  \"/usr/share/containers/oci/hooks.d\",\n"
				     "  \"/etc/containers/oci/hooks.d\",\n"
				     "  \"/home/u/.config/cryptlayer/hooks.d\",\n]\n"));
	free(text);
	/* nothing that would need TOML escaping */
	assert_null(cl_store_user_dropin(sys, 2, "/home/a\"b", &err));
	assert_int_equal(err->errnum, EINVAL);
	cl_error_free(&err);
	assert_null(cl_store_user_dropin(sys, 2, "/home/a\\b", &err));
	cl_error_free(&err);
	assert_null(cl_store_user_dropin(sys, 2, "/home/a\nb", &err));
	cl_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_descriptor),
	    cmocka_unit_test(test_dropin),
	};

	return cmocka_run_group_tests_name("store-user", tests, NULL, NULL);
}
