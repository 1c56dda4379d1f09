/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/mount: the mount-table questions, answered by the kernel (statx, statmount,
 * listmount) and by the libmount fallback, must agree. Runs in a private mount namespace
 * on a tmpfs tree; needs root (CAP_SYS_ADMIN), which CI has.
 */
#include <errno.h>
#include <setjmp.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/mount/overlay.h"

static char top[] = "/tmp/cl-test-mount.XXXXXX";
static int ready;

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (!ready) {                                                                      \
			print_message("# SKIP needs root for a private mount namespace\n");        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", top, rel);
}

static void mount_tmpfs(const char *rel)
{
	char p[256];

	path(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, 0755) == 0 || errno == EEXIST, 1);
	assert_int_equal(mount("cltest", p, "tmpfs", 0, "size=64k"), 0);
}

/* top (tmpfs) with children a, b (b has its own child c), a file bind, and a plain dir */
static int setup(void **state)
{
	char p[256];

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0)
		return 0; /* each test skips, saying why */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || !mkdtemp(top))
		return -1;
	assert_int_equal(mount("cltest", top, "tmpfs", 0, "size=64k"), 0);
	mount_tmpfs("a");
	mount_tmpfs("b");
	mount_tmpfs("b/c");
	path(p, sizeof(p), "plain");
	assert_int_equal(mkdir(p, 0755), 0);
	path(p, sizeof(p), "file");
	close(creat(p, 0644));
	assert_int_equal(mount("/etc/hostname", p, NULL, MS_BIND, NULL), 0);
	ready = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!ready)
		return 0;
	umount2(top, MNT_DETACH);
	rmdir(top);
	return 0;
}

static void assert_children(char **v, int n)
{
	char a[256], b[256], f[256];

	path(a, sizeof(a), "a");
	path(b, sizeof(b), "b");
	path(f, sizeof(f), "file");
	assert_int_equal(n, 3);
	/* mount order: a, b, file (b/c is b's child, not top's) */
	assert_string_equal(v[0], a);
	assert_string_equal(v[1], b);
	assert_string_equal(v[2], f);
	assert_null(v[3]);
}

static void test_submounts_kernel(void **state)
{
	struct cl_error *err = NULL;
	char **v = NULL;
	int n;

	(void)state;
	NEED_ROOT();
	n = cl_mount_submounts(top, &v, &err);
	assert_null(err);
	assert_children(v, n);
	cl_strv_free(v);
}

static void test_submounts_libmount(void **state)
{
	struct cl_error *err = NULL;
	char **v = NULL;
	int n;

	(void)state;
	NEED_ROOT();
	n = cl_mount_submounts_libmount(top, &v, &err);
	assert_null(err);
	assert_children(v, n);
	cl_strv_free(v);
}

static void test_submounts_not_a_mount(void **state)
{
	struct cl_error *err = NULL;
	char p[256], **v = NULL;

	(void)state;
	NEED_ROOT();
	path(p, sizeof(p), "plain");
	assert_int_equal(cl_mount_submounts(p, &v, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "is not a mount point"));
	cl_error_free(&err);
	assert_int_equal(cl_mount_submounts_libmount(p, &v, &err), -ENOENT);
	cl_error_free(&err);
	assert_null(v);
}

static void test_is_mountpoint(void **state)
{
	char p[256];

	(void)state;
	NEED_ROOT();
	assert_int_equal(cl_mount_is_mountpoint(top), 1);
	path(p, sizeof(p), "b/c");
	assert_int_equal(cl_mount_is_mountpoint(p), 1);
	path(p, sizeof(p), "file");
	assert_int_equal(cl_mount_is_mountpoint(p), 1);
	path(p, sizeof(p), "plain");
	assert_int_equal(cl_mount_is_mountpoint(p), 0);
	path(p, sizeof(p), "missing/deeper");
	assert_int_equal(cl_mount_is_mountpoint(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_submounts_kernel),
	    cmocka_unit_test(test_submounts_libmount),
	    cmocka_unit_test(test_submounts_not_a_mount),
	    cmocka_unit_test(test_is_mountpoint),
	};

	return cmocka_run_group_tests_name("mount", tests, setup, teardown);
}
