/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "cmd/cryptlayer/cli.h"
#include "cmd/cryptlayer/progress.h"
#include "lib/archive/format.h"

/* shared by cmd-export.c (.clx) and cmd-export-oci.c (OCI image layout) */

enum cl_export_compress {
	CL_EXPORT_DEFAULT = 0, /* none for clx, gzip for oci */
	CL_EXPORT_NONE,
	CL_EXPORT_ZSTD,
	CL_EXPORT_GZIP,
};

struct cl_export_args {
	const char *id, *out;
	const char *rcpts[CL_CLX_MAX_STANZAS];
	size_t nrcpts;
	unsigned jobs;
	enum cl_export_compress compress;
	bool oci, quiet;
};

/* the output: FILE is written under a temporary name and renamed once complete */
struct cl_export_out {
	int fd;
	int dir_fd;
	char *tmp;   /* named temporary in FILE's directory, or NULL (O_TMPFILE / stdout) */
	bool anon;   /* O_TMPFILE: no name until committed */
	bool direct; /* FILE is a device, FIFO or socket: written in place, never replaced */
	bool own_fd; /* a FILE, not stdout */
	const char *name;
};

/** cl_export_open_upper() - the upper directory of unlocked layer @id. Return: 0 or -errno. */
int cl_export_open_upper(const struct cl_globals *g, const char *id, int *ret_fd,
			 struct cl_error **err);
/** cl_export_out_open() - start writing FILE (temporary) or stdout ('-'); @o = {.fd=-1,.dir_fd=-1}.
 */
int cl_export_out_open(const char *path, struct cl_export_out *o, struct cl_error **err);
/** cl_export_out_commit() - make the complete file appear under its name. */
int cl_export_out_commit(struct cl_export_out *o, struct cl_error **err);
/** cl_export_out_close() - close; removes the temporary if not committed. */
void cl_export_out_close(struct cl_export_out *o);

/**
 * cl_export_oci() - write the OCI image layout of the upper @upper (cmd-export-oci.c).
 * Return: 0 or -errno.
 */
int cl_export_oci(const struct cl_export_args *a, int upper, struct cl_cli_progress *prog,
		  struct cl_error **err);
