/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cryptlayer keyprovider: containers/ocicrypt's keyprovider command protocol
 * (keywrap/keyprovider/keyprovider.go, docs/keyprovider.md). ocicrypt runs us with one
 * JSON request on stdin and reads one JSON answer on stdout:
 *
 *   {"op":"keywrap","keywrapparams":{"ec":{…},"optsdata":b64}}
 *        → {"keywrapresults":{"annotation":b64}}
 *   {"op":"keyunwrap","keyunwrapparams":{"dc":{…},"annotation":b64}}
 *        → {"keyunwrapresults":{"optsdata":b64}}
 *
 * optsdata is the layer's private options (its AES key); the annotation we return is
 * them sealed with AES-256-GCM under a key derived from the machine key (docs/
 * clx-format.md §9.4): "CLKP" ‖ version 1 ‖ salt (16) ‖ nonce (12) ‖ tag (16) ‖
 * ciphertext, key = HKDF-SHA256(machine key, salt, "cryptlayer keyprovider v1"),
 * AAD = the first 21 bytes. ocicrypt stores it in
 * org.opencontainers.image.enc.keys.provider.<name>.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/b64.h"
#include "lib/crypto/kdf.h"
#include "lib/crypto/machine-key.h"
#include "lib/crypto/secret.h"
#include "oci/json-util.h"

#define KP_MAGIC "CLKP"
#define KP_VERSION 1
#define KP_SALT 16
#define KP_HDR (4 + 1 + KP_SALT)
#define KP_MIN (KP_HDR + CL_AEAD_NONCE_LEN + CL_AEAD_TAG_LEN + 1)
#define KP_LABEL "cryptlayer keyprovider v1"
#define KP_MAX_INPUT (1U << 20)

static void keyprovider_usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer [--machine-key SPEC] keyprovider\n"
	      "\n"
	      "containers/ocicrypt's keyprovider command: reads one request (JSON, op keywrap\n"
	      "or keyunwrap) on standard input and answers on standard output, wrapping and\n"
	      "unwrapping image layer keys with this host's machine key. Point ocicrypt at it\n"
	      "with OCICRYPT_KEYPROVIDER_CONFIG (see README), then encrypt with\n"
	      "'--encryption-key provider:cryptlayer' and decrypt with\n"
	      "'--decryption-key provider:cryptlayer'. Only a host with the same machine key\n"
	      "can decrypt.\n"
	      "\n"
	      "Options:\n"
	      " -h, --help           display this help\n"
	      "\n"
	      "Exit status: 0 ok, 1 failure (one line on stderr), 2 usage error.\n",
	      stdout);
}

static struct cl_secret *kp_key(const struct cl_globals *g, bool create,
				const unsigned char salt[KP_SALT], struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *mk = NULL;

	if (cl_machine_key_load(g->machine_key, create, &mk, err) < 0)
		return NULL;
	return cl_kdf_hkdf_secret(mk, salt, KP_SALT, KP_LABEL, CL_AEAD_KEY_LEN, err);
}

/* base64 member @k of @o, decoded into secret memory */
static int b64_secret(json_object *o, const char *k, struct cl_secret **ret, size_t *ret_len,
		      struct cl_error **err)
{
	json_object *v = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	size_t n = 0;

	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return cl_error_set(err, EINVAL, "request: no '%s'", k);
	if (cl_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), false,
			  &b, &n, k, err) < 0)
		return -EINVAL;
	if (n == 0) {
		return cl_error_set(err, EINVAL, "request: empty '%s'", k);
	}
	*ret = cl_secret_new(n, err);
	if (*ret)
		memcpy((*ret)->data, b, n);
	cl_wipe(b, n);
	*ret_len = n;
	return *ret ? 0 : -ENOMEM;
}

static int answer(const char *results, const char *member, const unsigned char *b, size_t n,
		  struct cl_error **err)
{
	_cleanup_free_ char *s = cl_b64_encode(b, n, false);
	int r;

	if (!s)
		return cl_error_set(err, ENOMEM, "answer");
	/* a fixed shape, with nothing from the request in it: printf is enough */
	r = printf("{\"%s\":{\"%s\":\"%s\"}}\n", results, member, s) < 0 || fflush(stdout) ? -EIO
											   : 0;
	cl_wipe(s, strlen(s));
	return r < 0 ? cl_error_set(err, EIO, "write the answer") : 0;
}

