/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/core/err.h"

/*
 * Plugins are shared objects the binary loads only for the commands that need them, so
 * their libraries cost the hook nothing (DESIGN §2): cryptlayer-tar.so (libarchive,
 * libzstd) and cryptlayer-crypto.so (OpenSSL: persistent keys, bulk encryption).
 */

/**
 * cl_plugin_sym() - dlopen plugin @name once per process and look up @symbol in it.
 * @name: file name, e.g. "cryptlayer-crypto.so"
 * @path: an explicit path (tests), or NULL: beside the binary, else CL_LIBDIR/cryptlayer/
 * Return: the symbol's address (plugins are never unloaded), or NULL with *err set.
 */
void *cl_plugin_sym(const char *name, const char *path, const char *symbol, struct cl_error **err);
