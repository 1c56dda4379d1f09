/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Streaming gzip (RFC 1952) through zlib, with the zstd codec's interface: push
 * compression into a sink, pull decompression from a source in bounded blocks.
 * Decompression accepts concatenated members (what parallel gzip tools write).
 *
 * With threads > 1, compression is parallel the pigz way: the input is cut into 1 MiB
 * blocks, each deflated on the ordered pool (lib/archive/pool.c) into a gzip member of
 * its own, and the members are written in order. RFC 1952 readers (gzip, Go's
 * compress/gzip and pgzip as containers/image uses them, zlib with inflateReset) read
 * the concatenation as one stream; each block starts a fresh dictionary, which costs
 * well under 1 % of the ratio at 1 MiB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "lib/archive/pool.h"
#include "lib/archive/tar/internal.h"

#define GZ_BUF (256U * 1024)
#define PGZ_BLOCK (1U << 20)
#define PGZ_OUT (PGZ_BLOCK + PGZ_BLOCK / 8 + 1024) /* > deflateBound(1 MiB) + header */

struct cl_gzip {
	bool compress;
	z_stream s;
	bool inited;
	cl_sink_fn sink;
	void *ctx;
	unsigned char *out;
	bool in_eof;
	bool member_done; /* decoder: the last member ended (no partial member pending) */
	bool any;	  /* decoder: at least one byte of input seen */
	/* parallel encoder */
	struct cl_pool *pool;
	struct cl_pool_job *cur;
	int level;
	bool emitted; /* at least one member submitted */
};

