/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cleanup.h"
#include "lib/plan/plan.h"

#define CL_ETC_DIR "/etc/cryptlayer"

const char *cl_plan_op_name(enum cl_op_kind k)
{
	static const char *const names[_CL_OP_MAX] = {
	    [CL_OP_BEGIN_RECORD] = "begin-record",
	    [CL_OP_MKDIR_LAYER] = "mkdir-layer",
	    [CL_OP_ADD_KEY] = "add-key",
	    [CL_OP_SET_POLICY] = "set-policy",
	    [CL_OP_MKDIR_UPPER] = "mkdir-upper",
	    [CL_OP_POPULATE_UPPER] = "populate-upper",
	    [CL_OP_MOUNT_MERGED] = "mount-merged",
	    [CL_OP_MOUNT_CONTAINER] = "mount-container",
	    [CL_OP_WRITE_RECORD] = "write-record",
	    [CL_OP_UNMOUNT_CONTAINER] = "unmount-container",
	    [CL_OP_UNMOUNT] = "unmount",
	    [CL_OP_DELETE_FILES] = "delete-files",
	    [CL_OP_REMOVE_KEY] = "remove-key",
	    [CL_OP_REMOVE_LAYER] = "remove-layer",
	    [CL_OP_REMOVE_RECORD] = "remove-record",
	    [CL_OP_WRITE_KEYFILE] = "write-keyfile",
	    [CL_OP_WRITE_DESC] = "write-desc",
	    [CL_OP_LOAD_KEY] = "load-key",
	    [CL_OP_ERASE_KEYFILE] = "erase-keyfile",
	    [CL_OP_MAKE_NEST] = "make-nest",
	    [CL_OP_MOUNT_NEST] = "mount-nest",
	    [CL_OP_ERASE_NEST] = "erase-nest",
	    [CL_OP_SNAPSHOT] = "snapshot",
	    [CL_OP_SNAPSHOT_WAIT] = "snapshot-wait",
	    [CL_OP_DELETE_SNAPSHOT] = "delete-snapshot",
	};

	return k < _CL_OP_MAX ? names[k] : "?";
}

const char *cl_plan_owner_name(enum cl_owner o)
{
	static const char *const names[_CL_OWNER_MAX] = {
	    [CL_OWNER_CLI] = "cli",
	    [CL_OWNER_BUNDLE] = "bundle",
	    [CL_OWNER_HOOK] = "hook",
	    [CL_OWNER_PODMAN] = "podman",
	};

	return o < _CL_OWNER_MAX ? names[o] : "?";
}

bool cl_path_contains(const char *outer, const char *inner)
{
	size_t n = strlen(outer);

	while (n > 1 && outer[n - 1] == '/')
		n--;
	if (n == 1 && outer[0] == '/')
		return inner[0] == '/';
	return !strncmp(outer, inner, n) && (inner[n] == '\0' || inner[n] == '/');
}

void cl_plan_clear(struct cl_plan *p)
{
	cl_record_clear(&p->rec);
	free(p->layer_rel);
	free(p->crypt_rel);
	free(p->upper_rel);
	free(p->work_rel);
	free(p->merged_rel);
	free(p->keys_rel);
	free(p->machine_key);
	free(p->snapshot_dir);
	memset(p, 0, sizeof(*p));
}

static void push(struct cl_plan *p, enum cl_op_kind k)
{
	/* the op lists below are fixed and shorter than CL_PLAN_MAX_OPS */
	p->ops[p->n_ops++] = k;
}

