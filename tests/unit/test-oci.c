/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci/: runtime state, config.json, io.cryptlayer.* annotations, config rewrite. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "oci/oci.h"

/* Captured from runc 1.1.5 and crun 1.8.1 hooks (tests/data/state-*.json). */
#define RUNC_PRESTART                                                                              \
	"{\"ociVersion\":\"1.0.2-dev\",\"id\":\"cap-runc-1\",\"status\":\"creating\","             \
	"\"pid\":23253,\"bundle\":\"/run/bundles/demo\",\"annotations\":{"                         \
	"\"io.cryptlayer.enable\":\"true\",\"org.opencontainers.image.title\":\"demo\"}}"
#define RUNC_POSTSTOP                                                                              \
	"{\"ociVersion\":\"1.0.2-dev\",\"id\":\"cap-runc-1\",\"status\":\"stopped\","              \
	"\"bundle\":\"/run/bundles/demo\",\"annotations\":{\"io.cryptlayer.enable\":\"true\","     \
	"\"org.opencontainers.image.title\":\"demo\"}}"
#define CRUN_CREATE_RUNTIME                                                                        \
	"{\"ociVersion\":\"1.0\",\"id\":\"cap-crun-1\",\"pid\":23269,\"root\":\"rootfs\","         \
	"\"bundle\":\"/run/bundles/demo\",\"status\":\"created\",\"annotations\":{"                \
	"\"io.cryptlayer.enable\":\"true\",\"org.opencontainers.image.title\":\"demo\"}}"
#define CRUN_POSTSTOP                                                                              \
	"{\"ociVersion\":\"1.0\",\"id\":\"cap-crun-1\",\"pid\":0,\"root\":\"rootfs\","             \
	"\"bundle\":\"/run/bundles/demo\",\"status\":\"stopped\",\"annotations\":{"                \
	"\"io.cryptlayer.enable\":\"true\",\"org.opencontainers.image.title\":\"demo\"}}"

/* ---- helpers --------------------------------------------------------------------------- */

/*
 * The parsers take (buf, len): copy into an exact-size heap buffer without a NUL, so
 * valgrind (and ASan) catch any read past @len.
 */
static char *exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

static int state_parse(const char *s, struct cl_oci_state *st, struct cl_error **err)
{
	char *b = exact(s, strlen(s));
	int r = cl_oci_state_parse(b, strlen(s), st, err);

	free(b);
	return r;
}

static int config_parse(const char *s, const char *bundle, struct cl_oci_config *c,
			struct cl_error **err)
{
	char *b = exact(s, strlen(s));
	int r = cl_oci_config_parse(b, strlen(s), bundle, c, err);

	free(b);
	return r;
}

/* Expect failure @r == -@errnum with a message containing @needle; frees the error. */
static void expect_error(int r, struct cl_error **err, int errnum, const char *needle)
{
	assert_int_equal(r, -errnum);
	assert_non_null(*err);
	assert_int_equal((*err)->errnum, errnum);
	assert_non_null((*err)->msg);
	if (!strstr((*err)->msg, needle))
		fail_msg("message '%s' lacks '%s'", (*err)->msg, needle);
	cl_error_free(err);
}

static void state_refused(const char *json, const char *needle)
{
	struct cl_oci_state st = {.pid = 4242};
	struct cl_error *err = NULL;

	expect_error(state_parse(json, &st, &err), &err, EINVAL, needle);
	assert_int_equal(st.pid, 4242); /* ret untouched on failure */
	assert_null(st.id);
	/* and with a discarded error */
	assert_int_equal(state_parse(json, &st, NULL), -EINVAL);
}

static char *read_data(const char *name, size_t *ret_len)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "tests/data/%s", name);
	f = fopen(path, "re");
	if (!f)
		fail_msg("%s: run from the top of the tree", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

/* ---- state ----------------------------------------------------------------------------- */

static void test_state_runc(void **state)
{
	struct cl_oci_state st = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(state_parse(RUNC_PRESTART, &st, &err), 0);
	assert_null(err);
	assert_string_equal(st.oci_version, "1.0.2-dev");
	assert_string_equal(st.id, "cap-runc-1");
	assert_string_equal(st.status, "creating");
	assert_string_equal(st.bundle, "/run/bundles/demo");
	assert_int_equal(st.pid, 23253);
	cl_oci_state_clear(&st);
	assert_null(st.id);

	/* runc omits pid in poststop */
	assert_int_equal(state_parse(RUNC_POSTSTOP, &st, &err), 0);
	assert_int_equal(st.pid, 0);
	assert_string_equal(st.status, "stopped");
	cl_oci_state_clear(&st);
}

static void test_state_crun(void **state)
{
	struct cl_oci_state st = {};
	struct cl_error *err = NULL;

	(void)state;
	/* crun adds a non-spec "root" key (do_hooks()): ignored */
	assert_int_equal(state_parse(CRUN_CREATE_RUNTIME, &st, &err), 0);
	assert_null(err);
	assert_string_equal(st.id, "cap-crun-1");
	assert_string_equal(st.bundle, "/run/bundles/demo");
	assert_string_equal(st.status, "created");
	assert_int_equal(st.pid, 23269);
	cl_oci_state_clear(&st);

	/* crun sends pid 0 in poststop */
	assert_int_equal(state_parse(CRUN_POSTSTOP, &st, &err), 0);
	assert_int_equal(st.pid, 0);
	cl_oci_state_clear(&st);
}

static void test_state_data_files(void **state)
{
	static const char *const files[] = {
	    "state-runc-prestart.json",
	    "state-runc-poststop.json",
	    "state-crun-createRuntime.json",
	    "state-crun-poststop.json",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct cl_oci_state st = {};
		struct cl_error *err = NULL;
		size_t len;
		char *buf = read_data(files[i], &len);

		assert_int_equal(cl_oci_state_parse(buf, len, &st, &err), 0);
		assert_string_equal(st.bundle, "/run/bundles/demo");
		cl_oci_state_clear(&st);
		free(buf);
	}
}

static void test_state_minimal_and_null_members(void **state)
{
	struct cl_oci_state st = {};

	(void)state;
	assert_int_equal(state_parse("{\"id\":\"a\",\"bundle\":\"/b\"}", &st, NULL), 0);
	assert_null(st.oci_version);
	assert_null(st.status);
	assert_int_equal(st.pid, 0);
	cl_oci_state_clear(&st);
	assert_int_equal(state_parse(" \n{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":null,"
				     "\"status\":null} \r\n\t",
				     &st, NULL),
			 0);
	assert_int_equal(st.pid, 0);
	cl_oci_state_clear(&st);
}

static void test_state_malformed(void **state)
{
	(void)state;
	state_refused("{\"id\":\"a\",", "malformed JSON in state");
	state_refused("{\"id\":\"a\" \"bundle\":\"/b\"}", "malformed JSON in state");
	state_refused("", "malformed JSON in state");
	state_refused("   ", "malformed JSON in state");
	state_refused("{'id':'a'}", "malformed JSON in state");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",}", "malformed JSON in state");
	state_refused("{\"id\":\"\\x41\",\"bundle\":\"/b\"}", "malformed JSON in state");
}

