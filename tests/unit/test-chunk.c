/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chunk record format: known answers (computed independently with Python's
 * cryptography AESGCM: nonce = prefix ‖ BE32(i), AAD = LE64(i) ‖ LE32(r)), round trips,
 * and that tampering, reordering and a flipped final flag all fail the tag.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "lib/archive/chunk.h"
#include "tests/unit/hex.h"

static const unsigned char prefix[CL_CLX_NONCE_PREFIX] = {0, 1, 2, 3, 4, 5, 6, 7};
static const char kat_pt[] = "cryptlayer chunk test vector\n";
/* index 5, final, 29 bytes */
static const char kat_rec5[] = "1d0000808d98448f1da8e58258526a5ff34796be8ec8ff782831bd87bdb04cf917"
			       "a91a60f8c90d4b03e3957131cab0c770";
/* index 0, final, empty payload */
static const char kat_rec0[] = "00000080508586236d2a24936b2a20f4ce7faa34";

static EVP_CIPHER_CTX *keyed(bool enc)
{
	unsigned char key[32];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);

	memset(key, 0x42, sizeof(key));
	assert_int_equal(EVP_CipherInit_ex2(ctx, c, key, NULL, enc, NULL), 1);
	EVP_CIPHER_free(c);
	return ctx;
}

static void test_seal_known_answer(void **state)
{
	EVP_CIPHER_CTX *ctx = keyed(true);
	unsigned char want[64], out[64];
	size_t n = test_unhex(kat_rec5, want, sizeof(want));

	(void)state;
	assert_int_equal(n, CL_CLX_REC_HDR + strlen(kat_pt) + CL_CLX_TAG_LEN);
	assert_int_equal(cl_clx_chunk_seal(ctx, prefix, 5, true, (const unsigned char *)kat_pt,
					   strlen(kat_pt), out),
			 0);
	assert_memory_equal(out, want, n);
	n = test_unhex(kat_rec0, want, sizeof(want));
	assert_int_equal(cl_clx_chunk_seal(ctx, prefix, 0, true, NULL, 0, out), 0);
	assert_memory_equal(out, want, n);
	EVP_CIPHER_CTX_free(ctx);
}

static void test_open_known_answer(void **state)
{
	EVP_CIPHER_CTX *ctx = keyed(false);
	unsigned char rec[64], out[64];
	size_t n = test_unhex(kat_rec5, rec, sizeof(rec));

	(void)state;
	(void)n;
	assert_int_equal(cl_clx_chunk_open(ctx, prefix, 5, cl_le32_get(rec), rec + 4, out), 0);
	assert_memory_equal(out, kat_pt, strlen(kat_pt));
	/* in place, as the reader does for piped input */
	assert_int_equal(cl_clx_chunk_open(ctx, prefix, 5, cl_le32_get(rec), rec + 4, rec + 4), 0);
	assert_memory_equal(rec + 4, kat_pt, strlen(kat_pt));
	EVP_CIPHER_CTX_free(ctx);
}

static void test_tamper_reorder_truncate(void **state)
{
	EVP_CIPHER_CTX *dec = keyed(false);
	unsigned char rec[64], out[64];
	size_t n = test_unhex(kat_rec5, rec, sizeof(rec));
	uint32_t r = cl_le32_get(rec);

	(void)state;
	for (size_t i = 4; i < n; i++) { /* every ciphertext and tag byte */
		rec[i] ^= 0x20;
		assert_int_equal(cl_clx_chunk_open(dec, prefix, 5, r, rec + 4, out), -EBADMSG);
		rec[i] ^= 0x20;
	}
	/* another position in the stream (reordering) */
	assert_int_equal(cl_clx_chunk_open(dec, prefix, 4, r, rec + 4, out), -EBADMSG);
	assert_int_equal(cl_clx_chunk_open(dec, prefix, 5 + (1ULL << 32) - 1, r, rec + 4, out),
			 -EINVAL);
	/* not final any more (truncation point moved) */
	assert_int_equal(cl_clx_chunk_open(dec, prefix, 5, r & ~CL_CLX_REC_FINAL, rec + 4, out),
			 -EBADMSG);
	/* another stream's nonce prefix */
	{
		unsigned char other[8] = {9};

		assert_int_equal(cl_clx_chunk_open(dec, other, 5, r, rec + 4, out), -EBADMSG);
	}
	EVP_CIPHER_CTX_free(dec);
}

static void test_full_chunk_round_trip(void **state)
{
	EVP_CIPHER_CTX *enc = keyed(true), *dec = keyed(false);
	unsigned char *pt = malloc(CL_CLX_CHUNK_SIZE), *rec = malloc(CL_CLX_REC_MAX);
	unsigned char *out = malloc(CL_CLX_CHUNK_SIZE);

	(void)state;
	for (size_t i = 0; i < CL_CLX_CHUNK_SIZE; i++)
		pt[i] = (unsigned char)(i * 7 + 3);
	assert_int_equal(cl_clx_chunk_seal(enc, prefix, 77, false, pt, CL_CLX_CHUNK_SIZE, rec), 0);
	assert_int_equal(cl_le32_get(rec), CL_CLX_CHUNK_SIZE);
	assert_int_equal(cl_clx_chunk_open(dec, prefix, 77, cl_le32_get(rec), rec + 4, out), 0);
	assert_memory_equal(out, pt, CL_CLX_CHUNK_SIZE);
	assert_int_equal(cl_clx_chunk_seal(enc, prefix, 0, false, pt, CL_CLX_CHUNK_SIZE + 1, rec),
			 -EINVAL);
	free(pt);
	free(rec);
	free(out);
	EVP_CIPHER_CTX_free(enc);
	EVP_CIPHER_CTX_free(dec);
}

static void test_record_header_rules(void **state)
{
	(void)state;
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_CHUNK_SIZE, 0), 0);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_CHUNK_SIZE - 1, 3), -EBADMSG);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_CHUNK_SIZE + 1, 3), -EBADMSG);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_REC_FINAL | 1, 3), 0);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_REC_FINAL | CL_CLX_CHUNK_SIZE, 3), 0);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_REC_FINAL | (CL_CLX_CHUNK_SIZE + 1), 3),
			 -EBADMSG);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_REC_FINAL, 0), 0);
	/* an empty final record only for an empty payload */
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_REC_FINAL, 1), -EBADMSG);
	assert_int_equal(cl_clx_chunk_rec_check(0, 0), -EBADMSG);
	assert_int_equal(cl_clx_chunk_rec_check(CL_CLX_CHUNK_SIZE, CL_CLX_MAX_CHUNKS), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest chunk[] = {
	    cmocka_unit_test(test_seal_known_answer),
	    cmocka_unit_test(test_open_known_answer),
	    cmocka_unit_test(test_tamper_reorder_truncate),
	    cmocka_unit_test(test_full_chunk_round_trip),
	    cmocka_unit_test(test_record_header_rules),
	};

	return cmocka_run_group_tests(chunk, NULL, NULL);
}
