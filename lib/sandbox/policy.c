/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The phase policies (policy.h). The syscall sets come from strace -f of every command and
 * hook stage under the integration suites (100, 200, 400, 500, 510), grouped; what is not
 * listed fails with EPERM.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "lib/core/cleanup.h"
#include "lib/sandbox/policy.h"

#define ALLOW(n)                                                                                   \
	{                                                                                          \
		.name = #n                                                                         \
	}
#define ALLOW_NR(n, x86_64_nr)                                                                     \
	{                                                                                          \
		.name = #n, .nr = (x86_64_nr)                                                      \
	}
#define ALLOW_EQ(n, a, v)                                                                          \
	{                                                                                          \
		.name = #n, .cmp = CL_SB_EQ, .arg = (a), .value = (v)                              \
	}
#define ALLOW_MASK(n, a, m, v)                                                                     \
	{                                                                                          \
		.name = #n, .cmp = CL_SB_MASK_EQ, .arg = (a), .mask = (m), .value = (v)            \
	}
#define FAIL(n, e)                                                                                 \
	{                                                                                          \
		.name = #n, .errnum = (e)                                                          \
	}
/* ioctl(2)'s request is an unsigned int in the kernel: compare the low 32 bits (as Docker) */
#define ALLOW_IOCTL(req) ALLOW_MASK(ioctl, 1, 0xffffffffULL, (uint32_t)(req))

#ifdef __x86_64__
#define NR_STATMOUNT 457 /* Linux 6.8; unknown to libseccomp 2.5 (Debian 12) */
#define NR_LISTMOUNT 458
#else
#define NR_STATMOUNT 0
#define NR_LISTMOUNT 0
#endif

#define OPEN_WRITE_FLAGS                                                                           \
	(uint64_t)(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND |                              \
		   020000000 /* the kernel's __O_TMPFILE; glibc's adds O_DIRECTORY */)

static const struct cl_sandbox_rule sg_base[] = {
    /* memory */
    ALLOW(brk),
    ALLOW(mmap),
    ALLOW(munmap),
    ALLOW(mprotect),
    ALLOW(mremap),
    ALLOW(madvise),
    ALLOW(mlock),
    ALLOW(mlock2),
    ALLOW(munlock),
    /* fds and reading */
    ALLOW(read),
    ALLOW(readv),
    ALLOW(pread64),
    ALLOW(write),
    ALLOW(writev),
    ALLOW(pwrite64),
    ALLOW(lseek),
    ALLOW(close),
    ALLOW(close_range),
    ALLOW(dup),
    ALLOW(dup2),
    ALLOW(dup3),
    ALLOW(fcntl),
    ALLOW(pipe2),
    ALLOW(poll),
    ALLOW(ppoll),
    ALLOW(flock),
    ALLOW(fadvise64),
    /* opening to read only: writable opens are CL_SG_FILE_WRITE's */
    ALLOW_MASK(openat, 2, OPEN_WRITE_FLAGS, 0),
    ALLOW_MASK(open, 1, OPEN_WRITE_FLAGS, 0),
    ALLOW(fstat),
    ALLOW(newfstatat),
    ALLOW(stat),
    ALLOW(lstat),
    ALLOW(statx),
    ALLOW(statfs),
    ALLOW(fstatfs),
    ALLOW(access),
    ALLOW(faccessat),
    ALLOW(faccessat2),
    ALLOW(readlink),
    ALLOW(readlinkat),
    ALLOW(getdents64),
    ALLOW(getcwd),
    ALLOW(getxattr),
    ALLOW(lgetxattr),
    ALLOW(fgetxattr),
    ALLOW(listxattr),
    ALLOW(llistxattr),
    ALLOW(flistxattr),
    ALLOW(umask),
    /* process, time, signals */
    ALLOW(getpid),
    ALLOW(gettid),
    ALLOW(getppid),
    ALLOW(getuid),
    ALLOW(geteuid),
    ALLOW(getgid),
    ALLOW(getegid),
    ALLOW(getgroups),
    ALLOW(getrandom),
    ALLOW(uname),
    ALLOW(sysinfo),
    ALLOW(prlimit64),
    ALLOW(getrlimit),
    ALLOW(sched_getaffinity),
    ALLOW(sched_yield),
    ALLOW(clock_gettime),
    ALLOW(clock_getres),
    ALLOW(clock_nanosleep),
    ALLOW(nanosleep),
    ALLOW(gettimeofday),
    ALLOW(time),
    ALLOW(futex),
    ALLOW(set_robust_list),
    ALLOW(get_robust_list),
    ALLOW(rseq),
    ALLOW(set_tid_address),
    ALLOW(rt_sigaction),
    ALLOW(rt_sigprocmask),
    ALLOW(rt_sigreturn),
    ALLOW(rt_sigtimedwait),
    ALLOW(sigaltstack),
    ALLOW(restart_syscall),
    ALLOW(exit),
    ALLOW(exit_group),
    ALLOW(capget),
    /* abort() signals its own thread */
    ALLOW(tgkill),
    /* prctl: queries only; PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS etc. stay as main() set them */
    ALLOW_EQ(prctl, 0, PR_GET_DUMPABLE),
    ALLOW_EQ(prctl, 0, PR_GET_NAME),
    ALLOW_EQ(prctl, 0, PR_SET_NAME),
    ALLOW_EQ(prctl, 0, PR_GET_SECCOMP),
    ALLOW_EQ(prctl, 0, PR_GET_NO_NEW_PRIVS),
    ALLOW_EQ(prctl, 0, PR_CAPBSET_READ),
    ALLOW_EQ(prctl, 0, 0x53564d41 /* PR_SET_VMA: glibc names its mappings */),
};

