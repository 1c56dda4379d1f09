/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a whole .clx stream through the reader (lib/archive/reader.c), as
 * import reads it: header, records, trailer. The identity is a fixed X25519 test key
 * (below, never used elsewhere) so that seeds sealed for it have valid headers and the
 * fuzzer reaches the records; the corpus seeds were written by cl_clx_writer_*() for
 * its public key:
 *   MCowBQYDK2VuAyEAG8QO/SEDbn/bjmLJpT8YdpMZnixlCWd0Ygd4woJ1zC8=
 * Every input is read twice: from a regular file (positional reads, trailer fallback)
 * and from a pipe (front copy only, as stdin). Either the reader fails with an error
 * that follows the contract, or it returns plaintext and then 0; never both.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/archive/clx.h"
#include "lib/archive/format.h"
#include "lib/crypto/recipient.h"
#include "lib/crypto/secret.h"

#define FUZZ_MAX (128 * 1024) /* cap as libmount's fuzz.c does */

static const char test_identity[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEICjNnhxDENo6KrCbQNYitcMykSWkeyQ8/iJMY+iUhIt6\n"
    "-----END PRIVATE KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cl_identity *identity(void)
{
	static struct cl_identity *id;
	struct cl_secret *pem;

	if (id)
		return id;
	pem = cl_secret_new(sizeof(test_identity), NULL);
	if (!pem)
		abort();
	memcpy(pem->data, test_identity, sizeof(test_identity) - 1);
	if (cl_identity_load_pem(pem, sizeof(test_identity) - 1, "fuzz", &id, NULL) < 0)
		abort();
	cl_secret_free(pem);
	return id;
}

static void write_all(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n <= 0)
			abort();
		data += n;
		size -= (size_t)n;
	}
}

/* the error contract: a failure sets exactly one error, with a message */
static void check_failure(long r, struct cl_error **err)
{
	if (r >= 0 || !*err || (*err)->errnum <= 0 || !(*err)->msg)
		abort();
	cl_error_free(err);
}

static void read_stream(int fd)
{
	struct cl_identity *ids[] = {identity()};
	const struct cl_clx_opts opts = {.jobs = 1};
	struct cl_clx_reader *rd = NULL;
	struct cl_error *err = NULL;
	const void *buf;
	ssize_t n;
	size_t total = 0;

	if (cl_clx_reader_new(fd, ids, 1, &opts, &rd, &err) < 0) {
		check_failure(-1, &err);
		return;
	}
	if (err || cl_clx_reader_compression(rd) > CL_CLX_COMPRESS_ZSTD)
		abort();
	while ((n = cl_clx_reader_read(rd, &buf, &err)) > 0) {
		if (err || (size_t)n > CL_CLX_CHUNK_SIZE || !buf)
			abort();
		total += (size_t)n;
		if (total > FUZZ_MAX) /* plaintext never outgrows its ciphertext */
			abort();
	}
	if (n < 0)
		check_failure(n, &err);
	else if (err)
		abort();
	(void)cl_clx_reader_warnings(rd);
	cl_clx_reader_free(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd, p[2];

	if (size > FUZZ_MAX)
		return 0;
	fd = memfd_create("fuzz-clx", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	write_all(fd, data, size);
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	read_stream(fd);
	close(fd);

	if (pipe2(p, O_CLOEXEC) < 0 || fcntl(p[1], F_SETPIPE_SZ, 2 * FUZZ_MAX) < 0)
		abort();
	write_all(p[1], data, size);
	close(p[1]);
	read_stream(p[0]);
	close(p[0]);
	return 0;
}
