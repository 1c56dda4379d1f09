/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The persistent key file (docs/keyfile-format.md). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/keyfile.h"

#define AAD_MAX (sizeof(CL_KEYFILE_AAD_LABEL) - 1 + 1 + CL_KEYFILE_ID_MAX + CL_KEYFILE_KID_LEN)

static void put16(unsigned char *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static bool all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

int cl_keyfile_encode(const struct cl_keyfile *kf, unsigned copy,
		      unsigned char out[CL_KEYFILE_COPY_SIZE], struct cl_error **err)
{
	size_t idlen = strnlen(kf->id, sizeof(kf->id));
	uint64_t seq = htole64(kf->seqid);

	if (copy >= CL_KEYFILE_COPIES || idlen == 0 || idlen > CL_KEYFILE_ID_MAX)
		return cl_error_set(err, EINVAL, "key file: bad copy index or layer id");
	memset(out, 0, CL_KEYFILE_COPY_SIZE);
	memcpy(out + CL_KEYFILE_OFF_MAGIC, CL_KEYFILE_MAGIC, CL_KEYFILE_MAGIC_LEN);
	put16(out + CL_KEYFILE_OFF_VERSION, CL_KEYFILE_VERSION);
	put16(out + CL_KEYFILE_OFF_COPY, (uint16_t)copy);
	memcpy(out + CL_KEYFILE_OFF_SEQID, &seq, sizeof(seq));
	memcpy(out + CL_KEYFILE_OFF_KID, kf->kid, CL_KEYFILE_KID_LEN);
	out[CL_KEYFILE_OFF_ID_LEN] = (unsigned char)idlen;
	memcpy(out + CL_KEYFILE_OFF_ID, kf->id, idlen);
	memcpy(out + CL_KEYFILE_OFF_NONCE, kf->nonce, CL_AEAD_NONCE_LEN);
	memcpy(out + CL_KEYFILE_OFF_CT, kf->ct, CL_KEYFILE_KEY_LEN);
	memcpy(out + CL_KEYFILE_OFF_TAG, kf->tag, CL_AEAD_TAG_LEN);
	return cl_crypto_sha256(out, CL_KEYFILE_OFF_SUM, out + CL_KEYFILE_OFF_SUM, err);
}

/* everything but the checksum; the checksum is checked first by the caller */
static int decode_fields(const unsigned char *in, unsigned copy, struct cl_keyfile *kf,
			 struct cl_error **err)
{
	unsigned idlen = in[CL_KEYFILE_OFF_ID_LEN];
	uint64_t seq;

	if (get16(in + CL_KEYFILE_OFF_VERSION) != CL_KEYFILE_VERSION)
		return cl_error_set(err, EBADMSG, "copy %u: unsupported version %u", copy,
				    get16(in + CL_KEYFILE_OFF_VERSION));
	if (get16(in + CL_KEYFILE_OFF_COPY) != copy)
		return cl_error_set(err, EBADMSG, "copy %u: says it is copy %u", copy,
				    get16(in + CL_KEYFILE_OFF_COPY));
	if (idlen == 0 || idlen > CL_KEYFILE_ID_MAX ||
	    memchr(in + CL_KEYFILE_OFF_ID, '\0', idlen) ||
	    !all_zero(in + CL_KEYFILE_OFF_FLAGS, 4) ||
	    !all_zero(in + CL_KEYFILE_OFF_ID_LEN + 1,
		      CL_KEYFILE_OFF_ID - CL_KEYFILE_OFF_ID_LEN - 1) ||
	    !all_zero(in + CL_KEYFILE_OFF_ID + idlen, CL_KEYFILE_ID_MAX - idlen) ||
	    !all_zero(in + CL_KEYFILE_OFF_END, CL_KEYFILE_OFF_SUM - CL_KEYFILE_OFF_END))
		return cl_error_set(err, EBADMSG, "copy %u: malformed fields", copy);
	memset(kf, 0, sizeof(*kf));
	memcpy(&seq, in + CL_KEYFILE_OFF_SEQID, sizeof(seq));
	kf->seqid = le64toh(seq);
	memcpy(kf->kid, in + CL_KEYFILE_OFF_KID, CL_KEYFILE_KID_LEN);
	memcpy(kf->id, in + CL_KEYFILE_OFF_ID, idlen);
	memcpy(kf->nonce, in + CL_KEYFILE_OFF_NONCE, CL_AEAD_NONCE_LEN);
	memcpy(kf->ct, in + CL_KEYFILE_OFF_CT, CL_KEYFILE_KEY_LEN);
	memcpy(kf->tag, in + CL_KEYFILE_OFF_TAG, CL_AEAD_TAG_LEN);
	return 0;
}

int cl_keyfile_decode_copy(const unsigned char *in, size_t len, unsigned copy,
			   struct cl_keyfile *ret, struct cl_error **err)
{
	unsigned char sum[32];
	int r;

	if (copy >= CL_KEYFILE_COPIES || len != CL_KEYFILE_COPY_SIZE)
		return cl_error_set(err, EBADMSG, "copy %u: truncated (%zu bytes)", copy, len);
	if (memcmp(in, CL_KEYFILE_MAGIC, CL_KEYFILE_MAGIC_LEN))
		return cl_error_set(err, EBADMSG, "copy %u: bad magic", copy);
	r = cl_crypto_sha256(in, CL_KEYFILE_OFF_SUM, sum, err);
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(sum, in + CL_KEYFILE_OFF_SUM, sizeof(sum)))
		return cl_error_set(err, EBADMSG, "copy %u: checksum mismatch", copy);
	return decode_fields(in, copy, ret, err);
}

