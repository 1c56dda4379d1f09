/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/archive/chunk.h"
#include "lib/archive/clx.h"
#include "lib/archive/header.h"
#include "lib/archive/stream.h"
#include "lib/core/cleanup.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/kdf.h"
#include "lib/crypto/ossl-err.h"
#include "lib/crypto/wrap.h"

struct cl_clx_reader {
	int fd;
	bool file;	   /* a regular file: positional reads, trailer fallback */
	uint64_t size;	   /* file: its size */
	uint64_t pos;	   /* input offset of the next record */
	uint64_t data_end; /* file: where records must stop */
	size_t hdr_len;
	unsigned char *front; /* the accepted copy (owned) */
	struct cl_clx_header hdr;
	bool from_trailer;
	const EVP_CIPHER *cipher;
	struct cl_secret *payload_key; /* only until the workers' contexts are keyed */
	unsigned jobs;
	struct cl_secret *mac_key; /* to authenticate the trailer copy at the end */
	struct cl_pool *pool;
	uint64_t next_index;
	bool final_submitted, final_seen, done, failed;
	struct cl_error *pending; /* a stream error met while reading ahead */
	struct cl_pool_job *held; /* returned by the last read, released on the next */
	unsigned warnings;
	uint64_t out_bytes;
	cl_clx_progress_fn progress;
	void *progress_ctx;
};

static int open_init(void *arg, void **wctx, struct cl_error **err)
{
	struct cl_clx_reader *r = arg;

	return cl_stream_ctx_new(r->cipher, r->payload_key->data, 0, wctx, err);
}

static int open_job(struct cl_clx_reader *r, EVP_CIPHER_CTX *ctx, struct cl_pool_job *job)
{
	unsigned char *data = job->buf + CL_STREAM_DATA_OFF;

	if (!job->src) { /* a file: read the record body and tag in place */
		int ret = cl_stream_pread_all(job->fd, data, job->len + CL_CLX_TAG_LEN, job->off);

		if (ret < 0)
			return ret;
		job->src = data;
	}
	return cl_clx_chunk_open(ctx, r->hdr.nonce_prefix, job->index, job->rec, job->src, data);
}

static int open_work(void *arg, void *wctx, struct cl_pool_job *job)
{
	return cl_stream_work_done(open_job(arg, wctx, job));
}

static const struct cl_pool_ops open_ops = {
    .init = open_init,
    .work = open_work,
    .fini = cl_stream_ctx_free,
};

/* try every stanza with every identity; unknown stanza types are skipped */
static int header_unwrap(const struct cl_clx_header *h, struct cl_identity *const *ids, size_t n,
			 struct cl_secret **ret_dk, struct cl_error **err)
{
	for (unsigned i = 0; i < h->n_stanzas; i++) {
		const struct cl_clx_stanza *s = &h->stanzas[i];
		enum cl_key_type t = s->type == CL_CLX_STANZA_X25519 ? CL_KEY_X25519
				     : s->type == CL_CLX_STANZA_RSA  ? CL_KEY_RSA
								     : 0;

		for (size_t j = 0; t && j < n; j++) {
			int r;

			if (ids[j]->type != t)
				continue;
			r = cl_wrap_key_open(ids[j], t, s->body, s->len, ret_dk, err);
			if (r == 0)
				return 0;
			if (r != -ENOKEY)
				return r;
			cl_error_free(err);
		}
	}
	if (n == 1)
		return cl_error_set(err, ENOKEY, "not encrypted to identity '%s'", ids[0]->name);
	return cl_error_set(err, ENOKEY, "not encrypted to any of the %zu identities", n);
}

