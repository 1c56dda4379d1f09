/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/sandbox: the policy tables (what each phase may do) and the generated programs,
 * loaded for real in a forked child that then tries what its phase must not do.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/core/cleanup.h"
#include "lib/sandbox/bpf.h"
#include "lib/sandbox/sandbox.h"

static const enum cl_sandbox_phase bulk[] = {CL_SANDBOX_BULK_STREAM, CL_SANDBOX_BULK_EXPORT,
					     CL_SANDBOX_BULK_UNPACK, CL_SANDBOX_KEYGEN};

/* no phase ever: running programs, tracing, new namespaces, the kernel's own business */
static const char *const never[] = {
    "execve",
    "execveat",
    "fork",
    "vfork",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "pivot_root",
    "chroot",
    "unshare",
    "bpf",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "reboot",
    "swapon",
    "perf_event_open",
    "userfaultfd",
    "connect",
    "sendmmsg",
    "setuid",
    "setgid",
    "capset",
    "seccomp",
    "personality",
    "iopl",
    "ioperm",
    "quotactl",
};

/* what the bulk phases run libarchive and OpenSSL without (issue 15) */
static const char *const never_bulk[] = {
    "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "mount_setattr", "umount2",
    "setns",  "socket",	  "bind",    "accept4",	   "keyctl",	"add_key",	 "ioctl",
};

static void test_tables_complete(void **state)
{
	(void)state;
	assert_int_equal(cl_sandbox_bpf_count, _CL_SANDBOX_PHASE_MAX);
	for (unsigned p = 0; p < _CL_SANDBOX_PHASE_MAX; p++) {
		assert_string_not_equal(cl_sandbox_phase_name(p), "?");
		assert_true(cl_sandbox_policies[p].groups & CL_SG(CL_SG_BASE));
		assert_true(cl_sandbox_bpf[p].len > 4);
		for (unsigned q = 0; q < p; q++)
			assert_string_not_equal(cl_sandbox_phase_name(p), cl_sandbox_phase_name(q));
	}
	assert_string_equal(cl_sandbox_phase_name(_CL_SANDBOX_PHASE_MAX), "?");
	for (unsigned g = 0; g < _CL_SG_MAX; g++)
		assert_true(cl_sandbox_groups[g].n_rules > 0);
}

static void test_never(void **state)
{
	(void)state;
	for (unsigned p = 0; p < _CL_SANDBOX_PHASE_MAX; p++)
		for (size_t i = 0; i < CL_ARRAY_SIZE(never); i++)
			if (cl_sandbox_phase_allows(p, never[i]))
				fail_msg("phase '%s' allows '%s'", cl_sandbox_phase_name(p),
					 never[i]);
}

static void test_bulk_tightest(void **state)
{
	(void)state;
	for (size_t b = 0; b < CL_ARRAY_SIZE(bulk); b++) {
		for (size_t i = 0; i < CL_ARRAY_SIZE(never_bulk); i++)
			if (cl_sandbox_phase_allows(bulk[b], never_bulk[i]))
				fail_msg("phase '%s' allows '%s'", cl_sandbox_phase_name(bulk[b]),
					 never_bulk[i]);
		/* ioctl only with an argument check (terminal and file-flag queries) */
		assert_false(cl_sandbox_policies[bulk[b]].groups & CL_SG(CL_SG_KEYS));
		assert_false(cl_sandbox_policies[bulk[b]].groups &
			     (CL_SG(CL_SG_MOUNT) | CL_SG(CL_SG_UMOUNT) | CL_SG(CL_SG_PROC)));
	}
	/* stdin to stdout: nothing written by name */
	assert_false(cl_sandbox_phase_allows(CL_SANDBOX_BULK_STREAM, "unlinkat"));
	assert_false(cl_sandbox_phase_allows(CL_SANDBOX_BULK_STREAM, "renameat"));
	assert_false(cl_sandbox_phase_allows(CL_SANDBOX_BULK_STREAM, "openat2"));
	assert_int_equal(cl_sandbox_policies[CL_SANDBOX_BULK_STREAM].caps, 0);
}

