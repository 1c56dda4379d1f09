/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"

CL_DEFINE_CLEANUP(DIR *, closedir)

/**
 * cl_read_all_fd() - read @fd to EOF into a NUL-terminated buffer.
 * @max: refuse input longer than this (EFBIG)
 * Return: 0 and *ret_buf and *ret_len, or -errno.
 */
int cl_read_all_fd(int fd, size_t max, char **ret_buf, size_t *ret_len, struct cl_error **err);

/** cl_read_file_at() - cl_read_all_fd() on @path relative to @dirfd (O_NOFOLLOW). */
int cl_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
		    struct cl_error **err);

/** cl_write_all() - write all of @buf, retrying short writes and EINTR. */
int cl_write_all(int fd, const void *buf, size_t len);

/**
 * cl_write_file_atomic_at() - write @buf to @path under @dirfd via "path.tmp" + fsync +
 * rename, with @mode. Return: 0 or -errno.
 */
int cl_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			    struct cl_error **err);

#define CL_WRITE_NO_SYNC (1U << 0) /* readers see old or new, but a crash may lose both */

/**
 * cl_write_file_replace_at() - cl_write_file_atomic_at() with @flags: CL_WRITE_NO_SYNC
 * skips the fsync, for files that do not outlive a reboot (the run dir is a tmpfs).
 * Return: 0 or -errno.
 */
int cl_write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     unsigned flags, struct cl_error **err);

/**
 * cl_write_file_keep_at() - replace @path under @dirfd by @buf, keeping the mode and owner
 * of the regular file it replaces (@mode, and this process's ids, for a new file or one
 * that is not a regular file). The new contents are written to an O_TMPFILE file (no
 * name until complete: a crash leaves no copy), fsync'ed, linked to a fresh random name
 * and renamed over @path; where the filesystem has no O_TMPFILE, that fresh name is
 * opened O_CREAT|O_EXCL|O_NOFOLLOW instead. Never a fixed "path.tmp": a FIFO or symlink
 * planted there cannot hang or redirect it. Return: 0 or -errno.
 */
int cl_write_file_keep_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			  struct cl_error **err);

/**
 * cl_mkdir_p_at() - create @path (and missing parents) under @dirfd with @mode.
 * Return: 0 (also if it exists as a directory) or -errno.
 */
int cl_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct cl_error **err);

/**
 * cl_rm_rf_at() - remove @name under @dirfd and everything below it, never following
 * symlinks and never crossing into another mount (EXDEV, also for a bind mount of the same
 * filesystem where Linux >= 5.8 tells). Iterative and fd-bounded: any depth or width with
 * at most two fds open at a time (memory: a name per level, and up to 1024 names of
 * subdirectories per level). Going back up, it checks that ".." is the directory it came
 * from, and fails with ESTALE if one was moved meanwhile. An entry vanishing meanwhile
 * (ENOENT) is success. Errors name the entry and its depth in one short line.
 * Return: 0 (also if @name does not exist) or -errno.
 */
int cl_rm_rf_at(int dirfd, const char *name, struct cl_error **err);

/**
 * cl_dir_names() - the names @keep makes of the entries of @d (a malloc'ed string, or
 * NULL to skip one; dot-files are skipped), sorted and NULL-terminated. @d may be NULL
 * (no entries) and is closed.
 * Return: the count (*ret: free with cl_strv_free or free each), or -ENOMEM.
 */
int cl_dir_names(DIR *d, char *(*keep)(DIR *d, const char *name), char ***ret);
