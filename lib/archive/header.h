/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/archive/format.h"
#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/*
 * Header encode/decode/verify (format.h). Pure: no I/O, no allocation, no global
 * state besides the fetched digest algorithms, so it is the fuzz target.
 */

struct cl_clx_stanza {
	uint8_t type;
	uint16_t len;
	const unsigned char *body; /* borrowed: the caller's buffer, or the decoded bytes */
};

struct cl_clx_header {
	uint16_t version;
	uint8_t copy;
	uint8_t aead;
	uint8_t compression;
	uint32_t chunk_size;
	unsigned char nonce_prefix[CL_CLX_NONCE_PREFIX];
	uint16_t n_stanzas;
	struct cl_clx_stanza stanzas[CL_CLX_MAX_STANZAS];
	/* set by decode: the encoded copy (borrowed) */
	const unsigned char *raw;
	size_t len;
};

/**
 * cl_clx_header_peek_len() - read L from the first CL_CLX_PREFIX_LEN bytes of a copy.
 * @buf: at least CL_CLX_PREFIX_LEN bytes
 * @len: bytes available in @buf
 * @ret_len: L, checked against CL_CLX_HDR_MIN..CL_CLX_HDR_MAX
 * @err: error out
 * Return: 0, or -EBADMSG (bad magic, L out of range, too short).
 */
int cl_clx_header_peek_len(const unsigned char *buf, size_t len, size_t *ret_len,
			   struct cl_error **err);

/**
 * cl_clx_header_decode() - parse and check one header copy.
 * @buf: the copy, exactly @len bytes
 * @len: its length
 * @ret: the parsed header; its pointers borrow @buf
 * @err: error out
 *
 * Checks magic, both length fields, the end magic and the SHA-256 checksum first (a
 * failure there means the copy is damaged), then the version, the algorithm fields,
 * the reserved fields and the stanza layout. The MAC needs the data key:
 * cl_clx_header_verify().
 *
 * Return: 0, -EBADMSG (damaged), or -EPROTONOSUPPORT (an intact copy this
 * implementation cannot read: other version, algorithm or chunk size).
 */
int cl_clx_header_decode(const unsigned char *buf, size_t len, struct cl_clx_header *ret,
			 struct cl_error **err);

/**
 * cl_clx_header_size() - encoded length L of @h.
 * Return: L (may exceed CL_CLX_HDR_MAX; encode refuses that).
 */
size_t cl_clx_header_size(const struct cl_clx_header *h);

/**
 * cl_clx_header_encode() - write copy @h->copy of @h, MAC'ed with @mac_key.
 * @h: the header (its raw/len fields are ignored)
 * @mac_key: CL_CLX_KEY_LEN bytes
 * @out: cl_clx_header_size(@h) bytes
 * @out_len: size of @out
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_clx_header_encode(const struct cl_clx_header *h, const struct cl_secret *mac_key,
			 unsigned char *out, size_t out_len, struct cl_error **err);

/**
 * cl_clx_header_verify() - check the HMAC of a decoded copy in constant time.
 * @h: a header from cl_clx_header_decode()
 * @mac_key: derived from the unwrapped data key
 * @err: error out
 * Return: 0, or -EBADMSG if the MAC does not match.
 */
int cl_clx_header_verify(const struct cl_clx_header *h, const struct cl_secret *mac_key,
			 struct cl_error **err);

/**
 * cl_clx_header_same() - whether two decoded copies carry the same content (every
 * byte before the MAC except the copy byte).
 */
bool cl_clx_header_same(const struct cl_clx_header *a, const struct cl_clx_header *b);
