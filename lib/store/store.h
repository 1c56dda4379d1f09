/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"

#define CL_STORE_DEFAULT_SIZE (8ULL << 30)

enum cl_store_backing {
	CL_STORE_IN_PLACE, /* the root's own filesystem supports fscrypt */
	CL_STORE_IMAGE,	   /* loop-mounted ext4 image <root>/store.img at <root>/store */
	_CL_STORE_BACKING_MAX,
};

/*
 * The embedded default store (DESIGN §4). It is always mounted in the host (PID 1)
 * mount namespace; a caller in a private namespace reaches it through /proc/1/root,
 * and hands paths to the kernel as /proc/self/fd/N of fds opened here.
 */
struct cl_store {
	char *root;  /* --root as given (absolute) */
	char *dir;   /* store filesystem directory, host view: root or root/store */
	char *image; /* root/store.img, or NULL when in place */
	int dir_fd;  /* O_RDONLY|O_DIRECTORY on dir, valid in any namespace */
	enum cl_store_backing backing;
};

/**
 * cl_store_open() - open the store at @root, creating (image of @size bytes, or the
 * default) or re-attaching it after a reboot. Serialised by an flock on @root.
 * @create: false to fail with ENOENT instead of creating a missing store
 * Return: 0 and *ret, or -errno.
 */
int cl_store_open(const char *root, uint64_t size, bool create, struct cl_store **ret,
		  struct cl_error **err);

#define CL_STORE_MIN_ALLOCATED_PCT 95 /* of the image's size, checked after mkfs */

/**
 * cl_store_image_allocated() - the bytes the filesystem allocated to the open image @fd
 * and its size. Return: 0 or -errno.
 */
int cl_store_image_allocated(int fd, uint64_t *ret_allocated, uint64_t *ret_size);

/**
 * cl_store_remove() - remove the store at @root: unmount and delete its image (or, in
 * place, its directories), the lock files and gc.lock. Refuses (EBUSY) while any layer
 * exists: a record in @run_dir, a layer directory or a key file.
 * Return: 0 (also when there is no store) or -errno.
 */
int cl_store_remove(const char *root, const char *run_dir, struct cl_error **err);

/** cl_store_free() - close and free; the store stays mounted. NULL-safe. */
void cl_store_free(struct cl_store *s);

/** cl_store_backing_name() - "in-place" or "image". */
const char *cl_store_backing_name(enum cl_store_backing b);

/** cl_store_parse_size() - "64M", "8G", "1048576" → bytes. Return: 0 or -EINVAL. */
int cl_store_parse_size(const char *s, uint64_t *ret);

CL_DEFINE_CLEANUP(struct cl_store *, cl_store_free)
