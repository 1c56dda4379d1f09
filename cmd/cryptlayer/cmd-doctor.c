/* SPDX-License-Identifier: GPL-2.0-or-later */
/* doctor: what this host really supports, probed, and what falls back to what. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <linux/fscrypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cmd/cryptlayer/cli.h"
#include "cmd/cryptlayer/doctor-user.h"
#include "lib/btrfs/snapshot.h"
#include "lib/core/cleanup.h"
#include "lib/fscrypt/fscrypt.h"
#include "lib/mount/overlay.h"
#include "lib/probe/dmcrypt.h"
#include "lib/probe/host.h"
#include "lib/store/store.h"
#include "oci/json-util.h"

#define PAD FSCRYPT_POLICY_FLAGS_PAD_32

static void doctor_help(void)
{
	fputs("Usage:\n"
	      " cryptlayer [global options] doctor [--json]\n"
	      "\n"
	      "Probe what this host supports and say what falls back to what: the fscrypt\n"
	      "policies that really work on the store (each is set on a scratch directory\n"
	      "and a file is created in it, with a throw-away key that is removed again),\n"
	      "the kernel's AES drivers, inline encryption hardware, overlayfs, btrfs\n"
	      "encryption, the mount-table API, the CPU's AES features, the installed\n"
	      "runtimes, and whether the store's block devices include dm-crypt (then every\n"
	      "block is encrypted twice: a choice, not an error). Uses (and, like every\n"
	      "command, creates on first use) the store.\n"
	      "\n"
	      "Run as a user (or under 'podman unshare') it also reports what rootless\n"
	      "podman needs: the user's kernel key quota (/proc/key-users against\n"
	      "/proc/sys/kernel/keys/maxkeys and maxbytes), whether the store's filesystem\n"
	      "supports encryption, whether overlayfs mounts in a user namespace (with\n"
	      "userxattr), the podman drop-in, and where hook errors go: podman shows a\n"
	      "failing hook only as 'exit status 1', the reason is in\n"
	      "<run-dir>/cryptlayer.log.\n"
	      "\n"
	      "Options:\n"
	      "     --json    one JSON object\n"
	      " -h, --help    display this help\n"
	      "\n"
	      "Exits 1 if layers cannot be made here (no store, or the policy cryptlayer uses\n"
	      "does not work; for a user also no key quota left, or no overlay in a user\n"
	      "namespace).\n",
	      stdout);
}

struct doctor {
	struct cl_host_info host;
	struct utsname uts;
	struct cl_store *store;
	char *store_error;
	struct cl_fscrypt_mode_probe modes[5];
	bool probed;
	char *probe_error;
	bool statmount;
	char runc[128], crun[128], podman[128];
	struct cl_dmcrypt_info dmcrypt; /* the store's block device stack (issue 10) */
	bool dmcrypt_probed;
	char *dmcrypt_error;
	struct cl_doctor_user *user;	     /* a user's rootless podman needs (DESIGN §7c) */
	struct cl_btrfs_fscrypt_probe btrfs; /* btrfs encryption, on a mounted btrfs */
	bool seccomp;			     /* the kernel (and build) load the sandbox's filters */
	const char *seccomp_why;	     /* static text */
	char *sandbox_error;		     /* entering the report's own sandbox failed */
};

static void init_modes(struct cl_fscrypt_mode_probe *m)
{
	/* the first is the one cryptlayer uses (DESIGN §2) */
	m[0] = (struct cl_fscrypt_mode_probe){
	    "AES-256-XTS", "AES-256-CTS", FSCRYPT_MODE_AES_256_XTS, FSCRYPT_MODE_AES_256_CTS, PAD};
	m[1] =
	    (struct cl_fscrypt_mode_probe){"AES-256-XTS", "AES-256-HCTR2", FSCRYPT_MODE_AES_256_XTS,
					   FSCRYPT_MODE_AES_256_HCTR2, PAD};
	m[2] = (struct cl_fscrypt_mode_probe){"Adiantum", "Adiantum", FSCRYPT_MODE_ADIANTUM,
					      FSCRYPT_MODE_ADIANTUM,
					      PAD | FSCRYPT_POLICY_FLAG_DIRECT_KEY};
	m[3] =
	    (struct cl_fscrypt_mode_probe){"AES-128-CBC-ESSIV", "AES-128-CTS",
					   FSCRYPT_MODE_AES_128_CBC, FSCRYPT_MODE_AES_128_CTS, PAD};
	m[4] = (struct cl_fscrypt_mode_probe){"AES-256-XTS", "AES-256-CTS",
					      FSCRYPT_MODE_AES_256_XTS, FSCRYPT_MODE_AES_256_CTS,
					      PAD | FSCRYPT_POLICY_FLAG_IV_INO_LBLK_64};
}

