/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cryptlayer import: .clx → verified plaintext → (zstd) → OCI layer tar → the upper of a
 * NEW layer with a NEW key (DESIGN §5, §7). The tar is unpacked by the plan's
 * populate-upper step, before the overlay is mounted (an overlay's upper must not change
 * under a mount). Any failure erases the half-made layer: files, key and record.
 *
 * An archive authenticates its sender only as "someone who had a recipient's public key":
 * anyone can forge one. So the unpacker refuses device nodes, setuid/setgid bits and file
 * capabilities unless --allow-devices / --allow-setid say otherwise (DESIGN §8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd/cryptlayer/cli.h"
#include "cmd/cryptlayer/import.h"
#include "cmd/cryptlayer/progress.h"
#include "lib/layer/layer.h"
#include "lib/archive/clx.h"
#include "lib/archive/format.h"
#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"

/* the populate callback's state: the verified stream and its decoder */
struct import_src {
	struct cl_clx_reader *rd;
	const struct cl_tar_ops *ops;
	struct cl_zstd *z;
	unsigned unpack_flags;
	unsigned sandbox_flags;
	int upper_fd; /* for unpack_sandboxed() */
};

static void import_usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer import FILE|DIR|- -i KEY --base DIR [--id ID] [--key "
	      "ephemeral|persistent]\n"
	      "                   [--allow-devices] [--allow-setid]\n"
	      "\n"
	      "Decrypt and verify a layer made by 'cryptlayer export', unpack it into a new\n"
	      "encrypted layer over the read-only DIR under a new key, and mount it. Prints\n"
	      "the absolute merged path as the only line on stdout, like 'create'. On any\n"
	      "failure (damaged or forged input, wrong key, no space, unsafe entries) nothing\n"
	      "of the new layer is left.\n"
	      "\n"
	      "The input is a .clx stream (a file, or '-' for stdin), or an OCI image layout:\n"
	      "a directory, or an oci-archive tar file, as 'export --format oci', skopeo,\n"
	      "podman or buildah write them, its layers plain or encrypted by ocicrypt\n"
	      "(KEY: the RSA or EC private key of a JWE recipient). Every blob's digest and\n"
	      "each encrypted layer's HMAC are checked before the layer is made; the layers\n"
	      "are then applied in order (OCI whiteouts) into the one new layer.\n"
	      "\n"
	      "Anyone who holds one of the recipients' PUBLIC keys can make an archive that\n"
	      "decrypts with KEY, so its content is not trusted: entries outside the layer\n"
	      "('..', absolute paths, through a symlink, hardlinks out) are always refused,\n"
	      "and device nodes, setuid/setgid bits and file capabilities are refused unless\n"
	      "allowed below, each with an error naming the entry. FIFOs are accepted.\n"
	      "\n"
	      "Options:\n"
	      " -i, --identity KEY     private key (PEM); repeat to try several\n"
	      "     --base DIR         read-only lower directory (absolute)\n"
	      "     --id ID            layer id (default: a random one)\n"
	      "     --key MODE         ephemeral (default) or persistent\n"
	      "     --allow-devices    accept character and block device nodes\n"
	      "     --allow-setid      accept setuid/setgid bits and file capabilities\n"
	      "                        (security.capability)\n"
	      " -j, --jobs N           worker threads (default: all CPUs)\n"
	      " -q, --quiet            no progress meter (shown only when stderr is a terminal)\n"
	      " -h, --help             display this help\n",
	      stdout);
}

