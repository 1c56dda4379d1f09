/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/core/err.h"

/*
 * The tar/zstd plugin (build/cryptlayer-tar.so, installed in $(LIBDIR)/cryptlayer/).
 * libarchive and libzstd cost milliseconds per exec (DESIGN §2), so only this plugin
 * links them and the main binary dlopens it for the commands that need it. The
 * plugin exports one versioned symbol, CL_TAR_OPS_SYMBOL, a struct cl_tar_ops.
 */

#define CL_TAR_OPS_SYMBOL "cl_tar_ops_v1"
#define CL_TAR_ABI 6
#define CL_TAR_PLUGIN_NAME "cryptlayer-tar.so"

/* consume @len bytes; 0 or -errno */
typedef int (*cl_sink_fn)(void *ctx, const void *buf, size_t len, struct cl_error **err);
/* produce the next block in *ret_buf (valid until the next call); bytes, 0 at EOF, -errno */
typedef ssize_t (*cl_source_fn)(void *ctx, const void **ret_buf, struct cl_error **err);

/* overlay metadata lives in user.overlay.* (a "userxattr" overlay) instead of trusted.* */
#define CL_TAR_USERXATTR (1U << 0)
/*
 * unpack of an untrusted archive (import: anyone holding a recipient's public key can
 * make one): refuse character and block device entries (the whiteouts that unpack makes
 * from ".wh." entries are not taken from a device entry and stay allowed; FIFOs are
 * allowed) ...
 */
#define CL_TAR_NO_DEVICES (1U << 1)
/* ... and setuid/setgid modes and file capabilities (security.capability). ABI 3: a
 * plugin that predates these flags would ignore them, so the loader refuses it. */
#define CL_TAR_NO_SETID (1U << 2)
/* ABI 5: the tar is one more layer over what the directory holds (import of an image's
 * layers in order, OCI whiteout rules; see unpack.c) */
#define CL_TAR_LAYERED (1U << 3)

struct cl_zstd;
struct cl_gzip;

struct cl_tar_ops {
	uint32_t abi;  /* CL_TAR_ABI */
	uint32_t size; /* sizeof(struct cl_tar_ops) */
	/*
	 * pack: the tree under @dirfd (an overlay upper directory) as an OCI layer tar
	 * (pax), in name order, into @sink. Overlay whiteouts (char 0/0) become
	 * ".wh.NAME", opaque directories (trusted.overlay.opaque=y) get
	 * "DIR/.wh..wh..opq"; other overlay xattrs are dropped, the rest are kept.
	 * @threads (>= 1) workers stat, open and read the entries, in parallel.
	 */
	int (*pack)(int dirfd, unsigned flags, unsigned threads, cl_sink_fn sink, void *ctx,
		    struct cl_error **err);
	/*
	 * unpack: an OCI layer tar from @src into the (empty) directory @dirfd, with the
	 * reverse conversion. Refuses absolute paths, "..", and writing through symlinks;
	 * with CL_TAR_NO_DEVICES / CL_TAR_NO_SETID also devices / setid bits and
	 * capabilities, naming the entry (EPERM).
	 */
	int (*unpack)(int dirfd, unsigned flags, cl_source_fn src, void *ctx,
		      struct cl_error **err);
	/* streaming zstd: compress (level, threads) or decompress into @sink (push); a
	 * decoder made with a NULL @sink is used with zstd_read instead */
	int (*zstd_new)(bool compress, int level, unsigned threads, cl_sink_fn sink, void *ctx,
			struct cl_zstd **ret, struct cl_error **err);
	int (*zstd_write)(struct cl_zstd *z, const void *buf, size_t len, struct cl_error **err);
	/*
	 * pull: the next block of decompressed bytes from @src in *ret (valid until the
	 * next call, at most ZSTD_DStreamOutSize() bytes: memory stays bounded whatever
	 * the ratio). Return: bytes, 0 at the end (last frame complete), -errno.
	 */
	ssize_t (*zstd_read)(struct cl_zstd *z, cl_source_fn src, void *ctx, const void **ret,
			     struct cl_error **err);
	/* flush; for decompression also checks that the last frame was complete */
	int (*zstd_finish)(struct cl_zstd *z, struct cl_error **err);
	void (*zstd_free)(struct cl_zstd *z);
	/* ABI 4: gzip (zlib, RFC 1952) with the same push/pull shape, for OCI layers
	 * (export --format oci, import of OCI layouts); the decoder takes concatenated
	 * members. ABI 6: @threads > 1 compresses 1 MiB blocks in parallel, one member
	 * each (pigz-style) */
	int (*gzip_new)(bool compress, int level, unsigned threads, cl_sink_fn sink, void *ctx,
			struct cl_gzip **ret, struct cl_error **err);
	int (*gzip_write)(struct cl_gzip *z, const void *buf, size_t len, struct cl_error **err);
	ssize_t (*gzip_read)(struct cl_gzip *z, cl_source_fn src, void *ctx, const void **ret,
			     struct cl_error **err);
	int (*gzip_finish)(struct cl_gzip *z, struct cl_error **err);
	void (*gzip_free)(struct cl_gzip *z);
};

/**
 * cl_tar_ops_load() - dlopen the plugin (once per process) and return its ops.
 * @path: an explicit plugin path, or NULL to look next to the running binary
 *        (build tree), then in CL_LIBDIR "/cryptlayer/" (installed)
 * @ret: the ops table
 * @err: error out: ENOENT if no plugin was found, ELIBBAD for a wrong ABI
 * Return: 0 or -errno.
 */
int cl_tar_ops_load(const char *path, const struct cl_tar_ops **ret, struct cl_error **err);
