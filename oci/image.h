/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/core/err.h"

/*
 * OCI image layout documents (image-spec: image-layout.md, image-index.md, manifest.md,
 * config.md) ↔ plain structs. Pure: no file I/O. Only what export --format oci writes
 * and import reads: one manifest, its config and layers, and the two ocicrypt
 * annotations of each layer.
 */

#define CL_OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CL_OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define CL_OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define CL_OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define CL_OCI_DIGEST_LEN 71
#define CL_OCI_MAX_LAYERS 128
#define CL_OCI_MAX_DOC (4U << 20)

enum cl_oci_compression {
	CL_OCI_TAR = 0,
	CL_OCI_GZIP,
	CL_OCI_ZSTD,
	_CL_OCI_COMPRESSION_MAX,
};

struct cl_oci_desc {
	char *media_type;
	char digest[CL_OCI_DIGEST_LEN + 1];
	uint64_t size;
	char *keys_jwe; /* org.opencontainers.image.enc.keys.jwe, or NULL */
	char *pubopts;	/* org.opencontainers.image.enc.pubopts, or NULL */
	/* layers: what the media type says */
	enum cl_oci_compression compression;
	bool encrypted;
};

struct cl_oci_manifest {
	struct cl_oci_desc config;
	struct cl_oci_desc layers[CL_OCI_MAX_LAYERS];
	size_t nlayers;
};

/** cl_oci_layer_media_type() - "…tar[+gzip|+zstd][+encrypted]" for these. */
const char *cl_oci_layer_media_type(enum cl_oci_compression c, bool encrypted);

/**
 * cl_oci_config_json() - a minimal image config for one layer with diff_id @diff_id.
 * @arch: GOARCH name ("amd64")
 * Return: 0 or -errno; *ret malloc'ed.
 */
int cl_oci_config_json(const char *diff_id, const char *arch, char **ret, struct cl_error **err);

/** cl_oci_manifest_json() - the manifest of @m (annotations included). */
int cl_oci_manifest_json(const struct cl_oci_manifest *m, char **ret, struct cl_error **err);

/** cl_oci_index_json() - index.json with the one manifest @man, tagged @ref. */
int cl_oci_index_json(const struct cl_oci_desc *man, const char *ref, char **ret,
		      struct cl_error **err);

/**
 * cl_oci_index_parse() - the one image manifest of an index.json (an index listing
 * several is refused: say which image).
 * Return: 0 or -errno (EINVAL with the reason).
 */
int cl_oci_index_parse(const char *buf, size_t len, struct cl_oci_desc *ret, struct cl_error **err);

/** cl_oci_manifest_parse() - config and layers; unknown layer media types refused. */
int cl_oci_manifest_parse(const char *buf, size_t len, struct cl_oci_manifest *ret,
			  struct cl_error **err);

void cl_oci_desc_clear(struct cl_oci_desc *d);
void cl_oci_manifest_clear(struct cl_oci_manifest *m);
