/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/core/err.h"

/**
 * cl_error_ossl() - record a failed OpenSSL call as "<what>: <openssl reason>".
 * @err: where to store the error
 * @errnum: EIO for a call that did not return 1, EBADMSG for an AEAD tag failure
 *
 * The text comes from ERR_error_string_n() of the most recent queued error (if any);
 * the queue is then cleared with ERR_clear_error() so that a later failure does not
 * report a stale reason.
 *
 * Return: -@errnum.
 */
int cl_error_ossl(struct cl_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
