/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/*
 * The layer options of containers/ocicrypt (blockcipher/blockcipher.go, encryption.go)
 * and the annotations that carry them (docs/clx-format.md §9):
 *
 *   org.opencontainers.image.enc.keys.jwe  = base64(JWE(privopts)) [,base64(JWE)]…
 *   org.opencontainers.image.enc.pubopts   = base64(pubopts)
 *   privopts = {"symkey":b64(32 bytes),"digest":"sha256:<hex of the plain blob>",
 *               "cipheroptions":{"nonce":b64(16 bytes)}}
 *   pubopts  = {"cipher":"AES_256_CTR_HMAC_SHA256","hmac":b64(32 bytes),
 *               "cipheroptions":{}}
 *
 * (Go's encoding/json: []byte is standard base64 with padding.)
 */

#define CL_OCC_KEYS_JWE "org.opencontainers.image.enc.keys.jwe"
#define CL_OCC_PUBOPTS "org.opencontainers.image.enc.pubopts"
#define CL_OCC_ANN_PREFIX "org.opencontainers.image.enc."
#define CL_OCC_CIPHER "AES_256_CTR_HMAC_SHA256"
#define CL_OCC_DIGEST_LEN 71 /* "sha256:" + 64 hex */
#define CL_OCC_MAX_ANNOTATION (1U << 20)

struct cl_occ_priv {
	struct cl_secret *key;		    /* 32 bytes */
	unsigned char nonce[16];	    /* initial counter block */
	char digest[CL_OCC_DIGEST_LEN + 1]; /* of the plain (compressed) layer blob */
};

/** cl_occ_digest_str() - "sha256:" + lowercase hex of @sha into @out (72 bytes). */
void cl_occ_digest_str(const unsigned char sha[32], char out[CL_OCC_DIGEST_LEN + 1]);

/** cl_occ_digest_valid() - is @s "sha256:" followed by 64 lowercase hex digits? */
bool cl_occ_digest_valid(const char *s);

/**
 * cl_occ_priv_encode() - privopts JSON of @p, in secret memory (@ret_len bytes).
 * Return: 0 or -errno.
 */
int cl_occ_priv_encode(const struct cl_occ_priv *p, struct cl_secret **ret, size_t *ret_len,
		       struct cl_error **err);

/**
 * cl_occ_priv_decode() - parse privopts JSON into @p (p->key is allocated).
 * @err: EINVAL naming the bad member
 * Return: 0 or -errno.
 */
int cl_occ_priv_decode(const unsigned char *json, size_t len, struct cl_occ_priv *p,
		       struct cl_error **err);

/** cl_occ_priv_clear() - free the key; @p may be reused. */
void cl_occ_priv_clear(struct cl_occ_priv *p);

/** cl_occ_pub_annotation() - base64(pubopts) for @hmac, malloc'ed. Return: 0 or -errno. */
int cl_occ_pub_annotation(const unsigned char hmac[32], char **ret, struct cl_error **err);

/**
 * cl_occ_pub_parse() - the HMAC from a pubopts annotation; the cipher must be
 * AES_256_CTR_HMAC_SHA256 and cipheroptions empty (ocicrypt would prefer a public
 * nonce over the wrapped one: not accepted here).
 * Return: 0 or -errno (EINVAL, ENOTSUP for another cipher).
 */
int cl_occ_pub_parse(const char *b64, unsigned char hmac[32], struct cl_error **err);

/**
 * cl_occ_keys_annotation() - the keys.jwe annotation: privopts of @p wrapped in one JWE
 * to the @n recipients (as ocicrypt's jwe keywrapper does), base64.
 * Return: 0 or -errno.
 */
int cl_occ_keys_annotation(const struct cl_occ_priv *p, EVP_PKEY *const *rcpts, size_t n,
			   char **ret, struct cl_error **err);

/**
 * cl_occ_keys_unwrap() - try each comma-separated JWE of a keys.jwe annotation with
 * the @nids keys; the first that opens gives the privopts in @p.
 * @err: ENOKEY if none opens
 * Return: 0 or -errno.
 */
int cl_occ_keys_unwrap(const char *annotation, EVP_PKEY *const *ids, size_t nids,
		       struct cl_occ_priv *p, struct cl_error **err);
