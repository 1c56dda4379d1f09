/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: an OCI layer tar through the tar plugin's unpack (lib/archive/tar/
 * unpack.c, linked in: this target is built with the plugin's objects and libarchive), as
 * import takes an archive that anyone with a recipient's public key can forge:
 * CL_TAR_NO_DEVICES | CL_TAR_NO_SETID, then once more with CL_TAR_LAYERED over what the
 * first pass left (a second layer of an image).
 *
 * Each input is unpacked into a new directory "layer" inside a scratch directory
 * (SCRATCH, or $CRYPTLAYER_FUZZ_TAR_SCRATCH: made afresh when the target starts and
 * removed at its exit, so one instance per path) that also holds a file "sentinel". After each
 * pass:
 *   - the error contract: a failure sets exactly one error, with a message;
 *   - nothing outside the layer changed: the scratch directory holds the two names only,
 *     the sentinel has one link, its mode and its bytes;
 *   - nothing privileged inside: no block device, no character device but an overlay
 *     whiteout (0/0), no setuid or setgid bit, no security.capability xattr, and no
 *     overlay xattr but the opaque marker unpack sets itself ("y").
 * Then the layer is removed (cl_rm_rf_at). An entry that libarchive writes outside the
 * layer elsewhere than beside the sentinel is not seen here: the seeds aim at the
 * sentinel ("../sentinel", SCRATCH "/sentinel", symlinks to them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/archive/tar.h"
#include "lib/core/err.h"
#include "lib/core/fd-util.h"

#define SCRATCH "/tmp/cryptlayer-fuzz-tar"
#define SENTINEL "do not touch\n"
#define FUZZ_MAX (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct cl_tar_ops cl_tar_ops_v1;

struct input {
	const uint8_t *data;
	size_t size;
	bool given;
};

static ssize_t source(void *ctx, const void **ret_buf, struct cl_error **err)
{
	struct input *in = ctx;

	(void)err;
	if (in->given)
		return 0;
	in->given = true;
	*ret_buf = in->data;
	return (ssize_t)in->size;
}

static const char *scratch(void)
{
	const char *p = getenv("CRYPTLAYER_FUZZ_TAR_SCRATCH");

	return p && p[0] == '/' ? p : SCRATCH;
}

static void remove_scratch(void)
{
	(void)cl_rm_rf_at(AT_FDCWD, scratch(), NULL);
}

static int scratch_fd(void)
{
	static int fd = -1;
	int s;

	if (fd >= 0)
		return fd;
	if (cl_rm_rf_at(AT_FDCWD, scratch(), NULL) < 0 || mkdir(scratch(), 0700) < 0)
		abort();
	fd = open(scratch(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s = fd < 0 ? -1 : openat(fd, "sentinel", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s < 0 || write(s, SENTINEL, sizeof(SENTINEL) - 1) != sizeof(SENTINEL) - 1)
		abort();
	close(s);
	atexit(remove_scratch);
	return fd;
}

/* the scratch directory: "layer" and "sentinel" only, the sentinel as it was made */
static void check_outside(int sfd)
{
	char buf[64];
	struct stat st;
	struct dirent *de;
	int fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "layer") && strcmp(de->d_name, "sentinel"))
			abort();
	closedir(d);
	fd = openat(sfd, "sentinel", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_nlink != 1 || (st.st_mode & 07777) != 0600 ||
	    read(fd, buf, sizeof(buf)) != sizeof(SENTINEL) - 1 ||
	    memcmp(buf, SENTINEL, sizeof(SENTINEL) - 1))
		abort();
	close(fd);
}

static void check_xattrs(int dfd, const char *name)
{
	char path[64], list[4096], val[8];
	ssize_t n;

	/* xattrs through /proc/self/fd: no *xattrat() before Linux 6.13 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	n = llistxattr(path, list, sizeof(list));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		const char *x = list + i;

		if (!strcmp(x, "security.capability"))
			abort();
		if (strncmp(x, "trusted.overlay.", 16) && strncmp(x, "user.overlay.", 13))
			continue;
		if (strcmp(x, "trusted.overlay.opaque") ||
		    lgetxattr(path, x, val, sizeof(val)) != 1 || val[0] != 'y')
			abort();
	}
}

/* every entry under directory @dfd (closed here), recursively */
static void check_inside(int dfd)
{
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;
	struct stat st;

	if (!d)
		abort();
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			abort();
		if (S_ISBLK(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev != makedev(0, 0)))
			abort();
		if (st.st_mode & (S_ISUID | S_ISGID))
			abort();
		if (!S_ISLNK(st.st_mode))
			check_xattrs(dfd, de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				abort();
			check_inside(sub);
		}
	}
	closedir(d);
}

static void unpack_once(int sfd, int lfd, unsigned flags, const uint8_t *data, size_t size)
{
	struct input in = {.data = data, .size = size};
	struct cl_error *err = NULL;
	int r = cl_tar_ops_v1.unpack(lfd, flags, source, &in, &err);

	if (r < 0 && (!err || err->errnum <= 0 || !err->msg))
		abort();
	if (r >= 0 && err)
		abort();
	cl_error_free(&err);
	check_outside(sfd);
	/* a new open: a dup would share the directory offset with the next pass's check */
	check_inside(openat(lfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned flags = CL_TAR_NO_DEVICES | CL_TAR_NO_SETID;
	int sfd = scratch_fd(), lfd;

	if (size > FUZZ_MAX)
		return 0;
	if (mkdirat(sfd, "layer", 0755) < 0)
		abort();
	lfd = openat(sfd, "layer", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0)
		abort();
	unpack_once(sfd, lfd, flags, data, size);
	unpack_once(sfd, lfd, flags | CL_TAR_LAYERED, data, size);
	close(lfd);
	if (cl_rm_rf_at(sfd, "layer", NULL) < 0)
		abort();
	return 0;
}
