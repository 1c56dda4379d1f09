/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whether a layer is in use: the one liveness check of every lifecycle decision. */
#include <stdio.h>
#include <string.h>

#include "lib/core/proc.h"
#include "lib/layer/internal.h"
#include "lib/mount/overlay.h"

bool cl_layer_is_creating(const struct cl_record *rec)
{
	return rec->state && (!strcmp(rec->state, "creating") || !strcmp(rec->state, "unlocking"));
}

static bool is_hook(const struct cl_record *rec)
{
	return rec->owner && !strcmp(rec->owner, "hook");
}

bool cl_layer_process_alive(const struct cl_record *rec, char *buf, size_t len,
			    const char **ret_why)
{
	/* a creator that still runs is mid-way: it finishes or undoes its own work */
	if (cl_layer_is_creating(rec) && cl_proc_alive(rec->creator, rec->creator_start)) {
		snprintf(buf, len, "layer '%s' is being %s by pid %d", rec->id,
			 strcmp(rec->state, "creating") ? "unlocked" : "created",
			 (int)rec->creator);
		*ret_why = buf;
		return true;
	}
	/* pid and start time: a reused pid is another process, not the container */
	if (is_hook(rec) && cl_proc_alive(rec->pid, rec->pid_start)) {
		snprintf(buf, len, "layer '%s' is in use by running container pid %d", rec->id,
			 (int)rec->pid);
		*ret_why = buf;
		return true;
	}
	return false;
}

bool cl_layer_in_use(const struct cl_record *rec, char *buf, size_t len, const char **ret_why)
{
	if (cl_layer_process_alive(rec, buf, len, ret_why))
		return true;
	/* cli, bundle, podman: a container's namespace holds the merged mount (errors: held) */
	if (!is_hook(rec) && rec->merged && cl_mount_is_mountpoint(rec->merged) > 0) {
		int pid = cl_mount_used_elsewhere(rec->merged), n;
		char comm[32];

		if (pid == 0)
			return false;
		n = snprintf(buf, len, "layer '%s' is in use: another mount namespace holds '%s'",
			     rec->id, rec->merged);
		/* name a process of that namespace, so the admin can tell what holds it */
		if (pid > 0 && n >= 0 && (size_t)n < len) {
			cl_proc_comm(pid, comm, sizeof(comm));
			snprintf(buf + n, len - (size_t)n, " (pid %d%s%s)", pid, comm[0] ? " " : "",
				 comm);
		}
		*ret_why = buf;
		return true;
	}
	return false;
}