static void test_state_trailing(void **state)
{
	static const char with_nul[] = "{\"id\":\"a\",\"bundle\":\"/b\"}\0";
	struct cl_oci_state st = {};
	struct cl_error *err = NULL;
	char *b;

	(void)state;
	/* json-c's strict mode stops at the first byte after the object */
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\"} x", "malformed JSON in state");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\"}{}", "malformed JSON in state");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\"}\n\n]", "malformed JSON in state");
	/* a NUL inside @len is data, not the end */
	b = exact(with_nul, sizeof(with_nul) - 1);
	assert_int_equal(cl_oci_state_parse(b, sizeof(with_nul) - 1, &st, &err), -EINVAL);
	assert_non_null(err);
	cl_error_free(&err);
	free(b);
	/* trailing whitespace up to exactly @len, with no NUL after it */
	assert_int_equal(state_parse("{\"id\":\"a\",\"bundle\":\"/b\"}\n  \t", &st, &err), 0);
	cl_oci_state_clear(&st);
	/* only @len bytes count: garbage after them is not read */
	b = exact("{\"id\":\"a\",\"bundle\":\"/b\"} garbage", 32);
	assert_int_equal(cl_oci_state_parse(b, 24, &st, &err), 0);
	assert_null(err);
	cl_oci_state_clear(&st);
	free(b);
}

static void test_state_not_object(void **state)
{
	(void)state;
	state_refused("[]", "not an object");
	state_refused("[{\"id\":\"a\",\"bundle\":\"/b\"}]", "not an object");
	state_refused("\"state\"", "not an object");
	/* a bare literal or number never ends for a streaming tokener */
	state_refused("null", "malformed JSON in state: unexpected end of input");
	state_refused("true", "malformed JSON in state");
	state_refused("42", "malformed JSON in state");
}

static void test_state_pid(void **state)
{
	struct cl_oci_state st = {};

	(void)state;
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":-1}", "'pid' -1 out of range");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":2147483648}", "out of range");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":9223372036854775807}",
		      "out of range");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":18446744073709551615}",
		      "out of range");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":-9223372036854775809}", "state");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":99999999999999999999999}", "state");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":\"123\"}",
		      "'pid' is not an integer");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":12.5}", "'pid' is not an integer");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":1e3}", "'pid' is not an integer");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":true}", "'pid' is not an integer");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":[1]}", "'pid' is not an integer");

	assert_int_equal(
	    state_parse("{\"id\":\"a\",\"bundle\":\"/b\",\"pid\":2147483647}", &st, NULL), 0);
	assert_int_equal(st.pid, 2147483647);
	cl_oci_state_clear(&st);
}

static void test_state_id(void **state)
{
	char json[512];

	(void)state;
	state_refused("{\"bundle\":\"/b\",\"pid\":1}", "missing or invalid 'id'");
	state_refused("{\"id\":null,\"bundle\":\"/b\"}", "missing or invalid 'id'");
	state_refused("{\"id\":\"\",\"bundle\":\"/b\"}", "missing or invalid 'id'");
	state_refused("{\"id\":\"../x\",\"bundle\":\"/b\"}", "missing or invalid 'id'");
	state_refused("{\"id\":\"a/b\",\"bundle\":\"/b\"}", "missing or invalid 'id'");
	state_refused("{\"id\":\"..\",\"bundle\":\"/b\"}", "missing or invalid 'id'");
	state_refused("{\"id\":\"a b\",\"bundle\":\"/b\"}", "missing or invalid 'id'");
	state_refused("{\"id\":\"a\\nb\",\"bundle\":\"/b\"}", "missing or invalid 'id'");
	/* json-c strings may hold a NUL: "a\0/.." must not pass as "a" silently */
	state_refused("{\"id\":\"a\\u0000/..\",\"bundle\":\"/b\"}",
		      "state: 'id' contains a NUL byte");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\\u0000x\"}", "'bundle' contains a NUL byte");
	state_refused("{\"id\":42,\"bundle\":\"/b\"}", "'id' is not a string");
	state_refused("{\"id\":{},\"bundle\":\"/b\"}", "'id' is not a string");
	snprintf(json, sizeof(json), "{\"id\":\"%0129d\",\"bundle\":\"/b\"}", 0);
	state_refused(json, "missing or invalid 'id'");
}

