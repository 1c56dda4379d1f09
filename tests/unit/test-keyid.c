/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cl_fscrypt_key_id_compute() against an independent reference: OpenSSL 3 EVP_KDF "HKDF"
 * with the parameters of Linux fs/crypto/hkdf.c, random keys of every accepted length, and
 * the xfstests common/encrypt known answer.
 *
 * Each runs twice: on the real AF_ALG (skipped where the kernel has no
 * CONFIG_CRYPTO_USER_API_HASH, as on our CI machines), and on an emulation of the AF_ALG
 * hash socket protocol whose HMAC-SHA512 is OpenSSL's HMAC(), so the HKDF composition
 * (salt, info, counter) is checked everywhere. The emulation also enforces what af_alg.c
 * does (no re-key while an operation socket is open), injects failures, and the tests
 * check that no fd is left open on any path. (The WRAP line below is read whole by the
 * Makefile, hence clang-format off.)
 */
/* clang-format off */
/* WRAP: -Wl,--wrap=socket,--wrap=bind,--wrap=setsockopt,--wrap=accept4,--wrap=write,--wrap=read,--wrap=close */
/* clang-format on */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_alg.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "lib/crypto/secret.h"
#include "lib/fscrypt/fscrypt.h"

#define WHAT "cannot compute the fscrypt key identifier"
#define MAX_FD 1024

/* run on the emulation (1) or the kernel (0); failure injection (errno, 0: none) */
static int emulate, socket_errno, bind_errno, accept_errno, accept_fail_call, accept_calls;

/* emulated sockets, by fd (each a real /dev/null fd, so fd counting stays honest) */
static struct fake {
	enum { FAKE_NONE, FAKE_TFM, FAKE_OP } kind;
	int bound, parent, children;
	unsigned char key[128], digest[64];
	size_t key_len;
	int digest_ready;
} fakes[MAX_FD];

int __real_socket(int domain, int type, int protocol);
int __wrap_socket(int domain, int type, int protocol);
int __real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __real_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int __real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);
int __real_close(int fd);
int __wrap_close(int fd);

static struct fake *fake_of(int fd)
{
	return fd >= 0 && fd < MAX_FD && fakes[fd].kind != FAKE_NONE ? &fakes[fd] : NULL;
}

static int fake_new(int kind, int parent)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	assert_in_range(fd, 0, MAX_FD - 1);
	memset(&fakes[fd], 0, sizeof(fakes[fd]));
	fakes[fd].kind = kind;
	fakes[fd].parent = parent;
	return fd;
}

int __wrap_socket(int domain, int type, int protocol)
{
	if (socket_errno) {
		errno = socket_errno;
		return -1;
	}
	if (!emulate)
		return __real_socket(domain, type, protocol);
	assert_int_equal(domain, AF_ALG);
	assert_int_equal(type, SOCK_SEQPACKET | SOCK_CLOEXEC);
	return fake_new(FAKE_TFM, -1);
}

int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_alg *alg = (const struct sockaddr_alg *)sa;
	struct fake *f = fake_of(fd);

	if (bind_errno) {
		errno = bind_errno;
		return -1;
	}
	if (!emulate)
		return __real_bind(fd, sa, len);
	assert_non_null(f);
	assert_int_equal(len, sizeof(*alg));
	assert_int_equal(alg->salg_family, AF_ALG);
	assert_string_equal((const char *)alg->salg_type, "hash");
	assert_string_equal((const char *)alg->salg_name, "hmac(sha512)");
	f->bound = 1;
	return 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct fake *f = fake_of(fd);

	if (!emulate || !f)
		return __real_setsockopt(fd, level, name, val, len);
	assert_int_equal(f->kind, FAKE_TFM);
	assert_true(f->bound);
	assert_int_equal(level, SOL_ALG);
	assert_int_equal(name, ALG_SET_KEY);
	assert_in_range(len, 1, sizeof(f->key));
	if (f->children) { /* af_alg.c alg_setsockopt(): the tfm is in use */
		errno = EBUSY;
		return -1;
	}
	memcpy(f->key, val, len);
	f->key_len = len;
	return 0;
}

