/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: what import reads from an OCI layout before anything is decrypted,
 * all of it attacker-controlled: index.json and the manifest (oci/image.c), the
 * pubopts annotation, the privopts JSON (lib/archive/ocicrypt.c) and a JWE
 * (lib/crypto/jwe.c) opened with a fixed EC P-256 test key. The same input is fed to
 * each parser; none may crash, leak or accept a privopts without a 32-byte key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/archive/ocicrypt.h"
#include "lib/crypto/jwe.h"
#include "oci/image.h"

#define FUZZ_MAX (128 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a fixed test key: only its use as a JWE recipient matters here */
static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
			       "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgyjoz9wwicsrxSz8V\n"
			       "glvG6a1CV7BR47nhlCrzZUMLW/qhRANCAAQGMiJR1+N8jC3CCpY6b+KLkqW1lmrb\n"
			       "a3kQqImpGl+qTJSMS9j8qhnimPr0Dh1pEXXlRtFARnSEdS+YrvqFTptV\n"
			       "-----END PRIVATE KEY-----\n";

static EVP_PKEY *key(void)
{
	static EVP_PKEY *k;

	if (!k) {
		BIO *b = BIO_new_mem_buf(test_key, -1);

		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_error *err = NULL;
	struct cl_oci_desc d = {0};
	struct cl_oci_manifest *m = calloc(1, sizeof(*m));
	struct cl_occ_priv p = {0};
	struct cl_secret *pt = NULL;
	EVP_PKEY *k = key();
	unsigned char hmac[32];
	char *s;
	size_t n = 0;

	if (size > FUZZ_MAX || !m)
		return free(m), 0;
	s = malloc(size + 1);
	if (!s)
		return free(m), 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (cl_oci_index_parse(s, size, &d, &err) < 0)
		cl_error_free(&err);
	cl_oci_desc_clear(&d);
	if (cl_oci_manifest_parse(s, size, m, &err) < 0)
		cl_error_free(&err);
	cl_oci_manifest_clear(m);
	if (cl_occ_pub_parse(s, hmac, &err) < 0)
		cl_error_free(&err);
	if (cl_occ_priv_decode(data, size, &p, &err) == 0) {
		if (!p.key || p.key->len != 32)
			abort();
		cl_occ_priv_clear(&p);
	} else {
		cl_error_free(&err);
	}
	if (k && cl_jwe_decrypt(s, size, &k, 1, &pt, &n, &err) == 0)
		cl_secret_free(pt);
	else
		cl_error_free(&err);
	if (k && cl_occ_keys_unwrap(s, &k, 1, &p, &err) == 0)
		cl_occ_priv_clear(&p);
	else
		cl_error_free(&err);
	free(s);
	free(m);
	return 0;
}
