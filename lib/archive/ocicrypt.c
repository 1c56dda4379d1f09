/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ocicrypt layer options and annotations (ocicrypt.h); json-c for the JSON. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/archive/ocicrypt.h"
#include "lib/core/cleanup.h"
#include "lib/crypto/b64.h"
#include "lib/crypto/jwe.h"

CL_DEFINE_CLEANUP(json_object *, json_object_put)

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void cl_occ_digest_str(const unsigned char sha[32], char out[CL_OCC_DIGEST_LEN + 1])
{
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", sha[i]);
}

bool cl_occ_digest_valid(const char *s)
{
	if (strncmp(s, "sha256:", 7) || strlen(s) != CL_OCC_DIGEST_LEN)
		return false;
	for (const char *p = s + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* json-c keeps string copies: overwrite the one that held key material before freeing */
static void wipe_string(json_object *o)
{
	if (o && json_object_is_type(o, json_type_string))
		cl_wipe((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
}

static json_object *b64_string(const void *buf, size_t len)
{
	_cleanup_free_ char *s = cl_b64_encode(buf, len, false);
	json_object *o = s ? json_object_new_string(s) : NULL;

	if (s)
		cl_wipe(s, strlen(s));
	return o;
}

int cl_occ_priv_encode(const struct cl_occ_priv *p, struct cl_secret **ret, size_t *ret_len,
		       struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *opts = json_object_new_object(), *key = b64_string(p->key->data, p->key->len);
	struct cl_secret *s;
	const char *txt;
	size_t n;

	if (!o || !opts || !key) {
		json_object_put(opts);
		json_object_put(key);
		return cl_error_set(err, ENOMEM, "privopts");
	}
	json_object_object_add(o, "symkey", key);
	json_object_object_add(o, "digest", json_object_new_string(p->digest));
	json_object_object_add(opts, "nonce", b64_string(p->nonce, sizeof(p->nonce)));
	json_object_object_add(o, "cipheroptions", opts);
	txt = json_object_to_json_string_ext(o, JSON_FLAGS);
	n = txt ? strlen(txt) : 0;
	s = txt ? cl_secret_new(n, err) : NULL;
	if (s)
		memcpy(s->data, txt, n);
	if (txt)
		cl_wipe((char *)txt, n);
	wipe_string(key);
	if (!s)
		return txt ? -ENOMEM : cl_error_set(err, ENOMEM, "privopts");
	*ret = s;
	*ret_len = n;
	return 0;
}

/* @k of @o as bytes, exactly @want long (secret: wiped copies) */
static int b64_member(json_object *o, const char *k, unsigned char *out, size_t want,
		      struct cl_error **err)
{
	json_object *v = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	size_t n = 0;
	int r;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return cl_error_set(err, EINVAL, "privopts: no '%s'", k);
	r = cl_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), false,
			  &b, &n, k, err);
	if (r == 0 && n != want)
		r = cl_error_set(err, EINVAL, "privopts: '%s' of %zu bytes (want %zu)", k, n, want);
	if (r == 0)
		memcpy(out, b, n);
	if (b)
		cl_wipe(b, n);
	return r;
}

static int priv_fill(json_object *o, struct cl_occ_priv *p, struct cl_error **err)
{
	json_object *v = NULL, *opts = NULL;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return cl_error_set(err, EINVAL, "privopts: not a JSON object");
	p->key = cl_secret_new(32, err);
	if (!p->key)
		return -ENOMEM;
	r = b64_member(o, "symkey", p->key->data, 32, err);
	json_object_object_get_ex(o, "symkey", &v);
	wipe_string(v);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "cipheroptions", &opts) ||
	    !json_object_is_type(opts, json_type_object))
		return cl_error_set(err, EINVAL, "privopts: no 'cipheroptions'");
	r = b64_member(opts, "nonce", p->nonce, sizeof(p->nonce), err);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "digest", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !cl_occ_digest_valid(json_object_get_string(v)))
		return cl_error_set(err, EINVAL, "privopts: 'digest' is not a sha256 digest");
	memcpy(p->digest, json_object_get_string(v), CL_OCC_DIGEST_LEN + 1);
	return 0;
}

int cl_occ_priv_decode(const unsigned char *json, size_t len, struct cl_occ_priv *p,
		       struct cl_error **err)
{
	json_tokener *tok = json_tokener_new_ex(8);
	json_object *o;
	int r;

	if (!tok)
		return cl_error_set(err, ENOMEM, "privopts");
	o = json_tokener_parse_ex(tok, (const char *)json, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		json_tokener_free(tok);
		json_object_put(o);
		return cl_error_set(err, EINVAL, "privopts: not JSON");
	}
	json_tokener_free(tok);
	r = priv_fill(o, p, err);
	json_object_put(o);
	if (r < 0)
		cl_occ_priv_clear(p);
	return r;
}

void cl_occ_priv_clear(struct cl_occ_priv *p)
{
	cl_secret_free(p->key);
	p->key = NULL;
}

