/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test driver for the tar/zstd plugin and the bulk engine (built as build/tests/cltar,
 * never installed). Until `cryptlayer export/import` are wired to the store, this is
 * how the integration tests round-trip a real tree:
 *
 *   cltar pack DIR [-r PUB]... [--compress zstd] [--userxattr] > OUT
 *   cltar unpack DIR [-i KEY]... [--userxattr] < IN
 *
 * Without -r/-i the stream is the plain OCI layer tar.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/archive/clx.h"
#include "lib/archive/format.h"
#include "lib/archive/pool.h"
#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

#define MAX_KEYS 16
#define BLOCK (1U << 20)

struct opts {
	const char *keys[MAX_KEYS];
	size_t nkeys;
	bool zstd;
	unsigned flags;
	unsigned jobs; /* pack workers, 0: one per CPU */
};

struct zbuf { /* zstd output collected for a pull source */
	unsigned char *buf;
	size_t len, cap;
};

struct pull {
	struct cl_clx_reader *rd;
	const struct cl_tar_ops *ops;
	struct cl_zstd *z;
	struct zbuf out;
	unsigned char *block;
	bool eof;
};

static const struct cl_tar_ops *ops;

static int fail(struct cl_error **err)
{
	fprintf(stderr, "cltar: %s: %s\n", *err && (*err)->msg ? (*err)->msg : "error",
		strerror(*err ? (*err)->errnum : EIO));
	cl_error_free(err);
	return 1;
}

static int sink_stdout(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	int r = cl_write_all(STDOUT_FILENO, buf, len);

	(void)ctx;
	return r < 0 ? cl_error_set(err, -r, "write stdout") : 0;
}

static int sink_writer(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	return cl_clx_writer_write(ctx, buf, len, err);
}

static int sink_zstd(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	return ops->zstd_write(ctx, buf, len, err);
}

static int sink_zbuf(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	struct zbuf *z = ctx;

	if (z->len + len > z->cap) {
		size_t cap = (z->len + len) * 2;
		unsigned char *nb = realloc(z->buf, cap);

		if (!nb)
			return cl_error_set(err, ENOMEM, "zstd output");
		z->buf = nb;
		z->cap = cap;
	}
	memcpy(z->buf + z->len, buf, len);
	z->len += len;
	return 0;
}

