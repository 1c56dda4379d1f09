/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "lib/core/cleanup.h"
#include "lib/core/signals.h"

static const int terminating[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2};

static void fill(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < CL_ARRAY_SIZE(terminating); i++)
		sigaddset(set, terminating[i]);
}

void cl_signals_block(struct cl_sigblock *b)
{
	sigset_t set;

	fill(&set);
	b->active = sigprocmask(SIG_BLOCK, &set, &b->old) == 0;
}

int cl_signals_take(void)
{
	struct timespec now = {0, 0};
	sigset_t set;
	int sig;

	fill(&set);
	sig = sigtimedwait(&set, NULL, &now);
	return sig > 0 ? sig : 0;
}

void cl_signals_restore(struct cl_sigblock *b)
{
	if (!b || !b->active)
		return;
	(void)sigprocmask(SIG_SETMASK, &b->old, NULL);
	b->active = false;
}
