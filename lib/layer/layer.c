/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Making layers: create, unlock, and the config rewrite of prepare and precreate. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/proc.h"
#include "lib/exec/ns.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/layer/internal.h"
#include "lib/mount/overlay.h"
#include "lib/sandbox/sandbox.h"

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

/* The base, opened once: what the checks see is what the overlay gets (issue 15). */
struct lower {
	char *path; /* canonical, read back from the opened fd */
	struct stat st;
	bool pseudo_fs, encrypted;
	const char *snapshot; /* unlock of a btrfs layer: the recorded snapshot */
};

static void lower_clear(struct lower *l)
{
	free(l->path);
	memset(l, 0, sizeof(*l));
}

/* the canonical path of what @fd is, checked to name that very object now */
static int fd_path(int fd, const struct stat *st, const char *what, char **ret,
		   struct cl_error **err)
{
	char proc[64], buf[PATH_MAX];
	struct stat now;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf));
	if (n < 0)
		return cl_error_set(err, errno, "%s: readlink '%s'", what, proc);
	if ((size_t)n >= sizeof(buf))
		return cl_error_set(err, ENAMETOOLONG, "%s", what);
	buf[n] = '\0';
	/* " (deleted)", another namespace's path, a rename meanwhile: not the same object */
	if (buf[0] != '/' || stat(buf, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino)
		return cl_error_set(err, ESTALE, "%s: moved or replaced while it was opened", what);
	*ret = strdup(buf);
	return *ret ? 0 : cl_error_set(err, ENOMEM, "%s", what);
}

/* proc, sysfs and the like, or the filesystem /dev is on (devtmpfs, a tmpfs on /dev) */
static bool on_pseudo_fs(int fd, const struct stat *st)
{
	static const unsigned long magic[] = {
	    0x9fa0,	/* PROC_SUPER_MAGIC */
	    0x62656572, /* SYSFS_MAGIC */
	    0x1cd1,	/* DEVPTS_SUPER_MAGIC */
	    0x27e0eb,	/* CGROUP_SUPER_MAGIC */
	    0x63677270, /* CGROUP2_SUPER_MAGIC */
	    0x73636673, /* SECURITYFS_MAGIC */
	    0x64626720, /* DEBUGFS_MAGIC */
	    0x74726163, /* TRACEFS_MAGIC */
	    0xcafe4a11, /* BPF_FS_MAGIC */
	    0xf97cff8c, /* SELINUX_MAGIC */
	    0xde5e81e4, /* EFIVARFS_MAGIC */
	    0x6e736673, /* NSFS_MAGIC */
	};
	struct statfs sfs;
	struct stat dev;

	if (fstatfs(fd, &sfs) < 0)
		return true; /* unknown: refuse */
	for (size_t i = 0; i < CL_ARRAY_SIZE(magic); i++)
		if ((unsigned long)sfs.f_type == magic[i])
			return true;
	return stat("/dev", &dev) == 0 && dev.st_dev == st->st_dev;
}

/* an fscrypt policy: the base is (inside) a layer's upper, of this store or another */
static bool has_policy(int fd)
{
	_cleanup_close_ int dfd = -1;
	char proc[64];
	bool enc = false;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	dfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	return cl_fscrypt_get_policy(dfd, &enc, NULL, NULL) == 0 && enc;
}

/*
 * A layer's merged view (any store, cli or bundle mode): an overlay mounted on
 * <layer>/merged beside <layer>/crypt, which has an fscrypt policy. Its plaintext would
 * be readable through the new layer. (A hook layer's merged is root.path in the
 * container's namespace: nothing of it shows here.)
 */
