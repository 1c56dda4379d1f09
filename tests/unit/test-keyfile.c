/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Persistent keys: AES-256-GCM known answer (GCM spec test case 16), key file
 * encode/decode with both copies, every damaged-copy case, wrap binding to the layer id
 * and key identifier, the file I/O (write, load with repair, erase), and the machine key
 * from a file and from the kernel keyring.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/crypto/aead.h"
#include "lib/crypto/algs.h"
#include "lib/crypto/keyfile.h"
#include "lib/crypto/machine-key.h"
#include "tests/unit/hex.h"

static struct cl_secret *filled(size_t len, unsigned char fill)
{
	struct cl_error *err = NULL;
	struct cl_secret *s = cl_secret_new(len, &err);

	assert_non_null(s);
	memset(s->data, fill, len);
	return s;
}

static void expect_err(struct cl_error **err, int errnum, const char *part)
{
	assert_non_null(*err);
	assert_int_equal((*err)->errnum, errnum);
	if (part && !strstr((*err)->msg, part))
		fail_msg("error '%s' does not mention '%s'", (*err)->msg, part);
	cl_error_free(err);
}

static void test_gcm_kat(void **state)
{
	unsigned char key[32], iv[12], pt[60], aad[20], ct[60], want[60], tag[16], wtag[16];
	struct cl_secret *k = filled(32, 0), *out = NULL;
	struct cl_error *err = NULL;

	(void)state;
	test_unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
	test_unhex("cafebabefacedbaddecaf888", iv, 12);
	test_unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		   "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		   pt, 60);
	test_unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
	test_unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		   "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		   want, 60);
	test_unhex("76fc6ece0f4e1768cddf8853bb2d551b", wtag, 16);
	memcpy(k->data, key, 32);
	assert_int_equal(cl_aead_seal(k, iv, aad, 20, pt, 60, ct, tag, &err), 0);
	assert_memory_equal(ct, want, 60);
	assert_memory_equal(tag, wtag, 16);
	assert_int_equal(cl_aead_open(k, iv, aad, 20, ct, 60, tag, &out, &err), 0);
	assert_memory_equal(out->data, pt, 60);
	cl_secret_free(out);
	out = NULL;
	aad[0] ^= 1;
	assert_int_equal(cl_aead_open(k, iv, aad, 20, ct, 60, tag, &out, &err), -EBADMSG);
	assert_null(out);
	expect_err(&err, EBADMSG, "authentication failed");
	assert_int_equal(cl_aead_seal(k, iv, aad, 20, pt, 0, ct, tag, &err), -EINVAL);
	expect_err(&err, EINVAL, NULL);
	cl_secret_free(k);
}

/* a sealed key file for layer @id, both copies, into @buf */
static void make_file(const char *id, struct cl_secret *mk, unsigned char *buf,
		      struct cl_keyfile *ret)
{
	struct cl_secret *key = filled(CL_KEYFILE_KEY_LEN, 0x5a);
	unsigned char kid[CL_KEYFILE_KID_LEN];
	struct cl_error *err = NULL;

	memset(kid, 0xc1, sizeof(kid));
	assert_int_equal(cl_keyfile_seal(mk, id, kid, key, 7, ret, &err), 0);
	for (unsigned i = 0; i < CL_KEYFILE_COPIES; i++)
		assert_int_equal(cl_keyfile_encode(ret, i, buf + i * CL_KEYFILE_COPY_SIZE, &err),
				 0);
	cl_secret_free(key);
}

static void test_round_trip(void **state)
{
	struct cl_secret *mk = filled(32, 0x11), *key = NULL;
	unsigned char buf[CL_KEYFILE_SIZE];
	struct cl_keyfile kf, got;
	struct cl_error *err = NULL;
	unsigned stale = 99;

	(void)state;
	make_file("layer-1", mk, buf, &kf);
	assert_memory_equal(buf, CL_KEYFILE_MAGIC, CL_KEYFILE_MAGIC_LEN);
	assert_int_equal(cl_keyfile_decode(buf, sizeof(buf), &got, &stale, &err), 0);
	assert_int_equal(stale, 0);
	assert_int_equal(got.seqid, 7);
	assert_string_equal(got.id, "layer-1");
	assert_int_equal(cl_keyfile_unseal(mk, "layer-1", &got, &key, &err), 0);
	assert_int_equal(key->len, CL_KEYFILE_KEY_LEN);
	assert_int_equal(key->data[0], 0x5a);
	cl_secret_free(key);
	cl_secret_free(mk);
}

