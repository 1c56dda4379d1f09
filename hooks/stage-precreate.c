/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podman precreate: config.json in, config.json out (DESIGN §3). Image mode: the lower
 * is the rootfs podman prepared (root.path); with --rootfs STUB the base is named by
 * io.cryptlayer.base and root.path must be an empty stub. root.path then points at the
 * layer's merged dir, mounted in the host namespace like 'prepare' does, and the config
 * gets its own poststop hook: podman runs none when 'runc create' fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/hooks.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "oci/oci.h"

/*
 * precreate runs again at every 'podman start' (and unlocks a persistent layer of this
 * container there). An ephemeral layer still recorded for
 * this container is a leftover (the container is not running, or podman would not be
 * starting it), so erase it first.
 */
static int reclaim_stale(const struct cl_ctx *ctx, const char *id, struct cl_error **err)
{
	struct cl_record rec = {};
	bool ours;

	if (cl_record_read(ctx->run_dir, id, &rec, NULL) < 0)
		return 0;
	/* a persistent layer is never erased here: it is unlocked (or reused) below */
	ours = rec.owner && !strcmp(rec.owner, "podman") &&
	       (!rec.keymode || strcmp(rec.keymode, "persistent"));
	cl_record_clear(&rec);
	if (!ours)
		return 0; /* not ours to erase: creating the layer will say it exists */
	cl_log(CL_LOG_INFO, "%s: erasing the layer left from an earlier run", id);
	return cl_layer_destroy(ctx, id, NULL, err);
}

static int setup(const struct cl_ctx *ctx, const struct cl_oci_config *cfg,
		 const struct cl_request *req, const char *buf, size_t len, int out_fd,
		 struct cl_error **err)
{
	_cleanup_free_ char *out = NULL;
	struct cl_oci_podman pod = {};
	int r;

	r = cl_oci_podman_parse(cfg, &pod, err);
	if (r < 0)
		return r;
	/* --rootfs STUB: podman writes etc/passwd etc. into it, never into the base */
	if (req->base && cl_exec_check_stub(cfg->root_path, err) < 0)
		r = cl_error_wrap(err, "--rootfs with io.cryptlayer.base");
	if (r == 0)
		r = reclaim_stale(ctx, pod.id, err);
	if (r == 0) {
		/*
		 * podman's bundle is the graph root's userdata dir (from /dev/shm's source): the
		 * owner check survives a reboot there, unlike in runroot (a tmpfs)
		 */
		struct cl_layer_args a = {.id = pod.id,
					  .req = req,
					  .lower = req->base ? req->base : cfg->root_path,
					  .owner = CL_OWNER_PODMAN,
					  .bundle = pod.storage,
					  .owner_dir = pod.storage ? pod.storage : pod.userdata};

		r = cl_layer_create_rewrite(ctx, &a, buf, len, &out, err);
		if (r == 0 && cl_write_all(out_fd, out, strlen(out)) < 0) {
			r = cl_error_set(err, errno, "write config.json to stdout");
			/* erase an ephemeral layer, lock a persistent one */
			(void)cl_layer_stop(ctx, pod.id, NULL, NULL, NULL, NULL);
		}
	}
	if (r == 0) {
		struct cl_error *e = NULL;

		cl_log(CL_LOG_INFO, "%s: layer over '%s'", pod.id,
		       req->base ? req->base : cfg->root_path);
		/* opportunistic, never fails the start: layers of removed containers */
		if (cl_layer_reclaim_podman(ctx, pod.id, cl_hook_log_reclaimed, NULL, &e) < 0)
			cl_log(CL_LOG_WARN, "reclaim removed containers' layers: %s",
			       e ? e->msg : "?");
		cl_error_free(&e);
	} else {
		cl_error_wrap(err, "container %.12s", pod.id);
	}
	cl_oci_podman_clear(&pod);
	return r;
}

int cl_hook_precreate(const struct cl_ctx *ctx, int in_fd, int out_fd, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct cl_oci_config cfg = {};
	struct cl_request req = {};
	size_t len = 0;
	int r;

	if (cl_read_all_fd(in_fd, CL_OCI_MAX_INPUT, &buf, &len, err) < 0)
		return cl_error_wrap(err, "config.json on stdin");
	r = cl_oci_config_parse(buf, len, NULL, &cfg, err);
	if (r == 0)
		r = cl_oci_request_parse(cfg.annotations, cfg.n_annotations, &req, err);
	if (r == 0 && req.enabled)
		r = setup(ctx, &cfg, &req, buf, len, out_fd, err);
	/* not enabled: the config goes back byte for byte, nothing is created */
	else if (r == 0 && cl_write_all(out_fd, buf, len) < 0)
		r = cl_error_set(err, errno, "write config.json to stdout");
	cl_oci_request_clear(&req);
	cl_oci_config_clear(&cfg);
	return r;
}
