/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/*
 * JWE (RFC 7516, JSON serialization) as containers/ocicrypt's keywrap/jwe writes and
 * reads it through go-jose: content encryption A256GCM (RFC 7518 §5.3), one recipient
 * per public key: RSA-OAEP (SHA-1, MGF1-SHA-1; RSA >= 2048 bits) or ECDH-ES+A256KW (EC
 * P-256, P-384, P-521: ephemeral key in "epk", Concat KDF = OpenSSL's SSKDF with
 * SHA-256, AES key wrap RFC 3394). One recipient: the flattened serialization with
 * every header protected (what go-jose writes); several: the general one with "enc"
 * protected and "alg"/"epk" per recipient. The reader takes both, and also RSA-OAEP-256.
 */

#define CL_JWE_MAX_RECIPIENTS 64
#define CL_JWE_MAX_LEN (1U << 20)

/**
 * cl_jwe_encrypt() - encrypt @len bytes at @pt to each of @n public keys.
 * @rcpts: RSA or EC public keys (checked with cl_jwe_key_check())
 * @ret_json: malloc'ed NUL-terminated JWE JSON
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_jwe_encrypt(const unsigned char *pt, size_t len, EVP_PKEY *const *rcpts, size_t n,
		   char **ret_json, struct cl_error **err);

/**
 * cl_jwe_decrypt() - decrypt a JWE JSON with the first of @nids private keys that fits.
 * @json: the JWE, @len bytes
 * @ret_pt: secret memory with the plaintext in its first @ret_len bytes
 * @err: EINVAL for malformed input, ENOKEY if no recipient opens with any key (a
 *       tampered header or ciphertext looks the same: the GCM tag fails)
 * Return: 0 or -errno.
 */
int cl_jwe_decrypt(const char *json, size_t len, EVP_PKEY *const *ids, size_t nids,
		   struct cl_secret **ret_pt, size_t *ret_len, struct cl_error **err);

/**
 * cl_jwe_key_check() - is @pkey an RSA (2048..8192 bits) or EC P-256/384/521 key?
 * @name: for messages
 * Return: 0, or -EINVAL with *err set.
 */
int cl_jwe_key_check(EVP_PKEY *pkey, const char *name, struct cl_error **err);
