/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Internal to writer.c and reader.c. */

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/archive/format.h"
#include "lib/archive/pool.h"

/*
 * A job buffer holds one record with its payload at a 64-byte aligned offset (VAES
 * loads and stores stay within cache lines): [pad 60][u32 r][payload][tag].
 */
#define CL_STREAM_DATA_OFF 64
#define CL_STREAM_REC_OFF (CL_STREAM_DATA_OFF - CL_CLX_REC_HDR)
#define CL_STREAM_BUF_SIZE (CL_STREAM_DATA_OFF + CL_CLX_CHUNK_SIZE + CL_CLX_TAG_LEN)

/* chunks in flight: enough to keep every worker fed, capped whatever the core count */
static inline unsigned cl_stream_depth(unsigned jobs)
{
	unsigned d = 2 * jobs + 2;

	return d > CL_POOL_MAX_DEPTH ? CL_POOL_MAX_DEPTH : d;
}

/*
 * Drop the page-table entries of a mapped input up to @upto (bytes from @map), page
 * by page, behind the consumer: the page cache keeps the data, but RSS stays bounded
 * for inputs of any size.
 */
static inline void cl_stream_map_release(const unsigned char *map, size_t *released, size_t upto)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t end = upto & ~(page - 1);

	if (end <= *released)
		return;
	(void)madvise((void *)(map + *released), end - *released, MADV_DONTNEED);
	*released = end;
}
