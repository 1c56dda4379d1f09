/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>

/*
 * Steps that must not be cut in half (add a key and record it, unmount and remove the
 * key) run with the terminating signals blocked; between steps the caller takes one that
 * arrived and, if so, stops and undoes (cryptsetup's pattern). SIGKILL cannot be
 * blocked: the record written before the first side effect covers it.
 */
struct cl_sigblock {
	sigset_t old;
	bool active;
};

/** cl_signals_block() - block SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1/2. */
void cl_signals_block(struct cl_sigblock *b);

/**
 * cl_signals_take() - consume one blocked terminating signal that arrived (so that it
 * is not delivered when the mask is restored: the caller reports it and exits itself).
 * Return: its number, or 0.
 */
int cl_signals_take(void);

/** cl_signals_restore() - the mask of before cl_signals_block(); a pending signal is
 * delivered then. NULL-safe, idempotent. */
void cl_signals_restore(struct cl_sigblock *b);
