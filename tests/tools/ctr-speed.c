/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Raw throughput of the ocicrypt-mode layer cipher (lib/archive/ctr.c), for bench/oci.sh:
 *
 *   ctr-speed MIB [JOBS [export|cipher]]
 *
 * pushes MIB MiB of random bytes (a 64 MiB buffer, repeated, made before the clock
 * starts) through the pipeline to /dev/null, with JOBS CTR workers (default: all CPUs):
 *   export (default)  CL_CTR_ENCRYPT, what export --format oci runs: AES-256-CTR,
 *                     HMAC-SHA256 of the ciphertext, and the SHA-256 of the plaintext
 *                     (privopts digest, diff_id) and of the ciphertext (blob digest),
 *                     each of the three hashes on its own thread;
 *   cipher            CL_CTR_CIPHER, the ocicrypt cipher alone: AES-256-CTR + HMAC.
 * Prints "<bytes> <seconds> <GB/s> <cpu-seconds>" (cpu: user + system of all threads,
 * so cpu / seconds is the number of cores the pipeline kept busy).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lib/archive/ctr.h"

#define BUF (64U << 20)

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	struct cl_error *err = NULL;
	struct cl_secret *key = cl_secret_random(CL_CTR_KEY_LEN, &err);
	unsigned char nonce[CL_CTR_NONCE_LEN], *buf = malloc(BUF);
	enum cl_ctr_mode mode = CL_CTR_ENCRYPT;
	struct cl_ctr_result res;
	struct cl_ctr *c = NULL;
	struct timespec t0, t1;
	unsigned long long total, done = 0;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	double s, cpu0;

	if (argc > 3 && !strcmp(argv[3], "cipher"))
		mode = CL_CTR_CIPHER;
	else if (argc > 3 && strcmp(argv[3], "export"))
		argc = 0;
	if (argc < 2 || !key || !buf || fd < 0 || RAND_bytes(buf, BUF) != 1 ||
	    RAND_bytes(nonce, sizeof(nonce)) != 1) {
		fputs("usage: ctr-speed MIB [JOBS [export|cipher]]\n", stderr);
		return 2;
	}
	total = strtoull(argv[1], NULL, 10) << 20;
	cpu0 = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cl_ctr_new(mode, key, nonce, argc > 2 ? (unsigned)atoi(argv[2]) : 0, fd, &c, &err) < 0)
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
	cl_ctr_free(c);
	printf("%llu %.6f %.3f %.3f\n", total, s, (double)total / s / 1e9, cpu_seconds() - cpu0);
	cl_secret_free(key);
	free(buf);
	return 0;
fail:
	fprintf(stderr, "ctr-speed: %s\n", err ? err->msg : "failed");
	return 1;
}
