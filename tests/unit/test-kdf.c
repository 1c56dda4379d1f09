/* SPDX-License-Identifier: GPL-2.0-or-later */
/* HKDF-SHA256 known answers: RFC 5869 appendix A.1-A.3, and the .clx key labels
 * (values computed independently with Python's cryptography package). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/archive/format.h"
#include "lib/crypto/kdf.h"
#include "tests/unit/hex.h"

static void check_hkdf(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt,
		       size_t salt_len, const unsigned char *info, size_t info_len,
		       const char *okm_hex)
{
	unsigned char want[128], got[128];
	size_t n = test_unhex(okm_hex, want, sizeof(want));
	struct cl_error *err = NULL;

	assert_int_equal(
	    cl_kdf_hkdf_derive(ikm, ikm_len, salt, salt_len, info, info_len, got, n, &err), 0);
	assert_null(err);
	assert_memory_equal(got, want, n);
}

static void test_rfc5869_case1(void **state)
{
	unsigned char ikm[22], salt[13], info[10];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (unsigned i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)i;
	for (unsigned i = 0; i < sizeof(info); i++)
		info[i] = (unsigned char)(0xf0 + i);
	check_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
		   "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b8"
		   "87185865");
}

static void test_rfc5869_case2(void **state)
{
	unsigned char ikm[80], salt[80], info[80];

	(void)state;
	for (unsigned i = 0; i < 80; i++) {
		ikm[i] = (unsigned char)i;
		salt[i] = (unsigned char)(0x60 + i);
		info[i] = (unsigned char)(0xb0 + i);
	}
	check_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
		   "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7"
		   "827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5"
		   "c1f3434f1d87");
}

static void test_rfc5869_case3_empty_salt_info(void **state)
{
	unsigned char ikm[22];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	check_hkdf(ikm, sizeof(ikm), NULL, 0, NULL, 0,
		   "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4"
		   "b61a96c8");
}

static void test_clx_labels(void **state)
{
	unsigned char dk[32], prefix[8];

	(void)state;
	memset(dk, 0xaa, sizeof(dk));
	for (unsigned i = 0; i < sizeof(prefix); i++)
		prefix[i] = (unsigned char)i;
	check_hkdf(dk, sizeof(dk), prefix, sizeof(prefix),
		   (const unsigned char *)CL_CLX_INFO_PAYLOAD, strlen(CL_CLX_INFO_PAYLOAD),
		   "dfa36fd0836418c2a92886c52690c4852e7c4c13bdb941944b7810b1071c51e0");
	check_hkdf(dk, sizeof(dk), prefix, sizeof(prefix), (const unsigned char *)CL_CLX_INFO_MAC,
		   strlen(CL_CLX_INFO_MAC),
		   "00d1a52f7d18c69c3ae13f262eaccd81210a6d1f575e6832aa98c4de6b739eac");
}

static void test_secret_variant(void **state)
{
	struct cl_error *err = NULL;
	struct cl_secret *ikm = cl_secret_new(32, &err), *out;
	unsigned char prefix[8] = {0, 1, 2, 3, 4, 5, 6, 7}, want[32];

	(void)state;
	assert_non_null(ikm);
	memset(ikm->data, 0xaa, 32);
	out = cl_kdf_hkdf_secret(ikm, prefix, sizeof(prefix), CL_CLX_INFO_PAYLOAD, 32, &err);
	assert_non_null(out);
	test_unhex("dfa36fd0836418c2a92886c52690c4852e7c4c13bdb941944b7810b1071c51e0", want, 32);
	assert_memory_equal(out->data, want, 32);
	cl_secret_free(out);
	cl_secret_free(ikm);
}

static void test_bad_lengths(void **state)
{
	unsigned char ikm[1] = {1}, out[8160 + 1];
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_kdf_hkdf_derive(ikm, 0, NULL, 0, NULL, 0, out, 32, &err), -EINVAL);
	assert_non_null(err);
	cl_error_free(&err);
	assert_int_equal(cl_kdf_hkdf_derive(ikm, 1, NULL, 0, NULL, 0, out, sizeof(out), &err),
			 -EINVAL);
	cl_error_free(&err);
	assert_int_equal(cl_kdf_hkdf_derive(ikm, 1, NULL, 0, NULL, 0, out, 8160, &err), 0);
	assert_null(err);
}

int main(void)
{
	const struct CMUnitTest kdf[] = {
	    cmocka_unit_test(test_rfc5869_case1),
	    cmocka_unit_test(test_rfc5869_case2),
	    cmocka_unit_test(test_rfc5869_case3_empty_salt_info),
	    cmocka_unit_test(test_clx_labels),
	    cmocka_unit_test(test_secret_variant),
	    cmocka_unit_test(test_bad_lengths),
	};

	return cmocka_run_group_tests(kdf, NULL, NULL);
}
