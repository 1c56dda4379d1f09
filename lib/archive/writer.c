/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "lib/archive/chunk.h"
#include "lib/archive/clx.h"
#include "lib/archive/header.h"
#include "lib/archive/stream.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/kdf.h"
#include "lib/crypto/ossl-err.h"
#include "lib/crypto/wrap.h"

struct cl_clx_writer {
	int out_fd;
	struct cl_pool *pool;
	struct cl_pool_job *cur; /* being filled; submitted once more data proves it non-final */
	uint64_t next_index;
	unsigned char nonce_prefix[CL_CLX_NONCE_PREFIX];
	const EVP_CIPHER *cipher;
	struct cl_secret *payload_key; /* only until the workers' contexts are keyed */
	unsigned char *trailer;
	size_t hdr_len;
	uint64_t done, total;
	cl_clx_progress_fn progress;
	void *progress_ctx;
	bool failed;
};

static int seal_init(void *arg, void **wctx, struct cl_error **err)
{
	struct cl_clx_writer *w = arg;

	return cl_stream_ctx_new(w->cipher, w->payload_key->data, 1, wctx, err);
}

static int seal_job(struct cl_clx_writer *w, EVP_CIPHER_CTX *ctx, struct cl_pool_job *job)
{
	unsigned char *data = job->buf + CL_STREAM_DATA_OFF;

	if (!job->src) { /* a file: read it in place (src stays NULL if that fails) */
		int r = cl_stream_pread_all(job->fd, data, job->len, job->off);

		if (r < 0)
			return r;
		job->src = data;
	}
	return cl_clx_chunk_seal(ctx, w->nonce_prefix, job->index, job->final, job->src, job->len,
				 job->buf + CL_STREAM_REC_OFF);
}

static int seal_work(void *arg, void *wctx, struct cl_pool_job *job)
{
	return cl_stream_work_done(seal_job(arg, wctx, job));
}

static const struct cl_pool_ops seal_ops = {
    .init = seal_init,
    .work = seal_work,
    .fini = cl_stream_ctx_free,
};

/* wrap the data key for everyone and encode both header copies */
static int writer_headers(struct cl_clx_writer *w, struct cl_recipient *const *rcpts, size_t n,
			  const struct cl_secret *dk, uint8_t compression,
			  unsigned char **ret_front, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *mac_key = NULL;
	_cleanup_free_ unsigned char *bodies = malloc(n * CL_WRAP_MAX_LEN);
	_cleanup_free_ unsigned char *front = NULL;
	struct cl_clx_header h = {
	    .aead = CL_CLX_AEAD_AES256GCM,
	    .compression = compression,
	    .chunk_size = CL_CLX_CHUNK_SIZE,
	    .n_stanzas = (uint16_t)n,
	};

	if (!bodies)
		return cl_error_set(err, ENOMEM, "header");
	memcpy(h.nonce_prefix, w->nonce_prefix, sizeof(h.nonce_prefix));
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;

		if (cl_wrap_key_seal(rcpts[i], dk, bodies + i * CL_WRAP_MAX_LEN, &len, err) < 0)
			return -EIO;
		h.stanzas[i].type =
		    rcpts[i]->type == CL_KEY_X25519 ? CL_CLX_STANZA_X25519 : CL_CLX_STANZA_RSA;
		h.stanzas[i].len = (uint16_t)len;
		h.stanzas[i].body = bodies + i * CL_WRAP_MAX_LEN;
	}
	mac_key = cl_kdf_hkdf_secret(dk, w->nonce_prefix, CL_CLX_NONCE_PREFIX, CL_CLX_INFO_MAC,
				     CL_CLX_KEY_LEN, err);
	if (!mac_key)
		return -EIO;
	w->hdr_len = cl_clx_header_size(&h);
	front = malloc(w->hdr_len);
	w->trailer = malloc(w->hdr_len);
	if (!front || !w->trailer)
		return cl_error_set(err, ENOMEM, "header");
	if (cl_clx_header_encode(&h, mac_key, front, w->hdr_len, err) < 0)
		return -EINVAL;
	h.copy = CL_CLX_COPY_TRAILER;
	if (cl_clx_header_encode(&h, mac_key, w->trailer, w->hdr_len, err) < 0)
		return -EINVAL;
	*ret_front = TAKE_PTR(front);
	return 0;
}

static int writer_keys(struct cl_clx_writer *w, struct cl_recipient *const *rcpts, size_t n,
		       uint8_t compression, unsigned char **ret_front, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *dk = cl_secret_random(CL_CLX_KEY_LEN, err);

	if (!dk)
		return -EIO;
	if (getrandom(w->nonce_prefix, sizeof(w->nonce_prefix), 0) != sizeof(w->nonce_prefix))
		return cl_error_set(err, errno ? errno : EIO, "getrandom");
	w->payload_key = cl_kdf_hkdf_secret(dk, w->nonce_prefix, CL_CLX_NONCE_PREFIX,
					    CL_CLX_INFO_PAYLOAD, CL_CLX_KEY_LEN, err);
	if (!w->payload_key)
		return -EIO;
	return writer_headers(w, rcpts, n, dk, compression, ret_front, err);
}

