/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/trust.h"
#include "lib/record/record.h"
#include "oci/json-util.h"

/* the record's string fields (clang-format 14 reflows this list differently each run) */
/* clang-format off */
#define STR_FIELDS(X) \
	X(id) X(base) X(backend) X(keymode) X(key_id) X(store_root) X(layer_dir) X(upper) \
	X(merged) X(owner) X(owner_dir) X(bundle) X(state) X(snapshot)
/* the numeric fields, JSON integers */
#define NUM_FIELDS(X) X(pid) X(pid_start) X(creator) X(creator_start)
/* clang-format on */

void cl_record_clear(struct cl_record *rec)
{
#define FREE_FIELD(f) free(rec->f);
	STR_FIELDS(FREE_FIELD)
#undef FREE_FIELD
	memset(rec, 0, sizeof(*rec));
}

static int add_str(json_object *o, const char *k, const char *v)
{
	return json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

int cl_record_write(const char *run_dir, const struct cl_record *rec, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int dfd = -1;
	const char *text;
	int r = 0;

	if (!o)
		return cl_error_set(err, ENOMEM, "record");
#define ADD_FIELD(f) r |= add_str(o, #f, rec->f);
	STR_FIELDS(ADD_FIELD)
#undef ADD_FIELD
#define ADD_NUM(f) r |= json_object_object_add(o, #f, json_object_new_int64((int64_t)rec->f));
	NUM_FIELDS(ADD_NUM)
#undef ADD_NUM
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (r || !text)
		return cl_error_set(err, ENOMEM, "record '%s'", rec->id);
	dfd = cl_trusted_dir_open(run_dir, "run dir", CL_TRUST_CREATE | CL_TRUST_ONCE, 0700, err);
	if (dfd < 0)
		return dfd;
	if (asprintf(&name, "%s.json", rec->id) < 0)
		return cl_error_set(err, ENOMEM, "record");
	/*
	 * No fsync: the run dir is a tmpfs that a reboot empties (DESIGN §4), so durability buys
	 * nothing, and an fsync on a disk-backed /run costs each hook 0.6-3.6 ms. Rename keeps
	 * readers from seeing a half-written record.
	 */
	return cl_write_file_replace_at(dfd, name, text, strlen(text), 0600, CL_WRITE_NO_SYNC, err);
}

static int get_str(json_object *o, const char *k, char **ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

/*
 * @name under @dfd (shown as @path) as a JSON object into @ret (every field it has);
 * @what names it. Only a trusted file is read (lib/core/trust.h): root acts on records.
 * O_NONBLOCK: a FIFO is refused, never waited on.
 */
static int load(int dfd, const char *name, const char *path, size_t max, const char *what,
		struct cl_record *ret, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd =
	    openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	struct cl_record rec = {};
	json_object *v;
	int r = 0;

	if (fd < 0)
		return cl_error_set(err, errno, "open '%s'", path);
	r = cl_trusted_file_check(fd, what, path, err);
	if (r < 0)
		return r;
	r = cl_read_all_fd(fd, max, &buf, NULL, err);
	if (r < 0) {
		cl_error_wrap(err, "'%s'", path);
		return r;
	}
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object))
		return cl_error_set(err, EINVAL, "%s '%s' is malformed", what, path);
#define GET_FIELD(f) r = r ? r : get_str(o, #f, &rec.f);
	STR_FIELDS(GET_FIELD)
#undef GET_FIELD
/* a value the field cannot hold (a pid of 2^31 would turn negative) is malformed */
#define GET_NUM(f)                                                                                 \
	if (json_object_object_get_ex(o, #f, &v) && v) {                                           \
		int64_t n = json_object_get_int64(v);                                              \
                                                                                                   \
		rec.f = (__typeof__(rec.f))n;                                                      \
		if (!json_object_is_type(v, json_type_int) || n < 0 || (int64_t)rec.f != n)        \
			r = -EINVAL;                                                               \
	}
	NUM_FIELDS(GET_NUM)
#undef GET_NUM
	if (r) {
		cl_record_clear(&rec);
		return cl_error_set(err, EINVAL, "%s '%s' is malformed", what, path);
	}
	*ret = rec;
	return 0;
}

int cl_record_read(const char *run_dir, const char *id, struct cl_record *ret,
		   struct cl_error **err)
{
	_cleanup_free_ char *path = NULL, *name = NULL;
	_cleanup_close_ int dfd = -1;
	struct cl_record rec = {};
	int r;

	if (asprintf(&name, "%s.json", id) < 0 || asprintf(&path, "%s/%s", run_dir, name) < 0)
		return cl_error_set(err, ENOMEM, "record");
	dfd = cl_trusted_dir_open(run_dir, "run dir", CL_TRUST_ONCE, 0, err);
	if (dfd == -ENOENT)
		cl_error_free(err);
	if (dfd == -ENOENT)
		return cl_error_set(err, ENOENT, "open '%s'", path);
	if (dfd < 0)
		return dfd;
	r = load(dfd, name, path, 1 << 20, "record", &rec, err);
	if (r < 0)
		return r;
	if (!rec.id || strcmp(rec.id, id) || !rec.layer_dir || !rec.store_root) {
		cl_record_clear(&rec);
		return cl_error_set(err, EINVAL, "record '%s' is malformed", path);
	}
	*ret = rec;
	return 0;
}

int cl_record_remove(const char *run_dir, const char *id, struct cl_error **err)
{
	_cleanup_free_ char *path = NULL, *tmp = NULL;

	if (asprintf(&path, "%s/%s.json", run_dir, id) < 0 || asprintf(&tmp, "%s.tmp", path) < 0)
		return cl_error_set(err, ENOMEM, "record");
	if (unlink(path) < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "remove '%s'", path);
	/* a replacement cut short by a kill: it names the layer and its key id */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return cl_error_set(err, errno, "remove '%s'", tmp);
	return 0;
}

/* "<id>.json" → id */
static char *record_id(DIR *d, const char *name)
{
	size_t len = strlen(name);

	(void)d;
	if (len <= 5 || strcmp(name + len - 5, ".json"))
		return NULL;
	return strndup(name, len - 5);
}

int cl_record_list(const char *run_dir, char ***ret_ids, struct cl_error **err)
{
	int fd = cl_trusted_dir_open(run_dir, "run dir", CL_TRUST_ONCE, 0, err);
	DIR *d = NULL;
	int n;

	if (fd == -ENOENT)
		cl_error_free(err); /* no run dir: no records */
	else if (fd < 0)
		return fd;
	else if (!(d = fdopendir(fd))) {
		n = errno;
		close(fd);
		return cl_error_set(err, n, "open '%s'", run_dir);
	}
	n = cl_dir_names(d, record_id, ret_ids);
	return n < 0 ? cl_error_set(err, -n, "list '%s'", run_dir) : n;
}

#define DESC_FIELDS(X)                                                                             \
	X(id) X(base) X(backend) X(keymode) X(key_id) X(owner) X(owner_dir) X(snapshot)

int cl_record_desc_write(int store_fd, const struct cl_record *rec, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	_cleanup_free_ char *name = NULL;
	const char *text;
	int r = 0;

	if (!o)
		return cl_error_set(err, ENOMEM, "descriptor");
#define ADD_FIELD(f) r |= add_str(o, #f, rec->f);
	DESC_FIELDS(ADD_FIELD)
#undef ADD_FIELD
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	if (r || !text || asprintf(&name, "containers/%s/layer.json", rec->id) < 0)
		return cl_error_set(err, ENOMEM, "descriptor of '%s'", rec->id);
	return cl_write_file_atomic_at(store_fd, name, text, strlen(text), 0600, err);
}

static int desc_complete(struct cl_record *rec, const char *store_root, const char *store_dir)
{
	bool hook = rec->owner && !strcmp(rec->owner, "hook");

	if (asprintf(&rec->layer_dir, "%s/containers/%s", store_dir, rec->id) < 0) {
		rec->layer_dir = NULL;
		return -ENOMEM;
	}
	if (asprintf(&rec->upper, "%s/crypt/upper", rec->layer_dir) < 0)
		rec->upper = NULL;
	/* a hook layer's mount point was the container's root.path: none while locked */
	if (!hook && asprintf(&rec->merged, "%s/merged", rec->layer_dir) < 0)
		return -ENOMEM;
	rec->store_root = strdup(store_root);
	rec->state = strdup("locked");
	return rec->upper && rec->store_root && rec->state ? 0 : -ENOMEM;
}

int cl_record_desc_read(int store_fd, const char *store_root, const char *store_dir, const char *id,
			struct cl_record *ret, struct cl_error **err)
{
	_cleanup_free_ char *name = NULL;
	struct cl_record rec = {}, d = {};
	int r;

	if (asprintf(&name, "containers/%s/layer.json", id) < 0)
		return cl_error_set(err, ENOMEM, "descriptor");
	r = load(store_fd, name, name, 1 << 16, "descriptor", &rec, err);
	if (r < 0)
		return r;
		/* only the descriptor's own fields; paths and state are this store's */
#define TAKE_FIELD(f) d.f = TAKE_PTR(rec.f);
	DESC_FIELDS(TAKE_FIELD)
#undef TAKE_FIELD
	cl_record_clear(&rec);
	if (!d.id || strcmp(d.id, id) || !d.keymode || !d.base) {
		cl_record_clear(&d);
		return cl_error_set(err, EINVAL, "descriptor '%s' is malformed", name);
	}
	if (desc_complete(&d, store_root, store_dir) < 0) {
		cl_record_clear(&d);
		return cl_error_set(err, ENOMEM, "descriptor '%s'", name);
	}
	*ret = d;
	return 0;
}

/* "<id>" with <id>/layer.json → id */
static char *desc_id(DIR *d, const char *name)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/layer.json", name) < 0 ||
	    faccessat(dirfd(d), path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	return strdup(name);
}

int cl_record_desc_list(int store_fd, char ***ret_ids, struct cl_error **err)
{
	int fd = openat(store_fd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int n;

	if (!d) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (e != ENOENT)
			return cl_error_set(err, e, "open 'containers' in the store");
	}
	n = cl_dir_names(d, desc_id, ret_ids);
	return n < 0 ? cl_error_set(err, -n, "list 'containers' in the store") : n;
}
