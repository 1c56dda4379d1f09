/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image.h"
#include "oci/json-util.h"

#define KEYS_JWE "org.opencontainers.image.enc.keys.jwe"
#define PUBOPTS "org.opencontainers.image.enc.pubopts"
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char *const layer_types[_CL_OCI_COMPRESSION_MAX][2] = {
    [CL_OCI_TAR] = {"application/vnd.oci.image.layer.v1.tar",
		    "application/vnd.oci.image.layer.v1.tar+encrypted"},
    [CL_OCI_GZIP] = {"application/vnd.oci.image.layer.v1.tar+gzip",
		     "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"},
    [CL_OCI_ZSTD] = {"application/vnd.oci.image.layer.v1.tar+zstd",
		     "application/vnd.oci.image.layer.v1.tar+zstd+encrypted"},
};

const char *cl_oci_layer_media_type(enum cl_oci_compression c, bool encrypted)
{
	return layer_types[c][encrypted];
}

/* the media type of a layer we can unpack (Docker's names too, as skopeo may keep them) */
static int layer_type_parse(struct cl_oci_desc *d, struct cl_error **err)
{
	static const struct {
		const char *mt;
		enum cl_oci_compression c;
	} docker[] = {
	    {"application/vnd.docker.image.rootfs.diff.tar.gzip", CL_OCI_GZIP},
	    {"application/vnd.docker.image.rootfs.diff.tar", CL_OCI_TAR},
	};

	for (int c = 0; c < _CL_OCI_COMPRESSION_MAX; c++)
		for (int e = 0; e < 2; e++)
			if (!strcmp(d->media_type, layer_types[c][e])) {
				d->compression = (enum cl_oci_compression)c;
				d->encrypted = e;
				return 0;
			}
	for (size_t i = 0; i < sizeof(docker) / sizeof(docker[0]); i++)
		if (!strcmp(d->media_type, docker[i].mt)) {
			d->compression = docker[i].c;
			return 0;
		}
	return cl_error_set(err, ENOTSUP, "layer media type '%s' is not supported", d->media_type);
}

static char *to_string(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_FLAGS);

	return s ? strdup(s) : NULL;
}

int cl_oci_config_json(const char *diff_id, const char *arch, char **ret, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *rootfs = json_object_new_object(), *ids = json_object_new_array();

	if (!o || !rootfs || !ids) {
		json_object_put(rootfs);
		json_object_put(ids);
		return cl_error_set(err, ENOMEM, "image config");
	}
	json_object_object_add(o, "architecture", json_object_new_string(arch));
	json_object_object_add(o, "os", json_object_new_string("linux"));
	json_object_object_add(o, "config", json_object_new_object());
	json_object_array_add(ids, json_object_new_string(diff_id));
	json_object_object_add(rootfs, "type", json_object_new_string("layers"));
	json_object_object_add(rootfs, "diff_ids", ids);
	json_object_object_add(o, "rootfs", rootfs);
	*ret = to_string(o);
	return *ret ? 0 : cl_error_set(err, ENOMEM, "image config");
}

static json_object *desc_json(const struct cl_oci_desc *d)
{
	json_object *o = json_object_new_object(), *ann;

	if (!o)
		return NULL;
	json_object_object_add(o, "mediaType", json_object_new_string(d->media_type));
	json_object_object_add(o, "digest", json_object_new_string(d->digest));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)d->size));
	if (d->keys_jwe || d->pubopts) {
		ann = json_object_new_object();
		if (d->keys_jwe)
			json_object_object_add(ann, KEYS_JWE, json_object_new_string(d->keys_jwe));
		if (d->pubopts)
			json_object_object_add(ann, PUBOPTS, json_object_new_string(d->pubopts));
		json_object_object_add(o, "annotations", ann);
	}
	return o;
}

int cl_oci_manifest_json(const struct cl_oci_manifest *m, char **ret, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *layers = json_object_new_array();

	if (!o || !layers) {
		json_object_put(layers);
		return cl_error_set(err, ENOMEM, "manifest");
	}
	json_object_object_add(o, "schemaVersion", json_object_new_int(2));
	json_object_object_add(o, "mediaType", json_object_new_string(CL_OCI_MT_MANIFEST));
	json_object_object_add(o, "config", desc_json(&m->config));
	for (size_t i = 0; i < m->nlayers; i++)
		json_object_array_add(layers, desc_json(&m->layers[i]));
	json_object_object_add(o, "layers", layers);
	*ret = to_string(o);
	return *ret ? 0 : cl_error_set(err, ENOMEM, "manifest");
}