static const struct cl_sandbox_rule sg_file_write[] = {
    ALLOW(openat),
    ALLOW(open),
    ALLOW(openat2) /* its flags are in a struct */,
    ALLOW(creat),
    ALLOW(mkdir),
    ALLOW(mkdirat),
    ALLOW(rmdir),
    ALLOW(unlink),
    ALLOW(unlinkat),
    ALLOW(rename),
    ALLOW(renameat),
    ALLOW(renameat2),
    ALLOW(link),
    ALLOW(linkat),
    ALLOW(symlink),
    ALLOW(symlinkat),
    ALLOW(mknod),
    ALLOW(mknodat),
    ALLOW(chmod),
    ALLOW(fchmod),
    ALLOW(fchmodat),
    ALLOW(chown),
    ALLOW(fchown),
    ALLOW(fchownat),
    ALLOW(lchown),
    ALLOW(truncate),
    ALLOW(ftruncate),
    ALLOW(fallocate),
    ALLOW(fsync),
    ALLOW(fdatasync),
    ALLOW(syncfs),
    ALLOW(sync),
    ALLOW(sync_file_range),
    ALLOW(utimensat),
    ALLOW(setxattr),
    ALLOW(lsetxattr),
    ALLOW(fsetxattr),
    ALLOW(removexattr),
    ALLOW(lremovexattr),
    ALLOW(fremovexattr),
    ALLOW(copy_file_range),
    ALLOW(fchdir),
    ALLOW(chdir),
};

/* the new mount API only: no mount(2), no pivot_root, no unshare */
static const struct cl_sandbox_rule sg_mount[] = {
    ALLOW(fsopen),
    ALLOW(fsconfig),
    ALLOW(fsmount),
    ALLOW(fspick),
    ALLOW(move_mount),
    ALLOW(open_tree),
    ALLOW(mount_setattr),
    ALLOW(umount2),
    ALLOW(setns),
    ALLOW_NR(statmount, NR_STATMOUNT),
    ALLOW_NR(listmount, NR_LISTMOUNT),
};

static const struct cl_sandbox_rule sg_umount[] = {
    ALLOW(umount2),
    ALLOW(setns),
    ALLOW_NR(statmount, NR_STATMOUNT),
    ALLOW_NR(listmount, NR_LISTMOUNT),
};

static const struct cl_sandbox_rule sg_keys[] = {
    ALLOW(ioctl),
    ALLOW(keyctl),
    ALLOW(add_key),
    ALLOW(request_key),
    /* the key identifier by AF_ALG hmac(sha512) (lib/fscrypt/keyid.c): no other family */
    ALLOW_EQ(socket, 0, AF_ALG),
    ALLOW(bind),
    ALLOW(setsockopt),
    ALLOW(accept4),
    ALLOW(accept),
};

