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

void cl_hook_log_reclaimed(const struct cl_gc_item *it, void *data)
{
	(void)data;
	if (it->error)
		cl_log(CL_LOG_WARN, "%s: %s: %s", it->id, it->why, it->error->msg);
	else
		cl_log(CL_LOG_INFO, "%s: %s: erased", it->id, it->why);
}

int cl_hook_sandbox(const struct cl_ctx *ctx, enum cl_sandbox_phase phase, bool store,
		    struct cl_error **err)
{
	cl_layer_store_ready(ctx, store);
	return cl_sandbox_enter(phase, ctx->sandbox_flags, err);
}

int cl_hook_poststop(const struct cl_ctx *ctx, int in_fd, const char *id, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct cl_oci_state st = {};
	enum cl_stop_outcome out = CL_STOP_NONE;
	struct cl_layer_caller who = {};
	const char *why = NULL;
	size_t len = 0;
	int r;

	if (cl_read_all_fd(in_fd, CL_OCI_MAX_INPUT, &buf, &len, err) < 0)
		return cl_error_wrap(err, "state on stdin");
	/* with an explicit --id (prepare), the state only has to be readable */
	r = cl_oci_state_parse(buf, len, &st, err);
	if (r < 0 && !id)
		return r;
	cl_error_free(err);
	r = cl_hook_sandbox(ctx, CL_SANDBOX_HOOK_POSTSTOP, false, err);
	if (r < 0) {
		cl_oci_state_clear(&st);
		return r;
	}
	/* an ephemeral layer is erased, a persistent one locked (DESIGN §4): this container's */
	who.bundle = st.bundle;
	r = cl_layer_stop(ctx, id ? id : st.id, &who, &out, &why, err);
	if (r == 0 && out == CL_STOP_NOT_OURS)
		cl_log(CL_LOG_INFO, "%s: layer left alone: %s", id ? id : st.id, why);
	else if (r == 0 && out != CL_STOP_NONE)
		cl_log(CL_LOG_INFO, "%s: %s, key absent", id ? id : st.id,
		       out == CL_STOP_LOCKED ? "locked" : "erased");
	cl_oci_state_clear(&st);
	/* opportunistic, never fails the stop: persistent layers of removed containers */
	if (r == 0) {
		struct cl_error *e = NULL;

		if (cl_layer_reclaim_removed(ctx, cl_hook_log_reclaimed, NULL, &e) < 0)
			cl_log(CL_LOG_WARN, "reclaim removed layers: %s", e ? e->msg : "?");
		cl_error_free(&e);
	}
	return r;
}
