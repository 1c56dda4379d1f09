/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/core/fd-util.h"
#include "lib/crypto/ossl-err.h"
#include "lib/crypto/recipient.h"

#define PEM_MAX (64U * 1024)

CL_DEFINE_CLEANUP(BIO *, BIO_free)
CL_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
CL_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)

/* never prompt on a terminal for a passphrase: encrypted keys are refused */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static int key_classify(EVP_PKEY *pkey, const char *name, bool public_only,
			enum cl_key_type *ret_type, unsigned char x25519[CL_X25519_LEN],
			struct cl_error **err)
{
	size_t n = CL_X25519_LEN;
	int bits;

	if (EVP_PKEY_is_a(pkey, "X25519")) {
		if (EVP_PKEY_get_raw_public_key(pkey, x25519, &n) != 1 || n != CL_X25519_LEN)
			return cl_error_ossl(err, EINVAL, "'%s': x25519 public key", name);
		*ret_type = CL_KEY_X25519;
		return 0;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return cl_error_set(err, EINVAL,
				    "'%s': unsupported %s key type %s (use X25519 or RSA >= %d "
				    "bits)",
				    name, public_only ? "public" : "private",
				    EVP_PKEY_get0_type_name(pkey), CL_RSA_MIN_BITS);
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < CL_RSA_MIN_BITS)
		return cl_error_set(err, EINVAL,
				    "'%s': RSA key of %d bits is too small "
				    "(need >= %d)",
				    name, bits, CL_RSA_MIN_BITS);
	if (bits > CL_RSA_MAX_BITS)
		return cl_error_set(err, EINVAL,
				    "'%s': RSA key of %d bits is too large "
				    "(max %d)",
				    name, bits, CL_RSA_MAX_BITS);
	memset(x25519, 0, CL_X25519_LEN);
	*ret_type = CL_KEY_RSA;
	return 0;
}

int cl_recipient_load_pem(const char *pem, size_t len, const char *name, struct cl_recipient **ret,
			  struct cl_error **err)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(pem, (int)len);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	struct cl_recipient *r;
	enum cl_key_type type = 0;
	unsigned char raw[CL_X25519_LEN];

	if (!bio)
		return cl_error_ossl(err, ENOMEM, "'%s'", name);
	pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	if (!pkey)
		return cl_error_ossl(err, EINVAL, "'%s': not a PEM public key", name);
	if (key_classify(pkey, name, true, &type, raw, err) < 0)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(name))) {
		free(r);
		return cl_error_set(err, ENOMEM, "'%s'", name);
	}
	r->type = type;
	r->pkey = TAKE_PTR(pkey);
	memcpy(r->x25519, raw, sizeof(raw));
	*ret = r;
	return 0;
}

int cl_recipient_load(const char *path, struct cl_recipient **ret, struct cl_error **err)
{
	_cleanup_free_ char *pem = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "open recipient '%s'", path);
	if (cl_read_all_fd(fd, PEM_MAX, &pem, &len, err) < 0)
		return cl_error_wrap(err, "recipient '%s'", path);
	return cl_recipient_load_pem(pem, len, path, ret, err);
}

void cl_recipient_free(struct cl_recipient *r)
{
	if (!r)
		return;
	EVP_PKEY_free(r->pkey);
	free(r->name);
	free(r);
}

int cl_identity_load_pem(const struct cl_secret *pem, size_t len, const char *name,
			 struct cl_identity **ret, struct cl_error **err)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(pem->data, (int)len);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	struct cl_identity *id;
	enum cl_key_type type = 0;
	unsigned char raw[CL_X25519_LEN];

	if (!bio)
		return cl_error_ossl(err, ENOMEM, "'%s'", name);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!pkey)
		return cl_error_ossl(err, EINVAL, "'%s': not an unencrypted PEM private key", name);
	if (key_classify(pkey, name, false, &type, raw, err) < 0)
		return -EINVAL;
	id = calloc(1, sizeof(*id));
	if (!id || !(id->name = strdup(name))) {
		free(id);
		return cl_error_set(err, ENOMEM, "'%s'", name);
	}
	id->type = type;
	id->pkey = TAKE_PTR(pkey);
	memcpy(id->x25519, raw, sizeof(raw));
	*ret = id;
	return 0;
}

/* read(2) straight into secret memory: no stdio buffer, no realloc leaving copies */
static int read_secret_fd(int fd, const char *name, struct cl_secret **ret, size_t *ret_len,
			  struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *s = cl_secret_new(PEM_MAX, err);
	size_t len = 0;

	if (!s)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, s->data + len, s->len - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cl_error_set(err, errno, "read identity '%s'", name);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == s->len)
			return cl_error_set(err, EFBIG, "identity '%s' larger than %u bytes", name,
					    PEM_MAX);
	}
	*ret = TAKE_PTR(s);
	*ret_len = len;
	return 0;
}

int cl_identity_load(const char *path, struct cl_identity **ret, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *pem = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "open identity '%s'", path);
	if (read_secret_fd(fd, path, &pem, &len, err) < 0)
		return -EIO;
	return cl_identity_load_pem(pem, len, path, ret, err);
}

