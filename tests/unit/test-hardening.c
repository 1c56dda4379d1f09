/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Issue 15, the pure parts: control characters in logged strings are escaped (no forged
 * log line), and cl_write_file_keep_at() keeps a file's mode and owner and never opens a
 * planted "path.tmp" (a FIFO there hung prepare).
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "lib/plan/plan.h"

#define TMPDIR_FIXTURE_NAME "cl-test-hardening"
#include "tests/unit/tmpdir-fixture.h"

static __attribute__((noinline)) char *slurp(const char *name)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(cl_read_file_at(base_fd, name, 1 << 20, &buf, &len, NULL), 0);
	return buf;
}

static void test_log_escapes_controls(void **state)
{
	char path[128];
	_cleanup_free_ char *text = NULL, *err_text = NULL;
	const char *nl;
	int saved = dup(STDERR_FILENO), errfd;

	(void)state;
	snprintf(path, sizeof(path), "%s/log", base);
	cl_log_open(path);
	errfd = openat(base_fd, "stderr", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(errfd >= 0);
	dup2(errfd, STDERR_FILENO);
	cl_log(CL_LOG_ERR, "annotation '%s'",
	       "x\n2026-01-01T00:00:00Z [1] forged\r\x1b[31m\t\x01\x7f"
	       "end");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(errfd);
	cl_log_open("/dev/null");
	text = slurp("log");
	/* one line: the newline of the value is "\n", not a line break */
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	assert_non_null(strstr(text, "annotation 'x\\n2026-01-01T00:00:00Z [1] forged"
				     "\\r\\x1b[31m\\t\\x01\\x7fend'\n"));
	err_text = slurp("stderr");
	assert_string_equal(err_text, "cryptlayer: annotation 'x\\n2026-01-01T00:00:00Z [1] forged"
				      "\\r\\x1b[31m\\t\\x01\\x7fend'\n");
}

static void test_log_plain_unchanged(void **state)
{
	_cleanup_free_ char *text = NULL;
	int saved = dup(STDERR_FILENO), errfd;

	(void)state;
	errfd = openat(base_fd, "stderr2", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(errfd, STDERR_FILENO);
	cl_log(CL_LOG_ERR, "base '%s' refused: caf\xc3\xa9 \\n", "/a b");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(errfd);
	text = slurp("stderr2");
	assert_string_equal(text, "cryptlayer: base '/a b' refused: caf\xc3\xa9 \\n\n");
}

static void test_keep_mode_and_owner(void **state)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	int fd;

	(void)state;
	fd = openat(base_fd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old", 3), 3);
	if (geteuid() == 0)
		assert_int_equal(fchown(fd, 1234, 4321), 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	/* a FIFO where the old code put its fixed temporary file: it hung on open */
	assert_int_equal(mkfifoat(base_fd, "config.json.tmp", 0600), 0);
	assert_int_equal(cl_write_file_keep_at(base_fd, "config.json", "new", 3, 0644, NULL), 0);
	assert_int_equal(fstatat(base_fd, "config.json", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 4321);
	}
	text = slurp("config.json");
	assert_string_equal(text, "new");
	assert_int_equal(fstatat(base_fd, "config.json.tmp", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
}

static void test_keep_new_file_and_symlink(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(cl_write_file_keep_at(base_fd, "fresh", "x", 1, 0640, NULL), 0);
	assert_int_equal(fstatat(base_fd, "fresh", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* a symlink is replaced, not followed */
	assert_int_equal(symlinkat("fresh", base_fd, "link"), 0);
	assert_int_equal(cl_write_file_keep_at(base_fd, "link", "y", 1, 0644, NULL), 0);
	assert_int_equal(fstatat(base_fd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fstatat(base_fd, "fresh", &st, 0), 0);
	assert_int_equal(st.st_size, 1);
}

/* ---- the base checks of lib/plan (canonical paths and facts of the opened base) ------ */

static const char *const deny[] = {"/var/lib/cryptlayer",
				   "/var/lib/cryptlayer/store",
				   "/run/cryptlayer",
				   "/etc/cryptlayer",
				   "/proc",
				   "/sys",
				   "/dev"};
static const char *const allow[] = {"/srv/bases", "/opt/images"};

static struct cl_request base_req = {
    .enabled = true, .keymode = CL_KEY_EPHEMERAL, .backend = CL_BACKEND_OVERLAY};

static struct cl_plan_input base_in(const char *lower)
{
	return (struct cl_plan_input){
	    .id = "c1",
	    .req = &base_req,
	    .lower = lower,
	    .lower_mode = S_IFDIR | 0755,
	    .store_root = "/var/lib/cryptlayer",
	    .store_dir = "/var/lib/cryptlayer/store",
	    .run_dir = "/run/cryptlayer",
	    .owner = CL_OWNER_CLI,
	    .deny = deny,
	    .n_deny = CL_ARRAY_SIZE(deny),
	};
}

/* NULL: planned; else the refusal's message must hold @needle */
static void expect_base(const struct cl_plan_input *in, const char *needle)
{
	struct cl_plan p = {};
	struct cl_error *err = NULL;
	int r = cl_plan_create(in, &p, &err);

	if (!needle) {
		if (r < 0)
			fail_msg("'%s' refused: %s", in->lower, err->msg);
		assert_int_equal(p.lower_dev, in->lower_dev);
		assert_int_equal(p.lower_ino, in->lower_ino);
		cl_plan_clear(&p);
		return;
	}
	assert_int_equal(r, -EPERM);
	if (!strstr(err->msg, needle))
		fail_msg("'%s': '%s' lacks '%s'", in->lower, err->msg, needle);
	cl_error_free(&err);
}

static void test_base_deny(void **state)
{
	static const char *const bad[] = {"/proc",
					  "/proc/1",
					  "/sys/kernel",
					  "/dev",
					  "/dev/shm",
					  "/run/cryptlayer",
					  "/run",
					  "/var",
					  "/var/lib/cryptlayer/store/containers/x/crypt/upper",
					  "/etc",
					  "/etc/cryptlayer/x"};
	struct cl_plan_input in;

	(void)state;
	for (size_t i = 0; i < CL_ARRAY_SIZE(bad); i++) {
		in = base_in(bad[i]);
		expect_base(&in, "refused");
	}
	in = base_in("/srv/base");
	in.lower_dev = 7;
	in.lower_ino = 42;
	expect_base(&in, NULL);
	in.lower_pseudo_fs = true;
	expect_base(&in, "kernel pseudo filesystem");
	in = base_in("/srv/base");
	in.lower_encrypted = true;
	expect_base(&in, "inside an encrypted layer");
	/* root.path gets the same checks */
	in = base_in("/proc/1/root");
	in.lower_is_root = true;
	expect_base(&in, "is inside '/proc'");
}

static void test_base_allowlist(void **state)
{
	struct cl_plan_input in = base_in("/srv/bases/alpine");

	(void)state;
	in.allow = allow;
	in.n_allow = CL_ARRAY_SIZE(allow);
	expect_base(&in, NULL);
	in.lower = "/srv/bases";
	expect_base(&in, NULL);
	in.lower = "/opt/images/x/y";
	expect_base(&in, NULL);
	in.lower = "/srv/basesX";
	expect_base(&in, "not at or below a --base-dir ('/srv/bases', ...)");
	in.lower = "/srv";
	expect_base(&in, "not at or below a --base-dir");
	/* root.path (CRI-O's own image rootfs) is not a named base */
	in.lower_is_root = true;
	expect_base(&in, NULL);
	/* --require-base-dir without --base-dir: every named base refused */
	in = base_in("/srv/bases/alpine");
	in.allow_required = true;
	expect_base(&in, "takes no named base");
	in.lower_is_root = true;
	expect_base(&in, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_escapes_controls),
	    cmocka_unit_test(test_log_plain_unchanged),
	    cmocka_unit_test(test_keep_mode_and_owner),
	    cmocka_unit_test(test_keep_new_file_and_symlink),
	    cmocka_unit_test(test_base_deny),
	    cmocka_unit_test(test_base_allowlist),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