static void test_state_bundle(void **state)
{
	(void)state;
	state_refused("{\"id\":\"a\"}", "'bundle' missing or not an absolute path");
	state_refused("{\"id\":\"a\",\"bundle\":\"\"}", "'bundle' missing");
	state_refused("{\"id\":\"a\",\"bundle\":\"run/b\"}", "not an absolute path");
	state_refused("{\"id\":\"a\",\"bundle\":\"./b\"}", "not an absolute path");
	state_refused("{\"id\":\"a\",\"bundle\":[\"/b\"]}", "'bundle' is not a string");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"status\":1}", "'status' is not a string");
	state_refused("{\"id\":\"a\",\"bundle\":\"/b\",\"ociVersion\":1.0}",
		      "'ociVersion' is not a string");
}

static void test_state_too_large(void **state)
{
	struct cl_oci_state st = {};
	struct cl_error *err = NULL;
	size_t n = CL_OCI_MAX_INPUT + 1;
	char *b = malloc(n);
	static const char doc[] = "{\"id\":\"a\",\"bundle\":\"/b\"}";

	(void)state;
	assert_non_null(b);
	/* valid JSON padded with whitespace: only the size is wrong */
	memset(b, ' ', n);
	memcpy(b, doc, sizeof(doc) - 1);
	expect_error(cl_oci_state_parse(b, n, &st, &err), &err, EFBIG, "larger than 1048576");
	assert_int_equal(cl_oci_state_parse(b, n, &st, NULL), -EFBIG);
	/* exactly the cap is fine */
	assert_int_equal(cl_oci_state_parse(b, n - 1, &st, &err), 0);
	cl_oci_state_clear(&st);
	free(b);
}

static void test_state_deep_nesting(void **state)
{
	size_t depth = 10000, len = 2 * depth + 40;
	char *b = malloc(len), *p;
	struct cl_oci_state st = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_non_null(b);
	p = b + sprintf(b, "{\"id\":\"a\",\"bundle\":\"/b\",\"x\":");
	memset(p, '[', depth);
	memset(p + depth, ']', depth);
	p[2 * depth] = '}';
	expect_error(cl_oci_state_parse(b, (size_t)(p - b) + 2 * depth + 1, &st, &err), &err,
		     EINVAL, "malformed JSON in state");
	free(b);
}

/* ---- config ---------------------------------------------------------------------------- */

static void test_config_runtime_samples(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;
	size_t len;
	char *buf = read_data("config-runc-spec.json", &len);

	(void)state;
	/* `runc spec` output: root.path "rootfs", no annotations */
	assert_int_equal(cl_oci_config_parse(buf, len, "/run/bundles/demo", &c, &err), 0);
	assert_null(err);
	assert_string_equal(c.root_path, "/run/bundles/demo/rootfs");
	assert_int_equal(c.n_annotations, 0);
	assert_null(c.cgroups_path);
	cl_oci_config_clear(&c);
	free(buf);

	/* `crun spec` output starts with two spaces */
	buf = read_data("config-crun-spec.json", &len);
	assert_int_equal(cl_oci_config_parse(buf, len, "/run/bundles/demo", &c, &err), 0);
	assert_string_equal(c.root_path, "/run/bundles/demo/rootfs");
	cl_oci_config_clear(&c);
	free(buf);

	buf = read_data("config-runc.json", &len);
	assert_int_equal(cl_oci_config_parse(buf, len, "/run/bundles/demo", &c, &err), 0);
	assert_int_equal(c.n_annotations, 2);
	for (size_t i = 0; i < c.n_annotations; i++)
		if (!strcmp(c.annotations[i].key, "io.cryptlayer.enable"))
			assert_string_equal(c.annotations[i].value, "true");
	cl_oci_config_clear(&c);
	free(buf);
}

static void test_config_root_path(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(config_parse("{\"root\":{\"path\":\"/abs/rootfs\"}}", NULL, &c, &err), 0);
	assert_string_equal(c.root_path, "/abs/rootfs");
	cl_oci_config_clear(&c);
	assert_int_equal(config_parse("{\"root\":{\"path\":\"/abs/rootfs\"}}", "/b", &c, &err), 0);
	assert_string_equal(c.root_path, "/abs/rootfs");
	cl_oci_config_clear(&c);
	assert_int_equal(config_parse("{\"root\":{\"path\":\"sub/rootfs\"}}", "/b/x", &c, &err), 0);
	assert_string_equal(c.root_path, "/b/x/sub/rootfs");
	cl_oci_config_clear(&c);

	expect_error(config_parse("{\"root\":{\"path\":\"rootfs\"}}", NULL, &c, &err), &err, EINVAL,
		     "relative 'root.path' needs a bundle");
	expect_error(config_parse("{\"root\":{\"path\":\"rootfs\"}}", "b", &c, &err), &err, EINVAL,
		     "relative 'root.path' needs a bundle");
	assert_null(c.root_path);
}

