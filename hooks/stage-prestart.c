/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prestart/createRuntime: stdin state → oci → plan → exec → record */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "oci/oci.h"

static int read_state(int in_fd, struct cl_oci_state *ret, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (cl_read_all_fd(in_fd, CL_OCI_MAX_INPUT, &buf, &len, err) < 0)
		return cl_error_wrap(err, "state on stdin");
	return cl_oci_state_parse(buf, len, ret, err);
}

static int read_config(const char *bundle, struct cl_oci_config *ret, struct cl_error **err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return cl_error_set(err, ENOMEM, "config.json");
	r = cl_read_file_at(AT_FDCWD, path, CL_OCI_MAX_INPUT, &buf, &len, err);
	if (r < 0)
		return r;
	return cl_oci_config_parse(buf, len, bundle, ret, err);
}

/* Is root.path the merged dir of the layer recorded as @id (precreate or prepare)? */
static bool root_is_layer(const struct cl_ctx *ctx, const char *id, const char *root_path)
{
	struct cl_record rec = {};
	bool same;

	if (!cl_oci_id_valid(id) || cl_record_read(ctx->run_dir, id, &rec, NULL) < 0)
		return false;
	same =
	    rec.owner && strcmp(rec.owner, "hook") && rec.merged && !strcmp(rec.merged, root_path);
	cl_record_clear(&rec);
	return same;
}

/*
 * A second stage for the same container is harmless: createRuntime + prestart, or
 * podman's precreate (or prepare) followed by a CRI-O style createRuntime descriptor,
 * when root.path already is <store>/containers/<id>/merged.
 */
static bool already_set_up(const struct cl_ctx *ctx, const struct cl_oci_state *st,
			   const char *root_path)
{
	_cleanup_free_ char *dir = NULL;
	struct cl_record rec = {};
	const char *slash;
	size_t n = strlen(root_path);
	bool same;

	if (cl_record_read(ctx->run_dir, st->id, &rec, NULL) == 0) {
		same = rec.owner && !strcmp(rec.owner, "hook") && rec.pid == st->pid && rec.state &&
		       !strcmp(rec.state, "running");
		cl_record_clear(&rec);
		if (same || root_is_layer(ctx, st->id, root_path))
			return true;
	}
	if (n < 8 || strcmp(root_path + n - 7, "/merged"))
		return false;
	dir = strndup(root_path, n - 7);
	slash = dir ? strrchr(dir, '/') : NULL;
	return slash && root_is_layer(ctx, slash + 1, root_path);
}

static int setup(const struct cl_ctx *ctx, const struct cl_oci_state *st,
		 const struct cl_oci_config *cfg, const struct cl_request *req,
		 struct cl_error **err)
{
	struct cl_layer_args a = {
	    .id = st->id,
	    .req = req,
	    .lower = req->base ? req->base : cfg->root_path,
	    .lower_is_root = !req->base,
	    .owner = CL_OWNER_HOOK,
	    .root_path = cfg->root_path,
	    .pid = st->pid,
	    .bundle = st->bundle,
	    .config = cfg,
	};
	struct cl_record rec = {};
	int r;

	if (st->pid <= 0)
		return cl_error_set(err, EINVAL, "state: container '%s' has no pid", st->id);
	if (already_set_up(ctx, st, cfg->root_path))
		return 0;
	/* the shared base is named: root.path must be the runtime's empty stub (DESIGN §3) */
	if (req->base) {
		r = cl_exec_check_stub(cfg->root_path, err);
		if (r < 0)
			return r;
	}
	/* a persistent layer of this id left locked by an earlier run is unlocked */
	r = cl_layer_create_or_unlock(ctx, &a, &rec, err);
	if (r == 0)
		cl_log(CL_LOG_INFO, "%s: layer over '%s', key %s", st->id, rec.base, rec.key_id);
	cl_record_clear(&rec);
	return r;
}

int cl_hook_prestart(const struct cl_ctx *ctx, int in_fd, struct cl_error **err)
{
	struct cl_oci_state st = {};
	struct cl_oci_config cfg = {};
	struct cl_request req = {};
	int r;

	r = read_state(in_fd, &st, err);
	if (r == 0)
		r = read_config(st.bundle, &cfg, err);
	if (r == 0)
		r = cl_oci_request_parse(cfg.annotations, cfg.n_annotations, &req, err);
	if (r == 0 && req.enabled)
		r = cl_hook_sandbox(ctx, CL_SANDBOX_HOOK_PRESTART, true, err);
	if (r == 0 && req.enabled)
		r = setup(ctx, &st, &cfg, &req, err);
	cl_oci_request_clear(&req);
	cl_oci_config_clear(&cfg);
	cl_oci_state_clear(&st);
	return r;
}