static ssize_t source_stdin(void *ctx, const void **ret, struct cl_error **err)
{
	unsigned char *buf = ctx;
	ssize_t n;

	do
		n = read(STDIN_FILENO, buf, BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cl_error_set(err, errno, "read stdin");
	*ret = buf;
	return n;
}

/* verified plaintext from the reader, through zstd when the header says so */
static ssize_t source_reader(void *ctx, const void **ret, struct cl_error **err)
{
	struct pull *p = ctx;

	p->out.len = 0;
	while (!p->eof && (!p->z || p->out.len == 0)) {
		const void *buf = NULL;
		ssize_t n = cl_clx_reader_read(p->rd, &buf, err);

		if (n < 0)
			return n;
		if (n == 0) {
			p->eof = true;
			if (p->z && p->ops->zstd_finish(p->z, err) < 0)
				return -EIO;
			break;
		}
		if (!p->z) {
			*ret = buf;
			return n;
		}
		if (p->ops->zstd_write(p->z, buf, (size_t)n, err) < 0)
			return -EIO;
	}
	*ret = p->out.buf;
	return (ssize_t)p->out.len;
}

static unsigned pack_jobs(const struct opts *o)
{
	return o->jobs ? o->jobs : cl_pool_default_threads();
}

static int do_pack(int dirfd, const struct opts *o, struct cl_error **err)
{
	struct cl_recipient *rcpts[MAX_KEYS] = {0};
	_cleanup_(cl_clx_writer_freep) struct cl_clx_writer *w = NULL;
	struct cl_clx_opts co = {.compression = o->zstd ? CL_CLX_COMPRESS_ZSTD : 0};
	struct cl_zstd *z = NULL;
	int r = 0;

	if (o->nkeys == 0)
		return ops->pack(dirfd, o->flags, pack_jobs(o), sink_stdout, NULL, err);
	for (size_t i = 0; i < o->nkeys && r == 0; i++)
		r = cl_recipient_load(o->keys[i], &rcpts[i], err);
	if (r == 0)
		r = cl_clx_writer_new(STDOUT_FILENO, rcpts, o->nkeys, &co, &w, err);
	for (size_t i = 0; i < o->nkeys; i++)
		cl_recipient_free(rcpts[i]);
	if (r == 0 && o->zstd)
		r = ops->zstd_new(true, 3, 2, sink_writer, w, &z, err);
	if (r == 0)
		r = ops->pack(dirfd, o->flags, pack_jobs(o), z ? sink_zstd : sink_writer,
			      z ? (void *)z : w, err);
	if (r == 0 && z)
		r = ops->zstd_finish(z, err);
	if (z)
		ops->zstd_free(z);
	if (r == 0)
		r = cl_clx_writer_finish(w, err);
	return r;
}

static int do_unpack(int dirfd, const struct opts *o, struct cl_error **err)
{
	struct cl_identity *ids[MAX_KEYS] = {0};
	struct pull p = {.ops = ops};
	int r = 0;

	p.block = malloc(BLOCK);
	if (!p.block)
		return cl_error_set(err, ENOMEM, "buffer");
	if (o->nkeys == 0) {
		r = ops->unpack(dirfd, o->flags, source_stdin, p.block, err);
		free(p.block);
		return r;
	}
	for (size_t i = 0; i < o->nkeys && r == 0; i++)
		r = cl_identity_load(o->keys[i], &ids[i], err);
	if (r == 0)
		r = cl_clx_reader_new(STDIN_FILENO, ids, o->nkeys, NULL, &p.rd, err);
	for (size_t i = 0; i < o->nkeys; i++)
		cl_identity_free(ids[i]);
	if (r == 0 && cl_clx_reader_compression(p.rd) == CL_CLX_COMPRESS_ZSTD)
		r = ops->zstd_new(false, 0, 1, sink_zbuf, &p.out, &p.z, err);
	if (r == 0)
		r = ops->unpack(dirfd, o->flags, source_reader, &p, err);
	if (p.z)
		ops->zstd_free(p.z);
	cl_clx_reader_free(p.rd);
	free(p.out.buf);
	free(p.block);
	return r;
}

static int usage(void)
{
	fputs("usage: cltar [--plugin SO] pack DIR [-r PUB]... [--compress zstd] [--userxattr] "
	      "[--jobs N]\n"
	      "       cltar [--plugin SO] unpack DIR [-i KEY]... [--userxattr]\n",
	      stderr);
	return 2;
}

static int parse(int argc, char **argv, const char **plugin, struct opts *o)
{
	static const struct option lopts[] = {
	    {"plugin", required_argument, NULL, 'p'},
	    {"compress", required_argument, NULL, 'c'},
	    {"userxattr", no_argument, NULL, 'u'},
	    {"jobs", required_argument, NULL, 'j'},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "r:i:", lopts, NULL)) != -1) {
		if (c == 'p')
			*plugin = optarg;
		else if (c == 'c' && !strcmp(optarg, "zstd"))
			o->zstd = true;
		else if (c == 'u')
			o->flags |= CL_TAR_USERXATTR;
		else if (c == 'j' && atoi(optarg) > 0)
			o->jobs = (unsigned)atoi(optarg);
		else if ((c == 'r' || c == 'i') && o->nkeys < MAX_KEYS)
			o->keys[o->nkeys++] = optarg;
		else
			return -1;
	}
	return argc - optind == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *exe = realpath("/proc/self/exe", NULL), *dflt = NULL;
	const char *plugin = NULL, *cmd, *dir;
	_cleanup_close_ int dirfd = -1;
	struct cl_error *err = NULL;
	struct opts o = {0};

	if (parse(argc, argv, &plugin, &o) < 0)
		return usage();
	cmd = argv[optind];
	dir = argv[optind + 1];
	if (!plugin && exe && asprintf(&dflt, "%s/../%s", dirname(exe), CL_TAR_PLUGIN_NAME) > 0)
		plugin = dflt;
	if (cl_tar_ops_load(plugin, &ops, &err) < 0)
		return fail(&err);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		cl_error_set(&err, errno, "open '%s'", dir);
		return fail(&err);
	}
	if (!strcmp(cmd, "pack") && !isatty(STDOUT_FILENO)) {
		if (do_pack(dirfd, &o, &err) < 0)
			return fail(&err);
	} else if (!strcmp(cmd, "unpack")) {
		if (do_unpack(dirfd, &o, &err) < 0)
			return fail(&err);
	} else {
		return usage();
	}
	return 0;
}
