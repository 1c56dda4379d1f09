/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JWE for ocicrypt's "org.opencontainers.image.enc.keys.jwe" (see jwe.h). Every
 * primitive is OpenSSL 3 EVP: RSA-OAEP, ECDH (EVP_PKEY_derive), the Concat KDF of
 * RFC 7518 §4.6.2 (SSKDF, NIST SP 800-56C single-step, SHA-256), AES-256 key wrap and
 * AES-256-GCM; JSON is json-c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "lib/core/cleanup.h"
#include "lib/crypto/b64.h"
#include "lib/crypto/jwe.h"
#include "lib/crypto/ossl-err.h"

#define CEK_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define KW_LEN (CEK_LEN + 8)
#define EC_MAX 66

CL_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
CL_DEFINE_CLEANUP(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
CL_DEFINE_CLEANUP(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
CL_DEFINE_CLEANUP(EVP_CIPHER *, EVP_CIPHER_free)
CL_DEFINE_CLEANUP(EVP_KDF *, EVP_KDF_free)
CL_DEFINE_CLEANUP(EVP_KDF_CTX *, EVP_KDF_CTX_free)
CL_DEFINE_CLEANUP(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
CL_DEFINE_CLEANUP(OSSL_PARAM *, OSSL_PARAM_free)
CL_DEFINE_CLEANUP(BIGNUM *, BN_free)
CL_DEFINE_CLEANUP(json_object *, json_object_put)

static const struct curve {
	const char *group, *crv;
	size_t size;
} curves[] = {
    {"prime256v1", "P-256", 32},
    {"secp384r1", "P-384", 48},
    {"secp521r1", "P-521", 66},
};

static const struct curve *curve_of(EVP_PKEY *pkey)
{
	char g[64];

	if (!EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_get_group_name(pkey, g, sizeof(g), NULL) != 1)
		return NULL;
	for (size_t i = 0; i < CL_ARRAY_SIZE(curves); i++)
		if (!strcmp(g, curves[i].group))
			return &curves[i];
	return NULL;
}

int cl_jwe_key_check(EVP_PKEY *pkey, const char *name, struct cl_error **err)
{
	int bits = EVP_PKEY_get_bits(pkey);

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (bits < 2048 || bits > 8192)
			return cl_error_set(err, EINVAL,
					    "'%s': RSA key of %d bits (need 2048 to 8192)", name,
					    bits);
		return 0;
	}
	if (curve_of(pkey))
		return 0;
	return cl_error_set(err, EINVAL,
			    "'%s': unsupported key type %s for OCI (use RSA >= 2048 bits or EC "
			    "P-256, P-384, P-521)",
			    name, EVP_PKEY_get0_type_name(pkey));
}

/* ---- primitives ---------------------------------------------------------------- */

static int rsa_oaep(EVP_PKEY *key, bool enc, const char *md, const unsigned char *in, size_t inlen,
		    unsigned char *out, size_t *outlen)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

	if (!c || (enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(c, md, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, md, NULL) != 1)
		return -EIO;
	if (enc)
		return EVP_PKEY_encrypt(c, out, outlen, in, inlen) == 1 ? 0 : -EIO;
	return EVP_PKEY_decrypt(c, out, outlen, in, inlen) == 1 ? 0 : -EIO;
}

/* Z = the x coordinate of priv·pub, the curve's full size (OpenSSL pads it) */
static int ecdh(EVP_PKEY *priv, EVP_PKEY *pub, unsigned char *z, size_t *zlen)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *c =
	    EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);

	if (!c || EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, pub) != 1 ||
	    EVP_PKEY_derive(c, z, zlen) != 1)
		return -EIO;
	return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* a 32-bit big-endian length, then the bytes (none when @len is 0, @b may be NULL) */
static size_t put_lv(unsigned char *info, size_t n, const unsigned char *b, size_t len)
{
	put_be32(info + n, (uint32_t)len);
	if (len)
		memcpy(info + n + 4, b, len);
	return n + 4 + len;
}

/*
 * RFC 7518 §4.6.2: key = SHA-256(BE32(1) ‖ Z ‖ OtherInfo) truncated, OtherInfo =
 * len‖alg ‖ len‖apu ‖ len‖apv ‖ BE32(key bits); OpenSSL's SSKDF is exactly that
 */
