/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/btrfs/snapshot.h"
#include "lib/core/cleanup.h"
#include "lib/probe/dmcrypt.h"
#include "lib/probe/host.h"
#include "lib/store/store.h"
#include "lib/store/user.h"

static void store_help(void)
{
	fputs("Usage:\n"
	      " cryptlayer store init [--size SIZE]\n"
	      " cryptlayer store init --user [--root DIR]\n"
	      " cryptlayer store status\n"
	      " cryptlayer store remove\n"
	      "\n"
	      "The embedded store holds every layer. 'init' uses the root directory's own\n"
	      "filesystem when it supports fscrypt, otherwise makes an allocated (not sparse)\n"
	      "ext4 image with '-O encrypt' under the root and mounts it; every other command\n"
	      "does the same on first use, and re-attaches the image after a reboot.\n"
	      "'status' shows the backing, size, allocation, use and the kernel's AES driver.\n"
	      "'remove' unmounts and deletes the store (its image, lock files and directories;\n"
	      "never the machine key); it refuses while any layer exists.\n"
	      "\n"
	      "'init --user', run as a user for rootless podman, makes the user's own store: a\n"
	      "directory (default $XDG_DATA_HOME/cryptlayer, ~/.local/share/cryptlayer) on a\n"
	      "filesystem with fscrypt v2, probed first (refused, writing nothing, without\n"
	      "it); the run dir $XDG_RUNTIME_DIR/cryptlayer (else <root>/run); the hooks.d\n"
	      "descriptors in ~/.config/cryptlayer/hooks.d; and the podman drop-in\n"
	      "~/.config/containers/containers.conf.d/" CL_STORE_USER_DROPIN
	      " whose hooks_dir lists the\n"
	      "system directories, then the user's. It never edits containers.conf; a second\n"
	      "run changes nothing. Persistent keys use ~/.config/cryptlayer/machine.key.\n"
	      "\n"
	      "Options:\n"
	      "     --size SIZE    image size, e.g. 512M, 8G (default 8G)\n"
	      "     --user         a user's own store, wired into rootless podman\n"
	      "     --root DIR     with --user: the store directory (same as the global --root)\n"
	      " -h, --help         display this help\n",
	      stdout);
}

/* an image store: how much of the image the host filesystem really allocated */
static void print_allocation(const struct cl_store *s)
{
	_cleanup_close_ int fd = -1;
	uint64_t alloc = 0, size = 0;

	if (!s->image)
		return;
	fd = open(s->image, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || cl_store_image_allocated(fd, &alloc, &size) < 0)
		return;
	printf("image       %llu MiB, %llu MiB allocated on the host%s\n",
	       (unsigned long long)(size >> 20), (unsigned long long)(alloc >> 20),
	       alloc < size / 100 * CL_STORE_MIN_ALLOCATED_PCT ? " (SPARSE: a full host "
								 "filesystem would corrupt it)"
							       : "");
	/* a store root on btrfs: the image must be NOCOW (DESIGN §6b) */
	if (cl_btrfs_on_btrfs_fd(fd))
		printf("nocow       %s\n", cl_btrfs_is_nocow_fd(fd)
					       ? "yes (the image is on btrfs, FS_NOCOW_FL)"
					       : "NO: the image is on btrfs but copy-on-write "
						 "(made before NOCOW was set?)");
}

/* seed 000: a store on dm-crypt encrypts every block twice (doctor says the same) */
static void print_dmcrypt(const struct cl_store *s, const struct cl_host_info *host)
{
	struct cl_dmcrypt_info info = {0};
	char line[CL_DMCRYPT_LINE_MAX];

	if (cl_probe_dmcrypt_fd("/sys", s->dir_fd, &info, NULL) < 0)
		return;
	cl_probe_dmcrypt_describe(&info, host->xts_accelerated, line, sizeof(line));
	printf("dm-crypt    %s\n", line);
}

