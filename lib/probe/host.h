/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Host facts for 'doctor' and 'store status', read from /proc and /sys (no side effects). */
struct cl_host_info {
	char cpu_flags[128];	/* the AES-related CPU flags present, space-separated */
	bool cpu_aes, cpu_vaes; /* AES-NI, VAES (what OpenSSL uses for bulk AES-GCM) */
	char xts_driver[96];	/* the kernel's highest-priority xts(aes), or "" if none loaded */
	int xts_priority;
	bool xts_accelerated;		    /* an AES-NI/arch driver, not the generic C AES */
	char cts_driver[96];		    /* cts(cbc(aes)), for file names */
	bool fs_overlay, fs_btrfs, fs_ext4; /* in /proc/filesystems */
	char overlay_params[160]; /* /sys/module/overlay/parameters: "redirect_dir=N ..." */
	char inline_crypt[160];	  /* block devices with blk-crypto (queue/crypto), or "" */
};

/** cl_host_probe() - fill @ret; unreadable sources leave their fields empty. */
void cl_host_probe(struct cl_host_info *ret);

/**
 * cl_host_kernel_driver() - the highest-priority driver for crypto algorithm @alg in
 * /proc/crypto. Return: its priority, or -1 (@buf empty) when none is loaded.
 */
int cl_host_kernel_driver(const char *alg, char *buf, size_t len);

/**
 * cl_host_tool_version() - the first line @name --version prints, run from /usr/local/bin,
 * /usr/bin, /usr/sbin or /bin with an empty environment.
 * Return: 1 and @buf, 0 when the tool is not installed, -errno.
 */
int cl_host_tool_version(const char *name, char *buf, size_t len);
