/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only check of cl_fscrypt_key_id_compute() against the kernel (not built by default):
 *   keyid-check compare MNT [N]  N random 64-byte keys (100): compute the identifier, add the
 *                                key to the filesystem of MNT (ext4 -O encrypt), compare
 *                                with the kernel's, remove the key
 *   keyid-check time [N]         N identifiers of one key (10000): microseconds each
 * Build (needs root to run compare):
 *   cc -D_GNU_SOURCE -I. tests/tools/keyid-check.c lib/fscrypt/keyid.c lib/fscrypt/fscrypt.c \
 *      lib/crypto/secret.c lib/core/err.c -o /tmp/keyid-check
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/crypto/secret.h"
#include "lib/fscrypt/fscrypt.h"

static int fail(struct cl_error **err)
{
	fprintf(stderr, "keyid-check: %s: %s\n", (*err)->msg, strerror((*err)->errnum));
	cl_error_free(err);
	return 1;
}

/* one key: ours first (as the lifecycle will do), then the kernel's; 1 on a mismatch */
static int compare_one(int mnt_fd, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *key = cl_secret_random(CL_FSCRYPT_KEY_SIZE, err);
	struct cl_key_id ours, kernel;
	enum cl_key_status status;
	unsigned flags = 0;
	int r;

	if (!key)
		return -1;
	if (cl_fscrypt_key_id_compute(key, &ours, err) < 0)
		return -1;
	if (cl_fscrypt_add_key(mnt_fd, key, &kernel, err) < 0)
		return -1;
	r = memcmp(ours.bytes, kernel.bytes, sizeof(ours.bytes)) != 0;
	if (r)
		printf("MISMATCH ours %s kernel %s\n", ours.hex, kernel.hex);
	if (cl_fscrypt_remove_key(mnt_fd, &kernel, &flags, err) < 0 ||
	    cl_fscrypt_key_status(mnt_fd, &kernel, &status, err) < 0)
		return -1;
	if (status != CL_KEY_ABSENT) {
		cl_error_set(err, EBUSY, "key %s still %s", kernel.hex,
			     cl_fscrypt_key_status_name(status));
		return -1;
	}
	return r;
}

static int compare(const char *mnt, long n)
{
	struct cl_error *err = NULL;
	long same = 0, differ = 0;
	int mnt_fd;

	mnt_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mnt_fd < 0) {
		perror(mnt);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int r = compare_one(mnt_fd, &err);

		if (r < 0) {
			close(mnt_fd);
			return fail(&err);
		}
		if (r)
			differ++;
		else
			same++;
	}
	close(mnt_fd);
	printf("%ld keys: %ld identifiers equal to the kernel's, %ld differ\n", n, same, differ);
	return differ ? 1 : 0;
}

static int timing(long n)
{
	_cleanup_secret_ struct cl_secret *key = NULL;
	struct cl_error *err = NULL;
	struct timespec t0, t1;
	struct cl_key_id id;
	double us;

	key = cl_secret_random(CL_FSCRYPT_KEY_SIZE, &err);
	if (!key)
		return fail(&err);
	if (cl_fscrypt_key_id_compute(key, &id, &err) < 0) /* warm-up; fails early if no AF_ALG */
		return fail(&err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if (cl_fscrypt_key_id_compute(key, &id, &err) < 0)
			return fail(&err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
	printf("%ld identifiers: %.2f us each\n", n, us / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "compare") == 0)
		return compare(argv[2], argc > 3 ? strtol(argv[3], NULL, 10) : 100);
	if (argc >= 2 && strcmp(argv[1], "time") == 0)
		return timing(argc > 2 ? strtol(argv[2], NULL, 10) : 10000);
	fprintf(stderr, "usage: keyid-check compare MNT [N] | time [N]\n");
	return 2;
}
