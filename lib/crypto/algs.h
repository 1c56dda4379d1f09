/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
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

/**
 * cl_crypto_init() - initialise OpenSSL once for this process, before its first use.
 * @lean: true for the key-file path (hooks, create, destroy: a key identifier without
 *        AF_ALG, sealing and unsealing persistent keys), which fetches HKDF, HMAC,
 *        AES-256-GCM and SHA2-256 by name from the default provider only: no system
 *        openssl.cnf and no legacy name tables, which cost the hook ~0.5 ms here.
 *        false for the commands (export, import, keygen, ...), which read PEM keys and
 *        honour the system configuration. The first call wins; later ones change nothing.
 */
void cl_crypto_init(bool lean);

/** cl_crypto_hkdf_get() - HKDF alone, fetched once. Return: it, or NULL with *err set. */
EVP_KDF *cl_crypto_hkdf_get(struct cl_error **err);

/**
 * cl_crypto_sha256() - SHA-256 of @len bytes at @buf into @out (32 bytes).
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_crypto_sha256(const void *buf, size_t len, unsigned char out[32], struct cl_error **err);
