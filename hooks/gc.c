/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gc (DESIGN §4): gather facts about every recorded layer and every layer directory in
 * the store, let lib/plan/gc.c decide, erase what it reclaims in the teardown order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hooks/layer.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/mount/overlay.h"
#include "lib/store/store.h"

struct gc_run {
	const struct cl_ctx *ctx;
	cl_gc_report_fn report;
	void *data;
	int failed;
};

static long age_of(int dfd, const char *path)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* unknown: treat as new, never as old */
	return (long)(time(NULL) - st.st_mtime);
}

/* does <store>/@dir/@id exist? */
static bool exists_at(int dfd, const char *dir, const char *id)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	return faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void report(struct gc_run *run, const char *id, enum cl_gc_verdict v, const char *why,
		   struct cl_error **err)
{
	struct cl_gc_item item = {.id = id, .verdict = v, .why = why, .error = *err};

	if (*err)
		run->failed++;
	if (run->report)
		run->report(&item, run->data);
	cl_error_free(err);
}

static void record_facts(const struct cl_record *rec, const struct cl_store *store,
			 const char *run_dir, struct cl_gc_facts *f)
{
	bool hook = rec->owner && !strcmp(rec->owner, "hook");
	_cleanup_free_ char *path = NULL;

	f->rec = rec;
	f->layer_exists = exists_at(store->dir_fd, "containers", rec->id);
	f->persistent_in_store = exists_at(store->dir_fd, "keys", rec->id);
	f->owner_dir_exists = rec->owner_dir && access(rec->owner_dir, F_OK) == 0;
	f->pid_alive = hook && cl_layer_pid_alive(rec->pid);
	f->mounted = !hook && rec->merged && cl_mount_is_mountpoint(rec->merged) > 0;
	/* an error while looking counts as in use: gc never guesses towards erasing */
	f->in_use = f->mounted && cl_mount_used_elsewhere(rec->merged) != 0;
	if (asprintf(&path, "%s/%s.json", run_dir, rec->id) >= 0)
		f->age_s = age_of(AT_FDCWD, path);
}

static void gc_record(struct gc_run *run, const char *id)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_error *err = NULL;
	struct cl_gc_facts f = {};
	struct cl_record rec = {};
	enum cl_gc_verdict v = CL_GC_KEEP;
	const char *why = "unreadable record";

	if (cl_record_read(run->ctx->run_dir, id, &rec, &err) < 0) {
		if (err && err->errnum == ENOENT)
			cl_error_free(&err); /* erased meanwhile */
		else
			report(run, id, v, why, &err);
		return;
	}
	/* the store (re-attached after a reboot) first: a detached store hides every layer */
	why = "store unavailable";
	if (cl_store_open(rec.store_root, 0, false, &store, &err) == 0) {
		record_facts(&rec, store, run->ctx->run_dir, &f);
		v = cl_plan_gc(&f, &why);
		if (v == CL_GC_RECLAIM)
			(void)cl_layer_destroy(run->ctx, id, true, NULL, &err);
	}
	report(run, id, v, why, &err);
	cl_record_clear(&rec);
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

/* erase a layer directory nobody recorded, with a record made up for the teardown */
static int erase_orphan(struct gc_run *run, struct cl_store *store, const char *id, char *key_hex,
			struct cl_error **err)
{
	struct cl_record rec = {
	    .id = (char *)id, .key_id = key_hex, .keymode = "ephemeral", .owner = "cli"};
	_cleanup_free_ char *layer = NULL, *merged = NULL;
	struct cl_plan plan = {};
	int r;

	if (asprintf(&layer, "%s/containers/%s", store->dir, id) < 0 ||
	    asprintf(&merged, "%s/merged", layer) < 0)
		return cl_error_set(err, ENOMEM, "gc");
	rec.layer_dir = layer;
	rec.merged = merged;
	r = cl_plan_teardown(&rec, &plan, err);
	if (r == 0)
		r = cl_exec_teardown(store, &rec, &plan, run->ctx->run_dir, NULL, err);
	cl_plan_clear(&plan); /* its record part is empty: teardown plans copy nothing */
	return r;
}

