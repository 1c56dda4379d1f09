/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "lib/core/cleanup.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/kdf.h"
#include "lib/crypto/ossl-err.h"
#include "lib/crypto/wrap.h"

CL_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
CL_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)

/* k = HKDF(X25519(priv, peer), salt = eph_pub ‖ rcpt_pub, info) */
static struct cl_secret *x25519_wrap_key(EVP_PKEY *priv, const unsigned char *peer,
					 const unsigned char *eph_pub,
					 const unsigned char *rcpt_pub, struct cl_error **err)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *peer_key = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	_cleanup_secret_ struct cl_secret *shared = cl_secret_new(CL_X25519_LEN, err);
	unsigned char salt[2 * CL_X25519_LEN];
	size_t n = CL_X25519_LEN;

	if (!shared)
		return NULL;
	peer_key = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, CL_X25519_LEN);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	/* OpenSSL refuses an all-zero shared secret (a low-order peer point) here */
	if (!peer_key || !ctx || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer_key) != 1 ||
	    EVP_PKEY_derive(ctx, shared->data, &n) != 1 || n != CL_X25519_LEN) {
		cl_error_ossl(err, EIO, "x25519 key agreement");
		return NULL;
	}
	memcpy(salt, eph_pub, CL_X25519_LEN);
	memcpy(salt + CL_X25519_LEN, rcpt_pub, CL_X25519_LEN);
	return cl_kdf_hkdf_secret(shared, salt, sizeof(salt), CL_WRAP_X25519_INFO, CL_WRAP_KEY_LEN,
				  err);
}

/* the wrap key is single-use, so a zero nonce is safe (docs/clx-format.md §4) */
static const unsigned char zero_iv[CL_AEAD_NONCE_LEN];

int cl_wrap_x25519_seal_eph(EVP_PKEY *eph, const unsigned char rcpt[CL_X25519_LEN],
			    const struct cl_secret *dk, unsigned char out[CL_WRAP_X25519_LEN],
			    struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *k = NULL;
	size_t n = CL_X25519_LEN;

	if (dk->len != CL_WRAP_KEY_LEN)
		return cl_error_set(err, EINVAL, "data key of %zu bytes", dk->len);
	if (EVP_PKEY_get_raw_public_key(eph, out, &n) != 1 || n != CL_X25519_LEN)
		return cl_error_ossl(err, EIO, "ephemeral x25519 public key");
	k = x25519_wrap_key(eph, rcpt, out, rcpt, err);
	if (!k)
		return -EIO;
	if (cl_aead_seal(k, zero_iv, NULL, 0, dk->data, CL_WRAP_KEY_LEN, out + CL_X25519_LEN,
			 out + CL_X25519_LEN + CL_WRAP_KEY_LEN, err) < 0)
		return cl_error_wrap(err, "x25519 key wrap");
	return 0;
}

int cl_wrap_x25519_open(const struct cl_identity *id, const unsigned char *body, size_t len,
			struct cl_secret **ret_dk, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *k = NULL, *dk = NULL;
	int r;

	if (id->type != CL_KEY_X25519 || len != CL_WRAP_X25519_LEN)
		return cl_error_set(err, ENOKEY, "not an x25519 stanza for '%s'", id->name);
	/* a key agreement OpenSSL refuses (a low-order E) just means "not ours": another
	 * stanza may still be */
	k = x25519_wrap_key(id->pkey, body, body, id->x25519, err);
	if (!k) {
		cl_error_free(err);
		return cl_error_set(err, ENOKEY, "x25519 stanza does not agree with '%s'",
				    id->name);
	}
	r = cl_aead_open(k, zero_iv, NULL, 0, body + CL_X25519_LEN, CL_WRAP_KEY_LEN,
			 body + CL_X25519_LEN + CL_WRAP_KEY_LEN, &dk, err);
	if (r == -EBADMSG) {
		cl_error_free(err);
		return cl_error_set(err, ENOKEY, "key wrap does not authenticate");
	}
	if (r < 0)
		return r;
	*ret_dk = TAKE_PTR(dk);
	return 0;
}

static int x25519_seal(const struct cl_recipient *r, const struct cl_secret *dk, unsigned char *out,
		       size_t *ret_len, struct cl_error **err)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *kctx =
	    EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = NULL;
	int ret;

	/* a fresh ephemeral key per recipient (and per stream) */
	if (!kctx || EVP_PKEY_keygen_init(kctx) != 1 || EVP_PKEY_generate(kctx, &eph) != 1)
		return cl_error_ossl(err, EIO, "ephemeral x25519 key");
	ret = cl_wrap_x25519_seal_eph(eph, r->x25519, dk, out, err);
	if (ret < 0)
		return cl_error_wrap(err, "recipient '%s'", r->name);
	*ret_len = CL_WRAP_X25519_LEN;
	return 0;
}

