/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/core/proc.c: process identity by pid and start time (/proc/PID/stat field 22). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/core/proc.h"

/* field 22 read independently: split after the last ')' with sscanf */
static unsigned long long field22(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long v = 0;
	FILE *f;
	size_t n;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
	 * cutime cstime priority nice threads itrealvalue starttime */
	assert_int_equal(sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
				"%*d %*d %*d %llu",
				&v),
			 1);
	return v;
}

static void test_self(void **state)
{
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(cl_proc_start_time(getpid(), &start), 0);
	assert_true(start > 0);
	assert_int_equal(start, field22(getpid()));
	assert_true(cl_proc_alive(getpid(), start));
	assert_true(cl_proc_alive(getpid(), 0));	  /* no start recorded: the pid decides */
	assert_false(cl_proc_alive(getpid(), start + 1)); /* a reused pid */
	assert_false(cl_proc_alive(0, 0));
	assert_false(cl_proc_alive(-1, 0));
}

/* a comm with ') (' and spaces must not shift the fields */
static void test_hostile_comm(void **state)
{
	unsigned long long start = 0;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, "a) (b ) Z 1 2", 0, 0, 0);
		pause();
		_exit(0);
	}
	for (int i = 0; i < 1000; i++) { /* until the child renamed itself */
		char path[64], comm[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, "a) (b", 5)) {
			fclose(f);
			break;
		}
		if (f)
			fclose(f);
		usleep(1000);
	}
	assert_int_equal(cl_proc_start_time(pid, &start), 0);
	assert_int_equal(start, field22(pid));
	assert_true(cl_proc_alive(pid, start));
	kill(pid, SIGKILL);
	/* a zombie has exited: not alive, even before it is reaped */
	for (int i = 0; i < 1000 && cl_proc_alive(pid, start); i++)
		usleep(1000);
	assert_false(cl_proc_alive(pid, start));
	assert_int_equal(cl_proc_start_time(pid, &start), -ESRCH);
	waitpid(pid, NULL, 0);
	assert_int_equal(cl_proc_start_time(pid, &start), -ESRCH);
}

/* cl_proc_comm(): a name for messages, control bytes shown as '?', never a line break */
static void test_comm(void **state)
{
	char old[17] = "", comm[32];

	(void)state;
	prctl(PR_GET_NAME, old, 0, 0, 0);
	prctl(PR_SET_NAME,
	      "a\nb\x01"
	      "c d",
	      0, 0, 0);
	cl_proc_comm(getpid(), comm, sizeof(comm));
	assert_string_equal(comm, "a?b?c d");
	cl_proc_comm(getpid(), comm, 3);
	assert_string_equal(comm, "a?");
	prctl(PR_SET_NAME, old, 0, 0, 0);
	cl_proc_comm(-1, comm, sizeof(comm));
	assert_string_equal(comm, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_self),
	    cmocka_unit_test(test_hostile_comm),
	    cmocka_unit_test(test_comm),
	};

	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
