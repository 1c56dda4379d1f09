/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podman precreate: config.json in, config.json out (DESIGN §3). Image mode: the lower
 * is the rootfs podman prepared (root.path); with --rootfs STUB the base is named by
 * io.cryptlayer.base and root.path must be an empty stub. root.path then points at the
 * layer's merged dir, mounted in the host namespace like 'prepare' does, and the config
 * gets its own poststop hook: podman runs none when 'runc create' fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/log.h"
#include "oci/oci.h"

/*
 * precreate runs again at every 'podman start' (and unlocks a persistent layer of this
 * container there). An ephemeral layer still recorded for
 * this container is a leftover (the container is not running, or podman would not be
 * starting it), so erase it first.
 */
static int reclaim_stale(const struct cl_ctx *ctx, const char *id, struct cl_error **err)
{
	struct cl_record rec = {};
	bool ours;

	if (cl_record_read(ctx->run_dir, id, &rec, NULL) < 0)
		return 0;
	/* a persistent layer is never erased here: it is unlocked (or reused) below */
	ours = rec.owner && !strcmp(rec.owner, "podman") &&
	       (!rec.keymode || strcmp(rec.keymode, "persistent"));
	cl_record_clear(&rec);
	if (!ours)
		return 0; /* not ours to erase: creating the layer will say it exists */
	cl_log(CL_LOG_INFO, "%s: erasing the layer left from an earlier run", id);
	return cl_layer_destroy(ctx, id, NULL, err);
}

/*
 * 'podman cp' into a container that is not running writes into podman's own container
 * layer (the overlay's upperdir, '<layer>/diff'), unencrypted; in image mode that layer
 * is part of our lower, so the copy would sit in plaintext under an "encrypted"
 * container. Before precreate podman itself writes there only empty directories, empty
 * mount-point files, etc/mtab -> /proc/mounts, and etc/passwd and etc/group for --user
 * (measured, podman 4.3): anything else is refused. The walk stops at the first foreign
 * entry and is bounded, so the hook stays fast.
 */
#define LAYER_MAX_DEPTH 32
#define LAYER_MAX_ENTRIES 4096

struct layer_walk {
	size_t entries;
	char *found; /* the first entry podman did not make, relative to the layer */
};

/* the link target or the (small) file's bytes, for cl_oci_podman_own_entry() */
static int entry_data(int dfd, const char *name, const struct stat *st, char **ret, size_t *ret_len,
		      struct cl_error **err)
{
	char target[PATH_MAX];
	ssize_t n;

	if (!S_ISLNK(st->st_mode))
		return cl_read_file_at(dfd, name, CL_OCI_PODMAN_ACCOUNTS_MAX, ret, ret_len, err);
	n = readlinkat(dfd, name, target, sizeof(target));
	if (n < 0)
		return cl_error_set(err, errno, "readlink '%s'", name);
	*ret = strndup(target, (size_t)n);
	*ret_len = (size_t)n;
	return *ret ? 0 : cl_error_set(err, ENOMEM, "readlink '%s'", name);
}

/* 0: only podman's own entries; 1: w->found names the first other; -errno */
static int walk_layer(int dfd, const char *rel, int depth, struct layer_walk *w,
		      struct cl_error **err);

static int walk_entry(int dfd, const char *name, const char *sub, int depth, struct layer_walk *w,
		      struct cl_error **err)
{
	_cleanup_free_ char *data = NULL;
	enum cl_oci_podman_entry own;
	size_t len = 0;
	struct stat st;
	int fd, r;