/* the base checks on canonical paths and facts of the opened base (issue 15) */
static int check_lower(const struct cl_plan_input *in, struct cl_error **err)
{
	bool allowed = false;

	for (size_t i = 0; i < in->n_deny; i++) {
		if (!strcmp(in->lower, in->deny[i]))
			return cl_error_set(err, EPERM, "base '%s' refused", in->lower);
		if (cl_path_contains(in->lower, in->deny[i]))
			return cl_error_set(err, EPERM, "base '%s' refused: it contains '%s'",
					    in->lower, in->deny[i]);
		if (cl_path_contains(in->deny[i], in->lower))
			return cl_error_set(err, EPERM, "base '%s' refused: it is inside '%s'",
					    in->lower, in->deny[i]);
	}
	if (in->lower_pseudo_fs)
		return cl_error_set(err, EPERM,
				    "base '%s' refused: it is on a kernel pseudo filesystem "
				    "(proc, sysfs, devtmpfs)",
				    in->lower);
	if (in->lower_encrypted)
		return cl_error_set(err, EPERM,
				    "base '%s' refused: it is inside an encrypted layer "
				    "(its fscrypt upper or its merged view)",
				    in->lower);
	if (in->lower_is_root || (!in->n_allow && !in->allow_required))
		return 0;
	for (size_t i = 0; i < in->n_allow && !allowed; i++)
		allowed = cl_path_contains(in->allow[i], in->lower);
	if (!allowed && !in->n_allow)
		return cl_error_set(err, EPERM,
				    "base '%s' refused: this hook takes no named base "
				    "(--require-base-dir without --base-dir)",
				    in->lower);
	if (!allowed)
		return cl_error_set(err, EPERM,
				    "base '%s' refused: not at or below a --base-dir ('%s'%s)",
				    in->lower, in->allow[0], in->n_allow > 1 ? ", ..." : "");
	return 0;
}

/* nested=true (DESIGN §6): refused clearly where the inner containers could not work */
static int check_nested(const struct cl_plan_input *in, struct cl_error **err)
{
	if (in->req->keymode == CL_KEY_PERSISTENT)
		return cl_error_set(err, ENOTSUP,
				    "nested=true with a persistent key is not supported yet "
				    "(nested layers are ephemeral)");
	if (in->nest_userns)
		return cl_error_set(err, ENOTSUP,
				    "nested=true in a user namespace is not supported yet "
				    "(the inner cryptlayer needs CAP_SYS_ADMIN of the host)");
	if (in->nest_no_sys_admin)
		return cl_error_set(
		    err, EPERM,
		    "nested=true needs a privileged container: CAP_SYS_ADMIN is "
		    "not in its bounding set (inner runtimes and cryptlayer need it)");
	return 0;
}

static int check_request(const struct cl_plan_input *in, struct cl_error **err)
{
	const char *forbidden[] = {in->store_root, in->run_dir, CL_ETC_DIR};
	int r = 0;

	if (!cl_oci_id_valid(in->id))
		return cl_error_set(err, EINVAL, "invalid layer id '%.64s'", in->id);
	if (in->req->nested)
		r = check_nested(in, err);
	if (r < 0)
		return r;
	if (!strcmp(in->lower, "/"))
		return cl_error_set(err, EPERM, "base '/' refused: it contains the store");
	for (size_t i = 0; i < CL_ARRAY_SIZE(forbidden); i++)
		if (cl_path_contains(in->lower, forbidden[i]))
			return cl_error_set(err, EPERM, "base '%s' refused: it contains '%s'",
					    in->lower, forbidden[i]);
	if (cl_path_contains(in->store_root, in->lower))
		return cl_error_set(err, EPERM, "base '%s' refused: it is inside the store",
				    in->lower);
	return check_lower(in, err);
}

char *cl_plan_snapshot_dir(const char *lower, const char *dir)
{
	const char *slash = strrchr(lower, '/');
	char *ret = NULL;

	if (dir)
		return strdup(dir);
	if (!slash || slash == lower)
		return strdup("/" CL_PLAN_SNAPSHOT_DIR);
	if (asprintf(&ret, "%.*s/%s", (int)(slash - lower), lower, CL_PLAN_SNAPSHOT_DIR) < 0)
		return NULL;
	return ret;
}

bool cl_plan_snapshot_dir_ours(const char *dir)
{
	const char *slash = strrchr(dir, '/');

	return !strcmp(slash ? slash + 1 : dir, CL_PLAN_SNAPSHOT_DIR);
}

