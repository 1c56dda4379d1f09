/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which user namespace we run in (DESIGN §7c). Under rootless podman the hook runs as
 * uid 0 of the user's namespace ("0 UID 1" plus the subuids in uid_map): overlayfs must
 * then be mounted with userxattr, and keys are charged to the user.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/userns.h"

#define MAP_MAX 4096

int cl_userns_parse_initial(const char *map, size_t len)
{
	unsigned long long in = 1, out = 1, count = 0;
	char tail = 0, buf[128];
	int n;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, map, len);
	buf[len] = '\0';
	n = sscanf(buf, "%llu %llu %llu %c", &in, &out, &count, &tail);
	return n == 3 && in == 0 && out == 0 && count == 4294967295ULL;
}

static ssize_t read_map(char *buf, size_t cap)
{
	_cleanup_close_ int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static int cached = -1;

void cl_userns_forget(void)
{
	cached = -1;
}

bool cl_userns_nested(void)
{
	char buf[MAP_MAX];
	ssize_t len;

	if (cached < 0) {
		len = read_map(buf, sizeof(buf));
		cached = len < 0 ? 1 : !cl_userns_parse_initial(buf, (size_t)len);
	}
	return cached;
}

int cl_userns_outer_uid(uid_t uid, uid_t *ret)
{
	char buf[MAP_MAX];
	ssize_t len = read_map(buf, sizeof(buf));
	unsigned long long in, out, count;
	int consumed = 0;

	if (len < 0)
		return (int)len;
	for (const char *p = buf; sscanf(p, "%llu %llu %llu%n", &in, &out, &count, &consumed) == 3;
	     p += consumed) {
		if (uid >= in && uid - in < count) {
			*ret = (uid_t)(out + (uid - in));
			return 0;
		}
	}
	return -ENOENT;
}
