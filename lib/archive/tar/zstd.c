/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "lib/archive/tar/internal.h"

/*
 * A window of at most 8 MiB both ways keeps memory bounded: anyone holding a
 * recipient's public key can write a stream, so the decoder must not let a frame
 * demand the 128 MiB zstd allows by default. Level 3 uses 2 MiB.
 */
#define ZSTD_WINDOW_LOG_MAX 23

struct cl_zstd {
	bool compress;
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	cl_sink_fn sink;
	void *ctx;
	unsigned char *out;
	size_t out_cap;
	size_t pending;	  /* decoder: 0 once the last frame is complete */
	ZSTD_inBuffer in; /* pull decoder: the source's current block */
	bool in_eof;	  /* pull decoder: the source is exhausted */
	bool out_full;	  /* pull decoder: the last call filled out, more may be buffered */
};

static int zstd_fail(size_t ret, const char *what, struct cl_error **err)
{
	return cl_error_set(
	    err, ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? ENOMEM : EBADMSG,
	    "zstd %s: %s", what, ZSTD_getErrorName(ret));
}

static int zstd_setup(struct cl_zstd *z, int level, unsigned threads, struct cl_error **err)
{
	size_t r;

	if (!z->compress) {
		z->d = ZSTD_createDCtx();
		if (!z->d)
			return cl_error_set(err, ENOMEM, "zstd decoder");
		r = ZSTD_DCtx_setParameter(z->d, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX);
		return ZSTD_isError(r) ? zstd_fail(r, "decoder", err) : 0;
	}
	z->c = ZSTD_createCCtx();
	if (!z->c)
		return cl_error_set(err, ENOMEM, "zstd encoder");
	r = ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, level);
	if (ZSTD_isError(r))
		return zstd_fail(r, "level", err);
	r = ZSTD_CCtx_setParameter(z->c, ZSTD_c_windowLog, 21);
	if (ZSTD_isError(r))
		return zstd_fail(r, "window", err);
	/* a libzstd built without threads refuses nbWorkers: then compress inline */
	if (threads > 1)
		(void)ZSTD_CCtx_setParameter(z->c, ZSTD_c_nbWorkers, (int)threads);
	return 0;
}

int cl_tar_zstd_new(bool compress, int level, unsigned threads, cl_sink_fn sink, void *ctx,
		    struct cl_zstd **ret, struct cl_error **err)
{
	struct cl_zstd *z = calloc(1, sizeof(*z));
	int r;

	if (!z)
		return cl_error_set(err, ENOMEM, "zstd");
	z->compress = compress;
	z->sink = sink;
	z->ctx = ctx;
	z->out_cap = compress ? ZSTD_CStreamOutSize() : ZSTD_DStreamOutSize();
	z->out = malloc(z->out_cap);
	r = z->out ? zstd_setup(z, level, threads, err) : cl_error_set(err, ENOMEM, "zstd");
	if (r < 0) {
		cl_tar_zstd_free(z);
		return r;
	}
	*ret = z;
	return 0;
}

/* run the codec over @in (possibly empty) until it has no more output for now */
static int zstd_pump(struct cl_zstd *z, ZSTD_inBuffer *in, ZSTD_EndDirective end,
		     struct cl_error **err)
{
	for (;;) {
		ZSTD_outBuffer out = {z->out, z->out_cap, 0};
		size_t in_before = in->pos;
		size_t r = z->compress ? ZSTD_compressStream2(z->c, &out, in, end)
				       : ZSTD_decompressStream(z->d, &out, in);
		int ret;

		if (ZSTD_isError(r))
			return zstd_fail(r, z->compress ? "compress" : "decompress", err);
		/* with nothing consumed or produced, r is the next frame's header hint */
		if (!z->compress && (in->pos != in_before || out.pos > 0))
			z->pending = r;
		if (out.pos > 0) {
			ret = z->sink(z->ctx, z->out, out.pos, err);
			if (ret < 0)
				return ret;
		}
		if (z->compress && end == ZSTD_e_end) {
			if (r == 0)
				return 0;
			continue;
		}
		/* done when the input is used up and the output buffer was not filled */
		if (in->pos == in->size && out.pos < out.size)
			return 0;
	}
}

int cl_tar_zstd_write(struct cl_zstd *z, const void *buf, size_t len, struct cl_error **err)
{
	ZSTD_inBuffer in = {buf, len, 0};

	return zstd_pump(z, &in, ZSTD_e_continue, err);
}

int cl_tar_zstd_finish(struct cl_zstd *z, struct cl_error **err)
{
	ZSTD_inBuffer in = {NULL, 0, 0};
	int r = zstd_pump(z, &in, z->compress ? ZSTD_e_end : ZSTD_e_continue, err);

	if (r < 0)
		return r;
	if (!z->compress && z->pending)
		return cl_error_set(err, EBADMSG, "zstd: payload ends inside a frame");
	return 0;
}

/* one decoder step into z->out; fetches a source block when the input is used up */
static ssize_t zstd_pull_step(struct cl_zstd *z, cl_source_fn src, void *ctx, struct cl_error **err)
{
	ZSTD_outBuffer out = {z->out, z->out_cap, 0};
	size_t in_before, r;

	if (z->in.pos == z->in.size && !z->out_full && !z->in_eof) {
		const void *buf = NULL;
		ssize_t n = src(ctx, &buf, err);

		if (n < 0)
			return n;
		z->in = (ZSTD_inBuffer){buf, (size_t)n, 0};
		z->in_eof = n == 0;
	}
	in_before = z->in.pos;
	r = ZSTD_decompressStream(z->d, &out, &z->in);
	if (ZSTD_isError(r))
		return zstd_fail(r, "decompress", err);
	if (z->in.pos != in_before || out.pos > 0)
		z->pending = r;
	z->out_full = out.pos == out.size;
	return (ssize_t)out.pos;
}

ssize_t cl_tar_zstd_read(struct cl_zstd *z, cl_source_fn src, void *ctx, const void **ret,
			 struct cl_error **err)
{
	if (z->compress)
		return cl_error_set(err, EINVAL, "zstd: read from an encoder");
	for (;;) {
		ssize_t n = zstd_pull_step(z, src, ctx, err);

		if (n < 0)
			return n;
		if (n > 0) {
			*ret = z->out;
			return n;
		}
		if (z->in_eof && z->in.pos == z->in.size && !z->out_full)
			break;
	}
	if (z->pending)
		return cl_error_set(err, EBADMSG, "zstd: payload ends inside a frame");
	return 0;
}

void cl_tar_zstd_free(struct cl_zstd *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z->out);
	free(z);
}
