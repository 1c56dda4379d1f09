/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/layer/layer.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "oci/oci.h"

static void prepare_help(void)
{
	fputs("Usage:\n"
	      " cryptlayer [global options] prepare --bundle DIR [--id ID]\n"
	      "\n"
	      "For runc/crun without hooks: read DIR/config.json, create the encrypted layer its\n"
	      "io.cryptlayer.* annotations ask for (the lower is io.cryptlayer.base, else\n"
	      "root.path), point root.path at the layer and add a poststop hook that erases it.\n"
	      "Then run 'runc run -b DIR ID' as usual.\n"
	      "\n"
	      "Options:\n"
	      "     --bundle DIR   the OCI bundle (absolute or relative)\n"
	      "     --id ID        layer id (default: the bundle directory's name)\n"
	      " -h, --help         display this help\n",
	      stdout);
}

static int do_prepare(const struct cl_globals *g, const char *bundle, const char *id,
		      struct cl_error **err)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	_cleanup_free_ char *buf = NULL, *out = NULL;
	_cleanup_close_ int bfd = -1;
	struct cl_oci_config cfg = {};
	struct cl_request req = {};
	size_t len = 0;
	int r;

	bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return cl_error_set(err, errno, "bundle '%s'", bundle);
	r = cl_read_file_at(bfd, "config.json", CL_OCI_MAX_INPUT, &buf, &len, err);
	if (r == 0)
		r = cl_oci_config_parse(buf, len, bundle, &cfg, err);
	if (r == 0)
		r = cl_oci_request_parse(cfg.annotations, cfg.n_annotations, &req, err);
	if (r == 0) {
		struct cl_layer_args a = {.id = id,
					  .req = &req,
					  .lower = req.base ? req.base : cfg.root_path,
					  .lower_is_root = !req.base,
					  .owner = CL_OWNER_BUNDLE,
					  .bundle = bundle,
					  .owner_dir = bundle,
					  .config = &cfg};

		req.enabled = true;
		cl_layer_store_ready(&ctx, true);
		r = cl_cli_sandbox(g, CL_SANDBOX_LAYER_SETUP, err);
		if (r == 0)
			r = cl_layer_create_rewrite(&ctx, &a, buf, len, &out, err);
		if (r == 0) {
			/* its mode and owner stay (0600 when env holds secrets) */
			r = cl_write_file_keep_at(bfd, "config.json", out, strlen(out), 0644, err);
			/* erase an ephemeral layer, lock (never erase) a persistent one */
			if (r < 0)
				(void)cl_layer_stop(&ctx, id, NULL, NULL, NULL, NULL);
		}
	}
	cl_oci_request_clear(&req);
	cl_oci_config_clear(&cfg);
	return r;
}

int cl_cmd_prepare(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_free_ char *bundle = NULL, *id = NULL;
	struct cl_error *err = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			free(bundle);
			bundle = realpath(optarg, NULL);
			if (!bundle) {
				cl_error_set(&err, errno, "bundle '%s'", optarg);
				return cl_cli_fail(&err, "prepare");
			}
			break;
		case 'i':
			free(id);
			id = strdup(optarg);
			break;
		case 'h':
			prepare_help();
			return CL_EXIT_OK;
		default:
			return cl_cli_usage("prepare", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cl_cli_usage("prepare", "unexpected argument '%s'", argv[optind]);
	if (!bundle)
		return cl_cli_usage("prepare", "--bundle DIR is required");
	if (!id)
		id = strdup(basename(bundle));
	if (!id || !cl_oci_id_valid(id))
		return cl_cli_usage("prepare", "invalid layer id '%s'", id ? id : "");
	if (do_prepare(g, bundle, id, &err) < 0)
		return cl_cli_fail(&err, "prepare");
	return CL_EXIT_OK;
}
