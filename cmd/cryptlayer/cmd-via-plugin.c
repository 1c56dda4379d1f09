/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Binary side: hand keygen, encrypt, decrypt, export and import to the crypto plugin. */
#include <errno.h>
#include <stddef.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/plugin.h"

static const struct cl_host_ops host = {
    .abi = CL_CRYPTO_COMMANDS_ABI,
    .size = sizeof(struct cl_host_ops),
    .layer_create = cl_layer_create,
    .layer_find = cl_layer_find,
    .layer_new_id = cl_layer_new_id,
    .store_free = cl_store_free,
    .record_clear = cl_record_clear,
    .vlog = cl_vlog,
};

int cl_cmd_via_plugin(const struct cl_globals *g, int argc, char **argv)
{
	const struct cl_crypto_commands *c;
	struct cl_error *err = NULL;

	c = cl_plugin_sym(CL_CRYPTO_PLUGIN_NAME, NULL, CL_CRYPTO_COMMANDS_SYMBOL, &err);
	if (c && (c->abi != CL_CRYPTO_COMMANDS_ABI || c->size != sizeof(*c)))
		cl_error_set(&err, ELIBBAD, "plugin %s: ABI %u, want %u", CL_CRYPTO_PLUGIN_NAME,
			     c->abi, CL_CRYPTO_COMMANDS_ABI);
	if (err)
		return cl_cli_fail(&err, argv[0]);
	return c->run(g, &host, argc, argv);
}
