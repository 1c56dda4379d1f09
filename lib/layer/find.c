/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding layers: records, store descriptors, and what status and list show. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/proc.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/layer/internal.h"
#include "lib/mount/overlay.h"

int cl_layer_find(const struct cl_ctx *ctx, const char *id, struct cl_store **ret_store,
		  struct cl_record *ret, bool *ret_locked, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_record rec = {};
	bool locked = false;
	int r;

	if (!id || !cl_oci_id_valid(id))
		return cl_error_set(err, EINVAL, "invalid layer id '%.64s'", id ? id : "");
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
	if (ret_locked)
		*ret_locked = locked;
	return 1;
}

/* the kernel's view: key status (NULL when unknown) and whether it is mounted */
static void info_of(struct cl_store *store, struct cl_layer_info *info)
{
	const struct cl_record *rec = &info->rec;
	enum cl_key_status st;
	struct cl_key_id id;

	if (rec->key_id && cl_key_id_from_hex(rec->key_id, &id) == 0 &&
	    cl_fscrypt_key_status(store->dir_fd, &id, &st, NULL) == 0)
		info->key_status = cl_fscrypt_key_status_name(st);
	if (rec->owner && !strcmp(rec->owner, "hook"))
		info->mounted = cl_proc_alive(rec->pid, rec->pid_start) &&
				!(rec->state && !strcmp(rec->state, "locked"));
	else if (rec->merged)
		info->mounted = cl_mount_is_mountpoint(rec->merged) > 0;
	cl_layer_nest_info(store, info);
}

int cl_layer_status(const struct cl_ctx *ctx, const char *id, struct cl_layer_info *ret,
		    struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	struct cl_layer_info info = {};
	int r = cl_layer_find(ctx, id, &store, &info.rec, NULL, err);

	if (r == 0)
		return cl_error_set(err, ENOENT, "no layer '%s'", id);
	if (r < 0)
		return r;
	info_of(store, &info);
	*ret = info;
	return 0;
}

void cl_layer_info_free(struct cl_layer_info *v, int n)
{
	for (int i = 0; v && i < n; i++)
		cl_record_clear(&v[i].rec);
	free(v);
}

/* free @n strings of @v (some may be NULL, taken) and @v itself */
static void free_n(char **v, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* record ids plus the ids of persistent layers described in the store, sorted, unique */
static int list_ids(const struct cl_ctx *ctx, char ***ret, struct cl_error **err)
{
	_cleanup_(cl_store_freep) struct cl_store *store = NULL;
	char **ids = NULL, **desc = NULL, **all;
	int n, m = 0, k = 0;

	n = cl_record_list(ctx->run_dir, &ids, err);
	if (n < 0)
		return n;
	if (cl_store_open(ctx->root, 0, false, &store, NULL) == 0) {
		m = cl_record_desc_list(store->dir_fd, &desc, err);
		if (m < 0) {
			free_n(ids, n);
			return m;
		}
	}
	all = calloc((size_t)(n + m + 1), sizeof(*all));
	if (!all) {
		free_n(ids, n);
		free_n(desc, m);
		return cl_error_set(err, ENOMEM, "list");
	}
	for (int i = 0, j = 0; i < n || j < m;) {
		int c = i >= n ? 1 : j >= m ? -1 : strcmp(ids[i], desc[j]);

		all[k++] = c <= 0 ? TAKE_PTR(ids[i]) : TAKE_PTR(desc[j]);
		i += c <= 0;
		j += c >= 0;
	}
	free_n(ids, n);
	free_n(desc, m);
	*ret = all;
	return k;
}

int cl_layer_list(const struct cl_ctx *ctx, struct cl_layer_info **ret, struct cl_error **err)
{
	struct cl_layer_info *v;
	char **ids = NULL;
	int n, k = 0;

	n = list_ids(ctx, &ids, err);
	if (n < 0)
		return n;
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		cl_strv_free(ids);
		return cl_error_set(err, ENOMEM, "list");
	}
	for (int i = 0; i < n; i++)
		if (cl_layer_status(ctx, ids[i], &v[k], NULL) == 0)
			k++; /* gone meanwhile, or unreadable: not listed */
	cl_strv_free(ids);
	*ret = v;
	return k;
}
