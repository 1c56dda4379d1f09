/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cryptlayer export: a layer's upper directory → OCI layer tar (plugin) → (zstd) → .clx
 * (DESIGN §7). The upper of a mounted layer is read as it is; a running container may
 * change files meanwhile, so stop or pause it first for a consistent copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd/cryptlayer/cli.h"
#include "cmd/cryptlayer/export.h"
#include "cmd/cryptlayer/progress.h"
#include "lib/archive/clx.h"
#include "lib/archive/format.h"
#include "lib/archive/pool.h"
#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/layer/layer.h"
#include "lib/record/record.h"
#include "lib/store/store.h"
#include "oci/oci.h"

#define ZSTD_LEVEL 3

static void export_usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer export ID -o FILE|- -r PUB [-r PUB]... [options]\n"
	      " cryptlayer export ID --format oci -o DIR|FILE.tar -r PUB [-r PUB]... [options]\n"
	      "\n"
	      "Pack the upper directory of layer ID (its writes, with overlay whiteouts and\n"
	      "opaque directories as '.wh.' entries) as an OCI layer tar and encrypt it for the\n"
	      "recipients: in the .clx format (docs/clx-format.md), or with --format oci as\n"
	      "the one layer of an OCI image layout, encrypted as containers/ocicrypt does\n"
	      "(AES_256_CTR_HMAC_SHA256, the layer key JWE-wrapped per recipient), which\n"
	      "'skopeo copy --decryption-key', podman, buildah and containerd imgcrypt read.\n"
	      "The output appears only once complete: FILE under a temporary name, the OCI\n"
	      "layout DIR (which must not exist) built beside it and renamed, FILE.tar\n"
	      "(an oci-archive) packed from it.\n"
	      "\n"
	      "The layer may be mounted: its upper directory is only read. Files that a\n"
	      "running container changes meanwhile may be caught mid-write; stop or pause it\n"
	      "for a consistent copy.\n"
	      "\n"
	      "Options:\n"
	      " -o, --output FILE      where to write, '-' for standard output (clx only)\n"
	      " -r, --recipient PUB    recipient public key (PEM); repeat for more. clx:\n"
	      "                          X25519 from 'cryptlayer keygen', or RSA >= 3072 bits;\n"
	      "                          oci: RSA >= 2048 bits or EC P-256/P-384/P-521\n"
	      "                          ('cryptlayer keygen --type rsa|ec')\n"
	      " -c, --compress MODE    clx: zstd or none (default none);\n"
	      "                          oci: gzip (default), zstd or none\n"
	      " -j, --jobs N           threads for each stage: reading the layer, compressing,\n"
	      "                          encrypting (default: all CPUs)\n"
	      " -f, --format FMT       clx (default) or oci\n"
	      " -q, --quiet            no progress meter (shown only when stderr is a terminal)\n"
	      " -h, --help             display this help\n",
	      stdout);
}

static int export_option(int c, char **argv, struct cl_export_args *a)
{
	switch (c) {
	case 'o':
		a->out = optarg;
		return 0;
	case 'r':
		if (a->nrcpts == CL_CLX_MAX_STANZAS)
			return cl_cli_usage("export", "at most %d recipients", CL_CLX_MAX_STANZAS);
		a->rcpts[a->nrcpts++] = optarg;
		return 0;
	case 'c':
		if (!strcmp(optarg, "zstd"))
			a->compress = CL_EXPORT_ZSTD;
		else if (!strcmp(optarg, "none"))
			a->compress = CL_EXPORT_NONE;
		else if (!strcmp(optarg, "gzip"))
			a->compress = CL_EXPORT_GZIP;
		else
			return cl_cli_usage(
			    "export", "--compress must be gzip, zstd or none, not '%s'", optarg);
		return 0;
	case 'j':
		return cl_cli_parse_jobs("export", optarg, &a->jobs);
	case 'q':
		a->quiet = true;
		return 0;
	case 'f':
		if (!strcmp(optarg, "clx") || !strcmp(optarg, "oci")) {
			a->oci = !strcmp(optarg, "oci");
			return 0;
		}
		return cl_cli_usage("export", "--format must be clx or oci, not '%s'", optarg);
	case ':':
		return cl_cli_usage("export", "option '%s' requires an argument", argv[optind - 1]);
	default:
		return cl_cli_usage("export", "unknown option '%s'", argv[optind - 1]);
	}
}

static int export_parse(int argc, char **argv, struct cl_export_args *a)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"recipient", required_argument, NULL, 'r'},
	    {"compress", required_argument, NULL, 'c'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"format", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {},
	};
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:r:c:j:f:q", opts, NULL)) != -1) {
		r = export_option(c, argv, a);
		if (r)
			return r;
	}
	if (optind + 1 != argc)
		return cl_cli_usage("export",
				    optind >= argc ? "missing layer ID" : "too many arguments");
	a->id = argv[optind];
	if (!a->out)
		return cl_cli_usage("export", "-o FILE|- is required");
	if (a->nrcpts == 0)
		return cl_cli_usage("export", "at least one -r PUB is required");
	if (a->compress == CL_EXPORT_DEFAULT)
		a->compress = a->oci ? CL_EXPORT_GZIP : CL_EXPORT_NONE;
	if (!a->oci && a->compress == CL_EXPORT_GZIP)
		return cl_cli_usage("export", "--compress gzip is for --format oci");
	if (a->oci && !strcmp(a->out, "-"))
		return cl_cli_usage("export",
				    "--format oci writes a directory or a .tar file, not '-'");
	return 0;
}

