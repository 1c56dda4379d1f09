/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The podman container id at precreate (DESIGN §3): podman puts it only in
 * linux.cgroupsPath and in the source of the /run/.containerenv bind mount; poststop
 * later gets the same 64 hex digits as the state's "id". Also what podman itself writes
 * into its own container layer before precreate, told apart from what 'podman cp' put
 * there (README, "Wiring the hook into podman").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/core/cleanup.h"
#include "oci/oci.h"

#define ID_LEN 64
#define ENV_TAIL "/userdata/.containerenv"
#define ENV_DIR "-containers/"
#define SHM_TAIL "/userdata/shm"

void cl_oci_podman_clear(struct cl_oci_podman *p)
{
	free(p->userdata);
	free(p->storage);
	memset(p, 0, sizeof(*p));
}

static bool is_id(const char *s, size_t n)
{
	return n == ID_LEN && strspn(s, "0123456789abcdef") >= ID_LEN;
}

/* "/libpod_parent/libpod-<id>", "/<parent>/libpod-<id>" or systemd "<slice>:libpod:<id>" */
static bool id_from_cgroups(const char *cg, char ret[CL_OCI_PODMAN_ID_SIZE])
{
	const char *c1 = strchr(cg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *id;

	if (c2) {
		if (strchr(c2 + 1, ':') || c2 - c1 - 1 != 6 || strncmp(c1 + 1, "libpod", 6))
			return false;
		id = c2 + 1;
	} else if (c1) {
		return false;
	} else {
		const char *last = strrchr(cg, '/');

		last = last ? last + 1 : cg;
		if (strncmp(last, "libpod-", 7))
			return false;
		id = last + 7;
	}
	if (!is_id(id, strlen(id)))
		return false;
	memcpy(ret, id, ID_LEN + 1);
	return true;
}

/*
 * containers/storage keeps a container's userdata in "<driver>-containers/<id>": overlay
 * for root, vfs for rootless podman without native rootless overlay (DESIGN §7c)
 */
static bool driver_dir(const char *src, const char *id)
{
	static const char *const drivers[] = {"overlay", "vfs", "btrfs", "zfs"};
	size_t dir = strlen(ENV_DIR);

	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		size_t n = strlen(drivers[i]), off = (size_t)(id - src);
		const char *d;

		/* "/<driver>-containers/" with at least one byte before it */
		if (off < dir + n + 2)
			continue;
		d = id - dir - n;
		if (d[-1] == '/' && !strncmp(d, drivers[i], n) && !strncmp(d + n, ENV_DIR, dir))
			return true;
	}
	return false;
}

/* ".../<driver>-containers/<id>@tail": absolute, no '..' component */
static bool id_from_source(const char *src, const char *tail_s, char ret[CL_OCI_PODMAN_ID_SIZE])
{
	size_t n = strlen(src), tail = strlen(tail_s), dir = strlen("/vfs" ENV_DIR);
	const char *id;

	if (src[0] != '/' || n < tail + ID_LEN + dir + 1 || strstr(src, "/../") ||
	    strstr(src, "/./") || strstr(src, "//"))
		return false;
	if (strcmp(src + n - tail, tail_s))
		return false;
	id = src + n - tail - ID_LEN;
	if (!is_id(id, ID_LEN) || !driver_dir(src, id))
		return false;
	memcpy(ret, id, ID_LEN);
	ret[ID_LEN] = '\0';
	return true;
}

int cl_oci_podman_parse(const struct cl_oci_config *c, struct cl_oci_podman *ret,
			struct cl_error **err)
{
	char from_cg[CL_OCI_PODMAN_ID_SIZE] = "", from_env[CL_OCI_PODMAN_ID_SIZE] = "";
	bool cg = c->cgroups_path && id_from_cgroups(c->cgroups_path, from_cg);
	bool env = c->containerenv && id_from_source(c->containerenv, ENV_TAIL, from_env);
	char from_shm[CL_OCI_PODMAN_ID_SIZE] = "";
	struct cl_oci_podman p = {};

	if (!cg && !env)
		return cl_error_set(err, ENOENT,
				    "config.json: no podman container id (no libpod "
				    "linux.cgroupsPath and no /run/.containerenv mount)");
	if (cg && env && strcmp(from_cg, from_env))
		return cl_error_set(err, EINVAL,
				    "config.json: podman container ids in linux.cgroupsPath and "
				    "/run/.containerenv disagree");
	memcpy(p.id, cg ? from_cg : from_env, sizeof(p.id));
	if (env) {
		/* the container's userdata dir: gc reclaims the layer once it is gone */
		p.userdata =
		    strndup(c->containerenv, strlen(c->containerenv) - strlen("/.containerenv"));
		if (!p.userdata)
			return cl_error_set(err, ENOMEM, "config.json");
	}
	/* graphroot's userdata: only when it names the same container */
	if (c->shm && id_from_source(c->shm, SHM_TAIL, from_shm) && !strcmp(from_shm, p.id)) {
		p.storage = strndup(c->shm, strlen(c->shm) - strlen("/shm"));
		if (!p.storage) {
			cl_oci_podman_clear(&p);
			return cl_error_set(err, ENOMEM, "config.json");
		}
	}
	*ret = p;
	return 0;
}

