/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/fscrypt wrappers against a mocked ioctl(2): what goes in, what comes back. */
/* WRAP: -Wl,--wrap=ioctl */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fscrypt.h>
#include <cmocka.h>

#include "lib/crypto/secret.h"
#include "lib/fscrypt/fscrypt.h"

#define MNT_FD 7
#define DIR_FD 9
#define ID_HEX "00112233445566778899aabbccddeeff"

/* What the fake kernel answers on success, and what it saw. */
static uint8_t kernel_id[FSCRYPT_KEY_IDENTIFIER_SIZE];
static uint32_t kernel_flags;
static uint32_t kernel_status;
static union {
	uint8_t version;
	struct fscrypt_policy_v1 v1;
	struct fscrypt_policy_v2 v2;
} kernel_policy;
static struct fscrypt_add_key_arg seen_add;
static uint8_t seen_raw[FSCRYPT_MAX_KEY_SIZE];
static uintptr_t seen_add_addr;
static struct fscrypt_key_specifier seen_spec;
static struct fscrypt_policy_v2 seen_policy;

int __wrap_ioctl(int fd, unsigned long req, ...);

static void answer(unsigned long req, void *arg)
{
	switch (req) {
	case FS_IOC_ADD_ENCRYPTION_KEY: {
		struct fscrypt_add_key_arg *a = arg;

		memcpy(a->key_spec.u.identifier, kernel_id, sizeof(kernel_id));
		break;
	}
	case FS_IOC_REMOVE_ENCRYPTION_KEY:
		((struct fscrypt_remove_key_arg *)arg)->removal_status_flags = kernel_flags;
		break;
	case FS_IOC_GET_ENCRYPTION_KEY_STATUS:
		((struct fscrypt_get_key_status_arg *)arg)->status = kernel_status;
		break;
	case FS_IOC_GET_ENCRYPTION_POLICY_EX: {
		struct fscrypt_get_policy_ex_arg *a = arg;

		memcpy(&a->policy, &kernel_policy, sizeof(kernel_policy));
		a->policy_size = kernel_policy.version == FSCRYPT_POLICY_V2
				     ? sizeof(struct fscrypt_policy_v2)
				     : sizeof(struct fscrypt_policy_v1);
		break;
	}
	}
}

static void record(unsigned long req, void *arg)
{
	switch (req) {
	case FS_IOC_ADD_ENCRYPTION_KEY: {
		struct fscrypt_add_key_arg *a = arg;

		seen_add = *a;
		seen_add_addr = (uintptr_t)a;
		if (a->raw_size <= sizeof(seen_raw))
			memcpy(seen_raw, a->raw, a->raw_size);
		break;
	}
	case FS_IOC_REMOVE_ENCRYPTION_KEY:
		seen_spec = ((struct fscrypt_remove_key_arg *)arg)->key_spec;
		break;
	case FS_IOC_GET_ENCRYPTION_KEY_STATUS:
		seen_spec = ((struct fscrypt_get_key_status_arg *)arg)->key_spec;
		break;
	case FS_IOC_SET_ENCRYPTION_POLICY:
		seen_policy = *(struct fscrypt_policy_v2 *)arg;
		break;
	case FS_IOC_GET_ENCRYPTION_POLICY_EX:
		/* the caller must offer room for any policy version */
		assert_true(((struct fscrypt_get_policy_ex_arg *)arg)->policy_size >=
			    sizeof(struct fscrypt_policy_v2));
		break;
	}
}

/* will_return(__wrap_ioctl, 0) succeeds; a positive value fails with that errno. */
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int e;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	check_expected(fd);
	check_expected(req);
	record(req, arg);
	e = mock_type(int);
	if (e) {
		errno = e;
		return -1;
	}
	answer(req, arg);
	return 0;
}