int cl_keyfile_decode(const unsigned char *in, size_t len, struct cl_keyfile *ret,
		      unsigned *ret_stale, struct cl_error **err)
{
	struct cl_keyfile kf[CL_KEYFILE_COPIES];
	struct cl_error *why[CL_KEYFILE_COPIES] = {};
	int best = -1, r;

	for (unsigned i = 0; i < CL_KEYFILE_COPIES; i++) {
		size_t off = (size_t)i * CL_KEYFILE_COPY_SIZE;
		size_t n = len > off ? len - off : 0;

		if (n > CL_KEYFILE_COPY_SIZE)
			n = CL_KEYFILE_COPY_SIZE;
		if (cl_keyfile_decode_copy(in + (n ? off : 0), n, i, &kf[i], &why[i]) < 0)
			continue;
		if (best < 0 || kf[i].seqid > kf[best].seqid)
			best = (int)i;
	}
	if (best < 0) {
		r = cl_error_set(err, EBADMSG, "both copies are damaged (%s; %s)",
				 why[0] && why[0]->msg ? why[0]->msg : "?",
				 why[1] && why[1]->msg ? why[1]->msg : "?");
		cl_error_free(&why[0]);
		cl_error_free(&why[1]);
		return r;
	}
	*ret_stale = 0;
	for (unsigned i = 0; i < CL_KEYFILE_COPIES; i++) {
		/* an invalid copy, or one left older by a crash between the two writes */
		if (why[i] || memcmp(&kf[i], &kf[best], sizeof(kf[i])))
			*ret_stale |= 1U << i;
		cl_error_free(&why[i]);
	}
	*ret = kf[best];
	return 0;
}

/* label ‖ u8 id length ‖ id ‖ key identifier: a blob is bound to one layer and key */
static size_t build_aad(const char *id, const unsigned char *kid, unsigned char *aad)
{
	size_t lab = sizeof(CL_KEYFILE_AAD_LABEL) - 1, idlen = strlen(id);

	memcpy(aad, CL_KEYFILE_AAD_LABEL, lab);
	aad[lab] = (unsigned char)idlen;
	memcpy(aad + lab + 1, id, idlen);
	memcpy(aad + lab + 1 + idlen, kid, CL_KEYFILE_KID_LEN);
	return lab + 1 + idlen + CL_KEYFILE_KID_LEN;
}

int cl_keyfile_seal(const struct cl_secret *mk, const char *id,
		    const unsigned char kid[CL_KEYFILE_KID_LEN], const struct cl_secret *key,
		    uint64_t seqid, struct cl_keyfile *ret, struct cl_error **err)
{
	unsigned char aad[AAD_MAX];
	struct cl_keyfile kf = {.seqid = seqid};
	size_t idlen = strlen(id), n;
	int r;

	if (idlen == 0 || idlen > CL_KEYFILE_ID_MAX || key->len != CL_KEYFILE_KEY_LEN)
		return cl_error_set(err, EINVAL, "key file: bad layer id or key length");
	memcpy(kf.id, id, idlen);
	memcpy(kf.kid, kid, CL_KEYFILE_KID_LEN);
	/* a random 96-bit nonce per wrap: the machine key wraps many layer keys */
	if (getrandom(kf.nonce, sizeof(kf.nonce), 0) != (ssize_t)sizeof(kf.nonce))
		return cl_error_set(err, errno ? errno : EIO, "getrandom");
	n = build_aad(id, kid, aad);
	r = cl_aead_seal(mk, kf.nonce, aad, n, key->data, key->len, kf.ct, kf.tag, err);
	if (r < 0)
		return cl_error_wrap(err, "wrap the key of '%s'", id);
	*ret = kf;
	return 0;
}

int cl_keyfile_unseal(const struct cl_secret *mk, const char *id, const struct cl_keyfile *kf,
		      struct cl_secret **ret_key, struct cl_error **err)
{
	unsigned char aad[AAD_MAX];
	size_t idlen = strlen(id), n;
	int r;

