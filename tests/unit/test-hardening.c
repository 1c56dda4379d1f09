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

static char base[] = "/tmp/cl-test-hardening.XXXXXX";
static int base_fd = -1;

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
	       "x\n2026-01-01T00:00:00Z [1] forged\r\x1b[31m\t\x01\x7f" "end");
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

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(base))
		return -1;
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return base_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	(void)cl_rm_rf_at(AT_FDCWD, base, NULL);
	close(base_fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_escapes_controls),
	    cmocka_unit_test(test_log_plain_unchanged),
	    cmocka_unit_test(test_keep_mode_and_owner),
	    cmocka_unit_test(test_keep_new_file_and_symlink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
