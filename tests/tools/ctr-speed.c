/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Raw throughput of the ocicrypt-mode layer cipher (lib/archive/ctr.c), for bench/oci.sh:
 *
 *   ctr-speed MIB [JOBS]
 *
 * pushes MIB MiB of random bytes (a 64 MiB buffer, repeated) through the ENCRYPT
 * pipeline to /dev/null: AES-256-CTR on JOBS workers (default: all CPUs), HMAC-SHA256 of
 * the ciphertext and SHA-256 of the plaintext and of the ciphertext, each on its own
 * thread, exactly as export --format oci does. Prints "<bytes> <seconds> <GB/s>".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lib/archive/ctr.h"

#define BUF (64U << 20)

int main(int argc, char **argv)
{
	struct cl_error *err = NULL;
	struct cl_secret *key = cl_secret_random(CL_CTR_KEY_LEN, &err);
	unsigned char nonce[CL_CTR_NONCE_LEN], *buf = malloc(BUF);
	struct cl_ctr_result res;
	struct cl_ctr *c = NULL;
	struct timespec t0, t1;
	unsigned long long total, done = 0;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	double s;

	if (argc < 2 || !key || !buf || fd < 0 || RAND_bytes(buf, BUF) != 1 ||
	    RAND_bytes(nonce, sizeof(nonce)) != 1) {
		fputs("usage: ctr-speed MIB [JOBS]\n", stderr);
		return 2;
	}
	total = strtoull(argv[1], NULL, 10) << 20;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cl_ctr_new(CL_CTR_ENCRYPT, key, nonce, argc > 2 ? (unsigned)atoi(argv[2]) : 0, fd, &c,
		       &err) < 0)
		goto fail;
	while (done < total) {
		size_t n = total - done < BUF ? (size_t)(total - done) : BUF;

		if (cl_ctr_write(c, buf, n, &err) < 0)
			goto fail;
		done += n;
	}
	if (cl_ctr_finish(c, &res, &err) < 0)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%llu %.6f %.3f\n", total, s, (double)total / s / 1e9);
	cl_ctr_free(c);
	cl_secret_free(key);
	free(buf);
	return 0;
fail:
	fprintf(stderr, "ctr-speed: %s\n", err ? err->msg : "failed");
	return 1;
}
