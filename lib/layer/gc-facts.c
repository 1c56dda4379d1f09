/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/proc.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/layer/gc-facts.h"
#include "lib/mount/overlay.h"

static long age_of(int dfd, const char *path)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* unknown: treat as new, never as old */
	return (long)(time(NULL) - st.st_mtime);
}

/* does <store>/@dir/@id exist? (an error counts as yes: doubt keeps) */
static bool exists_at(int dfd, const char *dir, const char *id)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	return faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/*
 * The directory that holds the owner's: podman's <storage>/overlay-containers for its
 * .../overlay-containers/<id>/userdata, the parent directory of a bundle.
 */
static void owner_anchor(const struct cl_record *d, struct cl_gc_facts *f)
{
	_cleanup_free_ char *copy = d->owner_dir ? strdup(d->owner_dir) : NULL;
	const char *anchor;
	struct statfs sfs;

	if (!copy)
		return;
	anchor = dirname(copy);
	if (d->owner && !strcmp(d->owner, "podman"))
		anchor = dirname((char *)anchor);
	f->owner_anchor_exists = path_exists(anchor);
	f->owner_anchor_volatile =
	    statfs(anchor, &sfs) < 0 || sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
}

void cl_layer_record_facts(const struct cl_ctx *ctx, struct cl_store *store,
			   const struct cl_record *rec, struct cl_gc_facts *f)
{
	bool hook = rec->owner && !strcmp(rec->owner, "hook");
	char path[512];

	f->rec = rec;
	f->layer_exists = exists_at(store->dir_fd, "containers", rec->id);
	f->persistent_in_store = exists_at(store->dir_fd, "keys", rec->id);
	f->owner_dir_exists = rec->owner_dir && path_exists(rec->owner_dir);
	owner_anchor(rec, f);
	f->pid_alive = hook && cl_proc_alive(rec->pid, rec->pid_start);
	f->creator_alive =
	    cl_layer_is_creating(rec) && cl_proc_alive(rec->creator, rec->creator_start);
	f->mounted = !hook && rec->merged && cl_mount_is_mountpoint(rec->merged) > 0;
	/* an error while looking counts as in use: gc never guesses towards erasing */
	f->in_use = f->mounted && cl_mount_used_elsewhere(rec->merged) != 0;
	snprintf(path, sizeof(path), "%s/%s.json", ctx->run_dir, rec->id);
	f->age_s = age_of(AT_FDCWD, path);
}

/* the key identifier an orphan's policy names, and whether that key is in the kernel */
static int orphan_key(const struct cl_store *store, const char *id, char **ret_hex,
		      bool *ret_present)
{
	char path[512];
	_cleanup_close_ int fd = -1;
	struct cl_key_id kid;
	enum cl_key_status st;
	bool enc = false;

	snprintf(path, sizeof(path), "containers/%s/crypt", id);
	fd = openat(store->dir_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || cl_fscrypt_get_policy(fd, &enc, &kid, NULL) < 0 || !enc)
		return 0; /* no crypt dir or no policy: nothing to remove from the kernel */
	if (cl_fscrypt_key_status(store->dir_fd, &kid, &st, NULL) < 0)
		st = CL_KEY_PRESENT; /* cannot tell: keep it */
	*ret_present = st != CL_KEY_ABSENT;
	*ret_hex = strdup(kid.hex);
	return *ret_hex ? 0 : -ENOMEM;
}

int cl_layer_orphan_facts(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			  struct cl_record *desc, char **ret_key_hex, struct cl_gc_facts *f)
{
	char rel[512], key[512], merged[1024];
	int r;

	snprintf(rel, sizeof(rel), "containers/%s", id);
	/* a nest outlives its layer directory only when an erase was cut short (§6) */
	f->layer_exists =
	    exists_at(store->dir_fd, "containers", id) || exists_at(store->dir_fd, "nest", id);
	f->persistent_in_store = exists_at(store->dir_fd, "keys", id);
	if (!f->layer_exists && !f->persistent_in_store)
		return -ENOENT;
	snprintf(key, sizeof(key), "keys/%s", id);
	if (f->layer_exists && !exists_at(store->dir_fd, "containers", id))
		snprintf(rel, sizeof(rel), "nest/%s", id);
	f->age_s = age_of(store->dir_fd, f->layer_exists ? rel : key);
	r = orphan_key(store, id, ret_key_hex, &f->key_present);
	if (r < 0)
		return r;
	snprintf(merged, sizeof(merged), "%s/%s/merged", store->dir, rel);
	f->mounted = cl_mount_is_mountpoint(merged) != 0;
	if (!f->persistent_in_store)
		return 0;
	r = cl_record_desc_read(store->dir_fd, ctx->root, store->dir, id, desc, NULL);
	f->desc_missing = r == -ENOENT;
	if (r == 0) {
		f->desc = desc;
		f->owner_dir_exists = desc->owner_dir && path_exists(desc->owner_dir);
		owner_anchor(desc, f);
	}
	return 0;
}

/*
 * names in @dir under @dfd that are valid ids once @suffix is cut off and have no record,
 * appended to @v
 */
static int add_names(const struct cl_ctx *ctx, int dfd, const char *dir, const char *suffix,
		     char ***v, int *n)
{
	int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return e == ENOENT ? 0 : -e;
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name), cut = strlen(suffix);
		char path[512], **nv, *id;

		if (de->d_name[0] == '.' || len <= cut || strcmp(de->d_name + len - cut, suffix))
			continue;
		id = strndup(de->d_name, len - cut);
		if (!id)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s/%s.json", ctx->run_dir, id);
		if (!cl_oci_id_valid(id) || access(path, F_OK) == 0) {
			free(id);
			continue;
		}
		nv = realloc(*v, sizeof(**v) * (size_t)(*n + 2));
		if (!nv) {
			free(id);
			return -ENOMEM;
		}
		*v = nv;
		(*v)[*n] = id;
		(*v)[++*n] = NULL;
	}
	return errno ? -errno : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cl_layer_unrecorded_ids(const struct cl_ctx *ctx, struct cl_store *store, char ***ret,
			    struct cl_error **err)
{
	char **v = calloc(1, sizeof(*v));
	int n = 0, r = v ? 0 : -ENOMEM, k = 0;
	_cleanup_close_ int rfd = open(ctx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (r == 0 && store)
		r = add_names(ctx, store->dir_fd, "containers", "", &v, &n);
	if (r == 0 && store)
		r = add_names(ctx, store->dir_fd, "keys", "", &v, &n);
	if (r == 0 && store)
		r = add_names(ctx, store->dir_fd, "nest", "", &v, &n);
	if (r == 0 && store) /* btrfs snapshots of layers that are gone */
		r = add_names(ctx, store->dir_fd, "snapshots", "", &v, &n);
	if (r == 0 && rfd >= 0)
		r = add_names(ctx, rfd, "locks", "", &v, &n);
	/* a record replacement cut short by a kill leaves "<id>.json.tmp" */
	if (r == 0)
		r = add_names(ctx, AT_FDCWD, ctx->run_dir, ".json.tmp", &v, &n);
	if (r < 0) {
		cl_strv_free(v);
		return cl_error_set(err, -r, "list the layers in '%s'", ctx->root);
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_str);
	for (int i = 0; i < n; i++) /* unique */
		if (k == 0 || strcmp(v[k - 1], v[i]))
			v[k++] = v[i];
		else
			free(v[i]);
	v[k] = NULL;
	*ret = v;
	return k;
}
