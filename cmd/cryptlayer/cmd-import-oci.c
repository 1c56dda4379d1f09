/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * import of an OCI image layout (a directory, or an oci-archive tar) whose layers are
 * plain or encrypted by containers/ocicrypt (export --format oci, skopeo copy
 * --encryption-key, podman, buildah). Verify first, then use (DESIGN §7):
 *
 *   1. index.json → the manifest blob (sha256 checked) → the config blob (checked);
 *   2. every layer blob: its size, its sha256 against the manifest, and for an
 *      encrypted layer the layer key unwrapped from the JWE with one of the
 *      identities and the HMAC-SHA256 of the whole ciphertext against pubopts, all
 *      before any layer exists (no plaintext is made yet);
 *   3. only then the new layer is created; its populate step decrypts the same open
 *      blobs (parallel CTR), decompresses and unpacks them in order, checking on the
 *      way that they are the bytes verified in 2 (a GMAC under a one-time random key,
 *      computed in both passes: a tenth of the cost of the SHA-256 again) and the
 *      plaintext digest of the wrapped options: a blob changed between the two
 *      passes fails the import and the layer is erased.
 *
 * An oci-archive is first unpacked (ciphertext or plain blobs, nothing decrypted) into
 * a private temporary directory under /var/tmp that is removed on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cmd/cryptlayer/import.h"
#include "cmd/cryptlayer/progress.h"
#include "lib/archive/ctr.h"
#include "lib/archive/ocicrypt.h"
#include "lib/archive/tar.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/jwe.h"
#include "lib/crypto/recipient.h"
#include "oci/image.h"

#define CLX_MAGIC                                                                                  \
	"\x89"                                                                                     \
	"CLX"

CL_DEFINE_CLEANUP(EVP_MAC_CTX *, EVP_MAC_CTX_free)

struct oci_layer {
	const struct cl_oci_desc *d;
	int fd;
	struct cl_occ_priv priv; /* encrypted layers */
	unsigned char hmac[32];
	struct cl_secret *tag_key; /* the GMAC key of both passes */
	unsigned char tag[16];	   /* the blob's GMAC in pass 1 */
};

struct oci_import {
	const struct cl_import_args *a;
	const struct cl_tar_ops *ops;
	int dir_fd, blobs_fd;
	char *tmpdir; /* an oci-archive's unpacked copy, or NULL */
	struct cl_oci_manifest m;
	struct oci_layer layers[CL_OCI_MAX_LAYERS];
	EVP_PKEY *ids[CL_CLX_MAX_STANZAS];
	/* populate: the layer being unpacked */
	struct oci_layer *cur;
	struct cl_ctr *ctr;
	struct cl_zstd *z;
	struct cl_gzip *gz;
	unsigned char buf[CL_CTR_CHUNK]; /* an oci-archive's and a plain layer's reads */
	unsigned sandbox_flags;
	int upper_fd; /* for populate_sandboxed() */
};

