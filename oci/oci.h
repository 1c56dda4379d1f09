/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"

#define CL_OCI_MAX_INPUT (1U << 20) /* state on stdin and config.json: 1 MiB */
#define CL_OCI_MAX_ID 1024
#define CL_OCI_MAX_ANNOTATION_VALUE 4096

/* OCI runtime state (runtime-spec state.md); unknown keys are ignored. */
struct cl_oci_state {
	char *oci_version;
	char *id;
	char *status;
	char *bundle;
	pid_t pid; /* 0 when absent (poststop: runc omits it, crun sends 0) */
};

struct cl_kv {
	char *key;
	char *value;
};

/* The parts of <bundle>/config.json cryptlayer reads. */
struct cl_oci_config {
	char *root_path; /* absolute: a relative root.path is resolved against the bundle */
	char *cgroups_path;
	char *containerenv; /* source of the /run/.containerenv bind mount (podman), or NULL */
	char *shm;	    /* source of the /dev/shm mount, or NULL */
	struct cl_kv *annotations;
	size_t n_annotations;
	bool cap_sys_admin; /* CAP_SYS_ADMIN in process.capabilities.bounding (DESIGN §6) */
	bool user_ns;	    /* linux.namespaces has "user", or uid mappings */
};

#define CL_OCI_PODMAN_ID_SIZE 65 /* 64 lowercase hex + NUL */

/* Which podman container a precreate config belongs to (DESIGN §3). */
struct cl_oci_podman {
	char id[CL_OCI_PODMAN_ID_SIZE]; /* = the poststop state's "id" */
	char *userdata; /* <runroot>/overlay-containers/<id>/userdata, or NULL if unknown */
	char *storage;	/* <graphroot>/overlay-containers/<id>/userdata (from /dev/shm's
			 * source): it survives a reboot and goes at 'podman rm'; or NULL */
};

enum cl_keymode {
	CL_KEY_EPHEMERAL,
	CL_KEY_PERSISTENT,
	_CL_KEYMODE_MAX,
};

enum cl_backend {
	CL_BACKEND_OVERLAY,
	CL_BACKEND_BTRFS,
	_CL_BACKEND_MAX,
};

/* What the io.cryptlayer.* annotations ask for (validated, size-bounded). */
struct cl_request {
	bool enabled; /* io.cryptlayer.enable=true or a base was named */
	char *base;   /* absolute path or NULL (then the lower is root.path) */
	enum cl_keymode keymode;
	enum cl_backend backend;
	bool nested;
};

/**
 * cl_oci_state_parse() - parse runtime state JSON (at most CL_OCI_MAX_INPUT bytes).
 * Return: 0 or -EINVAL with the reason.
 */
int cl_oci_state_parse(const char *json, size_t len, struct cl_oci_state *ret,
		       struct cl_error **err);
void cl_oci_state_clear(struct cl_oci_state *s);

/**
 * cl_oci_config_parse() - parse config.json; @bundle resolves a relative root.path.
 * Return: 0 or -EINVAL with the reason.
 */
int cl_oci_config_parse(const char *json, size_t len, const char *bundle, struct cl_oci_config *ret,
			struct cl_error **err);
void cl_oci_config_clear(struct cl_oci_config *c);

/**
 * cl_oci_podman_parse() - the podman container id of a precreate config: from
 * linux.cgroupsPath ("/libpod_parent/libpod-<id>", "/<parent>/libpod-<id>", systemd
 * "<slice>:libpod:<id>"), else from the /run/.containerenv mount source
 * ("<runroot>/overlay-containers/<id>/userdata/.containerenv"), which also names the
 * container's userdata dir; the /dev/shm source names its graphroot userdata dir. Pure.
 * Return: 0 and *ret (free with cl_oci_podman_clear), -ENOENT when the config names no
 * podman container, -EINVAL when the two sources disagree.
 */
