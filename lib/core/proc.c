/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/proc.h"

/* "pid (comm) S ppid ... starttime ...": comm may hold ')' and spaces, so parse after the last ')'
 */
static int parse_stat(const char *buf, char *ret_state, unsigned long long *ret_start)
{
	const char *p = strrchr(buf, ')');
	char *end;

	if (!p || p[1] != ' ' || !p[2])
		return -EINVAL;
	*ret_state = p[2];
	p += 3;
	/* p is at the space before field 4 (ppid): step to field 22, starttime */
	for (int field = 4; field <= 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	errno = 0;
	*ret_start = strtoull(p, &end, 10);
	if (errno || end == p)
		return -EINVAL;
	return 0;
}

int cl_proc_start_time(pid_t pid, unsigned long long *ret)
{
	char path[32], buf[1024], state = 0;
	_cleanup_close_ int fd = -1;
	unsigned long long start;
	ssize_t n;
	int r;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	buf[n] = '\0';
	r = parse_stat(buf, &state, &start);
	if (r < 0)
		return r;
	/* a zombie has exited: its parent has not reaped it yet */
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	*ret = start;
	return 0;
}

bool cl_proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now;
	int r;

	if (pid <= 0)
		return false;
	r = cl_proc_start_time(pid, &now);
	if (r == -ESRCH)
		return false;
	if (r < 0) /* /proc cannot tell: ask the kernel whether the pid exists */
		return kill(pid, 0) == 0 || errno == EPERM;
	return start == 0 || now == start;
}

void cl_proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64], comm[64]; /* TASK_COMM_LEN is 16, and a line end */
	ssize_t n;
	int fd;

	if (!len)
		return;
	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return;
	if (comm[n - 1] == '\n') /* the kernel's own line end; one inside the name is shown */
		n--;
	comm[n] = '\0';
	for (char *p = comm; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	snprintf(buf, len, "%s", comm);
}
