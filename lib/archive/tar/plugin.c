/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "lib/archive/tar/internal.h"

/* the plugin's only exported symbol (plugin.sym) */
__attribute__((visibility("default"))) const struct cl_tar_ops cl_tar_ops_v1 = {
    .abi = CL_TAR_ABI,
    .size = sizeof(struct cl_tar_ops),
    .pack = cl_tar_pack,
    .unpack = cl_tar_unpack,
    .zstd_new = cl_tar_zstd_new,
    .zstd_write = cl_tar_zstd_write,
    .zstd_read = cl_tar_zstd_read,
    .zstd_finish = cl_tar_zstd_finish,
    .zstd_free = cl_tar_zstd_free,
    .gzip_new = cl_tar_gzip_new,
    .gzip_write = cl_tar_gzip_write,
    .gzip_read = cl_tar_gzip_read,
    .gzip_finish = cl_tar_gzip_finish,
    .gzip_free = cl_tar_gzip_free,
};
