/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"

#define PREFIX "io.cryptlayer."

const char *cl_oci_keymode_name(enum cl_keymode m)
{
	return m == CL_KEY_PERSISTENT ? "persistent" : "ephemeral";
}

const char *cl_oci_backend_name(enum cl_backend b)
{
	return b == CL_BACKEND_BTRFS ? "btrfs" : "overlay";
}

void cl_oci_request_clear(struct cl_request *r)
{
	free(r->base);
	memset(r, 0, sizeof(*r));
}

static int parse_bool(const char *key, const char *v, bool *ret, struct cl_error **err)
{
	if (!strcmp(v, "true"))
		*ret = true;
	else if (!strcmp(v, "false"))
		*ret = false;
	else
		return cl_error_set(err, EINVAL, "annotation '%s': expected true or false", key);
	return 0;
}

static int parse_base(const char *v, struct cl_request *r, struct cl_error **err)
{
	const char *p;

	if (v[0] != '/')
		return cl_error_set(err, EINVAL,
				    "annotation '" PREFIX "base': '%.256s' is not an absolute path",
				    v);
	/* ".." could climb out of whatever the admin allowed; refuse it outright */
	for (p = v; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return cl_error_set(
			    err, EINVAL, "annotation '" PREFIX "base': '%.256s' contains '..'", v);
	free(r->base);
	r->base = strdup(v);
	return r->base ? 0 : cl_error_set(err, ENOMEM, "annotations");
}

/* well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points past 10FFFF */
static bool valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned char c = *s++;
		unsigned n = c < 0x80		      ? 0
			     : c >= 0xc2 && c <= 0xdf ? 1
			     : (c & 0xf0) == 0xe0     ? 2
			     : c >= 0xf0 && c <= 0xf4 ? 3
						      : 4;

		if (n == 4)
			return false;
		/* the second byte's range rules out overlongs, surrogates and > 10FFFF */
		if ((c == 0xe0 && (s[0] < 0xa0 || s[0] > 0xbf)) || (c == 0xed && s[0] > 0x9f) ||
		    (c == 0xf0 && s[0] < 0x90) || (c == 0xf4 && s[0] > 0x8f))
			return false;
		for (unsigned i = 0; i < n; i++, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static int parse_one(const char *key, const char *v, struct cl_request *r, struct cl_error **err)
{
	const char *name = key + strlen(PREFIX);

	/* never echo bytes that are not text into a message or the log */
	if (!valid_utf8(key))
		return cl_error_set(err, EINVAL, "an io.cryptlayer.* annotation key is not UTF-8");
	if (!valid_utf8(v))
		return cl_error_set(err, EINVAL, "annotation '%s': the value is not UTF-8", key);

	if (strlen(v) > CL_OCI_MAX_ANNOTATION_VALUE)
		return cl_error_set(err, E2BIG, "annotation '%s' longer than %d bytes", key,
				    CL_OCI_MAX_ANNOTATION_VALUE);
	if (!strcmp(name, "enable"))
		return parse_bool(key, v, &r->enabled, err);
	if (!strcmp(name, "nested"))
		return parse_bool(key, v, &r->nested, err);
	if (!strcmp(name, "base"))
		return parse_base(v, r, err);
	if (!strcmp(name, "key")) {
		if (!strcmp(v, "ephemeral"))
			r->keymode = CL_KEY_EPHEMERAL;
		else if (!strcmp(v, "persistent"))
			r->keymode = CL_KEY_PERSISTENT;
		else
			return cl_error_set(
			    err, EINVAL, "annotation '%s': expected ephemeral or persistent", key);
		return 0;
	}
	if (!strcmp(name, "backend")) {
		if (!strcmp(v, "overlay"))
			r->backend = CL_BACKEND_OVERLAY;
		else if (!strcmp(v, "btrfs"))
			r->backend = CL_BACKEND_BTRFS;
		else
			return cl_error_set(err, EINVAL,
					    "annotation '%s': expected overlay or btrfs", key);
		return 0;
	}
	return cl_error_set(err, EINVAL, "unknown annotation '%.128s'", key);
}

int cl_oci_request_parse(const struct cl_kv *ann, size_t n, struct cl_request *ret,
			 struct cl_error **err)
{
	struct cl_request r = {};
	bool explicit_enable = false;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (strncmp(ann[i].key, PREFIX, strlen(PREFIX)))
			continue;
		if (!strcmp(ann[i].key, PREFIX "enable"))
			explicit_enable = true;
		rc = parse_one(ann[i].key, ann[i].value, &r, err);
		if (rc < 0) {
			/* not -(*err)->errnum: @err may be NULL (discarded) */
			cl_oci_request_clear(&r);
			return rc;
		}
	}
	/* a base alone enables the hook; enable=false with a base is a contradiction */
	if (r.base && explicit_enable && !r.enabled) {
		cl_oci_request_clear(&r);
		return cl_error_set(err, EINVAL,
				    "annotation '" PREFIX "enable=false' contradicts '" PREFIX
				    "base'");
	}
	if (r.nested && explicit_enable && !r.enabled) {
		cl_oci_request_clear(&r);
		return cl_error_set(err, EINVAL,
				    "annotation '" PREFIX "enable=false' contradicts '" PREFIX
				    "nested=true'");
	}
	/* nested=true asks for a layer too: the nest goes beside one (DESIGN §6) */
	if (r.base || r.nested)
		r.enabled = true;
	*ret = r;
	return 0;
}