static void test_config_missing_root(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	(void)state;
	expect_error(config_parse("{}", "/b", &c, &err), &err, EINVAL,
		     "'root' missing or not an object");
	expect_error(config_parse("{\"root\":\"rootfs\"}", "/b", &c, &err), &err, EINVAL,
		     "'root' missing or not an object");
	expect_error(config_parse("{\"root\":{}}", "/b", &c, &err), &err, EINVAL,
		     "'root.path' missing");
	expect_error(config_parse("{\"root\":{\"path\":\"\"}}", "/b", &c, &err), &err, EINVAL,
		     "'root.path' missing");
	expect_error(config_parse("{\"root\":{\"path\":7}}", "/b", &c, &err), &err, EINVAL,
		     "'path' is not a string");
	expect_error(config_parse("[]", "/b", &c, &err), &err, EINVAL, "not an object");
	expect_error(config_parse("{\"root\":{\"path\":\"/r\"}} {", "/b", &c, &err), &err, EINVAL,
		     "malformed JSON in config.json");
}

static void test_config_annotations(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":"
				      "{\"a\":\"1\",\"io.cryptlayer.base\":\"/x\"}}",
				      NULL, &c, &err),
			 0);
	assert_int_equal(c.n_annotations, 2);
	assert_string_equal(c.annotations[0].key, "a");
	assert_string_equal(c.annotations[0].value, "1");
	assert_string_equal(c.annotations[1].key, "io.cryptlayer.base");
	assert_string_equal(c.annotations[1].value, "/x");
	cl_oci_config_clear(&c);

	assert_int_equal(
	    config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":null}", NULL, &c, &err), 0);
	assert_int_equal(c.n_annotations, 0);
	cl_oci_config_clear(&c);
	assert_int_equal(
	    config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":{}}", NULL, &c, &err), 0);
	assert_int_equal(c.n_annotations, 0);
	cl_oci_config_clear(&c);

	expect_error(config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":"
				  "{\"a\":\"1\",\"io.cryptlayer.enable\":true}}",
				  NULL, &c, &err),
		     &err, EINVAL, "annotation 'io.cryptlayer.enable' is not a string");
	expect_error(config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":{\"n\":null}}", NULL,
				  &c, &err),
		     &err, EINVAL, "annotation 'n' is not a string");
	expect_error(
	    config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":[\"a\"]}", NULL, &c, &err),
	    &err, EINVAL, "'annotations' is not an object");
	/* "/srv/a\0/../.." must not pass as "/srv/a" */
	expect_error(config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":"
				  "{\"io.cryptlayer.base\":\"/srv/a\\u0000/../..\"}}",
				  NULL, &c, &err),
		     &err, EINVAL, "annotation 'io.cryptlayer.base' contains a NUL byte");
	expect_error(config_parse("{\"root\":{\"path\":\"/r\\u0000/x\"}}", NULL, &c, &err), &err,
		     EINVAL, "'path' contains a NUL byte");
	assert_null(c.annotations);
}

static void test_config_cgroups_path(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(config_parse("{\"root\":{\"path\":\"/r\"},\"linux\":"
				      "{\"cgroupsPath\":\"/machine/c1\"}}",
				      NULL, &c, &err),
			 0);
	assert_string_equal(c.cgroups_path, "/machine/c1");
	cl_oci_config_clear(&c);
	expect_error(config_parse("{\"root\":{\"path\":\"/r\"},\"linux\":{\"cgroupsPath\":1}}",
				  NULL, &c, &err),
		     &err, EINVAL, "'cgroupsPath' is not a string");
}

static char *many_annotations(size_t n, size_t *ret_len)
{
	size_t cap = 64 + n * 32, len;
	char *b = malloc(cap);

	assert_non_null(b);
	len = (size_t)sprintf(b, "{\"root\":{\"path\":\"/r\"},\"annotations\":{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(b + len, "%s\"k%zu\":\"v\"", i ? "," : "", i);
	len += (size_t)sprintf(b + len, "}}");
	*ret_len = len;
	return b;
}

static void test_config_annotation_count(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;
	size_t len;
	char *b;

	(void)state;
	b = many_annotations(4096, &len);
	assert_int_equal(cl_oci_config_parse(b, len, NULL, &c, &err), 0);
	assert_int_equal(c.n_annotations, 4096);
	cl_oci_config_clear(&c);
	free(b);

	b = many_annotations(4097, &len);
	expect_error(cl_oci_config_parse(b, len, NULL, &c, &err), &err, E2BIG,
		     "more than 4096 annotations");
	assert_null(c.annotations);
	free(b);
}

static void test_config_too_large(void **state)
{
	struct cl_oci_config c = {};
	struct cl_error *err = NULL;
	size_t n = CL_OCI_MAX_INPUT + 1;
	char *b = malloc(n);
	static const char doc[] = "{\"root\":{\"path\":\"/r\"}}";

	(void)state;
	assert_non_null(b);
	memset(b, '\n', n);
	memcpy(b, doc, sizeof(doc) - 1);
	expect_error(cl_oci_config_parse(b, n, NULL, &c, &err), &err, EFBIG, "config.json");
	assert_int_equal(cl_oci_config_parse(b, n - 1, NULL, &c, &err), 0);
	cl_oci_config_clear(&c);
	free(b);
}

