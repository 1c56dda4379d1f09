/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/*
 * The machine key wraps persistent layer keys (docs/keyfile-format.md). It comes from
 * a file (created on first use: 32 random bytes, mode 0600, owned by the caller) or
 * from a "user" key in the kernel keyring, so that it can be kept off the disk.
 */
#define CL_MACHINE_KEY_LEN 32
#define CL_MACHINE_KEY_DEFAULT "file:/etc/cryptlayer/machine.key"

enum cl_machine_key_kind {
	CL_MACHINE_KEY_FILE,
	CL_MACHINE_KEY_KEYRING,
	_CL_MACHINE_KEY_KIND_MAX,
};

/**
 * cl_machine_key_parse() - split "file:PATH" or "keyring:NAME".
 * @spec: the --machine-key value
 * @ret_kind: the source
 * @ret_arg: points into @spec: an absolute PATH, or a non-empty NAME
 * @err: error out
 * Return: 0 or -EINVAL.
 */
int cl_machine_key_parse(const char *spec, enum cl_machine_key_kind *ret_kind, const char **ret_arg,
			 struct cl_error **err);

/**
 * cl_machine_key_load() - read the machine key named by @spec (NULL: the default).
 * With @create, a missing key file is created (O_EXCL semantics, 0600): only wrapping a
 * new key needs that, an unwrap with a fresh key could never succeed. An existing one must be a
 * regular file of exactly CL_MACHINE_KEY_LEN bytes, owned by the caller, with no
 * group or other access. A keyring key is looked up with request_key(2) in the
 * caller's keyrings, then in the user keyring, and must hold exactly
 * CL_MACHINE_KEY_LEN bytes.
 * @spec: "file:PATH", "keyring:NAME" or NULL
 * @create: create a missing key file
 * @ret: the key in secret memory
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_machine_key_load(const char *spec, bool create, struct cl_secret **ret,
			struct cl_error **err);
