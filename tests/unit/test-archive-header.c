/* SPDX-License-Identifier: GPL-2.0-or-later */
/* .clx header copies: encode/decode round trip, MAC, damage and version handling. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "lib/archive/header.h"

static unsigned char x_body[80], r_body[384];

static struct cl_secret *key(unsigned char fill)
{
	struct cl_error *err = NULL;
	struct cl_secret *k = cl_secret_new(CL_CLX_KEY_LEN, &err);

	assert_non_null(k);
	memset(k->data, fill, k->len);
	return k;
}

static struct cl_clx_header sample(void)
{
	struct cl_clx_header h = {
	    .aead = CL_CLX_AEAD_AES256GCM,
	    .compression = CL_CLX_COMPRESS_ZSTD,
	    .chunk_size = CL_CLX_CHUNK_SIZE,
	    .nonce_prefix = {1, 2, 3, 4, 5, 6, 7, 8},
	    .n_stanzas = 2,
	    .stanzas = {{CL_CLX_STANZA_X25519, sizeof(x_body), x_body},
			{CL_CLX_STANZA_RSA, sizeof(r_body), r_body}},
	};

	memset(x_body, 0x58, sizeof(x_body));
	memset(r_body, 0x52, sizeof(r_body));
	return h;
}

static unsigned char *encoded(struct cl_clx_header *h, const struct cl_secret *k, size_t *len)
{
	struct cl_error *err = NULL;
	unsigned char *buf;

	*len = cl_clx_header_size(h);
	buf = malloc(*len);
	assert_int_equal(cl_clx_header_encode(h, k, buf, *len, &err), 0);
	assert_null(err);
	return buf;
}

/* what a forger without the key can do: edit, then fix the (unkeyed) checksum */
static void fix_checksum(unsigned char *buf, size_t len)
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len - CL_CLX_SUM_LEN - CL_CLX_END_LEN,
				    buf + len - CL_CLX_SUM_LEN - CL_CLX_END_LEN, &n, EVP_sha256(),
				    NULL),
			 1);
}

static void test_round_trip(void **state)
{
	struct cl_clx_header h = sample(), d;
	struct cl_secret *k = key(7), *wrong = key(8);
	struct cl_error *err = NULL;
	size_t len;
	unsigned char *buf = encoded(&h, k, &len);

	(void)state;
	assert_int_equal(len, 36 + 4 + 80 + 4 + 384 + 76);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), 0);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.copy, CL_CLX_COPY_FRONT);
	assert_int_equal(d.compression, CL_CLX_COMPRESS_ZSTD);
	assert_int_equal(d.chunk_size, CL_CLX_CHUNK_SIZE);
	assert_memory_equal(d.nonce_prefix, h.nonce_prefix, 8);
	assert_int_equal(d.n_stanzas, 2);
	assert_int_equal(d.stanzas[1].type, CL_CLX_STANZA_RSA);
	assert_int_equal(d.stanzas[1].len, 384);
	assert_memory_equal(d.stanzas[1].body, r_body, 384);
	assert_int_equal(cl_clx_header_verify(&d, k, &err), 0);
	assert_int_equal(cl_clx_header_verify(&d, wrong, &err), -EBADMSG);
	assert_string_equal(err->msg, "header authentication failed");
	cl_error_free(&err);
	free(buf);
	cl_secret_free(k);
	cl_secret_free(wrong);
}

static void test_front_and_trailer(void **state)
{
	struct cl_clx_header h = sample(), f, t;
	struct cl_secret *k = key(7);
	size_t len;
	unsigned char *front = encoded(&h, k, &len), *trailer;

	(void)state;
	h.copy = CL_CLX_COPY_TRAILER;
	trailer = encoded(&h, k, &len);
	assert_int_equal(cl_clx_header_decode(front, len, &f, NULL), 0);
	assert_int_equal(cl_clx_header_decode(trailer, len, &t, NULL), 0);
	assert_int_equal(t.copy, CL_CLX_COPY_TRAILER);
	assert_true(cl_clx_header_same(&f, &t));
	assert_int_equal(cl_clx_header_verify(&t, k, NULL), 0);
	assert_memory_not_equal(front + len - CL_CLX_TAIL_LEN, trailer + len - CL_CLX_TAIL_LEN, 32);
	/* L and the end magic let a reader find the trailer from the end of a file */
	assert_int_equal(cl_le32_get(trailer + len - 12), len);
	assert_memory_equal(trailer + len - 8, CL_CLX_END_MAGIC, 8);
	h = sample();
	x_body[0] ^= 1; /* another wrapped key: not the same content */
	free(trailer);
	trailer = encoded(&h, k, &len);
	assert_int_equal(cl_clx_header_decode(trailer, len, &t, NULL), 0);
	assert_false(cl_clx_header_same(&f, &t));
	free(front);
	free(trailer);
	cl_secret_free(k);
}

