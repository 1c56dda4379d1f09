/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nested containers (DESIGN §6): the facts a nested request is checked on, and status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/core/userns.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/layer/internal.h"

void cl_layer_nest_facts(const struct cl_oci_config *cfg, bool *ret_userns, bool *ret_no_admin)
{
	*ret_userns = cl_userns_nested() || (cfg && cfg->user_ns);
	*ret_no_admin = cfg && !cfg->cap_sys_admin;
}

void cl_layer_nest_info(struct cl_store *store, struct cl_layer_info *info)
{
	_cleanup_free_ struct cl_key_id *keys = NULL;
	char rel[512];
	int n;

	snprintf(rel, sizeof(rel), "nest/%s", info->rec.id);
	info->nested = faccessat(store->dir_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!info->nested)
		return;
	n = cl_exec_nest_keys(store, info->rec.id, &keys, NULL);
	for (int i = 0; i < n; i++) {
		enum cl_key_status st;

		if (info->rec.key_id && !strcmp(keys[i].hex, info->rec.key_id))
			continue; /* its own, on graph/ */
		if (cl_fscrypt_key_status(store->dir_fd, &keys[i], &st, NULL) == 0 &&
		    st == CL_KEY_PRESENT)
			info->inner_keys++;
	}
}
