/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The self-sandbox (libnvidia-container nvc_ldcache.c limit_syscalls(), bubblewrap's
 * --seccomp): no new privileges, the phase's capabilities only, then the phase's
 * seccomp program, prebuilt by libseccomp at build time (lib/sandbox/bpf.h).
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/core/log.h"
#include "lib/sandbox/bpf.h"
#include "lib/sandbox/sandbox.h"

#ifdef CL_SANDBOX_SAN
#define SANITIZER_BUILD 1
#else
#define SANITIZER_BUILD 0
#endif

static const char *active;

const char *cl_sandbox_active(void)
{
	return active;
}

/*
 * The bounding set: what no later exec could regain (needs CAP_SETPCAP; best effort).
 * Dropping a capability that is not in the set succeeds, so no PR_CAPBSET_READ first: one
 * prctl per capability not kept, up to the kernel's last (EINVAL) or a refusal (EPERM).
 */
static void drop_bounding(uint64_t keep)
{
	for (unsigned c = 0; c < 64; c++)
		if (!(keep & CL_CAP(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			break;
}

static int drop_caps(uint64_t keep, struct cl_error **err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d) < 0)
		return cl_error_set(err, errno, "sandbox: capget");
	drop_bounding(keep);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (unsigned i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		d[i].permitted &= k;
		d[i].effective = d[i].permitted;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return cl_error_set(err, errno, "sandbox: capset");
	return 0;
}

static int load_seccomp(enum cl_sandbox_phase phase, bool thread, struct cl_error **err)
{
	const struct cl_sandbox_bpf *b = &cl_sandbox_bpf[phase];
	struct sock_fprog prog = {.len = b->len, .filter = (struct sock_filter *)b->insns};
	/* TSYNC: every thread, should a library have started one; else this thread only */
	unsigned fl = thread ? 0 : SECCOMP_FILTER_FLAG_TSYNC;

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, fl, &prog) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOSYS)
		return cl_error_set(err, errno,
				    "sandbox '%s': this kernel cannot load seccomp filters; "
				    "refusing to run unconfined (--insecure-no-seccomp overrides)",
				    cl_sandbox_phase_name(phase));
	return cl_error_set(err, errno, "sandbox '%s': load the seccomp filter",
			    cl_sandbox_phase_name(phase));
}

static int enter(enum cl_sandbox_phase phase, unsigned flags, bool thread, struct cl_error **err)
{
	int r;

	if ((unsigned)phase >= cl_sandbox_bpf_count)
		return cl_error_set(err, EINVAL, "sandbox: no phase %d", (int)phase);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cl_error_set(err, errno, "sandbox: PR_SET_NO_NEW_PRIVS");
	r = drop_caps(cl_sandbox_policies[phase].caps, err);
	if (r < 0)
		return r;
	/* the sanitizers' runtime makes syscalls of its own: the filter is left out */
	if (SANITIZER_BUILD) {
		cl_log(CL_LOG_DEBUG, "sandbox '%s': seccomp filter not loaded (sanitizer build)",
		       cl_sandbox_phase_name(phase));
		return 0;
	}
	if (flags & CL_SANDBOX_NO_SECCOMP) {
		cl_log(CL_LOG_DEBUG, "sandbox '%s': seccomp disabled (--insecure-no-seccomp)",
		       cl_sandbox_phase_name(phase));
		return 0;
	}
	r = load_seccomp(phase, thread, err);
	if (r == 0 && !thread)
		active = cl_sandbox_phase_name(phase);
	/*
	 * A refused syscall reads as its step's EPERM ("...: Operation not permitted"), like
	 * the refusals that use EPERM on purpose; -d names the phase that was on.
	 */
	if (r == 0)
		cl_log(CL_LOG_DEBUG, "sandbox '%s' on%s", cl_sandbox_phase_name(phase),
		       thread ? " (this thread)" : "");
	return r;
}

int cl_sandbox_enter(enum cl_sandbox_phase phase, unsigned flags, struct cl_error **err)
{
	return enter(phase, flags, false, err);
}

struct thread_job {
	enum cl_sandbox_phase phase;
	unsigned flags;
	cl_sandbox_fn fn;
	void *ctx;
	struct cl_error *err;
	int r;
};

static void *thread_main(void *p)
{
	struct thread_job *j = p;

	/* NNP, capabilities and the filter are per thread: the caller's stay as they were */
	j->r = enter(j->phase, j->flags, true, &j->err);
	if (j->r == 0)
		j->r = j->fn(j->ctx, &j->err);
	return NULL;
}

int cl_sandbox_run_thread(enum cl_sandbox_phase phase, unsigned flags, cl_sandbox_fn fn, void *ctx,
			  struct cl_error **err)
{
	struct thread_job j = {.phase = phase, .flags = flags, .fn = fn, .ctx = ctx};
	pthread_t t;
	int e;

	e = pthread_create(&t, NULL, thread_main, &j);
	if (e)
		return cl_error_set(err, e, "sandbox '%s': start its thread",
				    cl_sandbox_phase_name(phase));
	e = pthread_join(t, NULL);
	if (e)
		return cl_error_set(err, e, "sandbox '%s': join its thread",
				    cl_sandbox_phase_name(phase));
	if (j.r < 0 && err)
		*err = j.err;
	else
		cl_error_free(&j.err);
	return j.r < 0 ? j.r : 0;
}

bool cl_sandbox_seccomp_status(const char **ret_why)
{
	if (SANITIZER_BUILD) {
		*ret_why = "not loaded in this sanitizer build";
		return false;
	}
	/* PR_GET_SECCOMP answers EINVAL without CONFIG_SECCOMP */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
		*ret_why = "the kernel has no seccomp (CONFIG_SECCOMP)";
		return false;
	}
	/* SECCOMP_GET_ACTION_AVAIL needs CONFIG_SECCOMP_FILTER */
	{
		uint32_t act = SECCOMP_RET_ERRNO;

		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) < 0) {
			*ret_why = "the kernel cannot load seccomp filters (CONFIG_SECCOMP_FILTER)";
			return false;
		}
	}
	*ret_why = "prebuilt per-phase allowlists, EPERM for the rest";
	return true;
}