/* no single damaged byte is accepted: the checksum or the MAC catches it */
static void test_every_byte_flip(void **state)
{
	struct cl_clx_header h = sample(), d;
	struct cl_secret *k = key(7);
	size_t len;
	unsigned char *buf = encoded(&h, k, &len);

	(void)state;
	for (size_t i = 0; i < len; i++) {
		struct cl_error *err = NULL;
		int r;

		buf[i] ^= 0x04;
		r = cl_clx_header_decode(buf, len, &d, &err);
		if (r == 0)
			r = cl_clx_header_verify(&d, k, &err);
		assert_true(r == -EBADMSG || r == -EPROTONOSUPPORT);
		assert_non_null(err);
		cl_error_free(&err);
		/* and with the checksum fixed up, the MAC still refuses it */
		if (i < len - CL_CLX_SUM_LEN - CL_CLX_END_LEN && i != 12 && i != 13) {
			fix_checksum(buf, len);
			r = cl_clx_header_decode(buf, len, &d, &err);
			if (r == 0)
				r = cl_clx_header_verify(&d, k, &err);
			assert_true(r < 0);
			cl_error_free(&err);
			buf[i] ^= 0x04;
			fix_checksum(buf, len);
		} else {
			buf[i] ^= 0x04;
		}
		assert_int_equal(cl_clx_header_decode(buf, len, &d, NULL), 0);
	}
	free(buf);
	cl_secret_free(k);
}

static void test_unsupported_version(void **state)
{
	struct cl_clx_header h = sample(), d;
	struct cl_secret *k = key(7);
	struct cl_error *err = NULL;
	size_t len;
	unsigned char *buf = encoded(&h, k, &len);

	(void)state;
	buf[CL_CLX_OFF_VERSION] = 2;
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EBADMSG);
	assert_string_equal(err->msg, "header checksum mismatch");
	cl_error_free(&err);
	fix_checksum(buf, len);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EPROTONOSUPPORT);
	assert_string_equal(err->msg, "unsupported format version 2 (this is 1)");
	cl_error_free(&err);
	buf[CL_CLX_OFF_VERSION] = 1;
	buf[CL_CLX_OFF_AEAD] = 9;
	fix_checksum(buf, len);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EPROTONOSUPPORT);
	cl_error_free(&err);
	buf[CL_CLX_OFF_AEAD] = 1;
	buf[34] = 1; /* reserved */
	fix_checksum(buf, len);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EPROTONOSUPPORT);
	cl_error_free(&err);
	free(buf);
	cl_secret_free(k);
}

static void test_structure_errors(void **state)
{
	struct cl_clx_header h = sample(), d;
	struct cl_secret *k = key(7);
	struct cl_error *err = NULL;
	size_t len, l = 0;
	unsigned char *buf = encoded(&h, k, &len);

	(void)state;
	assert_int_equal(cl_clx_header_peek_len(buf, 15, &l, &err), -EBADMSG);
	cl_error_free(&err);
	assert_int_equal(cl_clx_header_peek_len(buf, 16, &l, &err), 0);
	assert_int_equal(l, len);
	assert_int_equal(cl_clx_header_decode(buf, len - 1, &d, &err), -EBADMSG);
	cl_error_free(&err);
	/* stanza length running into the MAC */
	cl_le16_put(buf + CL_CLX_OFF_STANZAS + 4 + 80 + 2, 385);
	fix_checksum(buf, len);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EBADMSG);
	assert_string_equal(err->msg, "stanza 1 overruns the header");
	cl_error_free(&err);
	cl_le16_put(buf + CL_CLX_OFF_STANZAS + 4 + 80 + 2, 384);
	cl_le16_put(buf + CL_CLX_OFF_NSTANZA, 1); /* stray bytes after stanza 0 */
	fix_checksum(buf, len);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EBADMSG);
	cl_error_free(&err);
	cl_le16_put(buf + CL_CLX_OFF_NSTANZA, 0);
	fix_checksum(buf, len);
	assert_int_equal(cl_clx_header_decode(buf, len, &d, &err), -EBADMSG);
	cl_error_free(&err);
	memcpy(buf, "GARBAGE!", 8);
	assert_int_equal(cl_clx_header_peek_len(buf, len, &l, &err), -EBADMSG);
	assert_string_equal(err->msg, "not a clx stream (bad magic)");
	cl_error_free(&err);
	free(buf);
	cl_secret_free(k);
}

static void test_encode_refuses(void **state)
{
	struct cl_clx_header h = sample();
	struct cl_secret *k = key(7);
	struct cl_error *err = NULL;
	unsigned char buf[1024];

	(void)state;
	assert_int_equal(cl_clx_header_encode(&h, k, buf, 10, &err), -EINVAL);
	cl_error_free(&err);
	h.n_stanzas = 0;
	assert_int_equal(cl_clx_header_encode(&h, k, buf, sizeof(buf), &err), -EINVAL);
	cl_error_free(&err);
	h.n_stanzas = CL_CLX_MAX_STANZAS + 1;
	assert_int_equal(cl_clx_header_encode(&h, k, buf, sizeof(buf), &err), -EINVAL);
	cl_error_free(&err);
	h = sample();
	h.stanzas[0].len = 0;
	assert_int_equal(cl_clx_header_encode(&h, k, buf, sizeof(buf), &err), -EINVAL);
	cl_error_free(&err);
	cl_secret_free(k);
}

int main(void)
{
	const struct CMUnitTest archive_header[] = {
	    cmocka_unit_test(test_round_trip),	     cmocka_unit_test(test_front_and_trailer),
	    cmocka_unit_test(test_every_byte_flip),  cmocka_unit_test(test_unsupported_version),
	    cmocka_unit_test(test_structure_errors), cmocka_unit_test(test_encode_refuses),
	};

	return cmocka_run_group_tests(archive_header, NULL, NULL);
}
