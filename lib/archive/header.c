/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/archive/header.h"
#include "lib/core/cleanup.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/ossl-err.h"

CL_DEFINE_CLEANUP(EVP_MAC_CTX *, EVP_MAC_CTX_free)

static int header_sum(const unsigned char *buf, size_t len, unsigned char out[CL_CLX_SUM_LEN],
		      struct cl_error **err)
{
	const struct cl_crypto_algs *a = cl_crypto_algs_get(err);
	unsigned int n = 0;

	if (!a)
		return -ENOPKG;
	if (EVP_Digest(buf, len, out, &n, a->sha256, NULL) != 1 || n != CL_CLX_SUM_LEN)
		return cl_error_ossl(err, EIO, "header checksum");
	return 0;
}

static int header_mac(const unsigned char *buf, size_t len, const struct cl_secret *key,
		      unsigned char out[CL_CLX_MAC_LEN], struct cl_error **err)
{
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *ctx = NULL;
	const struct cl_crypto_algs *a = cl_crypto_algs_get(err);
	OSSL_PARAM params[2];
	size_t n = 0;

	if (!a)
		return -ENOPKG;
	if (key->len != CL_CLX_KEY_LEN)
		return cl_error_set(err, EINVAL, "header mac key of %zu bytes", key->len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_MAC_CTX_new(a->hmac);
	if (!ctx || EVP_MAC_init(ctx, key->data, key->len, params) != 1 ||
	    EVP_MAC_update(ctx, buf, len) != 1 ||
	    EVP_MAC_final(ctx, out, &n, CL_CLX_MAC_LEN) != 1 || n != CL_CLX_MAC_LEN)
		return cl_error_ossl(err, EIO, "header hmac-sha256");
	return 0;
}

int cl_clx_header_peek_len(const unsigned char *buf, size_t len, size_t *ret_len,
			   struct cl_error **err)
{
	uint32_t l;

	if (len < CL_CLX_PREFIX_LEN)
		return cl_error_set(err, EBADMSG, "header truncated (%zu bytes)", len);
	if (memcmp(buf, CL_CLX_MAGIC, CL_CLX_MAGIC_LEN))
		return cl_error_set(err, EBADMSG, "not a clx stream (bad magic)");
	l = cl_le32_get(buf + CL_CLX_OFF_LEN);
	if (l < CL_CLX_HDR_MIN || l > CL_CLX_HDR_MAX)
		return cl_error_set(err, EBADMSG, "header length %u out of range", l);
	*ret_len = l;
	return 0;
}

/* the envelope every version keeps: magic, L twice, end magic, checksum */
static int decode_envelope(const unsigned char *buf, size_t len, struct cl_error **err)
{
	unsigned char sum[CL_CLX_SUM_LEN];
	size_t l = 0;
	int r;

	r = cl_clx_header_peek_len(buf, len, &l, err);
	if (r < 0)
		return r;
	if (l != len)
		return cl_error_set(err, EBADMSG, "header length %zu, have %zu bytes", l, len);
	if (cl_le32_get(buf + len - CL_CLX_END_LEN) != l ||
	    memcmp(buf + len - CL_CLX_MAGIC_LEN, CL_CLX_END_MAGIC, CL_CLX_MAGIC_LEN))
		return cl_error_set(err, EBADMSG, "bad header end marker");
	r = header_sum(buf, len - CL_CLX_SUM_LEN - CL_CLX_END_LEN, sum, err);
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(sum, buf + len - CL_CLX_SUM_LEN - CL_CLX_END_LEN, CL_CLX_SUM_LEN))
		return cl_error_set(err, EBADMSG, "header checksum mismatch");
	return 0;
}

