/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timeit: run a command and print its wall time in nanoseconds (CLOCK_MONOTONIC).
 *
 *   timeit [-n N] [-o LOG] [-s STAMPS] CMD [ARG]...
 *
 * Runs CMD N times (default 1) with stdin from /dev/null and stdout/stderr appended to
 * LOG (default: inherited), and prints one line per run on stdout: the nanoseconds from
 * just before the spawn to just after waitpid() returned. With -s, each run also appends
 * "S T0" and "Z T1" (CLOCK_MONOTONIC ns: those two instants) to STAMPS, the file that
 * bench/stamp.c's hooks write to, so a run's segments can be told apart. Stops at the first run
 * that fails and exits with its status (128+signal if killed), so the caller sees failures. Built
 * by bench/run into its temporary directory; not part of the product.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int setup_actions(posix_spawn_file_actions_t *fa, const char *log)
{
	if (posix_spawn_file_actions_init(fa) ||
	    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0))
		return -1;
	if (!log)
		return 0;
	if (posix_spawn_file_actions_addopen(fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644) ||
	    posix_spawn_file_actions_adddup2(fa, 1, 2))
		return -1;
	return 0;
}

static int append_stamps(const char *path, uint64_t t0, uint64_t t1)
{
	FILE *f = fopen(path, "ae");
	int r;

	if (!f)
		return -1;
	r = fprintf(f, "S %llu\nZ %llu\n", (unsigned long long)t0, (unsigned long long)t1);
	return fclose(f) == 0 && r > 0 ? 0 : -1;
}

/* Run argv once; store the elapsed ns in *ns. Return the exit status (128+sig). */
static int run_once(char **argv, posix_spawn_file_actions_t *fa, const char *stamps, uint64_t *ns)
{
	uint64_t t0, t1;
	pid_t pid;
	int status, r;

	t0 = now_ns();
	r = posix_spawnp(&pid, argv[0], fa, NULL, argv, environ);
	if (r != 0) {
		fprintf(stderr, "timeit: %s: %s\n", argv[0], strerror(r));
		return 127;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("timeit: waitpid");
			return 127;
		}
	t1 = now_ns();
	*ns = t1 - t0;
	if (stamps && append_stamps(stamps, t0, t1) < 0) {
		perror("timeit: stamps");
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	const char *log = NULL, *stamps = NULL;
	long n = 1, i;
	int c, rc = 0;
	uint64_t ns = 0;

	while ((c = getopt(argc, argv, "+n:o:s:")) != -1) {
		if (c == 'n')
			n = strtol(optarg, NULL, 10);
		else if (c == 'o')
			log = optarg;
		else if (c == 's')
			stamps = optarg;
		else
			return 2;
	}
	if (optind >= argc || n < 1) {
		fprintf(stderr, "usage: timeit [-n N] [-o LOG] [-s STAMPS] CMD [ARG]...\n");
		return 2;
	}
	if (setup_actions(&fa, log)) {
		perror("timeit: posix_spawn_file_actions");
		return 127;
	}
	for (i = 0; i < n && rc == 0; i++) {
		rc = run_once(argv + optind, &fa, stamps, &ns);
		if (rc != 127)
			printf("%llu\n", (unsigned long long)ns);
	}
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}
