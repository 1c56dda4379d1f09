/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/record/record.c: numeric fields must fit their type (found by fuzz-record). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/record/record.h"

static char dir[] = "/tmp/test-record.XXXXXX";

static int read_json(const char *json, struct cl_record *rec)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/r.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	return cl_record_read(dir, "r", rec, NULL);
}

static void test_numbers(void **state)
{
	struct cl_record rec = {};

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(read_json("{\"id\":\"r\",\"layer_dir\":\"/x\",\"store_root\":\"/y\","
				   "\"pid\":42,\"pid_start\":123456789012,\"creator\":7}",
				   &rec),
			 0);
	assert_int_equal(rec.pid, 42);
	assert_true(rec.pid_start == 123456789012ULL);
	assert_int_equal(rec.creator, 7);
	cl_record_clear(&rec);
	/* 2^31 does not fit a pid: it must not turn into a negative pid */
	assert_int_equal(read_json("{\"id\":\"r\",\"layer_dir\":\"/x\",\"store_root\":\"/y\","
				   "\"pid\":2147483648}",
				   &rec),
			 -EINVAL);
	/* 2^32 + 1 would wrap to pid 1 */
	assert_int_equal(read_json("{\"id\":\"r\",\"layer_dir\":\"/x\",\"store_root\":\"/y\","
				   "\"creator\":4294967297}",
				   &rec),
			 -EINVAL);
	assert_int_equal(read_json("{\"id\":\"r\",\"layer_dir\":\"/x\",\"store_root\":\"/y\","
				   "\"creator\":-1}",
				   &rec),
			 -EINVAL);
	assert_int_equal(read_json("{\"id\":\"r\",\"layer_dir\":\"/x\",\"store_root\":\"/y\","
				   "\"pid\":\"42\"}",
				   &rec),
			 -EINVAL);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/r.json", dir);
		unlink(path);
		rmdir(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
