/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cl_rm_rf_at() on real trees under a mkdtemp directory: deep and wide trees within a
 * small fd limit, symlinks and mount points left alone, short errors. The mount case
 * runs in a private mount namespace and needs root; it skips, saying why, without it.
 */
/* WRAP: -Wl,--wrap=openat */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <cmocka.h>

#include "lib/core/fd-util.h"

#define DEEP 2000

#define TMPDIR_FIXTURE_NAME "cl-test-fd-util"
#include "tests/unit/tmpdir-fixture.h"

/* ---- a hook in openat(2): move a directory out of the tree on the first ".." ------------ */

int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);

static const char *move_from, *move_to; /* relative to base_fd; NULL: no hook */

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (move_from && !strcmp(path, "..")) {
		assert_int_equal(renameat(base_fd, move_from, base_fd, move_to), 0);
		move_from = NULL;
	}
	return __real_openat(dirfd, path, flags, mode);
}

/* ---- helpers ------------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_file(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data\n", 5), 5);
	close(fd);
}

static void make_empty(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

static int open_dir(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static int make_dir(int dfd, const char *name)
{
	assert_int_equal(mkdirat(dfd, name, 0755), 0);
	return open_dir(dfd, name);
}

static int exists(const char *rel)
{
	struct stat st;

	return fstatat(base_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The lowest free fd: with no leak, the same before and after. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* base/@top, then @depth directories "nest" below it (the path is longer than PATH_MAX),
 * with files, a symlink and a fifo at a few depths; returns the deepest one, open. */
static int make_chain(const char *top, int depth)
{
	int fd = make_dir(base_fd, top);

	for (int i = 0; i < depth; i++) {
		int next;

		if (i == 0 || i == 1 || i % 700 == 0) {
			make_file(fd, "file");
			assert_int_equal(symlinkat("/etc", fd, "link"), 0);
			assert_int_equal(mkfifoat(fd, "fifo", 0644), 0);
		}
		next = make_dir(fd, "nest");
		close(fd);
		fd = next;
	}
	make_file(fd, "bottom");
	return fd;
}

