/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The AES_256_CTR_HMAC_SHA256 pipeline (ctr.h). One lock; a condition variable per
 * kind of waiter, signalled only for the events it waits for.
 *
 * A slot goes: free → filled by the producer (DECRYPT: by the input digest's stage,
 * which reads the ciphertext) → CTR by a worker, or by the first stage that needs it
 * and finds it not taken (on a busy machine a stage does not sleep until a worker is
 * scheduled) → each ordered stage in chunk order → free again once every stage that
 * the mode needs is done.
 *
 * Where the time goes (2 cores, SHA-NI, AES-NI): a SHA-256 stream costs ~0.5 ns/byte,
 * CTR ~0.12 ns/byte, so ENCRYPT (three SHA-256 streams: the HMAC and the two digests)
 * is bound by the hashes, at best cores / (3 · 0.5 + 0.12) ns per byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "lib/archive/ctr.h"
#include "lib/archive/pool.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/ossl-err.h"

#define MAX_SLOTS 16
#define MAX_WORKERS 16
#define VERIFY_SLOTS 8

enum {
	ST_CTR = 1U << 0,
	ST_HIN = 1U << 1,
	ST_MAC = 1U << 2,
	ST_HOUT = 1U << 3,
	ST_CONS = 1U << 4,
};

struct slot {
	unsigned char *in, *out;
	size_t len;
	uint64_t seq;
	unsigned done;
	bool busy;    /* filled, not yet freed */
	bool claimed; /* a thread runs CTR on it */
};

struct stage {
	struct cl_ctr *c;
	pthread_cond_t cv; /* this stage's next slot may be ready */
	unsigned bit, dep;
	bool on_out; /* hashes the output buffer */
	bool fills;  /* DECRYPT's input digest: reads the ciphertext into its slot itself */
	uint64_t next;
	EVP_CIPHER_CTX *x; /* CTR of its next slot, when no worker has taken it */
	pthread_t tid;
	bool started;
};

/*
 * Each kind of waiter has its own condition variable and is woken only by the events
 * it waits for (a slot filled, its CTR done, a slot freed), not by every event: with
 * one shared variable, each chunk woke every thread several times.
 */
struct cl_ctr {
	pthread_mutex_t mu;
	pthread_cond_t cv_prod; /* the producer: its next slot is free */
	pthread_cond_t cv_cons; /* the consumer (DECRYPT): its slot's CTR is done */
	pthread_cond_t cv_work; /* the CTR workers: a slot to claim */
	enum cl_ctr_mode mode;
	unsigned need, nslots, nworkers;
	struct slot slots[MAX_SLOTS];
	unsigned char *mem;
	size_t mem_len;
	struct slot *cur; /* being filled (push) or handed out (pull) */
	uint64_t fill_seq, cons_seq, total;
	unsigned nbusy; /* slots filled and not yet free */
	bool eof, stop, in_eof;
	int error;
	struct cl_error *err;
	int fd;
	uint64_t bytes;
	struct cl_secret *key;
	unsigned char nonce[CL_CTR_NONCE_LEN];
	EVP_CIPHER *aes;
	EVP_MAC_CTX *mac;
	EVP_MD_CTX *hin, *hout;
	EVP_MAC_CTX *gmac;	/* the input's tag (cl_ctr_new_tagged), or NULL */
	bool in_sha;		/* the input stage computes sha_in */
	struct stage stages[3]; /* HIN, MAC, HOUT */
	pthread_t workers[MAX_WORKERS];
	unsigned nstarted;
};

/* every waiter: an error, the end of the input, stop (lock held) */
static void wake_all(struct cl_ctr *c)
{
	pthread_cond_broadcast(&c->cv_prod);
	pthread_cond_broadcast(&c->cv_cons);
	pthread_cond_broadcast(&c->cv_work);
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++)
		pthread_cond_broadcast(&c->stages[i].cv);
}

