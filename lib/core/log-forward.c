/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The log as the crypto plugin sees it (built into cryptlayer-crypto.so instead of
 * log.c): every line goes to the binary's cl_vlog(), so it reaches the same stderr level
 * and <run-dir>/cryptlayer.log; before the binary handed it over, to stderr.
 */
#include <stdio.h>

#include "lib/core/log.h"

static cl_vlog_fn forward;

void cl_log_forward_to(cl_vlog_fn fn)
{
	forward = fn;
}

void cl_vlog(enum cl_log_level lvl, const char *fmt, va_list ap)
{
	if (forward) {
		forward(lvl, fmt, ap);
		return;
	}
	if (lvl <= CL_LOG_WARN) {
		char raw[2048], line[4 * sizeof(raw) + 8];

		vsnprintf(raw, sizeof(raw), fmt, ap);
		cl_log_escape(raw, line, sizeof(line));
		fprintf(stderr, "cryptlayer: %s\n", line);
	}
}

void cl_log(enum cl_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cl_vlog(lvl, fmt, ap);
	va_end(ap);
}
