/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * export --format oci: the upper as an OCI layer tar → (gzip|zstd) → ocicrypt's
 * AES_256_CTR_HMAC_SHA256 → blobs/sha256/<digest> of a new OCI image layout, with the
 * layer key's private options JWE-wrapped for each recipient (DESIGN §7,
 * docs/clx-format.md §9). The layout is built in a hidden directory beside the output
 * and renamed into place (DIR) or packed into FILE.tar, so nothing partial appears.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cmd/cryptlayer/export.h"
#include "lib/archive/ctr.h"
#include "lib/archive/ocicrypt.h"
#include "lib/archive/pool.h"
#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/jwe.h"
#include "lib/crypto/recipient.h"
#include "oci/image.h"

#define GZIP_LEVEL 1 /* zlib's fastest: a layer is compressed once per export */
#define ZSTD_LEVEL 3
#define LAYER_TMP ".layer.tmp"

CL_DEFINE_CLEANUP(EVP_MD_CTX *, EVP_MD_CTX_free)

/* the data path: tar → [diff_id digest] → [compressor] → ctr */
struct oci_sink {
	const struct cl_tar_ops *ops;
	struct cl_zstd *z;
	struct cl_gzip *gz;
	EVP_MD_CTX *diff; /* SHA-256 of the uncompressed tar (diff_id), when compressed */
	struct cl_ctr *ctr;
	struct cl_cli_progress *prog;
	uint64_t done;
};

static int sink_ctr(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	struct oci_sink *s = ctx;

	return cl_ctr_write(s->ctr, buf, len, err);
}

static int sink_tar(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	struct oci_sink *s = ctx;

	s->done += len;
	cl_cli_progress_update(s->prog, s->done, 0);
	if (s->diff && EVP_DigestUpdate(s->diff, buf, len) != 1)
		return cl_error_set(err, EIO, "sha-256");
	if (s->gz)
		return s->ops->gzip_write(s->gz, buf, len, err);
	if (s->z)
		return s->ops->zstd_write(s->z, buf, len, err);
	return cl_ctr_write(s->ctr, buf, len, err);
}

static const char *goarch(void)
{
	static struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	if (!strcmp(u.machine, "x86_64"))
		return "amd64";
	if (!strcmp(u.machine, "aarch64"))
		return "arm64";
	return u.machine;
}

struct oci_build {
	const struct cl_export_args *a;
	int dir_fd;   /* the staging layout directory */
	int blobs_fd; /* its blobs/sha256 */
	struct cl_occ_priv priv;
	struct cl_ctr_result res;
	unsigned char diff_id[32];
	uint64_t layer_size;
	EVP_PKEY *rcpts[CL_CLX_MAX_STANZAS];
};

/* pack, compress and encrypt the upper into blobs/sha256/.layer.tmp */
static int build_layer(struct oci_build *b, int upper, struct cl_cli_progress *prog,
		       struct cl_error **err)
{
	const struct cl_export_args *a = b->a;
	_cleanup_(cl_ctr_freep) struct cl_ctr *ctr = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *diff = NULL;
	_cleanup_close_ int fd = -1;
	unsigned jobs = a->jobs ? a->jobs : cl_pool_default_threads();
	struct oci_sink s = {.prog = prog};
	unsigned int n = 0;
	int r;

	r = cl_tar_ops_load(NULL, &s.ops, err);
	if (r < 0)
		return r;
	fd = openat(b->blobs_fd, LAYER_TMP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return cl_error_set(err, errno, "create layer blob");
	r = cl_ctr_new(CL_CTR_ENCRYPT, b->priv.key, b->priv.nonce, jobs, fd, &ctr, err);
	if (r < 0)
		return r;
	s.ctr = ctr;
	if (a->compress != CL_EXPORT_NONE) {
		diff = EVP_MD_CTX_new();
		if (!diff || EVP_DigestInit_ex(diff, EVP_sha256(), NULL) != 1)
			return cl_error_set(err, ENOMEM, "sha-256");
		s.diff = diff;
	}
	if (a->compress == CL_EXPORT_GZIP)
		r = s.ops->gzip_new(true, GZIP_LEVEL, jobs, sink_ctr, &s, &s.gz, err);
	else if (a->compress == CL_EXPORT_ZSTD)
		r = s.ops->zstd_new(true, ZSTD_LEVEL, jobs, sink_ctr, &s, &s.z, err);
	if (r == 0)
		r = s.ops->pack(upper, 0, jobs, sink_tar, &s, err);
	if (r == 0 && s.gz)
		r = s.ops->gzip_finish(s.gz, err);
	if (r == 0 && s.z)
		r = s.ops->zstd_finish(s.z, err);
	if (s.gz)
		s.ops->gzip_free(s.gz);
	if (s.z)
		s.ops->zstd_free(s.z);
	if (r == 0)
		r = cl_ctr_finish(ctr, &b->res, err);
	if (r == 0 && diff && EVP_DigestFinal_ex(diff, b->diff_id, &n) != 1)
		r = cl_error_set(err, EIO, "sha-256");
	if (r == 0 && !diff)
		memcpy(b->diff_id, b->res.sha_in, 32);
	if (r == 0 && fdatasync(fd) < 0)
		r = cl_error_set(err, errno, "write layer blob");
	b->layer_size = b->res.bytes;
	return r;
}

/* a JSON document as blobs/sha256/<digest>; its descriptor's digest and size */
static int put_blob(struct oci_build *b, const char *json, struct cl_oci_desc *d,
		    struct cl_error **err)
{
	unsigned char sha[32];
	unsigned int n = 0;