int cl_clx_writer_new(int out_fd, struct cl_recipient *const *rcpts, size_t n,
		      const struct cl_clx_opts *opts, struct cl_clx_writer **ret,
		      struct cl_error **err)
{
	_cleanup_(cl_clx_writer_freep) struct cl_clx_writer *w = calloc(1, sizeof(*w));
	const struct cl_clx_opts o = opts ? *opts : (struct cl_clx_opts){0};
	const struct cl_crypto_algs *a = cl_crypto_algs_get(err);
	_cleanup_free_ unsigned char *front = NULL;
	unsigned jobs = o.jobs ? o.jobs : cl_pool_default_threads();
	int r;

	if (!a)
		return -ENOPKG;
	if (!w)
		return cl_error_set(err, ENOMEM, "writer");
	if (n < 1 || n > CL_CLX_MAX_STANZAS)
		return cl_error_set(err, EINVAL, "%zu recipients (1..%u allowed)", n,
				    CL_CLX_MAX_STANZAS);
	w->out_fd = out_fd;
	w->cipher = a->aes256gcm;
	w->progress = o.progress;
	w->progress_ctx = o.progress_ctx;
	r = writer_keys(w, rcpts, n, o.compression, &front, err);
	if (r < 0)
		return r;
	/* no CL_POOL_WIPE: sealed buffers hold ciphertext (unsealed ones are wiped anyway) */
	r = cl_pool_new(jobs, cl_stream_depth(jobs), CL_STREAM_BUF_SIZE, 0, &seal_ops, w, &w->pool,
			err);
	cl_secret_free(w->payload_key); /* the contexts hold the expanded key now */
	w->payload_key = NULL;
	if (r < 0)
		return r;
	r = cl_write_all(out_fd, front, w->hdr_len);
	if (r < 0)
		return cl_error_set(err, -r, "write header");
	*ret = TAKE_PTR(w);
	return 0;
}

/* collect the oldest sealed chunk and write its record */
static int writer_drain_one(struct cl_clx_writer *w, struct cl_error **err)
{
	struct cl_pool_job *job = cl_pool_job_wait(w->pool);
	int r;

	if (!job)
		return 0;
	if (job->result < 0) {
		cl_pool_job_put(w->pool, job);
		if (job->result == -ENODATA)
			return cl_error_set(err, EIO, "input file shrank while being read");
		if (job->src != job->buf + CL_STREAM_DATA_OFF)
			return cl_error_set(err, -job->result, "read input");
		return cl_error_set(err, -job->result, "seal chunk %llu",
				    (unsigned long long)job->index);
	}
	r = cl_write_all(w->out_fd, job->buf + CL_STREAM_REC_OFF,
			 CL_CLX_REC_HDR + job->len + CL_CLX_TAG_LEN);
	w->done += job->len;
	cl_pool_job_put(w->pool, job);
	if (r < 0)
		return cl_error_set(err, -r, "write chunk %llu", (unsigned long long)job->index);
	if (w->progress)
		w->progress(w->progress_ctx, w->done, w->total);
	return 0;
}

static int writer_acquire(struct cl_clx_writer *w, struct cl_pool_job **ret, struct cl_error **err)
{
	struct cl_pool_job *job;

	while (!(job = cl_pool_job_get(w->pool))) {
		int r = writer_drain_one(w, err);

		if (r < 0)
			return r;
	}
	if (w->next_index >= CL_CLX_MAX_CHUNKS) {
		cl_pool_job_cancel(w->pool, job);
		return cl_error_set(err, EFBIG, "payload exceeds %llu chunks", CL_CLX_MAX_CHUNKS);
	}
	job->index = w->next_index++;
	job->src = job->buf + CL_STREAM_DATA_OFF;
	*ret = job;
	return 0;
}

/* cur is full and more data follows: it is not the final chunk */
static int writer_advance(struct cl_clx_writer *w, struct cl_error **err)
{
	if (w->cur)
		cl_pool_job_submit(w->pool, w->cur);
	w->cur = NULL;
	return writer_acquire(w, &w->cur, err);
}

static int writer_fail(struct cl_clx_writer *w, int r)
{
	if (r < 0)
		w->failed = true;
	return r;
}

