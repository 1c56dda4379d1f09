/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci/: runtime state, config.json, ids (annotations and rewrite: test-oci-request.c). */
#include "tests/unit/oci-helpers.h"

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

static int state_parse(const char *s, struct cl_oci_state *st, struct cl_error **err)
{
	char *b = exact(s, strlen(s));
	int r = cl_oci_state_parse(b, strlen(s), st, err);

	free(b);
	return r;
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

/* ---- ids ------------------------------------------------------------------------------- */

static void test_id_valid(void **state)
{
	static const char *const good[] = {"a",	  "c1",		"A-Z_0.9",
					   "a.b", "-a",		"a..",
					   "a.",  "cap-runc-1", "0123456789abcdef0123456789abcdef"};
	/* a leading '.' is refused: list and gc skip dot files (issue 15) */
	static const char *const bad[] = {"",	  ".",	  "..",	  "...",  "a/b",      "/a",
					  "a b",  "a\nb", "a:b",  "a\\b", "\xc3\xa9", "a*",
					  "$(x)", ".a",	  "...a", "../a", "a\rb",     "a\x1b"};
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
	    cmocka_unit_test(test_id_valid),
	};

	return cmocka_run_group_tests_name("oci", tests, NULL, NULL);
}
