/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/fscrypt.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lib/btrfs/btrfsutil-dl.h"
#include "lib/btrfs/snapshot.h"
#include "lib/core/cleanup.h"

#define CL_BTRFS_FIRST_FREE_OBJECTID 256 /* the root directory inode of every subvolume */

bool cl_btrfs_on_btrfs_fd(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == BTRFS_SUPER_MAGIC;
}

int cl_btrfs_is_subvolume_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!cl_btrfs_on_btrfs_fd(fd))
		return 0;
	return S_ISDIR(st.st_mode) && st.st_ino == CL_BTRFS_FIRST_FREE_OBJECTID;
}

static int fs_uuid(int fd, unsigned char ret[BTRFS_FSID_SIZE])
{
	struct btrfs_ioctl_fs_info_args args;

	memset(&args, 0, sizeof(args));
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &args) < 0)
		return -errno;
	memcpy(ret, args.fsid, BTRFS_FSID_SIZE);
	return 0;
}

int cl_btrfs_same_fs_fd(int a, int b)
{
	unsigned char ua[BTRFS_FSID_SIZE], ub[BTRFS_FSID_SIZE];
	int r;

	if (!cl_btrfs_on_btrfs_fd(a) || !cl_btrfs_on_btrfs_fd(b))
		return 0;
	r = fs_uuid(a, ua);
	if (r == 0)
		r = fs_uuid(b, ub);
	if (r < 0)
		return r;
	return !memcmp(ua, ub, sizeof(ua));
}

/* libbtrfsutil keeps the failing call's errno (STYLE §1.3) */
static int util_error(struct cl_error **err, const struct cl_btrfsutil *bu, enum btrfs_util_error e,
		      int saved, const char *what)
{
	return cl_error_set(err, saved ? saved : EIO, "%s: %s", what, bu->btrfs_util_strerror(e));
}

int cl_btrfs_snapshot_fd(int src_fd, int dir_fd, const char *name, const char *path,
			 struct cl_error **err)
{
	const struct cl_btrfsutil *bu = cl_btrfsutil(err);
	enum btrfs_util_error e;
	int saved;

	if (!bu)
		return cl_error_errnum(err);
	errno = 0;
	e = bu->btrfs_util_create_snapshot_fd2(src_fd, dir_fd, name,
					       BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, NULL, NULL);
	saved = errno;
	if (e == BTRFS_UTIL_OK)
		return 0;
	switch (saved) {
	case EEXIST:
		return cl_error_set(err, EEXIST,
				    "snapshot '%s' already exists (another store's layer of the "
				    "same id, or a leftover: 'btrfs subvolume delete %s')",
				    path, path);
	case EXDEV:
		return cl_error_set(err, EXDEV,
				    "snapshot '%s': the snapshot directory is not on the base's "
				    "btrfs filesystem",
				    path);
	case ENOSPC:
	case EDQUOT:
		return cl_error_set(err, saved, "snapshot '%s': the btrfs filesystem is full",
				    path);
	default:
		return util_error(err, bu, e, saved, path);
	}
}

static int check_ours(int dir_fd, const char *name, const char *path, const struct cl_btrfsutil *bu,
		      struct cl_error **err)
{
	_cleanup_close_ int fd =
	    openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool ro = false;
	int r;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return cl_error_set(err, errno == ENOTDIR || errno == ELOOP ? EPERM : errno,
				    "snapshot '%s': not a read-only snapshot, left alone", path);
	r = cl_btrfs_is_subvolume_fd(fd);
	if (r < 0)
		return cl_error_set(err, -r, "snapshot '%s'", path);
	if (r == 0 || bu->btrfs_util_get_subvolume_read_only_fd(fd, &ro) != BTRFS_UTIL_OK || !ro)
		return cl_error_set(err, EPERM,
				    "snapshot '%s': not a read-only snapshot, left alone", path);
	return 1;
}

int cl_btrfs_delete_snapshot_fd(int dir_fd, const char *name, const char *path,
				struct cl_error **err)
{
	const struct cl_btrfsutil *bu = NULL;
	enum btrfs_util_error e;
	int r, saved = 0;

	/* nothing there needs no library (a layer whose snapshot was never made) */
	if (faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 0;
	bu = cl_btrfsutil(err);
	if (!bu)
		return cl_error_errnum(err);
	r = check_ours(dir_fd, name, path, bu, err);
	if (r <= 0)
		return r;
	/* the overlay of a container that is exiting may pin the snapshot for a moment */
	for (unsigned wait_us = 1000;; wait_us *= 2) {
		errno = 0;
		e = bu->btrfs_util_delete_subvolume_fd(dir_fd, name, 0);
		saved = errno;
		if (e == BTRFS_UTIL_OK)
			return 1;
		if (saved == ENOENT)
			return 0;
		if (saved != EBUSY || wait_us > 256000)
			break;
		usleep(wait_us);
	}
	return util_error(err, bu, e, saved, path);
}

int cl_btrfs_fscrypt_probe_fd(int fd)
{
	struct fscrypt_get_policy_ex_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.policy_size = sizeof(arg.policy);
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) == 0)
		return 1;
	switch (errno) {
	case ENODATA:
	case EINVAL: /* a policy of a version this header does not know */
		return 1;
	case ENOTTY:
	case EOPNOTSUPP:
		return 0;
	default:
		return -errno;
	}
}

/* "... - btrfs ..." in a mountinfo line: the mount point is field 5 (octal escapes kept) */
static bool btrfs_mount_point(char *line, char **ret)
{
	char *sep = strstr(line, " - "), *f[5] = {NULL};
	char *save = NULL, *tok = line;

	if (!sep || strncmp(sep + 3, "btrfs ", 6))
		return false;
	*sep = '\0';
	for (int i = 0; i < 5; i++, tok = NULL) {
		f[i] = strtok_r(tok, " ", &save);
		if (!f[i])
			return false;
	}
	/* an escaped name (\040 for a space) is not worth unescaping here: skip it */
	if (strchr(f[4], '\\'))
		return false;
	*ret = f[4];
	return true;
}

void cl_btrfs_fscrypt_probe_host(struct cl_btrfs_fscrypt_probe *ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	char *mp = NULL;

	ret->result = -ENOENT;
	ret->path[0] = '\0';
	while (f && getline(&line, &cap, f) > 0) {
		_cleanup_close_ int fd = -1;

		line[strcspn(line, "\n")] = '\0';
		if (!btrfs_mount_point(line, &mp))
			continue;
		fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(ret->path, sizeof(ret->path), "%s", mp);
		ret->result = cl_btrfs_fscrypt_probe_fd(fd);
		return;
	}
}

int cl_btrfs_nocow_fd(int fd)
{
	int flags = 0;

	if (!cl_btrfs_on_btrfs_fd(fd))
		return 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
		return -errno;
	flags |= FS_NOCOW_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
		return -errno;
	return 1;
}

bool cl_btrfs_is_nocow_fd(int fd)
{
	int flags = 0;

	return cl_btrfs_on_btrfs_fd(fd) && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
	       (flags & FS_NOCOW_FL);
}
