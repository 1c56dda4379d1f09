/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/core/err.h"

/**
 * cl_overlay_new() - build a detached overlay mount with the new mount API.
 * @lower_fd, @upper_fd, @work_fd: directories, passed to the kernel as /proc/self/fd/N so
 *	they resolve the same whatever mount namespace they were opened in
 * @volatile_: skip the sync at unmount (ephemeral layers only, DESIGN §2)
 * redirect_dir and metacopy are off: an OCI layer tar cannot carry their xattrs.
 * Return: the fsmount fd (O_CLOEXEC), or -errno with the kernel's fs_context log.
 */
int cl_overlay_new(int lower_fd, int upper_fd, int work_fd, bool volatile_, struct cl_error **err);

/**
 * cl_mount_move_fd() - move_mount(@mnt_fd) onto @target_fd (MOVE_MOUNT_*_EMPTY_PATH).
 * Return: 0 or -errno.
 */
int cl_mount_move_fd(int mnt_fd, int target_fd, const char *what, struct cl_error **err);

/**
 * cl_mount_submounts() - the direct children of the top mount at @target in the
 * current namespace's mountinfo, in mount order.
 * Asks statmount(2)/listmount(2) (Linux >= 6.8), else parses mountinfo with libmount.
 * Return: the number found (*ret_paths: NULL-terminated array of absolute targets),
 *	or -errno.
 */
int cl_mount_submounts(const char *target, char ***ret_paths, struct cl_error **err);

/** cl_mount_submounts_libmount() - the same from mountinfo (the fallback; for tests). */
int cl_mount_submounts_libmount(const char *target, char ***ret_paths, struct cl_error **err);

/**
 * cl_mount_is_mountpoint() - whether @path (not followed if a symlink) is the root of a
 * mount in the current namespace (statx STATX_ATTR_MOUNT_ROOT; libmount before Linux 5.8).
 * Return: 1, 0 (also when @path does not exist) or -errno.
 */
int cl_mount_is_mountpoint(const char *path);

/**
 * cl_mount_used_elsewhere() - whether the filesystem mounted on @target (the overlay of
 * a layer) is also mounted in another mount namespace, such as a container's whose
 * root it is. Scans /proc/<pid>/mountinfo once per namespace; for gc, not hot paths.
 * Return: the pid of a process in such a namespace (> 0), 0 (also when @target does not
 * exist) or -errno.
 */
int cl_mount_used_elsewhere(const char *target);

/** cl_mount_have_statmount() - whether the kernel has statmount(2)/listmount(2) (6.8). */
bool cl_mount_have_statmount(void);

/** cl_strv_free() - free a NULL-terminated string array; NULL-safe. */
void cl_strv_free(char **v);
