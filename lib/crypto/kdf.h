/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/**
 * cl_kdf_hkdf_derive() - HKDF-SHA256 (RFC 5869), extract then expand, via EVP_KDF.
 * @ikm: input keying material, @ikm_len bytes (> 0)
 * @salt: salt, @salt_len bytes; NULL or 0 bytes means the RFC's all-zero salt
 * @info: context string, @info_len bytes (may be 0)
 * @out: @out_len bytes of output keying material (1..8160)
 * @err: error out
 * Return: 0 or -errno (@out is wiped on failure).
 */
int cl_kdf_hkdf_derive(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt,
		       size_t salt_len, const unsigned char *info, size_t info_len,
		       unsigned char *out, size_t out_len, struct cl_error **err);

/**
 * cl_kdf_hkdf_secret() - cl_kdf_hkdf_derive() from a secret into a new secret.
 * @ikm: the input key
 * @salt: salt, @salt_len bytes
 * @label: NUL-terminated info string (the NUL is not part of the info)
 * @len: output length
 * @err: error out
 * Return: the derived key in secret memory, or NULL with *err set.
 */
struct cl_secret *cl_kdf_hkdf_secret(const struct cl_secret *ikm, const unsigned char *salt,
				     size_t salt_len, const char *label, size_t len,
				     struct cl_error **err);

/**
 * cl_kdf_fscrypt_key_id() - the fscrypt v2 identifier of master key @key, as the kernel
 * computes it (fs/crypto/hkdf.c: HKDF-SHA512, zero salt, info "fscrypt\0" || 0x01), for
 * kernels without AF_ALG (lib/fscrypt/keyid.c is the fast path).
 * Return: 0 and @out, or -errno.
 */
int cl_kdf_fscrypt_key_id(const struct cl_secret *key, unsigned char out[16],
			  struct cl_error **err);
