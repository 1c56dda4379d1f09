/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data-key wrapping: X25519 round trip, a frozen known answer (computed independently
 * with Python's cryptography package: X25519 + HKDF-SHA256 + AES-256-GCM), RSA-OAEP
 * round trip and the refusal of small RSA keys.
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
#include <openssl/pem.h>

#include "lib/crypto/recipient.h"
#include "lib/crypto/wrap.h"
#include "tests/unit/hex.h"

/* recipient private key = bytes 0x20..0x3f, ephemeral = 0x00..0x1f, data key = 0xaa × 32 */
static const char kat_rcpt_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/\n"
    "-----END PRIVATE KEY-----\n";
static const char kat_rcpt_pub[] =
    "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
static const char kat_body[] = "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"
			       "9a49f10592e60af96f2e753a37f64d956d1f61f3ce034613a3fa34eac9860917"
			       "84f5016a0f9a10f3c02acddea60289bf";

static struct cl_secret *data_key(unsigned char fill)
{
	struct cl_error *err = NULL;
	struct cl_secret *dk = cl_secret_new(CL_WRAP_KEY_LEN, &err);

	assert_non_null(dk);
	memset(dk->data, fill, dk->len);
	return dk;
}

static struct cl_identity *identity_from_pem(const char *pem)
{
	struct cl_error *err = NULL;
	struct cl_secret *s = cl_secret_new(strlen(pem), &err);
	struct cl_identity *id = NULL;

	assert_non_null(s);
	memcpy(s->data, pem, strlen(pem));
	assert_int_equal(cl_identity_load_pem(s, strlen(pem), "kat", &id, &err), 0);
	cl_secret_free(s);
	return id;
}

/* the public half of @id as a recipient, through PEM like KEY.pub */
static struct cl_recipient *recipient_of(const struct cl_identity *id)
{
	struct cl_secret *priv = NULL;
	struct cl_recipient *r = NULL;
	struct cl_error *err = NULL;
	char *pub = NULL;
	size_t plen = 0;

	assert_int_equal(cl_identity_to_pem(id, &priv, &plen, &pub, &err), 0);
	assert_int_equal(cl_recipient_load_pem(pub, strlen(pub), "pub", &r, &err), 0);
	cl_secret_free(priv);
	free(pub);
	return r;
}

static void test_x25519_known_answer(void **state)
{
	unsigned char eph_raw[32], want[CL_WRAP_X25519_LEN], got[CL_WRAP_X25519_LEN], pub[32];
	struct cl_identity *id = identity_from_pem(kat_rcpt_pem);
	struct cl_secret *dk = data_key(0xaa), *out = NULL;
	struct cl_error *err = NULL;
	EVP_PKEY *eph;

	(void)state;
	for (unsigned i = 0; i < 32; i++)
		eph_raw[i] = (unsigned char)i;
	eph = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, eph_raw, sizeof(eph_raw));
	assert_non_null(eph);
	test_unhex(kat_rcpt_pub, pub, sizeof(pub));
	assert_memory_equal(id->x25519, pub, 32);
	test_unhex(kat_body, want, sizeof(want));
	assert_int_equal(cl_wrap_x25519_seal_eph(eph, id->x25519, dk, got, &err), 0);
	assert_memory_equal(got, want, sizeof(want));
	/* and it opens with the recipient's key */
	assert_int_equal(cl_wrap_x25519_open(id, want, sizeof(want), &out, &err), 0);
	assert_memory_equal(out->data, dk->data, CL_WRAP_KEY_LEN);
	cl_secret_free(out);
	cl_secret_free(dk);
	EVP_PKEY_free(eph);
	cl_identity_free(id);
}

