/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lib/core/err.h"
#include "lib/record/record.h"
#include "oci/oci.h"

/*
 * Decisions, as pure data: (request, host facts) → an ordered list of operations.
 * Nothing here makes a syscall; lib/exec runs a plan and undoes it on failure.
 */
enum cl_owner {
	CL_OWNER_CLI,	 /* cryptlayer create: overlay on <layer>/merged, host namespace */
	CL_OWNER_BUNDLE, /* cryptlayer prepare: like cli, root.path points at merged */
	CL_OWNER_HOOK,	 /* prestart/createRuntime: overlay onto root.path in the container */
	CL_OWNER_PODMAN, /* precreate: like bundle, config.json comes and goes on stdio */
	_CL_OWNER_MAX,
};

enum cl_op_kind {
	CL_OP_BEGIN_RECORD,    /* the record (state creating/unlocking) before any side effect */
	CL_OP_MKDIR_LAYER,     /* containers/<id> (exclusive: an existing layer is an error) */
	CL_OP_ADD_KEY,	       /* fresh ephemeral key into the kernel */
	CL_OP_SET_POLICY,      /* v2 policy on containers/<id>/crypt */
	CL_OP_MKDIR_UPPER,     /* crypt/upper with the lower root's mode and owner, crypt/work */
	CL_OP_POPULATE_UPPER,  /* the caller fills upper (import) before anything mounts it */
	CL_OP_MOUNT_MERGED,    /* overlay on containers/<id>/merged */
	CL_OP_MOUNT_CONTAINER, /* overlay on root.path in the container's mount namespace */
	CL_OP_WRITE_RECORD,
	/* teardown */
	CL_OP_UNMOUNT_CONTAINER, /* root.path in the container's namespace, if it still runs */
	CL_OP_UNMOUNT,		 /* merged, in this namespace and in the host's */
	CL_OP_DELETE_FILES,	 /* ephemeral: delete while the key is present (no forced sync) */
	CL_OP_REMOVE_KEY,   /* remove, then verify FS_IOC_GET_ENCRYPTION_KEY_STATUS == ABSENT */
	CL_OP_REMOVE_LAYER, /* containers/<id> */
	CL_OP_REMOVE_RECORD,
	/* persistent keys (docs/keyfile-format.md) */
	CL_OP_WRITE_KEYFILE, /* wrap the new key under the machine key into keys/<id> */
	CL_OP_WRITE_DESC,    /* containers/<id>/layer.json: the layer survives a reboot */
	CL_OP_LOAD_KEY,	     /* unlock: unwrap keys/<id> (repairing a bad copy), add the key */
	CL_OP_ERASE_KEYFILE, /* destroy: overwrite, unlink and fsync keys/<id> */
	/* nested containers (DESIGN §6): nest/<id>/{store,graph} beside the layer */
	CL_OP_MAKE_NEST,  /* store/ plain, graph/ under the layer's policy */
	CL_OP_MOUNT_NEST, /* bind them at /var/lib/cryptlayer and /var/lib/containers */
	CL_OP_ERASE_NEST, /* every key under the nest (read from its policies) ABSENT, then rm */
	/* btrfs backend (DESIGN §6b) */
	CL_OP_SNAPSHOT,	       /* read-only snapshot of the base: the overlay's lower (started) */
	CL_OP_SNAPSHOT_WAIT,   /* ...made: it runs beside the steps between (DESIGN §6b) */
	CL_OP_DELETE_SNAPSHOT, /* delete it (and snapshots/<id> in the store) */
	_CL_OP_MAX,
};

#define CL_PLAN_MAX_OPS 16

struct cl_plan_input {
	const char *id;
	const struct cl_request *req;
	const char *lower; /* realpath of the base (or root.path) */
	mode_t lower_mode; /* the lower root's mode and owner, for upper (DESIGN §2) */
	uid_t lower_uid;
	gid_t lower_gid;
	const char *store_root;
	const char *store_dir;
	const char *run_dir;
	enum cl_owner owner;
	const char *root_path;	      /* CL_OWNER_HOOK: the container's root.path */
	pid_t pid;		      /* CL_OWNER_HOOK: container init */
	unsigned long long pid_start; /* its start time, or 0 */
	const char *bundle; /* the container's OCI bundle (hook, bundle, podman), or NULL */
	pid_t creator;	    /* the process running the plan, and its start time */
	unsigned long long creator_start;
	const char *owner_dir;	 /* bundle/podman: exists while the owner does, or NULL */
	const char *machine_key; /* persistent: --machine-key spec, NULL for the default */
	bool populate;		 /* the caller fills upper before the mount (import) */
	/* the base, as facts of its opened fd (issue 15); @lower is its canonical path */
	bool lower_is_root;	  /* the lower is root.path: the allowlist does not apply */
	const char *const *allow; /* canonical --base-dir paths */
	size_t n_allow;
	bool allow_required;	 /* a named base needs an allowlist entry even when empty */
	const char *const *deny; /* canonical: a lower may not be, contain or be inside one */
	size_t n_deny;
	bool lower_pseudo_fs; /* proc, sysfs, the filesystem of /dev, ... */
	bool lower_encrypted; /* fscrypt policy, or a layer's merged (any store's) */
	unsigned long long lower_dev, lower_ino; /* exec checks its own open against these */
	/* io.cryptlayer.nested=true (DESIGN §6): facts of the container and of this process */
	bool nest_userns;	/* the container has a user namespace, or this process is in one */
	bool nest_no_sys_admin; /* the container's bounding set lacks CAP_SYS_ADMIN */
	/* btrfs backend (DESIGN §6b): facts of the base and of the snapshot directory */
	bool lower_on_btrfs, lower_subvolume;
	const char *snapshot_dir; /* --snapshot-dir, or NULL: cl_plan_snapshot_dir() */
	bool snapshot_dir_exists;
	bool snapshot_dir_same_fs; /* it (or, when missing, its parent) is on the base's btrfs */
	const char *snapshot;	   /* unlock: the recorded snapshot (the lower it keeps) */
};

