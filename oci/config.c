/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/json-util.h"
#include "oci/oci.h"

#define MAX_ANNOTATIONS 4096

void cl_oci_config_clear(struct cl_oci_config *c)
{
	free(c->root_path);
	free(c->cgroups_path);
	free(c->containerenv);
	free(c->shm);
	for (size_t i = 0; i < c->n_annotations; i++) {
		free(c->annotations[i].key);
		free(c->annotations[i].value);
	}
	free(c->annotations);
	memset(c, 0, sizeof(*c));
}

static int parse_root(json_object *obj, const char *bundle, struct cl_oci_config *c,
		      struct cl_error **err)
{
	_cleanup_free_ char *path = NULL;
	json_object *root;

	if (!json_object_object_get_ex(obj, "root", &root) ||
	    !json_object_is_type(root, json_type_object))
		return cl_error_set(err, EINVAL, "config.json: 'root' missing or not an object");
	if (cl_json_get_string(root, "path", "config.json root", &path, err) < 0)
		return -EINVAL;
	if (!path || !path[0])
		return cl_error_set(err, EINVAL, "config.json: 'root.path' missing");
	if (path[0] == '/') {
		c->root_path = TAKE_PTR(path);
		return 0;
	}
	if (!bundle || bundle[0] != '/')
		return cl_error_set(err, EINVAL,
				    "config.json: relative 'root.path' needs a bundle");
	if (asprintf(&c->root_path, "%s/%s", bundle, path) < 0)
		return cl_error_set(err, ENOMEM, "config.json");
	return 0;
}

static int parse_annotations(json_object *obj, struct cl_oci_config *c, struct cl_error **err)
{
	json_object *ann;
	size_t n;

	if (!json_object_object_get_ex(obj, "annotations", &ann) ||
	    json_object_is_type(ann, json_type_null))
		return 0;
	if (!json_object_is_type(ann, json_type_object))
		return cl_error_set(err, EINVAL, "config.json: 'annotations' is not an object");
	n = (size_t)json_object_object_length(ann);
	if (n > MAX_ANNOTATIONS)
		return cl_error_set(err, E2BIG, "config.json: more than %d annotations",
				    MAX_ANNOTATIONS);
	c->annotations = calloc(n ? n : 1, sizeof(*c->annotations));
	if (!c->annotations)
		return cl_error_set(err, ENOMEM, "config.json");
	json_object_object_foreach(ann, key, val)
	{
		struct cl_kv *kv = &c->annotations[c->n_annotations];

		if (!json_object_is_type(val, json_type_string))
			return cl_error_set(err, EINVAL,
					    "config.json: annotation '%.64s' is not a string", key);
		/* "\u0000" would silently cut the value short: "/a\u0000/.." reads as "/a" */
		if (strlen(json_object_get_string(val)) != (size_t)json_object_get_string_len(val))
			return cl_error_set(err, EINVAL,
					    "config.json: annotation '%.64s' contains a NUL byte",
					    key);
		kv->key = strdup(key);
		kv->value = strdup(json_object_get_string(val));
		c->n_annotations++;
		if (!kv->key || !kv->value)
			return cl_error_set(err, ENOMEM, "config.json");
	}
	return 0;
}

/*
 * podman binds <runroot>/overlay-containers/<id>/userdata/.containerenv (DESIGN §3), and
 * /dev/shm from <graphroot>/overlay-containers/<id>/userdata/shm (which survives a reboot)
 */
static int mount_source(json_object *m, const char *dst, char **ret, struct cl_error **err)
{
	json_object *d;

	if (!json_object_is_type(m, json_type_object) ||
	    !json_object_object_get_ex(m, "destination", &d) ||
	    !json_object_is_type(d, json_type_string) || strcmp(json_object_get_string(d), dst))
		return 0;
	free(*ret);
	*ret = NULL;
	return cl_json_get_string(m, "source", "config.json mounts", ret, err);
}

static int parse_podman_mounts(json_object *obj, struct cl_oci_config *c, struct cl_error **err)
{
	json_object *mounts;

	if (!json_object_object_get_ex(obj, "mounts", &mounts) ||
	    json_object_is_type(mounts, json_type_null))
		return 0;
	if (!json_object_is_type(mounts, json_type_array))
		return cl_error_set(err, EINVAL, "config.json: 'mounts' is not an array");
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i);
		int r = mount_source(m, "/run/.containerenv", &c->containerenv, err);

		if (r == 0)
			r = mount_source(m, "/dev/shm", &c->shm, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cl_oci_config_parse(const char *json, size_t len, const char *bundle, struct cl_oci_config *ret,
			struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *obj = NULL;
	struct cl_oci_config c = {};
	json_object *linux_obj;
	int r;

	if (len > CL_OCI_MAX_INPUT)
		return cl_error_set(err, EFBIG, "config.json larger than %u bytes",
				    CL_OCI_MAX_INPUT);
	obj = cl_json_parse(json, len, "config.json", err);
	if (!obj)
		return -EINVAL;
	r = parse_root(obj, bundle, &c, err);
	if (r >= 0)
		r = parse_annotations(obj, &c, err);
	if (r >= 0)
		r = parse_podman_mounts(obj, &c, err);
	if (r >= 0 && json_object_object_get_ex(obj, "linux", &linux_obj) &&
	    json_object_is_type(linux_obj, json_type_object))
		r = cl_json_get_string(linux_obj, "cgroupsPath", "config.json linux",
				       &c.cgroups_path, err);
	if (r >= 0)
		cl_oci_config_nest_facts(obj, &c);
	if (r < 0) {
		/* not -(*err)->errnum: @err may be NULL (discarded) */
		cl_oci_config_clear(&c);
		return r;
	}
	*ret = c;
	return 0;
}