static int concat_kdf(const unsigned char *z, size_t zlen, const char *alg,
		      const unsigned char *apu, size_t apulen, const unsigned char *apv,
		      size_t apvlen, unsigned char *key, size_t keylen)
{
	_cleanup_(EVP_KDF_freep) EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
	_cleanup_(EVP_KDF_CTX_freep) EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	size_t alen = strlen(alg), n = 0;
	_cleanup_free_ unsigned char *info = malloc(16 + alen + apulen + apvlen);
	OSSL_PARAM p[4];
	int r;

	if (!c || !info)
		return -EIO;
	n = put_lv(info, n, (const unsigned char *)alg, alen);
	n = put_lv(info, n, apu, apulen);
	n = put_lv(info, n, apv, apvlen);
	put_be32(info + n, (uint32_t)(keylen * 8)), n += 4;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[3] = OSSL_PARAM_construct_end();
	r = EVP_KDF_derive(c, key, keylen, p) == 1 ? 0 : -EIO;
	return r;
}

/* RFC 3394 AES-256 key wrap (A256KW) of the 32-byte CEK: 40 bytes out, or unwrap */
static int a256kw(const unsigned char kek[32], bool wrap, const unsigned char *in, size_t inlen,
		  unsigned char *out, size_t *outlen)
{
	_cleanup_(EVP_CIPHER_freep) EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;

	if (!ci || !c || EVP_CipherInit_ex2(c, ci, kek, NULL, wrap, NULL) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)inlen) != 1 ||
	    EVP_CipherFinal_ex(c, out + n, &f) != 1)
		return -EIO;
	*outlen = (size_t)(n + f);
	return 0;
}

static int gcm(const unsigned char key[32], bool enc, const unsigned char iv[IV_LEN],
	       const char *aad, const unsigned char *in, size_t len, unsigned char *out,
	       unsigned char tag[TAG_LEN])
{
	_cleanup_(EVP_CIPHER_freep) EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	if (!ci || !c || len > INT32_MAX || EVP_CipherInit_ex2(c, ci, key, iv, enc, NULL) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		return -EIO;
	if (enc)
		return EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
			       EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1
			   ? 0
			   : -EIO;
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1)
		return -EIO;
	return EVP_CipherFinal_ex(c, out + n, &n) == 1 ? 0 : -EBADMSG;
}

/* ---- EC JWK --------------------------------------------------------------------- */

static int jwk_add_b64(json_object *o, const char *k, const unsigned char *b, size_t n)
{
	_cleanup_free_ char *s = cl_b64_encode(b, n, true);

	return s ? json_object_object_add(o, k, json_object_new_string(s)) : -ENOMEM;
}

static json_object *ec_jwk(EVP_PKEY *pkey, const struct curve *cv)
{
	_cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL;
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	unsigned char xb[EC_MAX], yb[EC_MAX];

	if (!o || EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, xb, (int)cv->size) < 0 || BN_bn2binpad(y, yb, (int)cv->size) < 0)
		return NULL;
	/* go-jose refuses coordinates shorter than the curve size: padded above */
	if (json_object_object_add(o, "kty", json_object_new_string("EC")) ||
	    json_object_object_add(o, "crv", json_object_new_string(cv->crv)) ||
	    jwk_add_b64(o, "x", xb, cv->size) || jwk_add_b64(o, "y", yb, cv->size))
		return NULL;
	return TAKE_PTR(o);
}

static int jwk_coord(json_object *jwk, const char *k, size_t size, unsigned char *out)
{
	json_object *v = NULL;
	_cleanup_free_ unsigned char *b = NULL;
	size_t n = 0;

	if (!json_object_object_get_ex(jwk, k, &v) || !json_object_is_type(v, json_type_string) ||
	    cl_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), true,
			  &b, &n, "epk", NULL) < 0 ||
	    n != size)
		return -EINVAL;
	memcpy(out, b, n);
	return 0;
}

/* the sender's ephemeral public key, on the curve of our key @cv (checked on the curve) */
static EVP_PKEY *ec_from_jwk(json_object *jwk, const struct curve *cv)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *c =
	    EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *chk = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pk = NULL;
	unsigned char pt[1 + 2 * EC_MAX] = {4};
	json_object *v = NULL;

	if (!json_object_object_get_ex(jwk, "kty", &v) ||
	    strcmp(json_object_get_string(v) ?: "", "EC") ||
	    !json_object_object_get_ex(jwk, "crv", &v) ||
	    strcmp(json_object_get_string(v) ?: "", cv->crv) ||
	    jwk_coord(jwk, "x", cv->size, pt + 1) < 0 ||
	    jwk_coord(jwk, "y", cv->size, pt + 1 + cv->size) < 0)
		return NULL;
	if (!bld || !c ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * cv->size) !=
		1 ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		return NULL;
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!chk || EVP_PKEY_public_check(chk) != 1)
		return NULL;
	return TAKE_PTR(pk);
}