static void expect_ioctl(int fd, unsigned long req, int e)
{
	expect_value(__wrap_ioctl, fd, fd);
	expect_value(__wrap_ioctl, req, req);
	will_return(__wrap_ioctl, e);
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < FSCRYPT_KEY_IDENTIFIER_SIZE; i++)
		kernel_id[i] = (uint8_t)(0xf0 + i); /* f0f1...ff: hex letters */
	kernel_flags = 0;
	kernel_status = 0;
	memset(&kernel_policy, 0, sizeof(kernel_policy));
	memset(&seen_add, 0, sizeof(seen_add));
	memset(seen_raw, 0, sizeof(seen_raw));
	memset(&seen_spec, 0, sizeof(seen_spec));
	memset(&seen_policy, 0, sizeof(seen_policy));
	seen_add_addr = 0;
	return 0;
}

static struct cl_key_id test_id(void)
{
	struct cl_key_id id;

	assert_int_equal(cl_key_id_from_hex(ID_HEX, &id), 0);
	return id;
}

static void expect_error(int r, struct cl_error **err, int errnum, const char *needle)
{
	assert_int_equal(r, -errnum);
	assert_non_null(*err);
	assert_int_equal((*err)->errnum, errnum);
	if (!strstr((*err)->msg, needle))
		fail_msg("message '%s' lacks '%s'", (*err)->msg, needle);
	cl_error_free(err);
}

/* ---- key ids --------------------------------------------------------------------------- */

static void test_key_id_from_hex(void **state)
{
	struct cl_key_id id;

	(void)state;
	assert_int_equal(cl_key_id_from_hex(ID_HEX, &id), 0);
	assert_string_equal(id.hex, ID_HEX);
	for (int i = 0; i < CL_FSCRYPT_ID_SIZE; i++)
		assert_int_equal(id.bytes[i], (i << 4) | i);
	assert_int_equal(cl_key_id_from_hex("ffffffffffffffffffffffffffffffff", &id), 0);
	assert_int_equal(id.bytes[15], 0xff);
}

static void test_key_id_from_hex_refused(void **state)
{
	static const char *const bad[] = {
	    "00112233445566778899AABBCCDDEEFF", /* uppercase */
	    "00112233445566778899aabbccddeeF0",
	    "00112233445566778899aabbccddeef",	 /* 31 */
	    "00112233445566778899aabbccddeeff0", /* 33 */
	    "",
	    "0011223344556677",
	    "00112233445566778899aabbccddeegg", /* not hex */
	    "0x112233445566778899aabbccddeeff",
	    " 0112233445566778899aabbccddeeff",
	    "00112233445566778899aabbccddee-f",
	};
	struct cl_key_id id;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&id, 0x5a, sizeof(id));
		if (cl_key_id_from_hex(bad[i], &id) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(id.bytes[0], 0x5a); /* untouched */
	}
	assert_int_equal(cl_key_id_from_hex(NULL, &id), -EINVAL);
	/* a NUL inside the 32 characters */
	assert_int_equal(cl_key_id_from_hex("0011223344556677\0"
					    "899aabbccddeeff",
					    &id),
			 -EINVAL);
}

static void test_key_status_names(void **state)
{
	(void)state;
	assert_string_equal(cl_fscrypt_key_status_name(CL_KEY_ABSENT), "absent");
	assert_string_equal(cl_fscrypt_key_status_name(CL_KEY_PRESENT), "present");
	assert_string_equal(cl_fscrypt_key_status_name(CL_KEY_INCOMPLETELY_REMOVED),
			    "incompletely-removed");
	assert_string_equal(cl_fscrypt_key_status_name(_CL_KEY_STATUS_MAX), "unknown");
}

/* ---- add key --------------------------------------------------------------------------- */

