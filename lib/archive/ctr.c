/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The AES_256_CTR_HMAC_SHA256 pipeline (ctr.h). One lock and one condition variable:
 * with 1 MiB chunks that is a few hundred wake-ups per second at full speed.
 *
 * A slot goes: free → filled by the producer → (CTR by any worker) → each ordered
 * stage in chunk order → free again once every stage that the mode needs is done.
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
	bool claimed; /* a worker runs CTR on it */
};

struct stage {
	struct cl_ctr *c;
	unsigned bit, dep;
	bool on_out; /* hashes the output buffer */
	uint64_t next;
	pthread_t tid;
	bool started;
};

struct cl_ctr {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum cl_ctr_mode mode;
	unsigned need, nslots, nworkers;
	struct slot slots[MAX_SLOTS];
	unsigned char *mem;
	size_t mem_len;
	struct slot *cur; /* being filled (push) or handed out (pull) */
	uint64_t fill_seq, cons_seq, total;
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
	struct stage stages[3]; /* HIN, MAC, HOUT */
	pthread_t workers[MAX_WORKERS];
	unsigned nstarted;
};

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
	pthread_cond_broadcast(&c->cv);
}

/* with the lock held */
static void slot_maybe_free(struct cl_ctr *c, struct slot *s)
{
	if ((s->done & c->need) == c->need)
		s->busy = false;
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

static struct slot *claim(struct cl_ctr *c)
{
	for (unsigned i = 0; i < c->nslots; i++) {
		struct slot *s = &c->slots[i];

		if (s->busy && !s->claimed && !(s->done & ST_CTR)) {
			s->claimed = true;
			return s;
		}
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct cl_ctr *c = arg;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	struct cl_error *e = NULL;
	struct slot *s;
	int r = 0;

	if (!x || EVP_EncryptInit_ex2(x, c->aes, c->key->data, NULL, NULL) != 1)
		r = cl_error_ossl(&e, EIO, "aes-256-ctr key");
	pthread_mutex_lock(&c->mu);
	if (r < 0)
		set_error(c, r, &e);
	while (!c->stop && !c->error) {
		s = claim(c);
		if (!s) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		r = ctr_chunk(c, x, s, &e);
		pthread_mutex_lock(&c->mu);
		if (r < 0)
			set_error(c, r, &e);
		s->done |= ST_CTR;
		slot_maybe_free(c, s);
		pthread_cond_broadcast(&c->cv);
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
		return EVP_DigestUpdate(c->hin, d, s->len) == 1
			   ? 0
			   : cl_error_ossl(err, EIO, "sha-256");
	case ST_MAC:
		return EVP_MAC_update(c->mac, d, s->len) == 1 ? 0 : cl_error_ossl(err, EIO, "hmac");
	default:
		if (EVP_DigestUpdate(c->hout, d, s->len) != 1)
			return cl_error_ossl(err, EIO, "sha-256");
		if (c->mode == CL_CTR_ENCRYPT && cl_write_all(c->fd, d, s->len) < 0)
			return cl_error_set(err, errno, "write");
		return 0;
	}
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

		if (!s->busy || s->seq != st->next || (s->done & st->dep) != st->dep) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		r = stage_act(st, s, &e);
		pthread_mutex_lock(&c->mu);
		if (r < 0)
			set_error(c, r, &e);
		s->done |= st->bit;
		st->next++;
		slot_maybe_free(c, s);
		pthread_cond_broadcast(&c->cv);
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
	while (s->busy && !c->error)
		pthread_cond_wait(&c->cv, &c->mu);
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
	s->seq = c->fill_seq++;
	s->done = 0;
	s->claimed = false;
	s->busy = true;
	c->bytes += s->len;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void input_end(struct cl_ctr *c)
{
	pthread_mutex_lock(&c->mu);
	c->in_eof = c->eof = true;
	c->total = c->fill_seq;
	pthread_cond_broadcast(&c->cv);
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

/* DECRYPT: fill the free slots without waiting for busy ones */
static int fill_free(struct cl_ctr *c, struct cl_error **err)
{
	int r = 0;

	while (r == 0 && !c->in_eof) {
		struct slot *s = &c->slots[c->fill_seq % c->nslots];
		bool busy;

		pthread_mutex_lock(&c->mu);
		busy = s->busy;
		pthread_mutex_unlock(&c->mu);
		if (busy)
			break;
		r = fill_one(c, c->fd, s, err);
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
		slot_maybe_free(c, c->cur);
		c->cons_seq++;
		c->cur = NULL;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	r = fill_free(c, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->mu);
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
		if (c->cons_seq == c->fill_seq && !c->in_eof && !s->busy) {
			/* nothing in flight: this slot was not free when fill_free() ran */
			pthread_mutex_unlock(&c->mu);
			r = fill_one(c, c->fd, s, err);
			if (r < 0)
				return r;
			pthread_mutex_lock(&c->mu);
			continue;
		}
		pthread_cond_wait(&c->cv, &c->mu);
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
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->nstarted; i++)
		pthread_join(c->workers[i], NULL);
	c->nstarted = 0;
}

int cl_ctr_finish(struct cl_ctr *c, struct cl_ctr_result *ret, struct cl_error **err)
{
	const void *buf;
	unsigned int n1 = 0, n2 = 0;
	size_t n = 0;
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
	memset(ret->hmac, 0, sizeof(ret->hmac));
	if (((c->need & ST_MAC) &&
	     (EVP_MAC_final(c->mac, ret->hmac, &n, sizeof(ret->hmac)) != 1 || n != 32)) ||
	    EVP_DigestFinal_ex(c->hin, ret->sha_in, &n1) != 1 ||
	    (c->hout && EVP_DigestFinal_ex(c->hout, ret->sha_out, &n2) != 1))
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
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	join_all(c);
	if (c->mem) {
		cl_wipe(c->mem, c->mem_len);
		munmap(c->mem, c->mem_len);
	}
	EVP_MAC_CTX_free(c->mac);
	EVP_MD_CTX_free(c->hin);
	EVP_MD_CTX_free(c->hout);
	EVP_CIPHER_free(c->aes);
	cl_secret_free(c->key);
	cl_error_free(&c->err);
	pthread_cond_destroy(&c->cv);
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
	     EVP_MAC_init(c->mac, c->key->data, c->key->len, p) == 1 &&
	     EVP_DigestInit_ex(c->hin, sha, NULL) == 1 &&
	     (!c->hout || EVP_DigestInit_ex(c->hout, sha, NULL) == 1);
	return ok ? 0 : cl_error_ossl(err, EIO, "layer cipher setup");
}

static void stage_set(struct cl_ctr *c, unsigned i, unsigned bit, unsigned dep, bool on_out)
{
	c->stages[i] = (struct stage){.c = c, .bit = bit, .dep = dep, .on_out = on_out};
}

static int ctr_start(struct cl_ctr *c, struct cl_error **err)
{
	bool enc = c->mode == CL_CTR_ENCRYPT;
	int e;

	stage_set(c, 0, ST_HIN, 0, false);
	stage_set(c, 1, ST_MAC, enc ? ST_CTR : 0, enc);
	stage_set(c, 2, ST_HOUT, ST_CTR, true);
	for (unsigned i = 0; i < CL_ARRAY_SIZE(c->stages); i++) {
		if (!(c->need & c->stages[i].bit))
			continue;
		e = pthread_create(&c->stages[i].tid, NULL, stage_main, &c->stages[i]);
		if (e)
			return cl_error_set(err, e, "start layer cipher thread");
		c->stages[i].started = true;
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
	_cleanup_(cl_ctr_freep) struct cl_ctr *c = calloc(1, sizeof(*c));

	if (!c)
		return cl_error_set(err, ENOMEM, "layer cipher");
	if (key->len != CL_CTR_KEY_LEN || mode >= _CL_CTR_MODE_MAX)
		return cl_error_set(err, EINVAL, "layer cipher: key of %zu bytes", key->len);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->mode = mode;
	c->fd = fd;
	memcpy(c->nonce, nonce, CL_CTR_NONCE_LEN);
	jobs = jobs ? jobs : cl_pool_default_threads();
	c->nworkers = mode == CL_CTR_VERIFY ? 0 : jobs < MAX_WORKERS ? jobs : MAX_WORKERS;
	c->nslots = mode == CL_CTR_VERIFY	  ? 4
		    : c->nworkers + 4 < MAX_SLOTS ? c->nworkers + 4
						  : MAX_SLOTS;
	c->need = mode == CL_CTR_VERIFY ? ST_HIN | ST_MAC : ST_CTR | ST_HIN | ST_MAC | ST_HOUT;
	if (mode == CL_CTR_DECRYPT || mode == CL_CTR_DECRYPT_NOMAC)
		c->need |= ST_CONS;
	if (mode == CL_CTR_DECRYPT_NOMAC)
		c->need &= ~ST_MAC;
	c->key = cl_secret_new(CL_CTR_KEY_LEN, err);
	if (!c->key)
		return -ENOMEM;
	memcpy(c->key->data, key->data, CL_CTR_KEY_LEN);
	if (ctr_alloc(c, err) < 0 || ctr_crypto(c, err) < 0 || ctr_start(c, err) < 0)
		return -EIO;
	*ret = TAKE_PTR(c);
	return 0;
}