	if (EVP_Digest(json, strlen(json), sha, &n, EVP_sha256(), NULL) != 1)
		return cl_error_set(err, EIO, "sha-256");
	cl_occ_digest_str(sha, d->digest);
	d->size = strlen(json);
	return cl_write_file_atomic_at(b->blobs_fd, d->digest + 7, json, strlen(json), 0644, err);
}

static int layer_desc(struct oci_build *b, struct cl_oci_desc *d, struct cl_error **err)
{
	enum cl_oci_compression c = b->a->compress == CL_EXPORT_GZIP   ? CL_OCI_GZIP
				    : b->a->compress == CL_EXPORT_ZSTD ? CL_OCI_ZSTD
								       : CL_OCI_TAR;
	int r;

	d->media_type = strdup(cl_oci_layer_media_type(c, true));
	cl_occ_digest_str(b->res.sha_out, d->digest);
	/* ocicrypt's privopts digest: the plain (compressed) blob, what a decryptor gets */
	cl_occ_digest_str(b->res.sha_in, b->priv.digest);
	d->size = b->layer_size;
	if (!d->media_type)
		return cl_error_set(err, ENOMEM, "layer");
	r = cl_occ_keys_annotation(&b->priv, b->rcpts, b->a->nrcpts, &d->keys_jwe, err);
	if (r == 0)
		r = cl_occ_pub_annotation(b->res.hmac, &d->pubopts, err);
	if (r == 0 && renameat(b->blobs_fd, LAYER_TMP, b->blobs_fd, d->digest + 7) < 0)
		r = cl_error_set(err, errno, "layer blob");
	return r;
}

/* config, manifest, index.json, oci-layout around the layer */
static int build_docs(struct oci_build *b, struct cl_error **err)
{
	struct cl_oci_manifest m = {.nlayers = 1};
	struct cl_oci_desc man = {.media_type = (char *)CL_OCI_MT_MANIFEST};
	_cleanup_free_ char *cfg = NULL, *mj = NULL, *ij = NULL;
	char diff[CL_OCC_DIGEST_LEN + 1];
	int r;

	cl_occ_digest_str(b->diff_id, diff);
	m.config.media_type = (char *)CL_OCI_MT_CONFIG;
	r = cl_oci_config_json(diff, goarch(), &cfg, err);
	if (r == 0)
		r = put_blob(b, cfg, &m.config, err);
	if (r == 0)
		r = layer_desc(b, &m.layers[0], err);
	if (r == 0)
		r = cl_oci_manifest_json(&m, &mj, err);
	if (r == 0)
		r = put_blob(b, mj, &man, err);
	if (r == 0)
		r = cl_oci_index_json(&man, "latest", &ij, err);
	if (r == 0)
		r = cl_write_file_atomic_at(b->dir_fd, "index.json", ij, strlen(ij), 0644, err);
	if (r == 0)
		r = cl_write_file_atomic_at(b->dir_fd, "oci-layout",
					    "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644, err);
	cl_oci_desc_clear(&m.layers[0]);
	return r;
}

static int load_rcpts(struct oci_build *b, struct cl_error **err)
{
	for (size_t i = 0; i < b->a->nrcpts; i++) {
		int r = cl_pkey_read_public(b->a->rcpts[i], &b->rcpts[i], err);

		if (r == 0)
			r = cl_jwe_key_check(b->rcpts[i], b->a->rcpts[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int new_key(struct oci_build *b, struct cl_error **err)
{
	b->priv.key = cl_secret_random(CL_CTR_KEY_LEN, err);
	if (!b->priv.key)
		return -EIO;
	if (RAND_bytes(b->priv.nonce, sizeof(b->priv.nonce)) != 1)
		return cl_error_set(err, EIO, "random nonce");
	return 0;
}

/* the staging directory ".NAME.XXXXXX" beside @out, with blobs/sha256 */
static int stage_open(const char *out, int *ret_parent, char **ret_name, struct oci_build *b,
		      struct cl_error **err)
{
	_cleanup_free_ char *d = strdup(out), *base = strdup(out), *tmpl = NULL;
	/* once: dirname() cuts @d in place, and a second call would give the grandparent
	 * (where the staging directory is not, so it was never removed) */
	const char *dir = d ? dirname(d) : NULL;

	if (!dir || !base || asprintf(&tmpl, "%s/.%s.XXXXXX", dir, basename(base)) < 0)
		return cl_error_set(err, ENOMEM, "output");
	if (!mkdtemp(tmpl))
		return cl_error_set(err, errno, "create a directory beside '%s'", out);
	*ret_name = TAKE_PTR(tmpl);
	*ret_parent = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	b->dir_fd = open(*ret_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ret_parent < 0 || b->dir_fd < 0 || fchmod(b->dir_fd, 0755) < 0)
		return cl_error_set(err, errno, "open '%s'", *ret_name);
	if (cl_mkdir_p_at(b->dir_fd, "blobs/sha256", 0755, err) < 0)
		return -EIO;
	b->blobs_fd = openat(b->dir_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* readable by all, like what skopeo writes (the process umask is 077) */
	if (b->blobs_fd < 0 || fchmod(b->blobs_fd, 0755) < 0 ||
	    fchmodat(b->dir_fd, "blobs", 0755, 0) < 0)
		return cl_error_set(err, errno, "blobs directory");
	return 0;
}

static bool is_tar_name(const char *out)
{
	size_t n = strlen(out);

	return n > 4 && !strcmp(out + n - 4, ".tar");
}

static int sink_out(void *ctx, const void *buf, size_t len, struct cl_error **err)
{
	struct cl_export_out *o = ctx;
	int r = cl_write_all(o->fd, buf, len);

	return r < 0 ? cl_error_set(err, -r, "write '%s'", o->name) : 0;
}

/* the staging directory → FILE.tar (an oci-archive), or renamed to DIR */
static int publish(const char *out, int dir_fd, const char *stage, struct cl_error **err)
{
	struct cl_export_out o = {.fd = -1, .dir_fd = -1};
	const struct cl_tar_ops *ops = NULL;
	int r;

	if (!is_tar_name(out)) {
		if (rename(stage, out) == 0)
			return 0;
		return cl_error_set(err, errno == ENOTEMPTY ? EEXIST : errno,
				    "output directory '%s'", out);
	}
	r = cl_tar_ops_load(NULL, &ops, err);
	if (r == 0)
		r = cl_export_out_open(out, &o, err);
	if (r == 0)
		r = ops->pack(dir_fd, 0, 1, sink_out, &o, err);
	if (r == 0)
		r = cl_export_out_commit(&o, err);
	cl_export_out_close(&o);
	return r;
}

int cl_export_oci(const struct cl_export_args *a, int upper, struct cl_cli_progress *prog,
		  struct cl_error **err)
{
	struct oci_build b = {.a = a, .dir_fd = -1, .blobs_fd = -1};
	_cleanup_free_ char *stage = NULL;
	_cleanup_close_ int parent = -1;
	struct stat st;
	int r;

	if (!is_tar_name(a->out) && stat(a->out, &st) == 0)
		return cl_error_set(err, EEXIST, "output directory '%s'", a->out);
	r = load_rcpts(&b, err);
	if (r == 0)
		r = new_key(&b, err);
	if (r == 0)
		r = stage_open(a->out, &parent, &stage, &b, err);
	if (r == 0)
		r = build_layer(&b, upper, prog, err);
	if (r == 0)
		r = build_docs(&b, err);
	if (r == 0)
		r = publish(a->out, b.dir_fd, stage, err);
	/* a tar was made from the staging directory, or it failed: remove it */
	if (stage && (r < 0 || is_tar_name(a->out)))
		(void)cl_rm_rf_at(parent, strrchr(stage, '/') + 1, NULL);
	if (b.dir_fd >= 0)
		close(b.dir_fd);
	if (b.blobs_fd >= 0)
		close(b.blobs_fd);
	cl_occ_priv_clear(&b.priv);
	for (size_t i = 0; i < a->nrcpts; i++)
		EVP_PKEY_free(b.rcpts[i]);
	return r;
}
