/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/*
 * Recipients (public keys that a stream is encrypted to) and identities (private keys
 * that decrypt it), both PEM: X25519 (what `cryptlayer keygen` makes), or RSA of
 * CL_RSA_MIN_BITS..CL_RSA_MAX_BITS bits. Private key bytes live only in the
 * OpenSSL object (secure heap when initialised) and, while parsed, in secret memory.
 */

enum cl_key_type {
	CL_KEY_X25519 = 1,
	CL_KEY_RSA = 2,
	_CL_KEY_MAX,
};

#define CL_X25519_LEN 32
#define CL_RSA_MIN_BITS 3072
#define CL_RSA_MAX_BITS 8192

struct cl_recipient {
	enum cl_key_type type;
	EVP_PKEY *pkey;
	unsigned char x25519[CL_X25519_LEN]; /* raw public key (X25519 only) */
	char *name;			     /* file name, for messages */
};

struct cl_identity {
	enum cl_key_type type;
	EVP_PKEY *pkey;
	unsigned char x25519[CL_X25519_LEN]; /* our raw public key (X25519 only) */
	char *name;
};

/**
 * cl_recipient_load_pem() - parse a PEM public key ("PUBLIC KEY", SubjectPublicKeyInfo).
 * @pem: the text, @len bytes
 * @name: how to call it in messages
 * @ret: the recipient
 * @err: error out; small RSA keys and other key types are refused with EINVAL
 * Return: 0 or -errno.
 */
int cl_recipient_load_pem(const char *pem, size_t len, const char *name, struct cl_recipient **ret,
			  struct cl_error **err);

/** cl_recipient_load() - cl_recipient_load_pem() of the file @path. */
int cl_recipient_load(const char *path, struct cl_recipient **ret, struct cl_error **err);

/** cl_recipient_free() - free; NULL-safe. */
void cl_recipient_free(struct cl_recipient *r);

/**
 * cl_identity_load_pem() - parse an unencrypted PEM private key (X25519 or RSA).
 * @pem: secret memory holding the text in its first @len bytes
 * @len: text length
 * @name: how to call it in messages
 * @ret: the identity
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_identity_load_pem(const struct cl_secret *pem, size_t len, const char *name,
			 struct cl_identity **ret, struct cl_error **err);

/**
 * cl_identity_load() - read @path with read(2) into secret memory and parse it.
 * Return: 0 or -errno.
 */
int cl_identity_load(const char *path, struct cl_identity **ret, struct cl_error **err);

/**
 * cl_identity_generate() - a new X25519 identity.
 * Return: 0 or -errno.
 */
int cl_identity_generate(struct cl_identity **ret, struct cl_error **err);

/**
 * cl_identity_generate_type() - a new identity: "x25519", "rsa" (3072 bits) or "ec"
 * (P-256, for OCI only: its type field is not meaningful for .clx).
 * Return: 0 or -errno.
 */
int cl_identity_generate_type(const char *type, struct cl_identity **ret, struct cl_error **err);

/**
 * cl_identity_to_pem() - PKCS#8 PEM of the private key and SPKI PEM of the public key.
 * @id: the identity
 * @ret_priv: secret memory holding the private PEM in its first @ret_priv_len bytes
 * @ret_priv_len: length of the private PEM
 * @ret_pub: malloc'ed NUL-terminated public PEM
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_identity_to_pem(const struct cl_identity *id, struct cl_secret **ret_priv,
		       size_t *ret_priv_len, char **ret_pub, struct cl_error **err);

/** cl_identity_free() - free (OpenSSL cleanses the key); NULL-safe. */
void cl_identity_free(struct cl_identity *id);

/**
 * cl_pkey_read_public() - any PEM public key (SubjectPublicKeyInfo) from @path, with no
 * check of its type or size (the caller checks: OCI takes RSA >= 2048 and EC).
 * Return: 0 or -errno.
 */
int cl_pkey_read_public(const char *path, EVP_PKEY **ret, struct cl_error **err);

/** cl_pkey_read_private() - any unencrypted PEM private key, read via secret memory. */
int cl_pkey_read_private(const char *path, EVP_PKEY **ret, struct cl_error **err);

CL_DEFINE_CLEANUP(struct cl_recipient *, cl_recipient_free)
CL_DEFINE_CLEANUP(struct cl_identity *, cl_identity_free)
