/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "lib/crypto/algs.h"
#include "lib/crypto/ossl-err.h"

static struct cl_crypto_algs algs;
static const char *failed;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static EVP_KDF *hkdf;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

void cl_crypto_init(bool lean)
{
	uint64_t opts = lean ? OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
				   OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS
			     : OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS |
				   OPENSSL_INIT_ADD_ALL_DIGESTS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS;

	/* a failure here shows again, with its reason, at the first fetch */
	(void)OPENSSL_init_crypto(opts, NULL);
}

/*
 * HKDF alone: a new layer's key identifier on kernels without AF_ALG needs only this, and
 * each fetch costs the hook's exec path (~0.5 ms for the three others here)
 */
static void hkdf_fetch(void)
{
	hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

EVP_KDF *cl_crypto_hkdf_get(struct cl_error **err)
{
	pthread_once(&hkdf_once, hkdf_fetch);
	if (!hkdf)
		cl_error_ossl(err, ENOPKG, "fetch HKDF from the OpenSSL default provider");
	return hkdf;
}

static void algs_fetch(void)
{
	algs.aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (!algs.aes256gcm)
		failed = "AES-256-GCM";
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!algs.hmac)
		failed = "HMAC";
	algs.hkdf = cl_crypto_hkdf_get(NULL);
	if (!algs.hkdf)
		failed = "HKDF";
	algs.sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	if (!algs.sha256)
		failed = "SHA2-256";
}

const struct cl_crypto_algs *cl_crypto_algs_get(struct cl_error **err)
{
	pthread_once(&algs_once, algs_fetch);
	if (failed) {
		cl_error_ossl(err, ENOPKG, "fetch %s from the OpenSSL default provider", failed);
		return NULL;
	}
	return &algs;
}

int cl_crypto_sha256(const void *buf, size_t len, unsigned char out[32], struct cl_error **err)
{
	const struct cl_crypto_algs *a = cl_crypto_algs_get(err);
	unsigned int n = 0;

	if (!a)
		return -ENOPKG;
	if (EVP_Digest(buf, len, out, &n, a->sha256, NULL) != 1 || n != 32)
		return cl_error_ossl(err, EIO, "sha-256");
	return 0;
}
