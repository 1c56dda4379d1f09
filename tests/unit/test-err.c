/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The error API contract (STYLE §1.3; crun tests/tests_libcrun_errors.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/core/err.h"

/* WRAP: -Wl,--wrap=calloc */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static int fail_calloc; /* the next calloc returns NULL */

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail_calloc) {
		fail_calloc = 0;
		return NULL;
	}
	return __real_calloc(n, size);
}

static void test_set_returns_minus_errnum(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_error_set(&err, ENOENT, "open '%s'", "/x"), -ENOENT);
	assert_non_null(err);
	assert_int_equal(err->errnum, ENOENT);
	assert_string_equal(err->msg, "open '/x'");
	cl_error_free(&err);
}

static void test_set_zero_is_eio(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_error_set(&err, 0, "no errno"), -EIO);
	assert_int_equal(err->errnum, EIO);
	assert_string_equal(err->msg, "no errno");
	cl_error_free(&err);
	/* a negative errnum is a programmer slip, never a success */
	assert_int_equal(cl_error_set(&err, -EPERM, "negative"), -EIO);
	assert_int_equal(err->errnum, EIO);
	cl_error_free(&err);
}

static void test_set_null_err(void **state)
{
	(void)state;
	assert_int_equal(cl_error_set(NULL, EACCES, "discarded %d", 1), -EACCES);
	assert_int_equal(cl_error_set(NULL, 0, "discarded"), -EIO);
}

static void test_set_twice_replaces(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_error_set(&err, EINVAL, "first"), -EINVAL);
	assert_int_equal(cl_error_set(&err, ENOSPC, "second"), -ENOSPC);
	assert_int_equal(err->errnum, ENOSPC);
	assert_string_equal(err->msg, "second");
	cl_error_free(&err); /* valgrind: "first" must not leak */
}

static void test_set_may_quote_previous(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	cl_error_set(&err, EINVAL, "inner");
	/* the old message is formatted before it is freed (valgrind: no use-after-free) */
	assert_int_equal(cl_error_set(&err, EIO, "outer (%s)", err->msg), -EIO);
	assert_string_equal(err->msg, "outer (inner)");
	cl_error_free(&err);
}

static void test_wrap_prepends(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	cl_error_set(&err, EBUSY, "umount '%s'", "/m");
	assert_int_equal(cl_error_wrap(&err, "poststop %s", "c1"), -EBUSY);
	assert_string_equal(err->msg, "poststop c1: umount '/m'");
	assert_int_equal(cl_error_wrap(&err, "hook"), -EBUSY);
	assert_string_equal(err->msg, "hook: poststop c1: umount '/m'");
	assert_int_equal(err->errnum, EBUSY);
	cl_error_free(&err);
}

static void test_wrap_quotes_itself(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	cl_error_set(&err, EINVAL, "x");
	assert_int_equal(cl_error_wrap(&err, "[%s]", err->msg), -EINVAL);
	assert_string_equal(err->msg, "[x]: x");
	cl_error_free(&err);
}

static void test_wrap_without_error(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	/* documented: -EIO, and nothing is invented */
	assert_int_equal(cl_error_wrap(&err, "ctx"), -EIO);
	assert_null(err);
	assert_int_equal(cl_error_wrap(NULL, "ctx"), -EIO);
}

static void test_wrap_null_msg(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	cl_error_set(&err, EIO, "x");
	free(err->msg); /* what error_vset leaves when vasprintf fails */
	err->msg = NULL;
	assert_int_equal(cl_error_wrap(&err, "ctx"), -EIO);
	assert_string_equal(err->msg, "ctx: unknown error");
	cl_error_free(&err);
}

static void test_free_null_safe(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	cl_error_free(NULL);
	cl_error_free(&err);
	assert_null(err);
	cl_error_set(&err, EPERM, "x");
	cl_error_free(&err);
	assert_null(err);
	cl_error_free(&err); /* twice: still fine */
	assert_null(err);
}

static void test_libmount_codes(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_error_libmount(&err, -EACCES, "mount '/m'"), -EACCES);
	assert_int_equal(err->errnum, EACCES);
	assert_string_equal(err->msg, "mount '/m'");
	/* MNT_ERR_* (<= -5000) are libmount's own: EINVAL */
	assert_int_equal(cl_error_libmount(&err, -5001, "mount"), -EINVAL);
	assert_int_equal(cl_error_libmount(&err, -5000, "mount"), -EINVAL);
	assert_int_equal(cl_error_libmount(&err, -4999, "mount"), -4999);
	assert_int_equal(cl_error_libmount(&err, 1, "mount"), -EINVAL);
	cl_error_free(&err);
	/* a '%' in @what is data, not a format */
	cl_error_libmount(&err, -EIO, "mount '/a%sb'");
	assert_string_equal(err->msg, "mount '/a%sb'");
	cl_error_free(&err);
}

/* no memory for the error object: *err is still set (preallocated), free is a no-op */
static void test_set_out_of_memory(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	fail_calloc = 1;
	assert_int_equal(cl_error_set(&err, EACCES, "open '%s'", "/x"), -EACCES);
	assert_non_null(err);
	assert_int_equal(err->errnum, ENOMEM);
	assert_string_equal(err->msg, "out of memory");
	/* wrapping it changes nothing, and returns its status */
	assert_int_equal(cl_error_wrap(&err, "ctx"), -ENOMEM);
	assert_string_equal(err->msg, "out of memory");
	cl_error_free(&err);
	assert_null(err);
	/* the next error is a normal one again */
	assert_int_equal(cl_error_set(&err, EIO, "x"), -EIO);
	assert_string_equal(err->msg, "x");
	cl_error_free(&err);
}

static void test_move(void **state)
{
	struct cl_error *err = NULL, *src = NULL;

	(void)state;
	cl_error_set(&src, ENOSPC, "sink");
	cl_error_set(&err, EINVAL, "stale");
	assert_int_equal(cl_error_move(&err, &src), -ENOSPC);
	assert_null(src);
	assert_string_equal(err->msg, "sink");
	cl_error_free(&err);
	/* to a discarding caller: freed, status kept */
	cl_error_set(&src, EPIPE, "sink");
	assert_int_equal(cl_error_move(NULL, &src), -EPIPE);
	assert_null(src);
	/* nothing to move is a failure, never success */
	assert_int_equal(cl_error_move(&err, &src), -EIO);
	assert_null(err);
}

static void test_errnum(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_error_errnum(NULL), -EIO);
	assert_int_equal(cl_error_errnum(&err), -EIO);
	cl_error_set(&err, ENOKEY, "k");
	assert_int_equal(cl_error_errnum(&err), -ENOKEY);
	cl_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_returns_minus_errnum),
	    cmocka_unit_test(test_set_zero_is_eio),
	    cmocka_unit_test(test_set_null_err),
	    cmocka_unit_test(test_set_twice_replaces),
	    cmocka_unit_test(test_set_may_quote_previous),
	    cmocka_unit_test(test_wrap_prepends),
	    cmocka_unit_test(test_wrap_quotes_itself),
	    cmocka_unit_test(test_wrap_without_error),
	    cmocka_unit_test(test_wrap_null_msg),
	    cmocka_unit_test(test_free_null_safe),
	    cmocka_unit_test(test_libmount_codes),
	    cmocka_unit_test(test_set_out_of_memory),
	    cmocka_unit_test(test_move),
	    cmocka_unit_test(test_errnum),
	};

	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