int __wrap_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct fake *f = fake_of(fd);
	int op;

	if (accept_errno && ++accept_calls == accept_fail_call) {
		errno = accept_errno;
		return -1;
	}
	if (!emulate || !f)
		return __real_accept4(fd, sa, len, flags);
	assert_int_equal(flags, SOCK_CLOEXEC);
	if (!f->key_len) { /* hmac without a key: algif_hash accept says ENOKEY */
		errno = ENOKEY;
		return -1;
	}
	op = fake_new(FAKE_OP, fd);
	f->children++;
	return op;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	struct fake *f = fake_of(fd);
	const struct fake *tfm;
	unsigned int len = 0;

	if (!f)
		return __real_write(fd, buf, n);
	assert_int_equal(f->kind, FAKE_OP);
	assert_false(f->digest_ready); /* one final write per operation */
	tfm = &fakes[f->parent];
	assert_non_null(HMAC(EVP_sha512(), tfm->key, (int)tfm->key_len, buf, n, f->digest, &len));
	assert_int_equal(len, sizeof(f->digest));
	f->digest_ready = 1;
	return (ssize_t)n;
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
	struct fake *f = fake_of(fd);

	if (!f)
		return __real_read(fd, buf, n);
	assert_int_equal(f->kind, FAKE_OP);
	assert_true(f->digest_ready);
	n = n < sizeof(f->digest) ? n : sizeof(f->digest);
	memcpy(buf, f->digest, n);
	return (ssize_t)n;
}

int __wrap_close(int fd)
{
	struct fake *f = fake_of(fd);

	if (f) {
		if (f->kind == FAKE_OP)
			fakes[f->parent].children--;
		memset(f, 0, sizeof(*f));
	}
	return __real_close(fd);
}

static int kernel_has_af_alg(void)
{
	struct sockaddr_alg sa = {
	    .salg_family = AF_ALG, .salg_type = "hash", .salg_name = "hmac(sha512)"};
	int fd = __real_socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && __real_bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

	if (fd >= 0)
		__real_close(fd);
	return ok;
}

static int setup_kernel(void **state)
{
	(void)state;
	emulate = socket_errno = bind_errno = accept_errno = accept_fail_call = accept_calls = 0;
	return 0;
}

static int setup_emulated(void **state)
{
	setup_kernel(state);
	emulate = 1;
	return 0;
}

static void require_backend(void)
{
	if (!emulate && !kernel_has_af_alg()) {
		print_message("# no AF_ALG hmac(sha512) in this kernel: kernel run skipped\n");
		skip();
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* the kernel's parameters, spelled out for OpenSSL: salt = HashLen zeros (hkdf.c
 * default_salt), info = "fscrypt\0" || HKDF_CONTEXT_KEY_IDENTIFIER, 16 bytes */
static void reference_id(const unsigned char *key, size_t len, uint8_t out[CL_FSCRYPT_ID_SIZE])
{
	static const unsigned char salt[64];
	static const unsigned char info[] = "fscrypt\0\x01";
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA512", 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, sizeof(salt)),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof(info) - 1),
	    OSSL_PARAM_construct_end(),
	};

	assert_non_null(ctx);
	assert_int_equal(sizeof(info) - 1, 9);
	assert_int_equal(EVP_KDF_derive(ctx, out, CL_FSCRYPT_ID_SIZE, params), 1);
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
}

