/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/btrfs/btrfsutil-dl.h"
#include "lib/btrfs/snapshot.h"
#include "lib/core/bg.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/signals.h"
#include "lib/crypto/keyfile-ops.h"
#include "lib/crypto/machine-key.h"
#include "lib/crypto/secret.h"
#include "lib/exec/exec.h"
#include "lib/exec/ns.h"
#include "lib/mount/overlay.h"
#include "lib/record/record.h"

struct exec_ctx {
	struct cl_store *store;
	struct cl_plan *plan;
	const char *run_dir;
	cl_exec_populate_fn populate;
	void *populate_ctx;
	struct cl_key_id key_id;
	struct cl_secret *key; /* persistent: the new key, until it is wrapped */
	bool record_begun;
	bool layer_made;
	bool key_added;
	bool key_was_present; /* unlock: present before we added it, so undo leaves it */
	bool keyfile_written;
	bool mounted_merged;
	bool mounted_container;
	bool nest_made;
	bool snapshot_dir_made; /* btrfs: the default snapshot directory, made by this run */
	bool snapshot_noted;	/* btrfs: snapshots/<id> in the store names it */
	bool snapshot_made;
};

/* the record as it stands, state @state (creating/unlocking until the last op) */
static int write_record(struct exec_ctx *c, const char *state, struct cl_error **err)
{
	struct cl_record *rec = &c->plan->rec;
	char *s = strdup(state);

	if (!s)
		return cl_error_set(err, ENOMEM, "record");
	free(rec->state);
	rec->state = s;
	if (!strcmp(state, "running"))
		rec->creator = 0, rec->creator_start = 0;
	return cl_record_write(c->run_dir, rec, err);
}

/* name the key in the record before it exists in the kernel: a kill -9 leaves it findable */
static int record_key_id(struct exec_ctx *c, const struct cl_key_id *id, struct cl_error **err)
{
	char *hex = strdup(id->hex);

	if (!hex)
		return cl_error_set(err, ENOMEM, "key id");
	free(c->plan->rec.key_id);
	c->plan->rec.key_id = hex;
	return write_record(c, c->plan->begin_state, err);
}

static int open_dir_at(int dfd, const char *rel, int flags, struct cl_error **err)
{
	int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | flags);

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", rel);
	return fd;
}

static int op_mkdir_layer(struct exec_ctx *c, struct cl_error **err)
{
	struct cl_plan *p = c->plan;

	int r = cl_mkdir_p_at(c->store->dir_fd, "containers", 0700, err);

	if (r < 0)
		return r;
	if (mkdirat(c->store->dir_fd, p->layer_rel, 0700) < 0)
		return cl_error_set(err, errno,
				    errno == EEXIST ? "layer '%s' already exists" : "mkdir '%s'",
				    errno == EEXIST ? p->rec.id : p->rec.layer_dir);
	c->layer_made = true;
	if (mkdirat(c->store->dir_fd, p->crypt_rel, 0700) < 0)
		return cl_error_set(err, errno, "mkdir '%s/crypt'", p->rec.layer_dir);
	return 0;
}

/*
 * The identifier the kernel will give @key: through AF_ALG (microseconds, no OpenSSL on
 * the hook's path), else with OpenSSL from the crypto plugin (kernels without AF_ALG).
 */
static int compute_key_id(const struct cl_secret *key, struct cl_key_id *ret, struct cl_error **err)
{
	const struct cl_keyfile_ops *kops = NULL;
	struct cl_error *e = NULL;
	int r = cl_fscrypt_key_id_compute(key, ret, &e);

	if (r != -EAFNOSUPPORT && r != -ENOENT && r != -EOPNOTSUPP)
		return r < 0 ? cl_error_move(err, &e) : 0;
	cl_error_free(&e);
	kops = cl_keyfile_ops(err);
	if (!kops)
		return cl_error_wrap(err, "fscrypt key identifier without AF_ALG");
	r = kops->fscrypt_key_id(key, ret->bytes, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(ret->bytes); i++)
		snprintf(ret->hex + 2 * i, 3, "%02x", ret->bytes[i]);
	return 0;
}

