/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/core/userns.c: telling the initial user namespace from a nested one (DESIGN §7c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/core/userns.h"

static int initial(const char *map)
{
	return cl_userns_parse_initial(map, strlen(map));
}

static void test_initial(void **state)
{
	(void)state;
	assert_int_equal(initial("         0          0 4294967295\n"), 1);
	assert_int_equal(initial("0 0 4294967295"), 1);
}

static void test_nested(void **state)
{
	(void)state;
	/* rootless podman's hook: the user, then its subuids */
	assert_int_equal(initial("         0       1001          1\n"
				 "         1     100000      65536\n"),
			 0);
	/* unshare -r */
	assert_int_equal(initial("0 1000 1\n"), 0);
	/* a root-mapped namespace that does not cover every uid is still nested */
	assert_int_equal(initial("0 0 65536\n"), 0);
	assert_int_equal(initial("0 0 4294967295\n1 1 1\n"), 0);
	/* empty (no map written yet) and garbage */
	assert_int_equal(initial(""), 0);
	assert_int_equal(initial("x"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_initial),
	    cmocka_unit_test(test_nested),
	};

	return cmocka_run_group_tests_name("userns", tests, NULL, NULL);
}
