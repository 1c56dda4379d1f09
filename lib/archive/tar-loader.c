/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "lib/archive/tar.h"
#include "lib/core/plugin.h"

static const struct cl_tar_ops *loaded;

int cl_tar_ops_load(const char *path, const struct cl_tar_ops **ret, struct cl_error **err)
{
	const struct cl_tar_ops *ops;

	if (!loaded) {
		ops = cl_plugin_sym(CL_TAR_PLUGIN_NAME, path, CL_TAR_OPS_SYMBOL, err);
		if (!ops)
			return cl_error_wrap(err, "tar/zstd support");
		if (ops->abi != CL_TAR_ABI || ops->size != sizeof(*ops))
			return cl_error_set(err, ELIBBAD, "plugin %s: ABI %u, want %u",
					    CL_TAR_PLUGIN_NAME, ops->abi, CL_TAR_ABI);
		loaded = ops;
	}
	*ret = loaded;
	return 0;
}
