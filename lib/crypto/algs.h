/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

#include "lib/core/err.h"

/*
 * Algorithms fetched once per process (OpenSSL 3: an implicit fetch on every
 * EVP_*Init costs a provider lookup and a lock). The objects are shared read-only
 * between threads; every thread still owns its own EVP_CIPHER_CTX (openssl#17064).
 */
struct cl_crypto_algs {
	EVP_CIPHER *aes256gcm;
	EVP_MAC *hmac;
	EVP_KDF *hkdf;
	EVP_MD *sha256;
};

/**
 * cl_crypto_algs_get() - the process-wide fetched algorithms.
 * @err: set if a fetch failed (the failure is remembered)
 * Return: the table, or NULL with *err set.
 */
const struct cl_crypto_algs *cl_crypto_algs_get(struct cl_error **err);

/** cl_crypto_hkdf_get() - HKDF alone, fetched once. Return: it, or NULL with *err set. */
EVP_KDF *cl_crypto_hkdf_get(struct cl_error **err);

/**
 * cl_crypto_sha256() - SHA-256 of @len bytes at @buf into @out (32 bytes).
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_crypto_sha256(const void *buf, size_t len, unsigned char out[32], struct cl_error **err);
