/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Erasing a nest (DESIGN §6). Nothing an inner container wrote is trusted: its keys are
 * read from the fscrypt policies of the directories under the nest, never from its
 * records, and a policy that names a key some other layer of this store uses (a forged
 * one: CAP_FOWNER may set a policy naming any key) is left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/exec/exec.h"
#include "lib/exec/ns.h"
#include "lib/mount/overlay.h"
#include "lib/record/record.h"

/* ---- mounts beneath a directory ---------------------------------------------------- */

/* mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash), in place */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* the mount points strictly below @dir, from /proc/self/mountinfo */
static int mounts_beneath(const char *dir, char ***ret, struct cl_error **err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, dlen = strlen(dir);
	char **v = calloc(1, sizeof(*v));
	int n = 0;

	if (!f || !v) {
		free(v);
		return cl_error_set(err, f ? ENOMEM : errno, "read '/proc/self/mountinfo'");
	}
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL, *tok = strtok_r(line, " ", &save), **nv;

		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape(tok);
		if (strncmp(tok, dir, dlen) || tok[dlen] != '/')
			continue;
		nv = realloc(v, sizeof(*v) * (size_t)(n + 2));
		if (!nv || !(nv[n] = strdup(tok))) {
			cl_strv_free(nv ? nv : v);
			return cl_error_set(err, ENOMEM, "mounts below '%s'", dir);
		}
		v = nv;
		v[++n] = NULL;
	}
	*ret = v;
	return n;
}

int cl_exec_unmount_beneath(const char *dir, struct cl_error **err)
{
	char **v = NULL;
	int n = mounts_beneath(dir, &v, err), done = 0, r = 0;

	if (n < 0)
		return n;
	/* later lines were mounted later: on top of, or below, the earlier ones */
	for (int i = n - 1; i >= 0; i--) {
		if (umount2(v[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			done++;
		else if (errno != EINVAL && errno != ENOENT && r == 0)
			r = cl_error_set(err, errno, "unmount '%s'", v[i]);
	}
	cl_strv_free(v);
	return r < 0 ? r : done;
}

/* here, and in the host namespace when that is another one */
static int unmount_nest(const char *dir, struct cl_error **err)
{
	struct cl_ns_guard guard;
	int r = cl_exec_unmount_beneath(dir, err);

	if (r < 0)
		return r;
	r = cl_ns_enter_host(&guard, err);
	if (r < 0)
		return r;
	if (guard.home_fd >= 0)
		r = cl_exec_unmount_beneath(dir, err);
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r >= 0)
		r = -EIO;
	return r < 0 ? r : 0;
}

/* ---- the key walk ------------------------------------------------------------------ */

struct key_set {
	struct cl_key_id *v;
	size_t n, cap;
};

static int key_set_add(struct key_set *s, const struct cl_key_id *k)
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(s->v[i].bytes, k->bytes, sizeof(k->bytes)))
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct cl_key_id *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = *k;
	return 0;
}

static bool key_set_has(const struct key_set *s, const struct cl_key_id *k)
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(s->v[i].bytes, k->bytes, sizeof(k->bytes)))
			return true;
	return false;
}

/* one directory on the walk's path: its identity and the subdirectories still to visit */
struct level {
	dev_t dev;
	ino_t ino;
	char **names;
	size_t n, next;
};

struct walk {
	dev_t dev; /* the nest's filesystem: never leave it */
	struct level *lv;
	size_t depth, cap;
	int cur; /* the directory of lv[depth] */
	struct key_set *keys;
	const char *top;
	struct cl_error **err;
	int first; /* the first error; the walk goes on to find every key it can */
};

static void level_free(struct level *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static int fail(struct walk *w, int errnum, const char *what, const char *name)
{
	if (w->first == 0)
		w->first = cl_error_set(w->err, errnum, "%s '%.100s' (depth %zu under '%s')", what,
					name, w->depth, w->top);
	return w->first;
}

/* the names of the subdirectories of @fd (its own dup is read): every entry but files */
static int list_subdirs(int fd, struct level *l)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	_cleanup_(closedirp) DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d) {
		int e = errno;

		if (dfd >= 0)
			close(dfd);
		return -e;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		char **nv;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (de->d_type == DT_UNKNOWN &&
		    (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)))
			continue;
		nv = realloc(l->names, sizeof(*nv) * (l->n + 1));
		if (!nv)
			return -ENOMEM;
		l->names = nv;
		if (!(l->names[l->n] = strdup(de->d_name)))
			return -ENOMEM;
		l->n++;
	}
	return errno ? -errno : 0;
}

