/* SPDX-License-Identifier: GPL-2.0-or-later */
/* oci/: io.cryptlayer.* annotations → request, and the config.json rewrite. */
#include "tests/unit/oci-helpers.h"

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

/* bytes that are not UTF-8 are refused, and never echoed into a message */
static void test_req_not_utf8(void **state)
{
	static const char *const bad[] = {
	    "/srv/\xff\xfe",	     "/srv/\xc3\x28",	  /* invalid, a broken 2-byte sequence */
	    "/srv/\xc0\xaf",	     "/srv/\xe0\x80\xaf", /* overlong '/' */
	    "/srv/\xed\xa0\x80",			  /* a UTF-16 surrogate */
	    "/srv/\xf4\x90\x80\x80",			  /* past U+10FFFF */
	    "/srv/\xe2\x82",				  /* truncated */
	};
	static const char *const good[] = {"/srv/caf\xc3\xa9", "/srv/\xe2\x82\xac",
					   "/srv/\xf0\x9f\x90\xb3"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct cl_kv kv[] = {KV("io.cryptlayer.base", bad[i])};

		req_refused(kv, 1, EINVAL,
			    "annotation 'io.cryptlayer.base': the value is not UTF-8");
	}
	{
		const struct cl_kv kv[] = {KV("io.cryptlayer.\xc3\x28", "x")};

		req_refused(kv, 1, EINVAL, "an io.cryptlayer.* annotation key is not UTF-8");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct cl_kv kv[] = {KV("io.cryptlayer.base", good[i])};
		struct cl_request r = {};

		assert_int_equal(req_parse(kv, 1, &r, NULL), 0);
		assert_string_equal(r.base, good[i]);
		cl_oci_request_clear(&r);
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
	assert_true(r.enabled); /* nested=true asks for a layer (DESIGN §6) */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_req_defaults),
	    cmocka_unit_test(test_req_enable),
	    cmocka_unit_test(test_req_base),
	    cmocka_unit_test(test_req_base_refused),
	    cmocka_unit_test(test_req_not_utf8),
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
	};

	return cmocka_run_group_tests_name("oci-request", tests, NULL, NULL);
}
