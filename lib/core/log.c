/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/log.h"

static enum cl_log_level log_max = CL_LOG_WARN;
static int log_fd = -1;
static const char *log_tag = "";

void cl_log_set_level(enum cl_log_level max)
{
	log_max = max;
}

void cl_log_set_tag(const char *tag)
{
	log_tag = tag ? tag : "";
}

void cl_log_open(const char *path)
{
	if (log_fd >= 0)
		close(log_fd);
	/* O_NONBLOCK: a FIFO planted there fails the open instead of hanging the hook */
	log_fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
}

void cl_log(enum cl_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cl_vlog(lvl, fmt, ap);
	va_end(ap);
}

void cl_vlog(enum cl_log_level lvl, const char *fmt, va_list ap)
{
	char raw[2048], line[4 * sizeof(raw) + 8];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	cl_log_escape(raw, line, sizeof(line));
	if (lvl <= log_max)
		dprintf(STDERR_FILENO, "cryptlayer: %s\n", line);
	if (log_fd >= 0 && lvl <= CL_LOG_INFO) {
		struct timespec ts;
		struct tm tm;
		char when[32] = "";

		clock_gettime(CLOCK_REALTIME, &ts);
		if (gmtime_r(&ts.tv_sec, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		dprintf(log_fd, "%s [%d] %s%s\n", when, (int)getpid(), log_tag, line);
	}
}
