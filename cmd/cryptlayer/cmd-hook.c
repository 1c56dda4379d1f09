/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "hooks/hooks.h"
#include "lib/core/log.h"
#include "lib/core/trust.h"

static void hook_help(void)
{
	fputs("Usage:\n"
	      " cryptlayer [global options] hook STAGE [--id ID]\n"
	      "\n"
	      "Run as an OCI hook. The runtime passes the container state (or, for precreate,\n"
	      "config.json) on stdin; hooks get no environment, so give every option here.\n"
	      "\n"
	      "Stages:\n"
	      " precreate        podman: config.json on stdin, rewritten config.json on stdout\n"
	      " prestart         set up the encrypted layer in the container's mount namespace\n"
	      " createRuntime    the same, for runtimes that run it instead of prestart\n"
	      " poststop         unmount, delete (ephemeral), remove the key, check it is ABSENT;\n"
	      "                  exits 1 if a key is not ABSENT\n"
	      "\n"
	      "The hook acts only when the config has io.cryptlayer.base=/abs/dir or\n"
	      "io.cryptlayer.enable=true; otherwise it exits 0 and changes nothing.\n"
	      "Errors also go to <run-dir>/cryptlayer.log.\n"
	      "\n"
	      "Options:\n"
	      "     --id ID      poststop: the layer to erase (default: the state's id)\n"
	      " -h, --help       display this help\n",
	      stdout);
}

int cl_cmd_hook(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_error *err = NULL;
	const char *stage, *id = NULL;
	char logpath[4096];
	int c, r, run_fd;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			hook_help();
			return CL_EXIT_OK;
		}
		if (c != 'i')
			return cl_cli_usage("hook", "unknown option '%s'", argv[optind - 1]);
		id = optarg;
	}
	if (optind + 1 != argc)
		return cl_cli_usage("hook", "expected one STAGE");
	stage = argv[optind];
	/* podman drops a hook's stderr: also log where an admin finds it (DESIGN §3) */
	/* only into a run dir no other user can write (lib/core/trust.h) */
	run_fd =
	    cl_trusted_dir_open(g->run_dir, "run dir", CL_TRUST_CREATE | CL_TRUST_ONCE, 0700, NULL);
	if (run_fd >= 0) {
		snprintf(logpath, sizeof(logpath), "%s/cryptlayer.log", g->run_dir);
		cl_log_open(logpath);
		close(run_fd);
	}
	/* rootless podman: the user's store and run dir (DESIGN §7c) */
	if (cl_cli_user_check(g, &err) < 0)
		return cl_cli_fail(&err, stage);
	if (!strcmp(stage, "prestart") || !strcmp(stage, "createRuntime"))
		r = cl_hook_prestart(&ctx, STDIN_FILENO, &err);
	else if (!strcmp(stage, "poststop"))
		r = cl_hook_poststop(&ctx, STDIN_FILENO, id, &err);
	else if (!strcmp(stage, "precreate"))
		r = cl_hook_precreate(&ctx, STDIN_FILENO, STDOUT_FILENO, &err);
	else
		return cl_cli_usage("hook", "unknown stage '%s'", stage);
	if (r < 0) {
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "%s", stage);
		return cl_cli_fail(&err, prefix);
	}
	return CL_EXIT_OK;
}
