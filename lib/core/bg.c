/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/bg.h"

static void *bg_main(void *p)
{
	struct cl_bg *bg = p;

	__atomic_store_n(&bg->tid, gettid(), __ATOMIC_RELEASE);
	bg->result = bg->fn(bg->arg, &bg->err);
	return NULL;
}

int cl_bg_start(struct cl_bg *bg, cl_bg_fn fn, void *arg, struct cl_error **err)
{
	sigset_t all, old;
	int e;

	*bg = (struct cl_bg){.fn = fn, .arg = arg};
	/* the new thread starts with this mask: every signal stays the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&bg->thread, NULL, bg_main, bg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return cl_error_set(err, e, "start a thread");
	bg->running = true;
	return 0;
}

/* the exited thread's task is unhashed (after it dropped its fs struct) */
static void wait_gone(pid_t tid)
{
	char path[64];
	struct timespec pause = {.tv_nsec = 20000};

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	/* microseconds after pthread_join() at most; bounded so a quirk cannot hang us */
	for (int i = 0; i < 50000 && access(path, F_OK) == 0; i++) {
		if (i < 16)
			sched_yield();
		else
			nanosleep(&pause, NULL);
	}
}

int cl_bg_wait(struct cl_bg *bg, struct cl_error **err)
{
	pid_t tid;

	if (!bg->running)
		return 0;
	pthread_join(bg->thread, NULL);
	bg->running = false;
	tid = __atomic_load_n(&bg->tid, __ATOMIC_ACQUIRE);
	if (tid > 0)
		wait_gone(tid);
	if (bg->result < 0)
		cl_error_move(err, &bg->err);
	return bg->result;
}
