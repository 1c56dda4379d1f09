/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/core/err.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/secret.h"

/*
 * A persistent layer's key file, keys/<id> (docs/keyfile-format.md). The 64-byte
 * fscrypt key, wrapped with AES-256-GCM under the machine key, with the layer id and
 * the key identifier as associated data. Two copies at fixed offsets (the LUKS2
 * lesson, seed 002): each with magic, version, sequence id and a SHA-256 checksum,
 * written and fsynced one after the other, so that a crash leaves one valid copy.
 */
#define CL_KEYFILE_COPY_SIZE 4096
#define CL_KEYFILE_COPIES 2
#define CL_KEYFILE_SIZE (CL_KEYFILE_COPIES * CL_KEYFILE_COPY_SIZE)
#define CL_KEYFILE_MAGIC "CLKEYF\x00\x01"
#define CL_KEYFILE_MAGIC_LEN 8
#define CL_KEYFILE_VERSION 1
#define CL_KEYFILE_KEY_LEN 64 /* the fscrypt v2 master key */
#define CL_KEYFILE_KID_LEN 16 /* its fscrypt identifier */
#define CL_KEYFILE_ID_MAX 128 /* layer id length (cl_oci_id_valid) */
#define CL_KEYFILE_AAD_LABEL "cryptlayer keyfile v1"

/* offsets inside one copy (little-endian integers) */
enum {
	CL_KEYFILE_OFF_MAGIC = 0,
	CL_KEYFILE_OFF_VERSION = 8, /* u16 */
	CL_KEYFILE_OFF_COPY = 10,   /* u16: 0 or 1, must match the copy's position */
	CL_KEYFILE_OFF_FLAGS = 12,  /* u32, 0 */
	CL_KEYFILE_OFF_SEQID = 16,  /* u64 */
	CL_KEYFILE_OFF_KID = 24,    /* 16 bytes */
	CL_KEYFILE_OFF_ID_LEN = 40, /* u8, 1..128; 41..47 zero */
	CL_KEYFILE_OFF_ID = 48,	    /* 128 bytes, zero padded */
	CL_KEYFILE_OFF_NONCE = 176, /* 12 bytes */
	CL_KEYFILE_OFF_CT = 188,    /* 64 bytes */
	CL_KEYFILE_OFF_TAG = 252,   /* 16 bytes; then zeros up to the checksum */
	CL_KEYFILE_OFF_END = 268,
	CL_KEYFILE_OFF_SUM = CL_KEYFILE_COPY_SIZE - 32, /* SHA-256 of bytes [0, OFF_SUM) */
};

/* one decoded copy: public fields and the wrapped key */
struct cl_keyfile {
	uint64_t seqid;
	unsigned char kid[CL_KEYFILE_KID_LEN];
	char id[CL_KEYFILE_ID_MAX + 1];
	unsigned char nonce[CL_AEAD_NONCE_LEN];
	unsigned char ct[CL_KEYFILE_KEY_LEN];
	unsigned char tag[CL_AEAD_TAG_LEN];
};

/**
 * cl_keyfile_encode() - one copy's bytes.
 * @kf: what to write
 * @copy: 0 or 1
 * @out: CL_KEYFILE_COPY_SIZE bytes
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_keyfile_encode(const struct cl_keyfile *kf, unsigned copy,
		      unsigned char out[CL_KEYFILE_COPY_SIZE], struct cl_error **err);

/**
 * cl_keyfile_decode_copy() - check and decode copy @copy.
 * @in: @len bytes
 * @len: must be CL_KEYFILE_COPY_SIZE
 * @copy: the position it was read from
 * @ret: the decoded copy
 * @err: error out (the reason it is invalid)
 * Return: 0 or -EBADMSG.
 */
int cl_keyfile_decode_copy(const unsigned char *in, size_t len, unsigned copy,
			   struct cl_keyfile *ret, struct cl_error **err);

/**
 * cl_keyfile_decode() - choose the valid copy with the highest sequence id.
 * @in: the file's bytes (a short file leaves the missing copies invalid)
 * @len: their number
 * @ret: the chosen copy
 * @ret_stale: bit i set when copy i is invalid or older and must be rewritten
 * @err: error out
 * Return: 0, or -EBADMSG when no copy is valid (the reasons of both in *err).
 */
int cl_keyfile_decode(const unsigned char *in, size_t len, struct cl_keyfile *ret,
		      unsigned *ret_stale, struct cl_error **err);

/**
 * cl_keyfile_seal() - wrap @key for layer @id under the machine key @mk.
 * @mk: the machine key (CL_AEAD_KEY_LEN bytes)
 * @id: the layer id (1..CL_KEYFILE_ID_MAX bytes)
 * @kid: the key's fscrypt identifier
 * @key: the fscrypt key (CL_KEYFILE_KEY_LEN bytes)
 * @seqid: the sequence id to write
 * @ret: the copy to encode
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_keyfile_seal(const struct cl_secret *mk, const char *id,
		    const unsigned char kid[CL_KEYFILE_KID_LEN], const struct cl_secret *key,
		    uint64_t seqid, struct cl_keyfile *ret, struct cl_error **err);

/**
 * cl_keyfile_unseal() - unwrap the key of @kf for layer @id.
 * @mk: the machine key
 * @id: the layer the caller expects (the associated data is built from it, so a key
 *      file copied from another layer does not authenticate)
 * @kf: a decoded copy
 * @ret_key: the fscrypt key
 * @err: error out
 * Return: 0, -EBADMSG (wrong machine key, or the file of another layer), -errno.
 */
int cl_keyfile_unseal(const struct cl_secret *mk, const char *id, const struct cl_keyfile *kf,
		      struct cl_secret **ret_key, struct cl_error **err);

/**
 * cl_keyfile_write_at() - create @name under the directory @dfd (O_EXCL, 0600): copy 0,
 * fsync, copy 1, fsync, then fsync the directory.
 * Return: 0 or -errno (-EEXIST if it exists).
 */
int cl_keyfile_write_at(int dfd, const char *name, const struct cl_keyfile *kf,
			struct cl_error **err);

/**
 * cl_keyfile_load_at() - read @name, choose a copy, unwrap it for @id; only then
 * rewrite (and fsync) copies that were invalid or older.
 * @ret_key: the fscrypt key
 * @ret_kid: its identifier, as recorded
 * @ret_repaired: bit i set when copy i was rewritten
 * Return: 0 or -errno; on failure the file is left as it was.
 */
int cl_keyfile_load_at(int dfd, const char *name, const struct cl_secret *mk, const char *id,
		       struct cl_secret **ret_key, unsigned char ret_kid[CL_KEYFILE_KID_LEN],
		       unsigned *ret_repaired, struct cl_error **err);

/**
 * cl_keyfile_erase_at() - overwrite @name with random bytes, fsync, unlink, fsync the
 * directory. A missing file is success.
 * Return: 0 or -errno.
 */
int cl_keyfile_erase_at(int dfd, const char *name, struct cl_error **err);
