/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podman precreate: config.json in, config.json out */
#include <errno.h>
#include <stdlib.h>

#include "hooks/hooks.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "oci/oci.h"

int cl_hook_precreate(const struct cl_ctx *ctx, int in_fd, int out_fd, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct cl_oci_config cfg = {};
	struct cl_request req = {};
	size_t len = 0;
	int r;

	(void)ctx;
	if (cl_read_all_fd(in_fd, CL_OCI_MAX_INPUT, &buf, &len, err) < 0)
		return cl_error_wrap(err, "config.json on stdin");
	r = cl_oci_config_parse(buf, len, NULL, &cfg, err);
	if (r == 0)
		r = cl_oci_request_parse(cfg.annotations, cfg.n_annotations, &req, err);
	if (r == 0 && req.enabled)
		r = cl_error_set(err, ENOTSUP, "precreate (podman) is not supported yet");
	if (r == 0 && cl_write_all(out_fd, buf, len) < 0)
		r = cl_error_set(err, errno, "write config.json to stdout");
	cl_oci_request_clear(&req);
	cl_oci_config_clear(&cfg);
	return r;
}