static void test_hooks_can_act(void **state)
{
	static const char *const setup[] = {
	    "fsopen",  "fsconfig", "fsmount", "move_mount", "open_tree", "mount_setattr", "setns",
	    "umount2", "ioctl",	   "keyctl",  "openat2",    "mkdirat",	 "fchown"};
	static const enum cl_sandbox_phase setup_phases[] = {
	    CL_SANDBOX_HOOK_PRECREATE, CL_SANDBOX_HOOK_PRESTART, CL_SANDBOX_LAYER_SETUP};
	static const enum cl_sandbox_phase stop_phases[] = {CL_SANDBOX_HOOK_POSTSTOP,
							    CL_SANDBOX_LAYER_TEARDOWN};

	(void)state;
	for (size_t p = 0; p < CL_ARRAY_SIZE(setup_phases); p++)
		for (size_t i = 0; i < CL_ARRAY_SIZE(setup); i++)
			if (!cl_sandbox_phase_allows(setup_phases[p], setup[i]))
				fail_msg("phase '%s' lacks '%s'",
					 cl_sandbox_phase_name(setup_phases[p]), setup[i]);
	for (size_t p = 0; p < CL_ARRAY_SIZE(stop_phases); p++) {
		assert_true(cl_sandbox_phase_allows(stop_phases[p], "umount2"));
		assert_true(cl_sandbox_phase_allows(stop_phases[p], "ioctl"));
		assert_true(cl_sandbox_phase_allows(stop_phases[p], "unlinkat"));
		/* teardown makes no mount */
		assert_false(cl_sandbox_phase_allows(stop_phases[p], "fsmount"));
		assert_false(cl_sandbox_phase_allows(stop_phases[p], "move_mount"));
	}
	/* overlayfs works with its creator's capabilities: a mounting phase keeps the
	 * container's (mknod, setcap, chattr +i through the layer) */
	for (size_t p = 0; p < CL_ARRAY_SIZE(setup_phases); p++)
		assert_int_equal(
		    cl_sandbox_policies[setup_phases[p]].caps &
			(CL_CAP(CAP_MKNOD) | CL_CAP(CAP_SETFCAP) | CL_CAP(CAP_LINUX_IMMUTABLE) |
			 CL_CAP(CAP_CHOWN) | CL_CAP(CAP_FOWNER) | CL_CAP(CAP_SYS_ADMIN)),
		    CL_CAP(CAP_MKNOD) | CL_CAP(CAP_SETFCAP) | CL_CAP(CAP_LINUX_IMMUTABLE) |
			CL_CAP(CAP_CHOWN) | CL_CAP(CAP_FOWNER) | CL_CAP(CAP_SYS_ADMIN));
	/* setns into a mount namespace needs both */
	assert_true(cl_sandbox_policies[CL_SANDBOX_HOOK_PRESTART].caps & CL_CAP(CAP_SYS_ADMIN));
	assert_true(cl_sandbox_policies[CL_SANDBOX_HOOK_PRESTART].caps & CL_CAP(CAP_SYS_CHROOT));
}

static void test_caps_never(void **state)
{
	static const int never_caps[] = {
	    CAP_SETPCAP,    CAP_SETUID,	  CAP_SETGID,		CAP_NET_ADMIN, CAP_NET_RAW,
	    CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SYS_RAWIO,	CAP_SYS_TIME,  CAP_MAC_ADMIN,
	    CAP_BPF,	    CAP_PERFMON,  CAP_NET_BIND_SERVICE, CAP_KILL};

	(void)state;
	for (unsigned p = 0; p < _CL_SANDBOX_PHASE_MAX; p++)
		for (size_t i = 0; i < CL_ARRAY_SIZE(never_caps); i++)
			if (cl_sandbox_policies[p].caps & CL_CAP(never_caps[i]))
				fail_msg("phase '%s' keeps capability %d", cl_sandbox_phase_name(p),
					 never_caps[i]);
}

/* ---- the programs, loaded for real ---------------------------------------------------- */

static int fails = 0;

static void expect(const char *what, long r, int want_errno)
{
	int e = errno;

	if (want_errno == 0 && r < 0) {
		fprintf(stderr, "# %s: want success, got %s\n", what, strerror(e));
		fails++;
	} else if (want_errno && (r >= 0 || e != want_errno)) {
		fprintf(stderr, "# %s: want %s, got %s\n", what, strerror(want_errno),
			r >= 0 ? "success" : strerror(e));
		fails++;
	}
}