static const struct cl_sandbox_rule sg_ioctl_tty[] = {
    ALLOW_IOCTL(TCGETS),	  ALLOW_IOCTL(TIOCGWINSZ),	ALLOW_IOCTL(FIONREAD),
    ALLOW_IOCTL(FS_IOC_GETFLAGS), ALLOW_IOCTL(FS_IOC_SETFLAGS),
};

static const struct cl_sandbox_rule sg_threads[] = {
    /* pthread_create, never fork: glibc tries clone3 first and falls back on ENOSYS */
    ALLOW_MASK(clone, 0, CLONE_THREAD, CLONE_THREAD),
    FAIL(clone3, 38 /* ENOSYS */),
    ALLOW(membarrier),
};

static const struct cl_sandbox_rule sg_keyring[] = {
    ALLOW(keyctl),
    ALLOW(add_key),
    ALLOW(request_key),
};

static const struct cl_sandbox_rule sg_proc[] = {
    /* lib/core/proc.c: is the recorded creator alive? (signal 0 sends nothing) */
    ALLOW_EQ(kill, 1, 0),
};

#define GROUP(n, r) [n] = {.name = #r, .rules = r, .n_rules = CL_ARRAY_SIZE(r)}

const struct cl_sandbox_group_def cl_sandbox_groups[_CL_SG_MAX] = {
    GROUP(CL_SG_BASE, sg_base),	      GROUP(CL_SG_FILE_WRITE, sg_file_write),
    GROUP(CL_SG_MOUNT, sg_mount),     GROUP(CL_SG_UMOUNT, sg_umount),
    GROUP(CL_SG_KEYS, sg_keys),	      GROUP(CL_SG_IOCTL_TTY, sg_ioctl_tty),
    GROUP(CL_SG_THREADS, sg_threads), GROUP(CL_SG_PROC, sg_proc),
    GROUP(CL_SG_KEYRING, sg_keyring),
};

/*
 * what the lifecycle needs as root: mounts, namespaces (setns needs CAP_SYS_CHROOT too, and
 * ptrace access to a non-dumpable runtime process), fscrypt, files of any owner, and
 * erasing what a container made immutable (nest erase clears FS_IMMUTABLE_FL)
 */
#define CAPS_LIFECYCLE                                                                             \
	(CL_CAP(CAP_SYS_ADMIN) | CL_CAP(CAP_DAC_OVERRIDE) | CL_CAP(CAP_DAC_READ_SEARCH) |          \
	 CL_CAP(CAP_FOWNER) | CL_CAP(CAP_CHOWN) | CL_CAP(CAP_FSETID) | CL_CAP(CAP_SYS_CHROOT) |    \
	 CL_CAP(CAP_SYS_PTRACE) | CL_CAP(CAP_IPC_LOCK) | CL_CAP(CAP_SYS_RESOURCE) |                \
	 CL_CAP(CAP_LINUX_IMMUTABLE))
/*
 * A phase that mounts an overlay keeps every capability a container may use through it:
 * overlayfs does each operation on the upper with the credentials of whoever created the
 * mount (ovl_fill_super: creator_cred), so a capability dropped before the mount is gone
 * for every process that later writes through the layer (mknod, setcap: EPERM)
 */
#define CAPS_MOUNTER (CAPS_LIFECYCLE | CL_CAP(CAP_MKNOD) | CL_CAP(CAP_SETFCAP))
#define CAPS_READ (CL_CAP(CAP_DAC_OVERRIDE) | CL_CAP(CAP_DAC_READ_SEARCH) | CL_CAP(CAP_SYS_PTRACE))
#define G_LIFECYCLE                                                                                \
	(CL_SG(CL_SG_BASE) | CL_SG(CL_SG_FILE_WRITE) | CL_SG(CL_SG_KEYS) | CL_SG(CL_SG_PROC))
/* a phase that makes layers: a btrfs snapshot runs on a second thread (lib/exec/exec.c) */
#define G_MAKER (G_LIFECYCLE | CL_SG(CL_SG_MOUNT) | CL_SG(CL_SG_THREADS))

