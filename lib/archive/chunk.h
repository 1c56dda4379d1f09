/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/archive/format.h"

/*
 * One record (format.h): u32 r ‖ ciphertext ‖ tag, AES-256-GCM with
 * nonce = prefix ‖ BE32(index) and AAD = LE64(index) ‖ LE32(r). These run on pool
 * threads: they take a context already keyed with the payload key and return plain
 * -errno (no struct cl_error, whose text the caller composes).
 */

/**
 * cl_clx_chunk_seal() - encrypt one chunk into a record.
 * @ctx: AES-256-GCM encryption context keyed with the payload key (IV not set)
 * @prefix: the stream's nonce prefix
 * @index: chunk index (< 2^32)
 * @final: whether this is the last record
 * @in: @len plaintext bytes (may alias @out + CL_CLX_REC_HDR)
 * @len: 0..CL_CLX_CHUNK_SIZE
 * @out: CL_CLX_REC_HDR + @len + CL_CLX_TAG_LEN bytes
 * Return: 0, -EINVAL for bad arguments, -EIO if OpenSSL failed.
 */
int cl_clx_chunk_seal(EVP_CIPHER_CTX *ctx, const unsigned char prefix[CL_CLX_NONCE_PREFIX],
		      uint64_t index, bool final, const unsigned char *in, size_t len,
		      unsigned char *out);

/**
 * cl_clx_chunk_open() - authenticate and decrypt one record's body.
 * @ctx: AES-256-GCM decryption context keyed with the payload key
 * @prefix: the stream's nonce prefix
 * @index: chunk index the reader expects here
 * @rec: the record header as read (length and final flag)
 * @ct: the ciphertext, (@rec & CL_CLX_REC_LEN_MASK) bytes, followed by the tag
 * @out: receives the plaintext (may equal @ct); its content is undefined on failure
 * Return: 0, -EBADMSG if the tag does not verify, -EINVAL, -EIO.
 */
int cl_clx_chunk_open(EVP_CIPHER_CTX *ctx, const unsigned char prefix[CL_CLX_NONCE_PREFIX],
		      uint64_t index, uint32_t rec, const unsigned char *ct, unsigned char *out);

/**
 * cl_clx_chunk_rec_check() - validate a record header read from the stream.
 * @rec: the record header
 * @index: its index
 * Return: 0, or -EBADMSG (length above the chunk size, a short non-final record, or an
 * empty final record that is not record 0).
 */
int cl_clx_chunk_rec_check(uint32_t rec, uint64_t index);
