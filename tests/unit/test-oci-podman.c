/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci/podman.c: the podman container id of a precreate config.json (DESIGN §3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "oci/oci.h"

#define ID "3a160c846bde0deb91ec7873803ece722d72f52a9e9038b87c942457db8ac1a0"
#define ID2 "fa81da07d6b4152d3006ebf28d9bf1d955b88c26925ab04ef44cbde85029232d"
#define CAPTURED "75ac7ffafd9833e27ced116970483f707dac0a875b7090d528bae231ebc19971"
#define ENV(id) "/run/containers/storage/overlay-containers/" id "/userdata/.containerenv"
#define USERDATA(id) "/run/containers/storage/overlay-containers/" id "/userdata"

static int parse(const char *cg, const char *env, struct cl_oci_podman *p, struct cl_error **err)
{
	struct cl_oci_config c = {.cgroups_path = (char *)cg, .containerenv = (char *)env};

	return cl_oci_podman_parse(&c, p, err);
}

static void expect_id(const char *cg, const char *env, const char *id, const char *userdata)
{
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;

	if (parse(cg, env, &p, &err) < 0)
		fail_msg("'%s' / '%s': %s", cg ? cg : "-", env ? env : "-", err->msg);
	assert_null(err);
	assert_string_equal(p.id, id);
	if (userdata)
		assert_string_equal(p.userdata, userdata);
	else
		assert_null(p.userdata);
	cl_oci_podman_clear(&p);
}

static void expect_refused(const char *cg, const char *env, int errnum, const char *needle)
{
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;

	assert_int_equal(parse(cg, env, &p, &err), -errnum);
	assert_non_null(err);
	assert_int_equal(err->errnum, errnum);
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' lacks '%s'", err->msg, needle);
	cl_error_free(&err);
	assert_null(p.userdata);
	assert_int_equal(parse(cg, env, &p, NULL), -errnum); /* discarded error */
}

static void test_cgroups_forms(void **state)
{
	(void)state;
	expect_id("/libpod_parent/libpod-" ID, NULL, ID, NULL);
	expect_id("/machine/pods/libpod-" ID, NULL, ID, NULL);
	expect_id("libpod-" ID, NULL, ID, NULL);
	expect_id("machine.slice:libpod:" ID, NULL, ID, NULL);
	expect_id("user.slice:libpod:" ID, NULL, ID, NULL);
}

static void test_containerenv(void **state)
{
	(void)state;
	/* --cgroups=disabled: no cgroupsPath at all */
	expect_id(NULL, ENV(ID), ID, USERDATA(ID));
	expect_id("/system.slice/other", ENV(ID), ID, USERDATA(ID));
	expect_id("/libpod_parent/libpod-" ID, ENV(ID), ID, USERDATA(ID));
	expect_id("/libpod_parent/libpod-" ID, "/elsewhere/.containerenv", ID, NULL);
	/* rootless podman with the vfs driver (DESIGN §7c): no cgroupsPath, vfs-containers */
	expect_id(NULL, "/run/user/1000/containers/vfs-containers/" ID "/userdata/.containerenv",
		  ID, "/run/user/1000/containers/vfs-containers/" ID "/userdata");
	expect_id(NULL, "/x/btrfs-containers/" ID "/userdata/.containerenv", ID,
		  "/x/btrfs-containers/" ID "/userdata");
}

static void test_refused(void **state)
{
	static const char *const bad_cg[] = {
	    "",
	    "/",
	    "/libpod_parent/libpod-",
	    "/libpod_parent/libpod-" ID "x",
	    "/libpod_parent/libpod-" ID "/x",
	    "/libpod_parent/crio-" ID,
	    "/libpod_parent/"
	    "libpod-3A160C846BDE0DEB91EC7873803ECE722D72F52A9E9038B87C942457DB8AC1A0",
	    "/libpod_parent/libpod-" ID ".scope",
	    "machine.slice:crio:" ID,
	    "machine.slice:libpod:" ID ":x",
	    "machine.slice:" ID,
	    "a:libpodx:" ID,
	    "/libpod_parent/libpod-../../etc/passwd",
	};
	static const char *const bad_env[] = {
	    "",
	    ".containerenv",
	    "relative/overlay-containers/" ID "/userdata/.containerenv",
	    "/overlay-containers/" ID "/userdata/.containerenv",
	    "/x/overlay-containers/" ID "/userdata/.containerenv2",
	    "/x/overlay-containers/../" ID "/userdata/.containerenv",
	    "/x/../overlay-containers/" ID "/userdata/.containerenv",
	    "/x//overlay-containers/" ID "/userdata/.containerenv",
	    "/x/./overlay-containers/" ID "/userdata/.containerenv",
	    "/x/containers/" ID "/userdata/.containerenv",
	    "/x/overlay-containers/x" ID "/userdata/.containerenv",
	    "/vfs-containers/" ID "/userdata/.containerenv",
	    "/x/fuse-containers/" ID "/userdata/.containerenv",
	    "/x/xvfs-containers/" ID "/userdata/.containerenv",
	    "/x/vfs-container/" ID "/userdata/.containerenv",
	};

	(void)state;
	expect_refused(NULL, NULL, ENOENT, "no podman container id");
	for (size_t i = 0; i < sizeof(bad_cg) / sizeof(bad_cg[0]); i++)
		expect_refused(bad_cg[i], NULL, ENOENT, "no podman container id");
	for (size_t i = 0; i < sizeof(bad_env) / sizeof(bad_env[0]); i++)
		expect_refused(NULL, bad_env[i], ENOENT, "no podman container id");
	expect_refused("/libpod_parent/libpod-" ID, ENV(ID2), EINVAL, "disagree");
}

/* a real podman 4.3.1 precreate input: the id precreate finds is poststop's state id */
static void test_captured_config(void **state)
{
	struct cl_oci_config c = {};
	struct cl_oci_podman p = {};
	struct cl_error *err = NULL;
	char buf[65536];
	FILE *f = fopen("tests/data/config-podman-precreate.json", "re");
	size_t n;

	(void)state;
	if (!f)
		fail_msg("tests/data/config-podman-precreate.json: run from the top of the tree");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(cl_oci_config_parse(buf, n, NULL, &c, &err), 0);
	assert_string_equal(
	    c.root_path, "/tmp/pexp/st/overlay/"
			 "0e808c7ae65f157f9aec9ad3bd20e523c214042a27b205fd0ec5689de91b9cdd/merged");
	assert_int_equal(cl_oci_podman_parse(&c, &p, &err), 0);
	assert_string_equal(p.id, CAPTURED);
	assert_string_equal(p.userdata, "/tmp/pexp/rr/overlay-containers/" CAPTURED "/userdata");
	assert_true(cl_oci_id_valid(p.id));
	cl_oci_podman_clear(&p);
	cl_oci_config_clear(&c);
}

static void test_mounts_shape(void **state)
{
	static const char *const ok =
	    "{\"root\":{\"path\":\"/r\"},\"mounts\":[1,{\"destination\":2},"
	    "{\"destination\":\"/run/.containerenv\",\"source\":\"" ENV(ID) "\"}]}";
	static const char *const bad = "{\"root\":{\"path\":\"/r\"},\"mounts\":{}}";
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(cl_oci_config_parse(ok, strlen(ok), NULL, &c, &err), 0);
	assert_string_equal(c.containerenv, ENV(ID));
	cl_oci_config_clear(&c);
	assert_int_equal(cl_oci_config_parse(bad, strlen(bad), NULL, &c, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "'mounts' is not an array"));
	cl_error_free(&err);
	assert_null(c.root_path);
}

/* ---- podman's own container layer (podman cp before the first start) ----------------- */

#define LAYER "/g/overlay/4c69df7bf534e8b6b0458376d4347642646af59f748ecef99439b05496d67b23"
/* measured: podman 4.3.1 image mode, and 'podman run --rootfs DIR:O' */
#define LINE_IMAGE                                                                                 \
	"50 45 0:41 / " LAYER "/merged rw,relatime - overlay overlay rw,lowerdir=/g/overlay/l/"    \
	"445VW4FQOYAOJA4P4NHVJLKLGZ,upperdir=" LAYER "/diff,workdir=" LAYER                        \
	"/work,uuid=on,fsync=volatile"
#define CTR "/r/overlay-containers/" ID "/rootfs"
#define LINE_ROOTFS_O                                                                              \
	"51 27 0:41 / " CTR "/merge rw,nodev,relatime - overlay overlay rw,lowerdir=/tmp/exp/"     \
	"rootfsO,upperdir=" CTR "/upper,workdir=" CTR "/work,uuid=on"

static int upper_of(const char *root, const char *line, char **ret, struct cl_error **err)
{
	*ret = NULL;
	return cl_oci_podman_layer_upper(root, line, ret, err);
}

static void expect_upper(const char *root, const char *line, const char *want)
{
	struct cl_error *err = NULL;
	char *up = NULL;
	int r = upper_of(root, line, &up, &err);

	if (r < 0)
		fail_msg("'%s': %s", line, err->msg);
	assert_null(err);
	if (!want) {
		assert_int_equal(r, 0);
		assert_null(up);
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(up, want);
	free(up);
}

static void test_layer_upper(void **state)
{
	(void)state;
	expect_upper(LAYER "/merged", LINE_IMAGE, LAYER "/diff");
	expect_upper(CTR "/merge", LINE_ROOTFS_O, CTR "/upper");
	/* optional fields before the separator, the option anywhere in the list */
	expect_upper("/a/merged",
		     "7 1 0:5 / /a/merged rw shared:4 master:2 - overlay none "
		     "rw,upperdir=/a/diff,lowerdir=/b",
		     "/a/diff");
	/* octal escapes: ' ' (\040), ',' (\054), '\' (\134) */
	expect_upper("/a b/x,y\\z/merged",
		     "7 1 0:5 / /a\\040b/x,y\\134z/merged rw - overlay o "
		     "rw,lowerdir=/l,upperdir=/a\\040b/x\\054y\\134z/diff,workdir=/w",
		     "/a b/x,y\\z/diff");
	/* not podman's: another file system, no upper, an upper elsewhere, another name */
	expect_upper(LAYER "/merged", "50 45 254:0 / " LAYER "/merged rw - ext4 /dev/vda rw", NULL);
	expect_upper(LAYER "/merged",
		     "50 45 0:41 / " LAYER "/merged ro - overlay overlay ro,lowerdir=/a:/b", NULL);
	expect_upper("/my/ovl", "50 45 0:41 / /my/ovl rw - overlay o rw,upperdir=/my/up", NULL);
	expect_upper("/my/merged", "50 45 0:41 / /my/merged rw - overlay o rw,upperdir=/my/up",
		     NULL);
	expect_upper("/x/merged", "5 4 0:4 / /x/merged rw - overlay o rw,upperdir=/y/diff", NULL);
	expect_upper("/merged", "5 4 0:4 / /merged rw - overlay o rw,upperdir=/diff", NULL);
	expect_upper("/x/merged", "5 4 0:4 / /x/merged rw - overlayfs o rw,upperdir=/x/diff", NULL);
	expect_upper("/x/merged", "5 4 0:4 / /x/merged rw - overlay o rw,xupperdir=/x/diff", NULL);
	expect_upper("merged", "5 4 0:4 / merged rw - overlay o rw,upperdir=diff", NULL);
}

static void test_layer_upper_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "50 45 0:41 / /x/merged rw overlay overlay rw,upperdir=/x/diff",
	    "50 45 0:41 / /x/merged - overlay overlay rw,upperdir=/x/diff",
	    "50 45 0:41 / /x/merged rw -",
	    "50 45 0:41 / /x/merged rw - overlay",
	    "50 45 0:41 / /x/merged rw - overlay overlay",
	    "50 45 0:41 / /x/merged rw -  overlay rw,upperdir=/x/diff",
	};
	struct cl_error *err = NULL;
	char *up = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(upper_of("/x/merged", bad[i], &up, &err), -EINVAL);
		assert_non_null(strstr(err->msg, "malformed mountinfo line"));
		cl_error_free(&err);
		assert_null(up);
	}
	/* an escaped NUL is no path */
	assert_int_equal(upper_of("/x/merged",
				  "5 4 0:4 / /x/merged rw - overlay o rw,upperdir=/x/d\\000iff",
				  &up, &err),
			 -EINVAL);
	assert_non_null(strstr(err->msg, "upperdir"));
	cl_error_free(&err);
	assert_null(up);
}

