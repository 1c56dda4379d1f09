/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The .clx bulk format, version 1 (docs/clx-format.md is the full specification; this
 * file is its C mirror). All integers are little-endian unless marked BE.
 *
 *   stream   = header(copy 0) ‖ record(0) ‖ … ‖ record(n-1, final) ‖ header(copy 1)
 *
 * Header copy, L bytes (the two copies differ only in the copy byte, MAC and checksum):
 *
 *   off  size  field
 *   0    8     magic 89 43 4C 58 0D 0A 1A 0A ("\x89CLX\r\n\x1a\n")
 *   8    2     version = 1
 *   10   1     copy: 0 = front, 1 = trailer
 *   11   1     reserved, 0
 *   12   4     L, the length of this copy in bytes (CL_CLX_HDR_MIN..CL_CLX_HDR_MAX)
 *   16   1     aead: 1 = AES-256-GCM
 *   17   1     compression of the payload: 0 = none, 1 = zstd
 *   18   2     reserved, 0
 *   20   4     chunk size = 1048576
 *   24   8     nonce prefix (random per stream)
 *   32   2     n, number of recipient stanzas (1..64)
 *   34   2     reserved, 0
 *   36   …     n stanzas: type (1), reserved (1) = 0, body length (2), body
 *   L-76 32    HMAC-SHA256(mac key, bytes [0, L-76))
 *   L-44 32    SHA-256(bytes [0, L-44))          (damage detection, not authentication)
 *   L-12 4     L again                           (lets a reader find the trailer from EOF)
 *   L-8  8     end magic "CLXHEND\n"
 *
 * Stanza types: 1 = X25519, body = ephemeral public (32) ‖ wrapped data key (32) ‖ GCM
 * tag (16); 2 = RSA-OAEP-SHA256, body = OAEP ciphertext (modulus length). Readers skip
 * types they do not know.
 *
 * Record i (0 ≤ i < 2^32): u32 r = len | 0x80000000 if final ‖ ciphertext (len) ‖ tag (16).
 * A non-final record carries exactly chunk-size bytes; the final one 0..chunk-size, and
 * 0 only when it is record 0 (empty payload). nonce = prefix (8) ‖ BE32(i);
 * AAD = LE64(i) ‖ LE32(r).
 *
 * Keys: data key DK = 32 random bytes per stream;
 *   payload key = HKDF-SHA256(DK, salt = nonce prefix, info = CL_CLX_INFO_PAYLOAD, 32)
 *   mac key     = HKDF-SHA256(DK, salt = nonce prefix, info = CL_CLX_INFO_MAC, 32)
 *   X25519 wrap = HKDF-SHA256(X25519(e, R), salt = E ‖ R, info = CL_WRAP_X25519_INFO, 32),
 *                 AES-256-GCM, nonce = 12 zero bytes, no AAD, plaintext DK
 *   RSA wrap    = RSA-OAEP, SHA-256 and MGF1-SHA-256, label = CL_WRAP_RSA_LABEL, plaintext DK
 *                 (RSA keys of CL_RSA_MIN_BITS..CL_RSA_MAX_BITS bits)
 */

#include <stdint.h>

#define CL_CLX_MAGIC                                                                               \
	"\x89"                                                                                     \
	"CLX\r\n\x1a\n"
#define CL_CLX_END_MAGIC "CLXHEND\n"
#define CL_CLX_MAGIC_LEN 8
#define CL_CLX_VERSION 1

#define CL_CLX_COPY_FRONT 0
#define CL_CLX_COPY_TRAILER 1

#define CL_CLX_AEAD_AES256GCM 1
#define CL_CLX_COMPRESS_NONE 0
#define CL_CLX_COMPRESS_ZSTD 1

/* field offsets of the fixed part */
#define CL_CLX_OFF_VERSION 8
#define CL_CLX_OFF_COPY 10
#define CL_CLX_OFF_LEN 12
#define CL_CLX_OFF_AEAD 16
#define CL_CLX_OFF_COMPRESS 17
#define CL_CLX_OFF_CHUNK 20
#define CL_CLX_OFF_NONCE 24
#define CL_CLX_OFF_NSTANZA 32
#define CL_CLX_OFF_STANZAS 36

#define CL_CLX_PREFIX_LEN 16 /* magic, version, copy, L: enough to learn L */
#define CL_CLX_MAC_LEN 32
#define CL_CLX_SUM_LEN 32
#define CL_CLX_END_LEN 12 /* L ‖ end magic */
#define CL_CLX_TAIL_LEN (CL_CLX_MAC_LEN + CL_CLX_SUM_LEN + CL_CLX_END_LEN)

#define CL_CLX_MAX_STANZAS 64
#define CL_CLX_STANZA_HDR 4
#define CL_CLX_HDR_MIN (CL_CLX_OFF_STANZAS + CL_CLX_STANZA_HDR + CL_CLX_TAIL_LEN)
#define CL_CLX_HDR_MAX (128U * 1024)

/* stanza bodies and their KDF info / OAEP label are defined in lib/crypto/wrap.h */
#define CL_CLX_STANZA_X25519 1
#define CL_CLX_STANZA_RSA 2

#define CL_CLX_CHUNK_SIZE (1U << 20)
#define CL_CLX_NONCE_PREFIX 8
#define CL_CLX_NONCE_LEN 12
#define CL_CLX_TAG_LEN 16
#define CL_CLX_REC_HDR 4
#define CL_CLX_REC_FINAL 0x80000000U
#define CL_CLX_REC_LEN_MASK 0x7fffffffU
#define CL_CLX_AAD_LEN 12
#define CL_CLX_MAX_CHUNKS (1ULL << 32)
/* one record on the wire: header, the largest chunk, tag */
#define CL_CLX_REC_MAX (CL_CLX_REC_HDR + CL_CLX_CHUNK_SIZE + CL_CLX_TAG_LEN)

#define CL_CLX_KEY_LEN 32
#define CL_CLX_INFO_PAYLOAD "cryptlayer clx v1 payload key"
#define CL_CLX_INFO_MAC "cryptlayer clx v1 header mac key"

static inline uint32_t cl_le32_get(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint16_t cl_le16_get(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void cl_le16_put(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void cl_le32_put(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void cl_le64_put(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void cl_be32_put(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * (3 - i)));
}
