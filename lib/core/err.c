/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/err.h"

/*
 * Handed out when the error object itself cannot be allocated, so that a failure always
 * leaves *err set (the contract) and callers never see a NULL error after a failure.
 */
static struct cl_error oom_error = {
    .errnum = ENOMEM, .msg = (char *)"out of memory", .preallocated = true};

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
	cl_error_free(err); /* contract: set once; never leak a stray one */
	if (!e) {
		free(msg);
		*err = &oom_error;
		return -errnum;
	}
	e->errnum = errnum;
	e->msg = msg;
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

	if (!err || !*err)
		return -EIO;
	if ((*err)->preallocated)
		return -(*err)->errnum;
	va_start(ap, fmt);
	r = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (r >= 0 &&
	    asprintf(&joined, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "unknown error") >= 0) {
		free((*err)->msg);
		(*err)->msg = joined;
	}
	free(ctx);
	return cl_error_errnum(err);
}

int cl_error_move(struct cl_error **err, struct cl_error **src)
{
	int r = src && *src ? -(*src)->errnum : -EIO;

	if (err && src && *src) {
		cl_error_free(err);
		*err = *src;
		*src = NULL;
	} else {
		cl_error_free(src);
	}
	return r;
}

int cl_error_errnum(struct cl_error **err)
{
	return err && *err ? -(*err)->errnum : -EIO;
}

void cl_error_free(struct cl_error **err)
{
	if (!err || !*err)
		return;
	/* by flag, not address: the tar plugin has its own copy of this file */
	if ((*err)->preallocated) {
		*err = NULL;
		return;
	}
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