static int decode_fields(const unsigned char *buf, struct cl_clx_header *h, struct cl_error **err)
{
	h->version = cl_le16_get(buf + CL_CLX_OFF_VERSION);
	if (h->version != CL_CLX_VERSION)
		return cl_error_set(err, EPROTONOSUPPORT,
				    "unsupported format version %u (this is %u)", h->version,
				    CL_CLX_VERSION);
	h->copy = buf[CL_CLX_OFF_COPY];
	h->aead = buf[CL_CLX_OFF_AEAD];
	h->compression = buf[CL_CLX_OFF_COMPRESS];
	h->chunk_size = cl_le32_get(buf + CL_CLX_OFF_CHUNK);
	memcpy(h->nonce_prefix, buf + CL_CLX_OFF_NONCE, CL_CLX_NONCE_PREFIX);
	h->n_stanzas = cl_le16_get(buf + CL_CLX_OFF_NSTANZA);
	if (h->copy > CL_CLX_COPY_TRAILER)
		return cl_error_set(err, EBADMSG, "bad header copy number %u", h->copy);
	if (buf[11] || buf[18] || buf[19] || buf[34] || buf[35])
		return cl_error_set(err, EPROTONOSUPPORT, "reserved header field set");
	if (h->aead != CL_CLX_AEAD_AES256GCM)
		return cl_error_set(err, EPROTONOSUPPORT, "unknown aead %u", h->aead);
	if (h->compression > CL_CLX_COMPRESS_ZSTD)
		return cl_error_set(err, EPROTONOSUPPORT, "unknown compression %u", h->compression);
	if (h->chunk_size != CL_CLX_CHUNK_SIZE)
		return cl_error_set(err, EPROTONOSUPPORT, "unsupported chunk size %u",
				    h->chunk_size);
	if (h->n_stanzas < 1 || h->n_stanzas > CL_CLX_MAX_STANZAS)
		return cl_error_set(err, EBADMSG, "bad recipient count %u", h->n_stanzas);
	return 0;
}

static int decode_stanzas(const unsigned char *buf, size_t len, struct cl_clx_header *h,
			  struct cl_error **err)
{
	size_t off = CL_CLX_OFF_STANZAS, end = len - CL_CLX_TAIL_LEN;

	for (unsigned i = 0; i < h->n_stanzas; i++) {
		struct cl_clx_stanza *s = &h->stanzas[i];

		if (end - off < CL_CLX_STANZA_HDR)
			return cl_error_set(err, EBADMSG, "stanza %u overruns the header", i);
		s->type = buf[off];
		if (buf[off + 1])
			return cl_error_set(err, EPROTONOSUPPORT, "stanza %u: reserved byte set",
					    i);
		s->len = cl_le16_get(buf + off + 2);
		off += CL_CLX_STANZA_HDR;
		if (s->len == 0 || end - off < s->len)
			return cl_error_set(err, EBADMSG, "stanza %u overruns the header", i);
		s->body = buf + off;
		off += s->len;
	}
	if (off != end)
		return cl_error_set(err, EBADMSG, "%zu stray bytes after the stanzas", end - off);
	return 0;
}

int cl_clx_header_decode(const unsigned char *buf, size_t len, struct cl_clx_header *ret,
			 struct cl_error **err)
{
	struct cl_clx_header h = {0};
	int r;

	r = decode_envelope(buf, len, err);
	if (r < 0)
		return r;
	r = decode_fields(buf, &h, err);
	if (r < 0)
		return r;
	r = decode_stanzas(buf, len, &h, err);
	if (r < 0)
		return r;
	h.raw = buf;
	h.len = len;
	*ret = h;
	return 0;
}

size_t cl_clx_header_size(const struct cl_clx_header *h)
{
	size_t l = CL_CLX_OFF_STANZAS + CL_CLX_TAIL_LEN;

	for (unsigned i = 0; i < h->n_stanzas && i < CL_CLX_MAX_STANZAS; i++)
		l += CL_CLX_STANZA_HDR + h->stanzas[i].len;
	return l;
}