/*
 * The kernel names the key as it adds it, through a provisioning key that stays until the
 * record names the identifier (lib/fscrypt/provision.c): a kill in between leaves it to
 * the teardown. Return: -EOPNOTSUPP (*err untouched) where no provisioning key can be made.
 */
static int add_key_named_by_kernel(struct exec_ctx *c, const struct cl_secret *key,
				   struct cl_error **err)
{
	char desc[CL_FSCRYPT_PROVISION_DESC_MAX];
	int32_t serial = 0;
	int r = cl_fscrypt_provision_desc(c->store->dir_fd, c->store->dir, c->plan->rec.id, desc,
					  sizeof(desc));

	if (r < 0)
		return -EOPNOTSUPP;
	r = cl_fscrypt_add_key_provisioned(c->store->dir_fd, key, desc, &c->key_id, &serial, err);
	if (r < 0)
		return r;
	c->key_added = true;
	r = record_key_id(c, &c->key_id, err);
	if (r == 0)
		cl_fscrypt_unprovision(desc, serial);
	return r;
}

/*
 * Name @want in the record, then add @key, which the kernel must name @want too (a key
 * whose bytes do not give the identifier @what says is refused with @errnum, added: the
 * undo removes it by the identifier the kernel gave).
 */
static int add_key_as(struct exec_ctx *c, const struct cl_secret *key, const struct cl_key_id *want,
		      int errnum, const char *what, struct cl_error **err)
{
	int r = record_key_id(c, want, err);

	if (r < 0)
		return r;
	r = cl_fscrypt_add_key(c->store->dir_fd, key, &c->key_id, err);
	if (r < 0)
		return r;
	c->key_added = true;
	if (memcmp(c->key_id.bytes, want->bytes, sizeof(want->bytes)))
		return cl_error_set(err, errnum,
				    "layer '%s': the kernel named its key %s, not %s (%s)",
				    c->plan->rec.id, c->key_id.hex, want->hex, what);
	return 0;
}

static int op_add_key(struct exec_ctx *c, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *key = NULL;
	struct cl_key_id want;
	int r;

	/* ephemeral: 64 random bytes, never written anywhere, wiped right after the ioctl */
	key = cl_secret_random(CL_FSCRYPT_KEY_SIZE, err);
	if (!key)
		return cl_error_errnum(err);
	r = add_key_named_by_kernel(c, key, err);
	if (r == -EOPNOTSUPP) {
		/* the identifier computed here first, named in the record before the add */
		r = compute_key_id(key, &want, err);
		if (r == 0)
			r = add_key_as(c, key, &want, EIO, "computed beforehand", err);
	}
	if (r == 0 && !c->plan->ephemeral)
		c->key = TAKE_PTR(key); /* wrapped by the next op, then wiped */
	return r;
}

static int open_keys_dir(struct exec_ctx *c, bool create, struct cl_error **err)
{
	int r = create ? cl_mkdir_p_at(c->store->dir_fd, c->plan->keys_rel, 0700, err) : 0;

	if (r < 0)
		return r;
	return open_dir_at(c->store->dir_fd, c->plan->keys_rel, 0, err);
}

static int op_write_keyfile(struct exec_ctx *c, struct cl_error **err)
{
	_cleanup_secret_ struct cl_secret *mk = NULL, *key = TAKE_PTR(c->key);
	const struct cl_keyfile_ops *kops = cl_keyfile_ops(err);
	_cleanup_close_ int kfd = -1;
	struct cl_keyfile kf;
	int r;

	if (!kops)
		return cl_error_errnum(err);
	if (!key)
		return cl_error_set(err, EINVAL, "write-keyfile without a new key");
	r = cl_machine_key_load(c->plan->machine_key, true, &mk, err);
	if (r < 0)
		return r;
	r = kops->seal(mk, c->plan->rec.id, c->key_id.bytes, key, 1, &kf, err);
	if (r < 0)
		return r;
	kfd = open_keys_dir(c, true, err);
	if (kfd < 0)
		return kfd;
	r = kops->write_at(kfd, c->plan->rec.id, &kf, err);
	if (r < 0)
		return r;
	c->keyfile_written = true;
	return 0;
}