static void test_add_key(void **state)
{
	struct cl_error *err = NULL;
	struct cl_secret *key = cl_secret_new(CL_FSCRYPT_KEY_SIZE, &err);
	struct cl_key_id id;

	(void)state;
	assert_non_null(key);
	for (size_t i = 0; i < key->len; i++)
		key->data[i] = (unsigned char)(i * 7 + 1);
	expect_ioctl(MNT_FD, FS_IOC_ADD_ENCRYPTION_KEY, 0);
	assert_int_equal(cl_fscrypt_add_key(MNT_FD, key, &id, &err), 0);
	assert_null(err);
	/* a v2 key: identifier spec, raw_size 64, the key bytes, no keyring key_id */
	assert_int_equal(seen_add.key_spec.type, FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER);
	assert_int_equal(seen_add.raw_size, 64);
	assert_int_equal(seen_add.key_id, 0);
	assert_memory_equal(seen_raw, key->data, 64);
	/* the argument carries the raw key: it lives in (page-aligned) secret memory */
	assert_int_equal(seen_add_addr % 4096, 0);
	/* the kernel's identifier comes back, as lowercase hex */
	assert_memory_equal(id.bytes, kernel_id, sizeof(kernel_id));
	assert_string_equal(id.hex, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	cl_secret_free(key);
}

static void test_add_key_errors(void **state)
{
	struct cl_error *err = NULL;
	struct cl_secret *key = cl_secret_new(CL_FSCRYPT_KEY_SIZE, &err);
	struct cl_secret *short_key = cl_secret_new(32, &err);
	struct cl_key_id id;

	(void)state;
	assert_non_null(key);
	assert_non_null(short_key);
	memset(&id, 0x5a, sizeof(id));
	/* no ioctl for a key of the wrong size */
	expect_error(cl_fscrypt_add_key(MNT_FD, short_key, &id, &err), &err, EINVAL,
		     "fscrypt key of 32 bytes");
	expect_ioctl(MNT_FD, FS_IOC_ADD_ENCRYPTION_KEY, EACCES);
	expect_error(cl_fscrypt_add_key(MNT_FD, key, &id, &err), &err, EACCES,
		     "FS_IOC_ADD_ENCRYPTION_KEY");
	expect_ioctl(MNT_FD, FS_IOC_ADD_ENCRYPTION_KEY, EOPNOTSUPP);
	assert_int_equal(cl_fscrypt_add_key(MNT_FD, key, &id, NULL), -EOPNOTSUPP);
	assert_int_equal(id.bytes[0], 0x5a); /* untouched */
	cl_secret_free(short_key);
	cl_secret_free(key);
}

/* ---- remove key and status ------------------------------------------------------------- */

static void test_remove_key(void **state)
{
	struct cl_key_id id = test_id();
	struct cl_error *err = NULL;
	unsigned flags = 0xdead;

	(void)state;
	expect_ioctl(MNT_FD, FS_IOC_REMOVE_ENCRYPTION_KEY, 0);
	assert_int_equal(cl_fscrypt_remove_key(MNT_FD, &id, &flags, &err), 0);
	assert_null(err);
	assert_int_equal(flags, 0);
	assert_int_equal(seen_spec.type, FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER);
	assert_memory_equal(seen_spec.u.identifier, id.bytes, sizeof(id.bytes));

	kernel_flags = FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY |
		       FSCRYPT_KEY_REMOVAL_STATUS_FLAG_OTHER_USERS;
	expect_ioctl(MNT_FD, FS_IOC_REMOVE_ENCRYPTION_KEY, 0);
	assert_int_equal(cl_fscrypt_remove_key(MNT_FD, &id, &flags, &err), 0);
	assert_int_equal(flags, FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY |
				    FSCRYPT_KEY_REMOVAL_STATUS_FLAG_OTHER_USERS);
	/* flags are optional */
	expect_ioctl(MNT_FD, FS_IOC_REMOVE_ENCRYPTION_KEY, 0);
	assert_int_equal(cl_fscrypt_remove_key(MNT_FD, &id, NULL, &err), 0);
}

static void test_remove_key_errors(void **state)
{
	struct cl_key_id id = test_id();
	struct cl_error *err = NULL;
	unsigned flags = 0xdead;

	(void)state;
	expect_ioctl(MNT_FD, FS_IOC_REMOVE_ENCRYPTION_KEY, ENOKEY);
	expect_error(cl_fscrypt_remove_key(MNT_FD, &id, &flags, &err), &err, ENOKEY,
		     "FS_IOC_REMOVE_ENCRYPTION_KEY " ID_HEX);
	assert_int_equal(flags, 0xdead); /* untouched */
	expect_ioctl(MNT_FD, FS_IOC_REMOVE_ENCRYPTION_KEY, EACCES);
	assert_int_equal(cl_fscrypt_remove_key(MNT_FD, &id, &flags, NULL), -EACCES);
}

static void test_key_status(void **state)
{
	static const struct {
		uint32_t kernel;
		enum cl_key_status want;
	} map[] = {
	    {FSCRYPT_KEY_STATUS_ABSENT, CL_KEY_ABSENT},
	    {FSCRYPT_KEY_STATUS_PRESENT, CL_KEY_PRESENT},
	    {FSCRYPT_KEY_STATUS_INCOMPLETELY_REMOVED, CL_KEY_INCOMPLETELY_REMOVED},
	};
	struct cl_key_id id = test_id();
	struct cl_error *err = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		enum cl_key_status st = _CL_KEY_STATUS_MAX;

		kernel_status = map[i].kernel;
		expect_ioctl(MNT_FD, FS_IOC_GET_ENCRYPTION_KEY_STATUS, 0);
		assert_int_equal(cl_fscrypt_key_status(MNT_FD, &id, &st, &err), 0);
		assert_null(err);
		assert_int_equal(st, map[i].want);
		assert_int_equal(seen_spec.type, FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER);
		assert_memory_equal(seen_spec.u.identifier, id.bytes, sizeof(id.bytes));
	}
}

