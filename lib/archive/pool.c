/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/archive/pool.h"

struct pool_worker {
	struct cl_pool *pool;
	pthread_t tid;
	void *wctx;
	bool started;
};

struct cl_pool {
	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* a job was submitted, or stop */
	pthread_cond_t done_cv; /* a job was processed */
	const struct cl_pool_ops *ops;
	void *arg;
	unsigned depth, nworkers;
	size_t buf_size, stride;
	unsigned char *bufs; /* one mapping for all job buffers */
	size_t bufs_len;
	/* ring positions, monotonic: put ≤ wait ≤ work ≤ submit ≤ get ≤ put + depth */
	uint64_t get_pos, submit_pos, work_pos, wait_pos, put_pos;
	unsigned wake_batch; /* done jobs that make waking the waiter worth a switch */
	bool waiting;	     /* the caller sleeps in cl_pool_job_wait() */
	bool stop;
	bool wipe;
	struct cl_pool_job jobs[CL_POOL_MAX_DEPTH];
	struct pool_worker workers[CL_POOL_MAX_THREADS];
};

unsigned cl_pool_default_threads(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return (unsigned)n < CL_POOL_MAX_THREADS ? (unsigned)n : CL_POOL_MAX_THREADS;
	n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n < CL_POOL_MAX_THREADS ? (unsigned)n : CL_POOL_MAX_THREADS;
}

/*
 * Wake the caller only when a batch of jobs is ready in order, or when the workers
 * are about to run dry: with more threads than cores every wake-up preempts a
 * worker, and one per chunk cost ~5% of the throughput. Called with the lock held.
 */
static bool pool_should_wake(const struct cl_pool *p)
{
	unsigned ready = 0;

	for (uint64_t i = p->wait_pos; i < p->submit_pos && ready < p->wake_batch; i++) {
		if (!p->jobs[i % p->depth].done)
			break;
		ready++;
	}
	return ready >= p->wake_batch || (ready > 0 && p->work_pos == p->submit_pos);
}