static enum cl_oci_podman_entry own(const char *rel, mode_t mode, off_t size, const char *data)
{
	return cl_oci_podman_own_entry(rel, mode, size, data, data ? strlen(data) : 0);
}

static void test_own_entry(void **state)
{
	(void)state;
	/* what podman 4.3 makes: directories, empty mount points, etc/mtab -> /proc/mounts */
	assert_int_equal(own("etc", S_IFDIR | 0755, 4096, NULL), CL_OCI_PODMAN_OWN);
	assert_int_equal(own("run/.containerenv", S_IFREG | 0644, 0, NULL), CL_OCI_PODMAN_OWN);
	assert_int_equal(own("etc/mtab", S_IFLNK | 0777, 12, NULL), CL_OCI_PODMAN_NEED_DATA);
	assert_int_equal(own("etc/mtab", S_IFLNK | 0777, 12, "/proc/mounts"), CL_OCI_PODMAN_OWN);
	/* what 'podman cp' leaves */
	assert_int_equal(own("marker", S_IFREG | 0644, 11, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("d/e/f", S_IFREG | 0644, 2, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/mtab", S_IFLNK | 0777, 13, "/proc/mounts2"),
			 CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/mtab", S_IFREG | 0644, 12, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("mtab", S_IFLNK | 0777, 12, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("x/etc/mtab", S_IFLNK | 0777, 12, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("link", S_IFLNK | 0777, 4, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("wh", S_IFCHR | 0000, 0, NULL), CL_OCI_PODMAN_CONTENT); /* whiteout */
	assert_int_equal(own("fifo", S_IFIFO | 0644, 0, NULL), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("sock", S_IFSOCK | 0644, 0, NULL), CL_OCI_PODMAN_CONTENT);
}

static void test_own_accounts(void **state)
{
	static const char img_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
					 "nobody:x:65534:65534:nobody:/:/bin/false\n"
					 "1234:*:1234:0:container user:/app/work:/bin/sh\n";
	static const char img_group[] = "root:x:0:\nnobody:x:65534:\n1234:x:1234:1234\n";
	char *big = NULL;

	(void)state;
	/* --user 1234 on an image without /etc/passwd (measured, podman 4.3.1) */
	assert_int_equal(own("etc/passwd", S_IFREG | 0600, 39, NULL), CL_OCI_PODMAN_NEED_DATA);
	assert_int_equal(
	    own("etc/passwd", S_IFREG | 0600, 39, "1234:*:1234:0:container user:/:/bin/sh\n"),
	    CL_OCI_PODMAN_OWN);
	assert_int_equal(own("etc/group", S_IFREG | 0600, 17, "1234:x:1234:1234\n"),
			 CL_OCI_PODMAN_OWN);
	/* the image's files copied up with podman's entries appended; no final newline */
	assert_int_equal(own("etc/passwd", S_IFREG | 0644, 118, img_passwd), CL_OCI_PODMAN_OWN);
	assert_int_equal(own("etc/group", S_IFREG | 0644, 43, img_group), CL_OCI_PODMAN_OWN);
	assert_int_equal(own("etc/group", S_IFREG | 0644, 8, "g:x:5:\n\nh:x:6:a,b"),
			 CL_OCI_PODMAN_OWN);
	/* anything else under those names is content */
	assert_int_equal(own("etc/passwd", S_IFREG | 0644, 7, "secret\n"), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/passwd", S_IFREG | 0644, 9, "a:b:c:d\n"), CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/group", S_IFREG | 0644, 30, "root:x:0:0:root:/root:/bin/sh\n"),
			 CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/passwd", S_IFREG | 0644, 22, ":x:0:0:root:/:/bin/sh\n"),
			 CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/passwd", S_IFREG | 0644, 30, "root:x:0:0:ro\tot:/root:/bin/sh\n"),
			 CL_OCI_PODMAN_CONTENT);
	assert_int_equal(cl_oci_podman_own_entry("etc/group", S_IFREG | 0644, 8, "a:x:1:\0b\n", 9),
			 CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/shadow", S_IFREG | 0600, 22, "root:*:19000:0:99999:7:::\n"),
			 CL_OCI_PODMAN_CONTENT);
	assert_int_equal(
	    own("x/etc/passwd", S_IFREG | 0644, 39, "1234:*:1234:0:container user:/:/bin/sh\n"),
	    CL_OCI_PODMAN_CONTENT);
	assert_int_equal(own("etc/passwd", S_IFLNK | 0777, 11, NULL), CL_OCI_PODMAN_CONTENT);
	/* too big to be podman's: not even read */
	assert_int_equal(own("etc/passwd", S_IFREG | 0644, CL_OCI_PODMAN_ACCOUNTS_MAX + 1, NULL),
			 CL_OCI_PODMAN_CONTENT);
	big = malloc(CL_OCI_PODMAN_ACCOUNTS_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', CL_OCI_PODMAN_ACCOUNTS_MAX + 1);
	big[CL_OCI_PODMAN_ACCOUNTS_MAX + 1] = '\0';
	assert_int_equal(own("etc/group", S_IFREG | 0644, 10, big), CL_OCI_PODMAN_CONTENT);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cgroups_forms),
	    cmocka_unit_test(test_containerenv),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_captured_config),
	    cmocka_unit_test(test_mounts_shape),
	    cmocka_unit_test(test_layer_upper),
	    cmocka_unit_test(test_layer_upper_malformed),
	    cmocka_unit_test(test_own_entry),
	    cmocka_unit_test(test_own_accounts),
	};

	return cmocka_run_group_tests_name("oci-podman", tests, NULL, NULL);
}