static void test_key_status_errors(void **state)
{
	struct cl_key_id id = test_id();
	struct cl_error *err = NULL;
	enum cl_key_status st = _CL_KEY_STATUS_MAX;

	(void)state;
	/* a status this build does not know is an error, never "absent" */
	kernel_status = 0;
	expect_ioctl(MNT_FD, FS_IOC_GET_ENCRYPTION_KEY_STATUS, 0);
	expect_error(cl_fscrypt_key_status(MNT_FD, &id, &st, &err), &err, EPROTO,
		     "key " ID_HEX ": unknown status 0");
	kernel_status = 99;
	expect_ioctl(MNT_FD, FS_IOC_GET_ENCRYPTION_KEY_STATUS, 0);
	expect_error(cl_fscrypt_key_status(MNT_FD, &id, &st, &err), &err, EPROTO,
		     "unknown status 99");
	expect_ioctl(MNT_FD, FS_IOC_GET_ENCRYPTION_KEY_STATUS, ENOTTY);
	expect_error(cl_fscrypt_key_status(MNT_FD, &id, &st, &err), &err, ENOTTY,
		     "FS_IOC_GET_ENCRYPTION_KEY_STATUS " ID_HEX);
	assert_int_equal(st, _CL_KEY_STATUS_MAX); /* untouched */
}

/* ---- policies -------------------------------------------------------------------------- */

static void test_set_policy(void **state)
{
	struct cl_key_id id = test_id();
	struct cl_error *err = NULL;

	(void)state;
	expect_ioctl(DIR_FD, FS_IOC_SET_ENCRYPTION_POLICY, 0);
	assert_int_equal(cl_fscrypt_set_policy(DIR_FD, &id, &err), 0);
	assert_null(err);
	assert_int_equal(seen_policy.version, FSCRYPT_POLICY_V2);
	assert_int_equal(seen_policy.contents_encryption_mode, FSCRYPT_MODE_AES_256_XTS);
	assert_int_equal(seen_policy.filenames_encryption_mode, FSCRYPT_MODE_AES_256_CTS);
	assert_int_equal(seen_policy.flags, FSCRYPT_POLICY_FLAGS_PAD_32);
	assert_memory_equal(seen_policy.master_key_identifier, id.bytes, sizeof(id.bytes));
	for (size_t i = 0; i < sizeof(seen_policy.__reserved); i++)
		assert_int_equal(seen_policy.__reserved[i], 0);
}