static double cpu_time(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* cl_rm_rf_at(base_fd, @top) with RLIMIT_NOFILE @limit; "wall X s, CPU Y s" it took */
static void rm_limited(const char *top, rlim_t limit, int want, struct cl_error **err, char *took,
		       size_t len)
{
	struct rlimit old, lim;
	double t, c;
	int r;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	t = now();
	c = cpu_time();
	r = cl_rm_rf_at(base_fd, top, err);
	c = cpu_time() - c;
	t = now() - t;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	snprintf(took, len, "wall %.3f s, CPU %.3f s", t, c);
	if (r != want)
		fail_msg("cl_rm_rf_at '%s': %d (%s), want %d", top, r,
			 err && *err ? (*err)->msg : "-", want);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_missing_top(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_rm_rf_at(base_fd, "nosuch", &err), 0);
	assert_null(err);
	assert_int_equal(cl_rm_rf_at(base_fd, "nosuch/below", &err), 0);
	assert_null(err);
	assert_int_equal(cl_rm_rf_at(base_fd, "nosuch", NULL), 0);
}

static void test_top_not_a_directory(void **state)
{
	struct cl_error *err = NULL;

	(void)state;
	make_file(base_fd, "plain");
	assert_int_equal(cl_rm_rf_at(base_fd, "plain", &err), 0);
	assert_false(exists("plain"));
	/* a symlink to a directory: the link goes, the directory stays */
	close(make_dir(base_fd, "target"));
	make_file(base_fd, "target/keep");
	assert_int_equal(symlinkat("target", base_fd, "toplink"), 0);
	assert_int_equal(cl_rm_rf_at(base_fd, "toplink", &err), 0);
	assert_null(err);
	assert_false(exists("toplink"));
	assert_true(exists("target/keep"));
	assert_int_equal(cl_rm_rf_at(base_fd, "target", &err), 0);
	assert_false(exists("target"));
}

static void test_deep_tree_within_64_fds(void **state)
{
	struct cl_error *err = NULL;
	int fd0 = lowest_free_fd();
	char took[64];

	(void)state;
	close(make_chain("deep", DEEP));
	rm_limited("deep", 64, 0, &err, took, sizeof(took));
	assert_null(err);
	assert_false(exists("deep"));
	assert_int_equal(lowest_free_fd(), fd0);
	print_message("# %d nested directories removed: %s (RLIMIT_NOFILE 64)\n", DEEP, took);
}

/* a handful means it: two fds above the lowest free one are enough, at any depth */
static void test_fd_count_constant(void **state)
{
	struct cl_error *err = NULL;
	char took[64];

	(void)state;
	close(make_chain("fds", 300));
	rm_limited("fds", (rlim_t)lowest_free_fd() + 2, 0, &err, took, sizeof(took));
	assert_null(err);
	assert_false(exists("fds"));
}

/* 100,000 files in four directories, 2,000 sibling directories, 1,000 files at the top */
static void test_wide_tree(void **state)
{
	struct cl_error *err = NULL;
	int top, fd;
	char name[32], took[64];
	double t;

	(void)state;
	t = now();
	top = make_dir(base_fd, "wide");
	for (int d = 0; d < 4; d++) {
		snprintf(name, sizeof(name), "many%d", d);
		fd = make_dir(top, name);
		for (int i = 0; i < 25000; i++) {
			snprintf(name, sizeof(name), "f%d", i);
			make_empty(fd, name);
		}
		close(fd);
	}
	fd = make_dir(top, "siblings");
	for (int i = 0; i < 2000; i++) {
		int sub;

		snprintf(name, sizeof(name), "s%d", i);
		sub = make_dir(fd, name);
		make_file(sub, "a");
		make_file(sub, "b");
		close(sub);
		snprintf(name, sizeof(name), "f%d", i);
		if (i < 1000)
			make_file(top, name);
	}
	close(fd);
	close(top);
	print_message("# wide tree made in %.3f s\n", now() - t);
	rm_limited("wide", 64, 0, &err, took, sizeof(took));
	assert_null(err);
	assert_false(exists("wide"));
	print_message("# 105,000 files, 2,006 directories removed: %s (RLIMIT_NOFILE 64)\n", took);
}

static void test_symlinks_not_followed(void **state)
{
	struct cl_error *err = NULL;
	char abs[sizeof(base) + 32];
	int top, fd;

	(void)state;
	close(make_dir(base_fd, "outside"));
	make_file(base_fd, "outside/keep");
	close(make_dir(base_fd, "outside/sub"));
	make_file(base_fd, "outside/sub/keep");
	snprintf(abs, sizeof(abs), "%s/outside", base);
	top = make_dir(base_fd, "links");
	fd = make_dir(top, "a");
	assert_int_equal(symlinkat(abs, fd, "abs"), 0);
	assert_int_equal(symlinkat("../../outside", fd, "rel"), 0);
	assert_int_equal(symlinkat("../../outside/sub", top, "sub"), 0);
	close(fd);
	close(top);
	assert_int_equal(cl_rm_rf_at(base_fd, "links", &err), 0);
	assert_null(err);
	assert_false(exists("links"));
	assert_true(exists("outside/keep"));
	assert_true(exists("outside/sub/keep"));
	assert_int_equal(cl_rm_rf_at(base_fd, "outside", &err), 0);
}

/* mnt/a/b/m with files around it, and @kind mounted on m: "bind" (src/, a directory of
 * the same filesystem: same st_dev) or "tmpfs". Return: mount(2)'s. */
static int mount_in_tree(const char *kind)
{
	char src[sizeof(base) + 16], target[sizeof(base) + 16];
	int fd = make_dir(base_fd, "mnt");

	close(make_dir(fd, "a"));
	close(make_dir(fd, "a/b"));
	close(make_dir(fd, "a/b/m"));
	make_file(fd, "before");
	make_file(fd, "a/b/zafter");
	close(fd);
	snprintf(target, sizeof(target), "%s/mnt/a/b/m", base);
	if (!strcmp(kind, "tmpfs")) {
		if (mount("cltest", target, "tmpfs", 0, "size=64k") < 0)
			return -1;
		make_file(base_fd, "mnt/a/b/m/keep");
		return 0;
	}
	close(make_dir(base_fd, "src"));
	make_file(base_fd, "src/keep");
	close(make_dir(base_fd, "src/sub"));
	make_file(base_fd, "src/sub/keep");
	snprintf(src, sizeof(src), "%s/src", base);
	return mount(src, target, NULL, MS_BIND, NULL);
}

static void test_mount_point_refused(void **state)
{
	static const char *const kinds[] = {"bind", "tmpfs"};
	char mnt[sizeof(base) + 32];

	(void)state;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		print_message("# SKIP no private mount namespace: %s\n", strerror(errno));
		skip();
	}
	/* an fd opened before unshare() still walks the old namespace's mounts */
	close(base_fd);
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(base_fd >= 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct cl_error *err = NULL;

		if (mount_in_tree(kinds[i]) < 0) {
			print_message("# SKIP mount %s: %s\n", kinds[i], strerror(errno));
			skip();
		}
		assert_int_equal(cl_rm_rf_at(base_fd, "mnt", &err), -EXDEV);
		assert_string_equal(err->msg, "'m' is a mount point (depth 3 under 'mnt')");
		cl_error_free(&err);
		assert_true(exists("mnt/a/b/m/keep"));
		if (!strcmp(kinds[i], "bind"))
			assert_true(exists("src/sub/keep"));
		snprintf(mnt, sizeof(mnt), "%s/mnt/a/b/m", base);
		assert_int_equal(umount2(mnt, MNT_DETACH), 0);
		assert_int_equal(cl_rm_rf_at(base_fd, "mnt", &err), 0);
		assert_false(exists("mnt"));
		assert_int_equal(cl_rm_rf_at(base_fd, "src", &err), 0);
		assert_null(err);
	}
}

