/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <openssl/types.h>

#include "lib/core/err.h"
#include "lib/crypto/secret.h"

/*
 * ocicrypt's AES_256_CTR_HMAC_SHA256 layer cipher (containers/ocicrypt
 * blockcipher/blockcipher_aes_ctr.go), as a pipeline: the stream is cut into 1 MiB
 * chunks; chunk i is AES-256-CTR with the counter block nonce + i·65536 (the 16-byte
 * nonce is the initial counter block, incremented as one 128-bit big-endian number:
 * Go's cipher.NewCTR and OpenSSL's CTR mode agree), on any of the worker threads (or
 * on a stage thread that needs it first); the HMAC-SHA256 over the ciphertext (key =
 * the AES key) and the SHA-256 digests of the input and of the output each run on
 * their own thread, in order. A fixed ring of chunks bounds memory (at most 16 chunks
 * of 2 MiB) whatever the layer size.
 *
 * Threads: plain pthreads doing EVP calls on memory, and write(2) (encrypt) or
 * read(2) (decrypt/verify) on fds opened before cl_ctr_new(); futex for the locks.
 */

#define CL_CTR_NONCE_LEN 16
#define CL_CTR_KEY_LEN 32
#define CL_CTR_CHUNK ((size_t)1 << 20)
/* a tag key: AES-256 key (32 bytes) ‖ GCM IV (12 bytes), random, for one blob's passes */
#define CL_CTR_TAG_KEY_LEN 44

enum cl_ctr_mode {
	CL_CTR_ENCRYPT, /* push plaintext (cl_ctr_write); ciphertext goes to out_fd */
	CL_CTR_VERIFY,	/* push ciphertext (cl_ctr_feed_fd): digest and HMAC only */
	CL_CTR_DECRYPT, /* pull plaintext (cl_ctr_read) from ciphertext read from in_fd */
	/* DECRYPT without the HMAC: for a second read of a blob whose HMAC was verified in a
	 * first pass; its tag (cl_ctr_new_tagged, the same tag key in both passes), or
	 * else its SHA-256 (sha_in), equal to the first pass's, is what proves it is the
	 * same blob. With a tag key the input's SHA-256 is not computed. */
	CL_CTR_DECRYPT_NOMAC,
	/* ENCRYPT without the two digests (sha_in and sha_out are zero): the ocicrypt
	 * cipher alone, AES-256-CTR + HMAC-SHA256, as bench/oci.sh measures it against
	 * openssl speed; export needs ENCRYPT */
	CL_CTR_CIPHER,
	_CL_CTR_MODE_MAX,
};

struct cl_ctr_result {
	unsigned char hmac[32];	   /* HMAC-SHA256 of the ciphertext (zero: DECRYPT_NOMAC) */
	unsigned char sha_in[32];  /* SHA-256 of the input (plaintext / ciphertext) */
	unsigned char sha_out[32]; /* SHA-256 of the output (ciphertext / plaintext) */
	unsigned char tag[16];	   /* GMAC of the input under the tag key (zero: none) */
	uint64_t bytes;
};

struct cl_ctr;

/**
 * cl_ctr_new() - start the workers.
 * @mode: see enum cl_ctr_mode
 * @key: CL_CTR_KEY_LEN bytes (copied); NULL for VERIFY of a plain blob: no HMAC
 * @nonce: the initial counter block
 * @jobs: CTR worker threads (0: all CPUs)
 * @fd: ENCRYPT, CIPHER: where the ciphertext is written; DECRYPT: where it is read;
 *	else -1
 * @ret: the pipeline
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_ctr_new(enum cl_ctr_mode mode, const struct cl_secret *key,
	       const unsigned char nonce[CL_CTR_NONCE_LEN], unsigned jobs, int fd,
	       struct cl_ctr **ret, struct cl_error **err);

/**
 * cl_ctr_new_tagged() - cl_ctr_new(), and a GMAC (AES-256-GCM with the input as its
 * only, additional, data) of the input under @tag (CL_CTR_TAG_KEY_LEN bytes, or NULL)
 * on the input digest's thread. GMAC under a random key that never leaves the process
 * is a ~16 GB/s check that two reads of a blob gave the same bytes (a different input
 * of L bytes matches with probability at most L/16 · 2^-128); SHA-256 runs at ~2 GB/s.
 */
int cl_ctr_new_tagged(enum cl_ctr_mode mode, const struct cl_secret *key,
		      const unsigned char nonce[CL_CTR_NONCE_LEN], const struct cl_secret *tag,
		      unsigned jobs, int fd, struct cl_ctr **ret, struct cl_error **err);

/**
 * cl_ctr_tag_new() - that GMAC on its own, for a blob read without the pipeline (a
 * plain layer's second pass): EVP_MAC_update() it, EVP_MAC_final() 16 bytes.
 * Return: 0 or -errno.
 */
int cl_ctr_tag_new(const struct cl_secret *tag, EVP_MAC_CTX **ret, struct cl_error **err);

/** cl_ctr_write() - push @len input bytes (ENCRYPT, CIPHER, VERIFY). Return: 0 or -errno. */
int cl_ctr_write(struct cl_ctr *c, const void *buf, size_t len, struct cl_error **err);

/** cl_ctr_feed_fd() - push everything read from @fd to its end (VERIFY). */
int cl_ctr_feed_fd(struct cl_ctr *c, int fd, struct cl_error **err);

/**
 * cl_ctr_read() - the next block of plaintext (DECRYPT), valid until the next call.
 * Return: bytes, 0 at the end of the input, -errno.
 */
ssize_t cl_ctr_read(struct cl_ctr *c, const void **ret, struct cl_error **err);

/**
 * cl_ctr_finish() - end of input: wait for every chunk and return the digests.
 * Return: 0 or -errno (the first error of any thread).
 */
int cl_ctr_finish(struct cl_ctr *c, struct cl_ctr_result *ret, struct cl_error **err);

/** cl_ctr_free() - stop and join the threads, wipe the buffers and the key; NULL-safe. */
void cl_ctr_free(struct cl_ctr *c);

CL_DEFINE_CLEANUP(struct cl_ctr *, cl_ctr_free)
