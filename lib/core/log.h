/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <stdio.h>

/*
 * Reporting for cmd/ and hooks/ only (library code never prints). Every line goes to
 * stderr as "cryptlayer: ..." and, once cl_log_open() named a file, also to that file
 * with a timestamp: podman drops a precreate hook's stderr (DESIGN §3).
 */
enum cl_log_level {
	CL_LOG_ERR,
	CL_LOG_WARN,
	CL_LOG_INFO,
	CL_LOG_DEBUG,
	_CL_LOG_MAX,
};

void cl_log_set_level(enum cl_log_level max);
void cl_log_set_tag(const char *tag);
/** cl_log_open() - also append to @path (O_APPEND, 0600); failures are ignored. */
void cl_log_open(const char *path);
void cl_log(enum cl_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cl_vlog(enum cl_log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * A logged string may come from a config, a state or an annotation: control characters
 * (newline, CR, ESC, the rest below 0x20, DEL) are written as \n, \r, \t or \xNN, so
 * no input forges a line in the log or a terminal escape on stderr. @size >= 6.
 */
static inline void cl_log_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < size; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			out[o++] = (char)*p;
		else if (*p == '\n' || *p == '\r' || *p == '\t')
			o += (size_t)snprintf(out + o, size - o, "\\%c",
					      *p == '\n'   ? 'n'
					      : *p == '\r' ? 'r'
							   : 't');
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", *p);
	}
	out[o] = '\0';
}

typedef void (*cl_vlog_fn)(enum cl_log_level lvl, const char *fmt, va_list ap);

/** cl_log_forward_to() - the crypto plugin only (log-forward.c): log through @fn. */
void cl_log_forward_to(cl_vlog_fn fn);
