/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fscrypt.h>

#include "lib/fscrypt/fscrypt.h"

const char *cl_fscrypt_key_status_name(enum cl_key_status s)
{
	static const char *const names[_CL_KEY_STATUS_MAX] = {
	    [CL_KEY_ABSENT] = "absent",
	    [CL_KEY_PRESENT] = "present",
	    [CL_KEY_INCOMPLETELY_REMOVED] = "incompletely-removed",
	};

	return s < _CL_KEY_STATUS_MAX ? names[s] : "unknown";
}

void cl_key_id_set(struct cl_key_id *id, const uint8_t *bytes)
{
	memcpy(id->bytes, bytes, CL_FSCRYPT_ID_SIZE);
	for (int i = 0; i < CL_FSCRYPT_ID_SIZE; i++)
		snprintf(id->hex + 2 * i, 3, "%02x", bytes[i]);
}

int cl_key_id_from_hex(const char *hex, struct cl_key_id *ret_id)
{
	uint8_t b[CL_FSCRYPT_ID_SIZE];

	if (!hex || strlen(hex) != 2 * CL_FSCRYPT_ID_SIZE)
		return -EINVAL;
	for (int i = 0; i < CL_FSCRYPT_ID_SIZE; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return -EINVAL;
		}
		b[i] = (uint8_t)v;
	}
	cl_key_id_set(ret_id, b);
	return 0;
}

/* a non-root user's keys count against its kernel key quota (DESIGN §7c): say so */
int cl_fscrypt_add_key_error(int errnum, struct cl_error **err)
{
	if (errnum == EDQUOT)
		return cl_error_set(
		    err, EDQUOT,
		    "FS_IOC_ADD_ENCRYPTION_KEY: this user's kernel key quota is "
		    "exhausted (/proc/sys/kernel/keys/maxkeys and maxbytes; usage in "
		    "/proc/key-users): stop a container or ask the administrator to "
		    "raise it");
	return cl_error_set(err, errnum, "FS_IOC_ADD_ENCRYPTION_KEY");
}

int cl_fscrypt_add_key(int mnt_fd, const struct cl_secret *key, struct cl_key_id *ret_id,
		       struct cl_error **err)
{
	struct fscrypt_add_key_arg *arg;
	struct cl_secret *buf = NULL;
	int r = 0;

	if (key->len != CL_FSCRYPT_KEY_SIZE)
		return cl_error_set(err, EINVAL, "fscrypt key of %zu bytes", key->len);
	/* the argument carries the raw key: it lives in secret memory and is wiped */
	buf = cl_secret_new(sizeof(*arg) + key->len, err);
	if (!buf)
		return -ENOMEM;
	arg = (struct fscrypt_add_key_arg *)buf->data;
	arg->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	arg->raw_size = (uint32_t)key->len;
	memcpy(arg->raw, key->data, key->len);
	if (ioctl(mnt_fd, FS_IOC_ADD_ENCRYPTION_KEY, arg) < 0)
		r = cl_fscrypt_add_key_error(errno, err);
	else
		cl_key_id_set(ret_id, arg->key_spec.u.identifier);
	cl_secret_free(buf);
	return r;
}

int cl_fscrypt_remove_key(int mnt_fd, const struct cl_key_id *id, unsigned *ret_flags,
			  struct cl_error **err)
{
	struct fscrypt_remove_key_arg arg = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};

	memcpy(arg.key_spec.u.identifier, id->bytes, sizeof(id->bytes));
	if (ioctl(mnt_fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &arg) < 0)
		return cl_error_set(err, errno, "FS_IOC_REMOVE_ENCRYPTION_KEY %s", id->hex);
	if (ret_flags)
		*ret_flags = arg.removal_status_flags;
	return 0;
}

