/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/archive/format.h"
#include "lib/layer/layer.h"

/* shared by cmd-import.c (.clx) and cmd-import-oci.c (OCI image layouts) */
struct cl_import_args {
	const char *in, *base, *id_arg;
	const char *ids[CL_CLX_MAX_STANZAS];
	size_t nids;
	unsigned jobs;
	enum cl_keymode keymode;
	unsigned unpack_flags; /* CL_TAR_NO_DEVICES | CL_TAR_NO_SETID, less what is allowed */
	bool quiet;
};

/**
 * cl_import_is_oci() - is @in an OCI image layout (a directory) or an oci-archive (a
 * tar file), rather than a .clx stream?
 * Return: 1, 0, or -errno.
 */
int cl_import_is_oci(const char *in, struct cl_error **err);

/**
 * cl_import_oci() - verify every blob of the layout @a->in (digests; for encrypted
 * layers the ocicrypt HMAC, with the layer key unwrapped by one of @a->ids), then make
 * the new layer from its layers applied in order.
 * Return: 0 or -errno.
 */
int cl_import_oci(const struct cl_globals *g, const struct cl_import_args *a,
		  struct cl_record *ret_rec, struct cl_error **err);