struct cl_plan {
	enum cl_op_kind ops[CL_PLAN_MAX_OPS];
	int n_ops;
	struct cl_record rec; /* what will be recorded; paths are absolute, host view */
	char *layer_rel;      /* relative to the store dir: containers/<id> */
	char *crypt_rel, *upper_rel, *work_rel, *merged_rel;
	char *keys_rel;	   /* "keys": the key file is keys/<id> */
	char *machine_key; /* persistent: the --machine-key spec, or NULL (default) */
	mode_t upper_mode;
	uid_t upper_uid;
	gid_t upper_gid;
	bool ephemeral;
	bool volatile_; /* skip the unmount sync: ephemeral layers are erased anyway */
	bool nested;	/* a nest beside the layer (DESIGN §6) */
	enum cl_owner owner;
	pid_t pid;
	unsigned long long lower_dev, lower_ino; /* the base exec must open (0: unchecked) */
	const char *begin_state; /* the record's state until the last op: creating, unlocking */
	/* btrfs: rec.snapshot is <snapshot_dir>/<id>; exec makes a missing one of ours */
	char *snapshot_dir;
	bool snapshot_dir_default; /* cl_plan_snapshot_dir_ours() */
};

#define CL_PLAN_SNAPSHOT_DIR ".cryptlayer-snapshots" /* the default, beside the base */

/**
 * cl_plan_snapshot_dir() - where the btrfs backend puts the snapshot of @lower: the
 * configured @dir, else <parent of @lower>/.cryptlayer-snapshots (the base's filesystem).
 * Return: a malloc'ed path, or NULL (ENOMEM).
 */
char *cl_plan_snapshot_dir(const char *lower, const char *dir);

/**
 * cl_plan_snapshot_dir_ours() - whether snapshot directory @dir is cryptlayer's own: named
 * .cryptlayer-snapshots (the default, or a --snapshot-dir of that name). Ours are made
 * when missing and removed when their last snapshot goes; any other is the user's.
 */
bool cl_plan_snapshot_dir_ours(const char *dir);

/* where a btrfs layer's upper and work live */
enum cl_btrfs_upper {
	CL_BTRFS_UPPER_STORE,	  /* an fscrypt directory on the store, as overlay layers */
	CL_BTRFS_UPPER_SUBVOLUME, /* a new btrfs subvolume with its own key (btrfs fscrypt) */
	_CL_BTRFS_UPPER_MAX,
};

/**
 * cl_plan_btrfs_upper() - where a btrfs layer's upper goes (DESIGN §6b): a re-keyed
 * subvolume only when the kernel's btrfs answers the fscrypt ioctls (@kernel_fscrypt,
 * cl_btrfs_fscrypt_probe_fd()) and this build has that path (@built); otherwise the store.
 * @ret_why: a short reason for doctor (static string)
 */
enum cl_btrfs_upper cl_plan_btrfs_upper(bool kernel_fscrypt, bool built, const char **ret_why);

/* whether this build has the re-keyed subvolume upper: not yet (no kernel here to test it) */
#define CL_PLAN_BTRFS_SUBVOLUME_UPPER_BUILT false

/**
 * cl_plan_create() - plan a new layer. Refuses (EINVAL/EPERM/ENOTSUP, with the reason)
 * an invalid id, a lower that is '/' or contains the store, the run dir or
 * /etc/cryptlayer, a lower that is, contains or is inside any of @in->deny, one on a
 * pseudo filesystem or with an fscrypt policy, a named base outside @in->allow (when an
 * allowlist applies), and features without an implementation yet.
 * Return: 0 and *ret (free with cl_plan_clear), or -errno.
 */
int cl_plan_create(const struct cl_plan_input *in, struct cl_plan *ret, struct cl_error **err);

/**
 * cl_plan_unlock() - plan the unlock of an existing persistent layer described by @in
 * (same input as cl_plan_create; the layer's files and key file already exist): unwrap
 * and add the key, mount (never volatile), record.
 * Return: 0 and *ret, or -errno (EINVAL for an ephemeral request).
 */
int cl_plan_unlock(const struct cl_plan_input *in, struct cl_plan *ret, struct cl_error **err);

/**
 * cl_plan_teardown() - plan what a stop does to a recorded layer (DESIGN §4 order):
 * erase an ephemeral layer; lock a persistent one (unmount, remove the key, keep files).
 * A layer whose creation never finished (state "creating") is erased whatever its mode.
 * Return: 0 or -errno.
 */
int cl_plan_teardown(const struct cl_record *rec, struct cl_plan *ret, struct cl_error **err);

/**
 * cl_plan_erase() - plan the erase of a layer whatever its key mode (destroy): for a
 * persistent layer also its files and, once the key is ABSENT, its key file.
 * Return: 0 or -errno.
 */
int cl_plan_erase(const struct cl_record *rec, struct cl_plan *ret, struct cl_error **err);

void cl_plan_clear(struct cl_plan *p);

/** cl_plan_owner_name() - "cli", "bundle", "hook", "podman" (the record's owner). */
const char *cl_plan_owner_name(enum cl_owner o);

/** cl_plan_op_name() - short name for logs and tests. */
const char *cl_plan_op_name(enum cl_op_kind k);

/** cl_path_contains() - whether @outer is @inner or one of its ancestors (lexically). */
bool cl_path_contains(const char *outer, const char *inner);
