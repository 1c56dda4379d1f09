/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/cleanup.h"
#include "lib/core/log.h"

#ifndef CL_VERSION
#define CL_VERSION "0.1"
#endif

static const struct {
	const char *name;
	cl_cmd_fn fn;
} commands[] = {
    {"create", cl_cmd_create},
    {"destroy", cl_cmd_destroy},
    {"list", cl_cmd_list},
    {"status", cl_cmd_status},
    {"prepare", cl_cmd_prepare},
    {"hook", cl_cmd_hook},
    {"store", cl_cmd_store},
    {"gc", cl_cmd_gc},
    {"doctor", cl_cmd_doctor},
    {"lock", cl_cmd_lock},
    {"unlock", cl_cmd_unlock},
    /* OpenSSL/libarchive users, run by cryptlayer-crypto.so (lib/core/plugin.h) */
    {"keygen", cl_cmd_via_plugin},
    {"encrypt", cl_cmd_via_plugin},
    {"decrypt", cl_cmd_via_plugin},
    {"export", cl_cmd_via_plugin},
    {"import", cl_cmd_via_plugin},
    {"keyprovider", cl_cmd_via_plugin},
};

static void usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer [--root DIR] [--run-dir DIR] [--machine-key file:PATH|keyring:NAME]\n"
	      "            COMMAND [ARGS...]\n"
	      "\n"
	      "An encrypted writable layer per container over a shared read-only base,\n"
	      "crypto-erased when the container stops.\n"
	      "\n"
	      "Layers:\n"
	      " create --base DIR [--id ID] [--key ephemeral|persistent]  new layer, prints merged "
	      "path\n"
	      " destroy ID                 unmount, remove the key, erase the layer\n"
	      " lock ID / unlock ID        persistent layer: remove its key / re-add it and mount\n"
	      " list [--json]              list layers\n"
	      " status ID [--json]         show one layer\n"
	      " prepare --bundle B [--id ID]  put a layer under an OCI bundle (runc/crun without "
	      "hooks)\n"
	      " hook STAGE                 OCI hook: precreate, prestart, createRuntime, poststop\n"
	      " gc                         reclaim what crashed containers left behind\n"
	      " store init|status          the embedded default store\n"
	      " doctor [--json]            what the kernel, CPU and runtimes support\n"
	      "\n"
	      "Moving layers:\n"
	      " keygen -o KEY              X25519 identity KEY and recipient KEY.pub\n"
	      " export ID -o FILE -r PUB   encrypt a layer for one or more recipients\n"
	      " import FILE -i KEY --base DIR  decrypt into a new layer with a new key\n"
	      " encrypt -r PUB / decrypt -i KEY  the same engine, stdin to stdout\n"
	      " keyprovider                containers/ocicrypt keyprovider (machine key)\n"
	      "\n"
	      "Options:\n"
	      "     --root DIR             store root (default " CL_DEFAULT_ROOT ")\n"
	      "     --run-dir DIR          runtime records (default " CL_DEFAULT_RUN_DIR ")\n"
	      "     --machine-key SPEC     key that wraps persistent layer keys: file:PATH\n"
	      "                            (default file:/etc/cryptlayer/machine.key, made on\n"
	      "                            first use) or keyring:NAME (a 'user' key)\n"
	      "     --base-dir DIR         a named base (io.cryptlayer.base, --base) must be at\n"
	      "                            or below DIR (repeatable; default: any base)\n"
	      "     --require-base-dir     refuse every named base unless a --base-dir allows it\n"
	      "                            (the CRI-O descriptor's default)\n"
	      "     --snapshot-dir DIR     btrfs backend: put the base's read-only snapshots\n"
	      "                            in DIR, on the base's btrfs filesystem (default:\n"
	      "                            .cryptlayer-snapshots beside the base subvolume;\n"
	      "                            a DIR of that name is made and removed as needed)\n"
	      "     --insecure-no-seccomp  run without the per-command syscall allowlist (only\n"
	      "                            where the kernel has no seccomp; NNP and the\n"
	      "                            capability drop stay)\n"
	      " -d, --debug                verbose messages on stderr\n"
	      " -h, --help                 display this help\n"
	      " -V, --version              display version\n"
	      "\n"
	      "Run 'cryptlayer COMMAND --help' for a command's options.\n"
	      "Exit status: 0 ok, 1 failure, 2 usage error.\n",
	      stdout);
}

