/* SPDX-License-Identifier: GPL-2.0-or-later */
/* create, destroy, list, status */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/layer/layer.h"
#include "lib/core/cleanup.h"
#include "oci/json-util.h"

static int parse_keymode(const char *cmd, const char *v, enum cl_keymode *ret)
{
	if (!strcmp(v, "ephemeral"))
		*ret = CL_KEY_EPHEMERAL;
	else if (!strcmp(v, "persistent"))
		*ret = CL_KEY_PERSISTENT;
	else
		return cl_cli_usage(cmd, "--key: expected ephemeral or persistent, not '%s'", v);
	return 0;
}

static void create_help(void)
{
	fputs("Usage:\n"
	      " cryptlayer create --base DIR [--id ID] [--key ephemeral|persistent]\n"
	      "                   [--backend overlay|btrfs] [--nested]\n"
	      "\n"
	      "Create an encrypted writable layer over the read-only DIR and mount it.\n"
	      "Prints the absolute path of the merged tree as the only line on stdout.\n"
	      "\n"
	      "Options:\n"
	      "     --base DIR       read-only lower directory (absolute)\n"
	      "     --id ID          layer id ([A-Za-z0-9_.-], default: a random one)\n"
	      "     --key MODE       ephemeral (default): key only in the kernel, erased at\n"
	      "                      destroy; persistent: wrapped by the machine key\n"
	      "     --backend NAME   overlay (default) or btrfs: DIR must be a btrfs subvolume;\n"
	      "                      the layer pins a read-only snapshot of it (made in\n"
	      "                      .cryptlayer-snapshots beside DIR, or --snapshot-dir),\n"
	      "                      so later changes to DIR are not seen, and deletes it at\n"
	      "                      destroy. Upper and work stay encrypted on the store:\n"
	      "                      mainline btrfs has no encryption ('doctor' probes it)\n"
	      "     --nested         also a nest for containers run inside (DESIGN §6):\n"
	      "                      MERGED/var/lib/cryptlayer is a fresh store for an inner\n"
	      "                      cryptlayer, MERGED/var/lib/containers a graph encrypted\n"
	      "                      with this layer's key; destroy erases every inner key\n"
	      " -h, --help           display this help\n",
	      stdout);
}

int cl_cmd_create(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"base", required_argument, NULL, 'b'},
	    {"id", required_argument, NULL, 'i'},
	    {"key", required_argument, NULL, 'k'},
	    {"backend", required_argument, NULL, 'B'},
	    {"nested", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_request req = {};
	struct cl_error *err = NULL;
	struct cl_record rec = {};
	_cleanup_free_ char *id = NULL;
	const char *base = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			base = optarg;
			break;
		case 'i':
			free(id);
			id = strdup(optarg);
			break;
		case 'k':
			if (parse_keymode("create", optarg, &req.keymode))
				return CL_EXIT_USAGE;
			break;
		case 'B':
			if (!strcmp(optarg, "btrfs"))
				req.backend = CL_BACKEND_BTRFS;
			else if (strcmp(optarg, "overlay"))
				return cl_cli_usage("create",
						    "--backend: expected overlay or btrfs");
			break;
		case 'n':
			req.nested = true;
			break;
		case 'h':
			create_help();
			return CL_EXIT_OK;
		default:
			return cl_cli_usage("create", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cl_cli_usage("create", "unexpected argument '%s'", argv[optind]);
	if (!base)
		return cl_cli_usage("create", "--base DIR is required");
	if (!id && cl_layer_new_id(&id) < 0)
		return CL_EXIT_FAIL;
	req.enabled = true;
	cl_layer_store_ready(&ctx, true);
	if (cl_cli_sandbox(g, CL_SANDBOX_LAYER_SETUP, &err) < 0)
		return cl_cli_fail(&err, "create");
	{
		struct cl_layer_args a = {
		    .id = id, .req = &req, .lower = base, .owner = CL_OWNER_CLI};

		if (cl_layer_create(&ctx, &a, &rec, &err) < 0)
			return cl_cli_fail(&err, "create");
	}
	printf("%s\n", rec.merged);
	cl_record_clear(&rec);
	return fflush(stdout) == 0 ? CL_EXIT_OK : CL_EXIT_FAIL;
}

static int one_id_command(const char *cmd, const char *help, int argc, char **argv, bool *json,
			  const char **ret_id)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", json ? opts : opts + 1, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return -1;
		}
		if (c == 'j' && json) {
			*json = true;
			continue;
		}
		return cl_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (ret_id) {
		if (optind + 1 != argc)
			return cl_cli_usage(cmd, optind >= argc ? "missing layer ID"
								: "too many arguments");
		*ret_id = argv[optind];
	} else if (optind != argc) {
		return cl_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	}
	return 0;
}

