/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: runtime state JSON as a hook reads it from stdin. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_oci_state st = {};
	struct cl_error *err = NULL;

	if (size > 128 * 1024) /* libmount fuzz.c: larger inputs only slow the fuzzer down */
		return 0;
	if (cl_oci_state_parse((const char *)data, size, &st, &err) == 0) {
		/* what the parser promises to the hooks */
		assert(!err);
		assert(st.id && cl_oci_id_valid(st.id));
		assert(st.bundle && st.bundle[0] == '/');
		assert(st.pid >= 0);
		cl_oci_state_clear(&st);
	} else {
		assert(err && err->errnum > 0 && err->msg);
		assert(!st.id && !st.bundle);
	}
	/* the discarding form must agree and never touch a NULL err */
	if (cl_oci_state_parse((const char *)data, size, &st, NULL) == 0)
		cl_oci_state_clear(&st);
	cl_error_free(&err);
	return 0;
}
