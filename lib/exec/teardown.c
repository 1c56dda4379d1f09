/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/btrfs/snapshot.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/proc.h"
#include "lib/core/signals.h"
#include "lib/crypto/keyfile-ops.h"
#include "lib/exec/exec.h"
#include "lib/exec/ns.h"
#include "lib/mount/overlay.h"
#include "lib/record/record.h"

/* Unmount @path here if it is mounted. Return: 1 unmounted, 0 not mounted, -errno. */
static int unmount_here(const char *path, struct cl_error **err)
{
	int r = cl_mount_is_mountpoint(path);

	if (r <= 0)
		return r;
	if (umount2(path, UMOUNT_NOFOLLOW) < 0)
		return cl_error_set(err, errno, "unmount '%s'", path);
	return 1;
}

/* whether layer @id has a nest (DESIGN §6) in the store */
static bool has_nest(struct cl_store *store, const char *id)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "nest/%s", id);
	return faccessat(store->dir_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* a nested layer's binds (DESIGN §6) sit on its merged dir: they go first */
static int unmount_merged(const char *merged, bool nested, struct cl_error **err)
{
	int r = nested ? cl_exec_unmount_beneath(merged, err) : 0;

	return r < 0 ? r : unmount_here(merged, err);
}

/*
 * The merged mount of a cli/bundle layer lives in the namespace that made it; a hook
 * running in a private namespace (crun under unshare) also unmounts the host's copy.
 */
static int op_unmount(const struct cl_record *rec, bool nested, struct cl_teardown_report *rep,
		      struct cl_error **err)
{
	struct cl_ns_guard guard;
	int r;

	if (rec->owner && !strcmp(rec->owner, "hook"))
		return 0; /* the container's namespace, and its mounts, are gone */
	r = unmount_merged(rec->merged, nested, err);
	if (r < 0)
		return r;
	rep->unmounted |= r > 0;
	r = cl_ns_enter_host(&guard, err);
	if (r < 0)
		return r;
	if (guard.home_fd >= 0) {
		r = unmount_merged(rec->merged, nested, err);
		if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r >= 0)
			r = -EIO;
		if (r < 0)
			return r;
		rep->unmounted |= r > 0;
	}
	return 0;
}

/*
 * A hook layer's overlay sits on root.path in the container's namespace, under the
 * runtime's proc, dev and sys: detach the whole tree there (the container is failing or
 * gone). Nothing to do once its init has exited: the namespace went with it.
 */
static int op_unmount_container(const struct cl_record *rec, struct cl_teardown_report *rep,
				struct cl_error **err)
{
	struct cl_ns_guard guard;
	int r;

	if (!rec->merged || !cl_proc_alive(rec->pid, rec->pid_start))
		return 0;
	r = cl_ns_same_as_pid(rec->pid);
	if (r != 0) /* never unmount on the host what a container should have had */
		return r < 0 ? cl_error_set(err, -r, "mount namespace of pid %d", (int)rec->pid)
			     : 0;
	r = cl_ns_enter_pid(rec->pid, &guard, err);
	if (r < 0)
		return r;
	if (umount2(rec->merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
	    errno != ENOENT)
		r = cl_error_set(err, errno, "unmount '%s' in the container", rec->merged);
	else
		rep->unmounted = true;
	if (cl_ns_leave(&guard, r < 0 ? NULL : err) < 0 && r >= 0)
		r = -EIO;
	return r;
}

/*
 * The key to remove: the record's, else the one a kill left provisioned (added, not yet
 * named in the record: lib/fscrypt/provision.c), which adding again names.
 * Return: 1 and *ret_id, 0 when no key was ever added, or -errno.
 */
static int key_to_remove(struct cl_store *store, const struct cl_record *rec, const char *desc,
			 struct cl_key_id *ret_id, struct cl_error **err)
{
	if (rec->key_id)
		return cl_key_id_from_hex(rec->key_id, ret_id) < 0
			   ? cl_error_set(err, EINVAL, "record '%s': bad key id", rec->id)
			   : 1;
	return desc[0] ? cl_fscrypt_provisioned_id(store->dir_fd, desc, ret_id, err) : 0;
}

static int op_remove_key(struct cl_store *store, const struct cl_record *rec,
			 struct cl_teardown_report *rep, struct cl_error **err)
{
	struct cl_key_id id;
	unsigned flags = 0;
	char desc[CL_FSCRYPT_PROVISION_DESC_MAX] = "";
	int r;