static bool is_layer_merged(int fd, const char *path, const struct stat *st)
{
	_cleanup_free_ char *top = strdup(path), *crypt = NULL;
	_cleanup_close_ int cfd = -1;
	struct statfs sfs;
	char *slash;
	bool enc = false;

	if (!top || fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != 0x794c7630UL)
		return false; /* OVERLAYFS_SUPER_MAGIC */
	/* climb to the overlay's mount point: the highest ancestor on the same device */
	while ((slash = strrchr(top, '/')) && slash != top) {
		struct stat up;

		*slash = '\0';
		if (stat(top, &up) < 0 || up.st_dev != st->st_dev) {
			*slash = '/';
			break;
		}
	}
	slash = strrchr(top, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (asprintf(&crypt, "%s/crypt", top) < 0)
		return false;
	cfd = open(crypt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return cfd >= 0 && cl_fscrypt_get_policy(cfd, &enc, NULL, NULL) == 0 && enc;
}

/*
 * Open @given once (O_PATH|O_DIRECTORY) and take every fact from that fd: its canonical
 * path (/proc/self/fd), mode and owner, identity (exec re-checks it), filesystem type
 * and fscrypt policy. Never realpath() and a second open: a swapped symlink changes
 * the identity, and exec refuses then.
 */
static int resolve_lower(const char *given, struct lower *ret, struct cl_error **err)
{
	_cleanup_close_ int fd = -1;
	struct lower l = {};
	int r;

	if (given[0] != '/')
		return cl_error_set(err, EINVAL, "base '%s' is not an absolute path", given);
	fd = open(given, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cl_error_set(err, errno, "base '%s'", given);
	if (fstat(fd, &l.st) < 0)
		return cl_error_set(err, errno, "base '%s'", given);
	if (!S_ISDIR(l.st.st_mode))
		return cl_error_set(err, ENOTDIR, "base '%s'", given);
	r = fd_path(fd, &l.st, "base", &l.path, err);
	if (r < 0)
		return cl_error_wrap(err, "'%s'", given);
	l.pseudo_fs = on_pseudo_fs(fd, &l.st);
	l.encrypted = has_policy(fd) || is_layer_merged(fd, l.path, &l.st);
	*ret = l;
	return 0;
}

/* canonical @path when it resolves, else @path as given (a store not made yet) */
static char *canonical_or_given(const char *path)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	_cleanup_free_ char *real = NULL;
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && fd_path(fd, &st, path, &real, NULL) == 0)
		return TAKE_PTR(real);
	return strdup(path);
}

#define N_DENY 7

/* canonical paths: [0, N_DENY) what no base may be, contain or be inside; then --base-dir */
struct base_paths {
	char *v[N_DENY + CL_LAYER_MAX_BASE_DIRS];
	size_t n_allow;
};

static void base_paths_free(struct base_paths *b)
{
	for (size_t i = 0; i < CL_ARRAY_SIZE(b->v); i++)
		free(b->v[i]);
}

static int base_paths_fill(const struct cl_ctx *ctx, struct cl_store *store, struct base_paths *b)
{
	const char *deny[N_DENY] = {ctx->root, store->dir, ctx->run_dir, "/etc/cryptlayer",
				    "/proc",   "/sys",	   "/dev"};

	b->n_allow =
	    ctx->n_base_dirs < CL_LAYER_MAX_BASE_DIRS ? ctx->n_base_dirs : CL_LAYER_MAX_BASE_DIRS;
	for (size_t i = 0; i < N_DENY + b->n_allow; i++) {
		b->v[i] = canonical_or_given(i < N_DENY ? deny[i] : ctx->base_dirs[i - N_DENY]);
		if (!b->v[i])
			return -ENOMEM;
	}
	return 0;
}

/* plan (create or unlock) over the resolved @lower and run it */
static int plan_run(const struct cl_ctx *ctx, const struct cl_layer_args *a, struct cl_store *store,
		    const struct lower *lower, bool unlock, struct cl_record *ret_rec,
		    struct cl_error **err)
{
	const struct stat *st = &lower->st;
	_cleanup_(base_paths_free) struct base_paths bp = {};
	struct cl_plan_input in = {
	    .id = a->id,
	    .req = a->req,
	    .lower = lower->path,
	    .lower_mode = st->st_mode,
	    .lower_uid = st->st_uid,
	    .lower_gid = st->st_gid,
	    .store_root = ctx->root,
	    .store_dir = store->dir,
	    .run_dir = ctx->run_dir,
	    .owner = a->owner,
	    .root_path = a->root_path,
	    .pid = a->pid,
	    .bundle = a->bundle,
	    .owner_dir = a->owner_dir,
	    .machine_key = ctx->machine_key,
	    .populate = a->populate != NULL,
	    .creator = getpid(),
	    .lower_is_root = a->lower_is_root,
	    .allow = (const char *const *)bp.v + N_DENY,
	    .allow_required = ctx->base_dir_required,
	    .deny = (const char *const *)bp.v,
	    .n_deny = N_DENY,
	    .lower_pseudo_fs = lower->pseudo_fs,
	    .lower_encrypted = lower->encrypted,
	    .lower_dev = st->st_dev,
	    .lower_ino = st->st_ino,
	};
	struct cl_plan plan = {};
	int r;

	if (base_paths_fill(ctx, store, &bp) < 0)
		return cl_error_set(err, ENOMEM, "base checks");
	if (a->req->nested)
		cl_layer_nest_facts(a->config, &in.nest_userns, &in.nest_no_sys_admin);
	in.n_allow = bp.n_allow;
	in.snapshot = lower->snapshot;
	if (a->req->backend == CL_BACKEND_BTRFS && !unlock &&
	    cl_layer_btrfs_facts(ctx, lower->path, a->id, &in) < 0)
		return cl_error_set(err, ENOMEM, "btrfs facts");
	/* identities that survive pid reuse: the container's init and this process */
	if (a->pid > 0 && cl_proc_start_time(a->pid, &in.pid_start) < 0)
		return cl_error_set(err, ESRCH, "container process %d is gone", (int)a->pid);
	(void)cl_proc_start_time(in.creator, &in.creator_start);
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

/* nothing of layer @id may exist before its record is written: not even a dead creation */
static int check_free(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
		      struct cl_error **err)
{
	static const char *const dirs[] = {"containers", "keys", "snapshots"};
	char path[512];
	int r;

	if (!cl_oci_id_valid(id))
		return cl_error_set(err, EINVAL, "invalid layer id '%.64s'", id);
	r = cl_layer_finish_stale(ctx, id, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.json", ctx->run_dir, id);
	if (access(path, F_OK) == 0)
		return cl_error_set(err, EEXIST, "layer '%s' already exists", id);
	for (size_t i = 0; i < CL_ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], id);
		if (faccessat(store->dir_fd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return cl_error_set(err, EEXIST,
					    "layer '%s' already exists in the store "
					    "('cryptlayer gc' or 'destroy' reclaims a leftover)",
					    id);
	}
	return 0;
}

static int create_nolock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			 struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(lower_clear) struct lower lower = {};
	int r;

	r = resolve_lower(a->lower, &lower, err);
	if (r < 0)
		return r;
	r = cl_store_open(ctx->root, 0, true, &store, err);
	if (r < 0)
		return r;
	r = check_free(ctx, store, a->id, err);
	if (r < 0)
		return r;
	return plan_run(ctx, a, store, &lower, false, ret_rec, err);
}

/* a record whose key is present and whose mount is live: nothing to unlock */
static bool is_unlocked(struct cl_store *store, const struct cl_record *rec)
{
	enum cl_key_status st;
	struct cl_key_id kid;
	char buf[CL_LAYER_WHY_MAX];
	const char *why;

	if (cl_layer_is_creating(rec) || !rec->key_id ||
	    cl_key_id_from_hex(rec->key_id, &kid) < 0 ||
	    cl_fscrypt_key_status(store->dir_fd, &kid, &st, NULL) < 0 || st != CL_KEY_PRESENT)
		return false;
	if (rec->owner && !strcmp(rec->owner, "hook"))
		return cl_layer_in_use(rec, buf, sizeof(buf), &why);
	return rec->merged && cl_mount_is_mountpoint(rec->merged) > 0;
}

static int unlock_found(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			struct cl_store *store, struct cl_record *rec, struct cl_record *ret_rec,
			struct cl_error **err)
{
	_cleanup_(lower_clear) struct lower lower = {};
	struct cl_request req = {.enabled = true, .keymode = CL_KEY_PERSISTENT};
	struct cl_layer_args args = *a;
	int r;

	if (!rec->keymode || strcmp(rec->keymode, "persistent"))
		return cl_error_set(err, EINVAL, "layer '%s' is ephemeral: nothing to unlock",
				    a->id);
	r = resolve_lower(a->lower ? a->lower : rec->base, &lower, err);
	if (r < 0)
		return cl_error_wrap(err, "layer '%s'", a->id);
	if (strcmp(lower.path, rec->base))
		return cl_error_set(err, EINVAL, "layer '%s' was made over '%s', not '%s'", a->id,
				    rec->base, lower.path);
	if (rec->backend && !strcmp(rec->backend, "btrfs"))
		req.backend = CL_BACKEND_BTRFS;
	if (args.req && args.req->backend != req.backend)
		return cl_error_set(err, EINVAL, "layer '%s' was made with backend '%s', not '%s'",
				    a->id, cl_oci_backend_name(req.backend),
				    cl_oci_backend_name(args.req->backend));
	if (!args.req)
		args.req = &req;
	if (args.req->keymode != CL_KEY_PERSISTENT)
		return cl_error_set(err, EINVAL,
				    "layer '%s' is persistent: the request says "
				    "ephemeral",
				    a->id);
	lower.snapshot = rec->snapshot;
	/* the owner recorded at creation stays: gc decides by it */
	if (!args.owner_dir)
		args.owner_dir = rec->owner_dir;
	return plan_run(ctx, &args, store, &lower, true, ret_rec, err);
}

static int unlock_nolock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			 struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	bool locked = false;
	int r;

	r = cl_layer_finish_stale(ctx, a->id, err);
	if (r >= 0)
		r = cl_layer_find(ctx, a->id, &store, &rec, &locked, err);
	if (r == 0)
		return cl_error_set(err, ENOENT, "no persistent layer '%s'", a->id);
	if (r < 0)
		return r;
	if (rec.keymode && !strcmp(rec.keymode, "persistent") && !locked &&
	    is_unlocked(store, &rec)) {
		/* a container needs the overlay in its own namespace: not one mounted already */
		if (a->owner == CL_OWNER_HOOK)
			return cl_error_set(err, EBUSY,
					    "layer '%s' is unlocked and mounted at '%s' "
					    "('cryptlayer lock' it first)",
					    a->id, rec.merged ? rec.merged : "?");
		/* idempotent: already unlocked, report it */
		if (ret_rec) {
			*ret_rec = rec;
			memset(&rec, 0, sizeof(rec));
		}
		return 0;
	}
	return unlock_found(ctx, a, store, &rec, ret_rec, err);
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

/*
 * A hook's overlay goes onto root.path in the container's mount namespace: when @a->pid
 * shares ours (a config without a mount namespace, a forged state, PID 1), it would land
 * on a host path that nothing ever unmounts. Refused before anything exists (issue 15).
 */
static int check_target_ns(const struct cl_layer_args *a, struct cl_error **err)
{
	int r;

	if (a->owner != CL_OWNER_HOOK)
		return 0;
	r = cl_ns_same_as_pid(a->pid);
	if (r == -ENOENT || r == -ESRCH)
		return cl_error_set(err, ESRCH, "container process %d is gone", (int)a->pid);
	if (r < 0)
		return cl_error_set(err, -r, "mount namespace of container process %d",
				    (int)a->pid);
	if (r > 0)
		return cl_error_set(
		    err, EPERM,
		    "container '%s': process %d shares the hook's mount namespace "
		    "(no mount namespace in the config, or a forged state): refused",
		    a->id, (int)a->pid);
	return 0;
}

typedef int (*layer_fn)(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			struct cl_record *ret_rec, struct cl_error **err);

static int locked_call(layer_fn fn, const struct cl_ctx *ctx, const struct cl_layer_args *a,
		       struct cl_record *ret_rec, struct cl_error **err)
{
	_cleanup_close_ int lk = -1;
	int r = check_target_ns(a, err);

	if (r < 0)
		return r;
	r = cl_layer_id_lock(ctx, a->id, &lk, err);
	if (r < 0)
		return r;
	r = fn(ctx, a, ret_rec, err);
	cl_layer_id_unlock(ctx, a->id, &lk);
	return r;
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

/* create or unlock, then the config rewritten to use it; on failure stop what was made */
static int create_rewrite_nolock(const struct cl_ctx *ctx, const struct cl_layer_args *a,
				 const char *json, size_t len, char **ret_json,
				 struct cl_error **err)
{
	const char *argv[16] = {ctx->self, "--root", ctx->root, "--run-dir", ctx->run_dir};
	_cleanup_(cl_record_clear) struct cl_record rec = {};
	size_t n = 5;
	int r;

	if (ctx->machine_key) {
		argv[n++] = "--machine-key";
		argv[n++] = ctx->machine_key;
	}
	if (ctx->sandbox_flags & CL_SANDBOX_NO_SECCOMP)
		argv[n++] = "--insecure-no-seccomp";
	argv[n++] = "hook";
	argv[n++] = "poststop";
	argv[n++] = "--id";
	argv[n++] = a->id;
	/* a persistent layer of this id made by an earlier run is unlocked, not re-made */
	r = create_or_unlock_nolock(ctx, a, &rec, err);
	if (r < 0)
		return r;
	r = cl_oci_config_rewrite(json, len, rec.merged, argv, ret_json, err);
	if (r < 0) {
		_cleanup_(cl_store_freep) struct cl_store *store = NULL;

		/* erases an ephemeral layer, locks a persistent one (its data stays) */
		if (cl_store_open(rec.store_root, 0, false, &store, NULL) == 0)
			(void)cl_layer_teardown(ctx, store, &rec, false, NULL, NULL);
	}
	return r;
}

int cl_layer_create_rewrite(const struct cl_ctx *ctx, const struct cl_layer_args *a,
			    const char *json, size_t len, char **ret_json, struct cl_error **err)
{
	_cleanup_close_ int lk = -1;
	int r = cl_layer_id_lock(ctx, a->id, &lk, err);

	if (r < 0)
		return r;
	r = create_rewrite_nolock(ctx, a, json, len, ret_json, err);
	cl_layer_id_unlock(ctx, a->id, &lk);
	return r;
}

void cl_layer_store_ready(const struct cl_ctx *ctx, bool create)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_error *err = NULL;

	/*
	 * may run mkfs.ext4, attach a loop device and mount it: before the sandbox forbids
	 * all three. Best effort: a failure is met again, and reported, by the command itself
	 */
	(void)cl_store_open(ctx->root, 0, create, &store, &err);
	cl_error_free(&err);
}
