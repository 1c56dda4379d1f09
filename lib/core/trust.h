/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include "lib/core/err.h"

/*
 * Trusted paths (issue 15): what root acts on (the store root, the run dir, the records in
 * them) must be writable by nobody but root and the invoking user, and so must stay every
 * directory above it, as OpenSSH checks key files (auth.c safe_path()). Otherwise another
 * user could plant a record that root's gc acts on, or swap a directory under us.
 *
 * The rules, with "trusted" = uid 0 or the effective uid:
 *  - the directory itself: owned by a trusted uid, not writable by group or others;
 *  - every directory above it: owned by a trusted uid, and not world-writable unless
 *    sticky (/tmp); group-writable is allowed there;
 *  - a symlink on the way is followed only if a trusted uid owns it;
 *  - a record file: a regular file owned by a trusted uid, not writable by group or others.
 * Inside a user namespace (rootless podman's hooks), root and every other unmapped owner
 * show as the overflow uid: a directory *above* the checked one owned by it is accepted
 * (a user namespace acts with its user's own rights only); the directory itself is not.
 *
 * A user's own store (user mode, DESIGN §7c) adds two rules: the directory itself is owned
 * by the effective uid as seen in the user namespace (uid 0 there is the user; root's
 * directory is refused), and the path is canonical (no symlink, '.', '..', '//' or
 * trailing '/': a store reached through a link could be swapped).
 */

#define CL_TRUST_CREATE (1U << 0)    /* make missing directories, mode @mode */
#define CL_TRUST_OWN (1U << 1)	     /* the directory itself: the effective uid's, not root's */
#define CL_TRUST_CANONICAL (1U << 2) /* refuse symlinks and '.', '..', '//' in @path (ELOOP) */
/*
 * Open once per process: the first successful walk of @path (with the same rules) is kept,
 * and later calls with this flag get a new open of that checked directory (the run dir
 * and the store root are opened up to eight times by one hook; each walk is ~15 syscalls).
 * What was checked is what is used, even if the path is renamed or replaced meanwhile.
 */
#define CL_TRUST_ONCE (1U << 3)

/**
 * cl_trusted_dir_open() - open directory @path (absolute), walking it from '/' one
 * component at a time on fds (openat O_NOFOLLOW; symlinks resolved by the walk itself)
 * and checking each directory reached, so the fd returned is the one checked.
 * @what: names it in messages ("run dir", "store root"): "run dir '/run/x' is writable by
 *	others (mode 0777)", "run dir '/a/b': '/a' is world-writable without the sticky bit"
 * @flags: CL_TRUST_CREATE, CL_TRUST_OWN, CL_TRUST_CANONICAL, CL_TRUST_ONCE
 * @mode: for directories made with CL_TRUST_CREATE
 * Return: an O_RDONLY|O_DIRECTORY|O_CLOEXEC fd, or -errno: -EPERM when a rule above is
 * broken (the message names the path and what is wrong), -ENOENT when missing, -ELOOP
 * when CL_TRUST_CANONICAL and @path is not ("... is not a canonical path: ...").
 */
int cl_trusted_dir_open(const char *path, const char *what, unsigned flags, mode_t mode,
			struct cl_error **err);

/**
 * cl_trusted_file_check() - @fd, opened as @path, is a regular file owned by root or the
 * effective uid and writable by neither its group nor others. @what names it ("record").
 * Return: 0 or -EPERM (-EINVAL: not a regular file).
 */
int cl_trusted_file_check(int fd, const char *what, const char *path, struct cl_error **err);

/**
 * cl_trust_check_stat() - the rule for @st, the directory itself (@target) or one above
 * it, under @flags (CL_TRUST_OWN); pure but for the effective uid and the user namespace
 * it reads (unit tests).
 * Return: NULL if trusted, else a description of what is wrong (in @buf).
 */
const char *cl_trust_check_stat(const struct stat *st, int target, unsigned flags, char *buf,
				size_t len);