static const char *flags_name(uint8_t f)
{
	if (f & FSCRYPT_POLICY_FLAG_DIRECT_KEY)
		return "PAD_32,DIRECT_KEY";
	if (f & FSCRYPT_POLICY_FLAG_IV_INO_LBLK_64)
		return "PAD_32,IV_INO_LBLK_64";
	return "PAD_32";
}

static const char *mode_error(const struct cl_fscrypt_mode_probe *m)
{
	static char buf[160];

	if (m->result == 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%s: %s%s", m->step, strerror(-m->result),
		 m->result == -ENOPKG ? " (the kernel lacks the algorithm)"
		 : m->result == -EINVAL && (m->flags & FSCRYPT_POLICY_FLAG_IV_INO_LBLK_64)
		     ? " (needs ext4 -O stable_inodes)"
		     : "");
	return buf;
}

/* btrfs encryption is probed on a mounted btrfs: mainline kernels answer ENOTTY */
static void print_btrfs(const struct doctor *d)
{
	const struct cl_btrfs_fscrypt_probe *b = &d->btrfs;

	if (!d->host.fs_btrfs)
		printf("btrfs        no\n");
	else if (b->result == -ENOENT)
		printf("btrfs        yes, encryption: not probed (no btrfs mounted)\n");
	else if (b->result < 0)
		printf("btrfs        yes, encryption: unknown on '%s' (%s)\n", b->path,
		       strerror(-b->result));
	else
		printf("btrfs        yes, encryption: %s (probed on '%s')\n",
		       b->result ? "yes" : "no", b->path);
}

static void gather(const struct cl_globals *g, struct doctor *d)
{
	struct cl_error *err = NULL;

	cl_host_probe(&d->host);
	d->btrfs.result = -ENOENT;
	if (d->host.fs_btrfs)
		cl_btrfs_fscrypt_probe_host(&d->btrfs);
	uname(&d->uts);
	d->statmount = cl_mount_have_statmount();
	cl_host_tool_version("runc", d->runc, sizeof(d->runc));
	cl_host_tool_version("crun", d->crun, sizeof(d->crun));
	cl_host_tool_version("podman", d->podman, sizeof(d->podman));
	init_modes(d->modes);
	if (cl_store_open(g->root, 0, true, &d->store, &err) < 0) {
		d->store_error = strdup(err->msg);
		cl_error_free(&err);
	}
	if (cl_cli_user_mode())
		d->user = cl_doctor_user_probe(g, d->store);
	if (!d->store)
		return;
	if (cl_probe_dmcrypt_fd("/sys", d->store->dir_fd, &d->dmcrypt, &err) < 0) {
		d->dmcrypt_error = strdup(err->msg);
		cl_error_free(&err);
	} else {
		d->dmcrypt_probed = true;
	}
	if (cl_fscrypt_probe_modes(d->store->dir_fd, d->modes, CL_ARRAY_SIZE(d->modes), &err) < 0) {
		d->probe_error = strdup(err->msg);
		cl_error_free(&err);
		return;
	}
	d->probed = true;
}

