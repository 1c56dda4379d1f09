/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/core/err.h"
#include "lib/sandbox/policy.h"

#define CL_SANDBOX_NO_SECCOMP (1U << 0) /* --insecure-no-seccomp: NNP and caps only */

/**
 * cl_sandbox_enter() - confine this process (every thread) to @phase for the rest of its
 * life (STYLE §1.6): PR_SET_NO_NEW_PRIVS, capabilities outside the phase's set dropped from
 * the bounding, permitted, effective, inheritable and ambient sets, then the phase's seccomp
 * program (lib/sandbox/policy.c; unlisted syscalls fail with EPERM). Call it after the
 * command has opened what it needs and before it acts. Fails closed: without seccomp
 * support the call fails unless @flags has CL_SANDBOX_NO_SECCOMP. A sanitizer build skips
 * the seccomp program (ASan and UBSan make syscalls of their own) and says so in doctor.
 * Return: 0 or -errno.
 */
int cl_sandbox_enter(enum cl_sandbox_phase phase, unsigned flags, struct cl_error **err);

typedef int (*cl_sandbox_fn)(void *ctx, struct cl_error **err);

/**
 * cl_sandbox_run_thread() - run @fn(@ctx) on a new thread confined to @phase (NNP,
 * capabilities and the filter apply to that thread and the threads it starts, not to the
 * caller), and wait for it. For a step in the middle of a command whose rollback needs
 * more than the step (import: unpack under 'bulk-unpack', unmount and erase on failure).
 * The thread shares the caller's memory: it confines what the step's code can ask of the
 * kernel, it is no boundary against that code corrupting the caller. The caller must not
 * need to be single-threaded meanwhile (setns). Return: @fn's result or -errno.
 */
int cl_sandbox_run_thread(enum cl_sandbox_phase phase, unsigned flags, cl_sandbox_fn fn, void *ctx,
			  struct cl_error **err);

/** cl_sandbox_active() - the name of the seccomp policy loaded by this process, or NULL. */
const char *cl_sandbox_active(void);

/**
 * cl_sandbox_seccomp_status() - can this kernel and build load the programs? For doctor.
 * Return: true if yes; @ret_why says why not (or how), static text.
 */
bool cl_sandbox_seccomp_status(const char **ret_why);
