/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "oci/json-util.h"

json_object *cl_json_parse(const char *buf, size_t len, const char *what, struct cl_error **err)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new_ex(64);
	json_object *obj;
	enum json_tokener_error jerr;

	if (!tok) {
		cl_error_set(err, ENOMEM, "%s", what);
		return NULL;
	}
	if (len > (size_t)INT32_MAX) {
		cl_error_set(err, EFBIG, "%s too large", what);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		cl_error_set(err, EINVAL, "malformed JSON in %s: %s", what,
			     jerr == json_tokener_continue ? "unexpected end of input"
							   : json_tokener_error_desc(jerr));
		return NULL;
	}
	if (json_tokener_get_parse_end(tok) < len &&
	    strspn(buf + json_tokener_get_parse_end(tok), " \t\r\n") !=
		len - json_tokener_get_parse_end(tok)) {
		json_object_put(obj);
		cl_error_set(err, EINVAL, "malformed JSON in %s: trailing data", what);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		cl_error_set(err, EINVAL, "malformed JSON in %s: not an object", what);
		return NULL;
	}
	return obj;
}

int cl_json_get_string(json_object *obj, const char *key, const char *what, char **ret,
		       struct cl_error **err)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cl_error_set(err, EINVAL, "%s: '%s' is not a string", what, key);
	/* "\u0000" would silently cut the copy short: "a\u0000/.." would read as "a" */
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return cl_error_set(err, EINVAL, "%s: '%s' contains a NUL byte", what, key);
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : cl_error_set(err, ENOMEM, "%s", what);
}