enum cl_btrfs_upper cl_plan_btrfs_upper(bool kernel_fscrypt, bool built, const char **ret_why)
{
	if (!kernel_fscrypt) {
		*ret_why = "the kernel's btrfs has no fscrypt: upper and work on the fscrypt store";
		return CL_BTRFS_UPPER_STORE;
	}
	if (!built) {
		*ret_why = "the kernel's btrfs answers fscrypt, but this build has no re-keyed "
			   "subvolume upper yet: upper and work on the fscrypt store";
		return CL_BTRFS_UPPER_STORE;
	}
	*ret_why = "the kernel's btrfs has fscrypt: upper in a new subvolume with its own key "
		   "(untested on a real kernel)";
	return CL_BTRFS_UPPER_SUBVOLUME;
}

/* the btrfs backend's base and snapshot directory (DESIGN §6b) */
static int check_btrfs(const struct cl_plan_input *in, const char *dir, struct cl_error **err)
{
	if (!in->lower_on_btrfs)
		return cl_error_set(
		    err, EINVAL,
		    "base '%s' is not on btrfs: the btrfs backend snapshots a btrfs "
		    "subvolume (use the overlay backend)",
		    in->lower);
	if (!in->lower_subvolume)
		return cl_error_set(
		    err, EINVAL,
		    "base '%s' is not a btrfs subvolume (make one with "
		    "'btrfs subvolume create DIR', copy the rootfs into DIR, use DIR "
		    "as the base)",
		    in->lower);
	if (in->snapshot_dir && !in->snapshot_dir_exists && !cl_plan_snapshot_dir_ours(dir))
		return cl_error_set(err, ENOENT, "snapshot directory '%s' does not exist", dir);
	if (!in->snapshot_dir_same_fs)
		return cl_error_set(err, EXDEV,
				    "snapshot directory '%s' is not on the btrfs filesystem of "
				    "base '%s'",
				    dir, in->lower);
	if (cl_path_contains(in->lower, dir))
		return cl_error_set(err, EINVAL, "snapshot directory '%s' is inside base '%s'", dir,
				    in->lower);
	return 0;
}

static int plan_snapshot(const struct cl_plan_input *in, struct cl_plan *p, bool unlock,
			 struct cl_error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	if (in->req->backend != CL_BACKEND_BTRFS)
		return 0;
	if (unlock) {
		/* a locked layer comes back over the very base version it was made on */
		if (!in->snapshot)
			return cl_error_set(err, EINVAL,
					    "btrfs layer '%s' has no recorded snapshot", in->id);
		p->rec.snapshot = strdup(in->snapshot);
		return p->rec.snapshot ? 0 : cl_error_set(err, ENOMEM, "plan");
	}
	dir = cl_plan_snapshot_dir(in->lower, in->snapshot_dir);
	if (!dir)
		return cl_error_set(err, ENOMEM, "plan");
	r = check_btrfs(in, dir, err);
	if (r < 0)
		return r;
	if (asprintf(&p->rec.snapshot, "%s/%s", dir, in->id) < 0) {
		p->rec.snapshot = NULL;
		return cl_error_set(err, ENOMEM, "plan");
	}
	p->snapshot_dir_default = cl_plan_snapshot_dir_ours(dir);
	p->snapshot_dir = TAKE_PTR(dir);
	return 0;
}