/* unwrap keys/<id>, add the key and check it is the one the layer's policy names */
static int op_load_key(struct exec_ctx *c, struct cl_error **err)
{
	const struct cl_keyfile_ops *kops = NULL;
	_cleanup_secret_ struct cl_secret *mk = NULL, *key = NULL;
	_cleanup_close_ int kfd = -1, cfd = -1;
	unsigned char kid[CL_KEYFILE_KID_LEN];
	struct cl_key_id pol;
	enum cl_key_status st;
	bool enc = false;
	int r;

	cfd = open_dir_at(c->store->dir_fd, c->plan->crypt_rel, 0, err);
	if (cfd < 0)
		return cfd;
	r = cl_fscrypt_get_policy(cfd, &enc, &pol, err);
	if (r < 0)
		return r;
	if (!enc)
		return cl_error_set(err, EINVAL, "layer '%s' has no encryption policy",
				    c->plan->rec.id);
	kops = cl_keyfile_ops(err);
	if (!kops)
		return cl_error_errnum(err);
	r = cl_machine_key_load(c->plan->machine_key, false, &mk, err);
	if (r < 0)
		return r;
	kfd = open_keys_dir(c, false, err);
	if (kfd < 0)
		return kfd;
	r = kops->load_at(kfd, c->plan->rec.id, mk, c->plan->rec.id, &key, kid, NULL, err);
	if (r < 0)
		return r;
	if (memcmp(kid, pol.bytes, sizeof(kid)))
		return cl_error_set(err, EINVAL,
				    "key file of '%s' names another key than policy %s",
				    c->plan->rec.id, pol.hex);
	c->key_was_present =
	    cl_fscrypt_key_status(c->store->dir_fd, &pol, &st, NULL) == 0 && st == CL_KEY_PRESENT;
	return add_key_as(c, key, &pol, EINVAL, "its policy's: the key file holds another key",
			  err);
}

static int op_write_desc(struct exec_ctx *c, struct cl_error **err)
{
	return cl_record_desc_write(c->store->dir_fd, &c->plan->rec, err);
}

static int op_set_policy(struct exec_ctx *c, struct cl_error **err)
{
	_cleanup_close_ int fd = open_dir_at(c->store->dir_fd, c->plan->crypt_rel, 0, err);

	if (fd < 0)
		return fd;
	return cl_fscrypt_set_policy(fd, &c->key_id, err);
}

static int op_mkdir_upper(struct exec_ctx *c, struct cl_error **err)
{
	struct cl_plan *p = c->plan;
	_cleanup_close_ int fd = -1;

	if (mkdirat(c->store->dir_fd, p->upper_rel, 0700) < 0 ||
	    mkdirat(c->store->dir_fd, p->work_rel, 0700) < 0)
		return cl_error_set(err, errno, "mkdir in '%s/crypt'", p->rec.layer_dir);
	/* overlayfs takes the merged root's mode and owner from upper (DESIGN §2) */
	fd = open_dir_at(c->store->dir_fd, p->upper_rel, 0, err);
	if (fd < 0)
		return fd;
	if (fchown(fd, p->upper_uid, p->upper_gid) < 0 || fchmod(fd, p->upper_mode) < 0)
		return cl_error_set(err, errno, "chown/chmod '%s'", p->rec.upper);
	return 0;
}

static int op_populate_upper(struct exec_ctx *c, struct cl_error **err)
{
	_cleanup_close_ int fd = -1;

	if (!c->populate)
		return cl_error_set(err, EINVAL, "op '%s' without a populate callback",
				    cl_plan_op_name(CL_OP_POPULATE_UPPER));
	fd = open_dir_at(c->store->dir_fd, c->plan->upper_rel, 0, err);
	if (fd < 0)
		return fd;
	return c->populate(c->populate_ctx, fd, err);
}

