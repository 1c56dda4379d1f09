/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * statmount(2) and listmount(2), Linux >= 6.8 (include/uapi/linux/mount.h). Debian 12's
 * linux-libc-dev (6.1) predates them, so the part we use is copied here. Only the fields up
 * to mnt_point are used; the variable part (str[]) starts at offset 512 in every version.
 * Not formatted by clang-format (vendored UAPI).
 */
#pragma once

#include <linux/types.h>

#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Want/got extended stx_mount_id */
#endif

struct cl_uapi_statmount {
	__u32 size;		/* Total size, including strings */
	__u32 mnt_opts;		/* [str] (6.11; spare before) */
	__u64 mask;		/* What results were written */
	__u32 sb_dev_major;	/* Device ID */
	__u32 sb_dev_minor;
	__u64 sb_magic;		/* ..._SUPER_MAGIC */
	__u32 sb_flags;		/* SB_{RDONLY,SYNCHRONOUS,DIRSYNC,LAZYTIME} */
	__u32 fs_type;		/* [str] Filesystem type */
	__u64 mnt_id;		/* Unique ID of mount */
	__u64 mnt_parent_id;	/* Unique ID of parent (for root == mnt_id) */
	__u32 mnt_id_old;	/* Reused IDs used in proc/.../mountinfo */
	__u32 mnt_parent_id_old;
	__u64 mnt_attr;		/* MOUNT_ATTR_... */
	__u64 mnt_propagation;	/* MS_{SHARED,SLAVE,PRIVATE,UNBINDABLE} */
	__u64 mnt_peer_group;	/* ID of shared peer group */
	__u64 mnt_master;	/* Mount receives propagation from this ID */
	__u64 propagate_from;	/* Propagation from in current namespace */
	__u32 mnt_root;		/* [str] Root of mount relative to root of fs */
	__u32 mnt_point;	/* [str] Mountpoint relative to current root */
	__u64 __spare2[50];
	char str[];		/* Variable size part containing strings */
};

struct cl_uapi_mnt_id_req {
	__u32 size;
	__u32 spare;
	__u64 mnt_id;
	__u64 param;
};

#define CL_MNT_ID_REQ_SIZE_VER0 24 /* sizeof first published struct */
#define CL_STATMOUNT_MNT_BASIC 0x00000002U /* Want/got mnt_... */
#define CL_STATMOUNT_MNT_POINT 0x00000010U /* Want/got mnt_point */
