/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Binary side of lib/crypto/keyfile-ops.h. */
#include <errno.h>

#include "lib/core/plugin.h"
#include "lib/crypto/keyfile-ops.h"

#define CL_CRYPTO_PLUGIN "cryptlayer-crypto.so"

const struct cl_keyfile_ops *cl_keyfile_ops(struct cl_error **err)
{
	const struct cl_keyfile_ops *ops;

	ops = cl_plugin_sym(CL_CRYPTO_PLUGIN, NULL, CL_KEYFILE_OPS_SYMBOL, err);
	if (!ops) {
		cl_error_wrap(err, "persistent keys");
		return NULL;
	}
	if (ops->abi != CL_KEYFILE_OPS_ABI || ops->size != sizeof(*ops)) {
		cl_error_set(err, ELIBBAD, "plugin %s: key-file ABI %u, want %u", CL_CRYPTO_PLUGIN,
			     ops->abi, CL_KEYFILE_OPS_ABI);
		return NULL;
	}
	ops->init(true); /* no-op when a command of the plugin initialised OpenSSL first */
	ops->log_forward_to(cl_vlog); /* a repaired key-file copy is logged where admins look */
	return ops;
}