static void gc_orphan(struct gc_run *run, struct cl_store *store, const char *id)
{
	_cleanup_free_ char *key_hex = NULL, *rel = NULL;
	struct cl_error *err = NULL;
	struct cl_gc_facts f = {};
	struct cl_record desc = {};
	enum cl_gc_verdict v;
	const char *why;

	if (asprintf(&rel, "containers/%s", id) < 0)
		return;
	f.layer_exists = true;
	f.persistent_in_store = exists_at(store->dir_fd, "keys", id);
	f.age_s = age_of(store->dir_fd, rel);
	if (orphan_key(store, id, &key_hex, &f.key_present) < 0)
		return;
	{
		_cleanup_free_ char *merged = NULL;

		if (asprintf(&merged, "%s/%s/merged", store->dir, rel) < 0)
			return;
		f.mounted = cl_mount_is_mountpoint(merged) != 0;
	}
	if (f.persistent_in_store &&
	    cl_record_desc_read(store->dir_fd, run->ctx->root, store->dir, id, &desc, NULL) == 0) {
		f.desc = &desc;
		f.owner_dir_exists = desc.owner_dir && access(desc.owner_dir, F_OK) == 0;
	}
	v = cl_plan_gc(&f, &why);
	/* a persistent layer goes with its key file: destroy finds it by its descriptor */
	if (v == CL_GC_RECLAIM && f.desc)
		(void)cl_layer_destroy(run->ctx, id, true, NULL, &err);
	else if (v == CL_GC_RECLAIM)
		(void)erase_orphan(run, store, id, key_hex, &err);
	report(run, id, v, why, &err);
	cl_record_clear(&desc);
}

/* layer directories in the store at ctx->root that no record in ctx->run_dir names */
static int gc_orphans(struct gc_run *run, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	r = cl_store_open(run->ctx->root, 0, false, &store, err);
	if (r == -ENOENT) {
		cl_error_free(err); /* no store, no layers */
		return 0;
	}
	if (r < 0)
		return r;
	fd = openat(store->dir_fd, "containers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			   ? 0
			   : cl_error_set(err, errno, "open '%s/containers'", store->dir);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cl_error_set(err, errno, "open '%s/containers'", store->dir);
	}
	while ((de = readdir(d))) {
		char rec[512];

		if (!cl_oci_id_valid(de->d_name) || de->d_name[0] == '.')
			continue;
		snprintf(rec, sizeof(rec), "%s/%s.json", run->ctx->run_dir, de->d_name);
		if (access(rec, F_OK) == 0)
			continue;
		gc_orphan(run, store, de->d_name);
	}
	return 0;
}

/* one gc at a time per store root: <root>/gc.lock (the store's own lock is for open) */
static int lock_gc(const char *root, struct cl_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&path, "%s/gc.lock", root) < 0)
		return cl_error_set(err, ENOMEM, "gc");
	r = cl_mkdir_p_at(AT_FDCWD, root, 0700, err);
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	if (flock(fd, LOCK_EX) < 0)
		return cl_error_set(err, errno, "lock '%s'", path);
	return TAKE_FD(fd);
}

int cl_layer_gc(const struct cl_ctx *ctx, cl_gc_report_fn fn, void *data, struct cl_error **err)
{
	struct gc_run run = {.ctx = ctx, .report = fn, .data = data};
	_cleanup_close_ int lock = -1;
	char **ids = NULL;
	int n;

	lock = lock_gc(ctx->root, err);
	if (lock < 0)
		return lock;
	n = cl_record_list(ctx->run_dir, &ids, err);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		gc_record(&run, ids[i]);
	cl_strv_free(ids);
	n = gc_orphans(&run, err);
	return n < 0 ? n : run.failed;
}
