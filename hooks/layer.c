/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/layer.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/mount/overlay.h"
#include "lib/store/store.h"

int cl_layer_new_id(char **ret)
{
	unsigned char b[8];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -EIO;
	if (asprintf(ret, "cl-%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
		     b[6], b[7]) < 0)
		return -ENOMEM;
	return 0;
}

static int resolve_lower(const char *lower, char **ret_real, struct stat *ret_st,
			 struct cl_error **err)
{
	_cleanup_free_ char *real = NULL;

	if (lower[0] != '/')
		return cl_error_set(err, EINVAL, "base '%s' is not an absolute path", lower);
	real = realpath(lower, NULL);
	if (!real)
		return cl_error_set(err, errno, "base '%s'", lower);
	if (stat(real, ret_st) < 0)
		return cl_error_set(err, errno, "base '%s'", lower);
	if (!S_ISDIR(ret_st->st_mode))
		return cl_error_set(err, ENOTDIR, "base '%s'", lower);
	*ret_real = TAKE_PTR(real);
	return 0;
}

/*
 * One operation per layer id at a time (DESIGN §4): an flock on <root>/locks/<id>, held
 * until *ret_fd is closed. An invalid id takes no lock (*ret_fd = -1): the operation
 * itself refuses it. destroy unlinks the file under the lock, so a waiter that then
 * holds a file no longer at that path retries with a fresh one.
 */
static int lock_id(const struct cl_ctx *ctx, const char *id, int *ret_fd, struct cl_error **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL;
	int r;

	*ret_fd = -1;
	if (!id || !cl_oci_id_valid(id))
		return 0;
	if (asprintf(&dir, "%s/locks", ctx->root) < 0 || asprintf(&path, "%s/%s", dir, id) < 0)
		return cl_error_set(err, ENOMEM, "lock of layer '%s'", id);
	r = cl_mkdir_p_at(AT_FDCWD, dir, 0700, err);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_close_ int fd =
		    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		struct stat held, now;

		if (fd < 0)
			return cl_error_set(err, errno, "open '%s'", path);
		if (flock(fd, LOCK_EX) < 0)
			return cl_error_set(err, errno, "lock '%s'", path);
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0 && held.st_ino == now.st_ino &&
		    held.st_dev == now.st_dev) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
	}
}

/* under the lock of a layer erased for good */
static void unlock_id_remove(const struct cl_ctx *ctx, const char *id)
{
	_cleanup_free_ char *path = NULL;

	if (cl_oci_id_valid(id) && asprintf(&path, "%s/locks/%s", ctx->root, id) >= 0)
		(void)unlink(path);
}

/* plan (create or unlock) over the resolved @lower and run it */
static int plan_run(const struct cl_ctx *ctx, const struct cl_layer_args *a, struct cl_store *store,
		    const char *lower, const struct stat *st, bool unlock,
		    struct cl_record *ret_rec, struct cl_error **err)
{
	struct cl_plan_input in = {
	    .id = a->id,
	    .req = a->req,
	    .lower = lower,
	    .lower_mode = st->st_mode,
	    .lower_uid = st->st_uid,
	    .lower_gid = st->st_gid,
	    .store_root = ctx->root,
	    .store_dir = store->dir,
	    .run_dir = ctx->run_dir,
	    .owner = a->owner,
	    .root_path = a->root_path,
	    .pid = a->pid,
	    .owner_dir = a->owner_dir,
	    .machine_key = ctx->machine_key,
	    .populate = a->populate != NULL,
	};
	struct cl_plan plan = {};
	int r;

	r = unlock ? cl_plan_unlock(&in, &plan, err) : cl_plan_create(&in, &plan, err);
	if (r < 0)
		return r;
	r = cl_exec_create_populated(store, &plan, ctx->run_dir, a->populate, a->populate_ctx, err);
	if (r == 0 && ret_rec) {
		*ret_rec = plan.rec;
		memset(&plan.rec, 0, sizeof(plan.rec));
	}
	cl_plan_clear(&plan);
	return r;
}

static int create_nolock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			 struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_free_ char *lower = NULL;
	struct stat st;
	int r;

	r = resolve_lower(a->lower, &lower, &st, err);
	if (r < 0)
		return r;
	r = cl_store_open(ctx->root, 0, true, &store, err);
	if (r < 0)
		return r;
	return plan_run(ctx, a, store, lower, &st, false, ret_rec, err);
}

/* A zombie has exited: its parent (init, if the runtime detached) has not reaped it yet. */
static bool is_zombie(pid_t pid)
{
	char path[32], buf[512], *end;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold ')' itself, so take the last one */
	end = strrchr(buf, ')');
	return end && end[1] == ' ' && end[2] == 'Z';
}

bool cl_layer_pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) && !is_zombie(pid);
}

/*
 * Layer @id: its run-dir record, else its store descriptor (a locked persistent layer,
 * or one whose record vanished at reboot), with the store it lives in.
 * Return: 1 found, 0 neither exists, -errno.
 */