static void test_config_null_err(void **state)
{
	struct cl_oci_config c = {};

	(void)state;
	/* err may be NULL to discard (err.h): failure paths must not dereference it */
	assert_int_equal(config_parse("{}", "/b", &c, NULL), -EINVAL);
	assert_int_equal(
	    config_parse("{\"root\":{\"path\":\"/r\"},\"annotations\":{\"a\":1}}", "/b", &c, NULL),
	    -EINVAL);
	assert_int_equal(config_parse("{", "/b", &c, NULL), -EINVAL);
	assert_null(c.root_path);
}

/* ---- annotations → request ------------------------------------------------------------- */

#define KV(k, v)                                                                                   \
	{                                                                                          \
		(char *)(k), (char *)(v)                                                           \
	}

static int req_parse(const struct cl_kv *kv, size_t n, struct cl_request *r, struct cl_error **err)
{
	return cl_oci_request_parse(kv, n, r, err);
}

static void req_refused(const struct cl_kv *kv, size_t n, int errnum, const char *needle)
{
	struct cl_request r = {.nested = true};
	struct cl_error *err = NULL;

	expect_error(req_parse(kv, n, &r, &err), &err, errnum, needle);
	assert_true(r.nested); /* untouched */
	assert_null(r.base);
	assert_int_equal(req_parse(kv, n, &r, NULL), -errnum);
}

static void test_req_defaults(void **state)
{
	const struct cl_kv kv[] = {KV("org.opencontainers.image.title", "demo")};
	struct cl_request r = {};
	struct cl_error *err = NULL;

	(void)state;
	assert_int_equal(req_parse(NULL, 0, &r, &err), 0);
	assert_false(r.enabled);
	assert_null(r.base);
	assert_int_equal(r.keymode, CL_KEY_EPHEMERAL);
	assert_int_equal(r.backend, CL_BACKEND_OVERLAY);
	assert_false(r.nested);
	assert_int_equal(req_parse(kv, 1, &r, &err), 0);
	assert_false(r.enabled);
	assert_null(err);
	cl_oci_request_clear(&r);
}

static void test_req_enable(void **state)
{
	const struct cl_kv on[] = {KV("io.cryptlayer.enable", "true")};
	const struct cl_kv off[] = {KV("io.cryptlayer.enable", "false")};
	const struct cl_kv bad[] = {KV("io.cryptlayer.enable", "yes")};
	const struct cl_kv upper[] = {KV("io.cryptlayer.enable", "TRUE")};
	struct cl_request r = {};

	(void)state;
	assert_int_equal(req_parse(on, 1, &r, NULL), 0);
	assert_true(r.enabled);
	assert_null(r.base);
	cl_oci_request_clear(&r);
	assert_int_equal(req_parse(off, 1, &r, NULL), 0);
	assert_false(r.enabled);
	cl_oci_request_clear(&r);
	req_refused(bad, 1, EINVAL, "annotation 'io.cryptlayer.enable': expected true or false");
	req_refused(upper, 1, EINVAL, "expected true or false");
}

static void test_req_base(void **state)
{
	const struct cl_kv abs[] = {KV("io.cryptlayer.base", "/srv/base")};
	const struct cl_kv dots[] = {KV("io.cryptlayer.base", "/srv/..data/a..b/.../x..")};
	const struct cl_kv twice[] = {KV("io.cryptlayer.base", "/one"),
				      KV("io.cryptlayer.base", "/two")};
	const struct cl_kv on[] = {KV("io.cryptlayer.enable", "true"),
				   KV("io.cryptlayer.base", "/srv/base")};
	struct cl_request r = {};

	(void)state;
	/* a base alone enables */
	assert_int_equal(req_parse(abs, 1, &r, NULL), 0);
	assert_true(r.enabled);
	assert_string_equal(r.base, "/srv/base");
	cl_oci_request_clear(&r);
	assert_null(r.base);
	assert_int_equal(req_parse(on, 2, &r, NULL), 0);
	assert_true(r.enabled);
	cl_oci_request_clear(&r);
	/* ".." only as a whole component is refused */
	assert_int_equal(req_parse(dots, 1, &r, NULL), 0);
	assert_string_equal(r.base, "/srv/..data/a..b/.../x..");
	cl_oci_request_clear(&r);
	/* the last one wins, the first is not leaked */
	assert_int_equal(req_parse(twice, 2, &r, NULL), 0);
	assert_string_equal(r.base, "/two");
	cl_oci_request_clear(&r);
}

static void test_req_base_refused(void **state)
{
	static const char *const bad_rel[] = {"srv/base", "", "./x", "../x", "~/x"};
	static const char *const bad_dots[] = {"/..",	      "/../etc",       "/srv/..",
					       "/srv/../etc", "/a/b/../../..", "/srv/x/.."};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_rel) / sizeof(bad_rel[0]); i++) {
		const struct cl_kv kv[] = {KV("io.cryptlayer.base", bad_rel[i])};

		req_refused(kv, 1, EINVAL, "is not an absolute path");
	}
	for (size_t i = 0; i < sizeof(bad_dots) / sizeof(bad_dots[0]); i++) {
		const struct cl_kv kv[] = {KV("io.cryptlayer.base", bad_dots[i])};

		req_refused(kv, 1, EINVAL, "contains '..'");
	}
}

