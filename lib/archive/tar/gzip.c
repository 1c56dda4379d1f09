/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Streaming gzip (RFC 1952) through zlib, with the zstd codec's interface: push
 * compression into a sink, pull decompression from a source in bounded blocks.
 * Decompression accepts concatenated members (what parallel gzip tools write).
 */
#include <errno.h>
#include <stdlib.h>

#include <zlib.h>

#include "lib/archive/tar/internal.h"

#define GZ_BUF (256U * 1024)

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
};

static int gz_fail(int zr, struct cl_gzip *z, const char *what, struct cl_error **err)
{
	return cl_error_set(err, zr == Z_MEM_ERROR ? ENOMEM : EBADMSG, "gzip %s: %s", what,
			    z->s.msg ? z->s.msg : zError(zr));
}

int cl_tar_gzip_new(bool compress, int level, cl_sink_fn sink, void *ctx, struct cl_gzip **ret,
		    struct cl_error **err)
{
	struct cl_gzip *z = calloc(1, sizeof(*z));
	int zr;

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
	if (z->inited)
		(void)(z->compress ? deflateEnd(&z->s) : inflateEnd(&z->s));
	free(z->out);
	free(z);
}
