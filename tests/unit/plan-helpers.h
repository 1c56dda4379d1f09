/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the lib/plan unit tests (test-plan.c, test-plan-btrfs.c). */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/plan/plan.h"

/* "a,b,c" from the op names, for one readable comparison per plan */
static inline void assert_ops(const struct cl_plan *p, const char *want)
{
	char got[512] = "";

	assert_true(p->n_ops >= 0 && p->n_ops <= CL_PLAN_MAX_OPS);
	for (int i = 0; i < p->n_ops; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, cl_plan_op_name(p->ops[i]));
	}
	assert_string_equal(got, want);
}

/* cl_plan_create(@in) fails with @errnum, a message holding @needle, the plan untouched */
static inline void expect_refused(const struct cl_plan_input *in, int errnum, const char *needle)
{
	struct cl_plan p = {.n_ops = 77};
	struct cl_error *err = NULL;

	assert_int_equal(cl_plan_create(in, &p, &err), -errnum);
	assert_non_null(err);
	assert_int_equal(err->errnum, errnum);
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' lacks '%s'", err->msg, needle);
	cl_error_free(&err);
	assert_int_equal(p.n_ops, 77); /* ret untouched on failure */
	assert_null(p.rec.id);
	assert_int_equal(cl_plan_create(in, &p, NULL), -errnum);
}
