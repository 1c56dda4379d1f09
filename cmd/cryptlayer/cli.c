/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reporting helpers shared by every command (the binary's and the crypto plugin's). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/log.h"

int cl_cli_fail(struct cl_error **err, const char *prefix)
{
	const char *msg = *err && (*err)->msg ? (*err)->msg : "unknown error";
	int e = *err ? (*err)->errnum : EIO;

	if (prefix)
		cl_log(CL_LOG_ERR, "%s: %s: %s", prefix, msg, strerror(e));
	else
		cl_log(CL_LOG_ERR, "%s: %s", msg, strerror(e));
	cl_error_free(err);
	return CL_EXIT_FAIL;
}

int cl_cli_usage(const char *cmd, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "cryptlayer %s: %s\nTry 'cryptlayer %s --help'.\n", cmd, line, cmd);
	else
		fprintf(stderr, "cryptlayer: %s\nTry 'cryptlayer --help'.\n", line);
	return CL_EXIT_USAGE;
}

bool cl_cli_want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	}
	return false;
}

struct cl_ctx cl_cli_ctx(const struct cl_globals *g)
{
	return (struct cl_ctx){
	    .root = g->root,
	    .run_dir = g->run_dir,
	    .self = g->self,
	    .machine_key = g->machine_key,
	    .base_dirs = g->base_dirs,
	    .n_base_dirs = g->n_base_dirs,
	    .base_dir_required = g->base_dir_required,
	    .snapshot_dir = g->snapshot_dir,
	    .sandbox_flags = g->no_seccomp ? CL_SANDBOX_NO_SECCOMP : 0,
	};
}

int cl_cli_sandbox(const struct cl_globals *g, enum cl_sandbox_phase phase, struct cl_error **err)
{
	return cl_sandbox_enter(phase, g->no_seccomp ? CL_SANDBOX_NO_SECCOMP : 0, err);
}