static void test_wrong_machine_key_and_moved_blob(void **state)
{
	struct cl_secret *mk = filled(32, 0x11), *other = filled(32, 0x12), *key = NULL;
	unsigned char buf[CL_KEYFILE_SIZE];
	struct cl_keyfile kf;
	struct cl_error *err = NULL;

	(void)state;
	make_file("layer-1", mk, buf, &kf);
	assert_int_equal(cl_keyfile_unseal(other, "layer-1", &kf, &key, &err), -EBADMSG);
	expect_err(&err, EBADMSG, "wrong machine key?");
	assert_null(key);
	/* asked for another layer: refused by the recorded id */
	assert_int_equal(cl_keyfile_unseal(mk, "layer-2", &kf, &key, &err), -EBADMSG);
	expect_err(&err, EBADMSG, "belongs to layer 'layer-1'");
	/* the recorded id rewritten (checksum redone): the associated data still differs */
	strcpy(kf.id, "layer-2");
	assert_int_equal(cl_keyfile_unseal(mk, "layer-2", &kf, &key, &err), -EBADMSG);
	expect_err(&err, EBADMSG, "wrong machine key?");
	/* another key identifier: bound too */
	strcpy(kf.id, "layer-1");
	kf.kid[0] ^= 1;
	assert_int_equal(cl_keyfile_unseal(mk, "layer-1", &kf, &key, &err), -EBADMSG);
	expect_err(&err, EBADMSG, NULL);
	cl_secret_free(mk);
	cl_secret_free(other);
}

static void test_damaged_copies(void **state)
{
	struct cl_secret *mk = filled(32, 0x11);
	unsigned char buf[CL_KEYFILE_SIZE], bad[CL_KEYFILE_SIZE];
	struct cl_keyfile kf, got;
	struct cl_error *err = NULL;
	unsigned stale = 0;
	/* magic, version, seqid, id, nonce, ciphertext, tag, padding, checksum */
	static const size_t offs[] = {3, 8, 16, 50, 180, 200, 260, 1000, CL_KEYFILE_OFF_SUM + 5};

	(void)state;
	make_file("layer-1", mk, buf, &kf);
	for (unsigned c = 0; c < 2; c++) {
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			memcpy(bad, buf, sizeof(bad));
			bad[c * CL_KEYFILE_COPY_SIZE + offs[i]] ^= 0x40;
			assert_int_equal(cl_keyfile_decode(bad, sizeof(bad), &got, &stale, &err),
					 0);
			assert_int_equal(stale, 1U << c);
			assert_memory_equal(&got, &kf, sizeof(kf));
		}
	}
	memcpy(bad, buf, sizeof(bad));
	bad[10] ^= 1;
	bad[CL_KEYFILE_COPY_SIZE + 100] ^= 1;
	assert_int_equal(cl_keyfile_decode(bad, sizeof(bad), &got, &stale, &err), -EBADMSG);
	expect_err(&err, EBADMSG, "both copies are damaged");
	/* truncated after copy 0; empty */
	assert_int_equal(cl_keyfile_decode(buf, CL_KEYFILE_COPY_SIZE + 7, &got, &stale, &err), 0);
	assert_int_equal(stale, 2);
	assert_int_equal(cl_keyfile_decode(buf, 0, &got, &stale, &err), -EBADMSG);
	expect_err(&err, EBADMSG, "truncated");
	/* the two copies swapped: each says it is the other */
	memcpy(bad, buf + CL_KEYFILE_COPY_SIZE, CL_KEYFILE_COPY_SIZE);
	memcpy(bad + CL_KEYFILE_COPY_SIZE, buf, CL_KEYFILE_COPY_SIZE);
	assert_int_equal(cl_keyfile_decode(bad, sizeof(bad), &got, &stale, &err), -EBADMSG);
	expect_err(&err, EBADMSG, "says it is copy");
	cl_secret_free(mk);
}