static void test_req_key_backend_nested(void **state)
{
	const struct cl_kv all[] = {KV("io.cryptlayer.key", "persistent"),
				    KV("io.cryptlayer.backend", "btrfs"),
				    KV("io.cryptlayer.nested", "true")};
	const struct cl_kv back[] = {KV("io.cryptlayer.key", "persistent"),
				     KV("io.cryptlayer.key", "ephemeral"),
				     KV("io.cryptlayer.backend", "overlay")};
	const struct cl_kv bad_key[] = {KV("io.cryptlayer.key", "forever")};
	const struct cl_kv bad_backend[] = {KV("io.cryptlayer.backend", "zfs")};
	const struct cl_kv bad_nested[] = {KV("io.cryptlayer.nested", "1")};
	struct cl_request r = {};

	(void)state;
	assert_int_equal(req_parse(all, 3, &r, NULL), 0);
	assert_int_equal(r.keymode, CL_KEY_PERSISTENT);
	assert_int_equal(r.backend, CL_BACKEND_BTRFS);
	assert_true(r.nested);
	assert_false(r.enabled); /* none of these enables on its own */
	assert_string_equal(cl_oci_keymode_name(r.keymode), "persistent");
	assert_string_equal(cl_oci_backend_name(r.backend), "btrfs");
	cl_oci_request_clear(&r);
	assert_int_equal(req_parse(back, 3, &r, NULL), 0);
	assert_int_equal(r.keymode, CL_KEY_EPHEMERAL);
	assert_int_equal(r.backend, CL_BACKEND_OVERLAY);
	assert_string_equal(cl_oci_keymode_name(r.keymode), "ephemeral");
	assert_string_equal(cl_oci_backend_name(r.backend), "overlay");
	cl_oci_request_clear(&r);
	req_refused(bad_key, 1, EINVAL, "'io.cryptlayer.key': expected ephemeral or persistent");
	req_refused(bad_backend, 1, EINVAL, "'io.cryptlayer.backend': expected overlay or btrfs");
	req_refused(bad_nested, 1, EINVAL, "'io.cryptlayer.nested': expected true or false");
}

static void test_req_unknown_key(void **state)
{
	const struct cl_kv kv[] = {KV("io.cryptlayer.enable", "true"),
				   KV("io.cryptlayer.basee", "/x")};
	const struct cl_kv empty[] = {KV("io.cryptlayer.", "x")};
	const struct cl_kv nested_ns[] = {KV("io.cryptlayer.base.extra", "/x")};
	const struct cl_kv base_first[] = {KV("io.cryptlayer.base", "/x"),
					   KV("io.cryptlayer.Key", "ephemeral")};

	(void)state;
	req_refused(kv, 2, EINVAL, "unknown annotation 'io.cryptlayer.basee'");
	req_refused(empty, 1, EINVAL, "unknown annotation 'io.cryptlayer.'");
	req_refused(nested_ns, 1, EINVAL, "unknown annotation 'io.cryptlayer.base.extra'");
	/* keys are case-sensitive; the base already parsed is freed (valgrind) */
	req_refused(base_first, 2, EINVAL, "unknown annotation 'io.cryptlayer.Key'");
}

static void test_req_others_ignored(void **state)
{
	const struct cl_kv kv[] = {
	    KV("io.cryptlayer", "x"),	       KV("io.cryptlayerx.base", "rel"),
	    KV("IO.CRYPTLAYER.BASE", "rel"),   KV("org.opencontainers.image.title", "t"),
	    KV("io.kubernetes.pod.name", "p"), KV("", ""),
	};
	struct cl_request r = {};

	(void)state;
	assert_int_equal(req_parse(kv, sizeof(kv) / sizeof(kv[0]), &r, NULL), 0);
	assert_false(r.enabled);
	assert_null(r.base);
	cl_oci_request_clear(&r);
}

static void test_req_value_size(void **state)
{
	size_t max = CL_OCI_MAX_ANNOTATION_VALUE;
	char *v = malloc(max + 2);
	struct cl_request r = {};

	(void)state;
	assert_non_null(v);
	memset(v, 'a', max + 1);
	v[0] = '/';
	v[max] = '\0'; /* exactly 4096 bytes: accepted */
	{
		const struct cl_kv kv[] = {KV("io.cryptlayer.base", v)};

		assert_int_equal(req_parse(kv, 1, &r, NULL), 0);
		assert_int_equal(strlen(r.base), max);
		cl_oci_request_clear(&r);
	}
	v[max] = 'a';
	v[max + 1] = '\0'; /* 4097 bytes */
	{
		const struct cl_kv kv[] = {KV("io.cryptlayer.base", v)};
		const struct cl_kv other[] = {KV("io.cryptlayer.enable", v)};
		const struct cl_kv foreign[] = {KV("org.example.big", v)};

		req_refused(kv, 1, E2BIG, "annotation 'io.cryptlayer.base' longer than 4096 bytes");
		req_refused(other, 1, E2BIG, "'io.cryptlayer.enable' longer than 4096 bytes");
		/* only io.cryptlayer.* values are bounded here */
		assert_int_equal(req_parse(foreign, 1, &r, NULL), 0);
		cl_oci_request_clear(&r);
	}
	free(v);
}

static void test_req_contradiction(void **state)
{
	const struct cl_kv a[] = {KV("io.cryptlayer.enable", "false"),
				  KV("io.cryptlayer.base", "/srv/base")};
	const struct cl_kv b[] = {KV("io.cryptlayer.base", "/srv/base"),
				  KV("io.cryptlayer.enable", "false")};

	(void)state;
	req_refused(a, 2, EINVAL, "'io.cryptlayer.enable=false' contradicts 'io.cryptlayer.base'");
	req_refused(b, 2, EINVAL, "contradicts");
}