static int rsa_oaep_setup(EVP_PKEY_CTX *ctx, struct cl_error **err)
{
	size_t llen = strlen(CL_WRAP_RSA_LABEL);
	void *label = OPENSSL_memdup(CL_WRAP_RSA_LABEL, llen);

	if (!label)
		return cl_error_set(err, ENOMEM, "rsa-oaep label");
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "SHA256", NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "SHA256", NULL) != 1) {
		OPENSSL_free(label);
		return cl_error_ossl(err, EIO, "rsa-oaep-sha256 parameters");
	}
	/* set0: the context takes ownership of label */
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)llen) != 1) {
		OPENSSL_free(label);
		return cl_error_ossl(err, EIO, "rsa-oaep label");
	}
	return 0;
}

static int rsa_seal(const struct cl_recipient *r, const struct cl_secret *dk, unsigned char *out,
		    size_t *ret_len, struct cl_error **err)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx =
	    EVP_PKEY_CTX_new_from_pkey(NULL, r->pkey, NULL);
	size_t n = CL_WRAP_MAX_LEN;

	if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1)
		return cl_error_ossl(err, EIO, "recipient '%s': rsa-oaep", r->name);
	if (rsa_oaep_setup(ctx, err) < 0)
		return -EIO;
	if (EVP_PKEY_encrypt(ctx, out, &n, dk->data, dk->len) != 1)
		return cl_error_ossl(err, EIO, "recipient '%s': rsa-oaep encrypt", r->name);
	*ret_len = n;
	return 0;
}

static int rsa_open(const struct cl_identity *id, const unsigned char *body, size_t len,
		    struct cl_secret **ret_dk, struct cl_error **err)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx =
	    EVP_PKEY_CTX_new_from_pkey(NULL, id->pkey, NULL);
	_cleanup_secret_ struct cl_secret *buf = cl_secret_new(CL_WRAP_MAX_LEN, err);
	_cleanup_secret_ struct cl_secret *dk = NULL;
	size_t n = CL_WRAP_MAX_LEN;

	if (!buf)
		return -ENOMEM;
	if ((size_t)EVP_PKEY_get_size(id->pkey) != len)
		return cl_error_set(err, ENOKEY, "rsa stanza size does not match '%s'", id->name);
	if (!ctx || EVP_PKEY_decrypt_init(ctx) != 1)
		return cl_error_ossl(err, EIO, "'%s': rsa-oaep", id->name);
	if (rsa_oaep_setup(ctx, err) < 0)
		return -EIO;
	if (EVP_PKEY_decrypt(ctx, buf->data, &n, body, len) != 1 || n != CL_WRAP_KEY_LEN)
		return cl_error_ossl(err, ENOKEY, "rsa stanza is not for '%s'", id->name);
	dk = cl_secret_new(CL_WRAP_KEY_LEN, err);
	if (!dk)
		return -ENOMEM;
	memcpy(dk->data, buf->data, CL_WRAP_KEY_LEN);
	*ret_dk = TAKE_PTR(dk);
	return 0;
}

int cl_wrap_key_seal(const struct cl_recipient *r, const struct cl_secret *dk, unsigned char *out,
		     size_t *ret_len, struct cl_error **err)
{
	if (dk->len != CL_WRAP_KEY_LEN)
		return cl_error_set(err, EINVAL, "data key of %zu bytes", dk->len);
	if (r->type == CL_KEY_X25519)
		return x25519_seal(r, dk, out, ret_len, err);
	if (r->type == CL_KEY_RSA)
		return rsa_seal(r, dk, out, ret_len, err);
	return cl_error_set(err, EINVAL, "recipient '%s': unknown key type", r->name);
}

int cl_wrap_key_open(const struct cl_identity *id, enum cl_key_type type, const unsigned char *body,
		     size_t len, struct cl_secret **ret_dk, struct cl_error **err)
{
	if (type != id->type)
		return cl_error_set(err, ENOKEY, "stanza type does not match '%s'", id->name);
	if (type == CL_KEY_X25519)
		return cl_wrap_x25519_open(id, body, len, ret_dk, err);
	return rsa_open(id, body, len, ret_dk, err);
}