static void test_sequence_ids(void **state)
{
	struct cl_secret *mk = filled(32, 0x11);
	unsigned char buf[CL_KEYFILE_SIZE];
	struct cl_keyfile kf, newer, got;
	struct cl_error *err = NULL;
	unsigned stale = 0;

	(void)state;
	make_file("layer-1", mk, buf, &kf);
	/* a crash between the two writes of an update: copy 0 is newer */
	newer = kf;
	newer.seqid = 8;
	newer.nonce[0] ^= 1;
	assert_int_equal(cl_keyfile_encode(&newer, 0, buf, &err), 0);
	assert_int_equal(cl_keyfile_decode(buf, sizeof(buf), &got, &stale, &err), 0);
	assert_int_equal(got.seqid, 8);
	assert_int_equal(stale, 2);
	/* and the other way round */
	assert_int_equal(cl_keyfile_encode(&kf, 0, buf, &err), 0);
	assert_int_equal(cl_keyfile_encode(&newer, 1, buf + CL_KEYFILE_COPY_SIZE, &err), 0);
	assert_int_equal(cl_keyfile_decode(buf, sizeof(buf), &got, &stale, &err), 0);
	assert_int_equal(got.seqid, 8);
	assert_int_equal(stale, 1);
	/* bad arguments */
	assert_int_equal(cl_keyfile_encode(&kf, 2, buf, &err), -EINVAL);
	expect_err(&err, EINVAL, NULL);
	cl_secret_free(mk);
}

static char tmpdir[64];

