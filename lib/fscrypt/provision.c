/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel names a new key (DESIGN §2: it computes the identifier as it adds the key),
 * and a way back to that name after a kill: the key goes in through a
 * "fscrypt-provisioning" key (Linux 5.8) linked into the caller's user keyring under a
 * description of the layer (store path, id and the store filesystem's f_fsid). Its bytes
 * cannot be read back by anyone (the type has no read); it stays until the record names
 * the identifier, and a teardown that finds a record without one adds the key again
 * through it, which gives the identifier, and removes both. No userspace HKDF on the
 * hook's path.
 */
#include <errno.h>
#include <linux/fscrypt.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/fscrypt/fscrypt.h"

#define PROVISIONING "fscrypt-provisioning"
/* <keyutils.h>'s permission bits: the possessor all, the owning user view and search */
#define PERM_POS_ALL 0x3f000000U
#define PERM_USR_VIEW 0x00010000U
#define PERM_USR_SEARCH 0x00080000U

int cl_fscrypt_provision_desc(int store_fd, const char *store_dir, const char *id, char *buf,
			      size_t len)
{
	struct statfs sfs;
	unsigned fsid[2];
	int n;

	/* the path alone is not unique: a nested store has the host's, in another filesystem */
	if (fstatfs(store_fd, &sfs) < 0)
		return -errno;
	memcpy(fsid, &sfs.f_fsid, sizeof(fsid));
	n = snprintf(buf, len, "cryptlayer:%s:%s:%08x%08x", store_dir, id, fsid[0], fsid[1]);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * The provisioning key: ours (process keyring) while its permissions are set, then linked
 * into the user keyring, where a later process of the same user finds it
 */
static long provision(const struct cl_secret *key, const char *desc)
{
	struct fscrypt_provisioning_key_payload *p;
	struct cl_secret *buf = cl_secret_new(sizeof(*p) + key->len, NULL);
	long serial;

	if (!buf)
		return -ENOMEM;
	p = (struct fscrypt_provisioning_key_payload *)buf->data;
	p->type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	memcpy(p->raw, key->data, key->len);
	serial = syscall(SYS_add_key, PROVISIONING, desc, p, buf->len, KEY_SPEC_PROCESS_KEYRING);
	if (serial < 0)
		serial = -errno;
	cl_secret_free(buf);
	if (serial < 0)
		return serial;
	if (syscall(SYS_keyctl, KEYCTL_SETPERM, serial,
		    PERM_POS_ALL | PERM_USR_VIEW | PERM_USR_SEARCH) < 0 ||
	    syscall(SYS_keyctl, KEYCTL_LINK, serial, KEY_SPEC_USER_KEYRING) < 0) {
		int e = errno;

		(void)syscall(SYS_keyctl, KEYCTL_INVALIDATE, serial);
		return -e;
	}
	return serial;
}

/* FS_IOC_ADD_ENCRYPTION_KEY by the provisioning key @serial: the kernel's identifier */
static int add_by_serial(int mnt_fd, long serial, struct cl_key_id *ret_id)
{
	struct fscrypt_add_key_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	arg.key_id = (__s32)serial;
	if (ioctl(mnt_fd, FS_IOC_ADD_ENCRYPTION_KEY, &arg) < 0)
		return -errno;
	cl_key_id_set(ret_id, arg.key_spec.u.identifier);
	return 0;
}

int cl_fscrypt_add_key_provisioned(int mnt_fd, const struct cl_secret *key, const char *desc,
				   struct cl_key_id *ret_id, int32_t *ret_serial,
				   struct cl_error **err)
{
	long serial;
	int r;

	if (key->len != CL_FSCRYPT_KEY_SIZE)
		return cl_error_set(err, EINVAL, "fscrypt key of %zu bytes", key->len);
	serial = provision(key, desc);
	if (serial < 0)
		return -EOPNOTSUPP; /* no provisioning keys here: the caller names the key itself */
	r = add_by_serial(mnt_fd, serial, ret_id);
	if (r < 0) {
		(void)syscall(SYS_keyctl, KEYCTL_INVALIDATE, serial);
		return cl_fscrypt_add_key_error(-r, err);
	}
	*ret_serial = (int32_t)serial;
	return 0;
}

static long find(const char *desc)
{
	long serial =
	    syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, PROVISIONING, desc, 0);

	return serial < 0 ? -errno : serial;
}

int cl_fscrypt_provisioned_id(int mnt_fd, const char *desc, struct cl_key_id *ret_id,
			      struct cl_error **err)
{
	long serial = find(desc);
	int r;

	/* none (ENOKEY), or invalidated and not yet collected (EKEYREVOKED, EKEYEXPIRED) */
	if (serial == -ENOKEY || serial == -EKEYREVOKED || serial == -EKEYEXPIRED)
		return 0;
	if (serial < 0)
		return cl_error_set(err, (int)-serial, "search the user keyring for '%s'", desc);
	r = add_by_serial(mnt_fd, serial, ret_id);
	return r < 0 ? cl_fscrypt_add_key_error(-r, err) : 1;
}

void cl_fscrypt_unprovision(const char *desc, int32_t serial)
{
	long s = serial > 0 ? serial : find(desc);

	if (s > 0)
		(void)syscall(SYS_keyctl, KEYCTL_INVALIDATE, s);
}
