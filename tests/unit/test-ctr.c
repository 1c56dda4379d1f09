/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The AES_256_CTR_HMAC_SHA256 pipeline (lib/archive/ctr.c) against one-shot OpenSSL:
 * the ciphertext equals AES-256-CTR of the whole stream (chunk counters, including a
 * nonce whose low 64 bits carry into the high ones), the HMAC equals HMAC-SHA256 of the
 * ciphertext keyed with the AES key, the digests equal SHA-256 of input and output;
 * DECRYPT gives the plaintext back, VERIFY the same HMAC; sizes around the chunk size.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/archive/ctr.h"

static struct cl_secret *key;

static void oneshot(const unsigned char *nonce, const unsigned char *in, size_t len,
		    unsigned char *out)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_int_equal(EVP_EncryptInit_ex2(x, EVP_aes_256_ctr(), key->data, nonce, NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(x, out, &n, in, (int)len), 1);
	EVP_CIPHER_CTX_free(x);
}

static size_t slurp(int fd, unsigned char *buf, size_t max)
{
	ssize_t n;
	size_t got = 0;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + got, max - got)) > 0)
		got += (size_t)n;
	return got;
}

/* the GMAC of import's two passes: VERIFY and DECRYPT_NOMAC under one tag key agree on
 * the same bytes and differ on changed ones; tagged DECRYPT_NOMAC computes no sha_in */
/* what @fd holds is @want (@len bytes), and @hmac is its HMAC-SHA256 under the key */
static void assert_ciphertext(int fd, const unsigned char *want, size_t len,
			      const unsigned char hmac[32])
{
	unsigned char *ct = malloc(len + 1), mac[32];
	size_t mlen = 32;

	assert_non_null(ct);
	assert_int_equal(slurp(fd, ct, len + 1), len);
	assert_memory_equal(ct, want, len);
	assert_non_null(
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->data, 32, ct, len, mac, 32, &mlen));
	assert_memory_equal(hmac, mac, 32);
	free(ct);
}

static unsigned char *tagged_pass(enum cl_ctr_mode mode, int fd, size_t len,
				  const unsigned char *nonce, unsigned jobs,
				  const struct cl_secret *tk, struct cl_ctr_result *res)
{
	struct cl_error *err = NULL;
	struct cl_ctr *c = NULL;
	const void *b;
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	assert_int_equal(cl_ctr_new_tagged(mode, key, nonce, tk, jobs,
					   mode == CL_CTR_VERIFY ? -1 : fd, &c, &err),
			 0);
	if (mode == CL_CTR_VERIFY)
		assert_int_equal(cl_ctr_feed_fd(c, fd, &err), 0);
	else
		while ((n = cl_ctr_read(c, &b, &err)) > 0)
			;
	assert_int_equal(cl_ctr_finish(c, res, &err), 0);
	cl_ctr_free(c);
	assert_int_equal(res->bytes, len);
	return res->tag;
}

static void check_tagged(int fd, size_t len, const unsigned char *nonce, unsigned jobs)
{
	struct cl_error *err = NULL;
	struct cl_secret *tk = cl_secret_random(CL_CTR_TAG_KEY_LEN, &err);
	struct cl_ctr_result r1 = {0}, r2 = {0};
	unsigned char zero[32] = {0}, byte;

	assert_non_null(tk);
	tagged_pass(CL_CTR_VERIFY, fd, len, nonce, jobs, tk, &r1);
	assert_memory_not_equal(r1.tag, zero, 16);
	assert_memory_not_equal(r1.sha_in, zero, 32); /* VERIFY keeps its digest */
	tagged_pass(CL_CTR_DECRYPT_NOMAC, fd, len, nonce, jobs, tk, &r2);
	assert_memory_equal(r1.tag, r2.tag, 16);
	assert_memory_equal(r2.sha_in, zero, 32);
	if (len == 0) {
		cl_secret_free(tk);
		return;
	}
	/* one byte changed between the passes: another tag */
	assert_int_equal(pread(fd, &byte, 1, (off_t)len / 2), 1);
	byte ^= 0x20;
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)len / 2), 1);
	tagged_pass(CL_CTR_DECRYPT_NOMAC, fd, len, nonce, jobs, tk, &r2);
	assert_memory_not_equal(r1.tag, r2.tag, 16);
	byte ^= 0x20;
	assert_int_equal(pwrite(fd, &byte, 1, (off_t)len / 2), 1);
	cl_secret_free(tk);
}

