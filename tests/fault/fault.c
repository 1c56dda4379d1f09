/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection (issue 14): 'make FAULT=1' links this object into the binary and both
 * plugins with -Wl,--wrap=SYM for every call below, never into a release build. Each
 * wrapped call the process makes is counted; CRYPTLAYER_FAULT_AT=N makes the Nth fail
 * (EIO; ENOSPC for the writes) without doing it, and says so on stderr:
 *   cryptlayer-fault: call N (SYMBOL) failed
 * Only this file reads the environment (the product reads none, DESIGN §5).
 *
 * Counted: mkdir(at), unlink(at), rename(at), linkat, mknodat, write, pwrite, fsync,
 * ioctl, fsetxattr, fchown, fchmod, setns, mount, umount2, fsopen, fsconfig, fsmount,
 * move_mount, open_tree, mount_setattr; open/openat only when they create a file
 * (O_CREAT, O_TMPFILE). Not counted: calls made inside shared libraries (libarchive's
 * writes when import unpacks, libmount's loop mount of the store), stdio output, and
 * syscall(2), which the product uses to read (openat2, keyctl searches, listmount,
 * statmount) and for the provisioning key of a new layer (lib/fscrypt/provision.c:
 * add_key, keyctl; the FS_IOC_ADD_ENCRYPTION_KEY right after them is counted).
 *
 * One count per process: a plugin's copy of this object finds the binary's state
 * (exported by the FAULT link) with dlsym, so N is the same whether a call is made by
 * the binary or a plugin. While CRYPTLAYER_FAULT_AT is set, every key the process adds
 * is named on stderr ("cryptlayer-fault-key: <identifier>"), so a test can check that
 * each one is ABSENT afterwards even when no record named it.
 *
 * CRYPTLAYER_FAULT_KILL=SYMBOL instead kills the process (SIGKILL) at its first call of
 * SYMBOL, before making it: a kill -9 at an exact step (820-btrfs: after the snapshot,
 * before the overlay's fsopen), announced as "cryptlayer-fault: killed at call N (SYMBOL)".
 *
 * CRYPTLAYER_FAULT_STOP=SYMBOL stops the process (SIGSTOP) at its first call of SYMBOL,
 * announced as "cryptlayer-fault: stopped at call N (SYMBOL)": a test inspects it mid-run
 * (/proc/PID/environ, a crash of it), waiting for the stop, never sleeping. SYMBOL@K
 * stops at its Kth call instead (820-btrfs: between two steps that share no symbol of
 * their own); the test checks where it stopped.
 *
 * CRYPTLAYER_FAULT_KEYS=FILE (the secret scan, 375-secret-scan): getrandom() of exactly
 * 64 bytes returns FILE's first 64 bytes (so every fscrypt key is known), of exactly 32
 * bytes its next 32 (a .clx data key); other sizes are random. The keys come from a file,
 * never the environment, which the scan reads.
 *
 * CRYPTLAYER_FAULT_NO_PROVISION=1: add_key() of an "fscrypt-provisioning" key fails with
 * EDQUOT (as when the user's key quota is full), announced as "cryptlayer-fault: no
 * provisioning key", so that a new layer takes the way that names the key itself, before
 * adding it (lib/exec/exec.c op_add_key). Not counted.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fscrypt.h>

struct cl_fault_state {
	long at;	      /* the call to fail; 0: none */
	const char *kill_sym; /* the symbol whose first call is a SIGKILL, or NULL */
	const char *stop_sym; /* the symbol whose first (or stop_nth) call is a SIGSTOP, or NULL */
	long stop_nth, stop_seen;
	long calls; /* wrapped calls so far */
	int ready;
};

/* the binary's is the one every module uses (the FAULT link exports it) */
struct cl_fault_state cl_fault_shared;

static struct cl_fault_state *state(void)
{
	static struct cl_fault_state *s;
	struct cl_fault_state *p = __atomic_load_n(&s, __ATOMIC_ACQUIRE);

	if (p)
		return p;
	p = dlsym(RTLD_DEFAULT, "cl_fault_shared");
	if (!p)
		p = &cl_fault_shared;
	if (!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE)) {
		const char *v = getenv("CRYPTLAYER_FAULT_AT");

		p->at = v ? strtol(v, NULL, 10) : 0;
		p->kill_sym = getenv("CRYPTLAYER_FAULT_KILL");
		p->stop_sym = getenv("CRYPTLAYER_FAULT_STOP");
		p->stop_nth = 1;
		if (p->stop_sym && strchr(p->stop_sym, '@')) {
			p->stop_nth = strtol(strchr(p->stop_sym, '@') + 1, NULL, 10);
			p->stop_sym = strndup(p->stop_sym, strcspn(p->stop_sym, "@"));
		}
		__atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s, p, __ATOMIC_RELEASE);
	return p;
}

/*
 * CRYPTLAYER_FAULT_SYSCALL=socket|ptrace|execve|mount (issue 15, the self-sandbox): the Nth
 * call makes that syscall for real instead of failing, as code gone astray would, and
 * fails with what the kernel answered: EPERM from the phase's seccomp filter. Outside a
 * sandbox each answers something harmless: a socket (closed again), ESRCH (ptrace of no
 * process), ENOENT (execve or mount(2) of a path that does not exist).
 */
static long forbidden(const char *name)
{
	static char *const argv[] = {"/nonexistent-cryptlayer/x", NULL}, *const envp[] = {NULL};
	long r = -1;

	errno = EINVAL;
	if (!strcmp(name, "socket"))
		r = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	else if (!strcmp(name, "ptrace"))
		r = syscall(SYS_ptrace, PTRACE_PEEKDATA, 0x7ffffffe, NULL, NULL);
	else if (!strcmp(name, "execve"))
		r = syscall(SYS_execve, argv[0], argv, envp);
	else if (!strcmp(name, "mount"))
		r = syscall(SYS_mount, "none", "/nonexistent-cryptlayer", "tmpfs", 0UL, NULL);
	if (r >= 0 && !strcmp(name, "socket"))
		close((int)r);
	return r;
}

/* says "cryptlayer-fault: call N (SYM) failed: tried NAME: <answer or 'allowed'>" */
static int fault_syscall(long n, const char *sym, const char *name)
{
	long r = forbidden(name);
	int e = errno;

	dprintf(STDERR_FILENO, "cryptlayer-fault: call %ld (%s) failed: tried %s: %s\n", n, sym,
		name, r < 0 ? strerror(e) : "allowed");
	errno = r < 0 ? e : ENOTRECOVERABLE;
	return 1;
}

/* count this call; true (errno set to @errnum) when it is the one to fail */
static int fault(const char *sym, int errnum)
{
	struct cl_fault_state *s = state();
	long n = __atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
	const char *sc;

	if (s->kill_sym && !strcmp(s->kill_sym, sym)) {
		dprintf(STDERR_FILENO, "cryptlayer-fault: killed at call %ld (%s)\n", n, sym);
		raise(SIGKILL);
	}
	if (s->stop_sym && !strcmp(s->stop_sym, sym) && ++s->stop_seen == s->stop_nth) {
		s->stop_sym = NULL; /* that call only */
		dprintf(STDERR_FILENO, "cryptlayer-fault: stopped at call %ld (%s)\n", n, sym);
		raise(SIGSTOP);
	}
	if (n != s->at)
		return 0;
	sc = getenv("CRYPTLAYER_FAULT_SYSCALL");
	if (sc && sc[0])
		return fault_syscall(n, sym, sc);
	dprintf(STDERR_FILENO, "cryptlayer-fault: call %ld (%s) failed\n", n, sym);
	errno = errnum;
	return 1;
}

/* wrap SYM(params): count it, else call __real_SYM(args) */
#define WRAP(ret, sym, errnum, params, args)                                                       \
	ret __real_##sym params;                                                                   \
	ret __wrap_##sym params;                                                                   \
	ret __wrap_##sym params                                                                    \
	{                                                                                          \
		if (fault(#sym, errnum))                                                           \
			return -1;                                                                 \
		return __real_##sym args;                                                          \
	}

WRAP(int, mkdirat, EIO, (int dfd, const char *path, mode_t mode), (dfd, path, mode))
WRAP(int, mkdir, EIO, (const char *path, mode_t mode), (path, mode))
WRAP(int, unlinkat, EIO, (int dfd, const char *path, int flags), (dfd, path, flags))
WRAP(int, unlink, EIO, (const char *path), (path))
WRAP(int, renameat, EIO, (int a, const char *p, int b, const char *q), (a, p, b, q))
WRAP(int, rename, EIO, (const char *p, const char *q), (p, q))
WRAP(int, linkat, EIO, (int a, const char *p, int b, const char *q, int fl), (a, p, b, q, fl))
WRAP(int, mknodat, EIO, (int dfd, const char *p, mode_t m, dev_t d), (dfd, p, m, d))
WRAP(ssize_t, write, ENOSPC, (int fd, const void *buf, size_t n), (fd, buf, n))
WRAP(ssize_t, pwrite, ENOSPC, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off))
WRAP(int, fsync, EIO, (int fd), (fd))
WRAP(int, fsetxattr, EIO, (int fd, const char *k, const void *v, size_t n, int fl),
     (fd, k, v, n, fl))
WRAP(int, fchown, EIO, (int fd, uid_t u, gid_t g), (fd, u, g))
WRAP(int, fchmod, EIO, (int fd, mode_t m), (fd, m))
WRAP(int, setns, EIO, (int fd, int type), (fd, type))
WRAP(int, mount, EIO,
     (const char *s, const char *t, const char *fs, unsigned long fl, const void *d),
     (s, t, fs, fl, d))
WRAP(int, umount2, EIO, (const char *t, int fl), (t, fl))
WRAP(int, fsopen, EIO, (const char *fs, unsigned fl), (fs, fl))
WRAP(int, fsconfig, EIO, (int fd, unsigned cmd, const char *k, const void *v, int aux),
     (fd, cmd, k, v, aux))
WRAP(int, fsmount, EIO, (int fd, unsigned fl, unsigned attr), (fd, fl, attr))
WRAP(int, move_mount, EIO, (int a, const char *p, int b, const char *q, unsigned fl),
     (a, p, b, q, fl))
WRAP(int, open_tree, EIO, (int dfd, const char *p, unsigned fl), (dfd, p, fl))
WRAP(int, mount_setattr, EIO, (int dfd, const char *p, unsigned fl, struct mount_attr *a, size_t n),
     (dfd, p, fl, a, n))

static int creates(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (creates(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
		if (fault("open", EIO))
			return -1;
	}
	return __real_open(path, flags, mode);
}

int __real_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...);
int __wrap_openat(int dfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (creates(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
		if (fault("openat", EIO))
			return -1;
	}
	return __real_openat(dfd, path, flags, mode);
}

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fault("ioctl", EIO))
		return -1;
	r = __real_ioctl(fd, req, arg);
	if (r == 0 && req == FS_IOC_ADD_ENCRYPTION_KEY && state()->at > 0) {
		const struct fscrypt_add_key_arg *a = arg;
		char hex[2 * FSCRYPT_KEY_IDENTIFIER_SIZE + 1];

		for (int i = 0; i < FSCRYPT_KEY_IDENTIFIER_SIZE; i++)
			snprintf(hex + 2 * i, 3, "%02x", a->key_spec.u.identifier[i]);
		dprintf(STDERR_FILENO, "cryptlayer-fault-key: %s\n", hex);
	}
	return r;
}

/* known keys for the secret scan: not counted, never failed */
ssize_t __real_getrandom(void *buf, size_t len, unsigned flags);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags)
{
	const char *path = getenv("CRYPTLAYER_FAULT_KEYS");
	unsigned char keys[96];
	ssize_t n = -1;
	int fd;

	if (!path || (len != 64 && len != 32))
		return __real_getrandom(buf, len, flags);
	fd = __real_open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		n = read(fd, keys, sizeof(keys));
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(keys)) {
		dprintf(STDERR_FILENO, "cryptlayer-fault: %s: not %zu bytes\n", path, sizeof(keys));
		abort();
	}
	memcpy(buf, len == 64 ? keys : keys + 64, len);
	explicit_bzero(keys, sizeof(keys));
	return (ssize_t)len;
}

/* CRYPTLAYER_FAULT_NO_PROVISION: see the top of this file; every other syscall(2) passes */
long __real_syscall(long n, ...);
long __wrap_syscall(long n, ...);
long __wrap_syscall(long n, ...)
{
	long a[6];
	va_list ap;

	/* as glibc's syscall(): six register-sized arguments, whatever the call uses */
	va_start(ap, n);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_add_key && a[0] && !strcmp((const char *)a[0], "fscrypt-provisioning") &&
	    getenv("CRYPTLAYER_FAULT_NO_PROVISION")) {
		dprintf(STDERR_FILENO, "cryptlayer-fault: no provisioning key\n");
		errno = EDQUOT;
		return -1;
	}
	return __real_syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
