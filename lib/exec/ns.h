/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/core/err.h"

/*
 * Mount namespace switching (libnvidia-container nvc_mount.c shape): open the current
 * namespace first, setns into the target, act, and always setns back. setns(CLONE_NEWNS)
 * fails in a multi-threaded process, so this is refused there (nix namespaces.hh).
 */
struct cl_ns_guard {
	int home_fd; /* the namespace to return to; -1 when not switched */
};

/**
 * cl_ns_enter_pid() - enter the mount namespace of @pid (1 = the host).
 * @ret_guard: records where to return; pass it to cl_ns_leave() on every path
 * Nothing is done (guard->home_fd = -1) when @pid already shares our namespace.
 * Return: 0 or -errno.
 */
int cl_ns_enter_pid(pid_t pid, struct cl_ns_guard *ret_guard, struct cl_error **err);

/**
 * cl_ns_leave() - return to the namespace recorded in @guard; idempotent.
 * Return: 0 or -errno (the caller must treat failure as fatal: it is in the wrong ns).
 */
int cl_ns_leave(struct cl_ns_guard *guard, struct cl_error **err);

/** cl_ns_same_as_pid() - whether our mount namespace is @pid's. Return: 1, 0 or -errno. */
int cl_ns_same_as_pid(pid_t pid);

/**
 * cl_ns_enter_host() - cl_ns_enter_pid(1), except that when PID 1's namespace cannot be
 * inspected at all (EACCES/EPERM: a sandbox whose init is not ours, or a container
 * without CAP_SYS_PTRACE over it) the current namespace is taken as the host's.
 * Return: 0 or -errno.
 */
int cl_ns_enter_host(struct cl_ns_guard *ret_guard, struct cl_error **err);