static int dir_fd(void)
{
	int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void read_back(int dfd, unsigned char *buf, size_t len)
{
	int fd = openat(dfd, "k", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void flip(int dfd, off_t off)
{
	int fd = openat(dfd, "k", O_RDWR | O_CLOEXEC);
	unsigned char b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_file_io(void **state)
{
	struct cl_secret *mk = filled(32, 0x11), *other = filled(32, 0x22), *key = NULL;
	unsigned char orig[CL_KEYFILE_SIZE], now[CL_KEYFILE_SIZE], kid[CL_KEYFILE_KID_LEN];
	struct cl_keyfile kf;
	struct cl_error *err = NULL;
	unsigned rep = 99;
	struct stat st;
	int dfd = dir_fd();

	(void)state;
	make_file("layer-1", mk, orig, &kf);
	assert_int_equal(cl_keyfile_write_at(dfd, "k", &kf, &err), 0);
	assert_int_equal(fstatat(dfd, "k", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, CL_KEYFILE_SIZE);
	read_back(dfd, now, sizeof(now));
	assert_memory_equal(now, orig, sizeof(orig));
	assert_int_equal(cl_keyfile_write_at(dfd, "k", &kf, &err), -EEXIST);
	expect_err(&err, EEXIST, "'k'");

	for (unsigned c = 0; c < 2; c++) {
		flip(dfd, (off_t)c * CL_KEYFILE_COPY_SIZE + 200);
		/* a wrong machine key changes nothing, not even the damaged copy */
		assert_int_equal(
		    cl_keyfile_load_at(dfd, "k", other, "layer-1", &key, kid, &rep, &err),
		    -EBADMSG);
		expect_err(&err, EBADMSG, "wrong machine key?");
		read_back(dfd, now, sizeof(now));
		assert_memory_not_equal(now, orig, sizeof(orig));
		assert_int_equal(cl_keyfile_load_at(dfd, "k", mk, "layer-1", &key, kid, &rep, &err),
				 0);
		assert_int_equal(rep, 1U << c);
		assert_int_equal(key->data[63], 0x5a);
		assert_int_equal(kid[0], 0xc1);
		cl_secret_free(key);
		key = NULL;
		read_back(dfd, now, sizeof(now));
		assert_memory_equal(now, orig, sizeof(orig));
	}
	flip(dfd, 20);
	flip(dfd, CL_KEYFILE_COPY_SIZE + 20);
	assert_int_equal(cl_keyfile_load_at(dfd, "k", mk, "layer-1", &key, kid, &rep, &err),
			 -EBADMSG);
	expect_err(&err, EBADMSG, "both copies are damaged");

	assert_int_equal(cl_keyfile_erase_at(dfd, "k", &err), 0);
	assert_int_equal(faccessat(dfd, "k", F_OK, 0), -1);
	assert_int_equal(cl_keyfile_erase_at(dfd, "k", &err), 0);
	assert_int_equal(cl_keyfile_load_at(dfd, "k", mk, "layer-1", &key, kid, &rep, &err),
			 -ENOENT);
	expect_err(&err, ENOENT, "'k'");
	close(dfd);
	cl_secret_free(mk);
	cl_secret_free(other);
}

static void write_file(const char *path, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	unsigned char b[64] = {0};

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_machine_key_file(void **state)
{
	struct cl_secret *a = NULL, *b = NULL;
	struct cl_error *err = NULL;
	char spec[128], path[96];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/machine.key", tmpdir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(cl_machine_key_load(spec, false, &a, &err), -ENOENT);
	expect_err(&err, ENOENT, "does not exist");
	assert_int_equal(cl_machine_key_load(spec, true, &a, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, CL_MACHINE_KEY_LEN);
	assert_int_equal(cl_machine_key_load(spec, true, &b, &err), 0);
	assert_int_equal(a->len, CL_MACHINE_KEY_LEN);
	assert_memory_equal(a->data, b->data, CL_MACHINE_KEY_LEN);
	cl_secret_free(b);
	b = NULL;
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(cl_machine_key_load(spec, true, &b, &err), -EPERM);
	expect_err(&err, EPERM, "chmod 0600");
	write_file(path, 31, 0600);
	assert_int_equal(cl_machine_key_load(spec, true, &b, &err), -EINVAL);
	expect_err(&err, EINVAL, "31 bytes, expected 32");
	write_file(path, 32, 0600);
	if (geteuid() == 0) {
		/* root: a key file owned by someone else is refused */
		assert_int_equal(chown(path, 1, 1), 0);
		assert_int_equal(cl_machine_key_load(spec, true, &b, &err), -EPERM);
		expect_err(&err, EPERM, "owned by uid 1");
	}
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(cl_machine_key_load(spec, true, &b, &err), -EINVAL);
	expect_err(&err, EINVAL, "not a regular file");
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(cl_machine_key_load(spec, true, &b, &err), -ELOOP);
	expect_err(&err, ELOOP, path);
	snprintf(spec, sizeof(spec), "file:%s/no/such/machine.key", tmpdir);
	assert_int_equal(cl_machine_key_load(spec, true, &b, &err), -ENOENT);
	expect_err(&err, ENOENT, "no/such");
	assert_int_equal(cl_machine_key_load("file:relative", true, &b, &err), -EINVAL);
	expect_err(&err, EINVAL, "expected file:/ABSOLUTE/PATH or keyring:NAME");
	assert_int_equal(cl_machine_key_load("file:/tmp/", true, &b, &err), -EINVAL);
	expect_err(&err, EINVAL, "names a directory");
	assert_int_equal(cl_machine_key_load("keyring:", true, &b, &err), -EINVAL);
	expect_err(&err, EINVAL, NULL);
	assert_int_equal(cl_machine_key_load("disk:/x", true, &b, &err), -EINVAL);
	expect_err(&err, EINVAL, NULL);
	assert_null(b);
	cl_secret_free(a);
}

static void test_machine_key_keyring(void **state)
{
	unsigned char k32[32], k16[16];
	struct cl_secret *a = NULL;
	struct cl_error *err = NULL;
	char name[64];
	long id;

	(void)state;
	memset(k32, 0x77, sizeof(k32));
	memset(k16, 0x77, sizeof(k16));
	snprintf(name, sizeof(name), "cl-unit-%d", (int)getpid());
	/* the process keyring: possessed by this process only, gone when it exits */
	id = syscall(SYS_add_key, "user", name, k32, sizeof(k32), KEY_SPEC_PROCESS_KEYRING);
	if (id < 0)
		skip(); /* keyrings unavailable here (seccomp or no CONFIG_KEYS) */
	{
		char spec[80];

		snprintf(spec, sizeof(spec), "keyring:%s", name);
		assert_int_equal(cl_machine_key_load(spec, true, &a, &err), 0);
		assert_memory_equal(a->data, k32, 32);
		cl_secret_free(a);
		a = NULL;
		assert_true(syscall(SYS_add_key, "user", name, k16, sizeof(k16),
				    KEY_SPEC_PROCESS_KEYRING) == id);
		assert_int_equal(cl_machine_key_load(spec, true, &a, &err), -EINVAL);
		expect_err(&err, EINVAL, "16 bytes, expected 32");
		(void)syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
		snprintf(spec, sizeof(spec), "keyring:%s-missing", name);
		assert_true(cl_machine_key_load(spec, true, &a, &err) < 0);
		expect_err(&err, ENOKEY, "no readable 'user' key");
	}
	assert_null(a);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-keyfile-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest keyfile[] = {
	    cmocka_unit_test(test_gcm_kat),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_wrong_machine_key_and_moved_blob),
	    cmocka_unit_test(test_damaged_copies),
	    cmocka_unit_test(test_sequence_ids),
	    cmocka_unit_test(test_file_io),
	    cmocka_unit_test(test_machine_key_file),
	    cmocka_unit_test(test_machine_key_keyring),
	};

	/* as the hooks run the key-file path: no openssl.cnf, no legacy names, no strings */
	cl_crypto_init(true);
	return cmocka_run_group_tests(keyfile, setup, teardown);
}
