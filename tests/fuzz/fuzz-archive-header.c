/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: .clx header copies (lib/archive/header.c). Any input must be
 * either refused with an error or decode into a header that re-encodes to the same
 * bytes up to the MAC (the decoder accepts nothing it would not write).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/archive/header.h"

#define MAX_INPUT (CL_CLX_HDR_MAX + 64) /* cap as libmount's fuzz.c does */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_secret *key;
	struct cl_error *err = NULL;
	struct cl_clx_header h;
	unsigned char *again;
	size_t l = 0;

	if (size > MAX_INPUT)
		return 0;
	if (!key) {
		key = cl_secret_new(CL_CLX_KEY_LEN, NULL);
		if (!key)
			abort();
		memset(key->data, 0x33, key->len);
	}
	if (cl_clx_header_peek_len(data, size, &l, &err) == 0 &&
	    (l < CL_CLX_HDR_MIN || l > CL_CLX_HDR_MAX))
		abort();
	cl_error_free(&err);
	if (cl_clx_header_decode(data, size, &h, &err) < 0) {
		if (!err || err->errnum <= 0 || !err->msg)
			abort(); /* the error contract: set exactly once, with a message */
		cl_error_free(&err);
		return 0;
	}
	if (err || h.len != size || cl_clx_header_size(&h) != size || !cl_clx_header_same(&h, &h))
		abort();
	again = malloc(size);
	if (!again || cl_clx_header_encode(&h, key, again, size, &err) < 0)
		abort();
	if (memcmp(again, data, size - CL_CLX_TAIL_LEN))
		abort();
	(void)cl_clx_header_verify(&h, key, &err);
	cl_error_free(&err);
	free(again);
	return 0;
}
