/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/core/err.h"

/*
 * Base64 (RFC 4648) through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock: the standard
 * alphabet with padding (what Go's encoding/json makes of []byte, and the OCI
 * annotations), and the URL alphabet without padding (JOSE, RFC 7515 §2).
 */

/**
 * cl_b64_encode() - encode @len bytes at @buf.
 * @url: base64url without padding instead of standard base64 with padding
 * Return: a malloc'ed NUL-terminated string, or NULL (ENOMEM).
 */
char *cl_b64_encode(const void *buf, size_t len, bool url);

/**
 * cl_b64_decode() - strict decode of @len characters at @s.
 * @url: base64url, padding optional; else standard base64, padding required
 * @ret: malloc'ed bytes (with one extra NUL byte after them), @ret_len bytes
 * @what: names the input in errors
 * @err: EINVAL for a character outside the alphabet, bad padding or length
 * Return: 0 or -errno.
 */
int cl_b64_decode(const char *s, size_t len, bool url, unsigned char **ret, size_t *ret_len,
		  const char *what, struct cl_error **err);
