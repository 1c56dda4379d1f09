/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/core/err.h"

/*
 * A user's own store for rootless podman (DESIGN §7c): a directory on a filesystem with
 * fscrypt v2 (a user cannot mount a loop image), the user's hooks.d descriptors, and a
 * podman containers.conf.d drop-in naming them.
 */

/* the drop-in's name: after the usual distribution drop-ins, which it must not lose to */
#define CL_STORE_USER_DROPIN "80-cryptlayer.conf"

/**
 * cl_store_user_probe() - whether a store at @root (existing or not) can hold fscrypt v2
 * policies: on @root, or on its nearest existing ancestor, add a throw-away key, set
 * cryptlayer's policy on a scratch directory, write a file in it, remove everything and
 * check the key ABSENT. Nothing else is written.
 * Return: 0, or -errno: EOPNOTSUPP with a message naming encryption and the
 *	administrator's step when the filesystem has no fscrypt.
 */
int cl_store_user_probe(const char *root, struct cl_error **err);

/**
 * cl_store_user_descriptor() - a podman hooks.d descriptor (JSON text, newline-terminated)
 * running @self with @args (argv[0] first) at @stage for io.cryptlayer.enable=true or
 * io.cryptlayer.nested=true (as the installed descriptors: refused clearly, never skipped).
 * Return: the text (free() it), or NULL with *err set.
 */
char *cl_store_user_descriptor(const char *self, const char *const *args, size_t n_args,
			       const char *stage, struct cl_error **err);

/**
 * cl_store_user_dropin() - the containers.conf drop-in: [engine] hooks_dir listing the
 * @n_system system directories first (a hooks_dir replaces podman's default list), then
 * @user_hooks (later directories win for the same file name).
 * Return: the text (free() it), or NULL with *err set.
 */
char *cl_store_user_dropin(const char *const *system, size_t n_system, const char *user_hooks,
			   struct cl_error **err);

/**
 * cl_store_user_put() - make @path hold exactly @text (mode @mode): written atomically
 * when missing or different, untouched when already equal.
 * Return: 1 written, 0 unchanged, or -errno.
 */
int cl_store_user_put(const char *path, const char *text, unsigned mode, struct cl_error **err);