/* decode one copy, unwrap the data key, check the MAC, derive the payload key */
static int header_accept(struct cl_clx_reader *r, const unsigned char *buf, size_t len,
			 uint8_t copy, struct cl_identity *const *ids, size_t n,
			 struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *dk = NULL, *mac_key = NULL;
	struct cl_clx_header h;
	int ret;

	ret = cl_clx_header_decode(buf, len, &h, err);
	if (ret < 0)
		return ret;
	if (h.copy != copy)
		return cl_error_set(err, EBADMSG, "copy number %u where %u belongs", h.copy, copy);
	ret = header_unwrap(&h, ids, n, &dk, err);
	if (ret < 0)
		return ret;
	mac_key = cl_kdf_hkdf_secret(dk, h.nonce_prefix, CL_CLX_NONCE_PREFIX, CL_CLX_INFO_MAC,
				     CL_CLX_KEY_LEN, err);
	if (!mac_key)
		return -EIO;
	ret = cl_clx_header_verify(&h, mac_key, err);
	if (ret < 0)
		return ret;
	r->payload_key = cl_kdf_hkdf_secret(dk, h.nonce_prefix, CL_CLX_NONCE_PREFIX,
					    CL_CLX_INFO_PAYLOAD, CL_CLX_KEY_LEN, err);
	if (!r->payload_key)
		return -EIO;
	r->mac_key = TAKE_PTR(mac_key);
	r->hdr = h;
	r->hdr_len = len;
	return 0;
}

static int read_exact(int fd, void *buf, size_t len, size_t *ret_got, struct cl_error **err)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (unsigned char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, errno, "read input");
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret_got = got;
	return 0;
}

/* a pipe: only the front copy can be used */
static int header_from_stream(struct cl_clx_reader *r, struct cl_identity *const *ids, size_t n,
			      struct cl_error **err)
{
	unsigned char prefix[CL_CLX_PREFIX_LEN];
	size_t got = 0, len = 0;
	int ret;

	ret = read_exact(r->fd, prefix, sizeof(prefix), &got, err);
	if (ret < 0)
		return ret;
	if (got == 0)
		return cl_error_set(err, EBADMSG, "empty input");
	ret = cl_clx_header_peek_len(prefix, got, &len, err);
	if (ret == 0) {
		r->front = malloc(len);
		if (!r->front)
			return cl_error_set(err, ENOMEM, "header");
		memcpy(r->front, prefix, sizeof(prefix));
		ret = read_exact(r->fd, r->front + sizeof(prefix), len - sizeof(prefix), &got, err);
		if (ret < 0)
			return ret;
		if (got != len - sizeof(prefix))
			ret = cl_error_set(err, EBADMSG, "header truncated");
		else
			ret = header_accept(r, r->front, len, CL_CLX_COPY_FRONT, ids, n, err);
	}
	if (ret == -EBADMSG) {
		_cleanup_free_ char *why = strdup((*err)->msg ? (*err)->msg : "?");

		return cl_error_set(err, EBADMSG,
				    "front header copy: %s (only a regular file "
				    "input can fall back to the trailer copy)",
				    why ? why : "?");
	}
	return ret;
}

/* read one copy of @len bytes at @off into the owned buffer and accept it */
static int header_read_at(struct cl_clx_reader *r, uint64_t off, size_t len, uint8_t copy,
			  struct cl_identity *const *ids, size_t n, struct cl_error **err)
{
	int ret;

	free(r->front);
	r->front = malloc(len);
	if (!r->front)
		return cl_error_set(err, ENOMEM, "header");
	ret = cl_stream_pread_all(r->fd, r->front, len, off);
	if (ret == -ENODATA)
		return cl_error_set(err, EBADMSG, "header truncated");
	if (ret < 0)
		return cl_error_set(err, -ret, "read input");
	return header_accept(r, r->front, len, copy, ids, n, err);
}

/* find the trailer copy from the end of the file */
static int header_trailer(struct cl_clx_reader *r, uint64_t base, struct cl_identity *const *ids,
			  size_t n, struct cl_error **err)
{
	unsigned char end[CL_CLX_END_LEN];
	size_t len;
	int ret;

	if (r->size - base < 2 * (uint64_t)CL_CLX_HDR_MIN)
		return cl_error_set(err, EBADMSG, "input too short for a trailer copy");
	ret = cl_stream_pread_all(r->fd, end, sizeof(end), r->size - sizeof(end));
	if (ret < 0)
		return cl_error_set(err, ret == -ENODATA ? EBADMSG : -ret, "read trailer copy");
	len = cl_le32_get(end);
	if (memcmp(end + 4, CL_CLX_END_MAGIC, CL_CLX_MAGIC_LEN) || len < CL_CLX_HDR_MIN ||
	    len > CL_CLX_HDR_MAX || 2 * (uint64_t)len > r->size - base)
		return cl_error_set(err, EBADMSG, "no trailer copy at the end of the input");
	return header_read_at(r, r->size - len, len, CL_CLX_COPY_TRAILER, ids, n, err);
}

