/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ocicrypt layer options and annotations (lib/archive/ocicrypt.c): privopts and
 * pubopts in the JSON shape Go's encoding/json gives ocicrypt's structs (standard
 * base64 with padding), round trips, refusals of malformed options, and the keys.jwe
 * annotation with several comma-separated JWEs (ocicrypt appends one per re-encryption).
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

#include "lib/archive/ocicrypt.h"
#include "lib/crypto/b64.h"

static struct cl_occ_priv sample(void)
{
	struct cl_error *err = NULL;
	struct cl_occ_priv p = {.key = cl_secret_new(32, &err)};

	for (int i = 0; i < 32; i++)
		p.key->data[i] = (unsigned char)i;
	for (int i = 0; i < 16; i++)
		p.nonce[i] = (unsigned char)(0xf0 + i);
	memcpy(p.digest, "sha256:", 7);
	memset(p.digest + 7, 'a', 64);
	p.digest[71] = 0;
	return p;
}

static void test_priv_shape(void **state)
{
	struct cl_occ_priv p = sample(), q = {0};
	struct cl_secret *json = NULL;
	struct cl_error *err = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(cl_occ_priv_encode(&p, &json, &n, &err), 0);
	/* what json.Marshal(PrivateLayerBlockCipherOptions) gives, byte for byte */
	assert_int_equal(
	    n, strlen("{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
		      "\"digest\":\"sha256:") +
		   64 + strlen("\",\"cipheroptions\":{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"}}"));
	assert_memory_equal(json->data,
			    "{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"", 55);
	assert_int_equal(cl_occ_priv_decode(json->data, n, &q, &err), 0);
	assert_memory_equal(q.key->data, p.key->data, 32);
	assert_memory_equal(q.nonce, p.nonce, 16);
	assert_string_equal(q.digest, p.digest);
	cl_secret_free(json);
	cl_occ_priv_clear(&p);
	cl_occ_priv_clear(&q);
}

static void priv_bad(const char *json)
{
	struct cl_occ_priv q = {0};
	struct cl_error *err = NULL;

	assert_true(cl_occ_priv_decode((const unsigned char *)json, strlen(json), &q, &err) < 0);
	assert_non_null(err);
	assert_null(q.key);
	cl_error_free(&err);
}

static void test_priv_bad(void **state)
{
	static const char d[] =
	    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	char buf[512];

	(void)state;
	priv_bad("not json");
	priv_bad("[]");
	snprintf(buf, sizeof(buf),
		 "{\"symkey\":\"AAEC\",\"digest\":\"%s\",\"cipheroptions\":"
		 "{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"}}",
		 d);
	priv_bad(buf); /* a 3-byte key */
	snprintf(buf, sizeof(buf),
		 "{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
		 "\"digest\":\"%s\",\"cipheroptions\":{}}",
		 d);
	priv_bad(buf); /* no nonce */
	snprintf(
	    buf, sizeof(buf),
	    "{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","
	    "\"digest\":\"md5:00\",\"cipheroptions\":{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"}}");
	priv_bad(buf); /* not a sha256 digest */
	snprintf(buf, sizeof(buf),
		 "{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
		 "\"digest\":\"%s\",\"cipheroptions\":{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"}}",
		 d);
	priv_bad(buf); /* Go pads: unpadded standard base64 is not what it writes */
}

static char *b64(const char *s)
{
	return cl_b64_encode(s, strlen(s), false);
}

static void test_pub(void **state)
{
	unsigned char h[32], back[32];
	struct cl_error *err = NULL;
	unsigned char *txt = NULL;
	char *ann = NULL, *s;
	size_t n = 0;

	(void)state;
	memset(h, 0x5a, 32);
	assert_int_equal(cl_occ_pub_annotation(h, &ann, &err), 0);
	assert_int_equal(cl_b64_decode(ann, strlen(ann), false, &txt, &n, "t", &err), 0);
	assert_string_equal((char *)txt, "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":"
					 "\"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\","
					 "\"cipheroptions\":{}}");
	assert_int_equal(cl_occ_pub_parse(ann, back, &err), 0);
	assert_memory_equal(back, h, 32);
	free(txt);
	free(ann);
	/* Go's nil map marshals as null: accepted */
	s = b64("{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":"
		"\"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\",\"cipheroptions\":null}");
	assert_int_equal(cl_occ_pub_parse(s, back, &err), 0);
	free(s);
	s = b64("{\"cipher\":\"AES_128_GCM\",\"hmac\":"
		"\"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\"}");
	assert_int_equal(cl_occ_pub_parse(s, back, &err), -ENOTSUP);
	cl_error_free(&err);
	free(s);
	s = b64("{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":"
		"\"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\",\"cipheroptions\":{\"nonce\":"
		"\"AA==\"}}");
	assert_int_equal(cl_occ_pub_parse(s, back, &err), -EINVAL); /* a public nonce */
	cl_error_free(&err);
	free(s);
	s = b64("{\"cipher\":\"AES_256_CTR_HMAC_SHA256\",\"hmac\":\"AAAA\"}");
	assert_int_equal(cl_occ_pub_parse(s, back, &err), -EINVAL); /* short HMAC */
	cl_error_free(&err);
	free(s);
	assert_int_equal(cl_occ_pub_parse("!!!", back, &err), -EINVAL);
	cl_error_free(&err);
}

static void test_keys(void **state)
{
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct cl_occ_priv p = sample(), q = {0};
	struct cl_error *err = NULL;
	char *ja = NULL, *jb = NULL, *both = NULL;

	(void)state;
	assert_int_equal(cl_occ_keys_annotation(&p, &a, 1, &ja, &err), 0);
	assert_int_equal(cl_occ_keys_annotation(&p, &b, 1, &jb, &err), 0);
	assert_true(asprintf(&both, "%s,%s", ja, jb) > 0);
	/* the second JWE of the list opens with b */
	assert_int_equal(cl_occ_keys_unwrap(both, &b, 1, &q, &err), 0);
	assert_memory_equal(q.key->data, p.key->data, 32);
	assert_string_equal(q.digest, p.digest);
	cl_occ_priv_clear(&q);
	assert_int_equal(cl_occ_keys_unwrap(ja, &b, 1, &q, &err), -ENOKEY);
	assert_null(q.key);
	cl_error_free(&err);
	assert_true(cl_occ_keys_unwrap("@@@", &a, 1, &q, &err) < 0);
	cl_error_free(&err);
	free(ja);
	free(jb);
	free(both);
	cl_occ_priv_clear(&p);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_digest(void **state)
{
	unsigned char sha[32];
	char s[72];

	(void)state;
	memset(sha, 0xab, 32);
	cl_occ_digest_str(sha, s);
	assert_true(cl_occ_digest_valid(s));
	assert_string_equal(s + 7,
			    "abababababababababababababababababababababababababababababababab");
	s[10] = 'A';
	assert_false(cl_occ_digest_valid(s));
	assert_false(cl_occ_digest_valid("sha256:ab"));
	assert_false(cl_occ_digest_valid(
	    "sha512:abababababababababababababababababababababababababababababababab"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_priv_shape), cmocka_unit_test(test_priv_bad),
	    cmocka_unit_test(test_pub),	       cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
