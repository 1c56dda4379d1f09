/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cryptlayer encrypt / decrypt: the .clx engine on stdin → stdout (DESIGN §7). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd/cryptlayer/cli.h"
#include "cmd/cryptlayer/progress.h"
#include "lib/archive/clx.h"
#include "lib/archive/format.h"
#include "lib/archive/pool.h"
#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"

#define ZSTD_LEVEL 3
#define READ_BLOCK (1U << 20)

struct crypt_args {
	const char *keys[CL_CLX_MAX_STANZAS]; /* -r recipients or -i identities */
	size_t nkeys;
	unsigned jobs;
	bool zstd, quiet;
};

static void encrypt_usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer encrypt -r PUB [-r PUB]... [options] < INPUT > OUTPUT.clx\n"
	      "\n"
	      "Encrypt standard input of any size to standard output in the .clx format\n"
	      "(docs/clx-format.md): 1 MiB chunks sealed with AES-256-GCM on all CPUs under a\n"
	      "fresh data key, which is wrapped for every recipient.\n"
	      "\n"
	      "Options:\n"
	      " -r, --recipient PUB    recipient public key (PEM): X25519 from 'cryptlayer\n"
	      "                          keygen', or RSA >= 3072 bits; repeat for more (max 64)\n"
	      " -c, --compress MODE    zstd or none (default none)\n"
	      " -j, --jobs N           worker threads (default: all CPUs)\n"
	      " -q, --quiet            no progress meter (shown only when stderr is a terminal)\n"
	      " -h, --help             display this help\n"
	      "\n"
	      "Exit status: 0 ok, 1 failure, 2 usage error.\n",
	      stdout);
}

static void decrypt_usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer decrypt -i KEY [-i KEY]... [options] < INPUT.clx > OUTPUT\n"
	      "\n"
	      "Decrypt a .clx stream from standard input to standard output. When standard\n"
	      "input is a regular file ('< FILE') and its front header copy is damaged, the\n"
	      "trailer copy is used; a pipe can use only the front copy.\n"
	      "\n"
	      "Output is streamed: only chunks whose authentication tag verified are\n"
	      "written, in order. If the input turns out damaged, truncated, reordered or\n"
	      "extended further on, decrypt stops there and exits 1 after having written\n"
	      "the verified chunks before the damage: use the output only if the exit\n"
	      "status is 0.\n"
	      "\n"
	      "Options:\n"
	      " -i, --identity KEY     private key (PEM): X25519 from 'cryptlayer keygen',\n"
	      "                          or RSA; repeat to try several\n"
	      " -j, --jobs N           worker threads (default: all CPUs)\n"
	      " -q, --quiet            no progress meter (shown only when stderr is a terminal)\n"
	      " -h, --help             display this help\n"
	      "\n"
	      "Exit status: 0 ok (all data authentic and complete), 1 failure, 2 usage error.\n",
	      stdout);
}

int cl_cli_parse_jobs(const char *cmd, const char *s, unsigned *ret)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !end || *end || s[0] == '-' || v < 1 || v > CL_POOL_MAX_THREADS)
		return cl_cli_usage(cmd, "--jobs must be 1..%d, not '%s'", CL_POOL_MAX_THREADS, s);
	*ret = (unsigned)v;
	return 0;
}

static int parse_option(const char *cmd, int c, char **argv, struct crypt_args *a)
{
	switch (c) {
	case 'r':
	case 'i':
		if (a->nkeys == CL_CLX_MAX_STANZAS)
			return cl_cli_usage(cmd, "at most %d keys", CL_CLX_MAX_STANZAS);
		a->keys[a->nkeys++] = optarg;
		return 0;
	case 'c':
		if (strcmp(optarg, "zstd") && strcmp(optarg, "none"))
			return cl_cli_usage(cmd, "--compress must be zstd or none, not '%s'",
					    optarg);
		a->zstd = !strcmp(optarg, "zstd");
		return 0;
	case 'j':
		return cl_cli_parse_jobs(cmd, optarg, &a->jobs);
	case 'q':
		a->quiet = true;
		return 0;
	case ':':
		return cl_cli_usage(cmd, "option '%s' requires an argument", argv[optind - 1]);
	default:
		return cl_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
	}
}