static void test_set_policy_errors(void **state)
{
	struct cl_key_id id = test_id();
	struct cl_error *err = NULL;

	(void)state;
	expect_ioctl(DIR_FD, FS_IOC_SET_ENCRYPTION_POLICY, EEXIST);
	expect_error(cl_fscrypt_set_policy(DIR_FD, &id, &err), &err, EEXIST,
		     "FS_IOC_SET_ENCRYPTION_POLICY " ID_HEX);
	expect_ioctl(DIR_FD, FS_IOC_SET_ENCRYPTION_POLICY, ENOTEMPTY);
	assert_int_equal(cl_fscrypt_set_policy(DIR_FD, &id, NULL), -ENOTEMPTY);
}

static void test_get_policy(void **state)
{
	struct cl_error *err = NULL;
	struct cl_key_id id;
	bool enc = true;

	(void)state;
	/* ENODATA: a directory without a policy */
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, ENODATA);
	assert_int_equal(cl_fscrypt_get_policy(DIR_FD, &enc, &id, &err), 0);
	assert_false(enc);
	assert_null(err);

	kernel_policy.v2 = (struct fscrypt_policy_v2){
	    .version = FSCRYPT_POLICY_V2,
	    .contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS,
	    .filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS,
	    .flags = FSCRYPT_POLICY_FLAGS_PAD_32,
	};
	memcpy(kernel_policy.v2.master_key_identifier, kernel_id, sizeof(kernel_id));
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, 0);
	assert_int_equal(cl_fscrypt_get_policy(DIR_FD, &enc, &id, &err), 0);
	assert_true(enc);
	assert_string_equal(id.hex, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	/* the id is optional */
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, 0);
	assert_int_equal(cl_fscrypt_get_policy(DIR_FD, &enc, NULL, &err), 0);
}

static void test_get_policy_errors(void **state)
{
	struct cl_error *err = NULL;
	struct cl_key_id id;
	bool enc = false;

	(void)state;
	kernel_policy.v1 = (struct fscrypt_policy_v1){.version = FSCRYPT_POLICY_V1};
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, 0);
	expect_error(cl_fscrypt_get_policy(DIR_FD, &enc, &id, &err), &err, EPROTO,
		     "fscrypt policy version 0 (want v2)");
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, EOPNOTSUPP);
	expect_error(cl_fscrypt_get_policy(DIR_FD, &enc, &id, &err), &err, EOPNOTSUPP,
		     "FS_IOC_GET_ENCRYPTION_POLICY_EX");
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, ENOTTY);
	assert_int_equal(cl_fscrypt_get_policy(DIR_FD, &enc, &id, NULL), -ENOTTY);
	assert_false(enc);
}

static void test_fs_supported(void **state)
{
	const char *why = NULL;

	(void)state;
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, 0);
	kernel_policy.version = FSCRYPT_POLICY_V2;
	assert_int_equal(cl_fscrypt_fs_supported(DIR_FD, &why), 1);
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, ENODATA);
	assert_int_equal(cl_fscrypt_fs_supported(DIR_FD, &why), 1);
	assert_null(why);
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, EOPNOTSUPP);
	assert_int_equal(cl_fscrypt_fs_supported(DIR_FD, &why), 0);
	assert_non_null(strstr(why, "encrypt feature"));
	why = NULL;
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, ENOTTY);
	assert_int_equal(cl_fscrypt_fs_supported(DIR_FD, &why), 0);
	assert_non_null(strstr(why, "no fscrypt support"));
	expect_ioctl(DIR_FD, FS_IOC_GET_ENCRYPTION_POLICY_EX, EIO);
	assert_int_equal(cl_fscrypt_fs_supported(DIR_FD, &why), -EIO);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_key_id_from_hex),   T(test_key_id_from_hex_refused),
	    T(test_key_status_names),  T(test_add_key),
	    T(test_add_key_errors),    T(test_remove_key),
	    T(test_remove_key_errors), T(test_key_status),
	    T(test_key_status_errors), T(test_set_policy),
	    T(test_set_policy_errors), T(test_get_policy),
	    T(test_get_policy_errors), T(test_fs_supported),
	};

	return cmocka_run_group_tests_name("fscrypt", tests, NULL, NULL);
}