static int do_wrap(const struct cl_globals *g, json_object *params, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *opts = NULL, *key = NULL;
	_cleanup_free_ unsigned char *out = NULL;
	size_t n = 0;
	unsigned char *p;
	int r;

	r = b64_secret(params, "optsdata", &opts, &n, err);
	if (r < 0)
		return r;
	out = malloc(KP_MIN - 1 + n);
	if (!out)
		return cl_error_set(err, ENOMEM, "keywrap");
	memcpy(out, KP_MAGIC, 4);
	out[4] = KP_VERSION;
	p = out + KP_HDR;
	if (RAND_bytes(out + 5, KP_SALT) != 1 || RAND_bytes(p, CL_AEAD_NONCE_LEN) != 1)
		return cl_error_set(err, EIO, "random");
	key = kp_key(g, true, out + 5, err);
	if (!key)
		return -EIO;
	r = cl_aead_seal(key, p, out, KP_HDR, opts->data, n,
			 p + CL_AEAD_NONCE_LEN + CL_AEAD_TAG_LEN, p + CL_AEAD_NONCE_LEN, err);
	if (r < 0)
		return r;
	return answer("keywrapresults", "annotation", out, KP_MIN - 1 + n, err);
}

static int do_unwrap(const struct cl_globals *g, json_object *params, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *ann = NULL, *key = NULL, *opts = NULL;
	const unsigned char *p;
	size_t n = 0;
	int r;

	r = b64_secret(params, "annotation", &ann, &n, err);
	if (r < 0)
		return r;
	if (n < KP_MIN || memcmp(ann->data, KP_MAGIC, 4) || ann->data[4] != KP_VERSION)
		return cl_error_set(err, EINVAL,
				    "annotation: not wrapped by cryptlayer keyprovider");
	p = ann->data + KP_HDR;
	key = kp_key(g, false, ann->data + 5, err);
	if (!key)
		return -EIO;
	r = cl_aead_open(key, p, ann->data, KP_HDR, p + CL_AEAD_NONCE_LEN + CL_AEAD_TAG_LEN,
			 n - (KP_MIN - 1), p + CL_AEAD_NONCE_LEN, &opts, err);
	if (r == -EBADMSG) {
		cl_error_free(err);
		return cl_error_set(err, EBADMSG,
				    "layer key not wrapped with this machine key (or damaged)");
	}
	if (r < 0)
		return r;
	return answer("keyunwrapresults", "optsdata", opts->data, n - (KP_MIN - 1), err);
}

static int keyprovider(const struct cl_globals *g, struct cl_error **err)
{
	_cleanup_free_ char *in = NULL;
	_cleanup_(json_object_putp) json_object *req = NULL;
	json_object *op = NULL, *params = NULL;
	const char *o;
	size_t len = 0;

	if (cl_read_all_fd(STDIN_FILENO, KP_MAX_INPUT, &in, &len, err) < 0)
		return cl_error_wrap(err, "request");
	req = cl_json_parse(in, len, "request", err);
	cl_wipe(in, len);
	if (!req)
		return -EINVAL;
	if (!json_object_object_get_ex(req, "op", &op) ||
	    !json_object_is_type(op, json_type_string))
		return cl_error_set(err, EINVAL, "request: no 'op'");
	o = json_object_get_string(op);
	if (!strcmp(o, "keywrap")) {
		json_object_object_get_ex(req, "keywrapparams", &params);
		return do_wrap(g, params, err);
	}
	if (!strcmp(o, "keyunwrap")) {
		json_object_object_get_ex(req, "keyunwrapparams", &params);
		return do_unwrap(g, params, err);
	}
	return cl_error_set(err, EINVAL, "request: op '%s' (keywrap or keyunwrap)", o);
}

int cl_cmd_keyprovider(const struct cl_globals *g, int argc, char **argv)
{
	struct cl_error *err = NULL;

	if (cl_cli_want_help(argc, argv)) {
		keyprovider_usage();
		return CL_EXIT_OK;
	}
	if (argc > 1)
		return cl_cli_usage("keyprovider", "unexpected argument '%s'", argv[1]);
	(void)CRYPTO_secure_malloc_init(64 * 1024, 32);
	/* ocicrypt's JSON is parsed under the filter already: nothing was opened before */
	if (cl_cli_sandbox(g, CL_SANDBOX_KEYPROVIDER, &err) < 0 || keyprovider(g, &err) < 0)
		return cl_cli_fail(&err, "keyprovider");
	return CL_EXIT_OK;
}
