/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Is the store on dm-crypt? A walk down its block device stack in sysfs (issue 10). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/probe/dmcrypt.h"

struct walk {
	const char *root; /* sysfs */
	struct cl_dmcrypt_info *info;
};

static void visit_node(struct walk *w, const char *dir, int depth, int parent);

static void unknown(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* the walk goes on; the first reason is kept */
static void unknown(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	w->info->complete = false;
	if (w->info->unknown[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->info->unknown, sizeof(w->info->unknown), fmt, ap);
	va_end(ap);
}

/* the first line of sysfs attribute @dir/@name, without its newline. Return: 0 or -errno */
static int read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	ssize_t n;

	buf[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static bool has(const char *dir, const char *name, bool want_dir)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    stat(path, &st) < 0)
		return false;
	return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

/*
 * cryptsetup (and systemd-cryptsetup, which uses it) names every device it maps
 * "CRYPT-<type>-[<uuid hex>-]<name>" (lib/libdevmapper.c dm_prepare_uuid()). Of those
 * types, VERITY and INTEGRITY are dm-verity and dm-integrity, and SUBDEV marks hidden
 * helpers (the dm-integrity under a LUKS2 volume with integrity, TCRYPT cascade parts,
 * reencryption overlays) that sit under a public CRYPT- device anyway. LUKS2-OPAL is a
 * self-encrypting drive, with dm-crypt on top unless set up --hw-opal-only: encrypted
 * twice all the same. Everything else (LUKS1, LUKS2, PLAIN, LOOPAES, TCRYPT, BITLK,
 * FVAULT2, TEMP and later types) is a dm-crypt target.
 */
static bool crypt_uuid(const char *uuid, char *type, size_t len)
{
	static const char *const not_crypt[] = {"VERITY", "INTEGRITY", "SUBDEV"};
	const char *t = uuid + 6, *end;

	if (strncmp(uuid, "CRYPT-", 6))
		return false;
	end = strncmp(t, "LUKS2-OPAL-", 11) == 0 ? t + 10 : strchrnul(t, '-');
	if (end == t)
		return false;
	for (size_t i = 0; i < CL_ARRAY_SIZE(not_crypt); i++)
		if ((size_t)(end - t) == strlen(not_crypt[i]) && !strncmp(t, not_crypt[i], end - t))
			return false;
	snprintf(type, len, "%.*s", (int)(end - uuid), uuid);
	return true;
}

/* only "dm-N" devices are device-mapper's: a dm/uuid anywhere else means nothing */
static void classify_dm(struct walk *w, const char *dir, int idx)
{
	struct cl_dmcrypt_info *info = w->info;
	struct cl_dmcrypt_node *n = &info->chain[idx];
	char type[sizeof(info->crypt_type)];

	n->kind = CL_DMCRYPT_DM;
	read_attr(dir, "dm/name", n->dm_name, sizeof(n->dm_name));
	if (read_attr(dir, "dm/uuid", n->dm_uuid, sizeof(n->dm_uuid)) < 0) {
		unknown(w, "'%s': no dm/uuid", n->name);
		return;
	}
	if (!crypt_uuid(n->dm_uuid, type, sizeof(type)))
		return;
	n->kind = CL_DMCRYPT_CRYPT;
	if (!info->dm_crypt) { /* the one nearest the filesystem speaks for the stack */
		info->dm_crypt = true;
		info->crypt_node = idx;
		snprintf(info->crypt_type, sizeof(info->crypt_type), "%s", type);
	}
}

static void classify(struct walk *w, const char *dir, int idx)
{
	struct cl_dmcrypt_node *n = &w->info->chain[idx];

	if (!strncmp(n->name, "dm-", 3) && has(dir, "dm", true))
		classify_dm(w, dir, idx);
	else if (has(dir, "loop", true))
		n->kind = CL_DMCRYPT_LOOP;
	else if (has(dir, "partition", false))
		n->kind = CL_DMCRYPT_PARTITION;
	else
		n->kind = CL_DMCRYPT_DISK;
}

static void visit_dev(struct walk *w, dev_t dev, int depth, int parent)
{
	char link[PATH_MAX], dir[PATH_MAX];
	unsigned maj = major(dev), min = minor(dev);

	snprintf(link, sizeof(link), "%s/dev/block/%u:%u", w->root, maj, min);
	if (realpath(link, dir)) {
		visit_node(w, dir, depth, parent);
		return;
	}
	if (maj == 0) /* an anonymous device: the filesystem has no block device of its own */
		unknown(w,
			"%u:%u is not a block device (btrfs, overlayfs, tmpfs or a network "
			"filesystem)",
			maj, min);
	else
		unknown(w, "%s: %s", link, strerror(errno));
}

/* a loop device's data lives on its backing file's filesystem (or device) */
static void visit_backing(struct walk *w, const char *dir, int depth, int idx)
{
	struct cl_dmcrypt_node *n = &w->info->chain[idx];
	char file[PATH_MAX];
	struct stat st;

	if (read_attr(dir, "loop/backing_file", file, sizeof(file)) < 0 || !file[0]) {
		unknown(w, "'%s': no loop/backing_file", n->name);
		return;
	}
	snprintf(n->backing, sizeof(n->backing), "%.*s", (int)sizeof(n->backing) - 1, file);
	if (stat(file, &st) < 0) {
		unknown(w, "'%s': backing file '%s': %s", n->name, file, strerror(errno));
		return;
	}
	visit_dev(w, S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev, depth + 1, idx);
}

static int not_dot(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* dm and md devices list what they are built on in slaves/ (symlinks to device dirs) */
static void visit_slaves(struct walk *w, const char *dir, int depth, int idx)
{
	const struct cl_dmcrypt_node *n = &w->info->chain[idx];
	char path[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	struct dirent **names = NULL;
	int count;

	snprintf(path, sizeof(path), "%s/slaves", dir);
	count = scandir(path, &names, not_dot, alphasort);
	if (count < 0) {
		/* a disk is the bottom; a dm device always has slaves/ */
		if (errno != ENOENT || n->kind != CL_DMCRYPT_DISK)
			unknown(w, "'%s': slaves: %s", n->name, strerror(errno));
		return;
	}
	for (int i = 0; i < count; i++) {
		const char *slave = names[i]->d_name;
		bool fits =
		    (size_t)snprintf(link, sizeof(link), "%s/%s", path, slave) < sizeof(link);

		if (fits && realpath(link, target)) /* ELOOP for a symlink to itself */
			visit_node(w, target, depth + 1, idx);
		else
			unknown(w, "'%s': slaves/%s: %s", n->name, slave,
				fits ? strerror(errno) : "name too long");
		free(names[i]);
	}
	free(names);
}

static bool seen(const struct cl_dmcrypt_info *info, const char *name)
{
	for (size_t i = 0; i < info->n_chain; i++)
		if (!strcmp(info->chain[i].name, name))
			return true;
	return false;
}

/* @dir: the device's canonical sysfs directory, so its kernel name is the last part */
static void visit_node(struct walk *w, const char *dir, int depth, int parent)
{
	struct cl_dmcrypt_info *info = w->info;
	const char *name = strrchr(dir, '/') + 1;
	struct cl_dmcrypt_node *n;
	int idx;

	if (depth > CL_DMCRYPT_DEPTH_MAX) {
		unknown(w, "'%s': more than %d devices deep", name, CL_DMCRYPT_DEPTH_MAX);
		return;
	}
	if (seen(info, name)) /* a symlink loop, or two paths down to one device */
		return;
	if (info->n_chain == CL_DMCRYPT_CHAIN_MAX) {
		unknown(w, "more than %d devices", CL_DMCRYPT_CHAIN_MAX);
		return;
	}
	idx = (int)info->n_chain++;
	n = &info->chain[idx];
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->parent = parent;
	read_attr(dir, "dev", n->dev, sizeof(n->dev));
	classify(w, dir, idx);
	if (n->kind == CL_DMCRYPT_LOOP) {
		visit_backing(w, dir, depth, idx);
	} else if (n->kind == CL_DMCRYPT_PARTITION) {
		char disk[PATH_MAX];

		/* /sys/devices/.../block/sda/sda2: the parent disk is the directory above */
		snprintf(disk, sizeof(disk), "%.*s", (int)(name - 1 - dir), dir);
		if (strchr(disk, '/'))
			visit_node(w, disk, depth + 1, idx);
		else
			unknown(w, "'%s': no parent disk", n->name);
	} else {
		visit_slaves(w, dir, depth, idx);
	}
}

int cl_probe_dmcrypt(const char *sysfs_root, dev_t dev, struct cl_dmcrypt_info *ret,
		     struct cl_error **err)
{
	struct walk w;

	if (!sysfs_root || sysfs_root[0] != '/' || strlen(sysfs_root) > PATH_MAX / 2)
		return cl_error_set(err, EINVAL, "sysfs root '%s': not an absolute path",
				    sysfs_root ? sysfs_root : "");
	memset(ret, 0, sizeof(*ret));
	w = (struct walk){sysfs_root, ret};
	ret->complete = true;
	ret->crypt_node = -1;
	visit_dev(&w, dev, 0, -1);
	return 0;
}

int cl_probe_dmcrypt_fd(const char *sysfs_root, int fd, struct cl_dmcrypt_info *ret,
			struct cl_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cl_error_set(err, errno, "dm-crypt probe: fstat");
	return cl_probe_dmcrypt(sysfs_root, st.st_dev, ret, err);
}

const char *cl_probe_dmcrypt_kind_name(enum cl_dmcrypt_kind kind)
{
	static const char *const names[] = {
	    [CL_DMCRYPT_DISK] = "disk",	     [CL_DMCRYPT_PARTITION] = "partition",
	    [CL_DMCRYPT_LOOP] = "loop",	     [CL_DMCRYPT_DM] = "dm",
	    [CL_DMCRYPT_CRYPT] = "dm-crypt",
	};

	return (unsigned)kind < CL_ARRAY_SIZE(names) ? names[kind] : "unknown";
}

/*
 * Not measured here (this machine's kernel has no dm-crypt): dm-crypt runs the kernel's
 * xts(aes), the driver fscrypt uses too, so its cost per block is another pass of it.
 * Figures are `cryptsetup benchmark` (memory only, no I/O), the published ones below.
 */
const char *cl_probe_dmcrypt_cost(bool xts_accelerated)
{
	if (xts_accelerated)
		return "a second AES-XTS pass over every block read or written, about 1.4 GiB/s "
		       "per core with AES-NI (cryptsetup benchmark aes-xts 256b: 1431.9 MiB/s "
		       "encryption, 1386.5 MiB/s decryption on an Intel i7-3770, "
		       "https://blog.linux-ng.de/2020/09/07/linux-dm-crypt-performance); not "
		       "measured here";
	return "a second AES-XTS pass over every block read or written, in the kernel's generic "
	       "C AES here (no accelerated xts(aes) driver), the speed class of fscrypt's own "
	       "pass, so roughly half the store's throughput: about 75-85 MiB/s per core "
	       "(cryptsetup benchmark aes-xts 256b: 85.6 MiB/s encryption, 74.7 MiB/s "
	       "decryption on a Raspberry Pi without AES instructions, "
	       "https://gist.github.com/artyom/6b71a0603aef4c9cb47a4f79d84980ec); not measured "
	       "here";
}

void cl_probe_dmcrypt_describe(const struct cl_dmcrypt_info *info, bool xts_accelerated, char *buf,
			       size_t len)
{
	const struct cl_dmcrypt_node *n;

	if (!info->dm_crypt) {
		if (info->complete)
			snprintf(buf, len, "store not on dm-crypt");
		else if (!info->n_chain)
			snprintf(buf, len, "store on dm-crypt: cannot tell (%s)", info->unknown);
		else
			snprintf(buf, len, "store not on dm-crypt as far as sysfs shows (%s)",
				 info->unknown);
		return;
	}
	n = &info->chain[info->crypt_node];
	snprintf(buf, len,
		 "store on dm-crypt (%s '%s'): every block is encrypted twice (fscrypt + "
		 "dm-crypt); a choice, not an error: dm-crypt also hides the metadata fscrypt "
		 "leaves visible (sizes, times, directory shape); cost: %s",
		 info->crypt_type, n->dm_name[0] ? n->dm_name : n->name,
		 cl_probe_dmcrypt_cost(xts_accelerated));
}

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	*off += n > 0 ? (size_t)n : 0;
}

void cl_probe_dmcrypt_chain(const struct cl_dmcrypt_info *info, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < info->n_chain; i++) {
		const struct cl_dmcrypt_node *n = &info->chain[i];

		if (i && n->parent >= 0 && (size_t)n->parent != i - 1)
			append(buf, len, &off, " | %s", info->chain[n->parent].name);
		append(buf, len, &off, "%s%s", i ? " -> " : "", n->name);
		if (n->kind == CL_DMCRYPT_CRYPT)
			append(buf, len, &off, " (dm-crypt '%s')", n->dm_name);
		else if (n->kind == CL_DMCRYPT_DM && n->dm_name[0])
			append(buf, len, &off, " ('%s')", n->dm_name);
		else if (n->kind == CL_DMCRYPT_LOOP && n->backing[0])
			append(buf, len, &off, " (%s)", n->backing);
	}
}