static int find_layer(const struct cl_ctx *ctx, const char *id, struct cl_store **ret_store,
		      struct cl_record *ret, bool *ret_locked, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_record rec = {};
	bool locked = false;
	int r;

	if (!cl_oci_id_valid(id))
		return cl_error_set(err, EINVAL, "invalid layer id '%.64s'", id);
	r = cl_record_read(ctx->run_dir, id, &rec, err);
	if (r == -ENOENT) {
		cl_error_free(err);
		locked = true;
		r = cl_store_open(ctx->root, 0, false, &store, err);
		if (r == 0)
			r = cl_record_desc_read(store->dir_fd, ctx->root, store->dir, id, &rec,
						err);
		if (r == -ENOENT) {
			cl_error_free(err);
			return 0;
		}
	} else if (r == 0) {
		r = cl_store_open(rec.store_root, 0, false, &store, err);
	}
	if (r < 0) {
		cl_record_clear(&rec);
		return r;
	}
	*ret = rec;
	*ret_store = TAKE_PTR(store);
	*ret_locked = locked;
	return 1;
}

static int check_idle(const struct cl_record *rec, struct cl_error **err)
{
	if (rec->owner && !strcmp(rec->owner, "hook") && cl_layer_pid_alive(rec->pid))
		return cl_error_set(err, EBUSY, "layer '%s' is in use by running container pid %d",
				    rec->id, (int)rec->pid);
	return 0;
}

/* find @id and run a teardown plan on it: erase, or what a stop does (lock persistent) */
static int stop_nolock(const struct cl_ctx *ctx, const char *id, bool erase, bool stopped,
		       bool must_exist, struct cl_teardown_report *ret_rep, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_record rec = {};
	struct cl_plan plan = {};
	bool locked = false;
	int r;

	r = find_layer(ctx, id, &store, &rec, &locked, err);
	if (r == 0 && must_exist)
		return cl_error_set(err, ENOENT, "no layer '%s'", id);
	if (r <= 0)
		return r; /* already gone: success */
	if (must_exist && (!rec.keymode || strcmp(rec.keymode, "persistent")))
		r = cl_error_set(err, EINVAL,
				 "layer '%s' is ephemeral: it cannot be locked "
				 "('destroy' erases it)",
				 id);
	else if (!stopped)
		r = check_idle(&rec, err);
	if (r >= 0)
		r = erase ? cl_plan_erase(&rec, &plan, err) : cl_plan_teardown(&rec, &plan, err);
	if (r >= 0)
		r = cl_exec_teardown(store, &rec, &plan, ctx->run_dir, ret_rep, err);
	if (r >= 0 && ret_rep)
		ret_rep->kept = !plan.ephemeral && !erase;
	cl_plan_clear(&plan);
	cl_record_clear(&rec);
	return r;
}

/* stop_nolock() under the layer's lock; a layer erased for good loses its lock file */
static int stop_layer(const struct cl_ctx *ctx, const char *id, bool erase, bool stopped,
		      bool must_exist, struct cl_teardown_report *ret_rep, struct cl_error **err)
{
	_cleanup_close_ int lk = -1;
	int r;

	r = lock_id(ctx, id, &lk, err);
	if (r < 0)
		return r;
	r = stop_nolock(ctx, id, erase, stopped, must_exist, ret_rep, err);
	if (r == 0 && erase)
		unlock_id_remove(ctx, id);
	return r;
}

int cl_layer_destroy(const struct cl_ctx *ctx, const char *id, bool stopped,
		     struct cl_teardown_report *ret_rep, struct cl_error **err)
{
	return stop_layer(ctx, id, true, stopped, false, ret_rep, err);
}

int cl_layer_stop(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		  struct cl_error **err)
{
	return stop_layer(ctx, id, false, true, false, ret_rep, err);
}

int cl_layer_lock(const struct cl_ctx *ctx, const char *id, struct cl_teardown_report *ret_rep,
		  struct cl_error **err)
{
	return stop_layer(ctx, id, false, false, true, ret_rep, err);
}

/* a record whose key is present and whose mount is live: nothing to unlock */
static bool is_unlocked(struct cl_store *store, const struct cl_record *rec)
{
	enum cl_key_status st;
	struct cl_key_id kid;

	if (!rec->key_id || cl_key_id_from_hex(rec->key_id, &kid) < 0 ||
	    cl_fscrypt_key_status(store->dir_fd, &kid, &st, NULL) < 0 || st != CL_KEY_PRESENT)
		return false;
	if (rec->owner && !strcmp(rec->owner, "hook"))
		return cl_layer_pid_alive(rec->pid);
	return rec->merged && cl_mount_is_mountpoint(rec->merged) > 0;
}

static int unlock_found(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			struct cl_store *store, struct cl_record *rec, struct cl_record *ret_rec,
			struct cl_error **err)
{
	_cleanup_free_ char *lower = NULL;
	struct cl_request req = {.enabled = true, .keymode = CL_KEY_PERSISTENT};
	struct cl_layer_args args = *a;
	struct stat st;
	int r;

