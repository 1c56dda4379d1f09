/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib/crypto/secret.h"

void cl_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

struct cl_secret *cl_secret_new(size_t len, struct cl_error **err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct cl_secret *s;
	size_t map_len;
	void *p;

	if (len == 0 || len > (1U << 20)) {
		cl_error_set(err, EINVAL, "secret of %zu bytes", len);
		return NULL;
	}
	/* the struct sits in the same locked page, after the key bytes */
	map_len = (len + sizeof(*s) + page - 1) & ~(page - 1);
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		cl_error_set(err, errno, "mmap secret memory");
		return NULL;
	}
	(void)madvise(p, map_len, MADV_DONTDUMP);
	(void)madvise(p, map_len, MADV_WIPEONFORK);
	s = (struct cl_secret *)((unsigned char *)p + map_len - sizeof(*s));
	s->data = p;
	s->len = len;
	s->map_len = map_len;
	/* best effort: RLIMIT_MEMLOCK is small for non-root users (cryptsetup 2.6 note) */
	s->locked = mlock(p, map_len) == 0;
	return s;
}

struct cl_secret *cl_secret_random(size_t len, struct cl_error **err)
{
	struct cl_secret *s = cl_secret_new(len, err);
	size_t done = 0;

	while (s && done < len) {
		ssize_t n = getrandom(s->data + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cl_error_set(err, n < 0 ? errno : EIO, "getrandom");
			cl_secret_free(s);
			return NULL;
		}
		done += (size_t)n;
	}
	return s;
}

void cl_secret_free(struct cl_secret *s)
{
	void *base;
	size_t map_len;

	if (!s)
		return;
	base = s->data;
	map_len = s->map_len;
	cl_wipe(base, map_len - sizeof(*s));
	if (s->locked)
		(void)munlock(base, map_len);
	cl_wipe(s, sizeof(*s));
	(void)munmap(base, map_len);
}