static void set_error(struct cl_ctr *c, int r, struct cl_error **e)
{
	if (!c->error) {
		c->error = r < 0 ? r : -EIO;
		c->err = e ? *e : NULL;
		if (e)
			*e = NULL;
	} else if (e) {
		cl_error_free(e);
	}
	wake_all(c);
}

/*
 * Slot @s changed (filled, CTR done, a stage done): wake who may now go on (lock held).
 * Free once every stage that the mode needs is done.
 */
static void slot_changed(struct cl_ctr *c, struct slot *s)
{
	if ((s->done & c->need) == c->need) {
		s->busy = false;
		/* the producer refills once half the ring is free, not at every free slot: each
		 * wake-up can preempt a hash thread, the one that bounds the pipeline */
		if (--c->nbusy <= c->nslots / 2) {
			pthread_cond_signal(&c->cv_prod);
			if (c->stages[0].fills)
				pthread_cond_signal(&c->stages[0].cv);
		}
		return;
	}
	/* a stage not started (or not needed) has no waiter: the signal is a no-op */
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++)
		if (c->stages[i].next == s->seq && !(s->done & c->stages[i].bit))
			pthread_cond_signal(&c->stages[i].cv);
	if ((c->need & ST_CONS) && (s->done & ST_CTR) && s->seq == c->cons_seq)
		pthread_cond_signal(&c->cv_cons);
}

/* the counter block of chunk @seq: nonce + seq · CHUNK/16, 128-bit big-endian */
static void chunk_iv(const unsigned char nonce[16], uint64_t seq, unsigned char iv[16])
{
	uint64_t add = seq * (CL_CTR_CHUNK / 16);
	unsigned carry = 0;

	for (int i = 15; i >= 0; i--) {
		unsigned v = nonce[i] + (unsigned)(add & 0xff) + carry;

		iv[i] = (unsigned char)v;
		carry = v >> 8;
		add >>= 8;
	}
}

static int ctr_chunk(struct cl_ctr *c, EVP_CIPHER_CTX *x, struct slot *s, struct cl_error **err)
{
	unsigned char iv[16];
	int n = 0;

	chunk_iv(c->nonce, s->seq, iv);
	if (EVP_EncryptInit_ex2(x, NULL, NULL, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(x, s->out, &n, s->in, (int)s->len) != 1 || (size_t)n != s->len)
		return cl_error_ossl(err, EIO, "aes-256-ctr");
	return 0;
}

static EVP_CIPHER_CTX *ctr_ctx(struct cl_ctr *c)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	if (x && EVP_EncryptInit_ex2(x, c->aes, c->key->data, NULL, NULL) != 1) {
		EVP_CIPHER_CTX_free(x);
		x = NULL;
	}
	return x;
}

/* the oldest filled slot that nobody encrypts yet (in-order stages wait on it first) */
static struct slot *claim(struct cl_ctr *c)
{
	struct slot *best = NULL;

	for (unsigned i = 0; i < c->nslots; i++) {
		struct slot *s = &c->slots[i];

		if (s->busy && !s->claimed && !(s->done & ST_CTR) && (!best || s->seq < best->seq))
			best = s;
	}
	if (best)
		best->claimed = true;
	return best;
}

/* CTR on a claimed slot: called and returns with the lock held */
static void ctr_run(struct cl_ctr *c, EVP_CIPHER_CTX *x, struct slot *s)
{
	struct cl_error *e = NULL;
	int r;

	pthread_mutex_unlock(&c->mu);
	r = ctr_chunk(c, x, s, &e);
	pthread_mutex_lock(&c->mu);
	if (r < 0)
		set_error(c, r, &e);
	s->done |= ST_CTR;
	slot_changed(c, s);
}