/* an undeletable file at depth 2001: one short line, not a 2000-fold nested one */
static void test_error_message_bounded(void **state)
{
	struct cl_error *err = NULL;
	int fd = make_chain("long", DEEP), lfd, flags = FS_IMMUTABLE_FL;
	char took[64];

	(void)state;
	make_file(fd, "locked");
	lfd = openat(fd, "locked", O_RDONLY | O_CLOEXEC);
	assert_true(lfd >= 0);
	if (ioctl(lfd, FS_IOC_SETFLAGS, &flags) < 0) {
		print_message("# SKIP chattr +i: %s\n", strerror(errno));
		close(lfd);
		close(fd);
		assert_int_equal(cl_rm_rf_at(base_fd, "long", NULL), 0);
		skip();
	}
	rm_limited("long", 64, -EPERM, &err, took, sizeof(took));
	assert_string_equal(err->msg, "unlink 'locked' (depth 2001 under 'long')");
	cl_error_free(&err);
	flags = 0;
	assert_int_equal(ioctl(lfd, FS_IOC_SETFLAGS, &flags), 0);
	close(lfd);
	close(fd);
	assert_int_equal(cl_rm_rf_at(base_fd, "long", &err), 0);
	assert_false(exists("long"));
}

/* a directory moved out of the tree under us: stop there, delete nothing outside */
static void test_moved_directory(void **state)
{
	struct cl_error *err = NULL;
	int fd;

	(void)state;
	close(make_dir(base_fd, "away"));
	make_file(base_fd, "away/keep");
	fd = make_dir(base_fd, "moving");
	close(make_dir(fd, "a"));
	close(make_dir(fd, "a/b"));
	make_file(fd, "a/b/f");
	make_file(fd, "a/z");
	close(fd);
	/* when b is empty and the walk goes back up, b is in away/ */
	move_from = "moving/a/b";
	move_to = "away/b";
	assert_int_equal(cl_rm_rf_at(base_fd, "moving", &err), -ESTALE);
	assert_null(move_from);
	assert_string_equal(err->msg, "'b' was moved during removal (depth 2 under 'moving')");
	cl_error_free(&err);
	assert_true(exists("away/keep"));
	assert_true(exists("away/b"));
	assert_int_equal(cl_rm_rf_at(base_fd, "moving", &err), 0);
	assert_int_equal(cl_rm_rf_at(base_fd, "away", &err), 0);
	assert_null(err);
}

static int teardown(void **state)
{
	char mnt[sizeof(base) + 16];

	move_from = NULL;
	snprintf(mnt, sizeof(mnt), "%s/mnt/a/b/m", base);
	(void)umount2(mnt, MNT_DETACH); /* left by a failed test_mount_point_refused */
	return tmpdir_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_top),
	    cmocka_unit_test(test_top_not_a_directory),
	    cmocka_unit_test(test_deep_tree_within_64_fds),
	    cmocka_unit_test(test_fd_count_constant),
	    cmocka_unit_test(test_wide_tree),
	    cmocka_unit_test(test_symlinks_not_followed),
	    cmocka_unit_test(test_mount_point_refused),
	    cmocka_unit_test(test_error_message_bounded),
	    cmocka_unit_test(test_moved_directory),
	};

	return cmocka_run_group_tests_name("fd-util", tests, tmpdir_setup, teardown);
}
