/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Trusted paths (lib/core/trust.h, issue 15): the ownership and mode rules for the checked
 * directory and those above it, and the walk on a real tree (modes only: owners other than
 * ours need root, and 365-trusted-paths.bats covers them).
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
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/trust.h"

#define TMPDIR_FIXTURE_NAME "cl-test-trust"
#include "tests/unit/tmpdir-fixture.h"

static const char *rule_flags(uid_t uid, mode_t mode, int target, unsigned flags)
{
	static char buf[96];
	struct stat st = {.st_uid = uid, .st_mode = S_IFDIR | mode};

	return cl_trust_check_stat(&st, target, flags, buf, sizeof(buf));
}

static const char *rule(uid_t uid, mode_t mode, int target)
{
	return rule_flags(uid, mode, target, 0);
}

static void test_rules(void **state)
{
	(void)state;
	/* the directory itself: ours or root's, nobody else may write */
	assert_null(rule(0, 0700, 1));
	assert_null(rule(geteuid(), 0755, 1));
	assert_string_equal(rule(0, 0775, 1), "writable by its group (mode 0775)");
	assert_string_equal(rule(0, 0757, 1), "writable by others (mode 0757)");
	assert_string_equal(rule(0, 01777, 1), "writable by others (mode 1777)");
	/* above it: group-writable and sticky world-writable are fine */
	assert_null(rule(0, 0775, 0));
	assert_null(rule(0, 01777, 0));
	assert_string_equal(rule(0, 0777, 0), "world-writable without the sticky bit (mode 0777)");
	/* another owner, anywhere (the overflow uid only above, and only in a user ns) */
	if (geteuid() != 4242) {
		assert_non_null(strstr(rule(4242, 0755, 1), "owned by uid 4242"));
		assert_non_null(strstr(rule(4242, 0755, 0), "owned by uid 4242"));
	}
}

/* CL_TRUST_OWN (a user's own store): the directory itself is ours, not root's */
static void test_rules_own(void **state)
{
	char want[96];

	(void)state;
	assert_null(rule_flags(geteuid(), 0700, 1, CL_TRUST_OWN));
	assert_string_equal(rule_flags(geteuid(), 0770, 1, CL_TRUST_OWN),
			    "writable by its group (mode 0770)");
	if (geteuid() != 4242) {
		snprintf(want, sizeof(want), "owned by uid 4242, not by this user (uid %u here)",
			 (unsigned)geteuid());
		assert_string_equal(rule_flags(4242, 0700, 1, CL_TRUST_OWN), want);
	}
	if (geteuid() != 0)
		assert_non_null(strstr(rule_flags(0, 0700, 1, CL_TRUST_OWN), "owned by uid 0"));
	/* above it, the usual rule: root's directories are fine */
	assert_null(rule_flags(0, 0755, 0, CL_TRUST_OWN));
}

static void expect_open_flags(const char *rel, unsigned flags, int errnum, const char *msg)
{
	char path[256];
	struct cl_error *err = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	fd = cl_trusted_dir_open(path, "dir", flags, 0, &err);
	if (!errnum) {
		assert_true(fd >= 0);
		assert_null(err);
		close(fd);
		return;
	}
	assert_int_equal(fd, -errnum);
	assert_non_null(err);
	if (msg)
		assert_non_null(strstr(err->msg, msg));
	cl_error_free(&err);
}

static void expect_open(const char *rel, int errnum, const char *msg)
{
	expect_open_flags(rel, 0, errnum, msg);
}

static void test_walk(void **state)
{
	char path[256];
	struct cl_error *err = NULL;
	int fd;

	(void)state;
	assert_int_equal(cl_mkdir_p_at(AT_FDCWD, base, 0755, NULL), 0);
	chmod(base, 0755);
	snprintf(path, sizeof(path), "%s/a/b", base);
	assert_int_equal(cl_mkdir_p_at(AT_FDCWD, path, 0755, NULL), 0);
	expect_open("a/b", 0, NULL);
	expect_open("a/./b/", 0, NULL);
	expect_open("a/b/../b", 0, NULL);
	expect_open("a/missing", ENOENT, "missing");
	/* the target: neither group nor others may write */
	snprintf(path, sizeof(path), "%s/a/b", base);
	chmod(path, 0770);
	expect_open("a/b", EPERM, "/a/b' is writable by its group (mode 0770)");
	chmod(path, 0755);
	/* above: world-writable only with the sticky bit */
	snprintf(path, sizeof(path), "%s/a", base);
	chmod(path, 0777);
	expect_open("a/b", EPERM, "/a' is world-writable without the sticky bit");
	chmod(path, 01777);
	expect_open("a/b", 0, NULL);
	chmod(path, 0755);
	/* our own symlinks are followed, relative and absolute; a file is not a directory */
	snprintf(path, sizeof(path), "%s/l", base);
	assert_int_equal(symlink("a/b", path), 0);
	expect_open("l", 0, NULL);
	snprintf(path, sizeof(path), "%s/a/f", base);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	expect_open("a/f", ENOTDIR, NULL);
	snprintf(path, sizeof(path), "%s/loop", base);
	assert_int_equal(symlink("loop", path), 0);
	expect_open("loop", ELOOP, NULL);
	/* CL_TRUST_CREATE makes what is missing, with @mode */
	snprintf(path, sizeof(path), "%s/new/deeper", base);
	fd = cl_trusted_dir_open(path, "dir", CL_TRUST_CREATE, 0700, &err);
	assert_true(fd >= 0);
	close(fd);
	expect_open("new/deeper", 0, NULL);
}