/* the base lib/layer opened and checked, not one swapped in since (issue 15) */
static int open_base(struct exec_ctx *c, int flags, struct cl_error **err)
{
	struct cl_plan *p = c->plan;
	_cleanup_close_ int fd = open(p->rec.base, flags | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return cl_error_set(err, errno, "open base '%s'", p->rec.base);
	if (p->lower_ino &&
	    (fstat(fd, &st) < 0 || st.st_dev != p->lower_dev || st.st_ino != p->lower_ino))
		return cl_error_set(err, ESTALE, "base '%s' was replaced while the layer was made",
				    p->rec.base);
	return TAKE_FD(fd);
}

/* the btrfs snapshot that is the lower: a subvolume still (it was made or kept by us) */
static int open_snapshot(struct exec_ctx *c, struct cl_error **err)
{
	const char *path = c->plan->rec.snapshot;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cl_error_set(err, errno, "open snapshot '%s'", path);
	if (cl_btrfs_is_subvolume_fd(fd) != 1)
		return cl_error_set(err, ESTALE, "snapshot '%s' is not a btrfs subvolume", path);
	return TAKE_FD(fd);
}

/* the snapshot directory, made when it is the default one and missing */
static int open_snapshot_dir(struct exec_ctx *c, struct cl_error **err)
{
	const char *dir = c->plan->snapshot_dir;
	int fd = -1;

	/* a failed create of another id may remove the default dir it made: retry once */
	for (int i = 0; i < 2 && fd < 0; i++) {
		if (c->plan->snapshot_dir_default && mkdir(dir, 0700) == 0)
			c->snapshot_dir_made = true;
		else if (c->plan->snapshot_dir_default && errno != EEXIST)
			break;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			break;
	}
	if (fd >= 0)
		return fd;
	if (errno == ENOSPC || errno == EDQUOT)
		return cl_error_set(err, errno,
				    "snapshot directory '%s': the btrfs filesystem is full", dir);
	return cl_error_set(err, errno, "snapshot directory '%s'", dir);
}

/*
 * The note snapshots/<id> in the store naming the snapshot: records vanish at reboot,
 * the store does not, and gc finds an orphan by it. New (O_EXCL: create refuses an id
 * whose note is left), written before the snapshot is made, complete with its final
 * newline: a kill between the open and the write leaves it empty, and gc removes a note
 * cut short (its snapshot was never made). Not fsynced (DESIGN §6b): a killed create
 * leaves it in the page cache, which gc reads; an fsync cost every create ~1 ms, and
 * durability across a power cut is the gap §6b states.
 */
static int write_note(struct exec_ctx *c, struct cl_error **err)
{
	_cleanup_free_ char *note = NULL, *text = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&note, "snapshots/%s", c->plan->rec.id) < 0 ||
	    asprintf(&text, "%s\n", c->plan->rec.snapshot) < 0)
		return cl_error_set(err, ENOMEM, "snapshot");
	r = cl_mkdir_p_at(c->store->dir_fd, "snapshots", 0700, err);
	if (r < 0)
		return r;
	fd = openat(c->store->dir_fd, note, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return cl_error_set(err, errno, "create '%s/%s'", c->store->dir, note);
	c->snapshot_noted = true;
	r = cl_write_all(fd, text, strlen(text));
	return r < 0 ? cl_error_set(err, -r, "write '%s/%s'", c->store->dir, note) : 0;
}

/*
 * The snapshot into @dir. A teardown over the same base removes our directory once it is
 * empty, maybe between its open and the snapshot: the kernel refuses a dead directory
 * (ENOENT), and the directory is made and opened again.
 */
static int snapshot_into(struct exec_ctx *c, int base, int dir, struct cl_error **err)
{
	struct cl_plan *p = c->plan;
	_cleanup_close_ int again = -1;
	int r;

	for (int i = 0;; i++) {
		r = cl_btrfs_snapshot_fd(base, dir, p->rec.id, p->rec.snapshot, err);
		if (r != -ENOENT || !p->snapshot_dir_default || i == 2)
			return r;
		cl_error_free(err);
		if (again >= 0)
			close(TAKE_FD(again));
		dir = again = open_snapshot_dir(c, err);
		if (again < 0)
			return again;
	}
}

/*
 * Everything the snapshot needs but the ioctl: the checked base and the snapshot directory
 * opened (@ret[0], @ret[1]), the note written, libbtrfsutil loaded.
 */
