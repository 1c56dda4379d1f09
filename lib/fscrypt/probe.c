/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which fscrypt policies really work here: set them, then create a file (DESIGN §2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/secret.h"
#include "lib/fscrypt/fscrypt.h"

#define PROBE_KEY_SIZE 64

/* In @dir_fd/@name: a directory with the mode's policy, then a written file in it. */
static void probe_one(int dir_fd, const char *name, const struct cl_key_id *id,
		      struct cl_fscrypt_mode_probe *m)
{
	_cleanup_close_ int d = -1, f = -1;
	struct cl_error *e = NULL;

	m->result = 0;
	m->step = NULL;
	if (mkdirat(dir_fd, name, 0700) < 0) {
		m->result = -errno;
		m->step = "mkdir";
		return;
	}
	d = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (d < 0 ||
	    cl_fscrypt_set_policy_modes(d, id, m->contents, m->filenames, m->flags, &e) < 0) {
		m->result = d < 0 ? -errno : -e->errnum;
		m->step = "set policy";
	} else {
		f = openat(d, "probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (f < 0 || cl_write_all(f, "x", 1) < 0) {
			m->result = -errno;
			m->step = "create file";
		}
	}
	cl_error_free(&e);
	if (f >= 0)
		(void)unlinkat(d, "probe", 0);
	(void)unlinkat(dir_fd, name, AT_REMOVEDIR);
}

static int remove_probe_key(int dir_fd, const struct cl_key_id *id, struct cl_error **err)
{
	enum cl_key_status st = CL_KEY_PRESENT;
	unsigned flags = 0;
	int r;

	(void)syncfs(dir_fd); /* the probe files were deleted; flush before the removal */
	r = cl_fscrypt_remove_key(dir_fd, id, &flags, err);
	if (r == 0)
		r = cl_fscrypt_key_status(dir_fd, id, &st, err);
	if (r < 0)
		return r;
	if (st != CL_KEY_ABSENT)
		return cl_error_set(err, EBUSY, "probe key %s is %s after removal", id->hex,
				    cl_fscrypt_key_status_name(st));
	return 0;
}

int cl_fscrypt_probe_modes(int dir_fd, struct cl_fscrypt_mode_probe *modes, size_t n,
			   struct cl_error **err)
{
	_cleanup_(cl_secret_freep) struct cl_secret *key = NULL;
	struct cl_key_id id;
	char tmp[64];
	int r;

	key = cl_secret_random(PROBE_KEY_SIZE, err);
	if (!key)
		return cl_error_errnum(err);
	r = cl_fscrypt_add_key(dir_fd, key, &id, err);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), ".probe-%d", (int)getpid());
	if (mkdirat(dir_fd, tmp, 0700) < 0) {
		r = cl_error_set(err, errno, "mkdir '%s'", tmp);
	} else {
		_cleanup_close_ int t =
		    openat(dir_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

		for (size_t i = 0; t >= 0 && i < n; i++) {
			char name[32];

			snprintf(name, sizeof(name), "m%zu", i);
			probe_one(t, name, &id, &modes[i]);
		}
		if (t < 0)
			r = cl_error_set(err, errno, "open '%s'", tmp);
		(void)unlinkat(dir_fd, tmp, AT_REMOVEDIR);
	}
	if (r < 0) {
		struct cl_error *e = NULL;

		(void)remove_probe_key(dir_fd, &id, &e);
		cl_error_free(&e);
		return r;
	}
	return remove_probe_key(dir_fd, &id, err);
}