static int store_status(const struct cl_globals *g)
{
	_cleanup_(cl_store_freep) struct cl_store *s = NULL;
	struct cl_error *err = NULL;
	struct cl_host_info host;
	struct statvfs vfs;

	if (cl_store_open(g->root, 0, true, &s, &err) < 0)
		return cl_cli_fail(&err, "store status");
	if (cl_cli_sandbox(g, CL_SANDBOX_READ, &err) < 0)
		return cl_cli_fail(&err, "store status");
	if (fstatvfs(s->dir_fd, &vfs) < 0) {
		cl_error_set(&err, errno, "statvfs '%s'", s->dir);
		return cl_cli_fail(&err, "store status");
	}
	cl_host_probe(&host);
	printf("root        %s\n", s->root);
	printf("backing     %s%s%s\n", cl_store_backing_name(s->backing), s->image ? " " : "",
	       s->image ? s->image : "");
	printf("directory   %s\n", s->dir);
	print_allocation(s);
	printf("size        %llu MiB\n", (unsigned long long)vfs.f_blocks * vfs.f_frsize >> 20);
	printf("used        %llu MiB\n",
	       (unsigned long long)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize >> 20);
	print_dmcrypt(s, &host);
	if (host.xts_priority < 0)
		printf("fscrypt     xts(aes) via none loaded yet (contents AES-256-XTS, names "
		       "AES-256-CTS)\n");
	else
		printf("fscrypt     xts(aes) via %s (priority %d) (contents AES-256-XTS, names "
		       "AES-256-CTS)\n",
		       host.xts_driver, host.xts_priority);
	return CL_EXIT_OK;
}

int cl_cmd_store(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, 's'},
	    {"user", no_argument, NULL, 'u'},
	    {"root", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_(cl_store_freep) struct cl_store *s = NULL;
	struct cl_error *err = NULL;
	struct cl_globals ug = *g;
	bool user = false;
	uint64_t size = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			store_help();
			return CL_EXIT_OK;
		}
		if (c == 'u') {
			user = true;
			continue;
		}
		if (c == 'r') {
			if (optarg[0] != '/')
				return cl_cli_usage("store", "--root must be an absolute path");
			ug.root = optarg;
			ug.given |= CL_GIVEN_ROOT;
			continue;
		}
		if (c != 's')
			return cl_cli_usage("store", "unknown option '%s'", argv[optind - 1]);
		if (cl_store_parse_size(optarg, &size) < 0 || size < (16ULL << 20))
			return cl_cli_usage("store", "--size: '%s' is not a size of at least 16M",
					    optarg);
	}
	if (optind + 1 != argc)
		return cl_cli_usage("store", "expected 'init', 'status' or 'remove'");
	if (!strcmp(argv[optind], "status"))
		return store_status(g);
	if (!strcmp(argv[optind], "remove")) {
		if (cl_store_remove(g->root, g->run_dir, &err) < 0)
			return cl_cli_fail(&err, "store remove");
		return CL_EXIT_OK;
	}
	if (strcmp(argv[optind], "init"))
		return cl_cli_usage("store", "unknown subcommand '%s'", argv[optind]);
	if ((ug.given & CL_GIVEN_ROOT) && !(g->given & CL_GIVEN_ROOT) && !user)
		return cl_cli_usage("store", "--root after 'init' needs --user (or put it first)");
	if (user && size)
		return cl_cli_usage("store", "--size is for an image store, not --user");
	if (user) {
		/* from scratch: what argv gave, else the XDG defaults (never the old descriptor) */
		if (!(ug.given & CL_GIVEN_ROOT))
			ug.root = CL_DEFAULT_ROOT;
		if (!(ug.given & CL_GIVEN_RUN_DIR))
			ug.run_dir = CL_DEFAULT_RUN_DIR;
		if (!(ug.given & CL_GIVEN_MACHINE_KEY))
			ug.machine_key = NULL;
		cl_cli_user_defaults(&ug, false);
		return cl_cmd_store_init_user(&ug);
	}
	if (cl_store_open(g->root, size, true, &s, &err) < 0)
		return cl_cli_fail(&err, "store init");
	printf("%s\n", s->dir);
	return CL_EXIT_OK;
}
