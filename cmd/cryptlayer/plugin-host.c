/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plugin side of struct cl_host_ops: the layer lifecycle and the log are the binary's.
 * The plugin's commands call these names as usual; they forward to the binary's code, so
 * the plugin links no copy of lib/layer (nor exec, plan, store, mount, record), and its
 * log lines reach <run-dir>/cryptlayer.log like every other command's (log-forward.c).
 */
#include <errno.h>
#include <stdio.h>

#include "cmd/cryptlayer/cli.h"

static const struct cl_host_ops *host;

int cl_plugin_host_set(const struct cl_host_ops *h)
{
	if (!h || h->abi != CL_CRYPTO_COMMANDS_ABI || h->size != sizeof(*h)) {
		fprintf(stderr, "cryptlayer: crypto plugin: host ABI mismatch\n");
		return -ELIBBAD;
	}
	host = h;
	cl_log_forward_to(h->vlog);
	return 0;
}

int cl_layer_create(const struct cl_ctx *ctx, const struct cl_layer_args *a,
		    struct cl_record *ret_rec, struct cl_error **err)
{
	return host->layer_create(ctx, a, ret_rec, err);
}

int cl_layer_find(const struct cl_ctx *ctx, const char *id, struct cl_store **ret_store,
		  struct cl_record *ret, bool *ret_locked, struct cl_error **err)
{
	return host->layer_find(ctx, id, ret_store, ret, ret_locked, err);
}

int cl_layer_new_id(char **ret)
{
	return host->layer_new_id(ret);
}

void cl_store_free(struct cl_store *s)
{
	host->store_free(s);
}

void cl_record_clear(struct cl_record *rec)
{
	host->record_clear(rec);
}
