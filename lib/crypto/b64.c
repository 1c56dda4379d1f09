/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/core/cleanup.h"
#include "lib/crypto/b64.h"

char *cl_b64_encode(const void *buf, size_t len, bool url)
{
	char *out;
	size_t n;

	if (len > (size_t)1 << 30)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out)
		return NULL;
	n = (size_t)EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	out[n] = '\0';
	if (!url)
		return out;
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

static bool b64_char(char c, bool url)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return url ? (c == '-' || c == '_') : (c == '+' || c == '/');
}

/* the canonical standard-alphabet text with padding, or NULL if @s is not valid */
static char *b64_canonical(const char *s, size_t len, bool url, size_t *ret_pad)
{
	size_t body = len, pad, n;
	char *t;

	while (body > 0 && s[body - 1] == '=')
		body--;
	pad = len - body;
	if (pad > 2 || (!url && len % 4) || (url && pad && len % 4) || body % 4 == 1)
		return NULL;
	for (size_t i = 0; i < body; i++)
		if (!b64_char(s[i], url))
			return NULL;
	n = (body + 3) / 4 * 4;
	t = malloc(n + 1);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++)
		t[i] = i >= body ? '=' : !url ? s[i] : s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	t[n] = '\0';
	*ret_pad = n - body;
	return t;
}

int cl_b64_decode(const char *s, size_t len, bool url, unsigned char **ret, size_t *ret_len,
		  const char *what, struct cl_error **err)
{
	_cleanup_free_ char *t = NULL;
	_cleanup_free_ unsigned char *out = NULL;
	size_t pad = 0, tlen;
	int n;

	if (len > (size_t)1 << 30)
		return cl_error_set(err, EFBIG, "%s: too long", what);
	t = b64_canonical(s, len, url, &pad);
	if (!t)
		return cl_error_set(err, EINVAL, "%s: not %s", what, url ? "base64url" : "base64");
	tlen = strlen(t);
	out = malloc(tlen / 4 * 3 + 1);
	if (!out)
		return cl_error_set(err, ENOMEM, "%s", what);
	n = tlen ? EVP_DecodeBlock(out, (const unsigned char *)t, (int)tlen) : 0;
	if (n < 0 || (size_t)n < pad)
		return cl_error_set(err, EINVAL, "%s: not %s", what, url ? "base64url" : "base64");
	*ret_len = (size_t)n - pad;
	out[*ret_len] = 0;
	*ret = TAKE_PTR(out);
	return 0;
}
