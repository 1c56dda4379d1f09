/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fscrypt v2 key identifier, computed in user space exactly as the kernel computes it
 * in FS_IOC_ADD_ENCRYPTION_KEY, so that a record can name the key before the key exists
 * (a kill -9 right after the ioctl then never leaves an unreferenced key behind).
 *
 * Linux fs/crypto/hkdf.c and keyring.c (6.12: hkdf.c:28,51-58,125-164, keyring.c:549-552,
 * fscrypt_private.h:392, uapi fscrypt.h:68):
 *   PRK = HMAC-SHA512(salt = 64 zero bytes, IKM = the raw master key)    HKDF-Extract
 *   ID  = first 16 bytes of HMAC-SHA512(PRK, "fscrypt\0" || 0x01 || 0x01) HKDF-Expand
 * where the first 0x01 is HKDF_CONTEXT_KEY_IDENTIFIER (with an empty info) and the second
 * is the block counter: 16 bytes need one block.
 *
 * HMAC-SHA512 comes from the kernel's crypto API through AF_ALG: the hook binary links
 * libc only (no OpenSSL on the exec path, Makefile check-exec-path), and we write no
 * primitive ourselves. Key bytes and the PRK stay in struct cl_secret memory; AF_ALG
 * copies them into the kernel directly from there. AF_ALG hash sockets need
 * CONFIG_CRYPTO_USER_API_HASH (Debian: module algif_hash, loaded on first use); kernels
 * built without it refuse the socket with EAFNOSUPPORT, and the caller gets that error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_alg.h>

#include "lib/core/cleanup.h"
#include "lib/fscrypt/fscrypt.h"

#define KEYID_WHAT "cannot compute the fscrypt key identifier"
#define KEYID_ALG "hmac(sha512)"
#define HMAC_LEN 64		 /* SHA512_DIGEST_SIZE, HKDF_HASHLEN */
#define MIN_KEY_SIZE 16		 /* FSCRYPT_MIN_KEY_SIZE: what the kernel accepts */
#define CONTEXT_KEY_IDENTIFIER 1 /* HKDF_CONTEXT_KEY_IDENTIFIER */

static int alg_error(struct cl_error **err, int errnum, const char *step)
{
	return cl_error_set(err, errnum, KEYID_WHAT ": AF_ALG " KEYID_ALG ": %s", step);
}

static int hmac_open(struct cl_error **err)
{
	struct sockaddr_alg sa = {
	    .salg_family = AF_ALG, .salg_type = "hash", .salg_name = KEYID_ALG};
	_cleanup_close_ int fd = -1;

	/* EAFNOSUPPORT: no CONFIG_CRYPTO_USER_API; ENOENT at bind: no hmac(sha512) */
	fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alg_error(err, errno, "socket");
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		return alg_error(err, errno, "bind");
	return TAKE_FD(fd);
}

/*
 * One HMAC on the transform @tfm_fd: set the key, then one write without MSG_MORE (the
 * final update) and one read of the digest on an accepted operation socket. The key can be
 * set again once that socket is closed (af_alg.c refuses while children hold the tfm).
 */
static int hmac_once(int tfm_fd, const void *key, size_t key_len, const void *msg, size_t msg_len,
		     unsigned char out[HMAC_LEN], struct cl_error **err)
{
	_cleanup_close_ int op_fd = -1;
	ssize_t n;

	if (setsockopt(tfm_fd, SOL_ALG, ALG_SET_KEY, key, (socklen_t)key_len) < 0)
		return alg_error(err, errno, "set key");
	op_fd = accept4(tfm_fd, NULL, NULL, SOCK_CLOEXEC);
	if (op_fd < 0)
		return alg_error(err, errno, "accept");
	n = write(op_fd, msg, msg_len);
	if (n < 0)
		return alg_error(err, errno, "write");
	if ((size_t)n != msg_len)
		return alg_error(err, EIO, "short write");
	n = read(op_fd, out, HMAC_LEN);
	if (n < 0)
		return alg_error(err, errno, "read");
	if (n != HMAC_LEN)
		return alg_error(err, EIO, "short digest");
	return 0;
}

int cl_fscrypt_key_id_compute(const struct cl_secret *key, struct cl_key_id *ret_id,
			      struct cl_error **err)
{
	static const unsigned char zero_salt[HMAC_LEN];
	/* "fscrypt\0", the context byte, the (empty) info, then the HKDF-Expand counter 1 */
	static const unsigned char expand_msg[] = {
	    'f', 's', 'c', 'r', 'y', 'p', 't', '\0', CONTEXT_KEY_IDENTIFIER, 1};
	_cleanup_secret_ struct cl_secret *buf = NULL;
	_cleanup_close_ int tfm_fd = -1;
	unsigned char *prk, *okm;
	int r;

	if (key->len < MIN_KEY_SIZE || key->len > CL_FSCRYPT_KEY_SIZE)
		return cl_error_set(err, EINVAL, KEYID_WHAT ": key of %zu bytes (%d to %d)",
				    key->len, MIN_KEY_SIZE, CL_FSCRYPT_KEY_SIZE);
	buf = cl_secret_new(2 * HMAC_LEN, err);
	if (!buf)
		return cl_error_wrap(err, KEYID_WHAT);
	prk = buf->data;
	okm = buf->data + HMAC_LEN;
	tfm_fd = hmac_open(err);
	if (tfm_fd < 0)
		return tfm_fd;
	r = hmac_once(tfm_fd, zero_salt, sizeof(zero_salt), key->data, key->len, prk, err);
	if (r < 0)
		return r;
	r = hmac_once(tfm_fd, prk, HMAC_LEN, expand_msg, sizeof(expand_msg), okm, err);
	if (r < 0)
		return r;
	memcpy(ret_id->bytes, okm, CL_FSCRYPT_ID_SIZE);
	for (int i = 0; i < CL_FSCRYPT_ID_SIZE; i++)
		snprintf(ret_id->hex + 2 * i, 3, "%02x", okm[i]);
	return 0;
}
