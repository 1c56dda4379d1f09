/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/exec/ns.h"

static int thread_count(void)
{
	_cleanup_close_ int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(TAKE_FD(fd));
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int cl_ns_same_as_pid(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (stat("/proc/self/ns/mnt", &a) < 0 || stat(path, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int cl_ns_enter_pid(pid_t pid, struct cl_ns_guard *ret_guard, struct cl_error **err)
{
	_cleanup_close_ int home = -1, target = -1;
	char path[64];
	int same;

	ret_guard->home_fd = -1;
	same = cl_ns_same_as_pid(pid);
	if (same < 0)
		return cl_error_set(err, -same, "mount namespace of pid %d", (int)pid);
	if (same)
		return 0;
	if (thread_count() != 1)
		return cl_error_set(err, EINVAL, "setns: process is multi-threaded");
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	home = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return cl_error_set(err, errno, "open '/proc/self/ns/mnt'");
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	if (setns(target, CLONE_NEWNS) < 0)
		return cl_error_set(err, errno, "setns into mount namespace of pid %d", (int)pid);
	ret_guard->home_fd = TAKE_FD(home);
	return 0;
}

int cl_ns_leave(struct cl_ns_guard *guard, struct cl_error **err)
{
	int r = 0;

	if (guard->home_fd < 0)
		return 0;
	if (setns(guard->home_fd, CLONE_NEWNS) < 0)
		r = cl_error_set(err, errno, "setns back to the host mount namespace");
	close(guard->home_fd);
	guard->home_fd = -1;
	return r;
}

int cl_ns_enter_host(struct cl_ns_guard *ret_guard, struct cl_error **err)
{
	int same = cl_ns_same_as_pid(1);

	ret_guard->home_fd = -1;
	if (same == -EACCES || same == -EPERM)
		return 0;
	return cl_ns_enter_pid(1, ret_guard, err);
}
