/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A user's own store and its podman wiring (DESIGN §7c). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/fscrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/store/user.h"

#define TEXT_MAX (64 * 1024)

CL_DEFINE_CLEANUP(json_object *, json_object_put)

/* @path itself if it exists, else its nearest existing ancestor */
static int nearest_existing(const char *path, char **ret)
{
	char *p = strdup(path);
	struct stat st;

	if (!p)
		return -ENOMEM;
	while (lstat(p, &st) < 0) {
		char *slash = strrchr(p, '/');

		if (errno != ENOENT || !slash) {
			int e = errno;

			free(p);
			return -e;
		}
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	*ret = p;
	return 0;
}

static int not_supported(const char *root, const char *dir, const char *why, struct cl_error **err)
{
	return cl_error_set(err, EOPNOTSUPP,
			    "store root '%s': the filesystem of '%s' does not support encryption "
			    "(fscrypt v2: %s): the administrator enables it once (ext4: "
			    "'tune2fs -O encrypt DEVICE' on the device holding it), or pass --root "
			    "DIR on a filesystem that has it",
			    root, dir, why);
}

int cl_store_user_probe(const char *root, struct cl_error **err)
{
	struct cl_fscrypt_mode_probe mode = {
	    .contents_name = "AES-256-XTS",
	    .filenames_name = "AES-256-CTS",
	    .contents = FSCRYPT_MODE_AES_256_XTS,
	    .filenames = FSCRYPT_MODE_AES_256_CTS,
	    .flags = FSCRYPT_POLICY_FLAGS_PAD_32,
	};
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	struct cl_error *e = NULL;
	int r;

	r = nearest_existing(root, &dir);
	if (r < 0)
		return cl_error_set(err, -r, "store root '%s'", root);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cl_error_set(err, errno, "store root '%s': open '%s'", root, dir);
	r = cl_fscrypt_probe_modes(fd, &mode, 1, &e);
	if (r < 0 && (e->errnum == EOPNOTSUPP || e->errnum == ENOTTY)) {
		r = not_supported(root, dir, e->msg, err);
		cl_error_free(&e);
		return r;
	}
	if (r < 0) {
		cl_error_move(err, &e);
		return cl_error_wrap(err, "store root '%s': probe encryption on '%s'", root, dir);
	}
	if (mode.result == -EOPNOTSUPP || mode.result == -ENOTTY)
		return not_supported(root, dir, mode.step, err);
	if (mode.result < 0)
		return cl_error_set(err, -mode.result,
				    "store root '%s': probe encryption on '%s': %s failed", root,
				    dir, mode.step);
	return 0;
}

/* json-c leaves @val to the caller when the add fails: put it then; NULL @val fails */
static bool add(json_object *o, const char *key, json_object *val)
{
	int r = !val  ? -1
		: key ? json_object_object_add(o, key, val)
		      : json_object_array_add(o, val);

	if (r < 0)
		json_object_put(val);
	return r == 0;
}

static json_object *descriptor(const char *self, const char *const *args, size_t n_args,
			       const char *stage)
{
	_cleanup_(json_object_putp) json_object *top = json_object_new_object();
	json_object *hook = NULL, *argv = NULL, *when = NULL, *ann = NULL, *stages = NULL;
	/* every object is made where it is added, so putting @top frees all there is */
	bool ok = top && add(top, "version", json_object_new_string("1.0.0")) &&
		  add(top, "hook", hook = json_object_new_object()) &&
		  add(hook, "path", json_object_new_string(self)) &&
		  add(hook, "args", argv = json_object_new_array());

	for (size_t i = 0; ok && i < n_args; i++)
		ok = add(argv, NULL, json_object_new_string(args[i]));
	ok = ok && add(top, "when", when = json_object_new_object()) &&
	     add(when, "annotations", ann = json_object_new_object()) &&
	     add(ann, "^io\\.cryptlayer\\.(enable|nested)$", json_object_new_string("^true$")) &&
	     add(top, "stages", stages = json_object_new_array()) &&
	     add(stages, NULL, json_object_new_string(stage));
	return ok ? TAKE_PTR(top) : NULL;
}

char *cl_store_user_descriptor(const char *self, const char *const *args, size_t n_args,
			       const char *stage, struct cl_error **err)
{
	_cleanup_(json_object_putp) json_object *d = descriptor(self, args, n_args, stage);
	const char *s;
	char *out;

	if (!d)
		return cl_error_set(err, ENOMEM, "hooks.d descriptor"), NULL;
	s = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(&out, "%s\n", s) < 0)
		return cl_error_set(err, ENOMEM, "hooks.d descriptor"), NULL;
	return out;
}

/* a TOML basic string needs no escape: no '"', '\' or control character */
static bool toml_plain(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

char *cl_store_user_dropin(const char *const *system, size_t n_system, const char *user_hooks,
			   struct cl_error **err)
{
	char *out = NULL, *next = NULL;

	if (asprintf(
		&out,
		"# Written by 'cryptlayer store init --user'. podman's hooks_dir replaces its\n"
		"# default list: the system directories come first, then this user's, whose\n"
		"# cryptlayer descriptors override the system's of the same name.\n"
		"[engine]\nhooks_dir = [\n") < 0)
		return cl_error_set(err, ENOMEM, "drop-in"), NULL;
	for (size_t i = 0; i <= n_system; i++) {
		const char *d = i < n_system ? system[i] : user_hooks;

		if (!toml_plain(d)) {
			free(out);
			return cl_error_set(err, EINVAL,
					    "hooks directory '%s': a quote, backslash "
					    "or control character",
					    d),
			       NULL;
		}
		if (asprintf(&next, "%s  \"%s\",\n", out, d) < 0) {
			free(out);
			return cl_error_set(err, ENOMEM, "drop-in"), NULL;
		}
		free(out);
		out = next;
	}
	if (asprintf(&next, "%s]\n", out) < 0)
		next = NULL;
	free(out);
	return next ? next : (cl_error_set(err, ENOMEM, "drop-in"), NULL);
}

int cl_store_user_put(const char *path, const char *text, unsigned mode, struct cl_error **err)
{
	_cleanup_free_ char *old = NULL;
	struct cl_error *e = NULL;
	size_t len = 0;
	int r;

	r = cl_read_file_at(AT_FDCWD, path, TEXT_MAX, &old, &len, &e);
	cl_error_free(&e);
	if (r == 0 && len == strlen(text) && !memcmp(old, text, len))
		return 0;
	r = cl_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), (mode_t)mode, err);
	return r < 0 ? r : 1;
}