/* CL_TRUST_CANONICAL: what the walk would follow is refused instead, with ELOOP */
static void test_walk_canonical(void **state)
{
	const unsigned c = CL_TRUST_CANONICAL;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/c/d", base);
	assert_int_equal(cl_mkdir_p_at(AT_FDCWD, path, 0755, NULL), 0);
	expect_open_flags("c/d", c, 0, NULL);
	expect_open_flags("c/d", c | CL_TRUST_OWN, 0, NULL);
	expect_open_flags("c/./d", c, ELOOP, "/c/./d' is not a canonical path ('.', '..'");
	expect_open_flags("c/d/../d", c, ELOOP, "is not a canonical path");
	expect_open_flags("c//d", c, ELOOP, "is not a canonical path");
	expect_open_flags("c/d/", c, ELOOP, "is not a canonical path");
	expect_open_flags("c/d/.", c, ELOOP, "is not a canonical path");
	snprintf(path, sizeof(path), "%s/c/link", base);
	assert_int_equal(symlink("d", path), 0);
	expect_open_flags("c/link", c, ELOOP, "/c/link' is not a canonical path: '");
	expect_open_flags("c/link", c, ELOOP, "/c/link' is a symlink, pass the real path");
	expect_open("c/link", 0, NULL);
	/* a missing part: ENOENT, as without the flag */
	expect_open_flags("c/missing/x", c, ENOENT, "missing");
}

static void test_file(void **state)
{
	char path[256];
	struct cl_error *err = NULL;
	_cleanup_close_ int fd = -1, dfd = -1;

	(void)state;
	snprintf(path, sizeof(path), "%s/rec.json", base);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(cl_trusted_file_check(fd, "record", path, &err), 0);
	fchmod(fd, 0620);
	assert_int_equal(cl_trusted_file_check(fd, "record", path, &err), -EPERM);
	assert_non_null(strstr(err->msg, "writable by its group (mode 0620)"));
	cl_error_free(&err);
	dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(cl_trusted_file_check(dfd, "record", base, &err), -EINVAL);
	cl_error_free(&err);
}

/* CL_TRUST_ONCE: the directory checked first is the one used, each open a new description */
static void test_once(void **state)
{
	char path[256], moved[256];
	struct cl_error *err = NULL;
	struct stat a, b;
	int fd1, fd2, fd3;

	(void)state;
	snprintf(path, sizeof(path), "%s/once", base);
	snprintf(moved, sizeof(moved), "%s/once.old", base);
	fd1 = cl_trusted_dir_open(path, "dir", CL_TRUST_CREATE | CL_TRUST_ONCE, 0700, &err);
	assert_true(fd1 >= 0);
	assert_int_equal(fstat(fd1, &a), 0);
	/* the path now names another directory: the walked one is still what we get */
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	fd2 = cl_trusted_dir_open(path, "dir", CL_TRUST_ONCE, 0, &err);
	assert_true(fd2 >= 0);
	assert_int_equal(fstat(fd2, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	/* without the flag, a new walk */
	fd3 = cl_trusted_dir_open(path, "dir", 0, 0, &err);
	assert_true(fd3 >= 0);
	assert_int_equal(fstat(fd3, &b), 0);
	assert_true(a.st_ino != b.st_ino);
	close(fd3);
	/* a lock taken on one open ends with its close (not a shared description) */
	assert_int_equal(flock(fd1, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), -1);
	close(fd1);
	assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), 0);
	close(fd2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules), cmocka_unit_test(test_rules_own),
	    cmocka_unit_test(test_walk),  cmocka_unit_test(test_walk_canonical),
	    cmocka_unit_test(test_file),  cmocka_unit_test(test_once),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
