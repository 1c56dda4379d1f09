/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/userns.h"
#include "lib/mount/overlay.h"

/* The kernel explains fsconfig failures in the fs_context log: "e overlayfs: ..." */
static void fs_log(int fsfd, char last[512])
{
	char buf[512];
	ssize_t n;

	last[0] = '\0';
	while ((n = read(fsfd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		snprintf(last, 512, "%s", n > 2 ? buf + 2 : buf);
	}
}

static int fs_error(int fsfd, int errnum, const char *step, struct cl_error **err)
{
	char last[512];

	fs_log(fsfd, last);
	if (last[0])
		return cl_error_set(err, errnum, "overlay %s: %s", step, last);
	return cl_error_set(err, errnum, "overlay %s", step);
}

/*
 * The kernel refuses to stack more than FILESYSTEM_MAX_STACK_DEPTH (2) filesystems, and
 * says why only in dmesg ("overlayfs: maximum fs stacking depth exceeded"): the superblock
 * fails with a bare EINVAL. A lower on overlayfs is the one way our layer gets there
 * ('podman run --rootfs DIR:O' over a DIR that is an overlay, podman storage on an
 * overlay): name it. Any other EINVAL, or one the kernel explained, keeps its message.
 */
static int create_error(int fsfd, int errnum, int lower_fd, const char *step, struct cl_error **err)
{
	char last[512], link[64], lower[PATH_MAX];
	struct statfs sfs;
	ssize_t n;

	fs_log(fsfd, last);
	if (last[0])
		return cl_error_set(err, errnum, "overlay %s: %s", step, last);
	if (errnum != EINVAL || fstatfs(lower_fd, &sfs) < 0 || sfs.f_type != OVERLAYFS_SUPER_MAGIC)
		return cl_error_set(err, errnum, "overlay %s", step);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", lower_fd);
	n = readlink(link, lower, sizeof(lower) - 1);
	lower[n > 0 ? n : 0] = '\0';
	return cl_error_set(err, errnum,
			    "overlay stacking depth exceeded: the lower '%s' is itself an overlay "
			    "(stacked on another overlay already: the kernel stacks overlays at "
			    "most 2 deep); use a plain directory as "
			    "io.cryptlayer.base, or podman storage that is not on an overlay",
			    n > 0 ? lower : "?");
}

static int set_dir(int fsfd, const char *key, int fd, struct cl_error **err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, key, path, 0) < 0)
		return fs_error(fsfd, errno, key, err);
	return 0;
}

/*
 * redirect_dir and metacopy off: an OCI layer tar cannot carry their xattrs. In a
 * non-initial user namespace (rootless podman, DESIGN §7c) trusted.* xattrs are out of
 * reach: userxattr keeps overlay's own xattrs in user.overlay.*, and redirect_dir=off is
 * refused there ("redirect_dir requires permission to access trusted xattrs", it would
 * follow redirects), while nofollow neither creates nor follows them.
 */
static int set_options(int fsfd, struct cl_error **err)
{
	bool userns = cl_userns_nested();

	if (userns && fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return fs_error(fsfd, errno, "userxattr", err);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "redirect_dir", userns ? "nofollow" : "off", 0) <
		0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "metacopy", "off", 0) < 0)
		return fs_error(fsfd, errno, "options", err);
	return 0;
}

int cl_overlay_new(int lower_fd, int upper_fd, int work_fd, bool volatile_, struct cl_error **err)
{
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	int mfd, r;

	if (fsfd < 0)
		return cl_error_set(err, errno, "fsopen overlay");
	r = set_dir(fsfd, "lowerdir", lower_fd, err);
	if (r == 0)
		r = set_dir(fsfd, "upperdir", upper_fd, err);
	if (r == 0)
		r = set_dir(fsfd, "workdir", work_fd, err);
	if (r < 0)
		return r;
	r = set_options(fsfd, err);
	if (r < 0)
		return r;
	if (volatile_ && fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
		return fs_error(fsfd, errno, "volatile", err);
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return create_error(fsfd, errno, lower_fd, "create", err);
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return create_error(fsfd, errno, lower_fd, "fsmount", err);
	return mfd;
}

int cl_mount_move_fd(int mnt_fd, int target_fd, const char *what, struct cl_error **err)
{
	if (move_mount(mnt_fd, "", target_fd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return cl_error_set(err, errno, "move mount onto '%s'", what);
	return 0;
}
