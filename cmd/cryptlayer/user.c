/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-user defaults (DESIGN §7c). A caller that is not root of the initial user namespace
 * cannot use /var/lib/cryptlayer: its store is <data>/cryptlayer, its run dir
 * $XDG_RUNTIME_DIR/cryptlayer (else <root>/run), its machine key
 * <config>/cryptlayer/machine.key. These are the only values read from the environment,
 * and only for a user: the hook gets an empty environment and its descriptor's argv names
 * all three.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/trust.h"
#include "lib/core/userns.h"

bool cl_cli_user_mode(void)
{
	return geteuid() != 0 || cl_userns_nested();
}

void cl_cli_user_dirs_clear(struct cl_user_dirs *d)
{
	free(d->data);
	free(d->config);
	free(d->runtime);
	memset(d, 0, sizeof(*d));
}

/* the XDG spec: a relative value is invalid and ignored */
static const char *abs_env(const char *name)
{
	const char *v = secure_getenv(name);

	return v && v[0] == '/' ? v : NULL;
}

/* $HOME, else the passwd entry of the user (outside the namespace, for 'podman unshare') */
static const char *home_dir(void)
{
	const char *home = abs_env("HOME");
	uid_t uid = geteuid();
	struct passwd *pw;

	if (home)
		return home;
	if (cl_userns_nested() && cl_userns_outer_uid(uid, &uid) < 0)
		return NULL;
	pw = getpwuid(uid);
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

static int xdg(const char *name, const char *home, const char *under_home, char **ret)
{
	const char *v = abs_env(name);

	if (v)
		*ret = strdup(v);
	else if (!home)
		return -ENOENT;
	else if (asprintf(ret, "%s/%s", home, under_home) < 0)
		*ret = NULL;
	return *ret ? 0 : -ENOMEM;
}

int cl_cli_user_dirs(struct cl_user_dirs *ret, struct cl_error **err)
{
	const char *home = home_dir(), *rt = abs_env("XDG_RUNTIME_DIR");
	struct cl_user_dirs d = {};
	int r;

	r = xdg("XDG_DATA_HOME", home, ".local/share", &d.data);
	if (r == 0)
		r = xdg("XDG_CONFIG_HOME", home, ".config", &d.config);
	if (r == 0 && rt && !(d.runtime = strdup(rt)))
		r = -ENOMEM;
	if (r < 0) {
		cl_cli_user_dirs_clear(&d);
		return cl_error_set(err, -r,
				    r == -ENOENT ? "no HOME and no XDG_DATA_HOME/XDG_CONFIG_HOME: "
						   "pass --root, --run-dir and --machine-key"
						 : "user directories");
	}
	*ret = d;
	return 0;
}

/* the value after @opt in the argv of the user's precreate descriptor, or NULL */
static const char *descriptor_arg(json_object *args, const char *opt)
{
	size_t n = json_object_array_length(args);

	for (size_t i = 0; i + 1 < n; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(args, i));

		if (a && !strcmp(a, "hook"))
			break; /* global options come before the command */
		if (a && !strcmp(a, opt))
			return json_object_get_string(json_object_array_get_idx(args, i + 1));
	}
	return NULL;
}

/*
 * The strings the globals point to live for the life of the process; they are kept here
 * (not in a function's static, which a second call would overwrite: 'store init --user'
 * computes the defaults again) so that they stay reachable until exit.
 */
static char *kept[16];

static char *keep(char *s)
{
	for (size_t i = 0; s && i < CL_ARRAY_SIZE(kept); i++)
		if (!kept[i])
			return kept[i] = s;
	return s;
}

/*
 * What 'store init --user' wrote into the user's precreate descriptor is what the hook
 * uses: the same store for 'podman unshare cryptlayer ...' whatever --root init was given
 */
