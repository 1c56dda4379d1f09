/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "lib/core/cleanup.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/kdf.h"
#include "lib/crypto/ossl-err.h"

CL_DEFINE_CLEANUP(EVP_KDF_CTX *, EVP_KDF_CTX_free)

static int hkdf(const char *digest, size_t hash_len, const unsigned char *ikm, size_t ikm_len,
		const unsigned char *salt, size_t salt_len, const unsigned char *info,
		size_t info_len, unsigned char *out, size_t out_len, struct cl_error **err)
{
	_cleanup_(EVP_KDF_CTX_freep) EVP_KDF_CTX *kctx = NULL;
	EVP_KDF *kdf = cl_crypto_hkdf_get(err);
	OSSL_PARAM params[5], *p = params;
	unsigned char zero = 0;

	if (!kdf)
		return -ENOPKG;
	if (ikm_len == 0 || out_len == 0 || out_len > 255 * hash_len)
		return cl_error_set(err, EINVAL, "hkdf: bad lengths (ikm %zu, out %zu)", ikm_len,
				    out_len);
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx)
		return cl_error_ossl(err, ENOMEM, "hkdf context");
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	/* OpenSSL wants a non-NULL pointer; a 0-length salt is RFC 5869's default */
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt ? (void *)salt : &zero,
						 salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info ? (void *)info : &zero,
						 info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
		cl_wipe(out, out_len);
		return cl_error_ossl(err, EIO, "hkdf-%s", digest);
	}
	return 0;
}

int cl_kdf_hkdf_derive(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt,
		       size_t salt_len, const unsigned char *info, size_t info_len,
		       unsigned char *out, size_t out_len, struct cl_error **err)
{
	return hkdf("SHA256", 32, ikm, ikm_len, salt, salt_len, info, info_len, out, out_len, err);
}

int cl_kdf_fscrypt_key_id(const struct cl_secret *key, unsigned char out[16], struct cl_error **err)
{
	/* fs/crypto: HKDF-SHA512, default (zero) salt, info "fscrypt\0" || context 1 */
	static const unsigned char info[] = {'f', 's', 'c', 'r', 'y', 'p', 't', 0, 1};

	return hkdf("SHA512", 64, key->data, key->len, NULL, 0, info, sizeof(info), out, 16, err);
}

struct cl_secret *cl_kdf_hkdf_secret(const struct cl_secret *ikm, const unsigned char *salt,
				     size_t salt_len, const char *label, size_t len,
				     struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *out = cl_secret_new(len, err);

	if (!out)
		return NULL;
	if (cl_kdf_hkdf_derive(ikm->data, ikm->len, salt, salt_len, (const unsigned char *)label,
			       strlen(label), out->data, len, err) < 0)
		return NULL;
	return TAKE_PTR(out);
}
