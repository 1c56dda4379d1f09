/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

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
