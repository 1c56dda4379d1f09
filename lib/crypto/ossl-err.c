/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "lib/core/cleanup.h"
#include "lib/crypto/ossl-err.h"

int cl_error_ossl(struct cl_error **err, int errnum, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	unsigned long e = ERR_peek_last_error();
	char reason[256] = "";
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0)
		what = NULL;
	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (reason[0])
		return cl_error_set(err, errnum, "%s: %s", what ? what : "openssl", reason);
	return cl_error_set(err, errnum, "%s", what ? what : "openssl");
}