static int import_option(int c, char **argv, struct cl_import_args *a)
{
	switch (c) {
	case 'i':
		if (a->nids == CL_CLX_MAX_STANZAS)
			return cl_cli_usage("import", "at most %d identities", CL_CLX_MAX_STANZAS);
		a->ids[a->nids++] = optarg;
		return 0;
	case 'b':
		a->base = optarg;
		return 0;
	case 'I':
		a->id_arg = optarg;
		return 0;
	case 'k':
		if (!strcmp(optarg, "ephemeral"))
			a->keymode = CL_KEY_EPHEMERAL;
		else if (!strcmp(optarg, "persistent"))
			a->keymode = CL_KEY_PERSISTENT;
		else
			return cl_cli_usage("import",
					    "--key: expected ephemeral or persistent, "
					    "not '%s'",
					    optarg);
		return 0;
	case 'D':
		a->unpack_flags &= ~CL_TAR_NO_DEVICES;
		return 0;
	case 'S':
		a->unpack_flags &= ~CL_TAR_NO_SETID;
		return 0;
	case 'j':
		return cl_cli_parse_jobs("import", optarg, &a->jobs);
	case 'q':
		a->quiet = true;
		return 0;
	case ':':
		return cl_cli_usage("import", "option '%s' requires an argument", argv[optind - 1]);
	default:
		return cl_cli_usage("import", "unknown option '%s'", argv[optind - 1]);
	}
}

static int import_parse(int argc, char **argv, struct cl_import_args *a)
{
	static const struct option opts[] = {
	    {"identity", required_argument, NULL, 'i'},
	    {"base", required_argument, NULL, 'b'},
	    {"id", required_argument, NULL, 'I'},
	    {"key", required_argument, NULL, 'k'},
	    {"allow-devices", no_argument, NULL, 'D'},
	    {"allow-setid", no_argument, NULL, 'S'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {},
	};
	int c, r;

	a->unpack_flags = CL_TAR_NO_DEVICES | CL_TAR_NO_SETID; /* safe unless told otherwise */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:j:q", opts, NULL)) != -1) {
		r = import_option(c, argv, a);
		if (r)
			return r;
	}
	if (optind + 1 != argc)
		return cl_cli_usage("import", optind >= argc ? "missing FILE (or - for stdin)"
							     : "too many arguments");
	a->in = argv[optind];
	if (a->nids == 0)
		return cl_cli_usage("import", "at least one -i KEY is required");
	if (!a->base)
		return cl_cli_usage("import", "--base DIR is required");
	return 0;
}

static ssize_t src_clx(void *ctx, const void **ret, struct cl_error **err)
{
	struct import_src *s = ctx;

	return cl_clx_reader_read(s->rd, ret, err);
}

/* the tar stream: verified plaintext, decompressed in bounded blocks when zstd */
static ssize_t src_payload(void *ctx, const void **ret, struct cl_error **err)
{
	struct import_src *s = ctx;

	return s->z ? s->ops->zstd_read(s->z, src_clx, s, ret, err) : src_clx(s, ret, err);
}

static void import_src_close(struct import_src *s)
{
	if (s->z)
		s->ops->zstd_free(s->z);
	s->z = NULL;
	cl_clx_reader_free(s->rd); /* joins the workers: the rest of the plan is single-threaded */
	s->rd = NULL;
}

/* unpack, then read to the verified end of the stream: on the 'bulk-unpack' thread */
static int unpack_sandboxed(void *ctx, struct cl_error **err)
{
	struct import_src *s = ctx;
	const void *buf = NULL;
	ssize_t n;
	int r = 0;

	if (cl_clx_reader_compression(s->rd) == CL_CLX_COMPRESS_ZSTD)
		r = s->ops->zstd_new(false, 0, 1, NULL, NULL, &s->z, err);
	if (r == 0)
		r = s->ops->unpack(s->upper_fd, s->unpack_flags, src_payload, s, err);
	/* the tar ends before the stream does: the final chunk and trailer still verify */
	while (r == 0 && (n = src_payload(s, &buf, err)) != 0)
		r = n < 0 ? (int)n : 0;
	import_src_close(s);
	return r;
}

/*
 * CL_OP_POPULATE_UPPER: libarchive and OpenSSL on a thread that cannot mount, connect, trace
 * or exec (lib/sandbox); this thread keeps what the rollback needs (unmount, remove the key)
 */