static int pgz_init(void *arg, void **wctx, struct cl_error **err)
{
	struct cl_gzip *z = arg;
	z_stream *s = calloc(1, sizeof(*s));

	if (!s || deflateInit2(s, z->level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(s);
		return cl_error_set(err, ENOMEM, "gzip worker");
	}
	*wctx = s;
	return 0;
}

/* one block → one complete gzip member after the input, its length in job->rec */
static int pgz_work(void *arg, void *wctx, struct cl_pool_job *job)
{
	z_stream *s = wctx;

	(void)arg;
	if (deflateReset(s) != Z_OK)
		return -EIO;
	s->next_in = job->buf;
	s->avail_in = (uInt)job->len;
	s->next_out = job->buf + PGZ_BLOCK;
	s->avail_out = PGZ_OUT;
	if (deflate(s, Z_FINISH) != Z_STREAM_END)
		return -EIO;
	job->rec = (uint32_t)(PGZ_OUT - s->avail_out);
	return 0;
}

static void pgz_fini(void *wctx)
{
	if (wctx)
		deflateEnd(wctx);
	free(wctx);
}

static const struct cl_pool_ops pgz_ops = {.init = pgz_init, .work = pgz_work, .fini = pgz_fini};

/* the oldest member, once deflated, to the sink */
static int pgz_drain_one(struct cl_gzip *z, struct cl_error **err)
{
	struct cl_pool_job *job = cl_pool_job_wait(z->pool);
	int r;

	if (!job)
		return 0;
	r = job->result < 0 ? cl_error_set(err, EIO, "gzip: compress block %llu",
					   (unsigned long long)job->index)
			    : z->sink(z->ctx, job->buf + PGZ_BLOCK, job->rec, err);
	cl_pool_job_put(z->pool, job);
	return r;
}

static int pgz_submit(struct cl_gzip *z, struct cl_error **err)
{
	struct cl_pool_job *job;
	int r;

	if (z->cur) {
		cl_pool_job_submit(z->pool, z->cur);
		z->emitted = true;
		z->cur = NULL;
	}
	while (!(job = cl_pool_job_get(z->pool)))
		if ((r = pgz_drain_one(z, err)) < 0)
			return r;
	job->len = 0;
	z->cur = job;
	return 0;
}

static int pgz_write(struct cl_gzip *z, const unsigned char *p, size_t len, struct cl_error **err)
{
	while (len > 0) {
		size_t n;
		int r;

		if ((!z->cur || z->cur->len == PGZ_BLOCK) && (r = pgz_submit(z, err)) < 0)
			return r;
		n = PGZ_BLOCK - z->cur->len < len ? PGZ_BLOCK - z->cur->len : len;
		memcpy(z->cur->buf + z->cur->len, p, n);
		z->cur->len += n;
		p += n;
		len -= n;
	}
	return 0;
}

static int pgz_finish(struct cl_gzip *z, struct cl_error **err)
{
	int r = 0;

	/* an empty input still makes one (empty) member: a valid gzip file */
	if ((z->cur && (z->cur->len > 0 || !z->emitted)) || (!z->cur && !z->emitted)) {
		if (!z->cur && (r = pgz_submit(z, err)) < 0)
			return r;
		cl_pool_job_submit(z->pool, z->cur);
		z->emitted = true;
	} else if (z->cur) {
		cl_pool_job_cancel(z->pool, z->cur);
	}
	z->cur = NULL;
	while (r == 0 && cl_pool_inflight(z->pool) > 0)
		r = pgz_drain_one(z, err);
	return r;
}

static int gz_fail(int zr, struct cl_gzip *z, const char *what, struct cl_error **err)
{
	return cl_error_set(err, zr == Z_MEM_ERROR ? ENOMEM : EBADMSG, "gzip %s: %s", what,
			    z->s.msg ? z->s.msg : zError(zr));
}

int cl_tar_gzip_new(bool compress, int level, unsigned threads, cl_sink_fn sink, void *ctx,
		    struct cl_gzip **ret, struct cl_error **err)
{
	struct cl_gzip *z = calloc(1, sizeof(*z));
	int zr;

	if (z && compress && threads > 1) {
		z->compress = true;
		z->sink = sink;
		z->ctx = ctx;
		z->level = level;
		zr = cl_pool_new(threads,
				 CL_POOL_MAX_DEPTH < 2 * threads ? CL_POOL_MAX_DEPTH : 2 * threads,
				 PGZ_BLOCK + PGZ_OUT, 0, &pgz_ops, z, &z->pool, err);
		if (zr < 0) {
			free(z);
			return zr;
		}
		*ret = z;
		return 0;
	}

	if (!z || !(z->out = malloc(GZ_BUF))) {
		free(z);
		return cl_error_set(err, ENOMEM, "gzip");
	}
	z->compress = compress;
	z->sink = sink;
	z->ctx = ctx;
	z->member_done = true;
	zr = compress ? deflateInit2(&z->s, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY)
		      : inflateInit2(&z->s, 16 + 15);
	if (zr != Z_OK) {
		zr = gz_fail(zr, z, "init", err);
		cl_tar_gzip_free(z);
		return zr;
	}
	z->inited = true;
	*ret = z;
	return 0;
}

static int gz_deflate(struct cl_gzip *z, const void *buf, size_t len, int flush,
		      struct cl_error **err)
{
	z->s.next_in = (Bytef *)buf;
	z->s.avail_in = (uInt)len;
	for (;;) {
		int zr, r;

		z->s.next_out = z->out;
		z->s.avail_out = GZ_BUF;
		zr = deflate(&z->s, flush);
		if (zr == Z_STREAM_ERROR)
			return gz_fail(zr, z, "compress", err);
		if (z->s.avail_out < GZ_BUF) {
			r = z->sink(z->ctx, z->out, GZ_BUF - z->s.avail_out, err);
			if (r < 0)
				return r;
		}
		if (flush == Z_FINISH ? zr == Z_STREAM_END
				      : z->s.avail_in == 0 && z->s.avail_out > 0)
			return 0;
	}
}

int cl_tar_gzip_write(struct cl_gzip *z, const void *buf, size_t len, struct cl_error **err)
{
	const unsigned char *p = buf;

	if (z->pool)
		return pgz_write(z, p, len, err);
	while (len > 0) {
		size_t n = len > (1U << 30) ? (1U << 30) : len;
		int r = gz_deflate(z, p, n, Z_NO_FLUSH, err);

		if (r < 0)
			return r;
		p += n;
		len -= n;
	}
	return 0;
}

int cl_tar_gzip_finish(struct cl_gzip *z, struct cl_error **err)
{
	if (!z->compress)
		return z->member_done ? 0 : cl_error_set(err, EBADMSG, "gzip: truncated");
	if (z->pool)
		return pgz_finish(z, err);
	return gz_deflate(z, NULL, 0, Z_FINISH, err);
}

/* one inflate step into z->out: bytes produced (maybe 0), or -errno */
static ssize_t gz_pull_step(struct cl_gzip *z, cl_source_fn src, void *ctx, struct cl_error **err)
{
	int zr;

	if (z->s.avail_in == 0 && !z->in_eof) {
		const void *buf = NULL;
		ssize_t n = src(ctx, &buf, err);

		if (n < 0)
			return n;
		z->in_eof = n == 0;
		z->s.next_in = (Bytef *)buf;
		z->s.avail_in = (uInt)n;
		if (n == 0)
			return 0;
	}
	if (z->member_done) {
		/* a new member starts: reset only after the first one */
		if (z->any && inflateReset(&z->s) != Z_OK)
			return gz_fail(Z_STREAM_ERROR, z, "decompress", err);
		z->any = true;
		z->member_done = false;
	}
	z->s.next_out = z->out;
	z->s.avail_out = GZ_BUF;
	zr = inflate(&z->s, Z_NO_FLUSH);
	if (zr == Z_STREAM_END)
		z->member_done = true;
	else if (zr != Z_OK && zr != Z_BUF_ERROR)
		return gz_fail(zr, z, "decompress", err);
	return (ssize_t)(GZ_BUF - z->s.avail_out);
}

ssize_t cl_tar_gzip_read(struct cl_gzip *z, cl_source_fn src, void *ctx, const void **ret,
			 struct cl_error **err)
{
	if (z->compress)
		return cl_error_set(err, EINVAL, "gzip: read from an encoder");
	for (;;) {
		ssize_t n = gz_pull_step(z, src, ctx, err);

		if (n < 0)
			return n;
		if (n > 0) {
			*ret = z->out;
			return n;
		}
		if (z->in_eof && z->s.avail_in == 0)
			break;
	}
	if (!z->member_done || !z->any)
		return cl_error_set(err, EBADMSG, "gzip: payload ends inside a member");
	return 0;
}

void cl_tar_gzip_free(struct cl_gzip *z)
{
	if (!z)
		return;
	if (z->pool) {
		if (z->cur)
			cl_pool_job_cancel(z->pool, z->cur);
		cl_pool_free(z->pool); /* joins the workers */
	}
	if (z->inited)
		(void)(z->compress ? deflateEnd(&z->s) : inflateEnd(&z->s));
	free(z->out);
	free(z);
}