int cl_oci_index_json(const struct cl_oci_desc *man, const char *ref, char **ret,
		      struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array(), *d = desc_json(man), *ann;

	if (!o || !arr || !d) {
		json_object_put(arr);
		json_object_put(d);
		return cl_error_set(err, ENOMEM, "index");
	}
	ann = json_object_new_object();
	json_object_object_add(ann, "org.opencontainers.image.ref.name",
			       json_object_new_string(ref));
	json_object_object_add(d, "annotations", ann);
	json_object_array_add(arr, d);
	json_object_object_add(o, "schemaVersion", json_object_new_int(2));
	json_object_object_add(o, "mediaType", json_object_new_string(CL_OCI_MT_INDEX));
	json_object_object_add(o, "manifests", arr);
	*ret = to_string(o);
	return *ret ? 0 : cl_error_set(err, ENOMEM, "index");
}

/* ---- reading --------------------------------------------------------------------- */

static int desc_parse(json_object *o, const char *what, struct cl_oci_desc *d,
		      struct cl_error **err)
{
	json_object *v = NULL, *ann = NULL;
	_cleanup_free_ char *digest = NULL;
	int64_t size;

	if (!json_object_is_type(o, json_type_object))
		return cl_error_set(err, EINVAL, "%s: not an object", what);
	if (cl_json_get_string(o, "mediaType", what, &d->media_type, err) < 0 ||
	    cl_json_get_string(o, "digest", what, &digest, err) < 0)
		return -EINVAL;
	if (!d->media_type || !digest || strlen(digest) != CL_OCI_DIGEST_LEN ||
	    strncmp(digest, "sha256:", 7) || strspn(digest + 7, "0123456789abcdef") != 64)
		return cl_error_set(err, EINVAL, "%s: no mediaType or no sha256 digest", what);
	memcpy(d->digest, digest, CL_OCI_DIGEST_LEN + 1);
	if (!json_object_object_get_ex(o, "size", &v) || !json_object_is_type(v, json_type_int) ||
	    (size = json_object_get_int64(v)) < 0)
		return cl_error_set(err, EINVAL, "%s: no size", what);
	d->size = (uint64_t)size;
	if (json_object_object_get_ex(o, "annotations", &ann) &&
	    (cl_json_get_string(ann, KEYS_JWE, what, &d->keys_jwe, err) < 0 ||
	     cl_json_get_string(ann, PUBOPTS, what, &d->pubopts, err) < 0))
		return -EINVAL;
	return 0;
}

int cl_oci_index_parse(const char *buf, size_t len, struct cl_oci_desc *ret, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = cl_json_parse(buf, len, "'index.json'", err);
	json_object *arr = NULL;
	int r;

	if (!o)
		return -EINVAL;
	if (!json_object_object_get_ex(o, "manifests", &arr) ||
	    !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0)
		return cl_error_set(err, EINVAL, "'index.json': no manifests");
	if (json_object_array_length(arr) > 1)
		return cl_error_set(err, ENOTSUP,
				    "'index.json': %zu images; import takes a layout with one",
				    json_object_array_length(arr));
	r = desc_parse(json_object_array_get_idx(arr, 0), "'index.json' manifest", ret, err);
	if (r == 0 && strcmp(ret->media_type, CL_OCI_MT_MANIFEST))
		r = cl_error_set(err, ENOTSUP, "'index.json': media type '%s' (want %s)",
				 ret->media_type, CL_OCI_MT_MANIFEST);
	return r;
}

int cl_oci_manifest_parse(const char *buf, size_t len, struct cl_oci_manifest *ret,
			  struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = cl_json_parse(buf, len, "manifest", err);
	json_object *cfg = NULL, *arr = NULL;
	size_t n;

	if (!o)
		return -EINVAL;
	if (!json_object_object_get_ex(o, "config", &cfg) ||
	    desc_parse(cfg, "manifest config", &ret->config, err) < 0)
		return cl_error_wrap(err, "manifest");
	if (!json_object_object_get_ex(o, "layers", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return cl_error_set(err, EINVAL, "manifest: no layers");
	n = json_object_array_length(arr);
	if (n == 0 || n > CL_OCI_MAX_LAYERS)
		return cl_error_set(err, EINVAL, "manifest: %zu layers (1 to %d)", n,
				    CL_OCI_MAX_LAYERS);
	for (size_t i = 0; i < n; i++) {
		struct cl_oci_desc *d = &ret->layers[i];

		ret->nlayers = i + 1;
		if (desc_parse(json_object_array_get_idx(arr, i), "manifest layer", d, err) < 0 ||
		    layer_type_parse(d, err) < 0)
			return cl_error_wrap(err, "layer %zu", i);
	}
	return 0;
}

void cl_oci_desc_clear(struct cl_oci_desc *d)
{
	free(d->media_type);
	free(d->keys_jwe);
	free(d->pubopts);
	memset(d, 0, sizeof(*d));
}

void cl_oci_manifest_clear(struct cl_oci_manifest *m)
{
	cl_oci_desc_clear(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		cl_oci_desc_clear(&m->layers[i]);
	m->nlayers = 0;
}
