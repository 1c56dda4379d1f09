/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "lib/crypto/machine-key.h"

int cl_machine_key_parse(const char *spec, enum cl_machine_key_kind *ret_kind, const char **ret_arg,
			 struct cl_error **err)
{
	if (!strncmp(spec, "file:", 5) && spec[5] == '/') {
		*ret_kind = CL_MACHINE_KEY_FILE;
		*ret_arg = spec + 5;
		return 0;
	}
	if (!strncmp(spec, "keyring:", 8) && spec[8] != '\0') {
		*ret_kind = CL_MACHINE_KEY_KEYRING;
		*ret_arg = spec + 8;
		return 0;
	}
	return cl_error_set(err, EINVAL,
			    "machine key '%.200s': expected file:/ABSOLUTE/PATH or keyring:NAME",
			    spec);
}

/* exactly @len bytes from @fd with read(2) (no stdio buffer keeps a copy) */
static int read_exact(int fd, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Publish a new random key at @name under @dfd. O_TMPFILE + linkat() is exclusive like
 * O_EXCL (EEXIST if another process won the race) and never shows a half-written file;
 * without O_TMPFILE support, O_CREAT|O_EXCL on the name itself.
 */
static int file_create(int dfd, const char *name, const char *path, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *key = cl_secret_random(CL_MACHINE_KEY_LEN, err);
	_cleanup_close_ int fd = -1;
	char proc[64];
	bool tmp = true;

	if (!key)
		return cl_error_errnum(err);
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		tmp = false;
		fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			return 0;
	}
	if (fd < 0)
		return cl_error_set(err, errno, "create machine key '%s'", path);
	if (cl_write_all(fd, key->data, key->len) < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
		int e = errno;

		if (!tmp)
			(void)unlinkat(dfd, name, 0);
		return cl_error_set(err, e, "write machine key '%s'", path);
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (tmp && linkat(AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) < 0) {
		if (errno == EEXIST)
			return 0; /* another process created it first: use theirs */
		return cl_error_set(err, errno, "create machine key '%s'", path);
	}
	if (fsync(dfd) < 0)
		return cl_error_set(err, errno, "fsync the directory of '%s'", path);
	cl_log(CL_LOG_INFO, "created machine key '%s'", path);
	return 0;
}

static int file_check(int fd, const char *path, struct cl_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cl_error_set(err, errno, "machine key '%s'", path);
	if (!S_ISREG(st.st_mode))
		return cl_error_set(err, EINVAL, "machine key '%s' is not a regular file", path);
	if (st.st_uid != geteuid())
		return cl_error_set(err, EPERM, "machine key '%s' is owned by uid %u, not %u", path,
				    (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return cl_error_set(err, EPERM,
				    "machine key '%s' has mode %04o: group or others may read it "
				    "(chmod 0600)",
				    path, (unsigned)(st.st_mode & 07777));
	if (st.st_size != CL_MACHINE_KEY_LEN)
		return cl_error_set(err, EINVAL, "machine key '%s' has %lld bytes, expected %d",
				    path, (long long)st.st_size, CL_MACHINE_KEY_LEN);
	return 0;
}

static int open_parent(const char *path, bool create, const char **ret_name, struct cl_error **err)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = NULL;
	int fd;

	if (!slash || slash[1] == '\0')
		return cl_error_set(err, EINVAL, "machine key '%s' names a directory", path);
	dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return cl_error_set(err, ENOMEM, "machine key '%s'", path);
	*ret_name = slash + 1;
	/* the parent (/etc/cryptlayer) is created if missing, its own parent is not */
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cl_error_set(err, errno, "create directory '%s'", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", dir);
	return fd;
}

static int file_load(const char *path, bool create, struct cl_secret **ret, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *key = NULL;
	_cleanup_close_ int dfd = -1, fd = -1;
	const char *name = NULL;
	int r;

	dfd = open_parent(path, create, &name, err);
	if (dfd == -ENOENT && !create) {
		cl_error_free(err);
		return cl_error_set(err, ENOENT, "machine key '%s' does not exist", path);
	}
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT && !create)
		return cl_error_set(err, ENOENT, "machine key '%s' does not exist", path);
	if (fd < 0 && errno == ENOENT) {
		r = file_create(dfd, name, path, err);
		if (r < 0)
			return r;
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	}
	if (fd < 0)
		return cl_error_set(err, errno, "open machine key '%s'", path);
	r = file_check(fd, path, err);
	if (r < 0)
		return r;
	key = cl_secret_new(CL_MACHINE_KEY_LEN, err);
	if (!key)
		return cl_error_errnum(err);
	r = read_exact(fd, key->data, key->len);
	if (r < 0)
		return cl_error_set(err, -r, "read machine key '%s'", path);
	*ret = TAKE_PTR(key);
	return 0;
}

/*
 * request_key(2) without a callout searches the thread, process and session keyrings
 * (a possessed key is readable); then the user keyring, whose keys need user read
 * permission (keyctl setperm ID 0x3f030000). No libkeyutils: two raw syscalls.
 */
static int keyring_load(const char *name, struct cl_secret **ret, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *key = NULL;
	long id, n;

	id = syscall(SYS_request_key, "user", name, NULL, 0);
	if (id < 0 && errno == ENOKEY)
		id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_USER_KEYRING, "user", name, 0);
	if (id < 0)
		return cl_error_set(err, errno,
				    "machine key 'keyring:%s': no readable 'user' key of that name "
				    "in the session or user keyring",
				    name);
	/* one byte more than expected, to see a longer payload */
	key = cl_secret_new(CL_MACHINE_KEY_LEN + 1, err);
	if (!key)
		return cl_error_errnum(err);
	n = syscall(SYS_keyctl, KEYCTL_READ, id, key->data, key->len);
	if (n < 0)
		return cl_error_set(err, errno, "machine key 'keyring:%s': read key %ld", name, id);
	if (n != CL_MACHINE_KEY_LEN)
		return cl_error_set(err, EINVAL,
				    "machine key 'keyring:%s' has %ld bytes, expected %d", name, n,
				    CL_MACHINE_KEY_LEN);
	key->len = CL_MACHINE_KEY_LEN;
	*ret = TAKE_PTR(key);
	return 0;
}

int cl_machine_key_load(const char *spec, bool create, struct cl_secret **ret,
			struct cl_error **err)
{
	enum cl_machine_key_kind kind;
	const char *arg = NULL;
	int r;

	r = cl_machine_key_parse(spec ? spec : CL_MACHINE_KEY_DEFAULT, &kind, &arg, err);
	if (r < 0)
		return r;
	if (kind == CL_MACHINE_KEY_KEYRING)
		return keyring_load(arg, ret, err);
	return file_load(arg, create, ret, err);
}