static int snapshot_prepare(struct exec_ctx *c, int ret[2], struct cl_error **err)
{
	struct cl_plan *p = c->plan;
	_cleanup_close_ int base = -1, dir = -1;
	int r;

	if (!p->snapshot_dir || !p->rec.snapshot)
		return cl_error_set(err, EINVAL, "snapshot op without a snapshot directory");
	base = open_base(c, O_RDONLY, err);
	if (base < 0)
		return base;
	if (cl_btrfs_is_subvolume_fd(base) != 1)
		return cl_error_set(err, ESTALE, "base '%s' is no longer a btrfs subvolume",
				    p->rec.base);
	dir = open_snapshot_dir(c, err);
	if (dir < 0)
		return dir;
	r = write_note(c, err);
	if (r < 0)
		return r;
	if (!cl_btrfsutil(err))
		return cl_error_errnum(err);
	ret[0] = TAKE_FD(base);
	ret[1] = TAKE_FD(dir);
	return 0;
}

/* the read-only snapshot of the prepared base (closes @fds) */
static int snapshot_make(struct exec_ctx *c, int fds[2], struct cl_error **err)
{
	_cleanup_close_ int base = fds[0], dir = fds[1];
	int r = snapshot_into(c, base, dir, err);

	c->snapshot_made = r == 0;
	return r;
}

static int new_overlay(struct exec_ctx *c, struct cl_error **err)
{
	struct cl_plan *p = c->plan;
	_cleanup_close_ int lower = -1, upper = -1, work = -1;

	lower = p->rec.snapshot ? open_snapshot(c, err) : open_base(c, O_PATH, err);
	if (lower < 0)
		return lower;
	upper = open_dir_at(c->store->dir_fd, p->upper_rel, 0, err);
	if (upper < 0)
		return upper;
	work = open_dir_at(c->store->dir_fd, p->work_rel, 0, err);
	if (work < 0)
		return work;
	return cl_overlay_new(lower, upper, work, p->volatile_, err);
}

static int op_mount_merged(struct exec_ctx *c, struct cl_error **err)
{
	struct cl_plan *p = c->plan;
	_cleanup_close_ int mfd = -1, target = -1;
	int r;

	if (mkdirat(c->store->dir_fd, p->merged_rel, 0755) < 0 && errno != EEXIST)
		return cl_error_set(err, errno, "mkdir '%s'", p->rec.merged);
	mfd = new_overlay(c, err);
	if (mfd < 0)
		return mfd;
	target = open_dir_at(c->store->dir_fd, p->merged_rel, 0, err);
	if (target < 0)
		return target;
	r = cl_mount_move_fd(mfd, target, p->rec.merged, err);
	if (r < 0)
		return r;
	c->mounted_merged = true;
	return 0;
}

static int op_mount_container(struct exec_ctx *c, struct cl_error **err)
{
	_cleanup_close_ int mfd = new_overlay(c, err);
	int r;

	if (mfd < 0)
		return mfd;
	r = cl_exec_mount_container(mfd, c->plan->pid, c->plan->rec.merged, err);
	c->mounted_container = r == 0;
	return r;
}

static int op_make_nest(struct exec_ctx *c, struct cl_error **err)
{
	int r = cl_exec_nest_make(c->store, c->plan->rec.id, &c->key_id, err);

	/* a nest of this id that was there already is not ours to erase */
	c->nest_made = r == 0 || (r < 0 && err && *err && (*err)->errnum != EEXIST);
	return r;
}

static int op_mount_nest(struct exec_ctx *c, struct cl_error **err)
{
	const struct cl_plan *p = c->plan;

	return cl_exec_nest_mount(c->store, p->rec.id, p->owner == CL_OWNER_HOOK ? p->pid : 0,
				  p->rec.merged, err);
}