static void encode_fields(const struct cl_clx_header *h, unsigned char *out, size_t l)
{
	size_t off = CL_CLX_OFF_STANZAS;

	memset(out, 0, l);
	memcpy(out, CL_CLX_MAGIC, CL_CLX_MAGIC_LEN);
	cl_le16_put(out + CL_CLX_OFF_VERSION, CL_CLX_VERSION);
	out[CL_CLX_OFF_COPY] = h->copy;
	cl_le32_put(out + CL_CLX_OFF_LEN, (uint32_t)l);
	out[CL_CLX_OFF_AEAD] = h->aead;
	out[CL_CLX_OFF_COMPRESS] = h->compression;
	cl_le32_put(out + CL_CLX_OFF_CHUNK, h->chunk_size);
	memcpy(out + CL_CLX_OFF_NONCE, h->nonce_prefix, CL_CLX_NONCE_PREFIX);
	cl_le16_put(out + CL_CLX_OFF_NSTANZA, h->n_stanzas);
	for (unsigned i = 0; i < h->n_stanzas; i++) {
		const struct cl_clx_stanza *s = &h->stanzas[i];

		out[off] = s->type;
		cl_le16_put(out + off + 2, s->len);
		memcpy(out + off + CL_CLX_STANZA_HDR, s->body, s->len);
		off += CL_CLX_STANZA_HDR + s->len;
	}
	cl_le32_put(out + l - CL_CLX_END_LEN, (uint32_t)l);
	memcpy(out + l - CL_CLX_MAGIC_LEN, CL_CLX_END_MAGIC, CL_CLX_MAGIC_LEN);
}

int cl_clx_header_encode(const struct cl_clx_header *h, const struct cl_secret *mac_key,
			 unsigned char *out, size_t out_len, struct cl_error **err)
{
	size_t l;
	int r;

	if (h->n_stanzas < 1 || h->n_stanzas > CL_CLX_MAX_STANZAS)
		return cl_error_set(err, EINVAL, "%u recipients (1..%u allowed)", h->n_stanzas,
				    CL_CLX_MAX_STANZAS);
	for (unsigned i = 0; i < h->n_stanzas; i++)
		if (h->stanzas[i].len == 0)
			return cl_error_set(err, EINVAL, "empty recipient stanza %u", i);
	l = cl_clx_header_size(h);
	if (l > CL_CLX_HDR_MAX || l != out_len || h->copy > CL_CLX_COPY_TRAILER)
		return cl_error_set(err, EINVAL, "header of %zu bytes (max %u, buffer %zu)", l,
				    CL_CLX_HDR_MAX, out_len);
	encode_fields(h, out, l);
	r = header_mac(out, l - CL_CLX_TAIL_LEN, mac_key, out + l - CL_CLX_TAIL_LEN, err);
	if (r < 0)
		return r;
	return header_sum(out, l - CL_CLX_SUM_LEN - CL_CLX_END_LEN,
			  out + l - CL_CLX_SUM_LEN - CL_CLX_END_LEN, err);
}

int cl_clx_header_verify(const struct cl_clx_header *h, const struct cl_secret *mac_key,
			 struct cl_error **err)
{
	unsigned char mac[CL_CLX_MAC_LEN];
	size_t off = h->len - CL_CLX_TAIL_LEN;
	int r;

	r = header_mac(h->raw, off, mac_key, mac, err);
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(mac, h->raw + off, CL_CLX_MAC_LEN))
		return cl_error_set(err, EBADMSG, "header authentication failed");
	return 0;
}

bool cl_clx_header_same(const struct cl_clx_header *a, const struct cl_clx_header *b)
{
	size_t n = a->len - CL_CLX_TAIL_LEN;

	if (a->len != b->len)
		return false;
	return !memcmp(a->raw, b->raw, CL_CLX_OFF_COPY) &&
	       !memcmp(a->raw + CL_CLX_OFF_COPY + 1, b->raw + CL_CLX_OFF_COPY + 1,
		       n - CL_CLX_OFF_COPY - 1);
}