/* decode mountinfo's octal escapes (\040 for ' ', \054 for ','); -EINVAL for a NUL */
static int unescape(const char *s, size_t n, char **ret)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++, o++) {
		if (s[i] == '\\' && n - i > 3 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 |
				    (s[i + 3] - '0'));
			i += 3;
		} else {
			*o = s[i];
		}
		if (!*o) {
			free(out);
			return -EINVAL;
		}
	}
	*o = '\0';
	*ret = out;
	return 0;
}

/*
 * "id parent maj:min root mountpoint options [optional...] - type source superoptions":
 * the type (@ret_type, @ret_type_len) and the super options; false when malformed
 */
static bool split_mountinfo(const char *line, const char **ret_type, size_t *ret_type_len,
			    const char **ret_opts)
{
	const char *p = line, *sp = NULL, *type;

	for (int field = 0;; field++, p = sp + 1) {
		sp = strchr(p, ' ');
		if (!sp)
			return false;
		if (field >= 6 && sp - p == 1 && p[0] == '-')
			break;
	}
	type = sp + 1;
	sp = strchr(type, ' ');
	if (!sp || sp == type)
		return false;
	*ret_type = type;
	*ret_type_len = (size_t)(sp - type);
	sp = strchr(sp + 1, ' '); /* after the source */
	if (!sp)
		return false;
	*ret_opts = sp + 1;
	return true;
}

/* the raw (escaped) value of option @key in comma-separated @opts, or NULL */
static const char *find_opt(const char *opts, const char *key, size_t *ret_len)
{
	size_t klen = strlen(key);

	for (const char *p = opts; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			*ret_len = n - klen - 1;
			return p + klen + 1;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* "<dir>/merged" → "<dir>/diff" (image mode), "<dir>/merge" → "<dir>/upper" (DIR:O) */
static int podman_upper_of(const char *root_path, char **ret)
{
	const char *slash = strrchr(root_path, '/');
	const char *name;

	if (root_path[0] != '/' || !slash || slash == root_path)
		return 0;
	if (!strcmp(slash + 1, "merged"))
		name = "diff";
	else if (!strcmp(slash + 1, "merge"))
		name = "upper";
	else
		return 0;
	if (asprintf(ret, "%.*s/%s", (int)(slash - root_path), root_path, name) < 0)
		return -ENOMEM;
	return 1;
}

int cl_oci_podman_layer_upper(const char *root_path, const char *mountinfo_line, char **ret_upper,
			      struct cl_error **err)
{
	_cleanup_free_ char *upper = NULL, *want = NULL;
	const char *type, *opts, *raw;
	size_t type_len, raw_len;
	int r;

	if (!split_mountinfo(mountinfo_line, &type, &type_len, &opts))
		return cl_error_set(err, EINVAL, "malformed mountinfo line '%.200s'",
				    mountinfo_line);
	if (type_len != strlen("overlay") || strncmp(type, "overlay", type_len))
		return 0;
	raw = find_opt(opts, "upperdir", &raw_len);
	if (!raw)
		return 0; /* a read-only overlay: nothing is written under root.path */
	r = unescape(raw, raw_len, &upper);
	if (r < 0)
		return cl_error_set(err, -r, "mountinfo upperdir '%.*s'", (int)raw_len, raw);
	r = podman_upper_of(root_path, &want);
	if (r < 0)
		return cl_error_set(err, -r, "root.path '%s'", root_path);
	if (r == 0 || strcmp(want, upper))
		return 0;
	*ret_upper = TAKE_PTR(upper);
	return 1;
}

/* every non-empty line an entry of @fields ':'-separated fields, with a name, printable */
static bool account_lines(const char *data, size_t len, unsigned fields)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) : len;
		unsigned colons = 0;

		for (size_t j = i; j < end; j++) {
			unsigned char c = (unsigned char)data[j];

			if (c < 0x20 || c == 0x7f)
				return false;
			colons += c == ':';
		}
		if (end > i && (colons != fields - 1 || data[i] == ':'))
			return false;
		i = end + 1;
	}
	return true;
}

enum cl_oci_podman_entry cl_oci_podman_own_entry(const char *rel, mode_t mode, off_t size,
						 const char *data, size_t len)
{
	static const char mtab[] = "/proc/mounts";
	bool passwd = !strcmp(rel, "etc/passwd"), group = !strcmp(rel, "etc/group");

	if (S_ISDIR(mode) || (S_ISREG(mode) && size == 0))
		return CL_OCI_PODMAN_OWN;
	if (S_ISLNK(mode) && !strcmp(rel, "etc/mtab")) {
		if (!data)
			return CL_OCI_PODMAN_NEED_DATA;
		return len == strlen(mtab) && !memcmp(data, mtab, len) ? CL_OCI_PODMAN_OWN
								       : CL_OCI_PODMAN_CONTENT;
	}
	if (!S_ISREG(mode) || !(passwd || group) || size < 0 ||
	    (unsigned long long)size > CL_OCI_PODMAN_ACCOUNTS_MAX)
		return CL_OCI_PODMAN_CONTENT;
	if (!data)
		return CL_OCI_PODMAN_NEED_DATA;
	if (len > CL_OCI_PODMAN_ACCOUNTS_MAX || !account_lines(data, len, passwd ? 7 : 4))
		return CL_OCI_PODMAN_CONTENT;
	return CL_OCI_PODMAN_OWN;
}