static int run_op(struct exec_ctx *c, enum cl_op_kind k, struct cl_error **err)
{
	switch (k) {
	case CL_OP_BEGIN_RECORD: {
		int r = write_record(c, c->plan->begin_state, err);

		c->record_begun = r == 0;
		return r;
	}
	case CL_OP_MKDIR_LAYER:
		return op_mkdir_layer(c, err);
	case CL_OP_ADD_KEY:
		return op_add_key(c, err);
	case CL_OP_SET_POLICY:
		return op_set_policy(c, err);
	case CL_OP_MKDIR_UPPER:
		return op_mkdir_upper(c, err);
	case CL_OP_POPULATE_UPPER:
		return op_populate_upper(c, err);
	case CL_OP_MOUNT_MERGED:
		return op_mount_merged(c, err);
	case CL_OP_MOUNT_CONTAINER:
		return op_mount_container(c, err);
	case CL_OP_WRITE_RECORD:
		return write_record(c, "running", err);
	case CL_OP_WRITE_KEYFILE:
		return op_write_keyfile(c, err);
	case CL_OP_WRITE_DESC:
		return op_write_desc(c, err);
	case CL_OP_LOAD_KEY:
		return op_load_key(c, err);
	case CL_OP_MAKE_NEST:
		return op_make_nest(c, err);
	case CL_OP_MOUNT_NEST:
		return op_mount_nest(c, err);
	default: /* CL_OP_SNAPSHOT and its wait: run_ops() runs them (snapshot_beside) */
		return cl_error_set(err, EINVAL, "op '%s' in a creation plan", cl_plan_op_name(k));
	}
}

/* a snapshot that was never made (a name in use, a full filesystem): only our traces go */
static void undo_snapshot_note(struct exec_ctx *c)
{
	char note[512];

	snprintf(note, sizeof(note), "snapshots/%s", c->plan->rec.id);
	if (c->snapshot_noted)
		(void)unlinkat(c->store->dir_fd, note, 0);
	if (c->snapshot_dir_made)
		(void)rmdir(c->plan->snapshot_dir);
}

/*
 * Undo is the teardown (DESIGN §4 order) of what this run did: unmount (the container's
 * root.path too), delete the files while the key is present, remove the key and verify
 * it ABSENT, erase a key file, remove the layer; the record goes last, and stays (state
 * creating/unlocking, naming the key) when the key is not ABSENT, so gc finishes it.
 */
static int undo(struct exec_ctx *c, struct cl_error **err)
{
	struct cl_plan t = {.ephemeral = c->plan->ephemeral, .owner = c->plan->owner};
	bool erase = !strcmp(c->plan->begin_state, "creating");
	bool remove_key = c->key_added && !c->key_was_present;

	if (c->mounted_container)
		t.ops[t.n_ops++] = CL_OP_UNMOUNT_CONTAINER;
	if (c->mounted_merged)
		t.ops[t.n_ops++] = CL_OP_UNMOUNT;
	if (erase && c->layer_made && remove_key)
		t.ops[t.n_ops++] = CL_OP_DELETE_FILES;
	if (c->nest_made)
		t.ops[t.n_ops++] = CL_OP_ERASE_NEST;
	if (remove_key)
		t.ops[t.n_ops++] = CL_OP_REMOVE_KEY;
	if (erase && c->keyfile_written)
		t.ops[t.n_ops++] = CL_OP_ERASE_KEYFILE;
	if (erase && c->layer_made)
		t.ops[t.n_ops++] = CL_OP_REMOVE_LAYER;
	if (c->snapshot_made)
		t.ops[t.n_ops++] = CL_OP_DELETE_SNAPSHOT;
	else
		undo_snapshot_note(c);
	if (c->record_begun)
		t.ops[t.n_ops++] = CL_OP_REMOVE_RECORD;
	/* an unlock that failed before adding the key must not remove one present before */
	if (!remove_key) {
		free(c->plan->rec.key_id);
		c->plan->rec.key_id = NULL;
	}
	return cl_exec_teardown(c->store, &c->plan->rec, &t, c->run_dir, NULL, err);
}

/* a terminating signal arrived: taken here, reported as the run's error, undone */
static int interrupted(struct cl_error **err)
{
	int sig = cl_signals_take();

	if (!sig)
		return 0;
	return cl_error_set(err, EINTR, "interrupted by signal %d (%s): undone", sig,
			    strsignal(sig));
}

static int snapshot_beside(struct exec_ctx *c, int i, struct cl_error **err);

/*
 * the plan's ops [@from, @to), in order, up to the first failure or signal; a snapshot
 * runs beside the ops up to its wait (snapshot_beside)
 */
