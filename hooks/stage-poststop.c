/* SPDX-License-Identifier: GPL-2.0-or-later */
/* poststop: crypto-erase. Best effort, keeps going, reports every failure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/hooks.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "oci/oci.h"

int cl_hook_poststop(const struct cl_ctx *ctx, int in_fd, const char *id, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct cl_oci_state st = {};
	struct cl_teardown_report rep = {};
	size_t len = 0;
	int r;

	if (cl_read_all_fd(in_fd, CL_OCI_MAX_INPUT, &buf, &len, err) < 0)
		return cl_error_wrap(err, "state on stdin");
	/* with an explicit --id (prepare), the state only has to be readable */
	r = cl_oci_state_parse(buf, len, &st, err);
	if (r < 0 && !id)
		return r;
	cl_error_free(err);
	/* an ephemeral layer is erased, a persistent one locked (DESIGN §4) */
	r = cl_layer_stop(ctx, id ? id : st.id, &rep, err);
	if (r == 0 && rep.had_key)
		cl_log(CL_LOG_INFO, "%s: %s, key absent", id ? id : st.id,
		       rep.kept ? "locked" : "erased");
	cl_oci_state_clear(&st);
	/* opportunistic, never fails the stop: persistent layers of removed containers */
	if (r == 0) {
		struct cl_error *e = NULL;

		if (cl_layer_reclaim_removed(ctx, &e) < 0)
			cl_log(CL_LOG_WARN, "reclaim removed layers: %s", e ? e->msg : "?");
		cl_error_free(&e);
	}
	return r;
}
