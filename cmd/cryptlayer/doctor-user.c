/* SPDX-License-Identifier: GPL-2.0-or-later */
/* doctor for a user: what rootless podman with cryptlayer needs (DESIGN §7c). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cryptlayer/doctor-user.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/userns.h"
#include "lib/mount/overlay.h"
#include "lib/store/store.h"
#include "lib/store/user.h"

#define WHY_MAX 512
#define QUOTA_LOW 8 /* keys left below which doctor warns: about one per running container */

struct cl_doctor_user {
	bool nested;
	unsigned uid;			    /* as seen here; in a user namespace the user is 0 */
	int keys, maxkeys, bytes, maxbytes; /* -1: unknown */
	int encryption;			    /* store filesystem: 1 yes, 0 no, -1 not probed */
	char encryption_why[WHY_MAX];
	bool overlay;
	char overlay_why[WHY_MAX];
	char *log, *dropin;
	bool dropin_present;
};

/* "uid: usage nkeys/nikeys qnkeys/maxkeys qnbytes/maxbytes" (keys(7)) */
static void read_quota(struct cl_doctor_user *u)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/key-users", "re");
	char line[256];
	unsigned uid;
	int usage, nk, nik, qk, mk, qb, mb;

	u->keys = u->bytes = 0;
	u->maxkeys = u->maxbytes = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " %u: %d %d/%d %d/%d %d/%d", &uid, &usage, &nk, &nik, &qk, &mk,
			   &qb, &mb) == 8 &&
		    uid == u->uid) {
			u->keys = qk;
			u->maxkeys = mk;
			u->bytes = qb;
			u->maxbytes = mb;
		}
	if (u->maxkeys < 0) { /* no keys yet: the limits alone */
		_cleanup_fclose_ FILE *k = fopen("/proc/sys/kernel/keys/maxkeys", "re");
		_cleanup_fclose_ FILE *b = fopen("/proc/sys/kernel/keys/maxbytes", "re");

		if (!k || fscanf(k, "%d", &u->maxkeys) != 1)
			u->maxkeys = -1;
		if (!b || fscanf(b, "%d", &u->maxbytes) != 1)
			u->maxbytes = -1;
	}
}

/* lower, upper and work under the scratch dir @dfd, as O_PATH fds */
static int scratch_dirs(int dfd, int fds[3])
{
	static const char *const names[] = {"l", "u", "w"};

	for (int i = 0; i < 3; i++) {
		if (mkdirat(dfd, names[i], 0700) < 0)
			return -errno;
		fds[i] = openat(dfd, names[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0)
			return -errno;
	}
	return 0;
}

/* by its name under @dir: cl_rm_rf_at() stays on the filesystem of its dirfd */
static void remove_scratch(const char *dir, const char *tmp)
{
	_cleanup_close_ int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (parent >= 0)
		(void)cl_rm_rf_at(parent, strrchr(tmp, '/') + 1, NULL);
}

/* an overlay (never attached anywhere) over scratch dirs under @dir; 0 or -errno + @why */
static int overlay_here(const char *dir, char *why, size_t n)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int dfd = -1, mfd = -1;
	struct cl_error *err = NULL;
	int fds[3] = {-1, -1, -1}, r;

	if (asprintf(&tmp, "%s/.overlay-probe-XXXXXX", dir) < 0)
		return -ENOMEM;
	if (!mkdtemp(tmp)) {
		r = -errno;
		snprintf(why, n, "mkdtemp in '%s': %s", dir, strerror(-r));
		return r;
	}
	dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = dfd < 0 ? -errno : scratch_dirs(dfd, fds);
	if (r < 0) {
		snprintf(why, n, "scratch dirs in '%s': %s", tmp, strerror(-r));
	} else {
		mfd = cl_overlay_new(fds[0], fds[1], fds[2], false, &err);
		if (mfd < 0) {
			r = mfd;
			snprintf(why, n, "%s: %s", err->msg, strerror(err->errnum));
			cl_error_free(&err);
		}
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	remove_scratch(dir, tmp);
	return r;
}

/* a user namespace of our own, mapping only this user (as 'podman unshare' would) */
static int enter_userns(uid_t uid, gid_t gid)
{
	char map[64];
	int fd, len;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -errno;
	cl_userns_forget();
	/*
	 * a non-dumpable process's /proc/self files belong to root: it could not write its
	 * own maps. This child holds no secret and only probes, then exits.
	 */
	if (prctl(PR_SET_DUMPABLE, 1) < 0)
		return -errno;
	fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)cl_write_all(fd, "deny", 4);
		close(fd);
	}
	len = snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || cl_write_all(fd, map, (size_t)len) < 0)
		return fd < 0 ? -errno : (close(fd), -errno);
	close(fd);
	len = snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || cl_write_all(fd, map, (size_t)len) < 0)
		return fd < 0 ? -errno : (close(fd), -errno);
	close(fd);
	return 0;
}

