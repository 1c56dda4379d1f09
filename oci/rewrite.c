/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "oci/json-util.h"
#include "oci/oci.h"

static json_object *argv_json(const char *const *argv)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && argv[i]; i++)
		json_object_array_add(a, json_object_new_string(argv[i]));
	return a;
}

static int add_poststop(json_object *cfg, const char *const *argv, struct cl_error **err)
{
	json_object *hooks, *list, *hook;

	if (!json_object_object_get_ex(cfg, "hooks", &hooks) ||
	    json_object_is_type(hooks, json_type_null)) {
		hooks = json_object_new_object();
		json_object_object_add(cfg, "hooks", hooks);
	}
	if (!json_object_is_type(hooks, json_type_object))
		return cl_error_set(err, EINVAL, "config.json: 'hooks' is not an object");
	if (!json_object_object_get_ex(hooks, "poststop", &list) ||
	    json_object_is_type(list, json_type_null)) {
		list = json_object_new_array();
		json_object_object_add(hooks, "poststop", list);
	}
	if (!json_object_is_type(list, json_type_array))
		return cl_error_set(err, EINVAL, "config.json: 'hooks.poststop' is not an array");
	hook = json_object_new_object();
	json_object_object_add(hook, "path", json_object_new_string(argv[0]));
	json_object_object_add(hook, "args", argv_json(argv));
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		if (json_object_equal(json_object_array_get_idx(list, i), hook)) {
			json_object_put(hook);
			return 0; /* already there: rewriting twice is harmless */
		}
	}
	json_object_array_add(list, hook);
	return 0;
}

int cl_oci_config_rewrite(const char *json, size_t len, const char *root_path,
			  const char *const *hook_argv, char **ret_json, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *cfg = NULL;
	json_object *root;
	const char *out;

	if (len > CL_OCI_MAX_INPUT)
		return cl_error_set(err, EFBIG, "config.json larger than %u bytes",
				    CL_OCI_MAX_INPUT);
	cfg = cl_json_parse(json, len, "config.json", err);
	if (!cfg)
		return -EINVAL;
	if (!json_object_object_get_ex(cfg, "root", &root) ||
	    !json_object_is_type(root, json_type_object))
		return cl_error_set(err, EINVAL, "config.json: 'root' missing or not an object");
	json_object_object_add(root, "path", json_object_new_string(root_path));
	if (hook_argv && add_poststop(cfg, hook_argv, err) < 0)
		return -EINVAL;
	out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!out || !(*ret_json = strdup(out)))
		return cl_error_set(err, ENOMEM, "config.json");
	return 0;
}
