/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/core/err.h"

/*
 * Ordered worker pool for the archive engine (the only threads in cryptlayer, STYLE
 * §1.4). A fixed ring of `depth` jobs bounds memory whatever the core count: the
 * caller takes jobs in order (get), fills and submits them, and collects them in the
 * same order (wait) once a worker has processed them, then gives them back (put).
 * Each worker owns a context made once by the init callback (the stream's keyed
 * EVP_CIPHER_CTX, the tar packer's nothing). No OpenSSL here: both plugins use it.
 */

#define CL_POOL_MAX_THREADS 64
#define CL_POOL_MAX_DEPTH 16 /* chunks in flight, independent of the core count */

/* processed buffers hold plaintext: wipe them all in cl_pool_free() (unprocessed ones
 * are always wiped) */
#define CL_POOL_WIPE (1U << 0)

struct cl_pool_job {
	unsigned slot;		  /* constant: this job's place in the ring, 0..depth-1 */
	uint64_t index;		  /* chunk index */
	const unsigned char *src; /* input: into buf; NULL = read it from fd at off first */
	int fd;			  /* positional input (regular file), or -1 */
	uint64_t off;
	unsigned char *buf; /* owned, buf_size bytes */
	size_t len;	    /* payload length */
	uint32_t rec;	    /* record header (reader) */
	bool final;
	int result; /* 0 or -errno, set by the worker */
	/* private to pool.c */
	bool done;
	bool used;
};

struct cl_pool_ops {
	/* make one worker's context in *@wctx; runs on the caller's thread in cl_pool_new() */
	int (*init)(void *arg, void **wctx, struct cl_error **err);
	/* process one job on a worker thread; returns 0 or -errno */
	int (*work)(void *arg, void *wctx, struct cl_pool_job *job);
	/* free a worker's context (NULL-safe), wiping what must not outlive it */
	void (*fini)(void *wctx);
};

struct cl_pool;

/**
 * cl_pool_default_threads() - the number of CPUs this process may run on (≥ 1).
 */
unsigned cl_pool_default_threads(void);

/**
 * cl_pool_new() - start @threads workers over a ring of @depth jobs.
 * @threads: 1..CL_POOL_MAX_THREADS
 * @depth: jobs in flight, 1..CL_POOL_MAX_DEPTH
 * @buf_size: bytes of each job's buffer
 * @flags: CL_POOL_WIPE
 * @ops: the workers' callbacks (init may be NULL: no context)
 * @arg: passed to the callbacks
 * @ret: the pool
 * @err: error out
 * Return: 0 or -errno.
 */
int cl_pool_new(unsigned threads, unsigned depth, size_t buf_size, unsigned flags,
		const struct cl_pool_ops *ops, void *arg, struct cl_pool **ret,
		struct cl_error **err);

/** cl_pool_job_get() - the next free job in ring order, or NULL if all are in flight. */
struct cl_pool_job *cl_pool_job_get(struct cl_pool *p);

/** cl_pool_job_cancel() - give back the job just taken with get, unsubmitted. */
void cl_pool_job_cancel(struct cl_pool *p, struct cl_pool_job *job);

/** cl_pool_job_submit() - hand the job taken last to the workers. */
void cl_pool_job_submit(struct cl_pool *p, struct cl_pool_job *job);

/**
 * cl_pool_job_wait() - the oldest submitted job, once processed (blocks).
 * Return: the job, or NULL if nothing is in flight.
 */
struct cl_pool_job *cl_pool_job_wait(struct cl_pool *p);

/** cl_pool_job_put() - release the job returned by the last wait. */
void cl_pool_job_put(struct cl_pool *p, struct cl_pool_job *job);

/** cl_pool_inflight() - jobs submitted and not yet collected by wait. */
unsigned cl_pool_inflight(const struct cl_pool *p);

/** cl_pool_free() - stop and join the workers, free their contexts and the buffers. */
void cl_pool_free(struct cl_pool *p);
