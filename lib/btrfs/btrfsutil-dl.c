/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>

#include "lib/btrfs/btrfsutil-dl.h"

#define CL_BTRFSUTIL_SONAME "libbtrfsutil.so.1"

const struct cl_btrfsutil *cl_btrfsutil(struct cl_error **err)
{
	static struct cl_btrfsutil bu;
	static bool loaded;
	void *h;

	if (loaded)
		return &bu;
	/* the hook is single-threaded; archive threads never use libbtrfsutil */
	h = dlopen(CL_BTRFSUTIL_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		cl_error_set(err, ENOENT, "load %s (install libbtrfsutil1): %s",
			     CL_BTRFSUTIL_SONAME, dlerror());
		return NULL;
	}
#define CL_BTRFSUTIL_RESOLVE(f)                                                                    \
	*(void **)&bu.f = dlsym(h, #f);                                                            \
	if (!bu.f) {                                                                               \
		cl_error_set(err, ENOSYS, "%s has no '%s'", CL_BTRFSUTIL_SONAME, #f);              \
		dlclose(h);                                                                        \
		return NULL;                                                                       \
	}
	CL_BTRFSUTIL_SYMS(CL_BTRFSUTIL_RESOLVE)
#undef CL_BTRFSUTIL_RESOLVE
	loaded = true;
	return &bu;
}
