/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cryptlayer/progress.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *human(double v, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

void cl_cli_progress_init(struct cl_cli_progress *p, const char *label, bool quiet,
			  uint64_t total_hint)
{
	*p = (struct cl_cli_progress){
	    .on = !quiet && isatty(STDERR_FILENO),
	    .label = label,
	    .total_hint = total_hint,
	};
	p->start = p->last = now_s();
}

void cl_cli_progress_update(void *ctx, uint64_t done, uint64_t total)
{
	struct cl_cli_progress *p = ctx;
	char a[32], b[32], c[32];
	double t = now_s(), el, rate;

	p->done = done;
	if (!p->on || t - p->last < 0.1)
		return;
	p->last = t;
	el = t - p->start;
	rate = el > 0 ? (double)done / el : 0;
	total = total ? total : p->total_hint;
	if (total && done <= total && rate > 0) {
		double eta = (double)(total - done) / rate;

		fprintf(stderr, "\r\033[K%s: %s of %s (%3.0f%%), %s/s, ETA %d:%02d", p->label,
			human((double)done, a, sizeof(a)), human((double)total, b, sizeof(b)),
			100.0 * (double)done / (double)total, human(rate, c, sizeof(c)),
			(int)eta / 60, (int)eta % 60);
	} else {
		fprintf(stderr, "\r\033[K%s: %s, %s/s", p->label, human((double)done, a, sizeof(a)),
			human(rate, c, sizeof(c)));
	}
}

void cl_cli_progress_end(struct cl_cli_progress *p)
{
	if (p->on)
		fputs("\r\033[K", stderr);
}
