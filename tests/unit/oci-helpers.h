/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the oci/ unit tests (test-oci.c, test-oci-request.c). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "oci/oci.h"

/*
 * The parsers take (buf, len): copy into an exact-size heap buffer without a NUL, so
 * valgrind (and ASan) catch any read past @len.
 */
static inline char *exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

static inline int config_parse(const char *s, const char *bundle, struct cl_oci_config *c,
			       struct cl_error **err)
{
	char *b = exact(s, strlen(s));
	int r = cl_oci_config_parse(b, strlen(s), bundle, c, err);

	free(b);
	return r;
}

/* Expect failure @r == -@errnum with a message containing @needle; frees the error. */
static inline void expect_error(int r, struct cl_error **err, int errnum, const char *needle)
{
	assert_int_equal(r, -errnum);
	assert_non_null(*err);
	assert_int_equal((*err)->errnum, errnum);
	assert_non_null((*err)->msg);
	if (!strstr((*err)->msg, needle))
		fail_msg("message '%s' lacks '%s'", (*err)->msg, needle);
	cl_error_free(err);
}

static inline char *read_data(const char *name, size_t *ret_len)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "tests/data/%s", name);
	f = fopen(path, "re");
	if (!f)
		fail_msg("%s: run from the top of the tree", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}