static void test_req_from_config(void **state)
{
	struct cl_oci_config c = {};
	struct cl_request r = {};
	struct cl_error *err = NULL;
	size_t len;
	char *buf = read_data("config-runc.json", &len);

	(void)state;
	assert_int_equal(cl_oci_config_parse(buf, len, "/run/bundles/demo", &c, &err), 0);
	assert_int_equal(cl_oci_request_parse(c.annotations, c.n_annotations, &r, &err), 0);
	assert_true(r.enabled);
	assert_null(r.base);
	cl_oci_request_clear(&r);
	cl_oci_config_clear(&c);
	free(buf);
}

/* ---- rewrite --------------------------------------------------------------------------- */

static const char *const hook_argv[] = {
    "/usr/local/bin/cryptlayer", "--root", "/var/lib/cl", "hook", "poststop", NULL};

static json_object *rewrite_ok(const char *in, const char *root, const char *const *argv)
{
	char *b = exact(in, strlen(in)), *out = NULL;
	struct cl_error *err = NULL;
	json_object *o;

	assert_int_equal(cl_oci_config_rewrite(b, strlen(in), root, argv, &out, &err), 0);
	assert_null(err);
	assert_non_null(out);
	o = json_tokener_parse(out);
	assert_non_null(o);
	free(out);
	free(b);
	return o;
}

static const char *get_str(json_object *o, const char *a, const char *b)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, a, &v));
	assert_true(json_object_object_get_ex(v, b, &v));
	return json_object_get_string(v);
}

static json_object *poststop_list(json_object *o)
{
	json_object *h, *l;

	assert_true(json_object_object_get_ex(o, "hooks", &h));
	assert_true(json_object_object_get_ex(h, "poststop", &l));
	assert_true(json_object_is_type(l, json_type_array));
	return l;
}

static void test_rewrite_root_path(void **state)
{
	json_object *o, *h;

	(void)state;
	o = rewrite_ok("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
		       "\"process\":{\"args\":[\"sh\"]}}",
		       "/var/lib/cl/store/containers/c1/merged", NULL);
	assert_string_equal(get_str(o, "root", "path"), "/var/lib/cl/store/containers/c1/merged");
	assert_true(json_object_get_boolean(
	    json_object_object_get(json_object_object_get(o, "root"), "readonly")));
	assert_string_equal(json_object_get_string(json_object_object_get(o, "ociVersion")),
			    "1.0.2");
	/* no hook asked for: no hooks key invented */
	assert_false(json_object_object_get_ex(o, "hooks", &h));
	json_object_put(o);
}

static void test_rewrite_poststop_once(void **state)
{
	char *first = NULL, *second = NULL;
	struct cl_error *err = NULL;
	json_object *o, *l, *hook;
	size_t len;
	char *buf = read_data("config-runc.json", &len);

	(void)state;
	assert_int_equal(cl_oci_config_rewrite(buf, len, "/m", hook_argv, &first, &err), 0);
	assert_int_equal(
	    cl_oci_config_rewrite(first, strlen(first), "/m", hook_argv, &second, &err), 0);
	assert_string_equal(first, second);
	o = json_tokener_parse(second);
	assert_non_null(o);
	l = poststop_list(o);
	/* the sample's own poststop hook stays first; ours is appended once */
	assert_int_equal(json_object_array_length(l), 2);
	hook = json_object_array_get_idx(l, 1);
	assert_string_equal(json_object_get_string(json_object_object_get(hook, "path")),
			    "/usr/local/bin/cryptlayer");
	assert_int_equal(json_object_array_length(json_object_object_get(hook, "args")), 5);
	assert_string_equal(json_object_get_string(
				json_object_array_get_idx(json_object_object_get(hook, "args"), 4)),
			    "poststop");
	assert_string_equal(get_str(o, "root", "path"), "/m");
	json_object_put(o);
	free(first);
	free(second);
	free(buf);
}

static void test_rewrite_creates_hooks(void **state)
{
	json_object *o;

	(void)state;
	o = rewrite_ok("{\"root\":{\"path\":\"/r\"}}", "/m", hook_argv);
	assert_int_equal(json_object_array_length(poststop_list(o)), 1);
	json_object_put(o);
	o = rewrite_ok("{\"root\":{\"path\":\"/r\"},\"hooks\":null}", "/m", hook_argv);
	assert_int_equal(json_object_array_length(poststop_list(o)), 1);
	json_object_put(o);
	o = rewrite_ok("{\"root\":{\"path\":\"/r\"},\"hooks\":{\"prestart\":[],\"poststop\":null}}",
		       "/m", hook_argv);
	assert_int_equal(json_object_array_length(poststop_list(o)), 1);
	json_object_put(o);
	/* a poststop that differs (other args) is not ours: keep it, add ours */
	o = rewrite_ok("{\"root\":{\"path\":\"/r\"},\"hooks\":{\"poststop\":[{\"path\":"
		       "\"/usr/local/bin/cryptlayer\",\"args\":[\"x\"]}]}}",
		       "/m", hook_argv);
	assert_int_equal(json_object_array_length(poststop_list(o)), 2);
	json_object_put(o);
	/* paths keep their slashes unescaped */
	{
		char *b = exact("{\"root\":{\"path\":\"/r\"}}", 22), *out = NULL;

		assert_int_equal(cl_oci_config_rewrite(b, 22, "/a/b", hook_argv, &out, NULL), 0);
		assert_non_null(strstr(out, "\"/a/b\""));
		free(out);
		free(b);
	}
}

