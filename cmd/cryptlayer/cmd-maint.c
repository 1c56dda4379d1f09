/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gc and doctor: not implemented yet; refused clearly, never silently ignored. */
#include <stdio.h>

#include "cmd/cryptlayer/cli.h"

int cl_cmd_gc(const struct cl_globals *g, int argc, char **argv)
{
	(void)g, (void)argc;
	fprintf(stderr, "cryptlayer: %s: not supported yet\n", argv[0]);
	return CL_EXIT_FAIL;
}

int cl_cmd_doctor(const struct cl_globals *g, int argc, char **argv)
{
	(void)g, (void)argc;
	fprintf(stderr, "cryptlayer: %s: not supported yet\n", argv[0]);
	return CL_EXIT_FAIL;
}