/* the program alone (what gen-bpf made), as any build would load it */
static void load_raw(enum cl_sandbox_phase p)
{
	struct sock_fprog prog = {.len = cl_sandbox_bpf[p].len,
				  .filter = (struct sock_filter *)cl_sandbox_bpf[p].insns};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		_exit(100);
}

static void *nothing(void *arg)
{
	return arg;
}

/* the filter let it through (the kernel answered something other than EPERM) */
static void expect_allowed(const char *what, long r)
{
	if (r < 0 && errno == EPERM) {
		fprintf(stderr, "# %s: refused (EPERM)\n", what);
		fails++;
	}
}

static void forbidden_everywhere(void)
{
	char *const argv[] = {"/bin/true", NULL};

	expect("socket(AF_INET)", syscall(SYS_socket, AF_INET, SOCK_STREAM, 0), EPERM);
	expect("socket(AF_UNIX)", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0), EPERM);
	expect("ptrace", syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0), EPERM);
	expect("execve", syscall(SYS_execve, "/bin/true", argv, NULL), EPERM);
	expect("mount(2)", syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, NULL), EPERM);
	expect("fork", syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0), EPERM);
	expect("unshare", syscall(SYS_unshare, CLONE_NEWNS), EPERM);
	expect("prctl(PR_SET_DUMPABLE)", syscall(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0, 0), EPERM);
	expect("getpid", syscall(SYS_getpid), 0);
}

static void child_bulk_stream(void)
{
	pthread_t t;
	int e;

	load_raw(CL_SANDBOX_BULK_STREAM);
	forbidden_everywhere();
	expect("openat(O_RDONLY)", syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY), 0);
	expect("openat(O_DIRECTORY)",
	       syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0);
	expect("openat(O_WRONLY|O_CREAT)",
	       syscall(SYS_openat, AT_FDCWD, "/tmp/cl-sandbox-test", O_WRONLY | O_CREAT, 0600),
	       EPERM);
	expect("openat(O_TMPFILE)", syscall(SYS_openat, AT_FDCWD, "/tmp", O_TMPFILE | O_RDWR, 0600),
	       EPERM);
	expect("fsopen", syscall(SYS_fsopen, "tmpfs", 0), EPERM);
	expect("setns", syscall(SYS_setns, -1, 0), EPERM);
	expect("ioctl(FIOCLEX)", syscall(SYS_ioctl, 0, FIOCLEX), EPERM);
	expect("clone3", syscall(SYS_clone3, NULL, 0), ENOSYS);
	/* pthread_create still works (glibc falls back to clone(CLONE_THREAD)) */
	e = pthread_create(&t, NULL, nothing, NULL);
	expect("pthread_create", e ? (errno = e, -1) : 0, 0);
	if (!e)
		pthread_join(t, NULL);
}

static void child_prestart(void)
{
	pthread_t t;
	int e;

	load_raw(CL_SANDBOX_HOOK_PRESTART);
	forbidden_everywhere();
	/* allowed: the filter lets them through, the kernel answers (EBADF, not EPERM) */
	expect_allowed("setns(-1)", syscall(SYS_setns, -1, 0));
	expect_allowed("fsconfig(-1)", syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0));
	expect_allowed("move_mount(-1)", syscall(SYS_move_mount, -1, "", -1, "", 0));
	expect_allowed("ioctl(-1)", syscall(SYS_ioctl, -1, 0));
	expect_allowed("keyctl(-1)", syscall(SYS_keyctl, -1, 0, 0, 0, 0));
	expect_allowed("socket(AF_ALG)", syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0));
	/* a thread (the btrfs snapshot beside the key steps), never a new process */
	expect("clone3", syscall(SYS_clone3, NULL, 0), ENOSYS);
	e = pthread_create(&t, NULL, nothing, NULL);
	expect("pthread_create", e ? (errno = e, -1) : 0, 0);
	if (!e)
		pthread_join(t, NULL);
}

static void child_poststop(void)
{
	load_raw(CL_SANDBOX_HOOK_POSTSTOP);
	forbidden_everywhere();
	expect("fsopen", syscall(SYS_fsopen, "tmpfs", 0), EPERM);
	expect("move_mount", syscall(SYS_move_mount, -1, "", -1, "", 0), EPERM);
	expect_allowed("umount2", syscall(SYS_umount2, "/nonexistent-cl", 0));
}

