/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

int cl_read_all_fd(int fd, size_t max, char **ret_buf, size_t *ret_len, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nb;

			if (ncap > max + 4096)
				ncap = max + 4096;
			nb = realloc(buf, ncap + 1);
			if (!nb)
				return cl_error_set(err, ENOMEM, "read");
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, errno, "read");
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return cl_error_set(err, EFBIG, "input larger than %zu bytes", max);
	}
	if (!buf && !(buf = malloc(1)))
		return cl_error_set(err, ENOMEM, "read");
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int cl_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
		    struct cl_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	if (cl_read_all_fd(fd, max, ret_buf, ret_len, err) < 0)
		return cl_error_wrap(err, "'%s'", path);
	return 0;
}

int cl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cl_write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			    struct cl_error **err)
{
	return cl_write_file_replace_at(dirfd, path, buf, len, mode, 0, err);
}

int cl_write_file_replace_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode,
			     unsigned flags, struct cl_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return cl_error_set(err, ENOMEM, "write '%s'", path);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return cl_error_set(err, errno, "create '%s'", tmp);
	r = cl_write_all(fd, buf, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && !(flags & CL_WRITE_NO_SYNC) && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return cl_error_set(err, -r, "write '%s'", path);
	}
	return 0;
}

int cl_mkdir_p_at(int dirfd, const char *path, mode_t mode, struct cl_error **err)
{
	_cleanup_free_ char *copy = strdup(path);
	char *p;

	if (!copy)
		return cl_error_set(err, ENOMEM, "mkdir '%s'", path);
	for (p = copy + 1;; p++) {
		char saved = *p;
		struct stat st;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
			return cl_error_set(err, errno, "mkdir '%s'", copy);
		if (fstatat(dirfd, copy, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return cl_error_set(err, errno, "stat '%s'", copy);
		if (!S_ISDIR(st.st_mode))
			return cl_error_set(err, ENOTDIR, "mkdir '%s'", copy);
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

static int rm_children(int dfd, dev_t dev, struct cl_error **err);

static int rm_entry(int dirfd, const char *name, dev_t dev, struct cl_error **err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cl_error_set(err, errno, "stat '%s'", name);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd = -1;

		if (dev && st.st_dev != dev)
			return cl_error_set(err, EXDEV, "'%s' is a mount point", name);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return cl_error_set(err, errno, "open '%s'", name);
		if (rm_children(fd, st.st_dev, err) < 0)
			return cl_error_wrap(err, "'%s'", name);
		if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return cl_error_set(err, errno, "rmdir '%s'", name);
		return 0;
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "unlink '%s'", name);
	return 0;
}

static int rm_children(int dfd, dev_t dev, struct cl_error **err)
{
	int fd2 = dup(dfd);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd2 < 0)
		return cl_error_set(err, errno, "dup");
	d = fdopendir(fd2);
	if (!d) {
		close(fd2);
		return cl_error_set(err, errno, "opendir");
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = rm_entry(dfd, de->d_name, dev, err);
	}
	if (r == 0 && errno)
		r = cl_error_set(err, errno, "readdir");
	closedir(d);
	return r;
}

int cl_rm_rf_at(int dirfd, const char *name, struct cl_error **err)
{
	struct stat st;

	if (fstatat(dirfd, ".", &st, 0) < 0)
		return cl_error_set(err, errno, "stat");
	return rm_entry(dirfd, name, st.st_dev, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cl_dir_names(DIR *d, char *(*keep)(DIR *d, const char *name), char ***ret_ids)
{
	char **v = calloc(1, sizeof(*v));
	struct dirent *de;
	int n = 0;

	while (v && d && (de = readdir(d))) {
		char *id = de->d_name[0] == '.' ? NULL : keep(d, de->d_name);
		char **nv = id ? realloc(v, sizeof(*v) * (size_t)(n + 2)) : NULL;

		if (!nv) {
			free(id);
			continue;
		}
		v = nv;
		v[n++] = id;
		v[n] = NULL;
	}
	if (d)
		closedir(d);
	if (!v)
		return -ENOMEM;
	qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*ret_ids = v;
	return n;
}
