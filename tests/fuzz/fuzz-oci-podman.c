/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: podman's container layer as precreate reads it (oci/podman.c).
 * The input is "<root.path>\n<mountinfo line>": cl_oci_podman_layer_upper() gets both
 * (the line as precreate passes it, without its newline). The whole input is also an
 * etc/passwd, etc/group and etc/mtab target for cl_oci_podman_own_entry().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/oci.h"

#define FUZZ_MAX (128 * 1024) /* cap as libmount's fuzz.c does */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

static void layer_upper(const char *root, const char *line)
{
	struct cl_error *err = NULL;
	char *upper = NULL;
	int r = cl_oci_podman_layer_upper(root, line, &upper, &err);

	if (r < 0) {
		if (!err || err->errnum <= 0 || !err->msg || upper)
			abort(); /* the error contract: set exactly once, with a message */
		cl_error_free(&err);
		return;
	}
	if (err || r > 1 || (r == 0) != !upper)
		abort();
	/* what precreate then scans: an absolute path beside root.path, podman's layout */
	if (upper &&
	    (upper[0] != '/' || !(ends_with(upper, "/diff") || ends_with(upper, "/upper"))))
		abort();
	free(upper);
}

static void own_entry(const char *rel, mode_t mode, const char *data, size_t size)
{
	enum cl_oci_podman_entry e = cl_oci_podman_own_entry(rel, mode, (off_t)size, NULL, 0);

	if (e >= _CL_OCI_PODMAN_ENTRY_MAX)
		abort();
	if (e != CL_OCI_PODMAN_NEED_DATA)
		return;
	e = cl_oci_podman_own_entry(rel, mode, (off_t)size, data, size);
	if (e != CL_OCI_PODMAN_OWN && e != CL_OCI_PODMAN_CONTENT)
		abort(); /* given the data, it decides */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *nl;

	if (size > FUZZ_MAX)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = memchr(buf, '\n', size);
	if (nl) {
		*nl = '\0';
		layer_upper(buf, nl + 1);
		*nl = '\n';
	}
	own_entry("etc/passwd", S_IFREG | 0644, buf, size);
	own_entry("etc/group", S_IFREG | 0644, buf, size);
	own_entry("etc/mtab", S_IFLNK | 0777, buf, size);
	free(buf);
	return 0;
}