static void harden_process(void)
{
	struct rlimit no_core = {0, 0};

	/* key bytes must never reach a core dump or /proc/PID/mem of a peer */
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)setrlimit(RLIMIT_CORE, &no_core);
	umask(077);
	/*
	 * a closed stdout (export -o - | head, a runtime that stopped reading) is an EPIPE
	 * error that the command reports and undoes, never a kill in the middle of a step
	 */
	(void)signal(SIGPIPE, SIG_IGN);
}

/*
 * a user's store root and run dir are checked before a command uses them; 'hook' checks
 * them itself once its log is open, 'store' for the root it is given
 */
static bool user_store_checked(const char *cmd)
{
	static const char *const skip[] = {"hook",    "store",	 "doctor",     "keygen",
					   "encrypt", "decrypt", "keyprovider"};

	for (size_t i = 0; i < CL_ARRAY_SIZE(skip); i++)
		if (!strcmp(cmd, skip[i]))
			return false;
	return true;
}

static char *self_path(const char *argv0)
{
	char *p = realpath("/proc/self/exe", NULL);

	return p ? p : strdup(argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"run-dir", required_argument, NULL, 'R'},
	    {"machine-key", required_argument, NULL, 'm'},
	    {"base-dir", required_argument, NULL, 'b'},
	    {"require-base-dir", no_argument, NULL, 'B'},
	    {"snapshot-dir", required_argument, NULL, 'S'},
	    {"insecure-no-seccomp", no_argument, NULL, 'I'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	struct cl_globals g = {
	    .root = CL_DEFAULT_ROOT,
	    .run_dir = CL_DEFAULT_RUN_DIR,
	};
	static const char *base_dirs[CL_MAX_BASE_DIRS];
	int c;

	harden_process();
	/* '+': stop at COMMAND, its options are its own */
	while ((c = getopt_long(argc, argv, "+dhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			g.root = optarg;
			g.given |= CL_GIVEN_ROOT;
			break;
		case 'R':
			g.run_dir = optarg;
			g.given |= CL_GIVEN_RUN_DIR;
			break;
		case 'm':
			g.machine_key = optarg;
			g.given |= CL_GIVEN_MACHINE_KEY;
			break;
		case 'b':
			if (optarg[0] != '/')
				return cl_cli_usage(NULL, "--base-dir must be an absolute path");
			if (g.n_base_dirs == CL_MAX_BASE_DIRS)
				return cl_cli_usage(NULL, "more than %d --base-dir options",
						    CL_MAX_BASE_DIRS);
			base_dirs[g.n_base_dirs++] = optarg;
			g.base_dirs = base_dirs;
			break;
		case 'B':
			g.base_dir_required = true;
			break;
		case 'S':
			if (optarg[0] != '/')
				return cl_cli_usage(NULL,
						    "--snapshot-dir must be an absolute path");
			g.snapshot_dir = optarg;
			break;
		case 'I':
			g.no_seccomp = true;
			break;
		case 'd':
			g.debug = true;
			cl_log_set_level(CL_LOG_DEBUG);
			break;
		case 'h':
			usage();
			return CL_EXIT_OK;
		case 'V':
			printf("cryptlayer %s\n", CL_VERSION);
			return CL_EXIT_OK;
		default:
			return cl_cli_usage(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cl_cli_usage(NULL, "no command given");
	cl_cli_user_defaults(&g, true); /* a user's own store (DESIGN §7c) */
	if (g.root[0] != '/' || g.run_dir[0] != '/')
		return cl_cli_usage(NULL, "--root and --run-dir must be absolute paths");
	if (user_store_checked(argv[optind])) {
		struct cl_error *err = NULL;

		if (cl_cli_user_check(&g, &err) < 0 || cl_cli_user_ns_check(argv[optind], &err) < 0)
			return cl_cli_fail(&err, argv[optind]);
	}
	for (size_t i = 0; i < CL_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		_cleanup_free_ char *self = self_path(argv[0]);
		int idx = optind;

		g.self = self;
		optind = 0; /* glibc: 0 re-initialises getopt for the subcommand */
		return commands[i].fn(&g, argc - idx, argv + idx);
	}
	return cl_cli_usage(NULL, "unknown command '%s'", argv[optind]);
}
