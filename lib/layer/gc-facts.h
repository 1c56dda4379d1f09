/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The facts gc and the reclaim passes gather for lib/plan/gc.c (lib/layer/ only). */
#include "lib/layer/internal.h"

/** cl_layer_record_facts() - what is true of recorded layer @rec now. */
void cl_layer_record_facts(const struct cl_ctx *ctx, struct cl_store *store,
			   const struct cl_record *rec, struct cl_gc_facts *f);

/**
 * cl_layer_orphan_facts() - the facts of layer @id that has no record: its directory or
 * key file in @store, its policy's key (*ret_key_hex), its descriptor (*desc, which
 * f->desc then points to).
 * Return: 0, or -errno when there is nothing to decide on.
 */
int cl_layer_orphan_facts(const struct cl_ctx *ctx, struct cl_store *store, const char *id,
			  struct cl_record *desc, char **ret_key_hex, struct cl_gc_facts *f);

/**
 * cl_layer_unrecorded_ids() - ids in @store's containers/ and keys/, in the lock
 * directory and in left-over "<id>.json.tmp" files of the run dir, that no record
 * names, sorted, unique. @store may be NULL (lock files only).
 * Return: the count (*ret NULL-terminated), or -errno.
 */
int cl_layer_unrecorded_ids(const struct cl_ctx *ctx, struct cl_store *store, char ***ret,
			    struct cl_error **err);
