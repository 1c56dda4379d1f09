/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

#define CL_FSCRYPT_KEY_SIZE 64 /* FSCRYPT_MAX_KEY_SIZE: a v2 master key */
#define CL_FSCRYPT_ID_SIZE 16  /* FSCRYPT_KEY_IDENTIFIER_SIZE */

struct cl_key_id {
	uint8_t bytes[CL_FSCRYPT_ID_SIZE];
	char hex[CL_FSCRYPT_ID_SIZE * 2 + 1];
};

enum cl_key_status {
	CL_KEY_ABSENT,
	CL_KEY_PRESENT,
	CL_KEY_INCOMPLETELY_REMOVED,
	_CL_KEY_STATUS_MAX,
};

/** cl_fscrypt_key_status_name() - "absent", "present", "incompletely-removed". */
const char *cl_fscrypt_key_status_name(enum cl_key_status s);

/** cl_key_id_from_hex() - parse 32 lowercase hex digits. Return: 0 or -EINVAL. */
int cl_key_id_from_hex(const char *hex, struct cl_key_id *ret_id);

/** cl_key_id_set() - @id from CL_FSCRYPT_ID_SIZE bytes (and its hex). */
void cl_key_id_set(struct cl_key_id *id, const uint8_t *bytes);

/** cl_fscrypt_add_key_error() - the error of a failed FS_IOC_ADD_ENCRYPTION_KEY (@errnum). */
int cl_fscrypt_add_key_error(int errnum, struct cl_error **err);

/* room for a provisioning key's description: the kernel takes up to 4095 bytes */
#define CL_FSCRYPT_PROVISION_DESC_MAX 4096

/**
 * cl_fscrypt_provision_desc() - the description of the provisioning key of layer @id of
 * the store at @store_dir (@store_fd): "cryptlayer:<store_dir>:<id>:<f_fsid in hex>".
 * Return: 0, -ENAMETOOLONG, or -errno of fstatfs.
 */
int cl_fscrypt_provision_desc(int store_fd, const char *store_dir, const char *id, char *buf,
			      size_t len);

/**
 * cl_fscrypt_add_key_provisioned() - add @key to the filesystem of @mnt_fd through a
 * "fscrypt-provisioning" key named @desc, left linked in the user keyring (its bytes
 * cannot be read back) until cl_fscrypt_unprovision(): the kernel gives the identifier,
 * and after a kill cl_fscrypt_provisioned_id() finds it again (lib/fscrypt/provision.c).
 * Return: 0, *ret_id and the provisioning key's serial *ret_serial; -EOPNOTSUPP (*err
 * untouched) when no provisioning key can be made here (the caller computes the
 * identifier itself); or -errno of the add.
 */
int cl_fscrypt_add_key_provisioned(int mnt_fd, const struct cl_secret *key, const char *desc,
				   struct cl_key_id *ret_id, int32_t *ret_serial,
				   struct cl_error **err);

/**
 * cl_fscrypt_provisioned_id() - the key provisioned under @desc, added to @mnt_fd's
 * filesystem again (a no-op when present), which gives its identifier.
 * Return: 1 and *ret_id, 0 when there is none, or -errno.
 */
int cl_fscrypt_provisioned_id(int mnt_fd, const char *desc, struct cl_key_id *ret_id,
			      struct cl_error **err);

/**
 * cl_fscrypt_unprovision() - invalidate the provisioning key @serial, or when it is 0 the
 * one found under @desc, if there is one.
 */
void cl_fscrypt_unprovision(const char *desc, int32_t serial);

/**
 * cl_fscrypt_add_key() - FS_IOC_ADD_ENCRYPTION_KEY with a v2 key; the kernel computes
 * the identifier. The ioctl argument is built in secret memory and wiped.
 * @mnt_fd: any fd on the target filesystem (its root is recommended)
 * Return: 0 and *ret_id, or -errno.
 */
int cl_fscrypt_add_key(int mnt_fd, const struct cl_secret *key, struct cl_key_id *ret_id,
		       struct cl_error **err);

