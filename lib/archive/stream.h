/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Internal to writer.c and reader.c. */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "lib/archive/format.h"
#include "lib/archive/pool.h"
#include "lib/core/err.h"
#include "lib/crypto/ossl-err.h"

/*
 * A job buffer holds one record with its payload at a 64-byte aligned offset (the AES
 * code's loads and stores stay within cache lines): [pad 60][u32 r][payload][tag].
 */
#define CL_STREAM_DATA_OFF 64
#define CL_STREAM_REC_OFF (CL_STREAM_DATA_OFF - CL_CLX_REC_HDR)
#define CL_STREAM_BUF_SIZE (CL_STREAM_DATA_OFF + CL_CLX_CHUNK_SIZE + CL_CLX_TAG_LEN)

/* chunks in flight: enough to keep every worker fed between the caller's batched
 * wake-ups (pool.c), capped whatever the core count */
static inline unsigned cl_stream_depth(unsigned jobs)
{
	unsigned d = 4 * jobs;

	return d > CL_POOL_MAX_DEPTH ? CL_POOL_MAX_DEPTH : d;
}

/*
 * Read exactly @len bytes at @off. Regular-file input is read by the workers
 * themselves, each straight into its chunk buffer (parallel, one copy, and unlike a
 * mapping no SIGBUS if the file shrinks). Return: 0, -errno, or -ENODATA if the file
 * ended early.
 */
static inline int cl_stream_pread_all(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		buf += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* a worker's context: @cipher keyed with @key for encryption (@enc) or decryption */
static inline int cl_stream_ctx_new(const EVP_CIPHER *cipher, const unsigned char *key, int enc,
				    void **wctx, struct cl_error **err)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return cl_error_ossl(err, ENOMEM, "cipher context");
	*wctx = ctx;
	if (EVP_CipherInit_ex2(ctx, cipher, key, NULL, enc, NULL) != 1)
		return cl_error_ossl(err, EIO, "aes-256-gcm init");
	return 0;
}

static inline void cl_stream_ctx_free(void *wctx)
{
	EVP_CIPHER_CTX_free(wctx); /* cleanses the expanded key */
}

/* a worker's result: on failure the reason is in it; keep the thread's error queue empty */
static inline int cl_stream_work_done(int r)
{
	if (r < 0)
		ERR_clear_error();
	return r;
}