	if (++w->entries > LAYER_MAX_ENTRIES || depth > LAYER_MAX_DEPTH)
		return 1; /* podman never makes that many: not its own */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cl_error_set(err, errno, "stat '%s'", sub);
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return cl_error_set(err, errno, "open '%s'", sub);
		return walk_layer(fd, sub, depth + 1, w, err);
	}
	own = cl_oci_podman_own_entry(sub, st.st_mode, st.st_size, NULL, 0);
	if (own == CL_OCI_PODMAN_NEED_DATA) {
		struct cl_error *e = NULL;

		r = entry_data(dfd, name, &st, &data, &len, &e);
		if (r == -EFBIG) { /* grew past what podman writes since the stat */
			cl_error_free(&e);
			return 1;
		}
		if (r < 0)
			return cl_error_move(err, &e);
		own = cl_oci_podman_own_entry(sub, st.st_mode, st.st_size, data, len);
	}
	return own == CL_OCI_PODMAN_OWN ? 0 : 1;
}

/* takes @dfd */
static int walk_layer(int dfd, const char *rel, int depth, struct layer_walk *w,
		      struct cl_error **err)
{
	_cleanup_(closedirp) DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = cl_error_set(err, errno, "open '%s'", rel[0] ? rel : ".");
		close(dfd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0)
			return cl_error_set(err, ENOMEM, "podman's container layer");
		r = walk_entry(dirfd(d), de->d_name, sub, depth, w, err);
		if (r == 1 && !w->found)
			w->found = TAKE_PTR(sub);
	}
	if (r == 0 && errno)
		r = cl_error_set(err, errno, "read '%s'", rel[0] ? rel : ".");
	return r;
}

