/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

#define CL_AEAD_KEY_LEN 32
#define CL_AEAD_NONCE_LEN 12
#define CL_AEAD_TAG_LEN 16

/**
 * cl_aead_seal() - one-shot AES-256-GCM encryption.
 * @key: CL_AEAD_KEY_LEN bytes
 * @nonce: CL_AEAD_NONCE_LEN bytes, never reused with @key for another message
 * @aad: associated data, @aad_len bytes (may be 0)
 * @aad_len: its length
 * @in: @len plaintext bytes
 * @len: 1..INT_MAX
 * @out: @len bytes of ciphertext
 * @tag: CL_AEAD_TAG_LEN bytes
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_aead_seal(const struct cl_secret *key, const unsigned char *nonce, const unsigned char *aad,
		 size_t aad_len, const unsigned char *in, size_t len, unsigned char *out,
		 unsigned char *tag, struct cl_error **err);

/**
 * cl_aead_open() - one-shot AES-256-GCM decryption into secret memory.
 * @key: CL_AEAD_KEY_LEN bytes
 * @nonce: CL_AEAD_NONCE_LEN bytes
 * @aad: associated data, @aad_len bytes
 * @aad_len: its length
 * @in: @len ciphertext bytes
 * @len: 1..INT_MAX
 * @tag: CL_AEAD_TAG_LEN bytes
 * @ret: the plaintext, released only once the tag verifies
 * @err: error out
 * Return: 0, -EBADMSG when the tag does not verify (wrong key, or damaged or moved
 * data), other -errno.
 */
int cl_aead_open(const struct cl_secret *key, const unsigned char *nonce, const unsigned char *aad,
		 size_t aad_len, const unsigned char *in, size_t len, const unsigned char *tag,
		 struct cl_secret **ret, struct cl_error **err);
