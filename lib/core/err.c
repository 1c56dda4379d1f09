/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/err.h"

static int error_vset(struct cl_error **err, int errnum, const char *fmt, va_list ap)
{
	struct cl_error *e;
	char *msg = NULL;

	if (errnum <= 0)
		errnum = EIO;
	if (!err)
		return -errnum;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(msg);
		return -errnum;
	}
	e->errnum = errnum;
	e->msg = msg;
	cl_error_free(err); /* contract: set once; never leak a stray one */
	*err = e;
	return -errnum;
}

int cl_error_set(struct cl_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(err, errnum, fmt, ap);
	va_end(ap);
	return r;
}

int cl_error_wrap(struct cl_error **err, const char *fmt, ...)
{
	char *ctx = NULL, *joined = NULL;
	va_list ap;
	int r;

	if (!err)
		return -EIO;
	if (!*err)
		return -EIO;
	va_start(ap, fmt);
	r = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -(*err)->errnum;
	if (asprintf(&joined, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "unknown error") >= 0) {
		free((*err)->msg);
		(*err)->msg = joined;
	}
	free(ctx);
	return -(*err)->errnum;
}

void cl_error_free(struct cl_error **err)
{
	if (!err || !*err)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}

int cl_error_libmount(struct cl_error **err, int rc, const char *what)
{
	/* libmount returns -errno, or -MNT_ERR_* (<= -5000) for its own failures */
	int e = rc < 0 && rc > -5000 ? -rc : EINVAL;

	return cl_error_set(err, e, "%s", what);
}
