/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/core/err.h"

/*
 * Is the store's block device stack on dm-crypt (issue 10)? Then every block is
 * encrypted twice, by fscrypt and by dm-crypt. That is a choice, not an error: dm-crypt
 * also hides what fscrypt leaves clear (sizes, times, directory shape). Read from sysfs
 * only; no side effects.
 */

#define CL_DMCRYPT_DEPTH_MAX 8	 /* devices below the filesystem's own, per branch */
#define CL_DMCRYPT_CHAIN_MAX 16	 /* devices walked in all */
#define CL_DMCRYPT_LINE_MAX 1024 /* holds any cl_probe_dmcrypt_describe() or _chain() line */

enum cl_dmcrypt_kind {
	CL_DMCRYPT_DISK,      /* a whole disk (or any device without slaves) */
	CL_DMCRYPT_PARTITION, /* its parent disk is the next step */
	CL_DMCRYPT_LOOP,      /* its backing file's device is the next step */
	CL_DMCRYPT_DM,	      /* a device-mapper device that is not dm-crypt */
	CL_DMCRYPT_CRYPT,     /* dm-crypt */
	_CL_DMCRYPT_KIND_MAX,
};

struct cl_dmcrypt_node {
	char name[32]; /* kernel name: "dm-1", "sda2", "loop0" */
	char dev[24];  /* "MAJ:MIN" */
	enum cl_dmcrypt_kind kind;
	char dm_name[128]; /* dm/name, or "" */
	char dm_uuid[130]; /* dm/uuid, or "" (DM_UUID_LEN is 129) */
	char backing[256]; /* a loop device's backing file, or "" */
	int parent;	   /* index of the node above in chain[], -1 for the first */
};

struct cl_dmcrypt_info {
	bool dm_crypt;	     /* some node of the stack is dm-crypt */
	bool complete;	     /* every branch was followed to its end: a "no" is certain */
	int crypt_node;	     /* index of the first dm-crypt node in chain[], or -1 */
	char crypt_type[24]; /* its uuid's "CRYPT-<type>": "CRYPT-LUKS2", "CRYPT-PLAIN" */
	char unknown[192];   /* why complete is false (the first reason), or "" */
	size_t n_chain;
	struct cl_dmcrypt_node chain[CL_DMCRYPT_CHAIN_MAX]; /* depth first, the fs's own first */
};

/**
 * cl_probe_dmcrypt() - walk the block devices under @dev and say whether one is dm-crypt.
 * @sysfs_root: "/sys", or a fake tree in tests (absolute)
 * @dev: st_dev of a directory on the filesystem in question
 *
 * Follows /sys/dev/block/MAJ:MIN, then each device's slaves/ (dm, md), a partition's
 * parent disk, and a loop device's backing file (the device of its filesystem, or the
 * device itself), depth first, bounded by CL_DMCRYPT_DEPTH_MAX and CL_DMCRYPT_CHAIN_MAX,
 * each device once (no symlink loops). A dm-crypt node is a "dm-N" device whose dm/uuid
 * is cryptsetup's "CRYPT-<type>-..." for a type other than VERITY, INTEGRITY and SUBDEV
 * (those are dm-verity, dm-integrity and cryptsetup's hidden helper devices); dm-crypt
 * set up without cryptsetup's uuid (a bare dmsetup table) is not recognised. A missing
 * or unreadable sysfs entry, or a device with no sysfs entry (btrfs, tmpfs, overlayfs,
 * NFS have no block device), is "unknown" (@ret->complete false, the reason in
 * @ret->unknown), not an error.
 * Return: 0 and *@ret, or -EINVAL for a bad @sysfs_root.
 */
int cl_probe_dmcrypt(const char *sysfs_root, dev_t dev, struct cl_dmcrypt_info *ret,
		     struct cl_error **err);

/** cl_probe_dmcrypt_fd() - cl_probe_dmcrypt() for the filesystem @fd is on. */
int cl_probe_dmcrypt_fd(const char *sysfs_root, int fd, struct cl_dmcrypt_info *ret,
			struct cl_error **err);

/** cl_probe_dmcrypt_kind_name() - "disk", "partition", "loop", "dm", "dm-crypt". */
const char *cl_probe_dmcrypt_kind_name(enum cl_dmcrypt_kind kind);

/**
 * cl_probe_dmcrypt_cost() - what the second encryption costs, with the figure's source.
 * Not measured here: the figures are published benchmarks.
 * @xts_accelerated: the kernel's xts(aes) is an arch driver (AES-NI), not generic C AES
 */
const char *cl_probe_dmcrypt_cost(bool xts_accelerated);

/**
 * cl_probe_dmcrypt_describe() - the one line 'doctor' (and 'store status') prints: "store
 * on dm-crypt (CRYPT-LUKS2 'name'): every block is encrypted twice ...; cost: ..." or
 * "store not on dm-crypt", with why when the walk was incomplete. Truncated to @len.
 */
void cl_probe_dmcrypt_describe(const struct cl_dmcrypt_info *info, bool xts_accelerated, char *buf,
			       size_t len);

/**
 * cl_probe_dmcrypt_chain() - the devices walked, "loop0 (/x/store.img) -> vda", a branch
 * that does not continue the previous node restarting from its parent after " | ".
 * Truncated to @len; "" when nothing was found.
 */
void cl_probe_dmcrypt_chain(const struct cl_dmcrypt_info *info, char *buf, size_t len);