static int import_populate(void *ctx, int upper_fd, struct cl_error **err)
{
	struct import_src *s = ctx;
	int r;

	s->upper_fd = upper_fd;
	r = cl_sandbox_run_thread(CL_SANDBOX_BULK_UNPACK, s->sandbox_flags, unpack_sandboxed, s,
				  err);
	import_src_close(s);
	return r;
}

static int import_open(const struct cl_import_args *a, int *ret_fd, struct import_src *s,
		       struct cl_clx_opts *o, struct cl_error **err)
{
	struct cl_identity *ids[CL_CLX_MAX_STANZAS] = {0};
	int r = 0;

	if (strcmp(a->in, "-")) {
		*ret_fd = open(a->in, O_RDONLY | O_CLOEXEC);
		if (*ret_fd < 0)
			return cl_error_set(err, errno, "open '%s'", a->in);
	}
	for (size_t i = 0; i < a->nids && r == 0; i++)
		r = cl_identity_load(a->ids[i], &ids[i], err);
	/* the header is authenticated here, before any layer exists; no thread yet */
	if (r == 0)
		r = cl_clx_reader_new(*ret_fd >= 0 ? *ret_fd : STDIN_FILENO, ids, a->nids, o,
				      &s->rd, err);
	for (size_t i = 0; i < a->nids; i++)
		cl_identity_free(ids[i]);
	if (r == 0)
		r = cl_tar_ops_load(NULL, &s->ops, err);
	return r;
}

static uint64_t input_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

static int do_import(const struct cl_globals *g, const struct cl_import_args *a,
		     struct cl_record *ret_rec, struct cl_error **err)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_request req = {.enabled = true, .keymode = a->keymode};
	_cleanup_free_ char *id = a->id_arg ? strdup(a->id_arg) : NULL;
	struct import_src s = {.unpack_flags = a->unpack_flags,
			       .sandbox_flags = g->no_seccomp ? CL_SANDBOX_NO_SECCOMP : 0,
			       .upper_fd = -1};
	_cleanup_close_ int fd = -1;
	struct cl_cli_progress prog;
	struct cl_clx_opts o = {
	    .jobs = a->jobs, .progress = cl_cli_progress_update, .progress_ctx = &prog};
	int r;

	if (!id && (a->id_arg || cl_layer_new_id(&id) < 0))
		return cl_error_set(err, ENOMEM, "layer id");
	cl_cli_progress_init(&prog, "import", a->quiet, 0);
	r = import_open(a, &fd, &s, &o, err);
	if (r == 0) {
		struct cl_layer_args la = {.id = id,
					   .req = &req,
					   .lower = a->base,
					   .owner = CL_OWNER_CLI,
					   .populate = import_populate,
					   .populate_ctx = &s};

		prog.total_hint = input_size(fd >= 0 ? fd : STDIN_FILENO);
		r = cl_layer_create(&ctx, &la, ret_rec, err);
	}
	import_src_close(&s);
	cl_cli_progress_end(&prog);
	return r;
}

int cl_cmd_import(const struct cl_globals *g, int argc, char **argv)
{
	struct cl_import_args a = {0};
	struct cl_error *err = NULL;
	struct cl_record rec = {};
	int r;

	if (cl_cli_want_help(argc, argv)) {
		import_usage();
		return CL_EXIT_OK;
	}
	r = import_parse(argc, argv, &a);
	if (r)
		return r;
	(void)CRYPTO_secure_malloc_init(64 * 1024, 32);
	r = cl_import_is_oci(a.in, &err);
	if (r > 0)
		r = cl_import_oci(g, &a, &rec, &err);
	else if (r == 0)
		r = do_import(g, &a, &rec, &err);
	if (r < 0)
		return cl_cli_fail(&err, "import");
	printf("%s\n", rec.merged);
	cl_record_clear(&rec);
	return fflush(stdout) == 0 ? CL_EXIT_OK : CL_EXIT_FAIL;
}
