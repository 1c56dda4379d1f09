/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plugin side of lib/crypto/keyfile-ops.h: built into cryptlayer-crypto.so only. */
#include "lib/crypto/algs.h"
#include "lib/crypto/keyfile-ops.h"

__attribute__((visibility("default"))) const struct cl_keyfile_ops cl_keyfile_plugin_ops = {
    .abi = CL_KEYFILE_OPS_ABI,
    .size = sizeof(struct cl_keyfile_ops),
    .seal = cl_keyfile_seal,
    .write_at = cl_keyfile_write_at,
    .load_at = cl_keyfile_load_at,
    .erase_at = cl_keyfile_erase_at,
    .fscrypt_key_id = cl_kdf_fscrypt_key_id,
    .log_forward_to = cl_log_forward_to,
    .init = cl_crypto_init,
};
