/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The podman container id at precreate (DESIGN §3): podman puts it only in
 * linux.cgroupsPath and in the source of the /run/.containerenv bind mount; poststop
 * later gets the same 64 hex digits as the state's "id".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"

#define ID_LEN 64
#define ENV_TAIL "/userdata/.containerenv"
#define ENV_DIR "/overlay-containers/"
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

/* ".../overlay-containers/<id>@tail": absolute, no '..' component */
static bool id_from_source(const char *src, const char *tail_s, char ret[CL_OCI_PODMAN_ID_SIZE])
{
	size_t n = strlen(src), tail = strlen(tail_s), dir = strlen(ENV_DIR);
	const char *id;

	if (src[0] != '/' || n < tail + ID_LEN + dir + 1 || strstr(src, "/../") ||
	    strstr(src, "/./") || strstr(src, "//"))
		return false;
	if (strcmp(src + n - tail, tail_s))
		return false;
	id = src + n - tail - ID_LEN;
	if (!is_id(id, ID_LEN) || strncmp(id - dir, ENV_DIR, dir))
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