static int header_from_file(struct cl_clx_reader *r, uint64_t base, struct cl_identity *const *ids,
			    size_t n, struct cl_error **err)
{
	unsigned char prefix[CL_CLX_PREFIX_LEN];
	_cleanup_free_ char *why = NULL;
	size_t len = 0;
	int ret;

	ret = cl_stream_pread_all(r->fd, prefix, sizeof(prefix), base);
	if (ret < 0 && ret != -ENODATA)
		return cl_error_set(err, -ret, "read input");
	ret = ret < 0 ? cl_error_set(err, EBADMSG, "header truncated")
		      : cl_clx_header_peek_len(prefix, sizeof(prefix), &len, err);
	if (ret == 0 && len > r->size - base)
		ret = cl_error_set(err, EBADMSG, "header truncated");
	if (ret == 0)
		ret = header_read_at(r, base, len, CL_CLX_COPY_FRONT, ids, n, err);
	if (ret != -EBADMSG) {
		r->pos = base + len;
		r->data_end = r->size;
		return ret;
	}
	/* the front copy is damaged (or forged): the trailer copy alone suffices */
	why = (*err)->msg ? strdup((*err)->msg) : NULL;
	cl_error_free(err);
	ret = header_trailer(r, base, ids, n, err);
	if (ret == -EBADMSG)
		return cl_error_wrap(err, "front header copy: %s; trailer copy", why ? why : "?");
	if (ret < 0)
		return ret;
	r->from_trailer = true;
	r->warnings |= CL_CLX_WARN_FRONT_DAMAGED;
	r->pos = base + r->hdr_len;
	r->data_end = r->size - r->hdr_len;
	return 0;
}

static int reader_open_input(struct cl_clx_reader *r, struct cl_identity *const *ids, size_t n,
			     struct cl_error **err)
{
	struct stat st;
	off_t base;

	if (fstat(r->fd, &st) < 0)
		return cl_error_set(err, errno, "stat input");
	base = S_ISREG(st.st_mode) ? lseek(r->fd, 0, SEEK_CUR) : -1;
	if (base < 0 || base >= st.st_size) {
		if (S_ISFIFO(st.st_mode))
			(void)fcntl(r->fd, F_SETPIPE_SZ, CL_CLX_CHUNK_SIZE);
		return header_from_stream(r, ids, n, err);
	}
	r->file = true;
	r->size = (uint64_t)st.st_size;
	return header_from_file(r, (uint64_t)base, ids, n, err);
}

int cl_clx_reader_new(int in_fd, struct cl_identity *const *ids, size_t n,
		      const struct cl_clx_opts *opts, struct cl_clx_reader **ret,
		      struct cl_error **err)
{
	_cleanup_(cl_clx_reader_freep) struct cl_clx_reader *r = calloc(1, sizeof(*r));
	const struct cl_clx_opts o = opts ? *opts : (struct cl_clx_opts){0};
	const struct cl_crypto_algs *a = cl_crypto_algs_get(err);
	unsigned jobs = o.jobs ? o.jobs : cl_pool_default_threads();
	int rc;

	if (!a)
		return -ENOPKG;
	if (!r)
		return cl_error_set(err, ENOMEM, "reader");
	if (n < 1)
		return cl_error_set(err, EINVAL, "no identity");
	r->fd = in_fd;
	r->cipher = a->aes256gcm;
	r->progress = o.progress;
	r->progress_ctx = o.progress_ctx;
	r->jobs = jobs;
	rc = reader_open_input(r, ids, n, err);
	if (rc < 0)
		return rc;
	*ret = TAKE_PTR(r);
	return 0;
}

/* the workers start with the first read, so that a caller can still switch mount
 * namespaces (single-threaded) between cl_clx_reader_new() and it */
static int reader_start(struct cl_clx_reader *r, struct cl_error **err)
{
	int rc = cl_pool_new(r->jobs, cl_stream_depth(r->jobs), CL_STREAM_BUF_SIZE, CL_POOL_WIPE,
			     &open_ops, r, &r->pool, err);

	cl_secret_free(r->payload_key); /* the contexts hold the expanded key now */
	r->payload_key = NULL;
	return rc;
}

uint8_t cl_clx_reader_compression(const struct cl_clx_reader *r)
{
	return r->hdr.compression;
}

unsigned cl_clx_reader_warnings(const struct cl_clx_reader *r)
{
	return r->warnings;
}