	if (!rec->keymode || strcmp(rec->keymode, "persistent"))
		return cl_error_set(err, EINVAL, "layer '%s' is ephemeral: nothing to unlock",
				    a->id);
	r = resolve_lower(a->lower ? a->lower : rec->base, &lower, &st, err);
	if (r < 0)
		return cl_error_wrap(err, "layer '%s'", a->id);
	if (strcmp(lower, rec->base))
		return cl_error_set(err, EINVAL, "layer '%s' was made over '%s', not '%s'", a->id,
				    rec->base, lower);
	if (!args.req)
		args.req = &req;
	if (args.req->keymode != CL_KEY_PERSISTENT)
		return cl_error_set(err, EINVAL,
				    "layer '%s' is persistent: the request says "
				    "ephemeral",
				    a->id);
	return plan_run(ctx, &args, store, lower, &st, true, ret_rec, err);
}

static int unlock_nolock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			 struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_record rec = {};
	bool locked = false;
	int r;

	r = find_layer(ctx, a->id, &store, &rec, &locked, err);
	if (r == 0)
		return cl_error_set(err, ENOENT, "no persistent layer '%s'", a->id);
	if (r < 0)
		return r;
	if (rec.keymode && !strcmp(rec.keymode, "persistent") && !locked &&
	    is_unlocked(store, &rec)) {
		/* a container needs the overlay in its own namespace: not one mounted already */
		if (a->owner == CL_OWNER_HOOK) {
			r = cl_error_set(err, EBUSY,
					 "layer '%s' is unlocked and mounted at '%s' "
					 "('cryptlayer lock' it first)",
					 a->id, rec.merged ? rec.merged : "?");
			cl_record_clear(&rec);
			return r;
		}
		/* idempotent: already unlocked, report it */
		if (ret_rec)
			*ret_rec = rec;
		else
			cl_record_clear(&rec);
		return 0;
	}
	r = unlock_found(ctx, a, store, &rec, ret_rec, err);
	cl_record_clear(&rec);
	return r;
}

static int create_or_unlock_nolock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
				   struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_record rec = {};
	int r;

	if (a->req->keymode != CL_KEY_PERSISTENT || !cl_oci_id_valid(a->id))
		return create_nolock(ctx, a, ret_rec, err);
	r = cl_store_open(ctx->root, 0, true, &store, err);
	if (r < 0)
		return r;
	r = cl_record_desc_read(store->dir_fd, ctx->root, store->dir, a->id, &rec, NULL);
	cl_record_clear(&rec);
	if (r == -ENOENT)
		return create_nolock(ctx, a, ret_rec, err);
	return unlock_nolock(ctx, a, ret_rec, err);
}

typedef int (*layer_fn)(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			struct cl_record *ret_rec, struct cl_error **err);

static int locked_call(layer_fn fn, const struct cl_ctx *ctx, const struct cl_layer_args *a,
		       struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_close_ int lk = -1;
	int r = lock_id(ctx, a->id, &lk, err);

	return r < 0 ? r : fn(ctx, a, ret_rec, err);
}

int cl_layer_create(const struct cl_ctx *ctx, const struct cl_layer_args *a,
		    struct cl_record *ret_rec, struct cl_error **err)
{
	return locked_call(create_nolock, ctx, a, ret_rec, err);
}

int cl_layer_unlock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
		    struct cl_record *ret_rec, struct cl_error **err)
{
	return locked_call(unlock_nolock, ctx, a, ret_rec, err);
}

int cl_layer_create_or_unlock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			      struct cl_record *ret_rec, struct cl_error **err)
{
	return locked_call(create_or_unlock_nolock, ctx, a, ret_rec, err);
}

int cl_layer_create_rewrite(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			    const char *json, size_t len, char **ret_json, struct cl_error **err)
{
	const char *argv[16] = {ctx->self, "--root", ctx->root, "--run-dir", ctx->run_dir};
	struct cl_record rec = {};
	_cleanup_close_ int lk = -1;
	size_t n = 5;
	int r;

	if (ctx->machine_key) {
		argv[n++] = "--machine-key";
		argv[n++] = ctx->machine_key;
	}
	argv[n++] = "hook";
	argv[n++] = "poststop";
	argv[n++] = "--id";
	argv[n++] = a->id;
	/* a persistent layer of this id made by an earlier run is unlocked, not re-made */
	r = lock_id(ctx, a->id, &lk, err);
	if (r < 0)
		return r;
	r = create_or_unlock_nolock(ctx, a, &rec, err);
	if (r < 0)
		return r;
	r = cl_oci_config_rewrite(json, len, rec.merged, argv, ret_json, err);
	if (r < 0)
		(void)stop_nolock(ctx, a->id, false, true, false, NULL,
				  NULL); /* keeps persistent data */
	cl_record_clear(&rec);
	return r;
}