static int parse_args(bool enc, int argc, char **argv, struct crypt_args *a)
{
	static const struct option eopts[] = {
	    {"recipient", required_argument, NULL, 'r'},
	    {"compress", required_argument, NULL, 'c'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {},
	};
	static const struct option dopts[] = {
	    {"identity", required_argument, NULL, 'i'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {},
	};
	const char *cmd = enc ? "encrypt" : "decrypt";
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, enc ? ":r:c:j:q" : ":i:j:q", enc ? eopts : dopts,
				NULL)) != -1) {
		r = parse_option(cmd, c, argv, a);
		if (r)
			return r;
	}
	if (optind < argc)
		return cl_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (a->nkeys == 0)
		return cl_cli_usage(cmd, enc ? "at least one -r PUB is required"
					     : "at least one -i KEY is required");
	return 0;
}

static int sink_writer(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	return cl_clx_writer_write(ctx, buf, len, err);
}

static int sink_stdout(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	int r = cl_write_all(STDOUT_FILENO, buf, len);

	(void)ctx;
	return r < 0 ? cl_error_set(err, -r, "write output") : 0;
}

/* stdin → zstd (plugin) → writer */
static int encrypt_zstd(struct cl_clx_writer *w, unsigned jobs, struct cl_error **err)
{
	_cleanup_free_ unsigned char *buf = malloc(READ_BLOCK);
	const struct cl_tar_ops *ops = NULL;
	struct cl_zstd *z = NULL;
	int r;

	if (!buf)
		return cl_error_set(err, ENOMEM, "read buffer");
	if (cl_tar_ops_load(NULL, &ops, err) < 0)
		return cl_error_wrap(err, "--compress zstd");
	r = ops->zstd_new(true, ZSTD_LEVEL, jobs, sink_writer, w, &z, err);
	while (r == 0) {
		ssize_t n = read(STDIN_FILENO, buf, READ_BLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = cl_error_set(err, errno, "read input");
		else if (n == 0)
			break;
		else
			r = ops->zstd_write(z, buf, (size_t)n, err);
	}
	if (r == 0)
		r = ops->zstd_finish(z, err);
	if (z)
		ops->zstd_free(z);
	return r;
}

static int load_recipients(const struct crypt_args *a, struct cl_recipient **rcpts,
			   struct cl_error **err)
{
	for (size_t i = 0; i < a->nkeys; i++)
		if (cl_recipient_load(a->keys[i], &rcpts[i], err) < 0)
			return -EINVAL;
	return 0;
}

static uint64_t stdin_size(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

static int do_encrypt(const struct crypt_args *a, struct cl_error **err)
{
	struct cl_recipient *rcpts[CL_CLX_MAX_STANZAS] = {0};
	_cleanup_(cl_clx_writer_freep) struct cl_clx_writer *w = NULL;
	struct cl_cli_progress prog;
	struct cl_clx_opts o = {
	    .jobs = a->jobs,
	    .compression = a->zstd ? CL_CLX_COMPRESS_ZSTD : CL_CLX_COMPRESS_NONE,
	    .progress = cl_cli_progress_update,
	    .progress_ctx = &prog,
	};
	int r;

	cl_cli_progress_init(&prog, "encrypt", a->quiet, a->zstd ? 0 : stdin_size());
	r = load_recipients(a, rcpts, err);
	if (r == 0)
		r = cl_clx_writer_new(STDOUT_FILENO, rcpts, a->nkeys, &o, &w, err);
	for (size_t i = 0; i < a->nkeys; i++)
		cl_recipient_free(rcpts[i]);
	if (r == 0 && a->zstd)
		r = encrypt_zstd(w, a->jobs ? a->jobs : cl_pool_default_threads(), err);
	else if (r == 0)
		r = cl_clx_writer_copy_fd(w, STDIN_FILENO, err);
	if (r == 0)
		r = cl_clx_writer_finish(w, err);
	cl_cli_progress_end(&prog);
	return r;
}

int cl_cmd_encrypt(const struct cl_globals *g, int argc, char **argv)
{
	struct crypt_args a = {0};
	struct cl_error *err = NULL;
	int r;

	if (cl_cli_want_help(argc, argv)) {
		encrypt_usage();
		return CL_EXIT_OK;
	}
	r = parse_args(true, argc, argv, &a);
	if (r)
		return r;
	if (isatty(STDOUT_FILENO)) {
		fputs("cryptlayer: encrypt: refusing to write ciphertext to a terminal\n", stderr);
		return CL_EXIT_FAIL;
	}
	(void)CRYPTO_secure_malloc_init(64 * 1024, 32); /* best effort, as RLIMIT_MEMLOCK allows */
	/* OpenSSL and zstd on stdin → stdout: no file writes, network, exec or mount */
	if (cl_cli_sandbox(g, CL_SANDBOX_BULK_STREAM, &err) < 0 || do_encrypt(&a, &err) < 0)
		return cl_cli_fail(&err, "encrypt");
	return CL_EXIT_OK;
}

/* verified plaintext → (zstd →) stdout */
static int decrypt_copy(struct cl_clx_reader *rd, struct cl_error **err)
{
	const struct cl_tar_ops *ops = NULL;
	struct cl_zstd *z = NULL;
	ssize_t n;
	int r = 0;

	if (cl_clx_reader_compression(rd) == CL_CLX_COMPRESS_ZSTD) {
		if (cl_tar_ops_load(NULL, &ops, err) < 0)
			return cl_error_wrap(err, "zstd-compressed payload");
		r = ops->zstd_new(false, 0, 1, sink_stdout, NULL, &z, err);
	}
	while (r == 0) {
		const void *buf = NULL;

		n = cl_clx_reader_read(rd, &buf, err);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		r = z ? ops->zstd_write(z, buf, (size_t)n, err)
		      : sink_stdout(NULL, buf, (size_t)n, err);
	}
	if (r == 0 && z)
		r = ops->zstd_finish(z, err);
	if (z)
		ops->zstd_free(z);
	return r;
}

static int do_decrypt(const struct crypt_args *a, unsigned *ret_warn, struct cl_error **err)
{
	struct cl_identity *ids[CL_CLX_MAX_STANZAS] = {0};
	_cleanup_(cl_clx_reader_freep) struct cl_clx_reader *rd = NULL;
	struct cl_cli_progress prog;
	struct cl_clx_opts o = {
	    .jobs = a->jobs,
	    .progress = cl_cli_progress_update,
	    .progress_ctx = &prog,
	};
	int r = 0;

	cl_cli_progress_init(&prog, "decrypt", a->quiet, stdin_size());
	for (size_t i = 0; i < a->nkeys && r == 0; i++)
		r = cl_identity_load(a->keys[i], &ids[i], err);
	if (r == 0)
		r = cl_clx_reader_new(STDIN_FILENO, ids, a->nkeys, &o, &rd, err);
	for (size_t i = 0; i < a->nkeys; i++)
		cl_identity_free(ids[i]);
	if (r == 0)
		r = decrypt_copy(rd, err);
	cl_cli_progress_end(&prog);
	if (r == 0)
		*ret_warn = cl_clx_reader_warnings(rd);
	return r;
}

int cl_cmd_decrypt(const struct cl_globals *g, int argc, char **argv)
{
	struct crypt_args a = {0};
	struct cl_error *err = NULL;
	unsigned warn = 0;
	int r;

	if (cl_cli_want_help(argc, argv)) {
		decrypt_usage();
		return CL_EXIT_OK;
	}
	r = parse_args(false, argc, argv, &a);
	if (r)
		return r;
	(void)CRYPTO_secure_malloc_init(64 * 1024, 32);
	if (cl_cli_sandbox(g, CL_SANDBOX_BULK_STREAM, &err) < 0 || do_decrypt(&a, &warn, &err) < 0)
		return cl_cli_fail(&err, "decrypt");
	/* warnings only once everything verified, so a failure stays one line */
	if (warn & CL_CLX_WARN_FRONT_DAMAGED)
		fputs("cryptlayer: decrypt: warning: front header copy damaged, used the trailer "
		      "copy\n",
		      stderr);
	if (warn & CL_CLX_WARN_TRAILER_DAMAGED)
		fputs("cryptlayer: decrypt: warning: trailer header copy damaged, used the front "
		      "copy\n",
		      stderr);
	return CL_EXIT_OK;
}