/* ---- writing --------------------------------------------------------------------- */

/* one recipient: its header ("alg", "epk") and the CEK encrypted to it */
static int wrap_for(EVP_PKEY *rcpt, const unsigned char cek[CEK_LEN], json_object *hdr,
		    struct cl_error **err)
{
	const struct curve *cv = curve_of(rcpt);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = NULL;
	unsigned char ek[1024], z[EC_MAX], kek[32];
	size_t eklen = sizeof(ek), zlen = sizeof(z);
	json_object *epk;
	int r;

	if (!cv) {
		if (EVP_PKEY_get_size(rcpt) > (int)sizeof(ek) ||
		    rsa_oaep(rcpt, true, "SHA1", cek, CEK_LEN, ek, &eklen) < 0)
			return cl_error_ossl(err, EIO, "jwe: rsa-oaep");
		json_object_object_add(hdr, "alg", json_object_new_string("RSA-OAEP"));
		return jwk_add_b64(hdr, "encrypted_key", ek, eklen) ? -ENOMEM : 0;
	}
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cv->group);
	if (!eph || ecdh(eph, rcpt, z, &zlen) < 0)
		return cl_error_ossl(err, EIO, "jwe: ecdh on %s", cv->crv);
	r = concat_kdf(z, zlen, "ECDH-ES+A256KW", NULL, 0, NULL, 0, kek, sizeof(kek));
	OPENSSL_cleanse(z, sizeof(z));
	if (r == 0)
		r = a256kw(kek, true, cek, CEK_LEN, ek, &eklen);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (r < 0)
		return cl_error_ossl(err, EIO, "jwe: ecdh-es+a256kw");
	epk = ec_jwk(eph, cv);
	if (!epk)
		return cl_error_ossl(err, EIO, "jwe: ephemeral key");
	json_object_object_add(hdr, "alg", json_object_new_string("ECDH-ES+A256KW"));
	json_object_object_add(hdr, "epk", epk);
	return jwk_add_b64(hdr, "encrypted_key", ek, eklen) ? -ENOMEM : 0;
}

/* move "encrypted_key" from the header object @hdr to @dst */
static void move_key(json_object *hdr, json_object *dst)
{
	json_object *ek = NULL;

	json_object_object_get_ex(hdr, "encrypted_key", &ek);
	json_object_object_add(dst, "encrypted_key", json_object_get(ek));
	json_object_object_del(hdr, "encrypted_key");
}

/* the recipients into @jwe; the protected header (with "enc") is returned in *@prot */
static int wrap_all(EVP_PKEY *const *rcpts, size_t n, const unsigned char *cek, json_object *jwe,
		    json_object *prot, struct cl_error **err)
{
	json_object *arr = n > 1 ? json_object_new_array() : NULL;

	if (n > 1)
		json_object_object_add(jwe, "recipients", arr);
	for (size_t i = 0; i < n; i++) {
		json_object *hdr = n > 1 ? json_object_new_object() : prot, *ri = NULL;
		int r;

		if (n > 1) {
			ri = json_object_new_object();
			json_object_array_add(arr, ri);
			json_object_object_add(ri, "header", hdr);
		}
		r = wrap_for(rcpts[i], cek, hdr, err);
		if (r < 0)
			return r;
		move_key(hdr, n > 1 ? ri : jwe);
	}
	return 0;
}

