/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>

#include "lib/mount/libmount-dl.h"

#define CL_LIBMOUNT_SONAME "libmount.so.1"

const struct cl_libmount *cl_libmount(struct cl_error **err)
{
	static struct cl_libmount lm;
	static bool loaded;
	void *h;

	if (loaded)
		return &lm;
	/* the hook is single-threaded; archive threads never use libmount */
	h = dlopen(CL_LIBMOUNT_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		cl_error_set(err, ENOENT, "load %s (install libmount1): %s", CL_LIBMOUNT_SONAME,
			     dlerror());
		return NULL;
	}
#define CL_LIBMOUNT_RESOLVE(f)                                                                     \
	*(void **)&lm.f = dlsym(h, #f);                                                            \
	if (!lm.f) {                                                                               \
		cl_error_set(err, ENOSYS, "%s has no '%s'", CL_LIBMOUNT_SONAME, #f);               \
		dlclose(h);                                                                        \
		return NULL;                                                                       \
	}
	CL_LIBMOUNT_SYMS(CL_LIBMOUNT_RESOLVE)
#undef CL_LIBMOUNT_RESOLVE
	loaded = true;
	return &lm;
}
