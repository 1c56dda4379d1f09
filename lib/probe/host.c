/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/probe/host.h"

static void append(char *buf, size_t len, const char *word)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? " " : "", word);
}

static void cpu_flags(struct cl_host_info *h)
{
	static const char *const want[] = {"aes",  "vaes",    "pclmulqdq", "vpclmulqdq",
					   "avx2", "avx512f", "sha_ni"};
	_cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			char pat[32];

			snprintf(pat, sizeof(pat), " %s", want[i]);
			for (char *p = strstr(line, pat); p; p = strstr(p + 1, pat)) {
				char end = p[strlen(pat)];

				if (end == ' ' || end == '\n' || end == '\0') {
					append(h->cpu_flags, sizeof(h->cpu_flags), want[i]);
					break;
				}
			}
		}
		break; /* the first CPU speaks for all */
	}
	h->cpu_aes = strstr(h->cpu_flags, "aes") == h->cpu_flags || strstr(h->cpu_flags, " aes");
	h->cpu_vaes = strstr(h->cpu_flags, "vaes") != NULL;
}

int cl_host_kernel_driver(const char *alg, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/crypto", "re");
	char line[256], name[128] = "", driver[128] = "";
	int best = -1, prio;

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "name : %127s", name) == 1 ||
		    sscanf(line, "driver : %127s", driver) == 1)
			continue;
		if (sscanf(line, "priority : %d", &prio) == 1 && !strcmp(name, alg) &&
		    prio > best) {
			best = prio;
			snprintf(buf, len, "%s", driver);
		}
	}
	return best;
}

static void filesystems(struct cl_host_info *h)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
	char line[128];

	while (f && fgets(line, sizeof(line), f)) {
		char *name = strrchr(line, '\t');

		name = name ? name + 1 : line;
		name[strcspn(name, "\n")] = '\0';
		h->fs_overlay |= !strcmp(name, "overlay");
		h->fs_btrfs |= !strcmp(name, "btrfs");
		h->fs_ext4 |= !strcmp(name, "ext4");
	}
}

static void overlay_params(struct cl_host_info *h)
{
	static const char *const params[] = {"redirect_dir", "metacopy", "index", "xino_auto"};

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char path[96], val[32] = "", word[64];
		_cleanup_fclose_ FILE *f = NULL;

		snprintf(path, sizeof(path), "/sys/module/overlay/parameters/%s", params[i]);
		f = fopen(path, "re");
		if (!f || !fgets(val, sizeof(val), f))
			continue;
		val[strcspn(val, "\n")] = '\0';
		snprintf(word, sizeof(word), "%s=%s", params[i], val);
		append(h->overlay_params, sizeof(h->overlay_params), word);
	}
}

/* blk-crypto capable devices expose /sys/block/<dev>/queue/crypto (Linux 6.3) */
static void inline_crypt(struct cl_host_info *h)
{
	_cleanup_(closedirp) DIR *d = opendir("/sys/block");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/queue/crypto", de->d_name);
		if (access(path, F_OK) == 0)
			append(h->inline_crypt, sizeof(h->inline_crypt), de->d_name);
	}
}

void cl_host_probe(struct cl_host_info *h)
{
	memset(h, 0, sizeof(*h));
	cpu_flags(h);
	h->xts_priority = cl_host_kernel_driver("xts(aes)", h->xts_driver, sizeof(h->xts_driver));
	/* generic: "xts(ecb(aes-generic))", "xts(ecb(aes-fixed-time))"; arch: "xts-aes-aesni" */
	h->xts_accelerated = h->xts_driver[0] && !strstr(h->xts_driver, "generic") &&
			     !strstr(h->xts_driver, "fixed-time");
	cl_host_kernel_driver("cts(cbc(aes))", h->cts_driver, sizeof(h->cts_driver));
	filesystems(h);
	overlay_params(h);
	inline_crypt(h);
}

static int find_tool(const char *name, char *path, size_t len)
{
	static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, len, "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return 1;
	}
	return 0;
}

static void run_version(const char *path, const char *name, int out_fd)
{
	char *const argv[] = {(char *)name, "--version", NULL};
	char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin", NULL};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDERR_FILENO);
	}
	dup2(out_fd, STDOUT_FILENO);
	execve(path, argv, envp);
	_exit(127);
}

int cl_host_tool_version(const char *name, char *buf, size_t len)
{
	char path[128];
	int p[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	buf[0] = '\0';
	if (!find_tool(name, path, sizeof(path)))
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0)
		run_version(path, name, p[1]);
	close(p[1]);
	while (pid > 0 && (size_t)got < len - 1 &&
	       (n = read(p[0], buf + got, len - 1 - (size_t)got)) != 0) {
		if (n < 0 && errno != EINTR)
			break;
		got += n > 0 ? n : 0;
	}
	close(p[0]);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}