static void *worker_main(void *arg)
{
	struct cl_ctr *c = arg;
	EVP_CIPHER_CTX *x = ctr_ctx(c);
	struct cl_error *e = NULL;
	struct slot *s;

	pthread_mutex_lock(&c->mu);
	if (!x) {
		cl_error_ossl(&e, EIO, "aes-256-ctr key");
		set_error(c, -EIO, &e);
	}
	while (!c->stop && !c->error) {
		s = claim(c);
		if (s)
			ctr_run(c, x, s);
		else
			pthread_cond_wait(&c->cv_work, &c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	EVP_CIPHER_CTX_free(x); /* cleanses the key schedule */
	return NULL;
}

static int stage_act(struct stage *st, struct slot *s, struct cl_error **err)
{
	struct cl_ctr *c = st->c;
	const unsigned char *d = st->on_out ? s->out : s->in;

	switch (st->bit) {
	case ST_HIN:
		if (c->in_sha && EVP_DigestUpdate(c->hin, d, s->len) != 1)
			return cl_error_ossl(err, EIO, "sha-256");
		if (c->gmac && EVP_MAC_update(c->gmac, d, s->len) != 1)
			return cl_error_ossl(err, EIO, "gmac");
		return 0;
	case ST_MAC:
		if (EVP_MAC_update(c->mac, d, s->len) != 1)
			return cl_error_ossl(err, EIO, "hmac");
		/* CIPHER has no output digest stage: the HMAC's writes the ciphertext */
		if (c->mode == CL_CTR_CIPHER && cl_write_all(c->fd, d, s->len) < 0)
			return cl_error_set(err, errno, "write");
		return 0;
	default:
		if (EVP_DigestUpdate(c->hout, d, s->len) != 1)
			return cl_error_ossl(err, EIO, "sha-256");
		if (c->mode == CL_CTR_ENCRYPT && cl_write_all(c->fd, d, s->len) < 0)
			return cl_error_set(err, errno, "write");
		return 0;
	}
}

static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* with the lock held: slot @s now holds input chunk number fill_seq */
static void slot_submit_locked(struct cl_ctr *c, struct slot *s)
{
	s->seq = c->fill_seq++;
	c->nbusy++;
	s->done = 0;
	s->claimed = false;
	s->busy = true;
	c->bytes += s->len;
	if (c->nworkers)
		pthread_cond_signal(&c->cv_work);
	slot_changed(c, s);
}

static void input_end_locked(struct cl_ctr *c)
{
	c->in_eof = c->eof = true;
	c->total = c->fill_seq;
	wake_all(c);
}

/*
 * DECRYPT: the input digest's stage reads the next chunk of ciphertext into its (free)
 * slot itself, so the consumer (the unpacker) makes no read(2) of its own. Called and
 * returns with the lock held; false at the end of the input or on an error.
 */
static bool stage_fill(struct cl_ctr *c, struct slot *s)
{
	struct cl_error *e = NULL;
	ssize_t n;

	pthread_mutex_unlock(&c->mu);
	n = read_full(c->fd, s->in, CL_CTR_CHUNK);
	pthread_mutex_lock(&c->mu);
	if (n < 0) {
		cl_error_set(&e, (int)-n, "read layer blob");
		set_error(c, (int)n, &e);
		return false;
	}
	s->len = (size_t)n;
	if (n > 0)
		slot_submit_locked(c, s);
	if ((size_t)n < CL_CTR_CHUNK)
		input_end_locked(c);
	return n > 0;
}

/* what stage @st does next with its slot @s; false: wait (lock held) */
static bool stage_ready(struct stage *st, struct slot *s)
{
	struct cl_ctr *c = st->c;

	if (st->fills && !s->busy && !c->in_eof)
		return stage_fill(c, s);
	if (!s->busy || s->seq != st->next)
		return false;
	if ((s->done & st->dep) == st->dep)
		return true;
	/* it waits for CTR that nobody runs yet: run it here rather than sleep */
	if ((st->dep & ST_CTR) && !s->claimed && !(s->done & ST_CTR)) {
		s->claimed = true;
		ctr_run(c, st->x, s);
	}
	return false;
}

static void *stage_main(void *arg)
{
	struct stage *st = arg;
	struct cl_ctr *c = st->c;
	struct cl_error *e = NULL;

	pthread_mutex_lock(&c->mu);
	while (!c->error && !(c->eof && st->next == c->total) && !c->stop) {
		struct slot *s = &c->slots[st->next % c->nslots];
		int r;

		if (!stage_ready(st, s)) {
			if (!c->error && !(c->eof && st->next == c->total) && !c->stop &&
			    !(s->busy && s->seq == st->next && (s->done & st->dep) == st->dep))
				pthread_cond_wait(&st->cv, &c->mu);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		r = stage_act(st, s, &e);
		pthread_mutex_lock(&c->mu);
		if (r < 0)
			set_error(c, r, &e);
		s->done |= st->bit;
		st->next++;
		slot_changed(c, s);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* the first error of any thread, handed to the caller once (lock held) */
static int take_error(struct cl_ctr *c, struct cl_error **err)
{
	if (c->err) {
		*err = c->err;
		c->err = NULL;
		return c->error;
	}
	return cl_error_set(err, -c->error, "layer cipher");
}

/* the next slot in ring order for the producer, once it is free */
static int slot_get(struct cl_ctr *c, struct slot **ret, struct cl_error **err)
{
	struct slot *s = &c->slots[c->fill_seq % c->nslots];
	int r = 0;

	pthread_mutex_lock(&c->mu);
	if (s->busy)
		while ((s->busy || c->nbusy > c->nslots / 2) && !c->error)
			pthread_cond_wait(&c->cv_prod, &c->mu);
	if (c->error)
		r = take_error(c, err);
	pthread_mutex_unlock(&c->mu);
	if (r < 0)
		return r;
	s->len = 0;
	*ret = s;
	return 0;
}

static void slot_submit(struct cl_ctr *c, struct slot *s)
{
	pthread_mutex_lock(&c->mu);
	slot_submit_locked(c, s);
	pthread_mutex_unlock(&c->mu);
}

static void input_end(struct cl_ctr *c)
{
	pthread_mutex_lock(&c->mu);
	input_end_locked(c);
	pthread_mutex_unlock(&c->mu);
}

int cl_ctr_write(struct cl_ctr *c, const void *buf, size_t len, struct cl_error **err)
{
	const unsigned char *p = buf;
	int r;

	while (len > 0) {
		size_t n;

		if (!c->cur && (r = slot_get(c, &c->cur, err)) < 0)
			return r;
		n = CL_CTR_CHUNK - c->cur->len < len ? CL_CTR_CHUNK - c->cur->len : len;
		memcpy(c->cur->in + c->cur->len, p, n);
		c->cur->len += n;
		p += n;
		len -= n;
		if (c->cur->len == CL_CTR_CHUNK) {
			slot_submit(c, c->cur);
			c->cur = NULL;
		}
	}
	return 0;
}

/* read into the slot @s; false at the end of the input */
static int fill_one(struct cl_ctr *c, int fd, struct slot *s, struct cl_error **err)
{
	ssize_t n = read_full(fd, s->in, CL_CTR_CHUNK);

	if (n < 0)
		return cl_error_set(err, (int)-n, "read layer blob");
	s->len = (size_t)n;
	if (n > 0)
		slot_submit(c, s);
	if ((size_t)n < CL_CTR_CHUNK)
		input_end(c);
	return 0;
}

int cl_ctr_feed_fd(struct cl_ctr *c, int fd, struct cl_error **err)
{
	struct slot *s = NULL;
	int r = 0;

	while (r == 0 && !c->in_eof) {
		r = slot_get(c, &s, err);
		if (r == 0)
			r = fill_one(c, fd, s, err);
	}
	return r;
}

ssize_t cl_ctr_read(struct cl_ctr *c, const void **ret, struct cl_error **err)
{
	struct slot *s;
	int r;

	pthread_mutex_lock(&c->mu);
	if (c->cur) {
		c->cur->done |= ST_CONS;
		c->cons_seq++;
		slot_changed(c, c->cur);
		c->cur = NULL;
	}
	for (;;) {
		s = &c->slots[c->cons_seq % c->nslots];
		if (c->error) {
			r = take_error(c, err);
			pthread_mutex_unlock(&c->mu);
			return r;
		}
		if (c->eof && c->cons_seq == c->total) {
			pthread_mutex_unlock(&c->mu);
			return 0;
		}
		if (s->busy && s->seq == c->cons_seq && (s->done & ST_CTR))
			break;
		pthread_cond_wait(&c->cv_cons, &c->mu);
	}
	c->cur = s;
	pthread_mutex_unlock(&c->mu);
	*ret = s->out;
	return (ssize_t)s->len;
}

static void join_all(struct cl_ctr *c)
{
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++)
		if (c->stages[i].started) {
			pthread_join(c->stages[i].tid, NULL);
			c->stages[i].started = false;
		}
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	wake_all(c);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->nstarted; i++)
		pthread_join(c->workers[i], NULL);
	c->nstarted = 0;
}

int cl_ctr_finish(struct cl_ctr *c, struct cl_ctr_result *ret, struct cl_error **err)
{
	const void *buf;
	unsigned int n1 = 0, n2 = 0;
	size_t n = 0, nt = 0;
	ssize_t got;
	int r = 0;

	if (c->mode == CL_CTR_DECRYPT || c->mode == CL_CTR_DECRYPT_NOMAC) {
		while ((got = cl_ctr_read(c, &buf, err)) > 0)
			;
		if (got < 0)
			return (int)got;
	} else {
		if (c->cur && c->cur->len > 0)
			slot_submit(c, c->cur);
		c->cur = NULL;
		if (!c->in_eof)
			input_end(c);
	}
	join_all(c);
	if (c->error)
		return take_error(c, err);
	memset(ret, 0, sizeof(*ret));
	if (((c->need & ST_MAC) &&
	     (EVP_MAC_final(c->mac, ret->hmac, &n, sizeof(ret->hmac)) != 1 || n != 32)) ||
	    (c->in_sha && EVP_DigestFinal_ex(c->hin, ret->sha_in, &n1) != 1) ||
	    (c->gmac && (EVP_MAC_final(c->gmac, ret->tag, &nt, sizeof(ret->tag)) != 1 ||
			 nt != sizeof(ret->tag))) ||
	    ((c->need & ST_HOUT) && EVP_DigestFinal_ex(c->hout, ret->sha_out, &n2) != 1))
		r = cl_error_ossl(err, EIO, "layer cipher digests");
	ret->bytes = c->bytes;
	return r;
}

void cl_ctr_free(struct cl_ctr *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	wake_all(c);
	pthread_mutex_unlock(&c->mu);
	join_all(c);
	if (c->mem) {
		cl_wipe(c->mem, c->mem_len);
		munmap(c->mem, c->mem_len);
	}
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++) {
		EVP_CIPHER_CTX_free(c->stages[i].x);
		pthread_cond_destroy(&c->stages[i].cv);
	}
	EVP_MAC_CTX_free(c->mac);
	EVP_MD_CTX_free(c->hin);
	EVP_MAC_CTX_free(c->gmac);
	EVP_MD_CTX_free(c->hout);
	EVP_CIPHER_free(c->aes);
	cl_secret_free(c->key);
	cl_error_free(&c->err);
	pthread_cond_destroy(&c->cv_prod);
	pthread_cond_destroy(&c->cv_cons);
	pthread_cond_destroy(&c->cv_work);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* ---- setup ---------------------------------------------------------------------- */

static int ctr_alloc(struct cl_ctr *c, struct cl_error **err)
{
	size_t per = c->mode == CL_CTR_VERIFY ? CL_CTR_CHUNK : 2 * CL_CTR_CHUNK;

	c->mem_len = per * c->nslots;
	c->mem = mmap(NULL, c->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->mem == MAP_FAILED) {
		c->mem = NULL;
		return cl_error_set(err, errno, "layer cipher buffers");
	}
	(void)madvise(c->mem, c->mem_len, MADV_DONTDUMP); /* plaintext */
	for (unsigned i = 0; i < c->nslots; i++) {
		c->slots[i].in = c->mem + i * per;
		c->slots[i].out = c->mode == CL_CTR_VERIFY ? NULL : c->slots[i].in + CL_CTR_CHUNK;
	}
	return 0;
}

static int ctr_crypto(struct cl_ctr *c, struct cl_error **err)
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	const EVP_MD *sha = EVP_sha256();
	OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
			  OSSL_PARAM_construct_end()};
	int ok;

	c->aes = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	c->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	EVP_MAC_free(hmac);
	c->hin = EVP_MD_CTX_new();
	c->hout = c->mode == CL_CTR_VERIFY ? NULL : EVP_MD_CTX_new();
	ok = c->aes && c->mac && c->hin && (c->hout || c->mode == CL_CTR_VERIFY) &&
	     (!c->key || EVP_MAC_init(c->mac, c->key->data, c->key->len, p) == 1) &&
	     EVP_DigestInit_ex(c->hin, sha, NULL) == 1 &&
	     (!c->hout || EVP_DigestInit_ex(c->hout, sha, NULL) == 1);
	return ok ? 0 : cl_error_ossl(err, EIO, "layer cipher setup");
}

/* GMAC: AES-256-GCM over the input as additional data, key and IV from @tag */
int cl_ctr_tag_new(const struct cl_secret *tag, EVP_MAC_CTX **ret, struct cl_error **err)
{
	EVP_MAC *gmac = EVP_MAC_fetch(NULL, "GMAC", NULL);
	OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-256-GCM", 0),
			  OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, tag->data + 32,
							    CL_CTR_TAG_KEY_LEN - 32),
			  OSSL_PARAM_construct_end()};
	EVP_MAC_CTX *x = gmac ? EVP_MAC_CTX_new(gmac) : NULL;

	EVP_MAC_free(gmac);
	if (tag->len != CL_CTR_TAG_KEY_LEN || !x || EVP_MAC_init(x, tag->data, 32, p) != 1) {
		EVP_MAC_CTX_free(x);
		return cl_error_ossl(err, EIO, "gmac setup");
	}
	*ret = x;
	return 0;
}

