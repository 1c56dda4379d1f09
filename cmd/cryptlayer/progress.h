/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* A one-line progress meter on stderr, only when stderr is a terminal. */
struct cl_cli_progress {
	bool on;
	const char *label;
	uint64_t total_hint; /* used when the engine reports total 0 */
	uint64_t done;
	double start, last;
};

/** cl_cli_progress_init() - enable unless @quiet or stderr is not a terminal. */
void cl_cli_progress_init(struct cl_cli_progress *p, const char *label, bool quiet,
			  uint64_t total_hint);

/** cl_cli_progress_update() - a cl_clx_progress_fn; redraws at most 10 times a second. */
void cl_cli_progress_update(void *ctx, uint64_t done, uint64_t total);

/** cl_cli_progress_end() - erase the meter line. */
void cl_cli_progress_end(struct cl_cli_progress *p);