static void *pool_worker_main(void *opaque)
{
	struct pool_worker *w = opaque;
	struct cl_pool *p = w->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct cl_pool_job *job;
		int r;

		while (!p->stop && p->work_pos == p->submit_pos)
			pthread_cond_wait(&p->work_cv, &p->lock);
		if (p->stop)
			break;
		job = &p->jobs[p->work_pos++ % p->depth];
		pthread_mutex_unlock(&p->lock);
		r = p->ops->work(p->arg, w->wctx, job);
		pthread_mutex_lock(&p->lock);
		job->result = r;
		job->done = true;
		if (p->waiting && pool_should_wake(p))
			pthread_cond_signal(&p->done_cv);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

#define HUGE_PAGE (2UL << 20)

/*
 * One mapping for all job buffers, 2 MiB aligned and MADV_HUGEPAGE: the workers copy
 * and encrypt a GiB through these few MiB, and huge pages spare them the TLB misses.
 * Returned to the kernel at free (bounded RSS).
 */
static int pool_alloc_bufs(struct cl_pool *p, struct cl_error **err)
{
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *m, *aligned;

	p->stride = (p->buf_size + page - 1) & ~(page - 1);
	len = (p->stride * p->depth + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return cl_error_set(err, errno, "allocate %u chunk buffers", p->depth);
	aligned = (unsigned char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
	if (aligned > m)
		munmap(m, (size_t)(aligned - m));
	munmap(aligned + len, HUGE_PAGE - (size_t)(aligned - m));
	p->bufs = aligned;
	p->bufs_len = len;
	(void)madvise(p->bufs, len, MADV_HUGEPAGE);
	(void)madvise(p->bufs, len, MADV_DONTDUMP);
	for (unsigned i = 0; i < p->depth; i++) {
		p->jobs[i].buf = p->bufs + i * p->stride;
		p->jobs[i].slot = i;
	}
	return 0;
}

static int pool_start_worker(struct cl_pool *p, unsigned i, struct cl_error **err)
{
	struct pool_worker *w = &p->workers[i];
	int r;

	w->pool = p;
	r = p->ops->init ? p->ops->init(p->arg, &w->wctx, err) : 0;
	if (r < 0)
		return r;
	r = pthread_create(&w->tid, NULL, pool_worker_main, w);
	if (r)
		return cl_error_set(err, r, "start worker thread %u", i);
	w->started = true;
	p->nworkers = i + 1;
	return 0;
}

/*
 * Workers start with every signal blocked: a Ctrl-C or SIGTERM goes to the thread that
 * runs the command, which stops between two steps and undoes them (a worker taking the
 * default action would kill the process in the middle of a step).
 */
static int pool_start_workers(struct cl_pool *p, unsigned threads, struct cl_error **err)
{
	sigset_t all, old;
	int r = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < threads && r == 0; i++)
		r = pool_start_worker(p, i, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int cl_pool_new(unsigned threads, unsigned depth, size_t buf_size, unsigned flags,
		const struct cl_pool_ops *ops, void *arg, struct cl_pool **ret,
		struct cl_error **err)
{
	struct cl_pool *p;
	int r;

	if (threads < 1 || threads > CL_POOL_MAX_THREADS || depth < 1 ||
	    depth > CL_POOL_MAX_DEPTH || buf_size == 0)
		return cl_error_set(err, EINVAL, "pool of %u threads, depth %u", threads, depth);
	p = calloc(1, sizeof(*p));
	if (!p)
		return cl_error_set(err, ENOMEM, "pool");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	p->ops = ops;
	p->arg = arg;
	p->depth = depth;
	p->wake_batch = depth / 2 ? depth / 2 : 1;
	p->buf_size = buf_size;
	p->wipe = flags & CL_POOL_WIPE;
	r = pool_alloc_bufs(p, err);
	if (r == 0)
		r = pool_start_workers(p, threads, err);
	if (r < 0) {
		cl_pool_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct cl_pool_job *cl_pool_job_get(struct cl_pool *p)
{
	struct cl_pool_job *job;

	/* only the caller's thread moves get/put: no lock needed to read them */
	if (p->get_pos - p->put_pos >= p->depth)
		return NULL;
	job = &p->jobs[p->get_pos++ % p->depth];
	job->result = 0;
	job->done = false;
	job->final = false;
	job->len = 0;
	job->rec = 0;
	job->src = NULL;
	job->fd = -1;
	job->off = 0;
	job->used = true;
	return job;
}

void cl_pool_job_cancel(struct cl_pool *p, struct cl_pool_job *job)
{
	(void)job;
	p->get_pos--;
}

void cl_pool_job_submit(struct cl_pool *p, struct cl_pool_job *job)
{
	(void)job;
	pthread_mutex_lock(&p->lock);
	p->submit_pos++;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
}

struct cl_pool_job *cl_pool_job_wait(struct cl_pool *p)
{
	struct cl_pool_job *job;

	if (p->wait_pos == p->submit_pos)
		return NULL;
	job = &p->jobs[p->wait_pos % p->depth];
	pthread_mutex_lock(&p->lock);
	while (!job->done) {
		p->waiting = true;
		pthread_cond_wait(&p->done_cv, &p->lock);
	}
	p->waiting = false;
	pthread_mutex_unlock(&p->lock);
	p->wait_pos++;
	return job;
}

void cl_pool_job_put(struct cl_pool *p, struct cl_pool_job *job)
{
	(void)job;
	p->put_pos++;
}

unsigned cl_pool_inflight(const struct cl_pool *p)
{
	return (unsigned)(p->submit_pos - p->wait_pos);
}

void cl_pool_free(struct cl_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < CL_POOL_MAX_THREADS; i++) {
		struct pool_worker *w = &p->workers[i];

		if (w->started)
			pthread_join(w->tid, NULL);
		if (w->wctx && p->ops->fini)
			p->ops->fini(w->wctx); /* e.g. cleanses an expanded key */
	}
	/*
	 * Buffers that may hold plaintext are wiped before they go back to the kernel:
	 * all of them with CL_POOL_WIPE, else those not processed successfully (a sealer's
	 * input).
	 */
	for (unsigned i = 0; p->bufs && i < p->depth; i++)
		if (p->jobs[i].used && (p->wipe || !p->jobs[i].done || p->jobs[i].result < 0))
			explicit_bzero(p->jobs[i].buf, p->buf_size);
	if (p->bufs)
		munmap(p->bufs, p->bufs_len);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	free(p);
}