	if (rec->id &&
	    cl_fscrypt_provision_desc(store->dir_fd, store->dir, rec->id, desc, sizeof(desc)) < 0)
		desc[0] = '\0';
	r = key_to_remove(store, rec, desc, &id, err);
	if (r <= 0)
		return r;
	rep->had_key = true;
	r = cl_fscrypt_remove_key(store->dir_fd, &id, &flags, err);
	if (r == -ENOKEY)
		cl_error_free(err); /* already gone: the status check below decides */
	else if (r < 0)
		return r;
	r = cl_fscrypt_key_status(store->dir_fd, &id, &rep->key_status, err);
	/*
	 * Inodes still in use keep the key "incompletely removed"; the kernel evicts them on a
	 * later removal call. After a container exits, its namespace's overlay can release the
	 * upper directory's inodes a moment after the runtime starts poststop (seen under load),
	 * and inodes under writeback need a sync: flush, wait with backoff (1 ms doubling, about
	 * 0.5 s in all), remove again.
	 */
	for (unsigned wait_us = 1000;
	     r == 0 && rep->key_status == CL_KEY_INCOMPLETELY_REMOVED && wait_us <= 256000;
	     wait_us *= 2) {
		(void)syncfs(store->dir_fd);
		if (cl_fscrypt_remove_key(store->dir_fd, &id, &flags, err) < 0)
			cl_error_free(err);
		r = cl_fscrypt_key_status(store->dir_fd, &id, &rep->key_status, err);
		if (r == 0 && rep->key_status == CL_KEY_INCOMPLETELY_REMOVED)
			usleep(wait_us);
	}
	if (r < 0)
		return r;
	if (rep->key_status != CL_KEY_ABSENT)
		return cl_error_set(err, EBUSY, "key %s is %s after removal (files still in use)",
				    id.hex, cl_fscrypt_key_status_name(rep->key_status));
	/* a kill between the record naming the key and the invalidation left it */
	if (desc[0])
		cl_fscrypt_unprovision(desc, 0);
	return 0;
}

/* keys/<id>: overwrite, unlink, fsync keys/ (a missing file or directory is fine) */
static int op_erase_keyfile(struct cl_store *store, const struct cl_record *rec,
			    struct cl_error **err)
{
	_cleanup_close_ int kfd =
	    openat(store->dir_fd, "keys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (kfd < 0 && errno == ENOENT)
		return 0;
	const struct cl_keyfile_ops *kops = NULL;

	if (kfd < 0)
		return cl_error_set(err, errno, "open '%s/keys'", store->dir);
	kops = cl_keyfile_ops(err);
	return kops ? kops->erase_at(kfd, rec->id, err) : cl_error_errnum(err);
}

/*
 * containers/<id>, its descriptor (layer.json) last: until then a retry of destroy finds
 * a persistent layer by it
 */
static int remove_layer(struct cl_store *store, const char *rel, struct cl_error **err)
{
	static const char *const first[] = {"crypt", "merged"};
	char path[512];
	int r = 0;

	for (size_t i = 0; i < CL_ARRAY_SIZE(first) && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", rel, first[i]);
		r = cl_rm_rf_at(store->dir_fd, path, err);
	}
	return r < 0 ? r : cl_rm_rf_at(store->dir_fd, rel, err);
}

/*
 * btrfs: delete <dir>/<id>, the read-only snapshot that was the layer's lower, then its
 * note snapshots/<id> in the store. Only a snapshot named after the layer is touched.
 * <dir> goes too once empty if it is ours (.cryptlayer-snapshots): a create or delete
 * racing with the rmdir makes it fail (ENOTEMPTY, ENOENT, ...), which is fine, and a
 * create that loses its directory to it makes it again (exec.c op_snapshot).
 */
static int op_delete_snapshot(struct cl_store *store, const struct cl_record *rec,
			      struct cl_error **err)
{
	_cleanup_free_ char *dir = NULL, *note = NULL;
	_cleanup_close_ int dfd = -1;
	char *slash;
	int r;