int cl_import_is_oci(const char *in, struct cl_error **err)
{
	_cleanup_close_ int fd = -1;
	char head[512];
	struct stat st;
	ssize_t n;

	if (!strcmp(in, "-"))
		return 0;
	if (stat(in, &st) < 0)
		return cl_error_set(err, errno, "'%s'", in);
	if (S_ISDIR(st.st_mode))
		return 1;
	if (!S_ISREG(st.st_mode))
		return 0;
	fd = open(in, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", in);
	n = pread(fd, head, sizeof(head), 0);
	if (n >= 4 && !memcmp(head, CLX_MAGIC, 4))
		return 0;
	/* POSIX ustar / GNU tar magic at 257 */
	return n == (ssize_t)sizeof(head) && !memcmp(head + 257, "ustar", 5);
}

/* ---- the layout --------------------------------------------------------------------- */

static ssize_t src_fd(void *ctx, const void **ret, struct cl_error **err)
{
	struct oci_import *o = ctx;
	ssize_t n;

	do
		n = read(o->cur->fd, o->buf, sizeof(o->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cl_error_set(err, errno, "read");
	*ret = o->buf;
	return n;
}

/* an oci-archive: unpacked into a private directory (blobs only, nothing decrypted) */
static int open_archive(struct oci_import *o, struct cl_error **err)
{
	struct oci_layer arch = {.fd = -1};
	int r;

	/* a fixed place: nothing is read from the environment (DESIGN §5); /var/tmp is on
	 * disk, where /tmp and the run dir may be tmpfs (memory) */
	o->tmpdir = strdup("/var/tmp/cryptlayer-import.XXXXXX");
	if (!o->tmpdir)
		return cl_error_set(err, ENOMEM, "import");
	if (!mkdtemp(o->tmpdir)) {
		r = cl_error_set(err, errno, "temporary directory '%s'", o->tmpdir);
		free(o->tmpdir);
		o->tmpdir = NULL;
		return r;
	}
	o->dir_fd = open(o->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	arch.fd = open(o->a->in, O_RDONLY | O_CLOEXEC);
	if (o->dir_fd < 0 || arch.fd < 0)
		return cl_error_set(err, errno, "open '%s'", o->a->in);
	o->cur = &arch;
	r = o->ops->unpack(o->dir_fd, CL_TAR_NO_DEVICES | CL_TAR_NO_SETID, src_fd, o, err);
	o->cur = NULL;
	close(arch.fd);
	return r < 0 ? cl_error_wrap(err, "oci-archive '%s'", o->a->in) : 0;
}

/* a blob by digest: a regular file of the expected size */
static int blob_open(struct oci_import *o, const struct cl_oci_desc *d, struct cl_error **err)
{
	struct stat st;
	int fd = openat(o->blobs_fd, d->digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cl_error_set(err, errno, "blob %s", d->digest);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != d->size) {
		close(fd);
		return cl_error_set(err, EBADMSG, "blob %s: %s", d->digest,
				    S_ISREG(st.st_mode) ? "size differs from the manifest's"
							: "not a regular file");
	}
	return fd;
}

/* a small JSON blob, read whole and checked against its digest */
static int blob_read(struct oci_import *o, const struct cl_oci_desc *d, char **ret, size_t *ret_len,
		     struct cl_error **err)
{
	_cleanup_close_ int fd = -1;
	unsigned char sha[32];
	char hex[CL_OCC_DIGEST_LEN + 1];
	int r;

	if (d->size > CL_OCI_MAX_DOC)
		return cl_error_set(err, EFBIG, "blob %s: %llu bytes", d->digest,
				    (unsigned long long)d->size);
	fd = blob_open(o, d, err);
	if (fd < 0)
		return fd;
	r = cl_read_all_fd(fd, CL_OCI_MAX_DOC, ret, ret_len, err);
	if (r < 0)
		return r;
	if (EVP_Digest(*ret, *ret_len, sha, NULL, EVP_sha256(), NULL) != 1)
		return cl_error_set(err, EIO, "sha-256");
	cl_occ_digest_str(sha, hex);
	if (strcmp(hex, d->digest) || *ret_len != d->size)
		return cl_error_set(err, EBADMSG, "blob %s: digest mismatch (%s)", d->digest, hex);
	return 0;
}

static int read_manifest(struct oci_import *o, struct cl_error **err)
{
	_cleanup_free_ char *idx = NULL, *man = NULL, *cfg = NULL;
	struct cl_oci_desc md = {0};
	size_t n = 0;
	int r;

	o->blobs_fd = openat(o->dir_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->blobs_fd < 0)
		return cl_error_set(err, errno, "'%s': not an OCI image layout (blobs/sha256)",
				    o->a->in);
	r = cl_read_file_at(o->dir_fd, "index.json", CL_OCI_MAX_DOC, &idx, &n, err);
	if (r == 0)
		r = cl_oci_index_parse(idx, n, &md, err);
	if (r == 0)
		r = blob_read(o, &md, &man, &n, err);
	if (r == 0)
		r = cl_oci_manifest_parse(man, n, &o->m, err);
	if (r == 0)
		r = blob_read(o, &o->m.config, &cfg, &n, err);
	cl_oci_desc_clear(&md);
	return r;
}

/* ---- pass 1: verify ------------------------------------------------------------- */

static int load_ids(struct oci_import *o, struct cl_error **err)
{
	for (size_t i = 0; i < o->a->nids; i++) {
		int r = cl_pkey_read_private(o->a->ids[i], &o->ids[i], err);

		if (r == 0)
			r = cl_jwe_key_check(o->ids[i], o->a->ids[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int layer_keys(struct oci_import *o, struct oci_layer *l, struct cl_error **err)
{
	int r;

	if (!l->d->keys_jwe || !l->d->pubopts)
		return cl_error_set(err, EBADMSG, "layer %s: encrypted, but no %s annotation",
				    l->d->digest, l->d->keys_jwe ? "pubopts" : "keys.jwe");
	r = cl_occ_pub_parse(l->d->pubopts, l->hmac, err);
	if (r == 0)
		r = cl_occ_keys_unwrap(l->d->keys_jwe, o->ids, o->a->nids, &l->priv, err);
	return r < 0 ? cl_error_wrap(err, "layer %s", l->d->digest) : 0;
}

/* digest (and HMAC) of the whole blob: nothing is decrypted */
static int layer_verify(struct oci_layer *l, struct cl_error **err)
{
	_cleanup_(cl_ctr_freep) struct cl_ctr *c = NULL;
	struct cl_ctr_result res = {0};
	char hex[CL_OCC_DIGEST_LEN + 1];
	int r;

	l->tag_key = cl_secret_random(CL_CTR_TAG_KEY_LEN, err);
	if (!l->tag_key)
		return -EIO;
	/* a plain layer (no key): its digest and tag, no HMAC */
	r = cl_ctr_new_tagged(CL_CTR_VERIFY, l->d->encrypted ? l->priv.key : NULL, l->priv.nonce,
			      l->tag_key, 1, -1, &c, err);
	if (r == 0)
		r = cl_ctr_feed_fd(c, l->fd, err);
	if (r == 0)
		r = cl_ctr_finish(c, &res, err);
	if (r < 0)
		return cl_error_wrap(err, "layer %s", l->d->digest);
	cl_occ_digest_str(res.sha_in, hex);
	if (strcmp(hex, l->d->digest) || res.bytes != l->d->size)
		return cl_error_set(err, EBADMSG, "layer %s: digest mismatch (the blob is %s)",
				    l->d->digest, hex);
	if (l->d->encrypted && CRYPTO_memcmp(res.hmac, l->hmac, 32))
		return cl_error_set(err, EBADMSG,
				    "layer %s: HMAC mismatch (damaged or forged ciphertext or "
				    "pubopts)",
				    l->d->digest);
	memcpy(l->tag, res.tag, sizeof(l->tag));
	return 0;
}

static int verify_all(struct oci_import *o, struct cl_error **err)
{
	int r = 0;

	for (size_t i = 0; i < o->m.nlayers && r == 0; i++) {
		struct oci_layer *l = &o->layers[i];

		l->d = &o->m.layers[i];
		l->fd = blob_open(o, l->d, err);
		if (l->fd < 0)
			return l->fd;
		if (l->d->encrypted)
			r = layer_keys(o, l, err);
		if (r == 0)
			r = layer_verify(l, err);
	}
	return r;
}

/* ---- pass 2: decrypt, decompress, unpack ---------------------------------------- */

struct pass2 {
	struct oci_import *o;
	EVP_MAC_CTX *plain; /* a plain layer's tag, computed again (the pipeline's otherwise) */
	uint64_t plain_bytes;
};

static ssize_t src_blob(void *ctx, const void **ret, struct cl_error **err)
{
	struct pass2 *p = ctx;
	ssize_t n;

	if (p->o->ctr)
		return cl_ctr_read(p->o->ctr, ret, err);
	n = src_fd(p->o, ret, err);
	if (n > 0 && EVP_MAC_update(p->plain, *ret, (size_t)n) != 1)
		return cl_error_set(err, EIO, "gmac");
	if (n > 0)
		p->plain_bytes += (uint64_t)n;
	return n;
}

static ssize_t src_payload(void *ctx, const void **ret, struct cl_error **err)
{
	struct pass2 *p = ctx;
	struct oci_import *o = p->o;

	if (o->gz)
		return o->ops->gzip_read(o->gz, src_blob, p, ret, err);
	if (o->z)
		return o->ops->zstd_read(o->z, src_blob, p, ret, err);
	return src_blob(p, ret, err);
}

static void layer_close(struct oci_import *o)
{
	if (o->gz)
		o->ops->gzip_free(o->gz);
	if (o->z)
		o->ops->zstd_free(o->z);
	cl_ctr_free(o->ctr); /* joins its threads */
	o->gz = NULL;
	o->z = NULL;
	o->ctr = NULL;
}

/* the second look at the bytes that were unpacked: the same as verified in pass 1 */
static int layer_recheck(struct pass2 *p, struct oci_layer *l, struct cl_error **err)
{
	struct cl_ctr_result res = {0};
	char plain[CL_OCC_DIGEST_LEN + 1];
	size_t n = 0;
	int r;

	if (!p->o->ctr) {
		if (EVP_MAC_final(p->plain, res.tag, &n, sizeof(res.tag)) != 1 ||
		    n != sizeof(res.tag))
			return cl_error_set(err, EIO, "gmac");
		res.bytes = p->plain_bytes;
	} else if ((r = cl_ctr_finish(p->o->ctr, &res, err)) < 0) {
		return r;
	}
	cl_occ_digest_str(res.sha_out, plain);
	/* the bytes that pass 1 verified (digest, and HMAC): the same tag under its key */
	if (CRYPTO_memcmp(res.tag, l->tag, sizeof(l->tag)) || res.bytes != l->d->size)
		return cl_error_set(err, EBADMSG, "layer %s changed while importing", l->d->digest);
	if (!p->o->ctr)
		return 0;
	if (strcmp(plain, l->priv.digest))
		return cl_error_set(err, EBADMSG,
				    "layer %s: decrypted blob is %s, the wrapped options say %s",
				    l->d->digest, plain, l->priv.digest);
	return 0;
}

static int layer_apply(struct oci_import *o, struct oci_layer *l, int upper_fd, unsigned flags,
		       struct cl_error **err)
{
	_cleanup_(EVP_MAC_CTX_freep) EVP_MAC_CTX *tag = NULL;
	struct pass2 p = {.o = o};
	const void *buf = NULL;
	ssize_t n;
	int r = 0;

	o->cur = l;
	if (lseek(l->fd, 0, SEEK_SET) < 0)
		return cl_error_set(err, errno, "layer %s", l->d->digest);
	if (!l->d->encrypted && (r = cl_ctr_tag_new(l->tag_key, &tag, err)) == 0)
		p.plain = tag;
	else if (l->d->encrypted)
		r = cl_ctr_new_tagged(CL_CTR_DECRYPT_NOMAC, l->priv.key, l->priv.nonce, l->tag_key,
				      o->a->jobs, l->fd, &o->ctr, err);
	if (r == 0 && l->d->compression == CL_OCI_GZIP)
		r = o->ops->gzip_new(false, 0, 1, NULL, NULL, &o->gz, err);
	if (r == 0 && l->d->compression == CL_OCI_ZSTD)
		r = o->ops->zstd_new(false, 0, 1, NULL, NULL, &o->z, err);
	if (r == 0)
		r = o->ops->unpack(upper_fd, o->a->unpack_flags | flags, src_payload, &p, err);
	/* the tar ends before the blob does: read on to the end, then check it all */
	while (r == 0 && (n = src_payload(&p, &buf, err)) != 0)
		r = n < 0 ? (int)n : 0;
	while (r == 0 && (n = src_blob(&p, &buf, err)) != 0)
		r = n < 0 ? (int)n : 0;
	if (r == 0)
		r = layer_recheck(&p, l, err);
	layer_close(o);
	return r < 0 ? cl_error_wrap(err, "layer %s", l->d->digest) : 0;
}

static int populate_sandboxed(void *ctx, struct cl_error **err)
{
	struct oci_import *o = ctx;

	for (size_t i = 0; i < o->m.nlayers; i++) {
		/* the first layer goes into the empty upper, the others over it */
		int r = layer_apply(o, &o->layers[i], o->upper_fd, i ? CL_TAR_LAYERED : 0, err);

		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * CL_OP_POPULATE_UPPER: libarchive, zlib/zstd and OpenSSL on a thread that cannot mount,
 * connect, trace or exec (lib/sandbox); this thread keeps what the rollback needs
 */
static int populate(void *ctx, int upper_fd, struct cl_error **err)
{
	struct oci_import *o = ctx;

	o->upper_fd = upper_fd;
	return cl_sandbox_run_thread(CL_SANDBOX_BULK_UNPACK, o->sandbox_flags, populate_sandboxed,
				     o, err);
}

/* ---- the command ---------------------------------------------------------------- */

static int oci_open(struct oci_import *o, struct cl_error **err)
{
	struct stat st;
	bool any_encrypted = false;
	int r = cl_tar_ops_load(NULL, &o->ops, err);

	if (r < 0)
		return r;
	if (stat(o->a->in, &st) == 0 && S_ISDIR(st.st_mode)) {
		o->dir_fd = open(o->a->in, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (o->dir_fd < 0)
			return cl_error_set(err, errno, "open '%s'", o->a->in);
	} else if ((r = open_archive(o, err)) < 0) {
		return r;
	}
	r = read_manifest(o, err);
	for (size_t i = 0; r == 0 && i < o->m.nlayers; i++)
		any_encrypted |= o->m.layers[i].encrypted;
	if (r == 0 && any_encrypted)
		r = load_ids(o, err);
	return r;
}

static void oci_close(struct oci_import *o)
{
	layer_close(o);
	for (size_t i = 0; i < CL_OCI_MAX_LAYERS; i++) {
		if (o->layers[i].fd >= 0)
			close(o->layers[i].fd);
		cl_occ_priv_clear(&o->layers[i].priv);
		cl_secret_free(o->layers[i].tag_key);
	}
	for (size_t i = 0; i < CL_CLX_MAX_STANZAS; i++)
		EVP_PKEY_free(o->ids[i]);
	cl_oci_manifest_clear(&o->m);
	if (o->blobs_fd >= 0)
		close(o->blobs_fd);
	if (o->dir_fd >= 0)
		close(o->dir_fd);
	if (o->tmpdir) {
		char *slash = strrchr(o->tmpdir, '/');
		_cleanup_close_ int parent = -1;

		*slash = '\0';
		parent =
		    open(slash == o->tmpdir ? "/" : o->tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent >= 0)
			(void)cl_rm_rf_at(parent, slash + 1, NULL);
		free(o->tmpdir);
	}
}

int cl_import_oci(const struct cl_globals *g, const struct cl_import_args *a,
		  struct cl_record *ret_rec, struct cl_error **err)
{
	struct cl_ctx ctx = cl_cli_ctx(g);
	struct cl_request req = {.enabled = true, .keymode = a->keymode};
	_cleanup_free_ char *id = a->id_arg ? strdup(a->id_arg) : NULL;
	_cleanup_free_ struct oci_import *o = calloc(1, sizeof(*o));
	int r;

	if (!o || (!id && (a->id_arg || cl_layer_new_id(&id) < 0)))
		return cl_error_set(err, ENOMEM, "import");
	o->a = a;
	o->dir_fd = o->blobs_fd = o->upper_fd = -1;
	o->sandbox_flags = g->no_seccomp ? CL_SANDBOX_NO_SECCOMP : 0;
	for (size_t i = 0; i < CL_OCI_MAX_LAYERS; i++)
		o->layers[i].fd = -1;
	r = oci_open(o, err);
	if (r == 0)
		r = verify_all(o, err);
	if (r == 0) {
		struct cl_layer_args la = {.id = id,
					   .req = &req,
					   .lower = a->base,
					   .owner = CL_OWNER_CLI,
					   .populate = populate,
					   .populate_ctx = o};

		r = cl_layer_create(&ctx, &la, ret_rec, err);
	}
	oci_close(o);
	return r;
}
