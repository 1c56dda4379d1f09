/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/**
 * cl_userns_parse_initial() - whether @map (the text of /proc/self/uid_map) is the
 * initial user namespace's map: the one line "0 0 4294967295". Pure, for tests.
 * Return: 1 initial, 0 not (also for an empty or malformed map).
 */
int cl_userns_parse_initial(const char *map, size_t len);

/**
 * cl_userns_nested() - whether this process runs in a non-initial user namespace
 * (rootless podman's hooks, 'podman unshare', 'unshare -r'), read once from
 * /proc/self/uid_map. Unreadable counts as nested: the options that work there also work
 * in the initial namespace, the reverse is not true.
 */
bool cl_userns_nested(void);

/**
 * cl_userns_outer_uid() - the uid that @uid of this user namespace maps to in the parent
 * namespace (the first line of /proc/self/uid_map that covers it), for messages naming
 * the user. Return: 0 and *ret, or -ENOENT when @uid is not mapped, -errno.
 */
int cl_userns_outer_uid(uid_t uid, uid_t *ret);

/**
 * cl_userns_forget() - drop what cl_userns_nested() cached, after this process entered a
 * new user namespace (unshare(CLONE_NEWUSER): doctor's overlay probe).
 */
void cl_userns_forget(void);
