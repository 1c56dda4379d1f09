/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "oci/json-util.h"
#include "oci/oci.h"

void cl_oci_state_clear(struct cl_oci_state *s)
{
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	memset(s, 0, sizeof(*s));
}

static int get_pid(json_object *obj, pid_t *ret, struct cl_error **err)
{
	json_object *v;
	int64_t pid;

	if (!json_object_object_get_ex(obj, "pid", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return cl_error_set(err, EINVAL, "state: 'pid' is not an integer");
	pid = json_object_get_int64(v);
	if (pid < 0 || pid > INT_MAX)
		return cl_error_set(err, EINVAL, "state: 'pid' %lld out of range", (long long)pid);
	*ret = (pid_t)pid;
	return 0;
}

int cl_oci_state_parse(const char *json, size_t len, struct cl_oci_state *ret,
		       struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *obj = NULL;
	struct cl_oci_state s = {};

	if (len > CL_OCI_MAX_INPUT)
		return cl_error_set(err, EFBIG, "state larger than %u bytes", CL_OCI_MAX_INPUT);
	obj = cl_json_parse(json, len, "state", err);
	if (!obj)
		return -EINVAL;
	if (cl_json_get_string(obj, "ociVersion", "state", &s.oci_version, err) < 0 ||
	    cl_json_get_string(obj, "id", "state", &s.id, err) < 0 ||
	    cl_json_get_string(obj, "status", "state", &s.status, err) < 0 ||
	    cl_json_get_string(obj, "bundle", "state", &s.bundle, err) < 0 ||
	    get_pid(obj, &s.pid, err) < 0)
		goto fail;
	if (!s.id || !cl_oci_id_valid(s.id)) {
		cl_error_set(err, EINVAL, "state: missing or invalid 'id'");
		goto fail;
	}
	if (!s.bundle || s.bundle[0] != '/') {
		cl_error_set(err, EINVAL, "state: 'bundle' missing or not an absolute path");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	cl_oci_state_clear(&s);
	return -EINVAL;
}

bool cl_oci_id_valid(const char *id)
{
	size_t n = strlen(id);

	/*
	 * a subset of what runc accepts (^[\w+-.]+$, not "." or ".."): no '/', no control
	 * characters; never a leading '.' (list and gc skip dot files: such a layer would be
	 * invisible), and at most 128 bytes (a file name with room for suffixes)
	 */
	if (n == 0 || n > 128 || id[0] == '.')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}