static void check(size_t len, const unsigned char nonce[16], unsigned jobs)
{
	unsigned char *pt = malloc(len + 1), *ct = malloc(len + 1), *want = malloc(len + 1);
	unsigned char mac[32], sha[32];
	struct cl_ctr_result res = {0}, res2 = {0}, res3 = {0};
	struct cl_error *err = NULL;
	struct cl_ctr *c = NULL;
	int fd = memfd_create("ct", 0);
	size_t got = 0, mlen = 32, step = len / 3 + 1;
	const void *b;
	ssize_t n;

	assert_int_equal(RAND_bytes(pt, (int)len + 1), 1);
	oneshot(nonce, pt, len, want);
	/* encrypt, pushed in odd pieces */
	assert_int_equal(cl_ctr_new(CL_CTR_ENCRYPT, key, nonce, jobs, fd, &c, &err), 0);
	for (size_t off = 0; off < len; off += step)
		assert_int_equal(
		    cl_ctr_write(c, pt + off, off + step > len ? len - off : step, &err), 0);
	assert_int_equal(cl_ctr_finish(c, &res, &err), 0);
	cl_ctr_free(c);
	assert_int_equal(slurp(fd, ct, len + 1), len);
	assert_memory_equal(ct, want, len);
	assert_non_null(
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->data, 32, ct, len, mac, 32, &mlen));
	assert_memory_equal(res.hmac, mac, 32);
	assert_int_equal(EVP_Digest(pt, len, sha, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(res.sha_in, sha, 32);
	assert_int_equal(EVP_Digest(ct, len, sha, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(res.sha_out, sha, 32);
	assert_int_equal(res.bytes, len);
	/* verify */
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(cl_ctr_new(CL_CTR_VERIFY, key, nonce, jobs, -1, &c, &err), 0);
	assert_int_equal(cl_ctr_feed_fd(c, fd, &err), 0);
	assert_int_equal(cl_ctr_finish(c, &res2, &err), 0);
	cl_ctr_free(c);
	assert_memory_equal(res2.hmac, mac, 32);
	assert_memory_equal(res2.sha_in, sha, 32);
	/* decrypt */
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(cl_ctr_new(CL_CTR_DECRYPT, key, nonce, jobs, fd, &c, &err), 0);
	while ((n = cl_ctr_read(c, &b, &err)) > 0) {
		assert_true(got + (size_t)n <= len);
		memcpy(ct + got, b, (size_t)n);
		got += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(cl_ctr_finish(c, &res3, &err), 0);
	cl_ctr_free(c);
	assert_int_equal(got, len);
	assert_memory_equal(ct, pt, len);
	assert_memory_equal(res3.hmac, mac, 32);
	assert_memory_equal(res3.sha_in, sha, 32);
	assert_memory_equal(res3.sha_out, res.sha_in, 32);
	/* decrypt without the HMAC (import's second pass): same plaintext and digests */
	lseek(fd, 0, SEEK_SET);
	got = 0;
	assert_int_equal(cl_ctr_new(CL_CTR_DECRYPT_NOMAC, key, nonce, jobs, fd, &c, &err), 0);
	while ((n = cl_ctr_read(c, &b, &err)) > 0) {
		assert_memory_equal(b, pt + got, (size_t)n);
		got += (size_t)n;
	}
	assert_int_equal(cl_ctr_finish(c, &res3, &err), 0);
	cl_ctr_free(c);
	assert_int_equal(got, len);
	assert_memory_equal(res3.sha_in, sha, 32);
	assert_memory_equal(res3.sha_out, res.sha_in, 32);
	memset(mac, 0, 32);
	assert_memory_equal(res3.hmac, mac, 32);
	check_tagged(fd, len, nonce, jobs);
	close(fd);
	free(pt);
	free(ct);
	free(want);
}

static void test_sizes(void **state)
{
	static const size_t sizes[] = {0,
				       1,
				       15,
				       16,
				       CL_CTR_CHUNK - 1,
				       CL_CTR_CHUNK,
				       CL_CTR_CHUNK + 1,
				       5 * CL_CTR_CHUNK + 17,
				       20 * CL_CTR_CHUNK};
	unsigned char nonce[16];

	(void)state;
	assert_int_equal(RAND_bytes(nonce, 16), 1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check(sizes[i], nonce, 2);
		check(sizes[i], nonce, 1);
	}
}

static void test_carry(void **state)
{
	unsigned char nonce[16];

	(void)state;
	/* the counter's low 64 bits wrap inside the stream: the carry reaches byte 7 */
	memset(nonce, 0xff, 16);
	nonce[0] = 0x12;
	nonce[13] = 0xfe;
	check(3 * CL_CTR_CHUNK + 5, nonce, 3);
}

/* CIPHER: the same ciphertext and HMAC as ENCRYPT, no digests */
static void test_cipher(void **state)
{
	size_t len = 3 * CL_CTR_CHUNK + 7;
	unsigned char *pt = malloc(len), *want = malloc(len);
	unsigned char nonce[16], zero[32] = {0};
	struct cl_ctr_result res = {0};
	struct cl_error *err = NULL;
	struct cl_ctr *c = NULL;
	int fd = memfd_create("ct", 0);

	(void)state;
	assert_int_equal(RAND_bytes(nonce, 16), 1);
	assert_int_equal(RAND_bytes(pt, (int)len), 1);
	oneshot(nonce, pt, len, want);
	assert_int_equal(cl_ctr_new(CL_CTR_CIPHER, key, nonce, 2, fd, &c, &err), 0);
	assert_int_equal(cl_ctr_write(c, pt, len, &err), 0);
	assert_int_equal(cl_ctr_finish(c, &res, &err), 0);
	cl_ctr_free(c);
	assert_ciphertext(fd, want, len, res.hmac);
	assert_memory_equal(res.sha_in, zero, 32);
	assert_memory_equal(res.sha_out, zero, 32);
	assert_int_equal(res.bytes, len);
	close(fd);
	free(pt);
	free(want);
}

/* DECRYPT reads on a stage thread: its read error reaches the reader; freeing a
 * pipeline that was not read to the end joins its threads (the ring was full) */
static void test_decrypt_errors(void **state)
{
	unsigned char nonce[16] = {0}, *buf = calloc(1, 20 * CL_CTR_CHUNK);
	struct cl_error *err = NULL;
	struct cl_ctr *c = NULL;
	int fd = memfd_create("ct", 0), wfd;
	const void *b;
	char path[64];

	(void)state;
	assert_int_equal(write(fd, buf, 20 * CL_CTR_CHUNK), (ssize_t)(20 * CL_CTR_CHUNK));
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(cl_ctr_new(CL_CTR_DECRYPT, key, nonce, 2, fd, &c, &err), 0);
	assert_int_equal(cl_ctr_read(c, &b, &err), (ssize_t)CL_CTR_CHUNK);
	cl_ctr_free(c);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wfd = open(path, O_WRONLY);
	assert_true(wfd >= 0);
	assert_int_equal(cl_ctr_new(CL_CTR_DECRYPT_NOMAC, key, nonce, 1, wfd, &c, &err), 0);
	assert_int_equal(cl_ctr_read(c, &b, &err), -EBADF);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "read layer blob"));
	cl_error_free(&err);
	cl_ctr_free(c);
	close(wfd);
	close(fd);
	free(buf);
}

/* VERIFY without a key (a plain layer): digest and tag, no HMAC; other modes need one */
static void test_plain_verify(void **state)
{
	size_t len = 2 * CL_CTR_CHUNK + 3;
	unsigned char *pt = malloc(len), nonce[16] = {0}, sha[32], zero[32] = {0};
	struct cl_secret *tk;
	struct cl_ctr_result res = {0};
	struct cl_error *err = NULL;
	struct cl_ctr *c = NULL;

	(void)state;
	tk = cl_secret_random(CL_CTR_TAG_KEY_LEN, &err);
	assert_int_equal(RAND_bytes(pt, (int)len), 1);
	assert_int_equal(cl_ctr_new_tagged(CL_CTR_VERIFY, NULL, nonce, tk, 1, -1, &c, &err), 0);
	assert_int_equal(cl_ctr_write(c, pt, len, &err), 0);
	assert_int_equal(cl_ctr_finish(c, &res, &err), 0);
	cl_ctr_free(c);
	assert_int_equal(EVP_Digest(pt, len, sha, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(res.sha_in, sha, 32);
	assert_memory_equal(res.hmac, zero, 32);
	assert_memory_not_equal(res.tag, zero, 16);
	c = NULL;
	assert_int_equal(cl_ctr_new(CL_CTR_DECRYPT, NULL, nonce, 1, -1, &c, &err), -EINVAL);
	assert_null(c);
	cl_error_free(&err);
	cl_secret_free(tk);
	free(pt);
}

static void test_bad_key(void **state)
{
	struct cl_error *err = NULL;
	struct cl_secret *k = cl_secret_new(16, &err);
	struct cl_ctr *c = NULL;
	unsigned char nonce[16] = {0};

	(void)state;
	assert_int_equal(cl_ctr_new(CL_CTR_ENCRYPT, k, nonce, 1, -1, &c, &err), -EINVAL);
	assert_null(c);
	cl_error_free(&err);
	cl_secret_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),	 cmocka_unit_test(test_carry),
	    cmocka_unit_test(test_cipher),	 cmocka_unit_test(test_decrypt_errors),
	    cmocka_unit_test(test_plain_verify), cmocka_unit_test(test_bad_key),
	};
	struct cl_error *err = NULL;
	int r;

	key = cl_secret_random(32, &err);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	cl_secret_free(key);
	return r;
}
