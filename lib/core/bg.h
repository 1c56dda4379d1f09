/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/core/err.h"

/*
 * One step run on a second thread while the caller goes on with others: for a step that
 * mostly waits in the kernel (a btrfs snapshot waits for its transaction commit). The
 * thread takes no signal (all blocked); its error is handed to the waiter. cl_bg_wait()
 * returns only once the thread has left the kernel's thread group, so that the process
 * is single-threaded again for setns(CLONE_NEWNS) (the kernel refuses it while another
 * task shares the fs struct, which an exiting thread still does after pthread_join()).
 */
typedef int (*cl_bg_fn)(void *arg, struct cl_error **err);

struct cl_bg {
	pthread_t thread;
	cl_bg_fn fn;
	void *arg;
	pid_t tid; /* the thread's, set by it before anything else */
	int result;
	struct cl_error *err;
	bool running; /* started and not waited for */
};

/**
 * cl_bg_start() - run @fn(@arg) on a new thread. @bg must be zeroed or waited for.
 * Return: 0, or -errno (no thread: the caller runs @fn itself if it wants).
 */
int cl_bg_start(struct cl_bg *bg, cl_bg_fn fn, void *arg, struct cl_error **err);

/**
 * cl_bg_wait() - wait for the thread started by cl_bg_start() (no-op when none runs) and
 * until it is gone from /proc/self/task. Return: what @fn returned, its error moved into
 * @err.
 */
int cl_bg_wait(struct cl_bg *bg, struct cl_error **err);
