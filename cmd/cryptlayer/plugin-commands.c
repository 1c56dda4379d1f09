/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plugin side (cryptlayer-crypto.so): the commands that need OpenSSL or libarchive. */
#include <string.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/crypto/algs.h"

static int run(const struct cl_globals *g, const struct cl_host_ops *host, int argc, char **argv)
{
	static const struct {
		const char *name;
		cl_cmd_fn fn;
	} commands[] = {
	    {"keygen", cl_cmd_keygen},	 {"encrypt", cl_cmd_encrypt},
	    {"decrypt", cl_cmd_decrypt}, {"export", cl_cmd_export},
	    {"import", cl_cmd_import},	 {"keyprovider", cl_cmd_keyprovider},
	};

	cl_crypto_init(false); /* before the key-file path can choose the lean one */
	if (cl_plugin_host_set(host) < 0)
		return CL_EXIT_FAIL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].fn(g, argc, argv);
	return -1;
}

__attribute__((visibility("default"))) const struct cl_crypto_commands cl_crypto_commands = {
    .abi = CL_CRYPTO_COMMANDS_ABI,
    .size = sizeof(struct cl_crypto_commands),
    .run = run,
};
