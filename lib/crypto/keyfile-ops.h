/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/core/err.h"
#include "lib/core/log.h"
#include "lib/crypto/kdf.h"
#include "lib/crypto/keyfile.h"

/*
 * The key-file functions (OpenSSL) as the binary reaches them: through the crypto plugin,
 * so that hooks of ephemeral layers never load OpenSSL (lib/core/plugin.h).
 */
#define CL_KEYFILE_OPS_SYMBOL "cl_keyfile_plugin_ops"
#define CL_KEYFILE_OPS_ABI 4

struct cl_keyfile_ops {
	unsigned abi, size;
	__typeof__(cl_keyfile_seal) *seal;
	__typeof__(cl_keyfile_write_at) *write_at;
	__typeof__(cl_keyfile_load_at) *load_at;
	__typeof__(cl_keyfile_erase_at) *erase_at;
	__typeof__(cl_kdf_fscrypt_key_id) *fscrypt_key_id;
	__typeof__(cl_log_forward_to) *log_forward_to; /* the plugin logs through the binary */
	void (*init)(bool lean); /* cl_crypto_init(), called with lean=true at load */
};

/**
 * cl_keyfile_ops() - load cryptlayer-crypto.so (once) and return its key-file functions.
 * Return: the table, or NULL with *err set.
 */
const struct cl_keyfile_ops *cl_keyfile_ops(struct cl_error **err);
