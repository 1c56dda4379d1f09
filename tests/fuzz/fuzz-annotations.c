/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: config.json annotations → struct cl_request, as prestart does. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_oci_config c = {};
	struct cl_request r = {};
	struct cl_error *err = NULL;

	if (size > 128 * 1024) /* libmount fuzz.c: larger inputs only slow the fuzzer down */
		return 0;
	if (cl_oci_config_parse((const char *)data, size, "/bundle", &c, &err) < 0) {
		cl_error_free(&err);
		return 0;
	}
	if (cl_oci_request_parse(c.annotations, c.n_annotations, &r, &err) == 0) {
		/* what the plan relies on */
		assert(!err);
		assert(r.keymode < _CL_KEYMODE_MAX && r.backend < _CL_BACKEND_MAX);
		if (r.base) {
			assert(r.enabled);
			assert(r.base[0] == '/');
			assert(strlen(r.base) <= CL_OCI_MAX_ANNOTATION_VALUE);
			assert(!strstr(r.base, "/../") && !ends_with(r.base, "/.."));
		}
		cl_oci_request_clear(&r);
	} else {
		assert(err && err->errnum > 0 && err->msg);
		assert(!r.base);
	}
	cl_error_free(&err);
	if (cl_oci_request_parse(c.annotations, c.n_annotations, &r, NULL) == 0)
		cl_oci_request_clear(&r);
	cl_oci_config_clear(&c);
	return 0;
}
