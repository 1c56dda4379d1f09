/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: <bundle>/config.json, the podman container id of it (precreate),
 * then the prepare/precreate rewrite of it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"

/* the podman id is 64 lowercase hex; the userdata dir is absolute and names that id */
static void check_podman(const struct cl_oci_config *c)
{
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;

	if (cl_oci_podman_parse(c, &p, &err) < 0) {
		assert(err && err->errnum > 0);
		assert(!p.userdata && !p.id[0]);
		cl_error_free(&err);
		return;
	}
	assert(strlen(p.id) == 64 && strspn(p.id, "0123456789abcdef") == 64);
	assert(cl_oci_id_valid(p.id));
	if (p.userdata) {
		assert(p.userdata[0] == '/' && strstr(p.userdata, p.id));
		assert(!strstr(p.userdata, "/../"));
	}
	cl_oci_podman_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hook_argv[] = {"/usr/local/bin/cryptlayer", "hook", "poststop", NULL};

static void check_rewrite(const char *json, size_t size)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;
	char *out = NULL, *again = NULL;

	if (cl_oci_config_rewrite(json, size, "/store/containers/f/merged", hook_argv, &out, &err) <
	    0) {
		assert(err && err->errnum > 0 && !out);
		cl_error_free(&err);
		return;
	}
	/* the output is a config we accept, with our root.path, and rewriting is idempotent */
	if (cl_oci_config_parse(out, strlen(out), "/bundle", &c, &err) == 0) {
		assert(!strcmp(c.root_path, "/store/containers/f/merged"));
		cl_oci_config_clear(&c);
	}
	cl_error_free(&err);
	if (strlen(out) <= CL_OCI_MAX_INPUT) {
		int r = cl_oci_config_rewrite(out, strlen(out), "/store/containers/f/merged",
					      hook_argv, &again, &err);

		assert(r == 0);
		assert(!strcmp(out, again));
	}
	free(again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	if (size > 128 * 1024) /* libmount fuzz.c: larger inputs only slow the fuzzer down */
		return 0;
	if (cl_oci_config_parse((const char *)data, size, "/bundle", &c, &err) == 0) {
		assert(!err);
		assert(c.root_path && c.root_path[0] == '/');
		assert(c.n_annotations <= 4096);
		for (size_t i = 0; i < c.n_annotations; i++)
			assert(c.annotations[i].key && c.annotations[i].value);
		check_podman(&c);
		cl_oci_config_clear(&c);
	} else {
		assert(err && err->errnum > 0 && err->msg);
		assert(!c.root_path && !c.annotations);
	}
	cl_error_free(&err);
	if (cl_oci_config_parse((const char *)data, size, NULL, &c, NULL) == 0)
		cl_oci_config_clear(&c);
	check_rewrite((const char *)data, size);
	return 0;
}