	if (!rec->snapshot)
		return 0;
	dir = strdup(rec->snapshot);
	if (!dir || asprintf(&note, "snapshots/%s", rec->id) < 0)
		return cl_error_set(err, ENOMEM, "teardown");
	slash = strrchr(dir, '/');
	if (!slash || slash == dir || strcmp(slash + 1, rec->id))
		return cl_error_set(err, EINVAL, "record '%s': snapshot '%s' is not named after it",
				    rec->id, rec->snapshot);
	*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "snapshot directory '%s'", dir);
	if (dfd >= 0) {
		r = cl_btrfs_delete_snapshot_fd(dfd, rec->id, rec->snapshot, err);
		if (r < 0)
			return r;
		if (cl_plan_snapshot_dir_ours(dir))
			(void)rmdir(dir);
	}
	if (unlinkat(store->dir_fd, note, 0) < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "remove '%s/%s'", store->dir, note);
	return 0;
}

static int run_teardown_op(struct cl_store *store, const struct cl_record *rec, enum cl_op_kind k,
			   const char *run_dir, struct cl_teardown_report *rep,
			   struct cl_error **err)
{
	_cleanup_free_ char *rel = NULL;

	if (asprintf(&rel, "containers/%s", rec->id) < 0)
		return cl_error_set(err, ENOMEM, "teardown");
	switch (k) {
	case CL_OP_UNMOUNT_CONTAINER:
		return op_unmount_container(rec, rep, err);
	case CL_OP_UNMOUNT:
		return op_unmount(rec, has_nest(store, rec->id), rep, err);
	case CL_OP_DELETE_FILES: {
		_cleanup_free_ char *crypt = NULL;

		/* deleting while the key is present avoids the forced sync (DESIGN §2) */
		if (asprintf(&crypt, "%s/crypt", rel) < 0)
			return cl_error_set(err, ENOMEM, "teardown");
		return cl_rm_rf_at(store->dir_fd, crypt, err);
	}
	case CL_OP_REMOVE_KEY:
		return op_remove_key(store, rec, rep, err);
	case CL_OP_REMOVE_LAYER:
		return remove_layer(store, rel, err);
	case CL_OP_REMOVE_RECORD:
		return cl_record_remove(run_dir, rec->id, err);
	case CL_OP_ERASE_KEYFILE:
		return op_erase_keyfile(store, rec, err);
	case CL_OP_ERASE_NEST:
		return cl_exec_nest_erase(store, rec->id, run_dir, rep, err);
	case CL_OP_DELETE_SNAPSHOT:
		return op_delete_snapshot(store, rec, err);
	default:
		return cl_error_set(err, EINVAL, "op '%s' in a teardown plan", cl_plan_op_name(k));
	}
}

int cl_exec_teardown(struct cl_store *store, const struct cl_record *rec,
		     const struct cl_plan *plan, const char *run_dir,
		     struct cl_teardown_report *ret_report, struct cl_error **err)
{
	struct cl_teardown_report rep = {.key_status = CL_KEY_ABSENT};
	struct cl_error *first = NULL;
	struct cl_sigblock sb;
	int r;

	/* every step runs to its end: a Ctrl-C waits until the record says where we are */
	cl_signals_block(&sb);
	for (int i = 0; i < plan->n_ops; i++) {
		struct cl_error *e = NULL;

		/*
		 * after a failure, keep what finds the layer again (its directory with the
		 * descriptor, its record): a retry of destroy, or gc, must see what is left
		 */
		if (first &&
		    (plan->ops[i] == CL_OP_REMOVE_LAYER || plan->ops[i] == CL_OP_REMOVE_RECORD))
			continue;
		r = run_teardown_op(store, rec, plan->ops[i], run_dir, &rep, &e);

		if (r >= 0)
			continue;
		/* a layer still mounted is in use: erase nothing under it */
		if (plan->ops[i] == CL_OP_UNMOUNT || plan->ops[i] == CL_OP_UNMOUNT_CONTAINER) {
			first = e;
			break;
		}
		/* keep the record while the key is not gone, so gc/destroy can retry */
		if (plan->ops[i] == CL_OP_REMOVE_KEY) {
			if (!first)
				first = e;
			else
				cl_error_free(&e);
			break;
		}
		if (!first)
			first = e;
		else
			cl_error_free(&e);
	}
	cl_signals_restore(&sb);
	if (ret_report)
		*ret_report = rep;
	if (!first)
		return 0;
	r = -first->errnum;
	if (err)
		*err = first;
	else
		cl_error_free(&first);
	return r;
}