static int run_ops(struct exec_ctx *c, int from, int to, struct cl_error **err)
{
	int r = 0;

	for (int i = from; i < to && r == 0; i++) {
		r = interrupted(err);
		if (r == 0 && c->plan->ops[i] != CL_OP_SNAPSHOT) {
			r = run_op(c, c->plan->ops[i], err);
		} else if (r == 0) {
			r = snapshot_beside(c, i, err);
			i = r < 0 ? i : r;
			r = r < 0 ? r : 0;
		}
	}
	return r;
}

struct side_steps {
	struct exec_ctx *c;
	int from, to;
	bool snapping; /* the snapshot's thread is (about to be) asleep in its ioctl */
};

static int side_job(void *arg, struct cl_error **err)
{
	struct side_steps *s = arg;

	/*
	 * A scheduler that runs a new thread first (EEVDF) would run these steps before the
	 * ioctl starts: give way until it has (bounded: on another CPU it needs no way)
	 */
	for (int i = 0; i < 64 && !__atomic_load_n(&s->snapping, __ATOMIC_ACQUIRE); i++)
		sched_yield();
	return run_ops(s->c, s->from, s->to, err);
}

/*
 * CL_OP_SNAPSHOT at ops[@i]. The snapshot's ioctl sleeps through a btrfs transaction
 * commit (a device flush: 1-2 ms here); the steps after it up to CL_OP_SNAPSHOT_WAIT
 * (key, policy, directories: no fork, no setns) run meanwhile on a second thread, which
 * starts once everything else of the snapshot is ready, so that this thread goes to sleep
 * at once. Both are waited for before anything is undone; the steps' error is reported
 * first. Return: the wait op's index, or -errno.
 */
static int snapshot_beside(struct exec_ctx *c, int i, struct cl_error **err)
{
	struct side_steps s = {.c = c, .from = i + 1, .to = i + 1};
	struct cl_error *snap_err = NULL;
	struct cl_bg bg;
	int fds[2], r, rs;

	while (s.to < c->plan->n_ops && c->plan->ops[s.to] != CL_OP_SNAPSHOT_WAIT)
		s.to++;
	if (s.to == c->plan->n_ops)
		return cl_error_set(err, EINVAL, "snapshot op without its wait");
	r = snapshot_prepare(c, fds, err);
	if (r < 0)
		return r;
	if (cl_bg_start(&bg, side_job, &s, NULL) < 0) {
		/* no thread: one after the other */
		r = snapshot_make(c, fds, err);
		if (r == 0)
			r = run_ops(c, s.from, s.to, err);
		return r < 0 ? r : s.to;
	}
	__atomic_store_n(&s.snapping, true, __ATOMIC_RELEASE);
	rs = snapshot_make(c, fds, &snap_err);
	r = cl_bg_wait(&bg, err);
	if (r == 0 && rs < 0)
		r = cl_error_move(err, &snap_err);
	cl_error_free(&snap_err);
	return r < 0 ? r : s.to;
}

int cl_exec_create(struct cl_store *store, struct cl_plan *plan, const char *run_dir,
		   struct cl_error **err)
{
	return cl_exec_create_populated(store, plan, run_dir, NULL, NULL, err);
}

int cl_exec_create_populated(struct cl_store *store, struct cl_plan *plan, const char *run_dir,
			     cl_exec_populate_fn fn, void *ctx, struct cl_error **err)
{
	struct exec_ctx c = {
	    .store = store, .plan = plan, .run_dir = run_dir, .populate = fn, .populate_ctx = ctx};

	struct cl_sigblock sb;
	int r;

	/* a signal between two steps stops the run there, and the steps done are undone */
	cl_signals_block(&sb);
	r = run_ops(&c, 0, plan->n_ops, err);
	if (r < 0) {
		struct cl_error *e = NULL;

		/* the run's own error is the one to report; the undo's goes to its message */
		if (undo(&c, &e) < 0 && err && *err && e)
			cl_error_set(err, (*err)->errnum, "%s (undo incomplete: %s)",
				     (*err)->msg ? (*err)->msg : "?", e->msg ? e->msg : "?");
		cl_error_free(&e);
	}
	cl_secret_free(c.key);
	cl_signals_restore(&sb);
	return r;
}