int cl_cmd_destroy(const struct cl_globals *g, int argc, char **argv)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_error *err = NULL;
	const char *id = NULL;
	int r =
	    one_id_command("destroy",
			   "Usage:\n cryptlayer destroy ID\n\n"
			   "Unmount layer ID, delete its files (ephemeral), remove its key from\n"
			   "the kernel and check that it is gone. Exits 0 if the layer does not\n"
			   "exist; exits 1, changing nothing, while a running container uses it.\n",
			   argc, argv, NULL, &id);

	if (r)
		return r < 0 ? CL_EXIT_OK : r;
	cl_layer_store_ready(&ctx, false);
	if (cl_cli_sandbox(g, CL_SANDBOX_LAYER_TEARDOWN, &err) < 0 ||
	    cl_layer_destroy(&ctx, id, NULL, &err) < 0)
		return cl_cli_fail(&err, "destroy");
	return CL_EXIT_OK;
}

int cl_cmd_lock(const struct cl_globals *g, int argc, char **argv)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_error *err = NULL;
	const char *id = NULL;
	int r =
	    one_id_command("lock",
			   "Usage:\n cryptlayer lock ID\n\n"
			   "Lock persistent layer ID: unmount it, remove its key from the kernel\n"
			   "and check that it is gone. Its files stay, encrypted (the host sees\n"
			   "only encrypted names), with the wrapped key in the store; 'unlock'\n"
			   "brings them back. Locking a locked layer succeeds; an ephemeral or\n"
			   "unknown layer, or one a running container uses, is refused (exit 1).\n",
			   argc, argv, NULL, &id);

	if (r)
		return r < 0 ? CL_EXIT_OK : r;
	cl_layer_store_ready(&ctx, false);
	if (cl_cli_sandbox(g, CL_SANDBOX_LAYER_TEARDOWN, &err) < 0 ||
	    cl_layer_lock(&ctx, id, NULL, &err) < 0)
		return cl_cli_fail(&err, "lock");
	return CL_EXIT_OK;
}

int cl_cmd_unlock(const struct cl_globals *g, int argc, char **argv)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_error *err = NULL;
	struct cl_record rec = {};
	const char *id = NULL;
	int r = one_id_command(
	    "unlock",
	    "Usage:\n cryptlayer [--machine-key SPEC] unlock ID\n\n"
	    "Unlock persistent layer ID: unwrap its key from the store with the\n"
	    "machine key (a damaged copy of the key file is repaired), add it to\n"
	    "the kernel and mount the layer. Prints the merged path, like create.\n"
	    "Unlocking an unlocked layer succeeds. With a wrong machine key or both\n"
	    "key-file copies damaged it exits 1 and the layer stays locked.\n",
	    argc, argv, NULL, &id);

	if (r)
		return r < 0 ? CL_EXIT_OK : r;
	{
		struct cl_layer_args a = {.id = id, .owner = CL_OWNER_CLI};

		cl_layer_store_ready(&ctx, false);
		if (cl_cli_sandbox(g, CL_SANDBOX_LAYER_SETUP, &err) < 0 ||
		    cl_layer_unlock(&ctx, &a, &rec, &err) < 0)
			return cl_cli_fail(&err, "unlock");
	}
	printf("%s\n", rec.merged ? rec.merged : "");
	cl_record_clear(&rec);
	return fflush(stdout) == 0 ? CL_EXIT_OK : CL_EXIT_FAIL;
}

