/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/mount/overlay.h"

/* Does /proc/@pid/mountinfo list a mount of device @dev? 1, 0, or -errno. */
static int ns_has_dev(const char *pid, dev_t dev)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	char path[300];
	size_t cap = 0;

	snprintf(path, sizeof(path), "/proc/%s/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned maj, min;

		/* "36 35 98:0 /mnt1 /mnt2 ...": mount id, parent id, major:minor */
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2 && maj == major(dev) &&
		    min == minor(dev))
			return 1;
	}
	return 0;
}

static bool seen_add(ino_t **seen, size_t *n, ino_t ino)
{
	ino_t *v;

	for (size_t i = 0; i < *n; i++)
		if ((*seen)[i] == ino)
			return true;
	v = realloc(*seen, (*n + 1) * sizeof(**seen));
	if (!v)
		return false; /* visit it again rather than fail */
	*seen = v;
	(*seen)[(*n)++] = ino;
	return false;
}

int cl_mount_used_elsewhere(const char *target)
{
	_cleanup_(closedirp) DIR *proc = NULL;
	_cleanup_free_ ino_t *seen = NULL;
	struct stat mnt, self;
	struct dirent *de;
	size_t n = 0;
	int r = 0;

	if (stat(target, &mnt) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (stat("/proc/self/ns/mnt", &self) < 0)
		return -errno;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	(void)seen_add(&seen, &n, self.st_ino);
	while (r == 0 && (de = readdir(proc))) {
		char ns[300];
		struct stat st;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(ns, sizeof(ns), "/proc/%s/ns/mnt", de->d_name);
		if (stat(ns, &st) < 0 || seen_add(&seen, &n, st.st_ino))
			continue; /* gone, a kernel thread, or a namespace already read */
		r = ns_has_dev(de->d_name, mnt.st_dev);
		if (r > 0)
			r = atoi(de->d_name);
	}
	return r;
}
