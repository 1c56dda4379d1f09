/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cl_write_file_keep_at() (prepare's config.json, issue 15): the new contents have no
 * name until they are complete and synced (O_TMPFILE + linkat), so a crash leaves no
 * half-written copy beside the file and nothing planted under any name is opened; where
 * a filesystem has no O_TMPFILE, a fresh O_EXCL name does the same job.
 */
/* WRAP: -Wl,--wrap=openat,--wrap=fsync */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

#define TMPDIR_FIXTURE_NAME "cl-test-write-keep"
#include "tests/unit/tmpdir-fixture.h"
static bool no_tmpfile;	       /* openat(O_TMPFILE) answers EOPNOTSUPP, as on vfat */
static int names_at_sync = -1; /* entries of base at the last fsync */

int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (no_tmpfile && (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return __real_openat(dirfd, path, flags, mode);
}

static int count_names(void)
{
	DIR *d = opendir(base);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/* the contents are complete here: what a crash at this point would leave */
int __wrap_fsync(int fd)
{
	names_at_sync = count_names();
	return __real_fsync(fd);
}

static void write_keep(const char *text)
{
	assert_int_equal(
	    cl_write_file_keep_at(base_fd, "config.json", text, strlen(text), 0644, NULL), 0);
}

static void assert_contents(const char *want)
{
	_cleanup_free_ char *buf = NULL;

	assert_int_equal(cl_read_file_at(base_fd, "config.json", 1 << 20, &buf, NULL, NULL), 0);
	assert_string_equal(buf, want);
}

static void test_no_name_until_complete(void **state)
{
	(void)state;
	write_keep("{\"v\": 1}");
	/* a new file: nothing at all was visible while it was written */
	assert_int_equal(names_at_sync, 0);
	assert_contents("{\"v\": 1}");
	write_keep("{\"v\": 2}");
	/* a replacement: only the old file */
	assert_int_equal(names_at_sync, 1);
	assert_int_equal(count_names(), 1);
	assert_contents("{\"v\": 2}");
}

static void test_planted_fifo_and_symlink(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(mkfifoat(base_fd, "config.json.tmp", 0600), 0);
	assert_int_equal(symlinkat("/etc/passwd", base_fd, "config.json.new"), 0);
	write_keep("{\"v\": 3}");
	assert_contents("{\"v\": 3}");
	assert_int_equal(fstatat(base_fd, "config.json.tmp", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(count_names(), 3);
	assert_int_equal(unlinkat(base_fd, "config.json.tmp", 0), 0);
	assert_int_equal(unlinkat(base_fd, "config.json.new", 0), 0);
}

static void test_fallback_without_tmpfile(void **state)
{
	(void)state;
	no_tmpfile = true;
	write_keep("{\"v\": 4}");
	no_tmpfile = false;
	/* the fresh O_EXCL name is visible while written, and gone after */
	assert_int_equal(names_at_sync, 2);
	assert_int_equal(count_names(), 1);
	assert_contents("{\"v\": 4}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_name_until_complete),
	    cmocka_unit_test(test_planted_fifo_and_symlink),
	    cmocka_unit_test(test_fallback_without_tmpfile),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
