/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Self-sandbox policies (STYLE §1.6): one row per phase, naming the syscall groups and the
 * capabilities that phase keeps. Pure data: lib/sandbox/gen-bpf.c turns every row into a
 * seccomp BPF program with libseccomp at build time ($(B)/lib/sandbox/bpf-table.c), so the
 * binary loads a ready program with one seccomp(2) call and needs neither libseccomp nor
 * its ~0.3 ms of rule compilation on the hook path (measured: see DESIGN §8).
 *
 * To add a phase: a CL_SANDBOX_* value below, a row in cl_sandbox_policies[] (policy.c),
 * and a cl_sandbox_enter() call where the command has opened what it needs. To let a phase
 * make a new syscall: add it to a group (or a new group) in policy.c. 'make' regenerates the
 * programs; tests/unit/test-sandbox.c checks every row (bulk phases: no mount, socket,
 * ptrace or exec).
 */
#include <stddef.h>
#include <stdint.h>

enum cl_sandbox_phase {
	CL_SANDBOX_HOOK_PRECREATE, /* podman precreate: the layer is made and mounted */
	CL_SANDBOX_HOOK_PRESTART,  /* prestart/createRuntime: setns + overlay in the container */
	CL_SANDBOX_HOOK_POSTSTOP,  /* unmount, remove key, delete; no new mount */
	CL_SANDBOX_LAYER_SETUP,	   /* create, unlock, prepare */
	CL_SANDBOX_LAYER_TEARDOWN, /* destroy, lock, gc */
	CL_SANDBOX_READ,	   /* list, status, store status, doctor's report */
	CL_SANDBOX_BULK_STREAM,	   /* encrypt, decrypt: stdin to stdout, threads */
	CL_SANDBOX_BULK_EXPORT,	   /* export: read the layer, write the opened output */
	CL_SANDBOX_BULK_UNPACK,	   /* import: decrypt and unpack into the new upper (a child) */
	CL_SANDBOX_KEYGEN,	   /* keygen: write two new files */
	CL_SANDBOX_KEYPROVIDER,	   /* keyprovider: JSON in and out, the machine key */
	_CL_SANDBOX_PHASE_MAX,
};

enum cl_sandbox_group {
	CL_SG_BASE,	  /* memory, fds, reading files, time, signals, exit */
	CL_SG_FILE_WRITE, /* create, write, rename, delete, chown, xattrs, sync */
	CL_SG_MOUNT,	  /* new mount API, setns, statmount/listmount */
	CL_SG_UMOUNT,	  /* umount2, setns, statmount/listmount */
	CL_SG_KEYS,	  /* any ioctl (fscrypt, loop), keyctl, AF_ALG for the key identifier */
	CL_SG_IOCTL_TTY,  /* ioctl limited to terminal and file-flag queries */
	CL_SG_THREADS,	  /* pthread_create only: clone with CLONE_THREAD; clone3 is ENOSYS */
	CL_SG_PROC,	  /* kill(pid, 0) liveness checks */
	CL_SG_KEYRING,	  /* keyctl, add_key, request_key: a keyring: machine key */
	_CL_SG_MAX,
};

#define CL_SG(g) (1U << (g))

enum cl_sandbox_cmp {
	CL_SB_ANY,     /* no argument check */
	CL_SB_EQ,      /* arg == value */
	CL_SB_MASK_EQ, /* (arg & mask) == value */
};

/* one allow rule; several rules for one syscall are alternatives (OR) */
struct cl_sandbox_rule {
	const char *name; /* as libseccomp spells it */
	int nr;		  /* x86_64 number when libseccomp 2.5 lacks the name (statmount), else 0 */
	enum cl_sandbox_cmp cmp;
	unsigned arg; /* argument index for cmp */
	uint64_t mask, value;
	int errnum; /* 0: allow; else fail with this errno (clone3: ENOSYS, glibc falls back) */
};

struct cl_sandbox_group_def {
	const char *name;
	const struct cl_sandbox_rule *rules;
	size_t n_rules;
};

struct cl_sandbox_policy {
	const char *name; /* shown in errors, logs and doctor */
	unsigned groups;  /* CL_SG() bits */
	uint64_t caps;	  /* CL_CAP() bits kept in the effective, permitted and bounding sets */
};

#define CL_CAP(c) (1ULL << (c))

extern const struct cl_sandbox_group_def cl_sandbox_groups[_CL_SG_MAX];
extern const struct cl_sandbox_policy cl_sandbox_policies[_CL_SANDBOX_PHASE_MAX];

/** cl_sandbox_phase_name() - the policy's name, or "?" for a bad @phase. */
const char *cl_sandbox_phase_name(enum cl_sandbox_phase phase);

/**
 * cl_sandbox_phase_allows() - does @phase allow syscall @name whatever its arguments?
 * (A rule with an argument check, e.g. socket(AF_ALG) only, does not count.) For tests.
 * Return: 1 or 0.
 */
int cl_sandbox_phase_allows(enum cl_sandbox_phase phase, const char *name);