	if (idlen == 0 || idlen > CL_KEYFILE_ID_MAX)
		return cl_error_set(err, EINVAL, "key file: bad layer id");
	if (strcmp(kf->id, id))
		return cl_error_set(err, EBADMSG, "key file belongs to layer '%s', not '%s'",
				    kf->id, id);
	n = build_aad(id, kf->kid, aad);
	r = cl_aead_open(mk, kf->nonce, aad, n, kf->ct, sizeof(kf->ct), kf->tag, ret_key, err);
	if (r == -EBADMSG) {
		cl_error_free(err);
		return cl_error_set(err, EBADMSG,
				    "key of '%s' does not authenticate: wrong machine key? "
				    "(or a key file moved from another layer)",
				    id);
	}
	return r;
}

static int write_copy(int fd, const struct cl_keyfile *kf, unsigned copy, struct cl_error **err)
{
	unsigned char buf[CL_KEYFILE_COPY_SIZE];
	off_t off = (off_t)copy * CL_KEYFILE_COPY_SIZE;
	ssize_t n;
	int r;

	r = cl_keyfile_encode(kf, copy, buf, err);
	if (r < 0)
		return r;
	do
		n = pwrite(fd, buf, sizeof(buf), off);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(buf))
		return cl_error_set(err, n < 0 ? errno : EIO, "write key file copy %u", copy);
	/* each copy is durable before the next is touched (seed 002: one valid copy always) */
	if (fsync(fd) < 0)
		return cl_error_set(err, errno, "fsync key file copy %u", copy);
	return 0;
}

int cl_keyfile_write_at(int dfd, const char *name, const struct cl_keyfile *kf,
			struct cl_error **err)
{
	_cleanup_close_ int fd =
	    openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "create key file '%s'", name);
	for (unsigned i = 0; i < CL_KEYFILE_COPIES && r == 0; i++)
		r = write_copy(fd, kf, i, err);
	if (r == 0 && fsync(dfd) < 0)
		r = cl_error_set(err, errno, "fsync the directory of key file '%s'", name);
	if (r < 0) {
		(void)unlinkat(dfd, name, 0);
		return cl_error_wrap(err, "key file '%s'", name);
	}
	return 0;
}

static int read_file(int dfd, const char *name, unsigned char *buf, size_t *ret_len,
		     struct cl_error **err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "open key file '%s'", name);
	while (len < CL_KEYFILE_SIZE) {
		ssize_t n = read(fd, buf + len, CL_KEYFILE_SIZE - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, errno, "read key file '%s'", name);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}

static int repair(int dfd, const char *name, const struct cl_keyfile *kf, unsigned stale,
		  struct cl_error **err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cl_error_set(err, errno, "open key file '%s' for repair", name);
	for (unsigned i = 0; i < CL_KEYFILE_COPIES; i++)
		if ((stale & (1U << i)) && write_copy(fd, kf, i, err) < 0)
			return cl_error_wrap(err, "repair key file '%s'", name);
	return 0;
}

int cl_keyfile_load_at(int dfd, const char *name, const struct cl_secret *mk, const char *id,
		       struct cl_secret **ret_key, unsigned char ret_kid[CL_KEYFILE_KID_LEN],
		       unsigned *ret_repaired, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *key = NULL;
	unsigned char buf[CL_KEYFILE_SIZE];
	struct cl_keyfile kf;
	unsigned stale = 0;
	size_t len = 0;
	int r;

	r = read_file(dfd, name, buf, &len, err);
	if (r < 0)
		return r;
	r = cl_keyfile_decode(buf, len, &kf, &stale, err);
	if (r < 0)
		return cl_error_wrap(err, "key file '%s'", name);
	r = cl_keyfile_unseal(mk, id, &kf, &key, err);
	if (r < 0)
		return r;
	/* repair only a file that proved good: a wrong machine key changes nothing */
	if (stale) {
		r = repair(dfd, name, &kf, stale, err);
		if (r < 0)
			return r;
		cl_log(CL_LOG_WARN, "key file '%s': rewrote damaged or stale copy (mask %u)", name,
		       stale);
	}
	memcpy(ret_kid, kf.kid, CL_KEYFILE_KID_LEN);
	*ret_key = TAKE_PTR(key);
	if (ret_repaired)
		*ret_repaired = stale;
	return 0;
}

int cl_keyfile_erase_at(int dfd, const char *name, struct cl_error **err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	unsigned char noise[CL_KEYFILE_SIZE];

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return cl_error_set(err, errno, "open key file '%s'", name);
	/* overwrite in place first: the wrapped key must not survive in freed blocks */
	if (getrandom(noise, sizeof(noise), 0) != (ssize_t)sizeof(noise) ||
	    pwrite(fd, noise, sizeof(noise), 0) != (ssize_t)sizeof(noise) || fsync(fd) < 0)
		return cl_error_set(err, errno ? errno : EIO, "overwrite key file '%s'", name);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "unlink key file '%s'", name);
	if (fsync(dfd) < 0)
		return cl_error_set(err, errno, "fsync the directory of key file '%s'", name);
	return 0;
}
