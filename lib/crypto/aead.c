/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/core/cleanup.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/ossl-err.h"

CL_DEFINE_CLEANUP(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)

/* a fresh context keyed with @key and @nonce, with @aad absorbed */
static EVP_CIPHER_CTX *gcm_begin(int enc, const struct cl_secret *key, const unsigned char *nonce,
				 const unsigned char *aad, size_t aad_len, size_t len,
				 struct cl_error **err)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = NULL;
	const struct cl_crypto_algs *a = cl_crypto_algs_get(err);
	int n = 0;

	if (!a)
		return NULL;
	if (key->len != CL_AEAD_KEY_LEN || len == 0 || len > INT_MAX || aad_len > INT_MAX) {
		cl_error_set(err, EINVAL, "aes-256-gcm: bad key or data length");
		return NULL;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_CipherInit_ex2(ctx, a->aes256gcm, key->data, nonce, enc, NULL) != 1 ||
	    (aad_len && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)) {
		cl_error_ossl(err, EIO, "aes-256-gcm");
		return NULL;
	}
	return TAKE_PTR(ctx);
}

int cl_aead_seal(const struct cl_secret *key, const unsigned char *nonce, const unsigned char *aad,
		 size_t aad_len, const unsigned char *in, size_t len, unsigned char *out,
		 unsigned char *tag, struct cl_error **err)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx =
	    gcm_begin(1, key, nonce, aad, aad_len, len, err);
	int n = 0, m = 0;

	if (!ctx)
		return cl_error_errnum(err);
	if (EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + n, &m) != 1 || (size_t)(n + m) != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CL_AEAD_TAG_LEN, tag) != 1)
		return cl_error_ossl(err, EIO, "aes-256-gcm seal");
	return 0;
}

int cl_aead_open(const struct cl_secret *key, const unsigned char *nonce, const unsigned char *aad,
		 size_t aad_len, const unsigned char *in, size_t len, const unsigned char *tag,
		 struct cl_secret **ret, struct cl_error **err)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx =
	    gcm_begin(0, key, nonce, aad, aad_len, len, err);
	_cleanup_secret_ struct cl_secret *pt = NULL;
	unsigned char t[CL_AEAD_TAG_LEN];
	int n = 0, m = 0;

	if (!ctx)
		return cl_error_errnum(err);
	pt = cl_secret_new(len, err);
	if (!pt)
		return -ENOMEM;
	memcpy(t, tag, sizeof(t));
	if (EVP_CipherUpdate(ctx, pt->data, &n, in, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CL_AEAD_TAG_LEN, t) != 1)
		return cl_error_ossl(err, EIO, "aes-256-gcm open");
	if (EVP_CipherFinal_ex(ctx, pt->data + n, &m) != 1)
		return cl_error_ossl(err, EBADMSG, "aes-256-gcm: authentication failed");
	*ret = TAKE_PTR(pt);
	return 0;
}