int cl_jwe_encrypt(const unsigned char *pt, size_t len, EVP_PKEY *const *rcpts, size_t n,
		   char **ret_json, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *jwe = json_object_new_object();
	_cleanup_(json_object_putp) json_object *prot = json_object_new_object();
	_cleanup_secret_ struct cl_secret *cek = NULL;
	_cleanup_free_ unsigned char *ct = malloc(len ? len : 1);
	_cleanup_free_ char *pb64 = NULL;
	unsigned char iv[IV_LEN], tag[TAG_LEN];
	const char *s;
	int r;

	if (n == 0 || n > CL_JWE_MAX_RECIPIENTS || len > CL_JWE_MAX_LEN)
		return cl_error_set(err, EINVAL, "jwe: %zu recipients, %zu bytes", n, len);
	if (!jwe || !prot || !ct)
		return cl_error_set(err, ENOMEM, "jwe");
	cek = cl_secret_random(CEK_LEN, err);
	if (!cek)
		return -EIO;
	if (RAND_bytes(iv, sizeof(iv)) != 1)
		return cl_error_ossl(err, EIO, "jwe: random iv");
	json_object_object_add(prot, "enc", json_object_new_string("A256GCM"));
	r = wrap_all(rcpts, n, cek->data, jwe, prot, err);
	if (r < 0)
		return r;
	s = json_object_to_json_string_ext(prot,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	pb64 = s ? cl_b64_encode(s, strlen(s), true) : NULL;
	if (!pb64)
		return cl_error_set(err, ENOMEM, "jwe");
	/* AAD = ASCII(BASE64URL(UTF8(protected header))), RFC 7516 §5.1 step 14 */
	if (gcm(cek->data, true, iv, pb64, pt, len, ct, tag) < 0)
		return cl_error_ossl(err, EIO, "jwe: a256gcm");
	json_object_object_add(jwe, "protected", json_object_new_string(pb64));
	if (jwk_add_b64(jwe, "iv", iv, sizeof(iv)) || jwk_add_b64(jwe, "ciphertext", ct, len) ||
	    jwk_add_b64(jwe, "tag", tag, sizeof(tag)))
		return cl_error_set(err, ENOMEM, "jwe");
	s = json_object_to_json_string_ext(jwe,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*ret_json = s ? strdup(s) : NULL;
	return *ret_json ? 0 : cl_error_set(err, ENOMEM, "jwe");
}

/* ---- reading --------------------------------------------------------------------- */

struct jwe_in {
	json_object *root, *prot, *unprot;
	const char *prot_b64; /* exactly as received: the AAD */
	const char *aad_b64;  /* optional "aad" member */
	unsigned char *iv, *ct, *tag;
	size_t ivlen, ctlen, taglen;
};

static void jwe_in_clear(struct jwe_in *j)
{
	json_object_put(j->root);
	json_object_put(j->prot);
	free(j->iv);
	free(j->ct);
	free(j->tag);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* a member of the merged header: recipient's, then unprotected, then protected */
static json_object *hget(const struct jwe_in *j, json_object *rh, const char *k)
{
	json_object *v = NULL;

	if ((rh && json_object_object_get_ex(rh, k, &v)) ||
	    (j->unprot && json_object_object_get_ex(j->unprot, k, &v)) ||
	    (j->prot && json_object_object_get_ex(j->prot, k, &v)))
		return v;
	return NULL;
}

static int jb64(json_object *o, const char *k, bool need, unsigned char **ret, size_t *ret_len)
{
	const char *s = jstr(o, k);

	if (!s)
		return need ? -EINVAL : 0;
	return cl_b64_decode(s, strlen(s), true, ret, ret_len, k, NULL);
}

static int jwe_parse(const char *json, size_t len, struct jwe_in *j, struct cl_error **err)
{
	_cleanup_free_ unsigned char *p = NULL;
	enum json_tokener_error e = json_tokener_success;
	json_tokener *tok = json_tokener_new_ex(16);
	size_t plen = 0;

	if (!tok)
		return cl_error_set(err, ENOMEM, "jwe");
	j->root = json_tokener_parse_ex(tok, json, (int)len);
	e = json_tokener_get_error(tok);
	if (j->root && (size_t)json_tokener_get_parse_end(tok) != len)
		e = json_tokener_error_parse_unexpected;
	json_tokener_free(tok);
	if (!j->root || e != json_tokener_success ||
	    !json_object_is_type(j->root, json_type_object))
		return cl_error_set(err, EINVAL, "jwe: not a JSON object");
	j->prot_b64 = jstr(j->root, "protected");
	j->aad_b64 = jstr(j->root, "aad");
	json_object_object_get_ex(j->root, "unprotected", &j->unprot);
	if (j->prot_b64 && jb64(j->root, "protected", true, &p, &plen) == 0)
		j->prot = json_tokener_parse((const char *)p);
	if ((j->prot_b64 && !j->prot) || jb64(j->root, "iv", true, &j->iv, &j->ivlen) < 0 ||
	    jb64(j->root, "ciphertext", true, &j->ct, &j->ctlen) < 0 ||
	    jb64(j->root, "tag", true, &j->tag, &j->taglen) < 0 || j->ivlen != IV_LEN ||
	    j->taglen != TAG_LEN)
		return cl_error_set(err, EINVAL, "jwe: malformed (protected, iv, ciphertext, tag)");
	return 0;
}

/* the CEK from one recipient with one key; -ENOKEY if it does not fit */
static int unwrap_one(const struct jwe_in *j, json_object *rh, json_object *ri, EVP_PKEY *key,
		      unsigned char cek[CEK_LEN])
{
	const char *alg = json_object_get_string(hget(j, rh, "alg"));
	const struct curve *cv = curve_of(key);
	_cleanup_free_ unsigned char *ek = NULL, *apu = NULL, *apv = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *epk = NULL;
	unsigned char out[1024], z[EC_MAX], kek[32];
	size_t eklen = 0, outlen = sizeof(out), zlen = sizeof(z), ulen = 0, vlen = 0;
	int r;

	if (!alg || jb64(ri, "encrypted_key", true, &ek, &eklen) < 0)
		return -ENOKEY;
	if (!cv && EVP_PKEY_is_a(key, "RSA") &&
	    (!strcmp(alg, "RSA-OAEP") || !strcmp(alg, "RSA-OAEP-256"))) {
		r = rsa_oaep(key, false, alg[8] ? "SHA256" : "SHA1", ek, eklen, out, &outlen);
		if (r < 0 || outlen != CEK_LEN)
			return -ENOKEY;
		memcpy(cek, out, CEK_LEN);
		OPENSSL_cleanse(out, sizeof(out));
		return 0;
	}
	if (!cv || strcmp(alg, "ECDH-ES+A256KW") || eklen != KW_LEN)
		return -ENOKEY;
	epk = ec_from_jwk(hget(j, rh, "epk"), cv);
	if (!epk || jb64(rh ? rh : j->prot, "apu", false, &apu, &ulen) < 0 ||
	    jb64(rh ? rh : j->prot, "apv", false, &apv, &vlen) < 0 || ecdh(key, epk, z, &zlen) < 0)
		return -ENOKEY;
	r = concat_kdf(z, zlen, alg, apu, ulen, apv, vlen, kek, sizeof(kek));
	OPENSSL_cleanse(z, sizeof(z));
	if (r == 0)
		r = a256kw(kek, false, ek, eklen, cek, &outlen);
	OPENSSL_cleanse(kek, sizeof(kek));
	return r == 0 && outlen == CEK_LEN ? 0 : -ENOKEY;
}

/* the content with this CEK, if the recipient's "enc" is A256GCM and the tag verifies */
static int open_content(const struct jwe_in *j, json_object *rh, const unsigned char *cek,
			struct cl_secret **ret, size_t *ret_len, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *pt = NULL;
	_cleanup_free_ char *aad = NULL;
	const char *enc = json_object_get_string(hget(j, rh, "enc"));

	if (!enc || strcmp(enc, "A256GCM") || hget(j, rh, "zip"))
		return cl_error_set(err, EINVAL, "jwe: content encryption '%s' (want A256GCM)",
				    enc ?: "");
	if (asprintf(&aad, "%s%s%s", j->prot_b64 ?: "", j->aad_b64 ? "." : "", j->aad_b64 ?: "") <
	    0)
		return cl_error_set(err, ENOMEM, "jwe");
	pt = cl_secret_new(j->ctlen ? j->ctlen : 1, err);
	if (!pt)
		return -ENOMEM;
	if (gcm(cek, false, j->iv, aad, j->ct, j->ctlen, pt->data, j->tag) < 0)
		return -ENOKEY;
	*ret = TAKE_PTR(pt);
	*ret_len = j->ctlen;
	return 0;
}

int cl_jwe_decrypt(const char *json, size_t len, EVP_PKEY *const *ids, size_t nids,
		   struct cl_secret **ret_pt, size_t *ret_len, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *cek = cl_secret_new(CEK_LEN, err);
	struct jwe_in j = {0};
	json_object *arr = NULL;
	size_t n = 1;
	int r;

	if (!cek)
		return -ENOMEM;
	if (len > CL_JWE_MAX_LEN)
		return cl_error_set(err, EFBIG, "jwe: larger than %u bytes", CL_JWE_MAX_LEN);
	r = jwe_parse(json, len, &j, err);
	if (r == 0 && json_object_object_get_ex(j.root, "recipients", &arr))
		n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	if (r == 0 && (n == 0 || n > CL_JWE_MAX_RECIPIENTS))
		r = cl_error_set(err, EINVAL, "jwe: %zu recipients", n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_object *ri = arr ? json_object_array_get_idx(arr, i) : j.root, *rh = NULL;

		json_object_object_get_ex(ri, "header", &rh);
		for (size_t k = 0; k < nids; k++) {
			if (unwrap_one(&j, rh, ri, ids[k], cek->data) < 0)
				continue;
			r = open_content(&j, rh, cek->data, ret_pt, ret_len, err);
			if (r != -ENOKEY) {
				jwe_in_clear(&j);
				return r;
			}
			r = 0;
		}
	}
	jwe_in_clear(&j);
	return r < 0 ? r : cl_error_set(err, ENOKEY, "jwe: no recipient opens with the given keys");
}
