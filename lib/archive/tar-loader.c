/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"

#ifndef CL_LIBDIR
#define CL_LIBDIR "/usr/local/lib"
#endif

static const struct cl_tar_ops *loaded;

static int plugin_open(const char *path, const struct cl_tar_ops **ret, struct cl_error **err)
{
	const struct cl_tar_ops *ops;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return cl_error_set(err, ELIBBAD, "load plugin '%s': %s", path, dlerror());
	ops = dlsym(h, CL_TAR_OPS_SYMBOL);
	if (!ops || ops->abi != CL_TAR_ABI || ops->size != sizeof(*ops)) {
		dlclose(h);
		return cl_error_set(err, ELIBBAD, "plugin '%s' lacks %s (ABI %u)", path,
				    CL_TAR_OPS_SYMBOL, CL_TAR_ABI);
	}
	*ret = ops; /* never dlclose'd: the ops stay valid for the process */
	return 0;
}

int cl_tar_ops_load(const char *path, const struct cl_tar_ops **ret, struct cl_error **err)
{
	_cleanup_free_ char *exe = NULL, *beside = NULL;
	const char *installed = CL_LIBDIR "/cryptlayer/" CL_TAR_PLUGIN_NAME;
	int r;

	if (loaded) {
		*ret = loaded;
		return 0;
	}
	if (path) {
		r = plugin_open(path, &loaded, err);
		if (r == 0)
			*ret = loaded;
		return r;
	}
	exe = realpath("/proc/self/exe", NULL);
	if (exe && asprintf(&beside, "%s/%s", dirname(exe), CL_TAR_PLUGIN_NAME) < 0)
		beside = NULL;
	if (beside && access(beside, F_OK) == 0)
		r = plugin_open(beside, &loaded, err);
	else if (access(installed, F_OK) == 0)
		r = plugin_open(installed, &loaded, err);
	else
		r = cl_error_set(err, ENOENT, "tar/zstd plugin %s not found (looked beside the "
					      "binary and in '%s'); install it with 'make install'",
				 CL_TAR_PLUGIN_NAME, CL_LIBDIR "/cryptlayer");
	if (r == 0)
		*ret = loaded;
	return r;
}