int cl_identity_generate(struct cl_identity **ret, struct cl_error **err)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *kctx =
	    EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	struct cl_identity *id;
	size_t n = CL_X25519_LEN;

	if (!kctx || EVP_PKEY_keygen_init(kctx) != 1 || EVP_PKEY_generate(kctx, &pkey) != 1)
		return cl_error_ossl(err, EIO, "generate x25519 key");
	id = calloc(1, sizeof(*id));
	if (!id || !(id->name = strdup("(new)"))) {
		free(id);
		return cl_error_set(err, ENOMEM, "generate x25519 key");
	}
	id->type = CL_KEY_X25519;
	if (EVP_PKEY_get_raw_public_key(pkey, id->x25519, &n) != 1) {
		cl_identity_free(id);
		return cl_error_ossl(err, EIO, "x25519 public key");
	}
	id->pkey = TAKE_PTR(pkey);
	*ret = id;
	return 0;
}

int cl_identity_generate_type(const char *type, struct cl_identity **ret, struct cl_error **err)
{
	EVP_PKEY *pkey = NULL;
	struct cl_identity *id;

	if (!strcmp(type, "x25519"))
		return cl_identity_generate(ret, err);
	/* RSA-3072: the smallest that both .clx and OCI take; EC P-256: go-jose's default */
	pkey = !strcmp(type, "rsa")  ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)CL_RSA_MIN_BITS)
	       : !strcmp(type, "ec") ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
				     : NULL;
	if (!pkey)
		return cl_error_ossl(err, EIO, "generate %s key", type);
	id = calloc(1, sizeof(*id));
	if (!id || !(id->name = strdup("(new)"))) {
		free(id);
		EVP_PKEY_free(pkey);
		return cl_error_set(err, ENOMEM, "generate %s key", type);
	}
	id->type = !strcmp(type, "rsa") ? CL_KEY_RSA : CL_KEY_X25519;
	id->pkey = pkey;
	*ret = id;
	return 0;
}

static int bio_to_secret(BIO *bio, struct cl_secret **ret, size_t *ret_len, struct cl_error **err)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);
	struct cl_secret *s;

	if (n <= 0 || !data)
		return cl_error_ossl(err, EIO, "encode private key");
	s = cl_secret_new((size_t)n, err);
	if (!s)
		return -ENOMEM;
	memcpy(s->data, data, (size_t)n);
	*ret = s;
	*ret_len = (size_t)n;
	return 0;
}

int cl_identity_to_pem(const struct cl_identity *id, struct cl_secret **ret_priv,
		       size_t *ret_priv_len, char **ret_pub, struct cl_error **err)
{
	/* a secure-heap memory BIO: cleansed when freed */
	_cleanup_(BIO_freep) BIO *priv = BIO_new(BIO_s_secmem());
	_cleanup_(BIO_freep) BIO *pub = BIO_new(BIO_s_mem());
	_cleanup_secret_ struct cl_secret *s = NULL;
	char *data = NULL, *copy;
	size_t slen = 0;
	long n;

	if (!priv || !pub)
		return cl_error_ossl(err, ENOMEM, "encode key");
	if (PEM_write_bio_PrivateKey(priv, id->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		return cl_error_ossl(err, EIO, "encode private key");
	if (bio_to_secret(priv, &s, &slen, err) < 0)
		return -EIO;
	if (PEM_write_bio_PUBKEY(pub, id->pkey) != 1 || (n = BIO_get_mem_data(pub, &data)) <= 0)
		return cl_error_ossl(err, EIO, "encode public key");
	copy = strndup(data, (size_t)n);
	if (!copy)
		return cl_error_set(err, ENOMEM, "encode public key");
	*ret_priv = TAKE_PTR(s);
	*ret_priv_len = slen;
	*ret_pub = copy;
	return 0;
}

void cl_identity_free(struct cl_identity *id)
{
	if (!id)
		return;
	EVP_PKEY_free(id->pkey);
	free(id->name);
	free(id);
}

int cl_pkey_read_public(const char *path, EVP_PKEY **ret, struct cl_error **err)
{
	_cleanup_free_ char *pem = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_(BIO_freep) BIO *bio = NULL;
	size_t len = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "open recipient '%s'", path);
	if (cl_read_all_fd(fd, PEM_MAX, &pem, &len, err) < 0)
		return cl_error_wrap(err, "recipient '%s'", path);
	bio = BIO_new_mem_buf(pem, (int)len);
	*ret = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
	return *ret ? 0 : cl_error_ossl(err, EINVAL, "'%s': not a PEM public key", path);
}

int cl_pkey_read_private(const char *path, EVP_PKEY **ret, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *pem = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_(BIO_freep) BIO *bio = NULL;
	size_t len = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "open identity '%s'", path);
	if (read_secret_fd(fd, path, &pem, &len, err) < 0)
		return -EIO;
	bio = BIO_new_mem_buf(pem->data, (int)len);
	*ret = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	return *ret ? 0
		    : cl_error_ossl(err, EINVAL, "'%s': not an unencrypted PEM private key", path);
}
