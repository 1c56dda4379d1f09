/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>

/*
 * The error contract (crun design-docs/error_handling.md): success returns >= 0 or
 * non-NULL and leaves *err untouched; failure returns -errnum or NULL and sets *err
 * exactly once (when the message cannot be allocated, with a preallocated out-of-memory
 * error). A caller propagates the status the callee returned (or cl_error_wrap's), or
 * handles and frees; @err may be NULL to discard the message.
 */
struct cl_error {
	int errnum;	   /* > 0 */
	char *msg;	   /* "what: why", lowercase, no trailing newline */
	bool preallocated; /* the out-of-memory error: never freed or changed */
};

/**
 * cl_error_set() - record a new error.
 * @err: where to store it; may be NULL to discard
 * @errnum: positive errno (0 becomes EIO)
 * Return: -errnum.
 */
int cl_error_set(struct cl_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * cl_error_wrap() - prepend context ("ctx: ") to an error already set.
 * Return: -errnum of the wrapped error (-EIO if none was set).
 */
int cl_error_wrap(struct cl_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * cl_error_errnum() - the status of a failure whose callee returned a pointer (NULL) and
 * set *err: -errnum of *err, or -EIO when @err is NULL (the caller discards errors).
 * Callees that return an int status are propagated with that status, never with this.
 */
int cl_error_errnum(struct cl_error **err);

/**
 * cl_error_move() - hand the error *@src (set by another thread or a callback) to @err
 * (or free it when @err is NULL); *@src becomes NULL.
 * Return: -errnum of the moved error (-EIO if *@src was NULL).
 */
int cl_error_move(struct cl_error **err, struct cl_error **src);

/** cl_error_free() - free an error and set *err = NULL; NULL-safe. */
void cl_error_free(struct cl_error **err);

/** cl_error_libmount() - convert a libmount return code (-errno or -MNT_ERR_*). */
int cl_error_libmount(struct cl_error **err, int rc, const char *what);