/* a directory's identity; 1 when it is the root of a mount (or on another filesystem) */
static int dir_id(const struct walk *w, int fd, struct level *l)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, &sx) < 0)
		return -errno;
	l->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	l->ino = sx.stx_ino;
	return (sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
	       l->dev != w->dev;
}

static int push_level(struct walk *w, int fd, const struct level *id)
{
	struct level *l;
	int r;

	if (w->depth + 1 >= w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct level *nv = realloc(w->lv, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->lv = nv;
		w->cap = cap;
	}
	l = &w->lv[++w->depth];
	*l = *id;
	l->names = NULL;
	l->n = l->next = 0;
	r = list_subdirs(fd, l);
	if (w->cur >= 0)
		close(w->cur);
	w->cur = fd;
	return r;
}

/* back to the parent through "..", which must be the directory we came from */
static int pop_level(struct walk *w)
{
	struct level up;
	int fd = openat(w->cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return fail(w, errno, "open", "..");
	if (dir_id(w, fd, &up) < 0 || up.dev != w->lv[w->depth - 1].dev ||
	    up.ino != w->lv[w->depth - 1].ino) {
		close(fd);
		return fail(w, ESTALE, "moved while walked:", "..");
	}
	level_free(&w->lv[w->depth--]);
	close(w->cur);
	w->cur = fd;
	return 0;
}

/* one subdirectory: its key if it is encrypted, else a level to walk */
static int visit(struct walk *w, const char *name)
{
	struct level id;
	struct cl_key_id kid;
	bool enc = false;
	int fd, r;

	fd = openat(w->cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
			   ? 0
			   : fail(w, errno, "open", name);
	r = dir_id(w, fd, &id);
	if (r != 0) {
		close(fd);
		return fail(w, r < 0 ? -r : EBUSY, r < 0 ? "stat" : "a mount point is left at",
			    name);
	}
	r = cl_fscrypt_get_policy(fd, &enc, &kid, NULL);
	if (r == 0 && enc) {
		close(fd);
		return key_set_add(w->keys, &kid) < 0 ? fail(w, ENOMEM, "key of", name) : 0;
	}
	if (r < 0) {
		close(fd);
		return fail(w, -r, "read the fscrypt policy of", name);
	}
	/* plain: walk it (fscrypt puts no other policy under an encrypted directory) */
	r = push_level(w, fd, &id);
	return r < 0 ? fail(w, -r, "list", name) : 0;
}

static int walk_all(struct walk *w)
{
	for (;;) {
		struct level *l = &w->lv[w->depth];

		if (l->next < l->n) {
			int r = visit(w, l->names[l->next++]);

			if (r == -ENOMEM || r == -ESTALE)
				return r;
			continue;
		}
		if (w->depth == 0)
			return 0;
		if (pop_level(w) < 0)
			return w->first;
	}
}

/* the keys under @fd (nest/<id>), its policy included */
static int walk_keys(int fd, const char *top, struct key_set *keys, struct cl_error **err)
{
	struct walk w = {.cur = -1, .keys = keys, .top = top, .err = err};
	struct level id;
	struct cl_key_id kid;
	bool enc = false;
	int r, dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dup < 0)
		return cl_error_set(err, errno, "open '%s'", top);
	w.dev = 0;
	if (dir_id(&w, dup, &id) < 0) {
		close(dup);
		return cl_error_set(err, errno, "stat '%s'", top);
	}
	w.dev = id.dev;
	if (cl_fscrypt_get_policy(dup, &enc, &kid, NULL) == 0 && enc) {
		close(dup);
		return key_set_add(keys, &kid) < 0 ? cl_error_set(err, ENOMEM, "nest keys") : 0;
	}
	w.depth = (size_t)-1; /* push_level makes it 0 */
	r = push_level(&w, dup, &id);
	if (r < 0)
		fail(&w, -r, "list", top);
	else
		r = walk_all(&w);
	for (size_t i = 0; w.lv && i <= w.depth && w.depth != (size_t)-1; i++)
		level_free(&w.lv[i]);
	free(w.lv);
	if (w.cur >= 0)
		close(w.cur);
	return w.first ? w.first : r;
}

int cl_exec_nest_keys(struct cl_store *store, const char *id, struct cl_key_id **ret,
		      struct cl_error **err)
{
	struct key_set keys = {};
	_cleanup_close_ int fd = -1;
	char rel[512];
	int r;

	*ret = NULL;
	snprintf(rel, sizeof(rel), "nest/%s", id);
	fd = openat(store->dir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return cl_error_set(err, errno, "open '%s/%s'", store->dir, rel);
	r = walk_keys(fd, rel, &keys, err);
	if (r < 0) {
		free(keys.v);
		return r;
	}
	*ret = keys.v;
	return (int)keys.n;
}

/* ---- what other layers use ---------------------------------------------------------- */

/* the keys of every other layer: its record's key id, the policy of its crypt dir */
static int other_layers_keys(struct cl_store *store, const char *id, const char *run_dir,
			     struct key_set *ret)
{
	_cleanup_(closedirp) DIR *d = NULL;
	char **ids = NULL;
	struct dirent *de;
	int fd, n = cl_record_list(run_dir, &ids, NULL);

	for (int i = 0; i < n; i++) {
		struct cl_record rec = {};
		struct cl_key_id kid;

		if (strcmp(ids[i], id) && cl_record_read(run_dir, ids[i], &rec, NULL) == 0 &&
		    rec.key_id && cl_key_id_from_hex(rec.key_id, &kid) == 0 &&
		    key_set_add(ret, &kid) < 0)
			n = -ENOMEM;
		cl_record_clear(&rec);
	}
	cl_strv_free(ids);
	if (n < 0 && n != -ENOENT)
		return n;
	fd = openat(store->dir_fd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	while (d && (de = readdir(d))) {
		_cleanup_close_ int cfd = -1;
		struct cl_key_id kid;
		char rel[512];
		bool enc = false;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, id))
			continue;
		snprintf(rel, sizeof(rel), "%s/crypt", de->d_name);
		cfd = openat(dirfd(d), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd >= 0 && cl_fscrypt_get_policy(cfd, &enc, &kid, NULL) == 0 && enc &&
		    key_set_add(ret, &kid) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- erase --------------------------------------------------------------------------- */

/*
 * Remove for all users, then ABSENT, with a backoff like a layer's own key removal but
 * longer (1 ms doubling, about 2 s in all): the outer container's mount namespace, which
 * held the inner overlays and the graph's, is torn down by the kernel after its last
 * process is gone, and under load that was seen to take longer than half a second
 * (podman-in-podman, 810-nested-podman).
 */
static int remove_one(struct cl_store *store, const struct cl_key_id *k, struct cl_error **err)
{
	enum cl_key_status st = CL_KEY_PRESENT;
	int r;

	for (unsigned wait_us = 1000; wait_us <= 1024000; wait_us *= 2) {
		struct cl_error *e = NULL;

		r = cl_fscrypt_remove_key_all_users(store->dir_fd, k, NULL, &e);
		if (r < 0 && r != -ENOKEY)
			return cl_error_move(err, &e);
		cl_error_free(&e);
		r = cl_fscrypt_key_status(store->dir_fd, k, &st, err);
		if (r < 0)
			return r;
		if (st != CL_KEY_INCOMPLETELY_REMOVED)
			break;
		/* inodes still in use or under writeback (DESIGN §2): flush, wait, again */
		(void)syncfs(store->dir_fd);
		usleep(wait_us);
	}
	if (st != CL_KEY_ABSENT)
		return cl_error_set(err, EBUSY, "nest key %s is %s after removal (files in use)",
				    k->hex, cl_fscrypt_key_status_name(st));
	return 0;
}

static int remove_keys(struct cl_store *store, const struct key_set *keys,
		       const struct key_set *others, struct cl_teardown_report *rep,
		       struct cl_error **err)
{
	int first = 0;

	for (size_t i = 0; i < keys->n; i++) {
		struct cl_error *e = NULL;

		if (key_set_has(others, &keys->v[i])) {
			rep->nest_foreign++;
			continue;
		}
		if (remove_one(store, &keys->v[i], &e) < 0) {
			if (!first)
				first = cl_error_move(err, &e);
			cl_error_free(&e);
			continue;
		}
		rep->nest_keys++;
	}
	return first;
}

/*
 * nest/<id>/keys: the keys found, written before anything under the nest is deleted, so
 * that an erase cut short (a kill, a key still busy) finds them again once their
 * directories are gone. nest/<id> itself is never bound into the container: only the
 * host writes there. Not synced: after a crash the kernel has forgotten the keys anyway.
 */
#define KEYS_FILE "keys"
#define KEYS_MAX (1U << 20)

static int keys_file_read(int nfd, struct key_set *keys)
{
	_cleanup_free_ char *buf = NULL;
	char *save = NULL, *line;
	size_t len = 0;
	int r = cl_read_file_at(nfd, KEYS_FILE, KEYS_MAX, &buf, &len, NULL);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct cl_key_id k;

		if (cl_key_id_from_hex(line, &k) == 0 && key_set_add(keys, &k) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int keys_file_write(int nfd, const struct key_set *keys, const struct key_set *others,
			   struct cl_error **err)
{
	_cleanup_free_ char *buf = malloc(keys->n * 33 + 1);
	size_t len = 0;

	if (!buf)
		return cl_error_set(err, ENOMEM, "nest keys");
	for (size_t i = 0; i < keys->n; i++) {
		if (key_set_has(others, &keys->v[i]))
			continue;
		memcpy(buf + len, keys->v[i].hex, 32);
		buf[len + 32] = '\n';
		len += 33;
	}
	return cl_write_file_replace_at(nfd, KEYS_FILE, buf, len, 0600, CL_WRITE_NO_SYNC, err);
}

/*
 * An inner root with CAP_LINUX_IMMUTABLE can make files immutable or append-only, which
 * nobody may delete: clear those flags in the tree under @fd (depth-first, no symlink
 * followed, no mount crossed; bounded depth: a deeper tree keeps its flags and the
 * deletion reports it). Best effort: the deletion that follows says what is left.
 */
#define UNFLAG_MAX_DEPTH 256

static void unflag_tree(int fd, dev_t dev, int depth)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int flags = 0, dfd;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
		flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
		(void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	if (depth >= UNFLAG_MAX_DEPTH)
		return;
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int cfd = -1;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev ||
		    !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
			continue;
		cfd =
		    openat(fd, de->d_name,
			   (S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK) |
			       O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			unflag_tree(cfd, dev, depth + 1);
		else if (ioctl(cfd, FS_IOC_GETFLAGS, &flags) == 0 &&
			 (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
			flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
			(void)ioctl(cfd, FS_IOC_SETFLAGS, &flags);
		}
	}
}

/* the nest's contents (the keys file stays): with the keys present, no forced sync later */
static int delete_contents(int nfd, const char *abs, struct cl_error **err)
{
	static const char *const dirs[] = {"store", "graph"};
	int r = 0;

	for (size_t i = 0; i < CL_ARRAY_SIZE(dirs) && r == 0; i++) {
		struct cl_error *e = NULL;
		_cleanup_close_ int fd = -1;
		struct stat st;

		r = cl_rm_rf_at(nfd, dirs[i], &e);
		if (r != -EPERM) {
			if (r < 0)
				cl_error_move(err, &e);
			continue;
		}
		cl_error_free(&e);
		fd = openat(nfd, dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0)
			unflag_tree(fd, st.st_dev, 0);
		r = cl_rm_rf_at(nfd, dirs[i], err);
	}
	return r < 0 ? cl_error_wrap(err, "nest '%s'", abs) : 0;
}

int cl_exec_nest_erase(struct cl_store *store, const char *id, const char *run_dir,
		       struct cl_teardown_report *rep, struct cl_error **err)
{
	struct key_set keys = {}, others = {};
	_cleanup_free_ char *rel = NULL, *abs = NULL;
	_cleanup_close_ int fd = -1;
	struct cl_error *e = NULL;
	int r, k;

	if (asprintf(&rel, "nest/%s", id) < 0 || asprintf(&abs, "%s/%s", store->dir, rel) < 0)
		return cl_error_set(err, ENOMEM, "nest");
	fd = openat(store->dir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", abs);
	/* the inner layers' overlays, binds of a 'create --nested' user: nothing may hold it */
	r = unmount_nest(abs, err);
	if (r == 0)
		r = walk_keys(fd, rel, &keys, err);
	/* the keys an earlier erase found, before it deleted their directories */
	if (keys_file_read(fd, &keys) < 0 && r == 0)
		r = cl_error_set(err, EIO, "read '%s/%s'", abs, KEYS_FILE);
	if (other_layers_keys(store, id, run_dir, &others) < 0 && r == 0)
		r = cl_error_set(err, ENOMEM, "keys of the other layers");
	/*
	 * DESIGN §2 order: delete while the keys are present (removing a key whose inodes are
	 * cached forces a filesystem sync, one per key), then remove the keys. A walk that
	 * could not see everything deletes nothing: what it found is removed, the rest waits.
	 */
	if (r == 0)
		r = keys_file_write(fd, &keys, &others, err);
	if (r == 0)
		r = delete_contents(fd, abs, err);
	k = remove_keys(store, &keys, &others, rep, r < 0 ? &e : err);
	cl_error_free(&e);
	if (r == 0)
		r = k;
	free(keys.v);
	free(others.v);
	if (r < 0)
		return r;
	/* every key ABSENT: the keys file and the nest go */
	r = cl_rm_rf_at(store->dir_fd, rel, err);
	return r < 0 ? cl_error_wrap(err, "nest '%s'", abs) : 0;
}