static void add_fallback(json_object *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_fallback(json_object *arr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_array_add(arr, json_object_new_string(buf));
}

/* runc >= 1.5 opens the rootfs before hooks run (DESIGN §3) */
static bool runc_ignores_overmount(const char *version)
{
	int major = 0, minor = 0;

	return sscanf(version, "runc version %d.%d", &major, &minor) == 2 &&
	       (major > 1 || (major == 1 && minor >= 5));
}

static json_object *fallbacks(const struct doctor *d)
{
	const struct cl_host_info *h = &d->host;
	json_object *a = json_object_new_array();

	if (d->store && d->store->backing == CL_STORE_IMAGE)
		add_fallback(a,
			     "store: the root filesystem has no fscrypt, so layers live in a "
			     "loop-mounted ext4 image (%s)",
			     d->store->image);
	if (!h->xts_driver[0])
		add_fallback(a, "fscrypt contents: no xts(aes) driver loaded yet (the kernel loads "
				"one on first use)");
	else if (!h->xts_accelerated)
		add_fallback(a,
			     "fscrypt contents: generic C AES (%s), no accelerated xts(aes) "
			     "driver (aesni_intel) in the kernel: expect tens of MB/s",
			     h->xts_driver);
	if (!h->inline_crypt[0])
		add_fallback(a, "inline encryption: no blk-crypto hardware, fscrypt encrypts in "
				"the kernel's software (the inlinecrypt mount option would be "
				"ignored)");
	if (h->fs_btrfs) {
		bool subvol = false;
		const char *why = cl_layer_btrfs_upper(d->btrfs.result, &subvol);

		add_fallback(
		    a, "btrfs backend: each layer pins a read-only snapshot of its base; %s", why);
	} else {
		add_fallback(a, "btrfs backend: the kernel has no btrfs, use the overlay backend");
	}
	if (!d->statmount)
		add_fallback(a, "mount table: no statmount(2) (Linux < 6.8), libmount parses "
				"mountinfo instead (about 0.5 ms more per hook)");
	for (size_t i = 1; d->probed && i < CL_ARRAY_SIZE(d->modes); i++)
		if (d->modes[i].result < 0)
			add_fallback(a,
				     "fscrypt %s/%s %s: unavailable (%s); cryptlayer uses "
				     "AES-256-XTS/AES-256-CTS",
				     d->modes[i].contents_name, d->modes[i].filenames_name,
				     flags_name(d->modes[i].flags), mode_error(&d->modes[i]));
	if (runc_ignores_overmount(d->runc))
		add_fallback(a,
			     "%s may ignore an overlay mounted by a prestart hook: use "
			     "'cryptlayer prepare --bundle' or podman's precreate",
			     d->runc);
	if (!h->cpu_aes)
		add_fallback(a, "bulk encryption: no AES-NI, OpenSSL uses constant-time "
				"software AES (much slower)");
	else if (!h->cpu_vaes)
		add_fallback(a, "bulk encryption: AES-NI without VAES (one block per "
				"instruction)");
	return a;
}

static json_object *jstr(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static json_object *json_modes(const struct doctor *d)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; d->probed && i < CL_ARRAY_SIZE(d->modes); i++) {
		const struct cl_fscrypt_mode_probe *m = &d->modes[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "contents", jstr(m->contents_name));
		json_object_object_add(o, "filenames", jstr(m->filenames_name));
		json_object_object_add(o, "flags", jstr(flags_name(m->flags)));
		json_object_object_add(o, "works", json_object_new_boolean(m->result == 0));
		json_object_object_add(o, "error", jstr(mode_error(m)));
		json_object_object_add(o, "used", json_object_new_boolean(i == 0));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *json_store(const struct doctor *d)
{
	json_object *o = json_object_new_object();
	const struct cl_store *s = d->store;

	json_object_object_add(o, "root", jstr(s ? s->root : NULL));
	json_object_object_add(o, "backing", jstr(s ? cl_store_backing_name(s->backing) : NULL));
	json_object_object_add(o, "directory", jstr(s ? s->dir : NULL));
	json_object_object_add(o, "error", jstr(d->store_error ? d->store_error : d->probe_error));
	return o;
}

static json_object *json_kernel(const struct doctor *d)
{
	const struct cl_host_info *h = &d->host;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "release", jstr(d->uts.release));
	json_object_object_add(o, "xts_aes_driver", jstr(h->xts_driver));
	json_object_object_add(o, "xts_aes_accelerated",
			       json_object_new_boolean(h->xts_accelerated));
	json_object_object_add(o, "cts_aes_driver", jstr(h->cts_driver));
	json_object_object_add(o, "inline_crypto_devices", jstr(h->inline_crypt));
	json_object_object_add(o, "overlay", json_object_new_boolean(h->fs_overlay));
	json_object_object_add(o, "overlay_parameters", jstr(h->overlay_params));
	json_object_object_add(o, "btrfs", json_object_new_boolean(h->fs_btrfs));
	json_object_object_add(o, "btrfs_encryption",
			       d->btrfs.result < 0 ? NULL
						   : json_object_new_boolean(d->btrfs.result > 0));
	json_object_object_add(o, "mount_table", jstr(d->statmount ? "statmount" : "libmount"));
	return o;
}

static json_object *json_dmnode(const struct cl_dmcrypt_info *info, size_t i)
{
	const struct cl_dmcrypt_node *n = &info->chain[i];
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", jstr(n->name));
	json_object_object_add(o, "dev", jstr(n->dev));
	json_object_object_add(o, "kind", jstr(cl_probe_dmcrypt_kind_name(n->kind)));
	json_object_object_add(o, "dm_name", jstr(n->dm_name));
	json_object_object_add(o, "dm_uuid", jstr(n->dm_uuid));
	json_object_object_add(o, "backing_file", jstr(n->backing));
	json_object_object_add(o, "parent",
			       jstr(n->parent >= 0 ? info->chain[n->parent].name : NULL));
	return o;
}

/* "double_encryption": is the store on dm-crypt too (fscrypt + dm-crypt, issue 10) */
static json_object *json_dmcrypt(const struct doctor *d)
{
	const struct cl_dmcrypt_info *info = &d->dmcrypt;
	const struct cl_dmcrypt_node *c = info->dm_crypt ? &info->chain[info->crypt_node] : NULL;
	json_object *o = json_object_new_object(), *chain = json_object_new_array();
	const char *unknown = d->dmcrypt_probed	 ? info->unknown
			      : d->dmcrypt_error ? d->dmcrypt_error
						 : "no store";

	for (size_t i = 0; i < info->n_chain; i++)
		json_object_array_add(chain, json_dmnode(info, i));
	json_object_object_add(o, "dm_crypt", json_object_new_boolean(info->dm_crypt));
	json_object_object_add(o, "device", jstr(c ? c->dm_name : NULL));
	json_object_object_add(o, "type", jstr(c ? info->crypt_type : NULL));
	json_object_object_add(o, "complete",
			       json_object_new_boolean(d->dmcrypt_probed && info->complete));
	json_object_object_add(o, "unknown", jstr(unknown));
	json_object_object_add(o, "chain", chain);
	json_object_object_add(o, "cost",
			       jstr(c ? cl_probe_dmcrypt_cost(d->host.xts_accelerated) : NULL));
	json_object_object_add(o, "cost_measured", json_object_new_boolean(false));
	return o;
}

/* the self-sandbox (STYLE §1.6): can seccomp filters load, which one this report runs under */
static json_object *json_sandbox(const struct doctor *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "seccomp", json_object_new_boolean(d->seccomp));
	json_object_object_add(o, "detail", jstr(d->seccomp_why));
	json_object_object_add(o, "active", jstr(cl_sandbox_active()));
	json_object_object_add(o, "error", jstr(d->sandbox_error));
	return o;
}