static void test_x25519_round_trip_and_wrong_key(void **state)
{
	struct cl_identity *id = NULL, *other = NULL;
	struct cl_secret *dk = data_key(0x5c), *out = NULL;
	unsigned char body[CL_WRAP_MAX_LEN];
	struct cl_recipient *r;
	struct cl_error *err = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(cl_identity_generate(&id, &err), 0);
	assert_int_equal(cl_identity_generate(&other, &err), 0);
	r = recipient_of(id);
	assert_int_equal(r->type, CL_KEY_X25519);
	assert_int_equal(cl_wrap_key_seal(r, dk, body, &len, &err), 0);
	assert_int_equal(len, CL_WRAP_X25519_LEN);
	assert_int_equal(cl_wrap_key_open(id, CL_KEY_X25519, body, len, &out, &err), 0);
	assert_memory_equal(out->data, dk->data, CL_WRAP_KEY_LEN);
	cl_secret_free(out);
	out = NULL;
	/* not ours: ENOKEY, no key returned */
	assert_int_equal(cl_wrap_key_open(other, CL_KEY_X25519, body, len, &out, &err), -ENOKEY);
	assert_null(out);
	cl_error_free(&err);
	/* any flipped bit (ephemeral key, wrapped key, tag) is refused */
	for (size_t i = 0; i < len; i += 7) {
		body[i] ^= 0x01;
		assert_true(cl_wrap_key_open(id, CL_KEY_X25519, body, len, &out, &err) < 0);
		assert_null(out);
		cl_error_free(&err);
		body[i] ^= 0x01;
	}
	/* a low-order ephemeral key (all zero: shared secret 0) is "not ours", not fatal */
	memset(body, 0, CL_X25519_LEN);
	assert_int_equal(cl_wrap_key_open(id, CL_KEY_X25519, body, len, &out, &err), -ENOKEY);
	assert_null(out);
	cl_error_free(&err);
	cl_secret_free(dk);
	cl_recipient_free(r);
	cl_identity_free(id);
	cl_identity_free(other);
}

static struct cl_identity *rsa_identity(int bits)
{
	EVP_PKEY *pkey = EVP_RSA_gen((unsigned)bits);
	BIO *bio = BIO_new(BIO_s_mem());
	struct cl_identity *id = NULL;
	struct cl_error *err = NULL;
	struct cl_secret *s;
	char *data = NULL;
	long n;

	assert_non_null(pkey);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	s = cl_secret_new((size_t)n, &err);
	memcpy(s->data, data, (size_t)n);
	if (cl_identity_load_pem(s, (size_t)n, "rsa", &id, &err) < 0) {
		assert_int_equal(err->errnum, EINVAL);
		assert_non_null(strstr(err->msg, "too small"));
		cl_error_free(&err);
	}
	cl_secret_free(s);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return id;
}

static void test_rsa_round_trip(void **state)
{
	struct cl_identity *id = rsa_identity(3072);
	struct cl_secret *dk = data_key(0x11), *out = NULL;
	unsigned char body[CL_WRAP_MAX_LEN];
	struct cl_recipient *r;
	struct cl_error *err = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(id);
	r = recipient_of(id);
	assert_int_equal(r->type, CL_KEY_RSA);
	assert_int_equal(cl_wrap_key_seal(r, dk, body, &len, &err), 0);
	assert_int_equal(len, 384);
	assert_int_equal(cl_wrap_key_open(id, CL_KEY_RSA, body, len, &out, &err), 0);
	assert_memory_equal(out->data, dk->data, CL_WRAP_KEY_LEN);
	cl_secret_free(out);
	out = NULL;
	body[100] ^= 0x80;
	assert_int_equal(cl_wrap_key_open(id, CL_KEY_RSA, body, len, &out, &err), -ENOKEY);
	assert_null(out);
	cl_error_free(&err);
	cl_secret_free(dk);
	cl_recipient_free(r);
	cl_identity_free(id);
}

static void test_rsa_2048_refused(void **state)
{
	(void)state;
	assert_null(rsa_identity(2048));
}

static void test_not_a_key(void **state)
{
	struct cl_recipient *r = NULL;
	struct cl_error *err = NULL;
	const char junk[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";

	(void)state;
	assert_int_equal(cl_recipient_load_pem(junk, sizeof(junk) - 1, "junk", &r, &err), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err->msg, "'junk': not a PEM public key"));
	cl_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest wrap[] = {
	    cmocka_unit_test(test_x25519_known_answer),
	    cmocka_unit_test(test_x25519_round_trip_and_wrong_key),
	    cmocka_unit_test(test_rsa_round_trip),
	    cmocka_unit_test(test_rsa_2048_refused),
	    cmocka_unit_test(test_not_a_key),
	};

	return cmocka_run_group_tests(wrap, NULL, NULL);
}