static int fill_paths(const struct cl_plan_input *in, struct cl_plan *p)
{
	struct cl_record *r = &p->rec;

	if (asprintf(&p->layer_rel, "containers/%s", in->id) < 0 ||
	    asprintf(&p->crypt_rel, "%s/crypt", p->layer_rel) < 0 ||
	    asprintf(&p->upper_rel, "%s/upper", p->crypt_rel) < 0 ||
	    asprintf(&p->work_rel, "%s/work", p->crypt_rel) < 0 ||
	    asprintf(&p->merged_rel, "%s/merged", p->layer_rel) < 0 ||
	    !(p->keys_rel = strdup("keys")) ||
	    (in->machine_key && !(p->machine_key = strdup(in->machine_key))) ||
	    asprintf(&r->layer_dir, "%s/%s", in->store_dir, p->layer_rel) < 0 ||
	    asprintf(&r->upper, "%s/%s", in->store_dir, p->upper_rel) < 0)
		return -ENOMEM;
	if (in->owner == CL_OWNER_HOOK)
		r->merged = strdup(in->root_path);
	else if (asprintf(&r->merged, "%s/%s", in->store_dir, p->merged_rel) < 0)
		r->merged = NULL;
	r->id = strdup(in->id);
	r->base = strdup(in->lower);
	r->backend = strdup(cl_oci_backend_name(in->req->backend));
	r->keymode = strdup(cl_oci_keymode_name(in->req->keymode));
	r->store_root = strdup(in->store_root);
	r->owner = strdup(cl_plan_owner_name(in->owner));
	if ((in->owner_dir && !(r->owner_dir = strdup(in->owner_dir))) ||
	    (in->bundle && !(r->bundle = strdup(in->bundle))))
		return -ENOMEM;
	r->state = strdup("running");
	if (!r->merged || !r->id || !r->base || !r->backend || !r->keymode || !r->store_root ||
	    !r->owner || !r->state)
		return -ENOMEM;
	return 0;
}

/* the parts of create and unlock that do not depend on the op list */
static int plan_begin(const struct cl_plan_input *in, struct cl_plan *p, struct cl_error **err)
{
	int r;

	r = check_request(in, err);
	if (r < 0)
		return r;
	if (in->owner == CL_OWNER_HOOK && (!in->root_path || in->pid <= 0))
		return cl_error_set(err, EINVAL,
				    "hook layer needs the container's root.path and pid");
	if (fill_paths(in, p) < 0) {
		cl_plan_clear(p);
		return cl_error_set(err, ENOMEM, "plan");
	}
	p->owner = in->owner;
	p->pid = in->owner == CL_OWNER_HOOK ? in->pid : 0;
	p->lower_dev = in->lower_dev;
	p->lower_ino = in->lower_ino;
	p->rec.pid = p->pid;
	p->rec.pid_start = p->pid ? in->pid_start : 0;
	p->rec.creator = in->creator;
	p->rec.creator_start = in->creator_start;
	p->ephemeral = in->req->keymode == CL_KEY_EPHEMERAL;
	/* never volatile for a persistent layer: its work dir would refuse the next mount */
	p->volatile_ = p->ephemeral;
	p->nested = in->req->nested;
	p->upper_mode = in->lower_mode & 07777;
	p->upper_uid = in->lower_uid;
	p->upper_gid = in->lower_gid;
	return 0;
}

/* plan_begin, then the btrfs snapshot; on failure nothing is left in @p */
static int plan_begin_btrfs(const struct cl_plan_input *in, struct cl_plan *p, bool unlock,
			    struct cl_error **err)
{
	int r = plan_begin(in, p, err);

	if (r < 0)
		return r;
	r = plan_snapshot(in, p, unlock, err);
	if (r < 0)
		cl_plan_clear(p);
	return r;
}