static void stage_set(struct cl_ctr *c, unsigned i, unsigned bit, unsigned dep, bool on_out)
{
	struct stage *st = &c->stages[i];

	st->bit = bit;
	st->dep = dep;
	st->on_out = on_out;
}

static int ctr_start(struct cl_ctr *c, struct cl_error **err)
{
	bool enc = c->mode == CL_CTR_ENCRYPT || c->mode == CL_CTR_CIPHER;
	int e;

	stage_set(c, 0, ST_HIN, 0, false);
	stage_set(c, 1, ST_MAC, enc ? ST_CTR : 0, enc);
	stage_set(c, 2, ST_HOUT, ST_CTR, true);
	c->stages[0].fills = c->mode == CL_CTR_DECRYPT || c->mode == CL_CTR_DECRYPT_NOMAC;
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++) {
		struct stage *st = &c->stages[i];

		if (!(c->need & st->bit))
			continue;
		if ((st->dep & ST_CTR) && !(st->x = ctr_ctx(c)))
			return cl_error_ossl(err, EIO, "aes-256-ctr key");
		e = pthread_create(&st->tid, NULL, stage_main, st);
		if (e)
			return cl_error_set(err, e, "start layer cipher thread");
		st->started = true;
	}
	for (; c->nstarted < c->nworkers; c->nstarted++) {
		e = pthread_create(&c->workers[c->nstarted], NULL, worker_main, c);
		if (e)
			return cl_error_set(err, e, "start layer cipher worker");
	}
	return 0;
}