/**
 * cl_fscrypt_key_id_compute() - the identifier FS_IOC_ADD_ENCRYPTION_KEY will give @key,
 * computed without adding it (HKDF-SHA512 as in fs/crypto/hkdf.c, through AF_ALG
 * hmac(sha512)), so a record can name the key before the key exists.
 * @key: a raw v2 master key of 16 to 64 bytes
 * Return: 0 and *ret_id, or -errno (EAFNOSUPPORT/ENOENT without AF_ALG or hmac(sha512)).
 */
int cl_fscrypt_key_id_compute(const struct cl_secret *key, struct cl_key_id *ret_id,
			      struct cl_error **err);

/**
 * cl_fscrypt_remove_key() - FS_IOC_REMOVE_ENCRYPTION_KEY.
 * @ret_flags: FSCRYPT_KEY_REMOVAL_STATUS_FLAG_* (files busy / other users)
 * Return: 0 or -errno (ENOKEY when the key is not there).
 */
int cl_fscrypt_remove_key(int mnt_fd, const struct cl_key_id *id, unsigned *ret_flags,
			  struct cl_error **err);

/**
 * cl_fscrypt_remove_key_all_users() - FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS: every user's
 * claim on the key (needs CAP_SYS_ADMIN), for keys that other processes added (nests).
 * Return: 0 or -errno (ENOKEY when the key is not there).
 */
int cl_fscrypt_remove_key_all_users(int mnt_fd, const struct cl_key_id *id, unsigned *ret_flags,
				    struct cl_error **err);

/** cl_fscrypt_key_status() - FS_IOC_GET_ENCRYPTION_KEY_STATUS. Return: 0 or -errno. */
int cl_fscrypt_key_status(int mnt_fd, const struct cl_key_id *id, enum cl_key_status *ret,
			  struct cl_error **err);

/**
 * cl_fscrypt_set_policy() - FS_IOC_SET_ENCRYPTION_POLICY v2 on an empty directory:
 * contents AES-256-XTS, filenames AES-256-CTS, PAD_32 (DESIGN §2).
 * Return: 0 or -errno (EEXIST inside an already encrypted directory).
 */
int cl_fscrypt_set_policy(int dir_fd, const struct cl_key_id *id, struct cl_error **err);

/**
 * cl_fscrypt_set_policy_modes() - the same with explicit FSCRYPT_MODE_* and flags (probes).
 * Return: 0 or -errno.
 */
int cl_fscrypt_set_policy_modes(int dir_fd, const struct cl_key_id *id, uint8_t contents,
				uint8_t filenames, uint8_t flags, struct cl_error **err);

/* A policy to try: names as fscrypt.rst writes them, and the outcome of a real file create. */
struct cl_fscrypt_mode_probe {
	const char *contents_name;
	const char *filenames_name;
	uint8_t contents, filenames, flags;
	int result;	  /* 0 works; -errno of the failing step (ENOPKG: no kernel algorithm) */
	const char *step; /* "set policy" or "create file" when result < 0 */
};

/**
 * cl_fscrypt_probe_modes() - on the filesystem of @dir_fd (an unencrypted directory), add
 * a throw-away key, and for each of @modes make a directory with that policy and create and
 * write a file in it (modes that set fine may still fail there, with ENOPKG: DESIGN §2).
 * Everything made is removed and the key checked ABSENT again.
 * Return: 0 (outcomes in @modes[i].result), or -errno when the probe itself failed.
 */
int cl_fscrypt_probe_modes(int dir_fd, struct cl_fscrypt_mode_probe *modes, size_t n,
			   struct cl_error **err);

/**
 * cl_fscrypt_get_policy() - FS_IOC_GET_ENCRYPTION_POLICY_EX.
 * @ret_encrypted: false when the directory has no policy (ENODATA)
 * Return: 0, or -errno: -EOPNOTSUPP/-ENOTTY when the filesystem has no fscrypt.
 */
int cl_fscrypt_get_policy(int fd, bool *ret_encrypted, struct cl_key_id *ret_id,
			  struct cl_error **err);

/**
 * cl_fscrypt_fs_supported() - whether the filesystem of @fd can hold v2 policies.
 * Return: 1 yes, 0 no (message in *ret_why), -errno on other failures.
 */
int cl_fscrypt_fs_supported(int fd, const char **ret_why);
