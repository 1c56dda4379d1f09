/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JWE codec (lib/crypto/jwe.c): round trips for RSA-OAEP and ECDH-ES+A256KW on P-256,
 * P-384 and P-521, one recipient (flattened) and several (general serialization),
 * each key opening its own; tampering with the protected header, the ciphertext, the
 * tag or an encrypted key fails; key checks; base64 codecs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "lib/crypto/b64.h"
#include "lib/crypto/jwe.h"

static const char msg[] = "{\"symkey\":\"c2VjcmV0\",\"digest\":\"sha256:00\"}";

static EVP_PKEY *gen(const char *type)
{
	EVP_PKEY *k = !strcmp(type, "RSA") ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
					   : EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);

	assert_non_null(k);
	return k;
}

static void open_ok(const char *json, EVP_PKEY *k)
{
	struct cl_error *err = NULL;
	struct cl_secret *pt = NULL;
	size_t n = 0;

	assert_int_equal(cl_jwe_decrypt(json, strlen(json), &k, 1, &pt, &n, &err), 0);
	assert_int_equal(n, strlen(msg));
	assert_memory_equal(pt->data, msg, n);
	cl_secret_free(pt);
}

static void open_fails(const char *json, EVP_PKEY *k)
{
	struct cl_error *err = NULL;
	struct cl_secret *pt = NULL;
	size_t n = 0;

	assert_true(cl_jwe_decrypt(json, strlen(json), &k, 1, &pt, &n, &err) < 0);
	assert_non_null(err);
	assert_null(pt);
	cl_error_free(&err);
}

static void roundtrip(const char *type)
{
	EVP_PKEY *k = gen(type), *other = gen(type);
	struct cl_error *err = NULL;
	char *json = NULL;

	assert_int_equal(cl_jwe_key_check(k, "k", &err), 0);
	assert_int_equal(
	    cl_jwe_encrypt((const unsigned char *)msg, strlen(msg), &k, 1, &json, &err), 0);
	assert_null(strstr(json, "recipients")); /* flattened, like go-jose */
	open_ok(json, k);
	open_fails(json, other);
	free(json);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void test_rsa(void **state)
{
	(void)state;
	roundtrip("RSA");
}

static void test_ec(void **state)
{
	(void)state;
	roundtrip("P-256");
	roundtrip("P-384");
	roundtrip("P-521");
}

static void test_multi(void **state)
{
	EVP_PKEY *k[3] = {gen("RSA"), gen("P-256"), gen("P-521")}, *stranger = gen("P-256");
	struct cl_error *err = NULL;
	char *json = NULL;

	(void)state;
	assert_int_equal(cl_jwe_encrypt((const unsigned char *)msg, strlen(msg), k, 3, &json, &err),
			 0);
	assert_non_null(strstr(json, "\"recipients\""));
	for (int i = 0; i < 3; i++)
		open_ok(json, k[i]);
	open_fails(json, stranger);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
	EVP_PKEY_free(stranger);
	free(json);
}

/* flip one character of the member @key's value (base64url: stays valid) */
static char *tamper(const char *json, const char *key)
{
	char *t = strdup(json), *p = strstr(t, key);

	assert_non_null(p);
	p += strlen(key) + 3;
	*p = *p == 'A' ? 'B' : 'A';
	return t;
}

static void test_tamper(void **state)
{
	static const char *const members[] = {"\"protected", "\"ciphertext", "\"tag",
					      "\"encrypted_key", "\"iv"};
	EVP_PKEY *k = gen("P-256"), *r = gen("RSA");
	struct cl_error *err = NULL;
	char *json = NULL, *json2 = NULL;

	(void)state;
	assert_int_equal(
	    cl_jwe_encrypt((const unsigned char *)msg, strlen(msg), &k, 1, &json, &err), 0);
	assert_int_equal(
	    cl_jwe_encrypt((const unsigned char *)msg, strlen(msg), &r, 1, &json2, &err), 0);
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		char *t = tamper(json, members[i]), *t2 = tamper(json2, members[i]);

		open_fails(t, k);
		open_fails(t2, r);
		free(t);
		free(t2);
	}
	open_fails("{}", k);
	open_fails("not json", k);
	open_fails("{\"protected\":\"e30\",\"iv\":\"\",\"ciphertext\":\"\",\"tag\":\"\"}", k);
	free(json);
	free(json2);
	EVP_PKEY_free(k);
	EVP_PKEY_free(r);
}

static void test_key_check(void **state)
{
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_jwe_key_check(small, "s", &err), -EINVAL);
	cl_error_free(&err);
	assert_int_equal(cl_jwe_key_check(x, "x", &err), -EINVAL);
	cl_error_free(&err);
	assert_int_equal(cl_jwe_key_check(k1, "k1", &err), -EINVAL);
	cl_error_free(&err);
	EVP_PKEY_free(small);
	EVP_PKEY_free(x);
	EVP_PKEY_free(k1);
}

static void dec(const char *s, bool url, const char *want)
{
	struct cl_error *err = NULL;
	unsigned char *b = NULL;
	size_t n = 0;

	if (!want) {
		assert_true(cl_b64_decode(s, strlen(s), url, &b, &n, "t", &err) < 0);
		cl_error_free(&err);
		return;
	}
	assert_int_equal(cl_b64_decode(s, strlen(s), url, &b, &n, "t", &err), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(b, want, n);
	free(b);
}

static void test_b64(void **state)
{
	char *s;

	(void)state;
	s = cl_b64_encode("\xfb\xff", 2, false);
	assert_string_equal(s, "+/8=");
	free(s);
	s = cl_b64_encode("\xfb\xff", 2, true);
	assert_string_equal(s, "-_8");
	free(s);
	dec("", false, "");
	dec("Zm9vYg==", false, "foob");
	dec("Zm9vYmE=", false, "fooba");
	dec("Zm9vYmFy", false, "foobar");
	dec("Zm9vYg", true, "foob");
	dec("Zm9vYg==", true, "foob");
	dec("Zm9vYg", false, NULL);   /* standard needs padding */
	dec("Zm9v-g==", false, NULL); /* url alphabet in standard */
	dec("Zm9v+g", true, NULL);    /* standard alphabet in url */
	dec("Zm9vY", true, NULL);     /* impossible length */
	dec("Zm9=Yg==", false, NULL);
	dec("Zm9vYg===", false, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsa),	      cmocka_unit_test(test_ec),
	    cmocka_unit_test(test_multi),     cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_key_check), cmocka_unit_test(test_b64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
