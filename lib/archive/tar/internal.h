/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Internal to the tar/zstd plugin (lib/archive/tar/), the only code that includes
 * <archive.h> or <zstd.h>. Only cl_tar_ops_v1 is exported (plugin.sym). */

#include <stdbool.h>
#include <string.h>

#include "lib/archive/tar.h"

/* overlay metadata names (DESIGN §2: no redirect/metacopy in a layer tar) */
#define CL_TAR_WH_PREFIX ".wh."
#define CL_TAR_WH_OPAQUE ".wh..wh..opq"
#define CL_TAR_OVL_TRUSTED "trusted.overlay."
#define CL_TAR_OVL_USER "user.overlay."

int cl_tar_pack(int dirfd, unsigned flags, unsigned threads, cl_sink_fn sink, void *ctx,
		struct cl_error **err);
int cl_tar_unpack(int dirfd, unsigned flags, cl_source_fn src, void *ctx, struct cl_error **err);

int cl_tar_zstd_new(bool compress, int level, unsigned threads, cl_sink_fn sink, void *ctx,
		    struct cl_zstd **ret, struct cl_error **err);
int cl_tar_zstd_write(struct cl_zstd *z, const void *buf, size_t len, struct cl_error **err);
ssize_t cl_tar_zstd_read(struct cl_zstd *z, cl_source_fn src, void *ctx, const void **ret,
			 struct cl_error **err);
int cl_tar_zstd_finish(struct cl_zstd *z, struct cl_error **err);
void cl_tar_zstd_free(struct cl_zstd *z);

int cl_tar_gzip_new(bool compress, int level, unsigned threads, cl_sink_fn sink, void *ctx,
		    struct cl_gzip **ret, struct cl_error **err);
int cl_tar_gzip_write(struct cl_gzip *z, const void *buf, size_t len, struct cl_error **err);
ssize_t cl_tar_gzip_read(struct cl_gzip *z, cl_source_fn src, void *ctx, const void **ret,
			 struct cl_error **err);
int cl_tar_gzip_finish(struct cl_gzip *z, struct cl_error **err);
void cl_tar_gzip_free(struct cl_gzip *z);

/* an xattr that is overlay bookkeeping, never carried in a layer */
static inline bool cl_tar_xattr_is_overlay(const char *name)
{
	return !strncmp(name, CL_TAR_OVL_TRUSTED, sizeof(CL_TAR_OVL_TRUSTED) - 1) ||
	       !strncmp(name, CL_TAR_OVL_USER, sizeof(CL_TAR_OVL_USER) - 1);
}