/* root.path's line in /proc/self/mountinfo if it is the root of an overlay mount: 1, else 0 */
static int overlay_mount_line(const char *root_path, char **ret_line, struct cl_error **err)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	struct statfs sfs;
	struct statx stx;
	size_t cap = 0;
	ssize_t n;

	if (statfs(root_path, &sfs) < 0)
		return cl_error_set(err, errno, "statfs root.path '%s'", root_path);
	/* --rootfs DIR, the vfs driver, fuse-overlayfs: no podman layer to read */
	if (sfs.f_type != OVERLAYFS_SUPER_MAGIC)
		return 0;
	if (statx(AT_FDCWD, root_path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0)
		return cl_error_set(err, errno, "statx root.path '%s'", root_path);
	if (!(stx.stx_mask & STATX_MNT_ID) || !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cl_error_set(err, errno, "open '/proc/self/mountinfo'");
	while ((n = getline(&line, &cap, f)) > 0) {
		char *end = NULL;

		if (strtoull(line, &end, 10) != stx.stx_mnt_id || end == line || *end != ' ')
			continue;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		*ret_line = TAKE_PTR(line);
		return 1;
	}
	return 0;
}

/* image mode: refuse a podman container layer that holds what podman did not put there */
static int check_podman_layer(const char *id, const char *root_path, struct cl_error **err)
{
	_cleanup_free_ char *line = NULL, *upper = NULL, *parent = NULL;
	_cleanup_close_ int pfd = -1;
	struct layer_walk w = {};
	int fd, r;

	r = overlay_mount_line(root_path, &line, err);
	if (r <= 0)
		return r;
	r = cl_oci_podman_layer_upper(root_path, line, &upper, err);
	if (r == 0)
		cl_log(CL_LOG_INFO,
		       "%s: root.path '%s' is an overlay not laid out like podman's "
		       "container layer: not checked for 'podman cp'",
		       id, root_path);
	if (r <= 0)
		return r;
	/* the upper is root.path's sibling (checked above): opened beside it, no link followed */
	parent = strndup(root_path, (size_t)(strrchr(root_path, '/') - root_path));
	if (!parent)
		return cl_error_set(err, ENOMEM, "root.path");
	pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return cl_error_set(err, errno, "open '%s'", parent);
	fd = openat(pfd, strrchr(upper, '/') + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cl_error_set(err, errno, "open podman's container layer '%s'", upper);
	r = walk_layer(fd, "", 0, &w, err);
	if (r < 0)
		cl_error_wrap(err, "podman's container layer '%s'", upper);
	else if (r > 0)
		r = cl_error_set(err, ENOTEMPTY,
				 "podman's unencrypted container layer '%s' already holds '%s' "
				 "(podman cp before the first start?): refusing, so it is not "
				 "used as the plaintext lower; copy into the running container "
				 "instead, or use --rootfs with io.cryptlayer.base",
				 upper, w.found ? w.found : "?");
	free(w.found);
	return r;
}

static int setup(const struct cl_ctx *ctx, const struct cl_oci_config *cfg,
		 const struct cl_request *req, const char *buf, size_t len, int out_fd,
		 struct cl_error **err)
{
	_cleanup_free_ char *out = NULL;
	struct cl_oci_podman pod = {};
	int r;

	r = cl_oci_podman_parse(cfg, &pod, err);
	if (r < 0)
		return r;
	/* --rootfs STUB: podman writes etc/passwd etc. into it, never into the base */
	if (req->base && cl_exec_check_stub(cfg->root_path, err) < 0)
		r = cl_error_wrap(err, "--rootfs with io.cryptlayer.base");
	if (r == 0)
		r = reclaim_stale(ctx, pod.id, err);
	/* image mode: the lower is podman's overlay, its container layer must hold nothing */
	if (r == 0 && !req->base)
		r = check_podman_layer(pod.id, cfg->root_path, err);
	if (r == 0) {
		/*
		 * podman's bundle is the graph root's userdata dir (from /dev/shm's source): the
		 * owner check survives a reboot there, unlike in runroot (a tmpfs)
		 */
		struct cl_layer_args a = {.id = pod.id,
					  .req = req,
					  .lower = req->base ? req->base : cfg->root_path,
					  .lower_is_root = !req->base,
					  .owner = CL_OWNER_PODMAN,
					  .bundle = pod.storage,
					  .owner_dir = pod.storage ? pod.storage : pod.userdata,
					  .config = cfg};

		r = cl_layer_create_rewrite(ctx, &a, buf, len, &out, err);
		if (r == 0 && cl_write_all(out_fd, out, strlen(out)) < 0) {
			r = cl_error_set(err, errno, "write config.json to stdout");
			/* erase an ephemeral layer, lock a persistent one */
			(void)cl_layer_stop(ctx, pod.id, NULL, NULL, NULL, NULL);
		}
	}
	if (r == 0) {
		struct cl_error *e = NULL;

		cl_log(CL_LOG_INFO, "%s: layer over '%s'", pod.id,
		       req->base ? req->base : cfg->root_path);
		/* opportunistic, never fails the start: layers of removed containers */
		if (cl_layer_reclaim_podman(ctx, pod.id, cl_hook_log_reclaimed, NULL, &e) < 0)
			cl_log(CL_LOG_WARN, "reclaim removed containers' layers: %s",
			       e ? e->msg : "?");
		cl_error_free(&e);
	} else {
		cl_error_wrap(err, "container %.12s", pod.id);
	}
	cl_oci_podman_clear(&pod);
	return r;
}

int cl_hook_precreate(const struct cl_ctx *ctx, int in_fd, int out_fd, struct cl_error **err)
{
	_cleanup_free_ char *buf = NULL;
	struct cl_oci_config cfg = {};
	struct cl_request req = {};
	size_t len = 0;
	int r;

	if (cl_read_all_fd(in_fd, CL_OCI_MAX_INPUT, &buf, &len, err) < 0)
		return cl_error_wrap(err, "config.json on stdin");
	r = cl_oci_config_parse(buf, len, NULL, &cfg, err);
	if (r == 0)
		r = cl_oci_request_parse(cfg.annotations, cfg.n_annotations, &req, err);
	if (r == 0 && req.enabled) {
		r = cl_hook_sandbox(ctx, CL_SANDBOX_HOOK_PRECREATE, true, err);
		if (r == 0)
			r = setup(ctx, &cfg, &req, buf, len, out_fd, err);
	}
	/* not enabled: the config goes back byte for byte, nothing is created */
	else if (r == 0 && cl_write_all(out_fd, buf, len) < 0)
		r = cl_error_set(err, errno, "write config.json to stdout");
	cl_oci_request_clear(&req);
	cl_oci_config_clear(&cfg);
	return r;
}