static json_object *to_json(const struct doctor *d)
{
	json_object *o = json_object_new_object(), *cpu = json_object_new_object(),
		    *rt = json_object_new_object();

	json_object_object_add(o, "store", json_store(d));
	json_object_object_add(o, "double_encryption", json_dmcrypt(d));
	json_object_object_add(o, "fscrypt_modes", json_modes(d));
	json_object_object_add(o, "kernel", json_kernel(d));
	json_object_object_add(cpu, "flags", jstr(d->host.cpu_flags));
	json_object_object_add(cpu, "aes", json_object_new_boolean(d->host.cpu_aes));
	json_object_object_add(cpu, "vaes", json_object_new_boolean(d->host.cpu_vaes));
	json_object_object_add(o, "cpu", cpu);
	json_object_object_add(rt, "runc", jstr(d->runc));
	json_object_object_add(rt, "crun", jstr(d->crun));
	json_object_object_add(rt, "podman", jstr(d->podman));
	json_object_object_add(o, "runtimes", rt);
	json_object_object_add(o, "fallbacks", fallbacks(d));
	json_object_object_add(o, "user", d->user ? cl_doctor_user_json(d->user) : NULL);
	json_object_object_add(o, "sandbox", json_sandbox(d));
	return o;
}

static const char *or_none(const char *s)
{
	return s && s[0] ? s : "none";
}

static void print_dmcrypt(const struct doctor *d)
{
	char line[CL_DMCRYPT_LINE_MAX], chain[CL_DMCRYPT_LINE_MAX];

	if (d->dmcrypt_error)
		printf("dm-crypt     probe failed: %s\n", d->dmcrypt_error);
	if (!d->dmcrypt_probed)
		return;
	cl_probe_dmcrypt_describe(&d->dmcrypt, d->host.xts_accelerated, line, sizeof(line));
	cl_probe_dmcrypt_chain(&d->dmcrypt, chain, sizeof(chain));
	printf("dm-crypt     %s\n", line);
	if (chain[0])
		printf("             devices: %s\n", chain);
}

