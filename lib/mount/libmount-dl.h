/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <libmount.h>

#include "lib/core/err.h"

/*
 * libmount, loaded on first use. Linking it costs every exec of the binary ~0.5 ms (it
 * pulls in libblkid, libselinux with its constructor, and libpcre2), and the hook runs
 * twice per container; the hook's own path needs it only on kernels without statmount(2)
 * (< 6.8) or to attach the store's loop image. Calls go through the table, fully typed:
 * cl_libmount(err)->mnt_new_table().
 */
#define CL_LIBMOUNT_SYMS(X)                                                                        \
	X(mnt_new_context)                                                                         \
	X(mnt_free_context)                                                                        \
	X(mnt_context_disable_helpers)                                                             \
	X(mnt_context_disable_mtab)                                                                \
	X(mnt_context_set_source)                                                                  \
	X(mnt_context_set_target)                                                                  \
	X(mnt_context_set_fstype)                                                                  \
	X(mnt_context_set_options)                                                                 \
	X(mnt_context_mount)                                                                       \
	X(mnt_context_get_status)                                                                  \
	X(mnt_context_get_excode)                                                                  \
	X(mnt_new_table)                                                                           \
	X(mnt_unref_table)                                                                         \
	X(mnt_table_parse_file)                                                                    \
	X(mnt_table_find_target)                                                                   \
	X(mnt_new_iter)                                                                            \
	X(mnt_free_iter)                                                                           \
	X(mnt_table_next_child_fs)                                                                 \
	X(mnt_fs_get_target)

struct cl_libmount {
#define CL_LIBMOUNT_FIELD(f) __typeof__(f) *f;
	CL_LIBMOUNT_SYMS(CL_LIBMOUNT_FIELD)
#undef CL_LIBMOUNT_FIELD
};

/**
 * cl_libmount() - load libmount.so.1 once (dlopen, RTLD_NOW) and resolve its functions.
 * Return: the function table, or NULL with *err set (libmount missing or too old).
 */
const struct cl_libmount *cl_libmount(struct cl_error **err);
