/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* hex helper for the known-answer tests (include after <cmocka.h>) */
#include <stdio.h>
#include <string.h>

static inline size_t test_unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	return n;
}