/* the next record header (the worker reads the body); errors go to r->pending */
static int record_parse_file(struct cl_clx_reader *r, struct cl_pool_job *job,
			     struct cl_error **err)
{
	uint64_t left = r->data_end > r->pos ? r->data_end - r->pos : 0;
	unsigned char hdr[CL_CLX_REC_HDR];
	uint32_t rec, len;
	int ret;

	if (left < CL_CLX_REC_HDR)
		return cl_error_set(err, EBADMSG,
				    "truncated: no final chunk (input ends at "
				    "chunk %llu)",
				    (unsigned long long)job->index);
	ret = cl_stream_pread_all(r->fd, hdr, sizeof(hdr), r->pos);
	if (ret < 0)
		return cl_error_set(err, ret == -ENODATA ? EBADMSG : -ret, "read chunk %llu",
				    (unsigned long long)job->index);
	rec = cl_le32_get(hdr);
	len = rec & CL_CLX_REC_LEN_MASK;
	if (cl_clx_chunk_rec_check(rec, job->index) < 0)
		return cl_error_set(err, EBADMSG, "chunk %llu at offset %llu: bad record header",
				    (unsigned long long)job->index, (unsigned long long)r->pos);
	if (left - CL_CLX_REC_HDR < (uint64_t)len + CL_CLX_TAG_LEN)
		return cl_error_set(err, EBADMSG, "truncated: input ends inside chunk %llu",
				    (unsigned long long)job->index);
	job->rec = rec;
	job->src = NULL; /* the worker preads it */
	job->fd = r->fd;
	job->off = r->pos + CL_CLX_REC_HDR;
	r->pos += CL_CLX_REC_HDR + len + CL_CLX_TAG_LEN;
	return 0;
}

static int record_parse_stream(struct cl_clx_reader *r, struct cl_pool_job *job,
			       struct cl_error **err)
{
	unsigned char hdr[CL_CLX_REC_HDR];
	size_t got = 0, len;
	uint32_t rec;
	int ret;

	ret = read_exact(r->fd, hdr, sizeof(hdr), &got, err);
	if (ret < 0)
		return ret;
	if (got < sizeof(hdr))
		return cl_error_set(err, EBADMSG,
				    "truncated: no final chunk (input ends at "
				    "chunk %llu)",
				    (unsigned long long)job->index);
	rec = cl_le32_get(hdr);
	if (cl_clx_chunk_rec_check(rec, job->index) < 0)
		return cl_error_set(err, EBADMSG, "chunk %llu at offset %llu: bad record header",
				    (unsigned long long)job->index, (unsigned long long)r->pos);
	len = (rec & CL_CLX_REC_LEN_MASK) + CL_CLX_TAG_LEN;
	ret = read_exact(r->fd, job->buf + CL_STREAM_DATA_OFF, len, &got, err);
	if (ret < 0)
		return ret;
	if (got < len)
		return cl_error_set(err, EBADMSG, "truncated: input ends inside chunk %llu",
				    (unsigned long long)job->index);
	job->rec = rec;
	job->src = job->buf + CL_STREAM_DATA_OFF; /* opened in place */
	r->pos += CL_CLX_REC_HDR + len;
	return 0;
}

/* read ahead: submit records until the ring is full, the final one, or an error */
static void reader_fill(struct cl_clx_reader *r)
{
	while (!r->final_submitted && !r->pending) {
		struct cl_pool_job *job = cl_pool_job_get(r->pool);
		int ret;

		if (!job)
			return;
		job->index = r->next_index;
		ret = r->file ? record_parse_file(r, job, &r->pending)
			      : record_parse_stream(r, job, &r->pending);
		if (ret < 0) {
			cl_pool_job_cancel(r->pool, job);
			return;
		}
		job->len = job->rec & CL_CLX_REC_LEN_MASK;
		job->final = job->rec & CL_CLX_REC_FINAL;
		r->final_submitted = job->final;
		r->next_index++;
		cl_pool_job_submit(r->pool, job);
	}
}