static json_object *status_json(const struct cl_layer_info *info)
{
	const struct cl_record *rec = &info->rec;
	json_object *o = json_object_new_object();

#define S(k, v) json_object_object_add(o, k, (v) ? json_object_new_string(v) : NULL)
	S("id", rec->id);
	S("base", rec->base);
	S("backend", rec->backend);
	S("keymode", rec->keymode);
	S("key_id", rec->key_id);
	S("key_status", info->key_status);
	json_object_object_add(o, "mounted", json_object_new_boolean(info->mounted));
	S("upper", rec->upper);
	S("merged", rec->merged);
	S("state", rec->state);
	json_object_object_add(o, "nested", json_object_new_boolean(info->nested));
	json_object_object_add(o, "inner_keys", json_object_new_int((int)info->inner_keys));
	S("snapshot", rec->snapshot);
#undef S
	return o;
}

static void print_text(json_object *o)
{
	json_object_object_foreach(o, k, v)
	{
		printf("%-11s %s\n", k, v ? json_object_get_string(v) : "-");
	}
}

static const char *to_json(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
}

int cl_cmd_status(const struct cl_globals *g, int argc, char **argv)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_error *err = NULL;
	struct cl_layer_info info = {};
	const char *id = NULL;
	bool json = false;
	int r = one_id_command(
	    "status",
	    "Usage:\n cryptlayer status ID [--json]\n\n"
	    "Show layer ID: base, backend, key mode, key identifier and its status\n"
	    "in the kernel, whether it is mounted, upper and merged paths.\n"
	    "Exits 1 for an unknown ID.\n\n"
	    "Options:\n     --json     one JSON object\n -h, --help     display this help\n",
	    argc, argv, &json, &id);

	if (r)
		return r < 0 ? CL_EXIT_OK : r;
	cl_layer_store_ready(&ctx, false);
	if (cl_cli_sandbox(g, CL_SANDBOX_READ, &err) < 0 ||
	    cl_layer_status(&ctx, id, &info, &err) < 0)
		return cl_cli_fail(&err, "status");
	o = status_json(&info);
	cl_record_clear(&info.rec);
	if (json)
		printf("%s\n", to_json(o));
	else
		print_text(o);
	return CL_EXIT_OK;
}

int cl_cmd_list(const struct cl_globals *g, int argc, char **argv)
{
	_cleanup_(json_object_putp) json_object *arr = json_object_new_array();
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_layer_info *infos = NULL;
	struct cl_error *err = NULL;
	bool json = false;
	int n, r = one_id_command(
		   "list",
		   "Usage:\n cryptlayer list [--json]\n\n"
		   "List layers, one per line: ID, key mode, key status, mounted, merged.\n\n"
		   "Options:\n     --json     a JSON array of 'status --json' objects\n"
		   " -h, --help     display this help\n",
		   argc, argv, &json, NULL);

	if (r)
		return r < 0 ? CL_EXIT_OK : r;
	cl_layer_store_ready(&ctx, false);
	n = cl_cli_sandbox(g, CL_SANDBOX_READ, &err);
	if (n == 0)
		n = cl_layer_list(&ctx, &infos, &err);
	if (n < 0)
		return cl_cli_fail(&err, "list");
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, status_json(&infos[i]));
	cl_layer_info_free(infos, n);
	if (json) {
		/* json-c pretty-prints an empty array over two lines; scripts expect [] */
		printf("%s\n", json_object_array_length(arr) ? to_json(arr) : "[]");
		return CL_EXIT_OK;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		const char *f[4] = {"-", "-", "-", "-"};
		static const char *keys[4] = {"id", "keymode", "key_status", "merged"};

		for (int k = 0; k < 4; k++)
			if (json_object_object_get_ex(o, keys[k], &v) && v)
				f[k] = json_object_get_string(v);
		json_object_object_get_ex(o, "mounted", &v);
		printf("%-24s %-10s %-8s %-8s %s\n", f[0], f[1], f[2],
		       json_object_get_boolean(v) ? "mounted" : "-", f[3]);
	}
	return CL_EXIT_OK;
}
