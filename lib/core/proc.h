/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * A process identity that survives PID reuse: the pid and its start time (clock ticks
 * since boot, /proc/PID/stat field 22), as crun checks a container's init.
 */

/**
 * cl_proc_start_time() - the start time of @pid.
 * Return: 0 and *ret, -ESRCH when there is no such process or it is a zombie (it has
 * exited), or -errno when /proc cannot tell.
 */
int cl_proc_start_time(pid_t pid, unsigned long long *ret);

/**
 * cl_proc_alive() - whether process @pid started at @start still runs (not a zombie).
 * @start 0 (not recorded) compares the pid only. When /proc cannot tell (a /proc
 * without the process's entry but kill() says it exists), it counts as alive: callers
 * use this to decide whether an erase may go ahead, and doubt keeps.
 */
bool cl_proc_alive(pid_t pid, unsigned long long start);

/**
 * cl_proc_comm() - the command name of @pid (/proc/PID/comm), for messages: anything but
 * printable ASCII shown as '?'. Empty when it cannot be read.
 */
void cl_proc_comm(pid_t pid, char *buf, size_t len);