int cl_clx_writer_write(struct cl_clx_writer *w, const void *buf, size_t len, struct cl_error **err)
{
	const unsigned char *p = buf;

	if (w->failed)
		return cl_error_set(err, EIO, "write after a failure");
	while (len > 0) {
		struct cl_pool_job *c = w->cur;
		size_t take;

		if (!c || c->len == CL_CLX_CHUNK_SIZE) {
			int r = writer_fail(w, writer_advance(w, err));

			if (r < 0)
				return r;
			continue;
		}
		if (!c->src) { /* a file's tail, not read yet: read it now */
			int r =
			    cl_stream_pread_all(c->fd, c->buf + CL_STREAM_DATA_OFF, c->len, c->off);

			if (r < 0)
				return writer_fail(
				    w, cl_error_set(err, r == -ENODATA ? EIO : -r, "read input"));
			c->src = c->buf + CL_STREAM_DATA_OFF;
		}
		take = CL_CLX_CHUNK_SIZE - c->len;
		take = take < len ? take : len;
		memcpy(c->buf + CL_STREAM_DATA_OFF + c->len, p, take);
		c->len += take;
		p += take;
		len -= take;
	}
	return 0;
}

static int writer_copy_file(struct cl_clx_writer *w, int fd, off_t start, off_t size,
			    struct cl_error **err)
{
	uint64_t off = (uint64_t)start, left = (uint64_t)(size - start);

	w->total = w->done + left;
	while (left > 0) {
		size_t take = left < CL_CLX_CHUNK_SIZE ? (size_t)left : CL_CLX_CHUNK_SIZE;
		int r = writer_fail(w, writer_advance(w, err));

		if (r < 0)
			return r;
		w->cur->src = NULL; /* the worker reads it */
		w->cur->fd = fd;
		w->cur->off = off;
		w->cur->len = take;
		off += take;
		left -= take;
	}
	(void)lseek(fd, size, SEEK_SET);
	return 0;
}

static int writer_copy_read(struct cl_clx_writer *w, int fd, struct cl_error **err)
{
	for (;;) {
		struct cl_pool_job *c = w->cur, *next = NULL;
		ssize_t n;
		int r;

		if (c && c->len < CL_CLX_CHUNK_SIZE) {
			n = read(fd, c->buf + CL_STREAM_DATA_OFF + c->len,
				 CL_CLX_CHUNK_SIZE - c->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return writer_fail(w, cl_error_set(err, errno, "read input"));
			if (n == 0)
				return 0;
			c->len += (size_t)n;
			continue;
		}
		/* cur is full (or absent): only more input proves it is not the final chunk */
		r = writer_fail(w, writer_acquire(w, &next, err));
		if (r < 0)
			return r;
		do
			n = read(fd, next->buf + CL_STREAM_DATA_OFF, CL_CLX_CHUNK_SIZE);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			cl_pool_job_cancel(w->pool, next);
			w->next_index--;
			if (n < 0)
				return writer_fail(w, cl_error_set(err, errno, "read input"));
			return 0;
		}
		next->len = (size_t)n;
		if (c)
			cl_pool_job_submit(w->pool, c);
		w->cur = next;
	}
}

int cl_clx_writer_copy_fd(struct cl_clx_writer *w, int fd, struct cl_error **err)
{
	struct stat st;
	off_t start;

	if (w->failed)
		return cl_error_set(err, EIO, "write after a failure");
	if (fstat(fd, &st) < 0)
		return cl_error_set(err, errno, "stat input");
	start = S_ISREG(st.st_mode) ? lseek(fd, 0, SEEK_CUR) : -1;
	if (start >= 0 && start < st.st_size && (!w->cur || w->cur->len == CL_CLX_CHUNK_SIZE))
		return writer_copy_file(w, fd, start, st.st_size, err);
	if (S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, CL_CLX_CHUNK_SIZE); /* fewer, larger reads */
	return writer_copy_read(w, fd, err);
}

int cl_clx_writer_finish(struct cl_clx_writer *w, struct cl_error **err)
{
	int r;

	if (w->failed)
		return cl_error_set(err, EIO, "finish after a failure");
	if (!w->cur) {
		r = writer_fail(w, writer_acquire(w, &w->cur, err));
		if (r < 0)
			return r;
	}
	w->cur->final = true;
	cl_pool_job_submit(w->pool, w->cur);
	w->cur = NULL;
	while (cl_pool_inflight(w->pool) > 0) {
		r = writer_fail(w, writer_drain_one(w, err));
		if (r < 0)
			return r;
	}
	r = cl_write_all(w->out_fd, w->trailer, w->hdr_len);
	if (r < 0)
		return writer_fail(w, cl_error_set(err, -r, "write trailer"));
	w->failed = true; /* finished: no more writes */
	return 0;
}

void cl_clx_writer_free(struct cl_clx_writer *w)
{
	if (!w)
		return;
	cl_pool_free(w->pool);
	cl_secret_free(w->payload_key);
	free(w->trailer);
	free(w);
}