int cl_occ_pub_annotation(const unsigned char hmac[32], char **ret, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	const char *txt;

	if (!o)
		return cl_error_set(err, ENOMEM, "pubopts");
	json_object_object_add(o, "cipher", json_object_new_string(CL_OCC_CIPHER));
	json_object_object_add(o, "hmac", b64_string(hmac, 32));
	json_object_object_add(o, "cipheroptions", json_object_new_object());
	txt = json_object_to_json_string_ext(o, JSON_FLAGS);
	*ret = txt ? cl_b64_encode(txt, strlen(txt), false) : NULL;
	return *ret ? 0 : cl_error_set(err, ENOMEM, "pubopts");
}

static int pub_fill(json_object *o, unsigned char hmac[32], struct cl_error **err)
{
	json_object *v = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	size_t n = 0;

	if (!json_object_is_type(o, json_type_object))
		return cl_error_set(err, EINVAL, "pubopts: not a JSON object");
	if (!json_object_object_get_ex(o, "cipher", &v) ||
	    strcmp(json_object_get_string(v) ?: "", CL_OCC_CIPHER))
		return cl_error_set(err, ENOTSUP, "pubopts: cipher '%s' (only %s)",
				    v ? json_object_get_string(v) : "", CL_OCC_CIPHER);
	if (json_object_object_get_ex(o, "cipheroptions", &v) && v &&
	    (!json_object_is_type(v, json_type_object) || json_object_object_length(v) > 0))
		return cl_error_set(err, EINVAL, "pubopts: public cipheroptions are not accepted");
	if (!json_object_object_get_ex(o, "hmac", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    cl_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), false,
			  &b, &n, "pubopts hmac", err) < 0 ||
	    n != 32)
		return cl_error_set(err, EINVAL, "pubopts: no 32-byte 'hmac'");
	memcpy(hmac, b, 32);
	return 0;
}

int cl_occ_pub_parse(const char *b64, unsigned char hmac[32], struct cl_error **err)
{
	_cleanup_free_ unsigned char *txt = NULL;
	_cleanup_(json_object_putp) json_object *o = NULL;
	struct cl_error *e = NULL;
	size_t n = 0;

	if (strlen(b64) > CL_OCC_MAX_ANNOTATION ||
	    cl_b64_decode(b64, strlen(b64), false, &txt, &n, "pubopts", err) < 0)
		return cl_error_set(err, EINVAL, "pubopts: not base64");
	o = json_tokener_parse((const char *)txt);
	if (!o || strlen((const char *)txt) != n) {
		cl_error_free(&e);
		return cl_error_set(err, EINVAL, "pubopts: not JSON");
	}
	return pub_fill(o, hmac, err);
}

int cl_occ_keys_annotation(const struct cl_occ_priv *p, EVP_PKEY *const *rcpts, size_t n,
			   char **ret, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *pt = NULL;
	_cleanup_free_ char *jwe = NULL;
	size_t len = 0;
	int r;

	r = cl_occ_priv_encode(p, &pt, &len, err);
	if (r == 0)
		r = cl_jwe_encrypt(pt->data, len, rcpts, n, &jwe, err);
	if (r < 0)
		return r;
	*ret = cl_b64_encode(jwe, strlen(jwe), false);
	return *ret ? 0 : cl_error_set(err, ENOMEM, "keys annotation");
}

static int unwrap_one(const char *b64, size_t len, EVP_PKEY *const *ids, size_t nids,
		      struct cl_occ_priv *p, struct cl_error **err)
{
	_cleanup_free_ unsigned char *jwe = NULL;
	_cleanup_secret_ struct cl_secret *pt = NULL;
	size_t n = 0, ptlen = 0;
	int r;

	r = cl_b64_decode(b64, len, false, &jwe, &n, "keys.jwe", err);
	if (r == 0)
		r = cl_jwe_decrypt((const char *)jwe, n, ids, nids, &pt, &ptlen, err);
	if (r == 0)
		r = cl_occ_priv_decode(pt->data, ptlen, p, err);
	return r;
}

int cl_occ_keys_unwrap(const char *annotation, EVP_PKEY *const *ids, size_t nids,
		       struct cl_occ_priv *p, struct cl_error **err)
{
	const char *s = annotation;
	int r = -ENOKEY, last = 0;

	if (strlen(annotation) > CL_OCC_MAX_ANNOTATION)
		return cl_error_set(err, EFBIG, "keys.jwe annotation too large");
	for (size_t i = 0; *s && i < CL_JWE_MAX_RECIPIENTS; i++) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct cl_error *e = NULL;

		r = unwrap_one(s, len, ids, nids, p, &e);
		if (r == 0)
			return 0;
		/* a malformed JWE or options after the key opened are errors of their own */
		if (r != -ENOKEY) {
			*err = e;
			return r;
		}
		cl_error_free(&e);
		last = r;
		s = comma ? comma + 1 : s + len;
	}
	(void)last;
	return cl_error_set(err, ENOKEY, "layer key: not wrapped for the given key (%s)",
			    "no JWE recipient opens with it");
}
