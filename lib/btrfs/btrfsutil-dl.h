/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <btrfsutil.h>

#include "lib/core/err.h"

/*
 * libbtrfsutil, loaded on first use (like lib/mount/libmount-dl.h): only layers of the
 * btrfs backend need it, so it adds nothing to the exec of the hook for overlay layers
 * (`make check-exec-path`). Calls go through the table: cl_btrfsutil(err)->f(...).
 */
#define CL_BTRFSUTIL_SYMS(X)                                                                       \
	X(btrfs_util_create_snapshot_fd2)                                                          \
	X(btrfs_util_delete_subvolume_fd)                                                          \
	X(btrfs_util_get_subvolume_read_only_fd)                                                   \
	X(btrfs_util_strerror)

struct cl_btrfsutil {
#define CL_BTRFSUTIL_FIELD(f) __typeof__(f) *f;
	CL_BTRFSUTIL_SYMS(CL_BTRFSUTIL_FIELD)
#undef CL_BTRFSUTIL_FIELD
};

/**
 * cl_btrfsutil() - load libbtrfsutil.so.1 once (dlopen, RTLD_NOW) and resolve its functions.
 * Return: the function table, or NULL with *err set (library missing or too old).
 */
const struct cl_btrfsutil *cl_btrfsutil(struct cl_error **err);
