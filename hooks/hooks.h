/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "lib/layer/layer.h"
#include "lib/core/err.h"
#include "lib/sandbox/sandbox.h"

/**
 * cl_hook_prestart() - prestart/createRuntime: state on @in_fd → the container's
 * encrypted overlay in its mount namespace (DESIGN §3). Does nothing (returns 0) when
 * neither io.cryptlayer.base nor io.cryptlayer.enable=true is set.
 * Return: 0 or -errno.
 */
int cl_hook_prestart(const struct cl_ctx *ctx, int in_fd, struct cl_error **err);

/**
 * cl_hook_poststop() - crypto-erase the layer of the stopped container (state on
 * @in_fd; @id overrides state.id). Idempotent: no layer is success.
 * Return: 0, or -errno (-EBUSY when a key is not ABSENT).
 */
int cl_hook_poststop(const struct cl_ctx *ctx, int in_fd, const char *id, struct cl_error **err);

/**
 * cl_hook_precreate() - podman precreate: config.json on @in_fd, rewritten config on
 * @out_fd. Return: 0 or -errno.
 */
int cl_hook_precreate(const struct cl_ctx *ctx, int in_fd, int out_fd, struct cl_error **err);

/**
 * cl_hook_sandbox() - once a stage knows it acts: the store re-attached, or with @store
 * made (mkfs, losetup and mount(2) are in no hook's allowlist), then @phase's sandbox
 * (lib/sandbox/sandbox.h). Return: 0 or -errno.
 */
int cl_hook_sandbox(const struct cl_ctx *ctx, enum cl_sandbox_phase phase, bool store,
		    struct cl_error **err);

/** cl_hook_log_reclaimed() - a cl_gc_report_fn for the hooks' reclaim passes: logs each. */
void cl_hook_log_reclaimed(const struct cl_gc_item *it, void *data);
