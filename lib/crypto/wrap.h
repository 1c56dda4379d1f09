/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/core/err.h"
#include "lib/crypto/recipient.h"
#include "lib/crypto/secret.h"

/*
 * Wrapping a stream's data key for one recipient (docs/clx-format.md §4).
 *
 * X25519: a fresh ephemeral key e per recipient; E = e·G, R = the recipient's key;
 *   k = HKDF-SHA256(ikm = X25519(e, R), salt = E ‖ R, info = CL_WRAP_X25519_INFO, 32);
 *   body = E ‖ AES-256-GCM(k, nonce = 0^12, aad = "", data key) ‖ tag   (80 bytes).
 *   k is used once, so the all-zero nonce is safe; salting with E ‖ R binds both keys.
 * RSA: body = RSA-OAEP(SHA-256, MGF1-SHA-256, label = CL_WRAP_RSA_LABEL, data key).
 */

#define CL_WRAP_KEY_LEN 32
#define CL_WRAP_X25519_LEN (CL_X25519_LEN + CL_WRAP_KEY_LEN + 16)
#define CL_WRAP_MAX_LEN (CL_RSA_MAX_BITS / 8)
#define CL_WRAP_X25519_INFO "cryptlayer clx v1 x25519 wrap key"
#define CL_WRAP_RSA_LABEL "cryptlayer clx v1 rsa-oaep"

/**
 * cl_wrap_x25519_seal_eph() - wrap @dk for @rcpt with the given ephemeral key.
 * @eph: ephemeral X25519 private key (tests pass a fixed one for a known answer)
 * @rcpt: recipient's raw public key
 * @dk: the data key, CL_WRAP_KEY_LEN bytes
 * @out: CL_WRAP_X25519_LEN bytes
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_wrap_x25519_seal_eph(EVP_PKEY *eph, const unsigned char rcpt[CL_X25519_LEN],
			    const struct cl_secret *dk, unsigned char out[CL_WRAP_X25519_LEN],
			    struct cl_error **err);

/**
 * cl_wrap_x25519_open() - unwrap an X25519 stanza body with @id.
 * @id: an X25519 identity
 * @body: the stanza body
 * @len: its length (must be CL_WRAP_X25519_LEN)
 * @ret_dk: the data key, in secret memory
 * @err: error out
 * Return: 0, -ENOKEY if the stanza is not for @id (or damaged), other -errno.
 */
int cl_wrap_x25519_open(const struct cl_identity *id, const unsigned char *body, size_t len,
			struct cl_secret **ret_dk, struct cl_error **err);

/**
 * cl_wrap_key_seal() - wrap @dk for @r (fresh ephemeral key for X25519).
 * @r: the recipient
 * @dk: the data key
 * @out: at least CL_WRAP_MAX_LEN bytes
 * @ret_len: length of the body written to @out
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_wrap_key_seal(const struct cl_recipient *r, const struct cl_secret *dk, unsigned char *out,
		     size_t *ret_len, struct cl_error **err);

/**
 * cl_wrap_key_open() - unwrap a stanza body of key type @type with @id.
 * @id: the identity
 * @type: the stanza's key type
 * @body: the stanza body, @len bytes
 * @len: its length
 * @ret_dk: the data key in secret memory
 * @err: error out
 * Return: 0, -ENOKEY if the stanza is not for @id, other -errno.
 */
int cl_wrap_key_open(const struct cl_identity *id, enum cl_key_type type, const unsigned char *body,
		     size_t len, struct cl_secret **ret_dk, struct cl_error **err);
