/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gc: reclaim what crashes and failed starts leave behind. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/layer/layer.h"
#include "lib/core/cleanup.h"
#include "lib/core/log.h"
#include "oci/json-util.h"

static void gc_help(void)
{
	fputs("Usage:\n"
	      " cryptlayer [global options] gc [--json] [--verbose]\n"
	      "\n"
	      "Reconcile records, mounts, keys and layer directories after crashes and\n"
	      "failed starts. Reclaims (unmount, delete, remove the key, check it is ABSENT)\n"
	      "ephemeral layers whose container is not running: hook layers whose recorded\n"
	      "process is gone, podman layers whose container was removed or is not running,\n"
	      "prepare layers whose bundle is gone, records without a layer, and layer\n"
	      "directories without a record whose key is absent. Never touches a layer whose\n"
	      "recorded process is alive, layers made by 'create', persistent layers, or\n"
	      "anything younger than a minute that may still be starting.\n"
	      "Safe to run at any time, e.g. from a timer (contrib/cryptlayer-gc.timer).\n"
	      "\n"
	      "Options:\n"
	      "     --json       a JSON array: {id, action: reclaimed|kept|failed, reason, error}\n"
	      " -v, --verbose    also list the layers that were kept, and why\n"
	      " -h, --help       display this help\n"
	      "\n"
	      "Exits 1 if a layer could not be reclaimed.\n",
	      stdout);
}

struct gc_out {
	json_object *arr; /* --json, else NULL */
	bool verbose;
};

static void gc_report(const struct cl_gc_item *it, void *data)
{
	struct gc_out *out = data;
	static const char *const actions[_CL_GC_VERDICT_MAX] = {
	    [CL_GC_KEEP] = "kept", [CL_GC_RECLAIM] = "reclaimed", [CL_GC_LOCK] = "locked"};
	const char *action = it->error ? "failed" : actions[it->verdict];
	json_object *o;

	if (it->error)
		cl_log(CL_LOG_ERR, "gc: %s: %s", it->id, it->error->msg);
	else if (it->verdict != CL_GC_KEEP)
		cl_log(CL_LOG_INFO, "gc: %s: %s (%s)", it->id, action, it->why);
	if (!out->arr) {
		if (!it->error && (it->verdict != CL_GC_KEEP || out->verbose))
			printf("%-10s %s (%s)\n", action, it->id, it->why);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(it->id));
	json_object_object_add(o, "action", json_object_new_string(action));
	json_object_object_add(o, "reason", json_object_new_string(it->why));
	json_object_object_add(o, "error",
			       it->error ? json_object_new_string(it->error->msg) : NULL);
	json_object_array_add(out->arr, o);
}

int cl_cmd_gc(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct cl_ctx ctx = cl_cli_ctx(g);
	_cleanup_(json_object_putp) json_object *arr = NULL;
	struct gc_out out = {};
	struct cl_error *err = NULL;
	int c, failed;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			out.arr = arr = arr ? arr : json_object_new_array();
			break;
		case 'v':
			out.verbose = true;
			break;
		case 'h':
			gc_help();
			return CL_EXIT_OK;
		default:
			return cl_cli_usage("gc", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cl_cli_usage("gc", "unexpected argument '%s'", argv[optind]);
	cl_layer_store_ready(&ctx, false);
	failed = cl_cli_sandbox(g, CL_SANDBOX_LAYER_TEARDOWN, &err);
	if (failed == 0)
		failed = cl_layer_gc(&ctx, gc_report, &out, &err);
	if (failed < 0)
		return cl_cli_fail(&err, "gc");
	if (arr)
		printf("%s\n",
		       json_object_array_length(arr)
			   ? json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_NOSLASHESCAPE)
			   : "[]");
	return failed ? CL_EXIT_FAIL : CL_EXIT_OK;
}
