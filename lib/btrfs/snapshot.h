/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/core/err.h"

/*
 * btrfs, for the btrfs backend (DESIGN §6b): facts about a base (on btrfs? a subvolume?
 * same filesystem as a directory?) from plain syscalls, and read-only snapshots made and
 * deleted with libbtrfsutil (dlopen'ed: lib/btrfs/btrfsutil-dl.h). No policy here.
 */

/** cl_btrfs_on_btrfs_fd() - whether @fd (any open mode, O_PATH too) is on a btrfs. */
bool cl_btrfs_on_btrfs_fd(int fd);

/**
 * cl_btrfs_is_subvolume_fd() - whether @fd is the root directory of a btrfs subvolume
 * (btrfs and inode 256, as libbtrfsutil's btrfs_util_is_subvolume() decides).
 * Return: 1 yes, 0 no, -errno.
 */
int cl_btrfs_is_subvolume_fd(int fd);

/**
 * cl_btrfs_same_fs_fd() - whether @a and @b (opened for reading, not O_PATH) are on the
 * same btrfs filesystem (BTRFS_IOC_FS_INFO's fsid: subvolumes have st_dev of their own).
 * Return: 1 yes, 0 no (or either not on btrfs), -errno.
 */
int cl_btrfs_same_fs_fd(int a, int b);

/**
 * cl_btrfs_snapshot_fd() - make a read-only snapshot of subvolume @src_fd (O_RDONLY)
 * named @name in directory @dir_fd. @path (the snapshot's full path) names it in errors,
 * which say what to do for EEXIST, EXDEV, ENOSPC.
 * Return: 0 or -errno.
 */
int cl_btrfs_snapshot_fd(int src_fd, int dir_fd, const char *name, const char *path,
			 struct cl_error **err);

/**
 * cl_btrfs_delete_snapshot_fd() - delete the read-only snapshot @name in @dir_fd; one
 * that is not there is success. Anything else at that name (a directory, a writable
 * subvolume) is refused (EPERM) and left alone: this never deletes what it did not make.
 * A subvolume still pinned by an exiting container's overlay (EBUSY) is retried for
 * about half a second. Return: 1 deleted, 0 not there, -errno.
 */
int cl_btrfs_delete_snapshot_fd(int dir_fd, const char *name, const char *path,
				struct cl_error **err);

/**
 * cl_btrfs_fscrypt_probe_fd() - whether the filesystem of directory @fd (O_RDONLY)
 * answers the fscrypt ioctls: FS_IOC_GET_ENCRYPTION_POLICY_EX on a filesystem with
 * fscrypt says ENODATA (no policy) or gives the policy; without it ENOTTY or EOPNOTSUPP
 * (mainline btrfs up to 6.18 at least). Nothing is changed.
 * Return: 1 supported, 0 not supported, -errno (cannot tell).
 */
int cl_btrfs_fscrypt_probe_fd(int fd);

/* what the btrfs encryption probe found, for doctor */
struct cl_btrfs_fscrypt_probe {
	int result;	/* 1 the kernel's btrfs answers fscrypt, 0 it does not, -errno unknown */
	char path[256]; /* the btrfs mount probed, or "" (-ENOENT: no btrfs mounted) */
};

/**
 * cl_btrfs_fscrypt_probe_host() - cl_btrfs_fscrypt_probe_fd() on the root of the first
 * btrfs in /proc/self/mountinfo (read only, nothing changed).
 */
void cl_btrfs_fscrypt_probe_host(struct cl_btrfs_fscrypt_probe *ret);

/**
 * cl_btrfs_nocow_fd() - for a file @fd on btrfs: set FS_NOCOW_FL (chattr +C), which
 * btrfs honours only while the file is empty, so call it before allocating. A file on
 * another filesystem is left alone. Return: 1 set, 0 not on btrfs, -errno.
 */
int cl_btrfs_nocow_fd(int fd);

/** cl_btrfs_is_nocow_fd() - whether file @fd is on btrfs and has FS_NOCOW_FL. */
bool cl_btrfs_is_nocow_fd(int fd);
