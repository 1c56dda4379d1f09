/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/probe/dmcrypt.c: the dm-crypt walk (issue 10) on fake sysfs trees under a mkdtemp
 * directory, laid out as the kernel does: dev/block/MAJ:MIN -> ../../devices/.../NAME,
 * dm/{uuid,name}, slaves/ (symlinks to device directories), a partition inside its disk's
 * directory, loop/backing_file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/core/err.h"
#include "lib/core/fd-util.h"
#include "lib/probe/dmcrypt.h"

#define LUKS "CRYPT-LUKS2-0123456789abcdef0123456789abcdef-luks-abc"

static char root[PATH_MAX];

/* snprintf into an array, which must not truncate */
#define FMT(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))

static void mkdirs(const char *rel)
{
	char path[PATH_MAX];

	FMT(path, "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void parent_of(const char *rel)
{
	char dir[PATH_MAX];

	FMT(dir, "%s", rel);
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = '\0';
		mkdirs(dir);
	}
}

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	parent_of(rel);
	FMT(path, "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	assert_int_equal(fclose(f), 0);
}

/* @rel -> @target, both relative to the tree; @target absolute when @abs */
static void ln(const char *target, const char *rel, bool abs)
{
	char path[PATH_MAX], to[PATH_MAX];

	parent_of(rel);
	FMT(path, "%s/%s", root, rel);
	FMT(to, "%s%s%s", abs ? root : "", abs ? "/" : "", target);
	assert_int_equal(symlink(to, path), 0);
}

/* a device directory @dir with its dev file, and dev/block/@devno -> it (relative) */
static void device(const char *dir, const char *devno)
{
	char rel[PATH_MAX], target[PATH_MAX];

	FMT(rel, "%s/dev", dir);
	put(rel, devno);
	FMT(rel, "dev/block/%s", devno);
	FMT(target, "../../%s", dir);
	ln(target, rel, false);
}

/* devices/virtual/block/@name, a dm device; @uuid NULL leaves dm/uuid out */
static void dm(const char *name, const char *devno, const char *uuid, const char *dm_name)
{
	char dir[PATH_MAX], rel[PATH_MAX];

	FMT(dir, "devices/virtual/block/%s", name);
	device(dir, devno);
	FMT(rel, "%s/dm/name", dir);
	put(rel, dm_name);
	FMT(rel, "%s/slaves", dir);
	mkdirs(rel);
	if (uuid) {
		FMT(rel, "%s/dm/uuid", dir);
		put(rel, uuid);
	}
}

/* @holder (a device directory) is built on @slave_dir: slaves/<its name> -> it */
static void slave(const char *holder, const char *slave_dir)
{
	char rel[PATH_MAX];

	FMT(rel, "%s/slaves/%s", holder, strrchr(slave_dir, '/') + 1);
	ln(slave_dir, rel, true);
}

/* vda (254:0) with partition vda2 (254:2), as a virtio disk shows them */
static void disk(void)
{
	device("devices/pci0000:00/virtio1/block/vda", "254:0");
	mkdirs("devices/pci0000:00/virtio1/block/vda/slaves");
	device("devices/pci0000:00/virtio1/block/vda/vda2", "254:2");
	put("devices/pci0000:00/virtio1/block/vda/vda2/partition", "2");
}

#define VDA2 "devices/pci0000:00/virtio1/block/vda/vda2"
#define DM(n) "devices/virtual/block/dm-" #n

static int setup(void **state)
{
	(void)state;
	FMT(root, "%s/cl-dmcrypt-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return cl_rm_rf_at(AT_FDCWD, root, NULL);
}

static void probe(unsigned maj, unsigned min, struct cl_dmcrypt_info *info)
{
	struct cl_error *err = NULL;

	assert_int_equal(cl_probe_dmcrypt(root, makedev(maj, min), info, &err), 0);
	assert_null(err);
	assert_true(info->dm_crypt == (info->crypt_node >= 0));
}

static void test_plain_disk(void **state)
{
	struct cl_dmcrypt_info info;
	char line[512];

	(void)state;
	disk();
	probe(254, 0, &info);
	assert_false(info.dm_crypt);
	assert_true(info.complete);
	assert_int_equal(info.n_chain, 1);
	assert_string_equal(info.chain[0].name, "vda");
	assert_string_equal(info.chain[0].dev, "254:0");
	assert_int_equal(info.chain[0].kind, CL_DMCRYPT_DISK);
	assert_int_equal(info.chain[0].parent, -1);
	cl_probe_dmcrypt_describe(&info, true, line, sizeof(line));
	assert_string_equal(line, "store not on dm-crypt");
}

static void test_partition(void **state)
{
	struct cl_dmcrypt_info info;
	char line[512];

	(void)state;
	disk();
	probe(254, 2, &info); /* no slaves/: the parent disk is ".." */
	assert_false(info.dm_crypt);
	assert_true(info.complete);
	assert_int_equal(info.n_chain, 2);
	assert_int_equal(info.chain[0].kind, CL_DMCRYPT_PARTITION);
	assert_string_equal(info.chain[1].name, "vda");
	assert_int_equal(info.chain[1].parent, 0);
	cl_probe_dmcrypt_chain(&info, line, sizeof(line));
	assert_string_equal(line, "vda2 -> vda");
}

static void test_dmcrypt(void **state)
{
	struct cl_dmcrypt_info info;
	char line[2048];

	(void)state;
	disk();
	dm("dm-0", "253:0", LUKS, "luks-abc");
	slave(DM(0), VDA2);
	probe(253, 0, &info);
	assert_true(info.dm_crypt);
	assert_true(info.complete);
	assert_int_equal(info.crypt_node, 0);
	assert_string_equal(info.crypt_type, "CRYPT-LUKS2");
	assert_string_equal(info.chain[0].dm_name, "luks-abc");
	assert_string_equal(info.chain[0].dm_uuid, LUKS);
	assert_int_equal(info.chain[0].kind, CL_DMCRYPT_CRYPT);
	assert_int_equal(info.n_chain, 3);
	cl_probe_dmcrypt_chain(&info, line, sizeof(line));
	assert_string_equal(line, "dm-0 (dm-crypt 'luks-abc') -> vda2 -> vda");
	cl_probe_dmcrypt_describe(&info, true, line, sizeof(line));
	assert_non_null(strstr(line,
			       "store on dm-crypt (CRYPT-LUKS2 'luks-abc'): every block is "
			       "encrypted twice (fscrypt + dm-crypt); a choice, not an error"));
	assert_non_null(strstr(line, "cost: "));
	assert_non_null(strstr(line, "AES-NI"));
	assert_non_null(strstr(line, "not measured here"));
	cl_probe_dmcrypt_describe(&info, false, line, sizeof(line));
	assert_non_null(strstr(line, "generic C AES"));
	assert_non_null(strstr(line, "not measured here"));
}

static void test_lvm_on_luks(void **state)
{
	struct cl_dmcrypt_info info;
	char line[512];

	(void)state;
	disk();
	dm("dm-0", "253:0", LUKS, "luks-abc");
	slave(DM(0), VDA2);
	dm("dm-1", "253:1", "LVM-0123456789abcdef0123456789abcdef", "vg-root");
	slave(DM(1), DM(0));
	probe(253, 1, &info);
	assert_true(info.dm_crypt);
	assert_true(info.complete);
	assert_int_equal(info.chain[0].kind, CL_DMCRYPT_DM);
	assert_int_equal(info.crypt_node, 1);
	assert_string_equal(info.chain[1].dm_name, "luks-abc");
	cl_probe_dmcrypt_chain(&info, line, sizeof(line));
	assert_string_equal(line, "dm-1 ('vg-root') -> dm-0 (dm-crypt 'luks-abc') -> vda2 -> vda");
}

/* a dm/uuid on a device that is not "dm-N" is not device-mapper's */
static void test_crypt_uuid_on_non_dm(void **state)
{
	struct cl_dmcrypt_info info;

	(void)state;
	device("devices/pci0000:00/ata1/block/sdb", "8:16");
	put("devices/pci0000:00/ata1/block/sdb/dm/uuid", LUKS);
	put("devices/pci0000:00/ata1/block/sdb/dm/name", "luks-abc");
	probe(8, 16, &info);
	assert_false(info.dm_crypt);
	assert_int_equal(info.chain[0].kind, CL_DMCRYPT_DISK);
	assert_string_equal(info.chain[0].dm_uuid, "");
}

static void test_symlink_loops(void **state)
{
	struct cl_dmcrypt_info info;

	(void)state;
	dm("dm-2", "253:2", "LVM-a", "a");
	dm("dm-3", "253:3", "LVM-b", "b");
	slave(DM(2), DM(3));
	slave(DM(3), DM(2));				      /* a cycle */
	ln(DM(3) "/slaves/self", DM(3) "/slaves/self", true); /* a symlink to itself */
	probe(253, 2, &info);
	assert_false(info.dm_crypt);
	assert_int_equal(info.n_chain, 2);
	assert_false(info.complete); /* the self link cannot be resolved */
	assert_non_null(strstr(info.unknown, "slaves/self"));
}

static void test_missing_dm_uuid(void **state)
{
	struct cl_dmcrypt_info info;
	char line[512];

	(void)state;
	disk();
	dm("dm-4", "253:4", NULL, "luks-abc");
	slave(DM(4), VDA2);
	probe(253, 4, &info);
	assert_false(info.dm_crypt);
	assert_false(info.complete);
	assert_int_equal(info.n_chain, 3);
	assert_non_null(strstr(info.unknown, "'dm-4': no dm/uuid"));
	cl_probe_dmcrypt_describe(&info, true, line, sizeof(line));
	assert_string_equal(line,
			    "store not on dm-crypt as far as sysfs shows ('dm-4': no dm/uuid)");
}

static void test_not_crypt_types(void **state)
{
	static const struct {
		const char *uuid, *type; /* type NULL: not dm-crypt */
	} cases[] = {
	    {"CRYPT-VERITY-0123456789abcdef0123456789abcdef-v", NULL},
	    {"CRYPT-INTEGRITY-i", NULL},
	    {"CRYPT-SUBDEV-0123456789abcdef0123456789abcdef-x_dif", NULL},
	    {"CRYPT-", NULL},
	    {"LVM-xyz", NULL},
	    {"", NULL},
	    {"CRYPT-PLAIN-p", "CRYPT-PLAIN"},
	    {"CRYPT-LUKS1-0123456789abcdef0123456789abcdef-l", "CRYPT-LUKS1"},
	    {"CRYPT-LUKS2-OPAL-0123456789abcdef0123456789abcdef-o", "CRYPT-LUKS2-OPAL"},
	    {"CRYPT-TEMP-temporary-cryptsetup-1", "CRYPT-TEMP"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cl_dmcrypt_info info;
		char name[16], devno[16], dir[64];

		FMT(name, "dm-%zu", 20 + i);
		FMT(devno, "253:%zu", 20 + i);
		FMT(dir, "devices/virtual/block/%s", name);
		dm(name, devno, cases[i].uuid, "x");
		probe(253, 20 + i, &info);
		if (info.dm_crypt != (cases[i].type != NULL))
			fail_msg("uuid '%s': dm_crypt %d", cases[i].uuid, info.dm_crypt);
		if (cases[i].type)
			assert_string_equal(info.crypt_type, cases[i].type);
		assert_true(info.complete);
	}
}

/* a loop-mounted image: the walk goes on from the backing file's filesystem */
static void test_loop_backing_file(void **state)
{
	struct cl_dmcrypt_info info;
	char image[PATH_MAX], devno[32], line[1024];
	unsigned loop_min;
	struct stat st;

	(void)state;
	FMT(image, "%s/store.img", root);
	put("store.img", "");
	assert_int_equal(stat(image, &st), 0);
	/* the tree's device for the directory the image is in: dm-crypt on a disk */
	FMT(devno, "%u:%u", major(st.st_dev), minor(st.st_dev));
	dm("dm-0", devno, LUKS, "luks-abc");
	device("devices/pci0000:00/ata1/block/sdz", "65:144");
	slave(DM(0), "devices/pci0000:00/ata1/block/sdz");
	loop_min = major(st.st_dev) == 7 ? minor(st.st_dev) + 1 : 0;
	FMT(devno, "7:%u", loop_min);
	device("devices/virtual/block/loop0", devno);
	put("devices/virtual/block/loop0/loop/backing_file", image);
	probe(7, loop_min, &info);
	assert_true(info.dm_crypt);
	assert_true(info.complete);
	assert_int_equal(info.chain[0].kind, CL_DMCRYPT_LOOP);
	assert_string_equal(info.chain[0].backing, image);
	assert_int_equal(info.crypt_node, 1);
	assert_int_equal(info.chain[1].parent, 0);
	assert_int_equal(info.n_chain, 3);
	cl_probe_dmcrypt_chain(&info, line, sizeof(line));
	assert_non_null(strstr(line, "/store.img) -> dm-0 (dm-crypt 'luks-abc') -> sdz"));
}

static void test_loop_backing_gone(void **state)
{
	struct cl_dmcrypt_info info;

	(void)state;
	device("devices/virtual/block/loop1", "7:1");
	put("devices/virtual/block/loop1/loop/backing_file", "/nonexistent/store.img");
	probe(7, 1, &info);
	assert_false(info.dm_crypt);
	assert_false(info.complete);
	assert_non_null(strstr(info.unknown, "'/nonexistent/store.img'"));
	device("devices/virtual/block/loop2", "7:2");
	mkdirs("devices/virtual/block/loop2/loop"); /* no backing_file */
	probe(7, 2, &info);
	assert_false(info.complete);
	assert_string_equal(info.unknown, "'loop2': no loop/backing_file");
}

/* a loop device over a block device: the walk goes on from that device (st_rdev) */
static void test_loop_on_block_device(void **state)
{
	struct cl_dmcrypt_info info;
	char devno[32];
	struct stat st;

	(void)state;
	if (stat("/dev/loop0", &st) < 0 || !S_ISBLK(st.st_mode))
		skip();
	FMT(devno, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	dm("dm-0", devno, LUKS, "luks-abc");
	device("devices/virtual/block/loop9", "1:9"); /* a devno no real loop device has */
	put("devices/virtual/block/loop9/loop/backing_file", "/dev/loop0");
	probe(1, 9, &info);
	assert_true(info.dm_crypt);
	assert_int_equal(info.crypt_node, 1);
}

static void test_no_sysfs_entry(void **state)
{
	struct cl_dmcrypt_info info;
	char line[512];

	(void)state;
	probe(0, 45, &info); /* btrfs, tmpfs, overlayfs: an anonymous device */
	assert_false(info.dm_crypt);
	assert_false(info.complete);
	assert_int_equal(info.n_chain, 0);
	assert_non_null(strstr(info.unknown, "0:45 is not a block device"));
	cl_probe_dmcrypt_describe(&info, true, line, sizeof(line));
	assert_non_null(strstr(line, "store on dm-crypt: cannot tell (0:45 is not"));
	cl_probe_dmcrypt_chain(&info, line, sizeof(line));
	assert_string_equal(line, "");
	probe(8, 99, &info);
	assert_false(info.complete);
	assert_non_null(strstr(info.unknown, "/dev/block/8:99"));
}

/* twelve dm-linear devices on top of dm-crypt: deeper than the walk goes */
static void test_depth_bound(void **state)
{
	struct cl_dmcrypt_info info;

	(void)state;
	for (int i = 0; i < 13; i++) {
		char name[16], devno[16], dir[64], below[64];

		FMT(name, "dm-%d", 40 + i);
		FMT(devno, "253:%d", 40 + i);
		dm(name, devno, i == 12 ? LUKS : "LVM-x", name);
		FMT(dir, "devices/virtual/block/%s", name);
		FMT(below, "devices/virtual/block/dm-%d", 41 + i);
		if (i < 12)
			slave(dir, below);
	}
	probe(253, 40, &info);
	assert_false(info.dm_crypt);
	assert_false(info.complete);
	assert_int_equal(info.n_chain, CL_DMCRYPT_DEPTH_MAX + 1);
	assert_non_null(strstr(info.unknown, "devices deep"));
	probe(253, 44, &info); /* eight below it: within the bound */
	assert_true(info.dm_crypt);
	assert_true(info.complete);
}

/* a device built on twenty others (a wide md or LVM): the walk stops at the chain bound */
static void test_chain_bound(void **state)
{
	struct cl_dmcrypt_info info;

	(void)state;
	dm("dm-60", "253:60", "LVM-wide", "wide");
	for (int i = 0; i < 20; i++) {
		char dir[64];

		FMT(dir, "devices/pci0000:00/ata1/block/sd%c", 'a' + i);
		mkdirs(dir);
		slave(DM(60), dir);
	}
	probe(253, 60, &info);
	assert_false(info.complete);
	assert_int_equal(info.n_chain, CL_DMCRYPT_CHAIN_MAX);
	assert_non_null(strstr(info.unknown, "more than 16 devices"));
}

static void test_bad_root(void **state)
{
	struct cl_dmcrypt_info info = {.n_chain = 7};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_probe_dmcrypt(NULL, makedev(8, 0), &info, &err), -EINVAL);
	assert_non_null(err);
	assert_int_equal(err->errnum, EINVAL);
	cl_error_free(&err);
	assert_int_equal(cl_probe_dmcrypt("sys", makedev(8, 0), &info, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "sysfs root 'sys'"));
	cl_error_free(&err);
	assert_int_equal(info.n_chain, 7); /* untouched on failure */
}

/* this machine's own sysfs: the probe answers, whatever the disks are */
static void test_real_sysfs(void **state)
{
	struct cl_dmcrypt_info info;
	struct cl_error *err = NULL;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(cl_probe_dmcrypt_fd("/sys", fd, &info, &err), 0);
	close(fd);
	assert_null(err);
	assert_true(info.dm_crypt == (info.crypt_node >= 0));
	assert_true(info.n_chain <= CL_DMCRYPT_CHAIN_MAX);
	assert_int_equal(cl_probe_dmcrypt_fd("/sys", -1, &info, &err), -EBADF);
	cl_error_free(&err);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_plain_disk),
	    T(test_partition),
	    T(test_dmcrypt),
	    T(test_lvm_on_luks),
	    T(test_crypt_uuid_on_non_dm),
	    T(test_symlink_loops),
	    T(test_missing_dm_uuid),
	    T(test_not_crypt_types),
	    T(test_loop_backing_file),
	    T(test_loop_backing_gone),
	    T(test_loop_on_block_device),
	    T(test_no_sysfs_entry),
	    T(test_depth_bound),
	    T(test_chain_bound),
	    T(test_bad_root),
	    cmocka_unit_test(test_real_sysfs),
	};

	return cmocka_run_group_tests_name("dmcrypt", tests, NULL, NULL);
}