static void run_child(void (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(fails > 99 ? 99 : fails);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 100)
		fail_msg("the program did not load: is seccomp there?");
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bulk_stream_program(void **state)
{
	(void)state;
	run_child(child_bulk_stream);
}

static void test_prestart_program(void **state)
{
	(void)state;
	run_child(child_prestart);
}

static void test_poststop_program(void **state)
{
	(void)state;
	run_child(child_poststop);
}

/* /proc/thread-self/status field @key as a number (base 10, or 16 for Cap*) */
static unsigned long long status_field(const char *key, int base)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/thread-self/status", "re");
	size_t n = strlen(key);

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

static void child_enter(void)
{
	unsigned long long before = status_field("CapEff", 16), after;
	struct cl_error *err = NULL;
	const char *why = NULL;
	bool seccomp = cl_sandbox_seccomp_status(&why);

	if (cl_sandbox_enter(CL_SANDBOX_READ, 0, &err) < 0) {
		fprintf(stderr, "# enter: %s\n", err->msg);
		_exit(98);
	}
	after = status_field("CapEff", 16);
	expect("NoNewPrivs 1", status_field("NoNewPrivs", 10) == 1 ? 0 : -1, 0);
	expect("CapEff reduced to the phase's set",
	       after == (before & cl_sandbox_policies[CL_SANDBOX_READ].caps) ? 0 : -1, 0);
	expect("CapBnd within the phase's set",
	       (status_field("CapBnd", 16) & ~cl_sandbox_policies[CL_SANDBOX_READ].caps) == 0 ||
		       !(before & CL_CAP(CAP_SETPCAP))
		   ? 0
		   : -1,
	       0);
	expect("CapInh empty", status_field("CapInh", 16) == 0 ? 0 : -1, 0);
	/* the sanitizer build keeps NNP and the capability drop, without the filter */
	expect("Seccomp", status_field("Seccomp", 10) == (seccomp ? 2 : 0) ? 0 : -1, 0);
	if (seccomp)
		expect("active", cl_sandbox_active() ? 0 : -1, 0);
	else
		fprintf(stderr, "# note: no seccomp filter here: %s\n", why);
}

static void test_enter(void **state)
{
	(void)state;
	run_child(child_enter);
}

static int thread_fn(void *ctx, struct cl_error **err)
{
	int *seen = ctx;

	seen[0] = (int)status_field("NoNewPrivs", 10);
	seen[1] = (int)status_field("Seccomp", 10);
	if (syscall(SYS_socket, AF_INET, SOCK_STREAM, 0) < 0)
		return cl_error_set(err, errno, "socket");
	return 0;
}

/* the confined thread; the caller is left as it was */
static void child_thread(void)
{
	const char *why = NULL;
	bool seccomp = cl_sandbox_seccomp_status(&why);
	struct cl_error *err = NULL;
	int seen[2] = {-1, -1};
	int r = cl_sandbox_run_thread(CL_SANDBOX_BULK_UNPACK, 0, thread_fn, seen, &err);

	expect("thread NoNewPrivs", seen[0] == 1 ? 0 : -1, 0);
	if (seccomp) {
		expect("thread Seccomp 2", seen[1] == 2 ? 0 : -1, 0);
		expect("thread socket refused", r < 0 ? (errno = -r, -1) : 0, EPERM);
	}
	cl_error_free(&err);
	expect("caller NoNewPrivs 0", status_field("NoNewPrivs", 10) == 0 ? 0 : -1, 0);
	expect("caller Seccomp 0", status_field("Seccomp", 10) == 0 ? 0 : -1, 0);
	expect("caller unconfined", cl_sandbox_active() ? -1 : 0, 0);
}

static void test_run_thread(void **state)
{
	(void)state;
	run_child(child_thread);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_complete),
	    cmocka_unit_test(test_never),
	    cmocka_unit_test(test_bulk_tightest),
	    cmocka_unit_test(test_hooks_can_act),
	    cmocka_unit_test(test_caps_never),
	    cmocka_unit_test(test_bulk_stream_program),
	    cmocka_unit_test(test_prestart_program),
	    cmocka_unit_test(test_poststop_program),
	    cmocka_unit_test(test_enter),
	    cmocka_unit_test(test_run_thread),
	};

	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