static unsigned from_descriptor(struct cl_globals *g, unsigned have, const char *config)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	json_object *o = NULL, *hook, *args;
	struct cl_error *err = NULL;
	const char *v;
	size_t len = 0;

	if (asprintf(&path, "%s/cryptlayer/hooks.d/cryptlayer-precreate.json", config) < 0 ||
	    cl_read_file_at(AT_FDCWD, path, 64 * 1024, &buf, &len, &err) < 0) {
		cl_error_free(&err);
		return have;
	}
	o = json_tokener_parse(buf);
	if (o && json_object_object_get_ex(o, "hook", &hook) &&
	    json_object_object_get_ex(hook, "args", &args) &&
	    json_object_is_type(args, json_type_array)) {
		if (!(have & CL_GIVEN_ROOT) && (v = descriptor_arg(args, "--root")) &&
		    v[0] == '/' && (v = keep(strdup(v))))
			g->root = v, have |= CL_GIVEN_ROOT;
		if (!(have & CL_GIVEN_RUN_DIR) && (v = descriptor_arg(args, "--run-dir")) &&
		    v[0] == '/' && (v = keep(strdup(v))))
			g->run_dir = v, have |= CL_GIVEN_RUN_DIR;
		if (!(have & CL_GIVEN_MACHINE_KEY) && (v = descriptor_arg(args, "--machine-key")) &&
		    (v = keep(strdup(v))))
			g->machine_key = v, have |= CL_GIVEN_MACHINE_KEY;
	}
	json_object_put(o);
	return have;
}

void cl_cli_user_defaults(struct cl_globals *g, bool use_descriptor)
{
	char *root = NULL, *run_dir = NULL, *machine_key = NULL;
	const unsigned all = CL_GIVEN_ROOT | CL_GIVEN_RUN_DIR | CL_GIVEN_MACHINE_KEY;
	struct cl_user_dirs d = {};
	struct cl_error *err = NULL;
	unsigned have = g->given;

	if (!cl_cli_user_mode() || (have & all) == all)
		return;
	if (cl_cli_user_dirs(&d, &err) < 0) {
		cl_log(CL_LOG_DEBUG, "per-user defaults: %s", err->msg);
		cl_error_free(&err);
		return;
	}
	/* no --root: the store the user's descriptors name, if any */
	if (use_descriptor && !(have & CL_GIVEN_ROOT))
		have = from_descriptor(g, have, d.config);
	if (!(have & CL_GIVEN_ROOT) && asprintf(&root, "%s/cryptlayer", d.data) >= 0)
		g->root = keep(root);
	if (!(have & CL_GIVEN_RUN_DIR) &&
	    (d.runtime ? asprintf(&run_dir, "%s/cryptlayer", d.runtime)
		       : asprintf(&run_dir, "%s/run", g->root)) >= 0)
		g->run_dir = keep(run_dir);
	if (!(have & CL_GIVEN_MACHINE_KEY) &&
	    asprintf(&machine_key, "file:%s/cryptlayer/machine.key", d.config) >= 0)
		g->machine_key = keep(machine_key);
	cl_cli_user_dirs_clear(&d);
}

/* the trusted-path walk (lib/core/trust.h) with a user's own rules; missing is fine */
static int check_own_dir(const char *path, const char *what, struct cl_error **err)
{
	struct cl_error *e = NULL;
	int fd = cl_trusted_dir_open(path, what, CL_TRUST_OWN | CL_TRUST_CANONICAL, 0, &e);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd == -ENOENT) { /* made later, by the command, through the same walk */
		cl_error_free(&e);
		return 0;
	}
	cl_error_move(err, &e);
	return fd;
}

int cl_cli_user_check(const struct cl_globals *g, struct cl_error **err)
{
	int r;

	if (!cl_cli_user_mode())
		return 0;
	r = check_own_dir(g->root, "store root", err);
	if (r == 0)
		r = check_own_dir(g->run_dir, "run dir", err);
	return r;
}

int cl_cli_user_ns_check(const char *cmd, struct cl_error **err)
{
	/* these mount, unmount, add or remove keys, or delete a layer's files */
	static const char *const acting[] = {"create", "destroy", "lock",   "unlock",
					     "gc",     "import",  "prepare"};

	if (geteuid() == 0 || cl_userns_nested())
		return 0;
	for (size_t i = 0; i < CL_ARRAY_SIZE(acting); i++)
		if (!strcmp(cmd, acting[i]))
			return cl_error_set(
			    err, EPERM,
			    "a user's layers are mounted in podman's user namespace, "
			    "not here: run 'podman unshare cryptlayer %s ...'",
			    cmd);
	return 0;
}
