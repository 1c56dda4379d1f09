/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 'cryptlayer store init --user' (DESIGN §7c): a user's own store for rootless podman.
 * A user cannot mount a loop image, so the store is a directory on a filesystem with
 * fscrypt v2, probed first; then the user's hooks.d descriptors and a podman
 * containers.conf.d drop-in that lists them after the system's. Nothing is written
 * when the probe fails, the user's containers.conf is never edited, and a second run
 * changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/store/store.h"
#include "lib/store/user.h"

static const char *const system_hooks[] = {
    "/usr/share/containers/oci/hooks.d",
    "/etc/containers/oci/hooks.d",
};

static void report(const char *what, const char *path, int changed)
{
	printf("%-11s %s (%s)\n", what, path, changed ? "written" : "unchanged");
}

/* one hooks.d descriptor per stage, naming everything in argv (hooks get no environment) */
static int put_descriptor(const struct cl_globals *g, const char *dir, const char *stage,
			  struct cl_error **err)
{
	const char *args[] = {"cryptlayer",    "--root",       g->root, "--run-dir", g->run_dir,
			      "--machine-key", g->machine_key, "hook",	stage};
	_cleanup_free_ char *text = NULL, *path = NULL;
	int r;

	text = cl_store_user_descriptor(g->self, args, CL_ARRAY_SIZE(args), stage, err);
	if (!text)
		return cl_error_errnum(err);
	if (asprintf(&path, "%s/cryptlayer-%s.json", dir, stage) < 0)
		return cl_error_set(err, ENOMEM, "descriptor");
	r = cl_store_user_put(path, text, 0644, err);
	if (r >= 0)
		report("hook", path, r);
	return r;
}

static int put_dropin(const char *config, const char *hooks, struct cl_error **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
	int r;

	if (asprintf(&dir, "%s/containers/containers.conf.d", config) < 0 ||
	    asprintf(&path, "%s/" CL_STORE_USER_DROPIN, dir) < 0)
		return cl_error_set(err, ENOMEM, "drop-in");
	text = cl_store_user_dropin(system_hooks, CL_ARRAY_SIZE(system_hooks), hooks, err);
	if (!text)
		return cl_error_errnum(err);
	r = cl_mkdir_p_at(AT_FDCWD, dir, 0700, err);
	if (r == 0)
		r = cl_store_user_put(path, text, 0644, err);
	if (r >= 0)
		report("podman", path, r);
	return r;
}

/* the store, its run dir and the podman wiring, once the probe said yes */
static int init_user(const struct cl_globals *g, const char *config, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *s = NULL;
	_cleanup_free_ char *hooks = NULL;
	int r;

	r = cl_store_open(g->root, 0, true, &s, err);
	if (r == 0 && s->backing != CL_STORE_IN_PLACE)
		r = cl_error_set(err, EOPNOTSUPP, "store root '%s' is not a directory store",
				 g->root);
	if (r == 0)
		r = cl_mkdir_p_at(AT_FDCWD, g->run_dir, 0700, err);
	if (r == 0)
		r = cl_cli_user_check(g, err); /* what exists now: made by us, or refused */
	if (r < 0)
		return r;
	printf("%-11s %s (fscrypt v2, in place)\n", "store", s->dir);
	printf("%-11s %s\n", "run dir", g->run_dir);
	printf("%-11s %s\n", "machine key", g->machine_key);
	if (asprintf(&hooks, "%s/cryptlayer/hooks.d", config) < 0)
		return cl_error_set(err, ENOMEM, "hooks.d");
	r = cl_mkdir_p_at(AT_FDCWD, hooks, 0700, err);
	if (r == 0)
		r = put_descriptor(g, hooks, "precreate", err);
	if (r >= 0)
		r = put_descriptor(g, hooks, "poststop", err);
	if (r >= 0)
		r = put_dropin(config, hooks, err);
	return r < 0 ? r : 0;
}

int cl_cmd_store_init_user(const struct cl_globals *g)
{
	struct cl_user_dirs d = {};
	struct cl_error *err = NULL;
	int r;

	if (!cl_cli_user_mode()) {
		fprintf(stderr, "cryptlayer: store init --user: run it as the user who runs "
				"podman, not as root (root's store needs no --user)\n");
		return CL_EXIT_FAIL;
	}
	r = cl_cli_user_dirs(&d, &err);
	if (r == 0 && !g->machine_key)
		r = cl_error_set(&err, EINVAL, "no machine key: pass --machine-key");
	if (r == 0)
		r = cl_cli_user_check(g, &err); /* before anything is made */
	if (r == 0)
		r = cl_store_user_probe(g->root, &err);
	if (r == 0)
		r = init_user(g, d.config, &err);
	cl_cli_user_dirs_clear(&d);
	return r < 0 ? cl_cli_fail(&err, "store init --user") : CL_EXIT_OK;
}