static void test_rewrite_errors(void **state)
{
	static const char *const bad[][2] = {
	    {"{\"root\":{\"path\":\"/r\"},\"hooks\":[]}", "'hooks' is not an object"},
	    {"{\"root\":{\"path\":\"/r\"},\"hooks\":\"x\"}", "'hooks' is not an object"},
	    {"{\"root\":{\"path\":\"/r\"},\"hooks\":{\"poststop\":{}}}",
	     "'hooks.poststop' is not an array"},
	    {"{\"hooks\":{}}", "'root' missing or not an object"},
	    {"{\"root\":[]}", "'root' missing or not an object"},
	    {"{\"root\":{\"path\":\"/r\"}", "malformed JSON"},
	    {"{\"root\":{\"path\":\"/r\"}} []", "malformed JSON"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cl_error *err = NULL;
		char *out = (char *)"untouched";
		char *b = exact(bad[i][0], strlen(bad[i][0]));

		expect_error(
		    cl_oci_config_rewrite(b, strlen(bad[i][0]), "/m", hook_argv, &out, &err), &err,
		    EINVAL, bad[i][1]);
		assert_string_equal(out, "untouched");
		assert_int_equal(
		    cl_oci_config_rewrite(b, strlen(bad[i][0]), "/m", hook_argv, &out, NULL),
		    -EINVAL);
		free(b);
	}
}

static void test_rewrite_too_large(void **state)
{
	size_t n = CL_OCI_MAX_INPUT + 1;
	char *b = malloc(n), *out = NULL;
	struct cl_error *err = NULL;

	(void)state;
	assert_non_null(b);
	memset(b, ' ', n);
	memcpy(b, "{\"root\":{}}", 11);
	expect_error(cl_oci_config_rewrite(b, n, "/m", NULL, &out, &err), &err, EFBIG,
		     "larger than");
	assert_null(out);
	free(b);
}

static void test_rewrite_roundtrip(void **state)
{
	struct cl_oci_config c = {};
	char *out = NULL;
	size_t len;
	char *buf = read_data("config-runc-spec.json", &len);

	(void)state;
	assert_int_equal(
	    cl_oci_config_rewrite(buf, len, "/store/containers/demo/merged", hook_argv, &out, NULL),
	    0);
	assert_int_equal(config_parse(out, "/run/bundles/demo", &c, NULL), 0);
	assert_string_equal(c.root_path, "/store/containers/demo/merged");
	cl_oci_config_clear(&c);
	free(out);
	free(buf);
}

/* ---- ids ------------------------------------------------------------------------------- */

static void test_id_valid(void **state)
{
	static const char *const good[] = {
	    "a",    "c1",	  "A-Z_0.9",
	    "a.b",  ".a",	  "-a",
	    "...a", "cap-runc-1", "0123456789abcdef0123456789abcdef"};
	static const char *const bad[] = {"",	  ".",	 "..",	 "...",	     "a/b", "/a",  "a b",
					  "a\nb", "a:b", "a\\b", "\xc3\xa9", "a*",  "$(x)"};
	char id[130];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cl_oci_id_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cl_oci_id_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	memset(id, 'x', 128);
	id[128] = '\0';
	assert_true(cl_oci_id_valid(id));
	id[128] = 'x';
	id[129] = '\0';
	assert_false(cl_oci_id_valid(id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_runc),
	    cmocka_unit_test(test_state_crun),
	    cmocka_unit_test(test_state_data_files),
	    cmocka_unit_test(test_state_minimal_and_null_members),
	    cmocka_unit_test(test_state_malformed),
	    cmocka_unit_test(test_state_trailing),
	    cmocka_unit_test(test_state_not_object),
	    cmocka_unit_test(test_state_pid),
	    cmocka_unit_test(test_state_id),
	    cmocka_unit_test(test_state_bundle),
	    cmocka_unit_test(test_state_too_large),
	    cmocka_unit_test(test_state_deep_nesting),
	    cmocka_unit_test(test_config_runtime_samples),
	    cmocka_unit_test(test_config_root_path),
	    cmocka_unit_test(test_config_missing_root),
	    cmocka_unit_test(test_config_annotations),
	    cmocka_unit_test(test_config_cgroups_path),
	    cmocka_unit_test(test_config_annotation_count),
	    cmocka_unit_test(test_config_too_large),
	    cmocka_unit_test(test_config_null_err),
	    cmocka_unit_test(test_req_defaults),
	    cmocka_unit_test(test_req_enable),
	    cmocka_unit_test(test_req_base),
	    cmocka_unit_test(test_req_base_refused),
	    cmocka_unit_test(test_req_key_backend_nested),
	    cmocka_unit_test(test_req_unknown_key),
	    cmocka_unit_test(test_req_others_ignored),
	    cmocka_unit_test(test_req_value_size),
	    cmocka_unit_test(test_req_contradiction),
	    cmocka_unit_test(test_req_from_config),
	    cmocka_unit_test(test_rewrite_root_path),
	    cmocka_unit_test(test_rewrite_poststop_once),
	    cmocka_unit_test(test_rewrite_creates_hooks),
	    cmocka_unit_test(test_rewrite_errors),
	    cmocka_unit_test(test_rewrite_too_large),
	    cmocka_unit_test(test_rewrite_roundtrip),
	    cmocka_unit_test(test_id_valid),
	};

	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
