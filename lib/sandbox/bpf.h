/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <linux/filter.h>
#include <stddef.h>

/* One seccomp program per phase, made at build time by lib/sandbox/gen/gen-bpf.c. */
struct cl_sandbox_bpf {
	const struct sock_filter *insns;
	unsigned short len;
};

/* indexed by enum cl_sandbox_phase (lib/sandbox/policy.h) */
extern const struct cl_sandbox_bpf cl_sandbox_bpf[];
extern const size_t cl_sandbox_bpf_count;