static void assert_hex_matches(const struct cl_key_id *id)
{
	char hex[CL_FSCRYPT_ID_SIZE * 2 + 1];

	for (int i = 0; i < CL_FSCRYPT_ID_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", id->bytes[i]);
	assert_string_equal(id->hex, hex);
}

static void test_known_answer(void **state)
{
	/* xfstests common/encrypt: TEST_RAW_KEY = 0x01..0x40, TEST_KEY_IDENTIFIER */
	struct cl_secret *key = NULL;
	struct cl_error *err = NULL;
	struct cl_key_id id;

	(void)state;
	require_backend();
	key = cl_secret_new(CL_FSCRYPT_KEY_SIZE, NULL);
	assert_non_null(key);
	for (int i = 0; i < CL_FSCRYPT_KEY_SIZE; i++)
		key->data[i] = (unsigned char)(i + 1);
	assert_int_equal(cl_fscrypt_key_id_compute(key, &id, &err), 0);
	assert_null(err);
	assert_string_equal(id.hex, "69b2f6edeee720cce0577937eb8a6751");
	assert_hex_matches(&id);
	cl_secret_free(key);
}

static void test_random_keys_match_openssl(void **state)
{
	int fds = count_fds();

	(void)state;
	require_backend();
	/* every length the kernel accepts (FSCRYPT_MIN_KEY_SIZE..FSCRYPT_MAX_KEY_SIZE), twice */
	for (size_t round = 0; round < 2; round++) {
		for (size_t len = 16; len <= CL_FSCRYPT_KEY_SIZE; len++) {
			struct cl_secret *key = cl_secret_random(len, NULL);
			uint8_t want[CL_FSCRYPT_ID_SIZE];
			struct cl_error *err = NULL;
			struct cl_key_id id;

			assert_non_null(key);
			reference_id(key->data, key->len, want);
			assert_int_equal(cl_fscrypt_key_id_compute(key, &id, &err), 0);
			assert_null(err);
			assert_memory_equal(id.bytes, want, sizeof(want));
			assert_hex_matches(&id);
			cl_secret_free(key);
		}
	}
	assert_int_equal(count_fds(), fds);
}

static void test_key_length_refused(void **state)
{
	static const size_t lens[] = {1, 15, CL_FSCRYPT_KEY_SIZE + 1, 128};

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct cl_secret *key = cl_secret_new(lens[i], NULL);
		struct cl_error *err = NULL;
		struct cl_key_id id;

		memset(&id, 0x5a, sizeof(id));
		assert_int_equal(cl_fscrypt_key_id_compute(key, &id, &err), -EINVAL);
		assert_non_null(err);
		assert_int_equal(err->errnum, EINVAL);
		assert_non_null(strstr(err->msg, WHAT ": key of "));
		assert_int_equal(id.bytes[0], 0x5a); /* ret_id untouched on failure */
		cl_error_free(&err);
		cl_secret_free(key);
	}
}

static void check_failure(int want_errno, const char *want_msg)
{
	struct cl_secret *key = cl_secret_random(CL_FSCRYPT_KEY_SIZE, NULL);
	struct cl_error *err = NULL;
	int fds = count_fds();
	struct cl_key_id id;

	assert_non_null(key);
	memset(&id, 0x5a, sizeof(id));
	assert_int_equal(cl_fscrypt_key_id_compute(key, &id, &err), -want_errno);
	assert_non_null(err);
	assert_int_equal(err->errnum, want_errno);
	assert_string_equal(err->msg, want_msg);
	assert_int_equal(id.bytes[0], 0x5a);
	assert_int_equal(count_fds(), fds);
	cl_error_free(&err);
	cl_secret_free(key);
}

static void test_no_af_alg(void **state)
{
	(void)state;
	socket_errno = EAFNOSUPPORT;
	check_failure(EAFNOSUPPORT, WHAT ": AF_ALG hmac(sha512): socket");
}

static void test_no_hmac_sha512(void **state)
{
	(void)state;
	require_backend();
	bind_errno = ENOENT;
	check_failure(ENOENT, WHAT ": AF_ALG hmac(sha512): bind");
}

static void test_accept_fails(void **state)
{
	(void)state;
	require_backend();
	/* the first accept4 (HKDF-Extract), then the second (HKDF-Expand, PRK in hand) */
	for (int call = 1; call <= 2; call++) {
		accept_errno = ENOMEM;
		accept_fail_call = call;
		accept_calls = 0;
		check_failure(ENOMEM, WHAT ": AF_ALG hmac(sha512): accept");
	}
}

#define KERNEL(f)                                                                                  \
	{                                                                                          \
		"kernel: " #f, f, setup_kernel, NULL, NULL                                         \
	}
#define EMULATED(f)                                                                                \
	{                                                                                          \
		"emulated: " #f, f, setup_emulated, NULL, NULL                                     \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    KERNEL(test_known_answer),
	    EMULATED(test_known_answer),
	    KERNEL(test_random_keys_match_openssl),
	    EMULATED(test_random_keys_match_openssl),
	    EMULATED(test_key_length_refused),
	    KERNEL(test_no_af_alg),
	    EMULATED(test_no_af_alg),
	    KERNEL(test_no_hmac_sha512),
	    EMULATED(test_no_hmac_sha512),
	    KERNEL(test_accept_fails),
	    EMULATED(test_accept_fails),
	};

	return cmocka_run_group_tests_name("keyid", tests, NULL, NULL);
}
