/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/core/err.h"
#include "lib/core/log.h"
#include "lib/layer/layer.h"
#include "lib/sandbox/sandbox.h"
#include "lib/store/store.h"

/* Global options (DESIGN §5): they come before COMMAND; nothing is read from the env. */
struct cl_globals {
	const char *root;	 /* --root, default /var/lib/cryptlayer */
	const char *run_dir;	 /* --run-dir, default /run/cryptlayer */
	const char *machine_key; /* --machine-key file:PATH|keyring:NAME, or NULL */
	const char *self;	 /* absolute path of this binary (for hooks we add) */
	/* --base-dir DIR (repeatable): a named base must be at or below one of them */
	const char *const *base_dirs;
	size_t n_base_dirs;
	bool base_dir_required; /* --require-base-dir: no --base-dir refuses every named base */
	const char
	    *snapshot_dir; /* --snapshot-dir: btrfs snapshots go there, not beside the base */
	bool debug;
	unsigned given;	 /* CL_GIVEN_*: which of them came from argv (the rest are defaults) */
	bool no_seccomp; /* --insecure-no-seccomp: the sandbox without its syscall filter */
};

#define CL_GIVEN_ROOT (1U << 0)
#define CL_GIVEN_RUN_DIR (1U << 1)
#define CL_GIVEN_MACHINE_KEY (1U << 2)

#define CL_MAX_BASE_DIRS CL_LAYER_MAX_BASE_DIRS

#define CL_DEFAULT_ROOT "/var/lib/cryptlayer"
#define CL_DEFAULT_RUN_DIR "/run/cryptlayer"

enum {
	CL_EXIT_OK = 0,
	CL_EXIT_FAIL = 1,
	CL_EXIT_USAGE = 2,
};

typedef int (*cl_cmd_fn)(const struct cl_globals *g, int argc, char **argv);

/*
 * Commands that need OpenSSL live in the crypto plugin (cryptlayer-crypto.so), so the hook
 * binary does not link it: the binary's dispatch table points them at cl_cmd_via_plugin(),
 * which calls the plugin's CL_CRYPTO_COMMANDS_SYMBOL.
 */
#define CL_CRYPTO_PLUGIN_NAME "cryptlayer-crypto.so"
#define CL_CRYPTO_COMMANDS_SYMBOL "cl_crypto_commands"
#define CL_CRYPTO_COMMANDS_ABI 2

/*
 * What the binary lends the plugin's commands: the layer lifecycle and the log, so the
 * plugin carries no copy of lib/layer (and what it runs: exec, plan, store, mount) and
 * its messages reach the same log (cmd/cryptlayer/plugin-host.c forwards to these).
 */
struct cl_layer_info;
struct cl_host_ops {
	unsigned abi, size;
	__typeof__(cl_layer_create) *layer_create;
	__typeof__(cl_layer_find) *layer_find;
	__typeof__(cl_layer_new_id) *layer_new_id;
	__typeof__(cl_store_free) *store_free;
	__typeof__(cl_record_clear) *record_clear;
	__typeof__(cl_vlog) *vlog;
};

struct cl_crypto_commands {
	unsigned abi, size;
	/* run command @argv[0] with the binary's @host; -1 if the plugin has no such command */
	int (*run)(const struct cl_globals *g, const struct cl_host_ops *host, int argc,
		   char **argv);
};

/** cl_plugin_host_set() - plugin side: the binary's @host. Return: 0 or -ELIBBAD. */
int cl_plugin_host_set(const struct cl_host_ops *host);

/** cl_cmd_via_plugin() - run @argv[0] in the crypto plugin. Return: its exit code. */
int cl_cmd_via_plugin(const struct cl_globals *g, int argc, char **argv);

/* one per subcommand, cmd-*.c; argv[0] is the command name */
int cl_cmd_store(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_create(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_destroy(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_lock(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_unlock(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_list(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_status(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_prepare(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_hook(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_gc(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_doctor(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_keygen(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_encrypt(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_decrypt(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_export(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_import(const struct cl_globals *g, int argc, char **argv);
int cl_cmd_keyprovider(const struct cl_globals *g, int argc, char **argv);

/*
 * cmd/cryptlayer/user.c: a caller that is not root of the initial user namespace (a user,
 * 'podman unshare', rootless podman's hooks) gets per-user defaults (DESIGN §7c).
 */
struct cl_user_dirs {
	char *data;    /* $XDG_DATA_HOME or ~/.local/share */
	char *config;  /* $XDG_CONFIG_HOME or ~/.config */
	char *runtime; /* $XDG_RUNTIME_DIR, or NULL */
};

/** cl_cli_user_mode() - not root of the initial user namespace. */
bool cl_cli_user_mode(void);
/** cl_cli_user_dirs() - the caller's XDG directories (env, else HOME). Return: 0 or -errno. */
int cl_cli_user_dirs(struct cl_user_dirs *ret, struct cl_error **err);
void cl_cli_user_dirs_clear(struct cl_user_dirs *d);
/**
 * cl_cli_user_defaults() - in user mode, the --root, --run-dir and --machine-key that
 * @g was not given: with @use_descriptor those in the user's precreate descriptor (what
 * 'store init --user' set up), else <data>/cryptlayer, $XDG_RUNTIME_DIR/cryptlayer (else
 * <root>/run), file:<config>/cryptlayer/machine.key. Unchanged when the dirs are unknown.
 */
void cl_cli_user_defaults(struct cl_globals *g, bool use_descriptor);
/**
 * cl_cli_user_check() - in user mode, the store root and run dir (where they exist) are
 * canonical directories owned by this user and writable by no one else, below trusted
 * directories: cl_trusted_dir_open() with CL_TRUST_OWN | CL_TRUST_CANONICAL.
 * Return: 0 or -errno.
 */
int cl_cli_user_check(const struct cl_globals *g, struct cl_error **err);
/**
 * cl_cli_user_ns_check() - a user (not in a user namespace) may not run @cmd when it
 * mounts, unmounts or erases layers: the user's layers are mounted in podman's user
 * namespace, where only 'podman unshare cryptlayer ...' sees them. Return: 0 or -EPERM.
 */
int cl_cli_user_ns_check(const char *cmd, struct cl_error **err);
/** cl_cmd_store_init_user() - 'store init --user'. Return: the exit code. */
int cl_cmd_store_init_user(const struct cl_globals *g);

/** cl_cli_ctx() - the layer context of these global options (store, run dir, allowlist). */
struct cl_ctx cl_cli_ctx(const struct cl_globals *g);

/**
 * cl_cli_sandbox() - enter @phase's sandbox (lib/sandbox/sandbox.h) with the globals'
 * --insecure-no-seccomp, once the command has parsed and opened what it needs (a command
 * that makes a layer calls cl_layer_store_ready() first: no phase allows mkfs or losetup).
 * Return: 0 or -errno.
 */
int cl_cli_sandbox(const struct cl_globals *g, enum cl_sandbox_phase phase, struct cl_error **err);

/** cl_cli_fail() - print "cryptlayer: <prefix>: <msg>: <strerror>" and free @err. Return: 1. */
int cl_cli_fail(struct cl_error **err, const char *prefix);
/** cl_cli_usage() - print one usage line plus the hint. Return: 2. */
int cl_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** cl_cli_parse_jobs() - --jobs N, 1..CL_POOL_MAX_THREADS. Return: 0 or 2 (usage printed). */
int cl_cli_parse_jobs(const char *cmd, const char *s, unsigned *ret);
/** cl_cli_help_or_version() - handle --help/--version in argv. Return: 1 if handled. */
bool cl_cli_want_help(int argc, char **argv);