/* overlayfs in a user namespace: here if we are in one, else in a forked child's own */
static void probe_overlay(struct cl_doctor_user *u, const char *dir)
{
	int pipefd[2], status = 0, r;
	ssize_t n;
	pid_t pid;

	if (u->nested) {
		u->overlay = overlay_here(dir, u->overlay_why, sizeof(u->overlay_why)) == 0;
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(u->overlay_why, sizeof(u->overlay_why), "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		char why[WHY_MAX] = "";

		close(pipefd[0]);
		r = enter_userns(geteuid(), getegid());
		if (r < 0)
			snprintf(why, sizeof(why), "unshare a user namespace: %s", strerror(-r));
		else
			r = overlay_here(dir, why, sizeof(why));
		(void)cl_write_all(pipefd[1], why, strlen(why));
		_exit(r < 0 ? 1 : 0);
	}
	close(pipefd[1]);
	n = pid < 0 ? -1 : read(pipefd[0], u->overlay_why, sizeof(u->overlay_why) - 1);
	u->overlay_why[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	u->overlay = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (pid < 0)
		snprintf(u->overlay_why, sizeof(u->overlay_why), "fork: %s", strerror(errno));
}

static void probe_encryption(struct cl_doctor_user *u, const struct cl_globals *g,
			     const struct cl_store *store)
{
	struct cl_error *err = NULL;

	if (store && store->backing == CL_STORE_IN_PLACE) {
		u->encryption = 1; /* cl_store_open() checked it; doctor's mode probe says more */
		return;
	}
	u->encryption = cl_store_user_probe(g->root, &err) == 0;
	if (err)
		snprintf(u->encryption_why, sizeof(u->encryption_why), "%s", err->msg);
	cl_error_free(&err);
}

struct cl_doctor_user *cl_doctor_user_probe(const struct cl_globals *g,
					    const struct cl_store *store)
{
	struct cl_doctor_user *u = calloc(1, sizeof(*u));
	struct cl_user_dirs d = {};
	struct cl_error *err = NULL;

	if (!u)
		return NULL;
	u->nested = cl_userns_nested();
	u->uid = (unsigned)geteuid();
	read_quota(u);
	probe_encryption(u, g, store);
	probe_overlay(u, store ? store->dir : "/tmp");
	if (asprintf(&u->log, "%s/cryptlayer.log", g->run_dir) < 0)
		u->log = NULL;
	if (cl_cli_user_dirs(&d, &err) == 0 &&
	    asprintf(&u->dropin, "%s/containers/containers.conf.d/" CL_STORE_USER_DROPIN,
		     d.config) >= 0)
		u->dropin_present = access(u->dropin, F_OK) == 0;
	cl_error_free(&err);
	cl_cli_user_dirs_clear(&d);
	return u;
}

static json_object *num(int v)
{
	return v >= 0 ? json_object_new_int(v) : NULL;
}

static json_object *str(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

json_object *cl_doctor_user_json(const struct cl_doctor_user *u)
{
	json_object *o = json_object_new_object(), *q = json_object_new_object();

	json_object_object_add(o, "uid", json_object_new_int((int)u->uid));
	json_object_object_add(o, "user_namespace", json_object_new_boolean(u->nested));
	json_object_object_add(q, "keys", num(u->keys));
	json_object_object_add(q, "maxkeys", num(u->maxkeys));
	json_object_object_add(q, "bytes", num(u->bytes));
	json_object_object_add(q, "maxbytes", num(u->maxbytes));
	json_object_object_add(o, "key_quota", q);
	json_object_object_add(o, "store_encryption",
			       u->encryption < 0 ? NULL : json_object_new_boolean(u->encryption));
	json_object_object_add(o, "store_encryption_error", str(u->encryption_why));
	json_object_object_add(o, "overlay_in_user_namespace", json_object_new_boolean(u->overlay));
	json_object_object_add(o, "overlay_error", str(u->overlay ? NULL : u->overlay_why));
	json_object_object_add(o, "podman_dropin", str(u->dropin));
	json_object_object_add(o, "podman_dropin_present",
			       json_object_new_boolean(u->dropin_present));
	json_object_object_add(o, "hook_log", str(u->log));
	return o;
}

void cl_doctor_user_print(const struct cl_doctor_user *u)
{
	printf("user         uid %u%s\n", u->uid,
	       u->nested ? " in a user namespace (0 here is the user)" : "");
	printf("key quota    %d of %d keys, %d of %d bytes used (/proc/sys/kernel/keys/maxkeys, "
	       "maxbytes)%s\n",
	       u->keys, u->maxkeys, u->bytes, u->maxbytes,
	       u->maxkeys >= 0 && u->maxkeys - u->keys < QUOTA_LOW
		   ? ": nearly exhausted, containers will not start"
		   : "");
	if (u->encryption == 1)
		printf("store fs     encryption (fscrypt v2): yes\n");
	else
		printf("store fs     encryption (fscrypt v2): no: %s\n", u->encryption_why);
	printf("userns mount overlayfs with userxattr: %s%s\n",
	       u->overlay ? "yes" : "no: ", u->overlay ? "" : u->overlay_why);
	printf("podman       %s: %s\n", u->dropin ? u->dropin : "drop-in",
	       u->dropin_present ? "present" : "missing (run 'cryptlayer store init --user')");
	printf("hook errors  %s (podman shows a failing hook only as 'exit status 1')\n",
	       u->log ? u->log : "<run-dir>/cryptlayer.log");
}

bool cl_doctor_user_ok(const struct cl_doctor_user *u, const char **ret_why)
{
	if (!u->overlay)
		*ret_why = "overlayfs does not mount in a user namespace here";
	else if (u->maxkeys >= 0 && u->keys >= u->maxkeys)
		*ret_why = "this user's kernel key quota is exhausted";
	else if (u->encryption == 0)
		*ret_why = "the store's filesystem does not support encryption";
	else
		return true;
	return false;
}

void cl_doctor_user_free(struct cl_doctor_user *u)
{
	if (!u)
		return;
	free(u->log);
	free(u->dropin);
	free(u);
}
