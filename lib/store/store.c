/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/btrfs/snapshot.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/trust.h"
#include "lib/core/userns.h"
#include "lib/exec/ns.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/mount/libmount-dl.h"
#include "lib/mount/overlay.h"
#include "lib/store/store.h"

const char *cl_store_backing_name(enum cl_store_backing b)
{
	return b == CL_STORE_IMAGE ? "image" : "in-place";
}

int cl_store_parse_size(const char *s, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	case 'T':
	case 't':
		shift = 40;
		end++;
		break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end != '\0' || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

void cl_store_free(struct cl_store *s)
{
	if (!s)
		return;
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->root);
	free(s->dir);
	free(s->image);
	free(s);
}

static int run_mkfs(const char *image, struct cl_error **err)
{
	static const char *const paths[] = {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"};
	const char *mkfs = NULL;
	int status;
	pid_t pid;

	for (size_t i = 0; i < CL_ARRAY_SIZE(paths) && !mkfs; i++)
		if (access(paths[i], X_OK) == 0)
			mkfs = paths[i];
	if (!mkfs)
		return cl_error_set(err, ENOENT, "mkfs.ext4 not found (install e2fsprogs)");
	pid = fork();
	if (pid < 0)
		return cl_error_set(err, errno, "fork");
	if (pid == 0) {
		char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		/*
		 * -m 0: no root reserve, so a full store gives the container ENOSPC;
		 * -E nodiscard: mke2fs discards a regular file's blocks by default (it punches
		 * holes), which makes the allocated image sparse again (DESIGN §4)
		 */
		execle(mkfs, mkfs, "-q", "-F", "-O", "encrypt", "-m", "0", "-E", "nodiscard", "-L",
		       "cryptlayer", image, (char *)NULL, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cl_error_set(err, errno, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cl_error_set(err, EIO, "mkfs.ext4 -O encrypt '%s' failed", image);
	return 0;
}

int cl_store_image_allocated(int fd, uint64_t *ret_allocated, uint64_t *ret_size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*ret_allocated = (uint64_t)st.st_blocks * 512;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

/* the image really is allocated: check what the filesystem says, not only the calls */
static int check_allocated(int fd, const char *image, struct cl_error **err)
{
	uint64_t alloc = 0, size = 0;
	int r = cl_store_image_allocated(fd, &alloc, &size);

	if (r < 0)
		return cl_error_set(err, -r, "stat '%s'", image);
	if (alloc < size / 100 * CL_STORE_MIN_ALLOCATED_PCT)
		return cl_error_set(
		    err, EIO,
		    "store image '%s' is sparse (%llu of %llu MiB allocated): "
		    "refusing it, a full host filesystem would turn ENOSPC into EIO "
		    "inside the store",
		    image, (unsigned long long)(alloc >> 20), (unsigned long long)(size >> 20));
	return 0;
}

static int create_image(const char *image, uint64_t size, struct cl_error **err)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cl_error_set(err, errno, "create '%s'", image);
	/*
	 * on btrfs (Fedora's /var/lib): NOCOW while still empty (btrfs ignores it later), or
	 * every write of the ext4 inside is copied on write, and fragments the image
	 */
	r = cl_btrfs_nocow_fd(fd);
	if (r < 0) {
		r = cl_error_set(err, -r, "set NOCOW on '%s' (btrfs)", image);
		(void)unlink(image);
		return r;
	}
	/* allocated, not sparse: a sparse image on a full host fs turns ENOSPC into EIO */
	r = posix_fallocate(fd, 0, (off_t)size);
	if (r != 0)
		r = cl_error_set(err, r, "allocate %llu bytes for '%s'", (unsigned long long)size,
				 image);
	else if (fsync(fd) < 0)
		r = cl_error_set(err, errno, "fsync '%s'", image);
	else
		r = run_mkfs(image, err);
	/*
	 * mke2fs zeroes its tables with FALLOC_FL_ZERO_RANGE, or where that is missing
	 * (tmpfs) by punching holes: fill them again (they read as zeros either way)
	 */
	if (r == 0 && (r = posix_fallocate(fd, 0, (off_t)size)) != 0)
		r = cl_error_set(err, r, "allocate '%s' again after mkfs", image);
	else if (r == 0 && fsync(fd) < 0)
		r = cl_error_set(err, errno, "fsync '%s'", image);
	if (r == 0)
		r = check_allocated(fd, image, err);
	if (r < 0)
		(void)unlink(image);
	return r;
}

/* libmount sets up the loop device (LOOP_CONFIGURE, autoclear) and mounts it */
static int loop_mount(const struct cl_libmount *lm, struct libmnt_context *cxt, const char *image,
		      const char *target, struct cl_error **err)
{
	char buf[256] = "";
	int r;

	lm->mnt_context_disable_helpers(cxt, 1);
	lm->mnt_context_disable_mtab(cxt, 1);
	if (lm->mnt_context_set_source(cxt, image) || lm->mnt_context_set_target(cxt, target) ||
	    lm->mnt_context_set_fstype(cxt, "ext4") || lm->mnt_context_set_options(cxt, "loop"))
		return cl_error_set(err, ENOMEM, "mount '%s'", image);
	r = lm->mnt_context_mount(cxt);
	if (r == 0 && lm->mnt_context_get_status(cxt) == 1)
		return 0;
	lm->mnt_context_get_excode(cxt, r, buf, sizeof(buf));
	return cl_error_set(err, r < 0 && r > -5000 ? -r : EIO, "mount '%s' on '%s': %s", image,
			    target, buf[0] ? buf : "failed");
}

static int mount_image(const char *image, const char *target, struct cl_error **err)
{
	const struct cl_libmount *lm = cl_libmount(err);
	struct libmnt_context *cxt;
	int r;

	if (!lm)
		return cl_error_errnum(err);
	r = cl_mkdir_p_at(AT_FDCWD, target, 0700, err);
	if (r < 0)
		return r;
	cxt = lm->mnt_new_context();
	if (!cxt)
		return cl_error_set(err, ENOMEM, "mount '%s'", image);
	r = loop_mount(lm, cxt, image, target, err);
	lm->mnt_free_context(cxt);
	/*
	 * Private, so that what is mounted under it (the layers' overlays) is not copied into
	 * other mount namespaces: on a systemd host / is shared and most services' namespaces
	 * are its slaves, and each copy would keep a layer "in use" (and its plaintext
	 * reachable) until that service exits. The store mount itself still propagates.
	 */
	if (r == 0 && mount(NULL, target, NULL, MS_PRIVATE, NULL) < 0)
		r = cl_error_set(err, errno, "make the store mount '%s' private", target);
	return r;
}

/* @root_fd: the store root, opened and checked once (cl_trusted_dir_open) */
static int attach(struct cl_store *s, int root_fd, uint64_t size, bool create,
		  struct cl_error **err)
{
	const char *why = NULL;
	int r;

	if (faccessat(root_fd, "store.img", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		s->backing = CL_STORE_IMAGE;
		r = cl_mount_is_mountpoint(s->dir);
		if (r < 0)
			return cl_error_set(err, -r, "is '%s' mounted", s->dir);
		return r ? 0 : mount_image(s->image, s->dir, err);
	}
	r = cl_fscrypt_fs_supported(root_fd, &why);
	if (r < 0)
		return cl_error_set(err, -r, "probe fscrypt on '%s'", s->root);
	if (r > 0) {
		s->backing = CL_STORE_IN_PLACE;
		free(s->dir);
		s->dir = s->root ? strdup(s->root) : NULL;
		return s->dir ? 0 : cl_error_set(err, ENOMEM, "store");
	}
	if (!create)
		return cl_error_set(err, ENOENT, "no store at '%s' (run 'cryptlayer store init')",
				    s->root);
	/* a user cannot mount a loop image: its store is a directory (DESIGN §7c) */
	if (geteuid() != 0 || cl_userns_nested())
		return cl_error_set(err, EOPNOTSUPP,
				    "store root '%s': its filesystem does not support encryption "
				    "(fscrypt v2: %s) and a user cannot mount a store image: see "
				    "'cryptlayer store init --user'",
				    s->root, why ? why : "unsupported");
	s->backing = CL_STORE_IMAGE;
	r = create_image(s->image, size ? size : CL_STORE_DEFAULT_SIZE, err);
	if (r < 0)
		return r;
	r = mount_image(s->image, s->dir, err);
	if (r < 0)
		(void)unlink(s->image);
	return r;
}

static int open_locked(struct cl_store *s, uint64_t size, bool create, struct cl_error **err)
{
	_cleanup_close_ int lock = -1;
	int r;

	/* root acts on what is in the store: it must be ours alone (lib/core/trust.h) */
	lock = cl_trusted_dir_open(s->root, "store root",
				   CL_TRUST_ONCE | (create ? CL_TRUST_CREATE : 0), 0700, err);
	if (lock == -ENOENT && !create) {
		cl_error_free(err);
		return cl_error_set(err, ENOENT, "no store at '%s' (run 'cryptlayer store init')",
				    s->root);
	}
	if (lock < 0)
		return lock;
	if (flock(lock, LOCK_EX) < 0)
		return cl_error_set(err, errno, "lock '%s'", s->root);
	r = attach(s, lock, size, create, err);
	if (r < 0)
		return r;
	/*
	 * a new open file description, never a dup of @lock: the flock lives as long as its
	 * description, and a second cl_store_open() in this process would wait on it forever
	 */
	s->dir_fd = openat(lock, s->backing == CL_STORE_IN_PLACE ? "." : "store",
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dir_fd < 0)
		return cl_error_set(err, errno, "open '%s'", s->dir);
	return 0;
}

int cl_store_open(const char *root, uint64_t size, bool create, struct cl_store **ret,
		  struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *s = calloc(1, sizeof(*s));
	struct cl_ns_guard guard;
	int r;

	if (!s)
		return cl_error_set(err, ENOMEM, "store");
	s->dir_fd = -1;
	s->root = strdup(root);
	if (!s->root || asprintf(&s->dir, "%s/store", root) < 0 ||
	    asprintf(&s->image, "%s/store.img", root) < 0)
		return cl_error_set(err, ENOMEM, "store");
	/* the store is mounted in the host namespace even when we run in a private one */
	r = cl_ns_enter_host(&guard, err);
	if (r < 0)
		return r;
	r = open_locked(s, size, create, err);
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r == 0)
		r = -EIO;
	if (r < 0)
		return r;
	if (s->backing == CL_STORE_IN_PLACE) {
		free(s->image);
		s->image = NULL;
	}
	*ret = TAKE_PTR(s);
	return 0;
}
