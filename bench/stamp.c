/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stamp: an OCI hook that appends "LABEL NANOSECONDS" (CLOCK_MONOTONIC) to FILE.
 *
 *   stamp FILE LABEL
 *
 * bench/run puts one before and one after each hook under test, so that the time the
 * runtime spends in the hook (and between prestart and poststop) can be measured without
 * the noise of the whole 'runc run'. Built by bench/run into its temporary directory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char line[128];
	int fd, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc != 3)
		return 2;
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 1;
	n = snprintf(line, sizeof(line), "%s %lld\n", argv[2],
		     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return write(fd, line, (size_t)n) == n && close(fd) == 0 ? 0 : 1;
}