static void print_text(const struct doctor *d)
{
	const struct cl_host_info *h = &d->host;
	_cleanup_(json_object_putp) json_object *fb = fallbacks(d);

	printf("kernel       %s\n", d->uts.release);
	if (d->store)
		printf("store        %s (%s, %s)\n", d->store->dir,
		       cl_store_backing_name(d->store->backing), d->store->root);
	else
		printf("store        unavailable: %s\n", d->store_error);
	if (d->probe_error)
		printf("fscrypt      probe failed: %s\n", d->probe_error);
	for (size_t i = 0; d->probed && i < CL_ARRAY_SIZE(d->modes); i++) {
		const struct cl_fscrypt_mode_probe *m = &d->modes[i];

		printf("fscrypt      %-17s %-13s %-22s %s%s\n", m->contents_name, m->filenames_name,
		       flags_name(m->flags), m->result ? "no: " : "works",
		       m->result ? mode_error(m)
		       : i	 ? ""
				 : " (used)");
	}
	print_dmcrypt(d);
	printf("kernel AES   xts(aes) %s, cts(cbc(aes)) %s\n", or_none(h->xts_driver),
	       or_none(h->cts_driver));
	printf("inline enc.  %s\n", or_none(h->inline_crypt));
	printf("overlayfs    %s%s%s\n", h->fs_overlay ? "yes" : "no",
	       h->overlay_params[0] ? ", " : "", h->overlay_params);
	print_btrfs(d);
	printf("mount table  %s\n", d->statmount ? "statmount/listmount" : "libmount (mountinfo)");
	printf("CPU          %s\n", or_none(h->cpu_flags));
	printf("sandbox      seccomp %s (%s)%s%s%s%s\n", d->seccomp ? "yes" : "no", d->seccomp_why,
	       cl_sandbox_active() ? "; this report ran under '" : "",
	       cl_sandbox_active() ? cl_sandbox_active() : "", cl_sandbox_active() ? "'" : "",
	       d->sandbox_error ? d->sandbox_error : "");
	printf("runtimes     runc: %s; crun: %s; podman: %s\n", d->runc[0] ? d->runc : "not found",
	       d->crun[0] ? d->crun : "not found", d->podman[0] ? d->podman : "not found");
	for (size_t i = 0; i < json_object_array_length(fb); i++)
		printf("%s %s\n", i ? "            " : "fallbacks   ",
		       json_object_get_string(json_object_array_get_idx(fb, i)));
	if (d->user)
		cl_doctor_user_print(d->user);
}

int cl_cmd_doctor(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct doctor d = {};
	const char *why = NULL;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			doctor_help();
			return CL_EXIT_OK;
		}
		if (c != 'j')
			return cl_cli_usage("doctor", "unknown option '%s'", argv[optind - 1]);
		json = true;
	}
	if (optind < argc)
		return cl_cli_usage("doctor", "unexpected argument '%s'", argv[optind]);
	/* the probes run runtimes and try kernel features: the report alone is confined */
	gather(g, &d);
	d.seccomp = cl_sandbox_seccomp_status(&d.seccomp_why);
	if (d.seccomp) {
		struct cl_error *err = NULL;

		if (cl_cli_sandbox(g, CL_SANDBOX_READ, &err) < 0 &&
		    asprintf(&d.sandbox_error, "; the report's own sandbox failed: %s", err->msg) <
			0)
			d.sandbox_error = NULL;
		cl_error_free(&err);
	}
	if (json) {
		_cleanup_(json_object_putp) json_object *o = to_json(&d);

		printf("%s\n", json_object_to_json_string_ext(
				   o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		print_text(&d);
	}
	rc = d.probed && d.modes[0].result == 0 ? CL_EXIT_OK : CL_EXIT_FAIL;
	if (rc != CL_EXIT_OK)
		fprintf(stderr, "cryptlayer: doctor: layers cannot be made here: %s\n",
			d.store_error	? d.store_error
			: d.probe_error ? d.probe_error
					: mode_error(&d.modes[0]));
	else if (d.user && !cl_doctor_user_ok(d.user, &why))
		rc = CL_EXIT_FAIL, fprintf(stderr, "cryptlayer: doctor: %s\n", why);
	cl_doctor_user_free(d.user);
	cl_store_free(d.store);
	free(d.store_error);
	free(d.probe_error);
	free(d.dmcrypt_error);
	free(d.sandbox_error);
	return rc;
}
