/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/core/err.h"
#include "lib/crypto/recipient.h"

/*
 * The .clx stream engine (format.h, docs/clx-format.md): a writer that seals a
 * payload for recipients and a reader that yields verified plaintext, both running
 * the AES-256-GCM work on the pool's threads with at most CL_POOL_MAX_DEPTH chunks
 * in flight. Neither prints; progress goes to an optional callback on the caller's
 * thread.
 */

typedef void (*cl_clx_progress_fn)(void *ctx, uint64_t done, uint64_t total);

struct cl_clx_opts {
	unsigned jobs;	     /* worker threads; 0 = the CPUs this process may use */
	uint8_t compression; /* writer: CL_CLX_COMPRESS_*, recorded only (caller compresses) */
	cl_clx_progress_fn progress; /* payload bytes done, total (0 = unknown) */
	void *progress_ctx;
};

/* reader warnings: the stream decrypted, but one header copy was unusable */
#define CL_CLX_WARN_FRONT_DAMAGED (1U << 0)
#define CL_CLX_WARN_TRAILER_DAMAGED (1U << 1)

struct cl_clx_writer;
struct cl_clx_reader;

/**
 * cl_clx_writer_new() - start a stream to @out_fd for @n recipients.
 * @out_fd: where records go (any fd: pipe, file, socket)
 * @rcpts: the recipients, 1..CL_CLX_MAX_STANZAS
 * @n: their number
 * @opts: options, may be NULL
 * @ret: the writer
 * @err: error out
 *
 * Draws the data key and nonce prefix, wraps the key for every recipient, writes the
 * front header copy and starts the workers. The data key and the MAC key are wiped
 * before this returns; the payload key then lives only in the workers' contexts.
 *
 * Return: 0 or -errno.
 */
int cl_clx_writer_new(int out_fd, struct cl_recipient *const *rcpts, size_t n,
		      const struct cl_clx_opts *opts, struct cl_clx_writer **ret,
		      struct cl_error **err);

/**
 * cl_clx_writer_write() - append @len payload bytes (copied into chunk buffers).
 * Return: 0 or -errno.
 */
int cl_clx_writer_write(struct cl_clx_writer *w, const void *buf, size_t len,
			struct cl_error **err);

/**
 * cl_clx_writer_copy_fd() - append everything @fd yields until EOF.
 * @w: the writer
 * @fd: the input; the workers pread(2) a regular file straight into their chunk
 *      buffers, anything else is read(2) into them here. @fd must stay open until
 *      cl_clx_writer_finish() returns; a file that shrinks meanwhile is an error.
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_clx_writer_copy_fd(struct cl_clx_writer *w, int fd, struct cl_error **err);

/**
 * cl_clx_writer_finish() - seal the final chunk, flush all, write the trailer copy.
 * Return: 0 or -errno.
 */
int cl_clx_writer_finish(struct cl_clx_writer *w, struct cl_error **err);

/** cl_clx_writer_free() - stop the workers and free; NULL-safe. */
void cl_clx_writer_free(struct cl_clx_writer *w);

/**
 * cl_clx_reader_new() - read and authenticate the header of the stream on @in_fd.
 * @in_fd: the input, open until the reader is freed. For a regular file the workers
 *         pread(2) the records, and if its front header copy is damaged the trailer
 *         copy is used. Any other fd can use only the front copy.
 * @ids: identities to try, @n of them
 * @n: their number
 * @opts: options (compression is ignored), may be NULL
 * @ret: the reader
 * @err: error out: -ENOKEY if no stanza is for any identity, -EBADMSG if the header
 *       is damaged or forged, -EPROTONOSUPPORT for an unsupported version
 *
 * No thread is started here: the workers start with the first cl_clx_reader_read(),
 * so the caller may still setns() in between (import checks the header, then makes
 * the layer). The payload key waits in a struct cl_secret until then.
 *
 * Return: 0 or -errno.
 */
int cl_clx_reader_new(int in_fd, struct cl_identity *const *ids, size_t n,
		      const struct cl_clx_opts *opts, struct cl_clx_reader **ret,
		      struct cl_error **err);

/** cl_clx_reader_compression() - the payload's CL_CLX_COMPRESS_* from the header. */
uint8_t cl_clx_reader_compression(const struct cl_clx_reader *r);

/**
 * cl_clx_reader_read() - the next chunk of verified plaintext.
 * @r: the reader
 * @ret_buf: points at the plaintext, valid until the next call
 * @err: error out
 *
 * Only chunks whose tag verified are ever returned, in order. A failure (a bad tag,
 * truncation, reordering, data after the trailer) is reported when the stream reaches
 * it: the chunks before it were already returned.
 *
 * Return: bytes (> 0), 0 once the final chunk and the end of the stream verified,
 * or -errno.
 */
ssize_t cl_clx_reader_read(struct cl_clx_reader *r, const void **ret_buf, struct cl_error **err);

/** cl_clx_reader_warnings() - CL_CLX_WARN_* collected so far. */
unsigned cl_clx_reader_warnings(const struct cl_clx_reader *r);

/** cl_clx_reader_free() - stop the workers and free; NULL-safe. */
void cl_clx_reader_free(struct cl_clx_reader *r);

CL_DEFINE_CLEANUP(struct cl_clx_writer *, cl_clx_writer_free)
CL_DEFINE_CLEANUP(struct cl_clx_reader *, cl_clx_reader_free)
