/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/store: the pure part, cl_store_parse_size() (store init --size). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/store/store.h"

static void test_parse_size(void **state)
{
	static const struct {
		const char *in;
		uint64_t want;
	} ok[] = {
	    {"1048576", 1048576ULL},
	    {"1", 1ULL},
	    {"64M", 64ULL << 20},
	    {"64m", 64ULL << 20},
	    {"8G", 8ULL << 30},
	    {"8g", 8ULL << 30},
	    {"1Gi", 1ULL << 30},
	    {"512Mi", 512ULL << 20},
	    {"4K", 4096ULL},
	    {"4ki", 4096ULL},
	    {"2T", 2ULL << 40},
	    {"16777215T", 16777215ULL << 40},
	    {"18446744073709551615", UINT64_MAX},
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 0;
		if (cl_store_parse_size(ok[i].in, &v) != 0)
			fail_msg("'%s' refused", ok[i].in);
		if (v != ok[i].want)
			fail_msg("'%s' → %llu, want %llu", ok[i].in, (unsigned long long)v,
				 (unsigned long long)ok[i].want);
	}
	assert_int_equal(CL_STORE_DEFAULT_SIZE, 8ULL << 30);
}

static void test_parse_size_refused(void **state)
{
	static const char *const bad[] = {
	    "0",
	    "0G",
	    "-1",
	    " -1",
	    "+5",
	    "-1G",
	    "12X",
	    "12GB",
	    "12MiB",
	    "1i", /* "i" only after a unit */
	    "",
	    "G",
	    "Mi",
	    "1.5G",
	    "1G ",
	    "1 G",
	    "0x10",
	    "18446744073709551616", /* 2^64 */
	    "99999999999999999999999",
	    "16777216T",	  /* 2^64 */
	    "17179869184G",	  /* 2^64 */
	    "18014398509481984K", /* 2^64 */
	    "18446744073709551615K",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 4242;
		if (cl_store_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
		assert_int_equal(v, 4242); /* untouched */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_parse_size_refused),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
