/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"

CL_DEFINE_CLEANUP(json_object *, json_object_put)
CL_DEFINE_CLEANUP(json_tokener *, json_tokener_free)

/**
 * cl_json_parse() - parse one JSON document (depth-limited, trailing garbage refused).
 * @what: names the input in errors ("state", "'config.json'")
 * Return: the object, or NULL with EINVAL and json-c's reason.
 */
json_object *cl_json_parse(const char *buf, size_t len, const char *what, struct cl_error **err);

/**
 * cl_json_get_string() - optional string member @key of @obj, copied into *ret.
 * Return: 0 (also when absent: *ret stays NULL), -EINVAL when present but not a string.
 */
int cl_json_get_string(json_object *obj, const char *key, const char *what, char **ret,
		       struct cl_error **err);

struct cl_oci_config;

/** cl_oci_config_nest_facts() - fill @c's cap_sys_admin and user_ns from config @obj. */
void cl_oci_config_nest_facts(json_object *obj, struct cl_oci_config *c);