const struct cl_sandbox_policy cl_sandbox_policies[_CL_SANDBOX_PHASE_MAX] = {
    [CL_SANDBOX_HOOK_PRECREATE] = {"precreate", G_MAKER, CAPS_MOUNTER},
    [CL_SANDBOX_HOOK_PRESTART] = {"prestart", G_MAKER, CAPS_MOUNTER},
    [CL_SANDBOX_HOOK_POSTSTOP] = {"poststop", G_LIFECYCLE | CL_SG(CL_SG_UMOUNT), CAPS_LIFECYCLE},
    [CL_SANDBOX_LAYER_SETUP] = {"layer-setup", G_MAKER, CAPS_MOUNTER},
    [CL_SANDBOX_LAYER_TEARDOWN] = {"layer-teardown", G_LIFECYCLE | CL_SG(CL_SG_UMOUNT),
				   CAPS_LIFECYCLE},
    [CL_SANDBOX_READ] = {"read", CL_SG(CL_SG_BASE) | CL_SG(CL_SG_KEYS) | CL_SG(CL_SG_PROC),
			 CAPS_READ},
    [CL_SANDBOX_BULK_STREAM] = {"bulk-stream",
				CL_SG(CL_SG_BASE) | CL_SG(CL_SG_THREADS) | CL_SG(CL_SG_IOCTL_TTY),
				0},
    [CL_SANDBOX_BULK_EXPORT] = {"bulk-export",
				CL_SG(CL_SG_BASE) | CL_SG(CL_SG_THREADS) | CL_SG(CL_SG_IOCTL_TTY) |
				    CL_SG(CL_SG_FILE_WRITE),
				CL_CAP(CAP_DAC_OVERRIDE) | CL_CAP(CAP_DAC_READ_SEARCH) |
				    /* reads trusted.* xattrs (trusted.overlay.opaque) */
				    CL_CAP(CAP_SYS_ADMIN)},
    [CL_SANDBOX_BULK_UNPACK] = {"bulk-unpack",
				CL_SG(CL_SG_BASE) | CL_SG(CL_SG_THREADS) | CL_SG(CL_SG_IOCTL_TTY) |
				    CL_SG(CL_SG_FILE_WRITE),
				CL_CAP(CAP_DAC_OVERRIDE) | CL_CAP(CAP_DAC_READ_SEARCH) |
				    CL_CAP(CAP_CHOWN) | CL_CAP(CAP_FOWNER) | CL_CAP(CAP_FSETID) |
				    CL_CAP(CAP_MKNOD) | CL_CAP(CAP_SETFCAP) |
				    /* trusted.overlay.* xattrs of whiteouts and opaque dirs */
				    CL_CAP(CAP_SYS_ADMIN)},
    [CL_SANDBOX_KEYGEN] = {"keygen",
			   CL_SG(CL_SG_BASE) | CL_SG(CL_SG_FILE_WRITE) | CL_SG(CL_SG_IOCTL_TTY),
			   CL_CAP(CAP_DAC_OVERRIDE)},
    /* the machine key: file: (made on first use) or keyring:; no capability beyond the files */
    [CL_SANDBOX_KEYPROVIDER] = {"keyprovider",
				CL_SG(CL_SG_BASE) | CL_SG(CL_SG_FILE_WRITE) | CL_SG(CL_SG_KEYRING),
				CL_CAP(CAP_DAC_OVERRIDE) | CL_CAP(CAP_DAC_READ_SEARCH)},
};

const char *cl_sandbox_phase_name(enum cl_sandbox_phase phase)
{
	if ((unsigned)phase >= _CL_SANDBOX_PHASE_MAX || !cl_sandbox_policies[phase].name)
		return "?";
	return cl_sandbox_policies[phase].name;
}

int cl_sandbox_phase_allows(enum cl_sandbox_phase phase, const char *name)
{
	if ((unsigned)phase >= _CL_SANDBOX_PHASE_MAX)
		return 0;
	for (unsigned g = 0; g < _CL_SG_MAX; g++) {
		const struct cl_sandbox_group_def *d = &cl_sandbox_groups[g];

		if (!(cl_sandbox_policies[phase].groups & CL_SG(g)))
			continue;
		for (size_t i = 0; i < d->n_rules; i++)
			if (!strcmp(d->rules[i].name, name) && !d->rules[i].errnum &&
			    d->rules[i].cmp == CL_SB_ANY)
				return 1;
	}
	return 0;
}
