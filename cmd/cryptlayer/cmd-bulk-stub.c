/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Commands whose implementation has not landed yet: refuse clearly (DESIGN §5). */
#include <stdio.h>

#include "cmd/cryptlayer/cli.h"

static int not_yet(const char *cmd)
{
	fprintf(stderr, "cryptlayer: %s: not supported yet\n", cmd);
	return CL_EXIT_FAIL;
}

int cl_cmd_export(const struct cl_globals *g, int argc, char **argv)
{
	(void)g, (void)argc;
	return not_yet(argv[0]);
}

int cl_cmd_import(const struct cl_globals *g, int argc, char **argv)
{
	(void)g, (void)argc;
	return not_yet(argv[0]);
}
