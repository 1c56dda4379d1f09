/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/plugin.h"

#ifndef CL_LIBDIR
#define CL_LIBDIR "/usr/local/lib"
#endif

/* Where @name is: beside the binary (build tree), else installed. Return: a new string. */
static char *plugin_path(const char *name, struct cl_error **err)
{
	_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL);
	char *p = NULL;

	if (exe && asprintf(&p, "%s/%s", dirname(exe), name) >= 0) {
		if (access(p, F_OK) == 0)
			return p;
		free(p);
	}
	if (asprintf(&p, "%s/cryptlayer/%s", CL_LIBDIR, name) < 0) {
		cl_error_set(err, ENOMEM, "plugin '%s'", name);
		return NULL;
	}
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	cl_error_set(err, ENOENT,
		     "plugin %s not found (looked beside the binary and in '%s'); "
		     "install it with 'make install'",
		     name, CL_LIBDIR "/cryptlayer");
	return NULL;
}

void *cl_plugin_sym(const char *name, const char *path, const char *symbol, struct cl_error **err)
{
	_cleanup_free_ char *found = NULL;
	void *h, *sym;

	if (!path) {
		found = plugin_path(name, err);
		if (!found)
			return NULL;
		path = found;
	}
	/* a second dlopen of the same file returns the same handle */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		cl_error_set(err, ELIBBAD, "load plugin '%s': %s", path, dlerror());
		return NULL;
	}
	sym = dlsym(h, symbol);
	if (!sym) {
		dlclose(h);
		cl_error_set(err, ELIBBAD, "plugin '%s' lacks '%s'", path, symbol);
	}
	return sym;
}
