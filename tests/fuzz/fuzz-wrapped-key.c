/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: persistent key files (lib/crypto/keyfile.c). Any input is either
 * refused with an error, or yields a copy that re-encodes to exactly the bytes it was
 * read from (the decoder accepts nothing it would not write), whose stale mask marks
 * every other copy, and whose unwrap either succeeds or fails with an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto/keyfile.h"

#define MAX_INPUT (CL_KEYFILE_SIZE + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int chosen_copy(const uint8_t *data, size_t size, const struct cl_keyfile *kf,
		       unsigned stale)
{
	unsigned char again[CL_KEYFILE_COPY_SIZE];
	int found = -1;

	for (unsigned i = 0; i < CL_KEYFILE_COPIES; i++) {
		size_t off = (size_t)i * CL_KEYFILE_COPY_SIZE;

		if (stale & (1U << i))
			continue;
		if (size < off + CL_KEYFILE_COPY_SIZE ||
		    cl_keyfile_encode(kf, i, again, NULL) < 0 ||
		    memcmp(again, data + off, sizeof(again)))
			abort();
		found = (int)i;
	}
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_secret *mk;
	struct cl_secret *key = NULL;
	struct cl_error *err = NULL;
	struct cl_keyfile kf;
	unsigned stale = 0;

	if (size > MAX_INPUT)
		return 0;
	if (!mk) {
		mk = cl_secret_new(32, NULL);
		if (!mk)
			abort();
		memset(mk->data, 0x11, mk->len); /* the corpus was sealed with this key */
	}
	if (cl_keyfile_decode(data, size, &kf, &stale, &err) < 0) {
		if (!err || err->errnum <= 0 || !err->msg)
			abort(); /* the error contract: set exactly once, with a message */
		cl_error_free(&err);
		return 0;
	}
	if (err || stale >= (1U << CL_KEYFILE_COPIES) || chosen_copy(data, size, &kf, stale) < 0)
		abort();
	if (cl_keyfile_unseal(mk, kf.id, &kf, &key, &err) < 0) {
		if (!err || key)
			abort();
		cl_error_free(&err);
		return 0;
	}
	if (err || !key || key->len != CL_KEYFILE_KEY_LEN)
		abort();
	cl_secret_free(key);
	return 0;
}
