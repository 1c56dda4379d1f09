/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The facts of config.json that io.cryptlayer.nested=true depends on (DESIGN §6). */
#include <string.h>

#include "oci/json-util.h"
#include "oci/oci.h"

static bool array_has_string(json_object *arr, const char *s)
{
	if (!json_object_is_type(arr, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_string) &&
		    !strcmp(json_object_get_string(v), s))
			return true;
	}
	return false;
}

/* CAP_SYS_ADMIN in process.capabilities.bounding (no capabilities object: none) */
static bool has_sys_admin(json_object *obj)
{
	json_object *proc, *caps, *bounding;

	return json_object_object_get_ex(obj, "process", &proc) &&
	       json_object_object_get_ex(proc, "capabilities", &caps) &&
	       json_object_object_get_ex(caps, "bounding", &bounding) &&
	       array_has_string(bounding, "CAP_SYS_ADMIN");
}

/* a "user" entry in linux.namespaces, or uid mappings */
static bool has_user_ns(json_object *obj)
{
	json_object *linux_obj, *ns, *maps;

	if (!json_object_object_get_ex(obj, "linux", &linux_obj))
		return false;
	if (json_object_object_get_ex(linux_obj, "uidMappings", &maps) &&
	    json_object_is_type(maps, json_type_array) && json_object_array_length(maps) > 0)
		return true;
	if (!json_object_object_get_ex(linux_obj, "namespaces", &ns) ||
	    !json_object_is_type(ns, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(ns); i++) {
		json_object *t, *e = json_object_array_get_idx(ns, i);

		if (json_object_object_get_ex(e, "type", &t) &&
		    json_object_is_type(t, json_type_string) &&
		    !strcmp(json_object_get_string(t), "user"))
			return true;
	}
	return false;
}

void cl_oci_config_nest_facts(json_object *obj, struct cl_oci_config *c)
{
	c->cap_sys_admin = has_sys_admin(obj);
	c->user_ns = has_user_ns(obj);
}