int cl_oci_podman_parse(const struct cl_oci_config *c, struct cl_oci_podman *ret,
			struct cl_error **err);
void cl_oci_podman_clear(struct cl_oci_podman *p);

/**
 * cl_oci_podman_layer_upper() - podman's own (unencrypted) container layer under
 * @root_path: the upperdir of the overlay mounted there, read from its line in
 * /proc/self/mountinfo (@mountinfo_line, without the newline; octal escapes such as
 * \040 decoded), when it sits beside @root_path as podman lays it out: image mode
 * "<layer>/merged" over "<layer>/diff", 'podman run --rootfs DIR:O'
 * "<ctr>/rootfs/merge" over "<ctr>/rootfs/upper". Pure.
 * Return: 1 and *ret_upper (malloc'ed); 0 when the mount is no overlay, has no upper, or
 * is not laid out like podman's; -EINVAL for a malformed line; -ENOMEM.
 */
int cl_oci_podman_layer_upper(const char *root_path, const char *mountinfo_line, char **ret_upper,
			      struct cl_error **err);

/* the largest etc/passwd or etc/group that cl_oci_podman_own_entry() reads */
#define CL_OCI_PODMAN_ACCOUNTS_MAX (1U << 20)

enum cl_oci_podman_entry {
	CL_OCI_PODMAN_CONTENT,	 /* not podman's: put there by 'podman cp', 'podman mount', … */
	CL_OCI_PODMAN_OWN,	 /* what podman itself writes before precreate */
	CL_OCI_PODMAN_NEED_DATA, /* ask again with the link target or the file's bytes */
	_CL_OCI_PODMAN_ENTRY_MAX,
};

/**
 * cl_oci_podman_own_entry() - whether entry @rel (relative to the layer's root, no
 * leading '/') of podman's container layer is one podman makes itself before precreate
 * (measured, podman 4.3, DESIGN §3): directories, empty regular files (mount points),
 * the link etc/mtab -> /proc/mounts, and etc/passwd and etc/group when every line is a
 * well-formed entry (--user, --passwd-entry or --hostuser naming an account the image
 * lacks: the image's file copied up with podman's entries appended).
 * @mode, @size: from lstat; @data, @len: NULL, or the link target / the file's bytes
 * (at most CL_OCI_PODMAN_ACCOUNTS_MAX) after CL_OCI_PODMAN_NEED_DATA. Pure.
 * Return: an enum cl_oci_podman_entry.
 */
enum cl_oci_podman_entry cl_oci_podman_own_entry(const char *rel, mode_t mode, off_t size,
						 const char *data, size_t len);

/**
 * cl_oci_request_parse() - validate io.cryptlayer.* annotations into a request.
 * Unknown io.cryptlayer.* keys, bad values, and a relative or oversized base are errors.
 * Return: 0 or -EINVAL.
 */
int cl_oci_request_parse(const struct cl_kv *ann, size_t n, struct cl_request *ret,
			 struct cl_error **err);
void cl_oci_request_clear(struct cl_request *r);

/** cl_oci_keymode_name(), cl_oci_backend_name(): enum → contract string. */
const char *cl_oci_keymode_name(enum cl_keymode m);
const char *cl_oci_backend_name(enum cl_backend b);

/** cl_oci_id_valid() - an id usable as a file name: [A-Za-z0-9_.-], 1..128, no leading dot. */
bool cl_oci_id_valid(const char *id);

/**
 * cl_oci_config_rewrite() - config.json with root.path set to @root_path and, if
 * @hook_argv is given, a poststop hook { path: hook_argv[0], args: hook_argv } appended
 * (unless an identical one is there). Pure: JSON in, JSON out.
 * Return: 0 and *ret_json (malloc'ed), or -errno.
 */
int cl_oci_config_rewrite(const char *json, size_t len, const char *root_path,
			  const char *const *hook_argv, char **ret_json, struct cl_error **err);