int cl_ctr_new(enum cl_ctr_mode mode, const struct cl_secret *key,
	       const unsigned char nonce[CL_CTR_NONCE_LEN], unsigned jobs, int fd,
	       struct cl_ctr **ret, struct cl_error **err)
{
	return cl_ctr_new_tagged(mode, key, nonce, NULL, jobs, fd, ret, err);
}

int cl_ctr_new_tagged(enum cl_ctr_mode mode, const struct cl_secret *key,
		      const unsigned char nonce[CL_CTR_NONCE_LEN], const struct cl_secret *tag,
		      unsigned jobs, int fd, struct cl_ctr **ret, struct cl_error **err)
{
	_cleanup_(cl_ctr_freep) struct cl_ctr *c = calloc(1, sizeof(*c));

	if (!c)
		return cl_error_set(err, ENOMEM, "layer cipher");
	if ((key ? key->len != CL_CTR_KEY_LEN : mode != CL_CTR_VERIFY) || mode >= _CL_CTR_MODE_MAX)
		return cl_error_set(err, EINVAL, "layer cipher: key of %zu bytes",
				    key ? key->len : 0);
	if (tag && (tag->len != CL_CTR_TAG_KEY_LEN || mode == CL_CTR_CIPHER))
		return cl_error_set(err, EINVAL, "layer cipher: tag key of %zu bytes", tag->len);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv_prod, NULL);
	pthread_cond_init(&c->cv_cons, NULL);
	pthread_cond_init(&c->cv_work, NULL);
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++) {
		c->stages[i].c = c;
		pthread_cond_init(&c->stages[i].cv, NULL);
	}
	c->mode = mode;
	c->fd = fd;
	memcpy(c->nonce, nonce, CL_CTR_NONCE_LEN);
	jobs = jobs ? jobs : cl_pool_default_threads();
	c->nworkers = mode == CL_CTR_VERIFY ? 0 : jobs < MAX_WORKERS ? jobs : MAX_WORKERS;
	/* a deeper ring than the threads need: the producer (export's tree walk) runs in
	 * bursts (large files, then many small ones) that the stages even out */
	c->nslots = mode == CL_CTR_VERIFY	  ? VERIFY_SLOTS
		    : c->nworkers + 8 < MAX_SLOTS ? c->nworkers + 8
						  : MAX_SLOTS;
	c->need = mode == CL_CTR_VERIFY ? ST_HIN | ST_MAC : ST_CTR | ST_HIN | ST_MAC | ST_HOUT;
	if (mode == CL_CTR_DECRYPT || mode == CL_CTR_DECRYPT_NOMAC)
		c->need |= ST_CONS;
	if (mode == CL_CTR_DECRYPT_NOMAC)
		c->need &= ~ST_MAC;
	if (mode == CL_CTR_CIPHER)
		c->need &= ~(ST_HIN | ST_HOUT);
	/* the second pass over a verified blob: its tag, not its digest, says it is the same */
	c->in_sha = mode != CL_CTR_CIPHER && !(mode == CL_CTR_DECRYPT_NOMAC && tag);
	if (!key)
		c->need &= ~ST_MAC; /* a plain blob: its digest (and tag) only */
	c->key = key ? cl_secret_new(CL_CTR_KEY_LEN, err) : NULL;
	if (key && !c->key)
		return -ENOMEM;
	if (key)
		memcpy(c->key->data, key->data, CL_CTR_KEY_LEN);
	if (ctr_alloc(c, err) < 0 || ctr_crypto(c, err) < 0 ||
	    (tag && cl_ctr_tag_new(tag, &c->gmac, err) < 0) || ctr_start(c, err) < 0)
		return -EIO;
	*ret = TAKE_PTR(c);
	return 0;
}