/* after the final chunk: exactly one trailer copy, then the end of the input */
static int reader_check_end(struct cl_clx_reader *r, struct cl_error **err)
{
	_cleanup_free_ unsigned char *buf = NULL;
	struct cl_clx_header h;
	size_t got = 0;
	int ret;

	if (r->from_trailer) { /* the trailer was already authenticated and used */
		if (r->pos != r->data_end)
			return cl_error_set(err, EBADMSG, "unexpected data after the final chunk");
		return 0;
	}
	buf = malloc(r->hdr_len + 1);
	if (!buf)
		return cl_error_set(err, ENOMEM, "trailer");
	if (r->file) {
		got = r->size - r->pos;
		if (got == r->hdr_len && cl_stream_pread_all(r->fd, buf, got, r->pos) < 0)
			return cl_error_set(err, EIO, "read trailer copy");
	} else {
		ret = read_exact(r->fd, buf, r->hdr_len + 1, &got, err);
		if (ret < 0)
			return ret;
	}
	if (got < r->hdr_len)
		return cl_error_set(err, EBADMSG,
				    "truncated: trailer header copy incomplete "
				    "(%zu of %zu bytes)",
				    got, r->hdr_len);
	if (got > r->hdr_len)
		return cl_error_set(err, EBADMSG, "unexpected data after the trailer");
	/* the data already verified: a damaged trailer copy only earns a warning */
	if (cl_clx_header_decode(buf, got, &h, NULL) < 0 || h.copy != CL_CLX_COPY_TRAILER ||
	    !cl_clx_header_same(&h, &r->hdr) || cl_clx_header_verify(&h, r->mac_key, NULL) < 0)
		r->warnings |= CL_CLX_WARN_TRAILER_DAMAGED;
	return 0;
}

static void reader_release(struct cl_clx_reader *r)
{
	struct cl_pool_job *job = r->held;

	if (!job)
		return;
	r->held = NULL;
	cl_pool_job_put(r->pool, job);
}

static int job_error(const struct cl_pool_job *job, struct cl_error **err)
{
	unsigned long long i = job->index;

	if (job->result == -EBADMSG)
		return cl_error_set(err, EBADMSG,
				    "chunk %llu: authentication failed (corrupted, "
				    "truncated or reordered data)",
				    i);
	if (job->result == -ENODATA)
		return cl_error_set(err, EIO, "input file shrank while being read");
	return cl_error_set(err, -job->result, "open chunk %llu", i);
}

/* the next verified job, or 0 at the verified end, or -errno */
static int reader_next(struct cl_clx_reader *r, struct cl_pool_job **ret, struct cl_error **err)
{
	struct cl_pool_job *job;
	struct cl_error *e;
	int rc;

	reader_fill(r);
	job = cl_pool_job_wait(r->pool);
	if (job) {
		r->held = job;
		if (job->result < 0)
			return job_error(job, err);
		*ret = job;
		return 1;
	}
	if (r->final_seen) {
		rc = reader_check_end(r, err);
		r->done = rc == 0;
		return rc;
	}
	/* nothing in flight before the final chunk: read-ahead met an error, report it now */
	e = TAKE_PTR(r->pending);
	if (!e)
		return cl_error_set(err, EIO, "reader stalled");
	rc = -e->errnum;
	if (err)
		*err = e;
	else
		cl_error_free(&e);
	return rc;
}

ssize_t cl_clx_reader_read(struct cl_clx_reader *r, const void **ret_buf, struct cl_error **err)
{
	for (;;) {
		struct cl_pool_job *job = NULL;
		int rc;

		reader_release(r);
		if (r->failed)
			return cl_error_set(err, EIO, "read after a failure");
		if (r->done)
			return 0;
		if (!r->pool) {
			rc = reader_start(r, err);
			if (rc < 0) {
				r->failed = true;
				return rc;
			}
		}
		rc = reader_next(r, &job, err);
		if (rc <= 0) {
			r->failed = rc < 0;
			return rc;
		}
		r->final_seen = job->final;
		r->out_bytes += job->len;
		if (r->progress)
			r->progress(r->progress_ctx, r->out_bytes, 0);
		if (job->len == 0)
			continue; /* the empty final chunk of an empty payload */
		*ret_buf = job->buf + CL_STREAM_DATA_OFF;
		return (ssize_t)job->len;
	}
}

void cl_clx_reader_free(struct cl_clx_reader *r)
{
	if (!r)
		return;
	if (r->pool)
		cl_pool_free(r->pool);
	cl_secret_free(r->payload_key);
	cl_secret_free(r->mac_key);
	cl_error_free(&r->pending);
	free(r->front);
	free(r);
}