int cl_plan_create(const struct cl_plan_input *in, struct cl_plan *ret, struct cl_error **err)
{
	struct cl_plan p = {};
	int r;

	r = plan_begin_btrfs(in, &p, false, err);
	if (r < 0)
		return r;
	/* the record names everything to undo before anything exists (a kill -9 anywhere) */
	p.begin_state = "creating";
	push(&p, CL_OP_BEGIN_RECORD);
	push(&p, CL_OP_MKDIR_LAYER);
	/*
	 * the record names the snapshot before it exists: a kill -9 leaves it findable. Its
	 * btrfs commit (a flush: ~1 ms of waiting) runs beside the key and directory steps
	 */
	if (p.rec.snapshot)
		push(&p, CL_OP_SNAPSHOT);
	push(&p, CL_OP_ADD_KEY);
	/* the wrapped key is durable before anything is encrypted with it */
	if (!p.ephemeral)
		push(&p, CL_OP_WRITE_KEYFILE);
	push(&p, CL_OP_SET_POLICY);
	push(&p, CL_OP_MKDIR_UPPER);
	if (!p.ephemeral)
		push(&p, CL_OP_WRITE_DESC);
	/* an overlay's upper must not change under it while mounted: fill it first */
	if (p.nested)
		push(&p, CL_OP_MAKE_NEST);
	if (in->populate)
		push(&p, CL_OP_POPULATE_UPPER);
	if (p.rec.snapshot)
		push(&p, CL_OP_SNAPSHOT_WAIT);
	push(&p, in->owner == CL_OWNER_HOOK ? CL_OP_MOUNT_CONTAINER : CL_OP_MOUNT_MERGED);
	if (p.nested)
		push(&p, CL_OP_MOUNT_NEST);
	push(&p, CL_OP_WRITE_RECORD);
	*ret = p;
	return 0;
}

int cl_plan_unlock(const struct cl_plan_input *in, struct cl_plan *ret, struct cl_error **err)
{
	struct cl_plan p = {};
	int r;

	if (in->req->keymode != CL_KEY_PERSISTENT)
		return cl_error_set(err, EINVAL,
				    "layer '%.64s' is not persistent: nothing to unlock", in->id);
	r = plan_begin_btrfs(in, &p, true, err);
	if (r < 0)
		return r;
	p.begin_state = "unlocking";
	push(&p, CL_OP_BEGIN_RECORD);
	push(&p, CL_OP_LOAD_KEY);
	push(&p, in->owner == CL_OWNER_HOOK ? CL_OP_MOUNT_CONTAINER : CL_OP_MOUNT_MERGED);
	push(&p, CL_OP_WRITE_RECORD);
	*ret = p;
	return 0;
}

static int plan_stop(const struct cl_record *rec, bool erase, struct cl_plan *ret,
		     struct cl_error **err)
{
	struct cl_plan p = {};

	if (!rec->id || !cl_oci_id_valid(rec->id) || !rec->layer_dir)
		return cl_error_set(err, EINVAL, "record is incomplete");
	p.ephemeral = !rec->keymode || strcmp(rec->keymode, "persistent");
	p.owner = rec->owner && !strcmp(rec->owner, "hook") ? CL_OWNER_HOOK : CL_OWNER_CLI;
	p.pid = rec->pid;
	/* a creation that never finished had no data anyone was promised: erase it */
	erase |= p.ephemeral || (rec->state && !strcmp(rec->state, "creating"));
	/* a hook whose creation was cut short may have mounted on root.path already */
	if (p.owner == CL_OWNER_HOOK)
		push(&p, CL_OP_UNMOUNT_CONTAINER);
	push(&p, CL_OP_UNMOUNT);
	if (erase)
		push(&p, CL_OP_DELETE_FILES);
	/* a nest goes with the layer, found in the store whatever the record says (§6) */
	if (erase)
		push(&p, CL_OP_ERASE_NEST);
	push(&p, CL_OP_REMOVE_KEY);
	/* the wrapped key goes only once the kernel's copy is verified ABSENT */
	if (erase && !p.ephemeral)
		push(&p, CL_OP_ERASE_KEYFILE);
	if (erase)
		push(&p, CL_OP_REMOVE_LAYER);
	/* a locked persistent layer keeps its snapshot: it comes back over the same base */
	if (erase && rec->snapshot)
		push(&p, CL_OP_DELETE_SNAPSHOT);
	push(&p, CL_OP_REMOVE_RECORD);
	*ret = p;
	return 0;
}

int cl_plan_teardown(const struct cl_record *rec, struct cl_plan *ret, struct cl_error **err)
{
	return plan_stop(rec, false, ret, err);
}

int cl_plan_erase(const struct cl_record *rec, struct cl_plan *ret, struct cl_error **err)
{
	return plan_stop(rec, true, ret, err);
}
