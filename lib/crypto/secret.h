/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"

/*
 * Key bytes live only here: page-aligned mmap memory, mlock'ed (best effort),
 * MADV_DONTDUMP, wiped with explicit_bzero before munmap (cryptsetup
 * crypt_safe_alloc, with mmap so DONTDUMP covers whole pages).
 */
struct cl_secret {
	size_t len;
	unsigned char *data;
	size_t map_len;
	int locked;
};

/**
 * cl_secret_new() - allocate zeroed secret memory of @len bytes.
 * Return: the secret, or NULL with *err set.
 */
struct cl_secret *cl_secret_new(size_t len, struct cl_error **err);

/**
 * cl_secret_random() - allocate @len bytes from getrandom(2).
 * Return: the secret, or NULL with *err set.
 */
struct cl_secret *cl_secret_random(size_t len, struct cl_error **err);

/** cl_secret_free() - wipe, unlock and unmap; NULL-safe. */
void cl_secret_free(struct cl_secret *s);

/** cl_wipe() - explicit_bzero that the compiler cannot drop. */
void cl_wipe(void *p, size_t len);

CL_DEFINE_CLEANUP(struct cl_secret *, cl_secret_free)
#define _cleanup_secret_ _cleanup_(cl_secret_freep)
