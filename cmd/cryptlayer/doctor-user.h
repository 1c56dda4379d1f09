/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <json-c/json.h>

#include "cmd/cryptlayer/cli.h"

/*
 * doctor for a user (rootless podman, DESIGN §7c): the user's kernel key quota, whether
 * the store's filesystem supports encryption, whether overlayfs mounts in a user
 * namespace (with userxattr), the podman drop-in, and where hook errors are logged.
 */
struct cl_doctor_user;

/** cl_doctor_user_probe() - probe for the caller (@store may be NULL). NULL on ENOMEM. */
struct cl_doctor_user *cl_doctor_user_probe(const struct cl_globals *g,
					    const struct cl_store *store);
json_object *cl_doctor_user_json(const struct cl_doctor_user *u);
void cl_doctor_user_print(const struct cl_doctor_user *u);
/** cl_doctor_user_ok() - layers can be made for this user (quota left, overlay mounts). */
bool cl_doctor_user_ok(const struct cl_doctor_user *u, const char **ret_why);
void cl_doctor_user_free(struct cl_doctor_user *u);