/* layer @id's record, or the descriptor of a locked persistent layer; and its store */
static int export_find(const struct cl_globals *g, const char *id, struct cl_record *rec,
		       struct cl_store **ret_store, struct cl_error **err)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	int r = cl_layer_find(&ctx, id, ret_store, rec, NULL, err);

	if (r == 0)
		return cl_error_set(err, ENOENT, "no layer '%s'", id);
	return r < 0 ? r : 0;
}

/* the upper directory of an unlocked layer, opened through the store */
int cl_export_open_upper(const struct cl_globals *g, const char *id, int *ret_fd,
			 struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	enum cl_key_status ks = CL_KEY_ABSENT;
	struct cl_key_id kid;
	size_t n;
	int fd, r;

	r = export_find(g, id, &rec, &store, err);
	if (r < 0)
		return r;
	if (!rec.upper || !rec.key_id || cl_key_id_from_hex(rec.key_id, &kid) < 0)
		return cl_error_set(err, EINVAL, "layer '%s': record is incomplete", id);
	r = cl_fscrypt_key_status(store->dir_fd, &kid, &ks, err);
	if (r < 0)
		return r;
	if (ks != CL_KEY_PRESENT)
		return cl_error_set(err, ENOKEY,
				    "layer '%s' is locked (key %s %s): unlock it first", id,
				    rec.key_id, cl_fscrypt_key_status_name(ks));
	/* resolve the recorded path under the store's own fd (any mount namespace) */
	n = strlen(store->dir);
	if (strncmp(rec.upper, store->dir, n) || rec.upper[n] != '/')
		return cl_error_set(err, EINVAL, "layer '%s': upper '%s' is not in the store", id,
				    rec.upper);
	fd = openat(store->dir_fd, rec.upper + n + 1,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cl_error_set(err, errno, "open upper '%s'", rec.upper);
	*ret_fd = fd;
	return 0;
}

/* a temporary name beside the output: ".NAME.<pid>.<random>.tmp" */
static int out_tmp_name(const char *path, char **ret)
{
	_cleanup_free_ char *b = strdup(path);
	uint32_t rnd = 0;

	if (!b || getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -ENOMEM;
	return asprintf(ret, ".%s.%d.%08x.tmp", basename(b), (int)getpid(), rnd) < 0 ? -ENOMEM : 0;
}

/* -o /dev/null, a FIFO or a socket: write to it; replacing it would break the system */
static int out_open_special(const char *path, const struct stat *st, struct cl_export_out *o,
			    struct cl_error **err)
{
	if (S_ISDIR(st->st_mode))
		return cl_error_set(err, EISDIR, "output '%s'", path);
	o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (o->fd < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	o->own_fd = true;
	o->direct = true;
	if (isatty(o->fd))
		return cl_error_set(err, EINVAL, "refusing to write ciphertext to a terminal");
	return 0;
}

int cl_export_out_open(const char *path, struct cl_export_out *o, struct cl_error **err)
{
	_cleanup_free_ char *d = strdup(path);
	struct stat st;

	o->name = path;
	if (!strcmp(path, "-")) {
		if (isatty(STDOUT_FILENO))
			return cl_error_set(err, EINVAL,
					    "refusing to write ciphertext to a terminal");
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return out_open_special(path, &st, o, err);
	if (!d)
		return cl_error_set(err, ENOMEM, "output");
	o->dir_fd = open(dirname(d), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o->dir_fd < 0)
		return cl_error_set(err, errno, "output directory of '%s'", path);
	o->own_fd = true;
	o->fd = openat(o->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	o->anon = o->fd >= 0;
	if (o->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* no O_TMPFILE on this filesystem: a named temporary, removed on failure */
		if (out_tmp_name(path, &o->tmp) < 0)
			return cl_error_set(err, ENOMEM, "output");
		o->fd = openat(o->dir_fd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (o->fd < 0) {
			free(o->tmp);
			o->tmp = NULL;
		}
	}
	if (o->fd < 0)
		return cl_error_set(err, errno, "create '%s'", path);
	return 0;
}

/* make the complete file appear under its name (atomically replacing an old one) */
int cl_export_out_commit(struct cl_export_out *o, struct cl_error **err)
{
	_cleanup_free_ char *d = strdup(o->name), *tmp = NULL;
	const char *base = d ? basename(d) : NULL;
	char proc[64];

	if (!o->own_fd || o->direct)
		return 0;
	if (!base)
		return cl_error_set(err, ENOMEM, "output");
	if (fdatasync(o->fd) < 0)
		return cl_error_set(err, errno, "write '%s'", o->name);
	if (o->anon) {
		/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link does not */
		if (out_tmp_name(o->name, &tmp) < 0)
			return cl_error_set(err, ENOMEM, "output");
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		if (linkat(AT_FDCWD, proc, o->dir_fd, tmp, AT_SYMLINK_FOLLOW) < 0)
			return cl_error_set(err, errno, "link '%s'", o->name);
		o->tmp = TAKE_PTR(tmp);
	}
	if (renameat(o->dir_fd, o->tmp, o->dir_fd, base) < 0)
		return cl_error_set(err, errno, "rename to '%s'", o->name);
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

void cl_export_out_close(struct cl_export_out *o)
{
	if (o->tmp)
		(void)unlinkat(o->dir_fd, o->tmp, 0);
	free(o->tmp);
	if (o->own_fd && o->fd >= 0)
		close(o->fd);
	if (o->dir_fd >= 0)
		close(o->dir_fd);
}

static int sink_writer(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	return cl_clx_writer_write(ctx, buf, len, err);
}

struct zsink {
	const struct cl_tar_ops *ops;
	struct cl_zstd *z;
};

static int sink_zstd(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	struct zsink *s = ctx;

	return s->ops->zstd_write(s->z, buf, len, err);
}

/* upper → tar → (zstd →) writer */
static int export_pack(const struct cl_export_args *a, const struct cl_tar_ops *ops, int upper,
		       struct cl_clx_writer *w, struct cl_error **err)
{
	struct zsink zs = {.ops = ops};
	unsigned jobs = a->jobs ? a->jobs : cl_pool_default_threads();
	int r;

	if (!(a->compress == CL_EXPORT_ZSTD))
		return ops->pack(upper, 0, jobs, sink_writer, w, err);
	r = ops->zstd_new(true, ZSTD_LEVEL, jobs, sink_writer, w, &zs.z, err);
	if (r == 0)
		r = ops->pack(upper, 0, jobs, sink_zstd, &zs, err);
	if (r == 0)
		r = ops->zstd_finish(zs.z, err);
	if (zs.z)
		ops->zstd_free(zs.z);
	return r;
}

static int export_writer(const struct cl_export_args *a, int out_fd, struct cl_clx_opts *o,
			 struct cl_clx_writer **ret, struct cl_error **err)
{
	struct cl_recipient *rcpts[CL_CLX_MAX_STANZAS] = {0};
	int r = 0;

	for (size_t i = 0; i < a->nrcpts && r == 0; i++)
		r = cl_recipient_load(a->rcpts[i], &rcpts[i], err);
	if (r == 0)
		r = cl_clx_writer_new(out_fd, rcpts, a->nrcpts, o, ret, err);
	for (size_t i = 0; i < a->nrcpts; i++)
		cl_recipient_free(rcpts[i]);
	return r;
}

static int do_export(const struct cl_globals *g, const struct cl_export_args *a,
		     struct cl_error **err)
{
	_cleanup_(cl_clx_writer_freep) struct cl_clx_writer *w = NULL;
	struct cl_export_out out = {.fd = -1, .dir_fd = -1};
	const struct cl_tar_ops *ops = NULL;
	_cleanup_close_ int upper = -1;
	struct cl_cli_progress prog;
	struct cl_clx_opts o = {
	    .jobs = a->jobs,
	    .compression =
		(a->compress == CL_EXPORT_ZSTD) ? CL_CLX_COMPRESS_ZSTD : CL_CLX_COMPRESS_NONE,
	    .progress = cl_cli_progress_update,
	    .progress_ctx = &prog,
	};
	int r;

	cl_cli_progress_init(&prog, "export", a->quiet, 0);
	/* the store (it may setns) before the writer starts its threads */
	r = cl_export_open_upper(g, a->id, &upper, err);
	if (r == 0 && a->oci) {
		r = cl_export_oci(a, upper, &prog, err);
		cl_cli_progress_end(&prog);
		return r;
	}
	if (r == 0)
		r = cl_tar_ops_load(NULL, &ops, err);
	if (r == 0)
		r = cl_export_out_open(a->out, &out, err);
	if (r == 0)
		r = export_writer(a, out.fd, &o, &w, err);
	/* libarchive and OpenSSL on open fds: no mount, network or exec */
	if (r == 0)
		r = cl_cli_sandbox(g, CL_SANDBOX_BULK_EXPORT, err);
	if (r == 0)
		r = export_pack(a, ops, upper, w, err);
	if (r == 0)
		r = cl_clx_writer_finish(w, err);
	if (r == 0)
		r = cl_export_out_commit(&out, err);
	cl_export_out_close(&out);
	cl_cli_progress_end(&prog);
	return r;
}

int cl_cmd_export(const struct cl_globals *g, int argc, char **argv)
{
	struct cl_export_args a = {0};
	struct cl_error *err = NULL;
	int r;

	if (cl_cli_want_help(argc, argv)) {
		export_usage();
		return CL_EXIT_OK;
	}
	r = export_parse(argc, argv, &a);
	if (r)
		return r;
	(void)CRYPTO_secure_malloc_init(64 * 1024, 32);
	if (do_export(g, &a, &err) < 0)
		return cl_cli_fail(&err, "export");
	return CL_EXIT_OK;
}
