/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/core/bg.c: one step on a second thread. Its result and error reach the waiter, it
 * takes no signal, and once waited for the process is single-threaded again (what
 * setns(CLONE_NEWNS) needs: lib/exec/ns.c refuses otherwise).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/core/bg.h"

/* entries of /proc/self/task: the process's threads */
static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int add_one(void *arg, struct cl_error **err)
{
	(void)err;
	return ++*(int *)arg;
}

static int note_tid(void *arg, struct cl_error **err)
{
	(void)err;
	*(pid_t *)arg = gettid();
	return 0;
}

static int fails(void *arg, struct cl_error **err)
{
	return cl_error_set(err, EXDEV, "step %s failed", (const char *)arg);
}

/* 1: every signal blocked on the thread, whatever the caller's mask */
static int signals_blocked(void *arg, struct cl_error **err)
{
	sigset_t now;

	(void)arg;
	(void)err;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	return sigismember(&now, SIGTERM) && sigismember(&now, SIGINT) &&
	       sigismember(&now, SIGUSR1);
}

static void test_result(void **state)
{
	struct cl_bg bg;
	struct cl_error *err = NULL;
	int n = 41;

	(void)state;
	assert_int_equal(cl_bg_start(&bg, add_one, &n, &err), 0);
	assert_int_equal(cl_bg_wait(&bg, &err), 42);
	assert_null(err);
	assert_int_equal(n, 42);
	/* waiting again, or for nothing started, is a no-op */
	assert_int_equal(cl_bg_wait(&bg, &err), 0);
}

static void test_error_moved(void **state)
{
	struct cl_bg bg;
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_bg_start(&bg, fails, "two", NULL), 0);
	assert_int_equal(cl_bg_wait(&bg, &err), -EXDEV);
	assert_non_null(err);
	assert_int_equal(err->errnum, EXDEV);
	assert_string_equal(err->msg, "step two failed");
	cl_error_free(&err);
	/* a waiter that discards errors: the thread's is freed (ASan would say otherwise) */
	assert_int_equal(cl_bg_start(&bg, fails, "three", NULL), 0);
	assert_int_equal(cl_bg_wait(&bg, NULL), -EXDEV);
}

static void test_no_signals(void **state)
{
	struct cl_bg bg;
	sigset_t none, old;

	(void)state;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, &old);
	assert_int_equal(cl_bg_start(&bg, signals_blocked, NULL, NULL), 0);
	assert_int_equal(cl_bg_wait(&bg, NULL), 1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * the thread has left the thread group when the wait returns, every time (pthread_join()
 * alone returns once the thread cleared its tid, before it let go of its fs struct)
 */
static void test_single_threaded_after(void **state)
{
	char path[64];

	(void)state;
	assert_int_equal(threads(), 1);
	for (int i = 0; i < 2000; i++) {
		struct cl_bg bg;
		pid_t tid = 0;

		assert_int_equal(cl_bg_start(&bg, note_tid, &tid, NULL), 0);
		assert_int_equal(cl_bg_wait(&bg, NULL), 0);
		snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
		assert_true(tid > 0 && access(path, F_OK) < 0 && errno == ENOENT);
	}
	assert_int_equal(threads(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_result),
	    cmocka_unit_test(test_error_moved),
	    cmocka_unit_test(test_no_signals),
	    cmocka_unit_test(test_single_threaded_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
