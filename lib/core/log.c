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
	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

void cl_log(enum cl_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cl_vlog(lvl, fmt, ap);
	va_end(ap);
}

/*
 * A logged string may come from a config, a state or an annotation: control characters
 * (newline, CR, ESC, the rest below 0x20, DEL) are written as \n, \r, \t or \xNN, so
 * no input forges a line in the log or a terminal escape on stderr.
 */
static void escape_controls(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			out[o++] = (char)*p;
		else if (*p == '\n' || *p == '\r' || *p == '\t')
			o += (size_t)snprintf(out + o, size - o, "\\%c",
					      *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
	}
	out[o] = '\0';
}

void cl_vlog(enum cl_log_level lvl, const char *fmt, va_list ap)
{
	char raw[2048], line[4 * sizeof(raw) + 8];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_controls(raw, line, sizeof(line));
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