int cl_fscrypt_remove_key_all_users(int mnt_fd, const struct cl_key_id *id, unsigned *ret_flags,
				    struct cl_error **err)
{
	struct fscrypt_remove_key_arg arg = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};

	memcpy(arg.key_spec.u.identifier, id->bytes, sizeof(id->bytes));
	if (ioctl(mnt_fd, FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, &arg) < 0)
		return cl_error_set(err, errno, "FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS %s",
				    id->hex);
	if (ret_flags)
		*ret_flags = arg.removal_status_flags;
	return 0;
}

int cl_fscrypt_key_status(int mnt_fd, const struct cl_key_id *id, enum cl_key_status *ret,
			  struct cl_error **err)
{
	struct fscrypt_get_key_status_arg arg = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};

	memcpy(arg.key_spec.u.identifier, id->bytes, sizeof(id->bytes));
	if (ioctl(mnt_fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &arg) < 0)
		return cl_error_set(err, errno, "FS_IOC_GET_ENCRYPTION_KEY_STATUS %s", id->hex);
	switch (arg.status) {
	case FSCRYPT_KEY_STATUS_ABSENT:
		*ret = CL_KEY_ABSENT;
		return 0;
	case FSCRYPT_KEY_STATUS_PRESENT:
		*ret = CL_KEY_PRESENT;
		return 0;
	case FSCRYPT_KEY_STATUS_INCOMPLETELY_REMOVED:
		*ret = CL_KEY_INCOMPLETELY_REMOVED;
		return 0;
	}
	return cl_error_set(err, EPROTO, "key %s: unknown status %u", id->hex, arg.status);
}

int cl_fscrypt_set_policy(int dir_fd, const struct cl_key_id *id, struct cl_error **err)
{
	return cl_fscrypt_set_policy_modes(dir_fd, id, FSCRYPT_MODE_AES_256_XTS,
					   FSCRYPT_MODE_AES_256_CTS, FSCRYPT_POLICY_FLAGS_PAD_32,
					   err);
}

int cl_fscrypt_set_policy_modes(int dir_fd, const struct cl_key_id *id, uint8_t contents,
				uint8_t filenames, uint8_t flags, struct cl_error **err)
{
	struct fscrypt_policy_v2 p = {
	    .version = FSCRYPT_POLICY_V2,
	    .contents_encryption_mode = contents,
	    .filenames_encryption_mode = filenames,
	    .flags = flags,
	};

	memcpy(p.master_key_identifier, id->bytes, sizeof(id->bytes));
	if (ioctl(dir_fd, FS_IOC_SET_ENCRYPTION_POLICY, &p) < 0)
		return cl_error_set(err, errno, "FS_IOC_SET_ENCRYPTION_POLICY %s", id->hex);
	return 0;
}

int cl_fscrypt_get_policy(int fd, bool *ret_encrypted, struct cl_key_id *ret_id,
			  struct cl_error **err)
{
	struct fscrypt_get_policy_ex_arg arg = {.policy_size = sizeof(arg.policy)};

	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) < 0) {
		if (errno == ENODATA) {
			*ret_encrypted = false;
			return 0;
		}
		return cl_error_set(err, errno, "FS_IOC_GET_ENCRYPTION_POLICY_EX");
	}
	if (arg.policy.version != FSCRYPT_POLICY_V2)
		return cl_error_set(err, EPROTO, "fscrypt policy version %u (want v2)",
				    arg.policy.version);
	*ret_encrypted = true;
	if (ret_id)
		cl_key_id_set(ret_id, arg.policy.v2.master_key_identifier);
	return 0;
}

int cl_fscrypt_fs_supported(int fd, const char **ret_why)
{
	struct fscrypt_get_policy_ex_arg arg = {.policy_size = sizeof(arg.policy)};

	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) == 0 || errno == ENODATA)
		return 1;
	switch (errno) {
	case EOPNOTSUPP:
		*ret_why = "filesystem lacks the encrypt feature (ext4: tune2fs -O encrypt)";
		return 0;
	case ENOTTY:
		*ret_why = "filesystem has no fscrypt support";
		return 0;
	default:
		return -errno;
	}
}
