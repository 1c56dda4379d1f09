/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cryptlayer/cli.h"
#include "lib/core/cleanup.h"
#include "lib/core/fd-util.h"
#include "lib/crypto/recipient.h"

static void keygen_usage(void)
{
	fputs("Usage:\n"
	      " cryptlayer keygen -o KEY [--type x25519|rsa|ec]\n"
	      "\n"
	      "Generate an identity for 'cryptlayer decrypt -i KEY' and 'import -i KEY'\n"
	      "(PKCS#8 PEM, mode 0600, never overwritten) and its recipient KEY.pub (PEM) for\n"
	      "'cryptlayer encrypt -r KEY.pub' and 'export -r KEY.pub'.\n"
	      "\n"
	      "Options:\n"
	      " -o, --output KEY     where to write the identity; KEY.pub gets the recipient\n"
	      " -t, --type TYPE      x25519 (default; the .clx format), rsa (RSA-3072: .clx\n"
	      "                        and OCI) or ec (EC P-256: OCI, what 'skopeo copy\n"
	      "                        --encryption-key jwe:KEY.pub' and 'export --format oci'\n"
	      "                        use)\n"
	      " -h, --help           display this help\n"
	      "\n"
	      "RSA public keys of at least 3072 bits (PEM) also work as .clx recipients; for\n"
	      "--format oci, RSA of at least 2048 bits and EC P-256, P-384 and P-521.\n"
	      "Exit status: 0 ok, 1 failure, 2 usage error.\n",
	      stdout);
}

/* O_EXCL: an existing identity is never replaced */
static int create_excl(const char *path, mode_t mode, struct cl_error **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return cl_error_set(err, errno, "create '%s'", path);
	if (fchmod(fd, mode) < 0) { /* umask 077 would hide the public half */
		int e = errno;

		close(fd);
		return cl_error_set(err, e, "chmod '%s'", path);
	}
	return fd;
}

static int write_synced(int fd, const void *buf, size_t len, const char *path,
			struct cl_error **err)
{
	int r = cl_write_all(fd, buf, len);

	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0)
		return cl_error_set(err, -r, "write '%s'", path);
	return 0;
}

static int keygen_write(const char *key, const char *pub, const char *type, struct cl_error **err)
{
	_cleanup_(cl_identity_freep) struct cl_identity *id = NULL;
	_cleanup_secret_ struct cl_secret *priv = NULL;
	_cleanup_free_ char *pub_pem = NULL;
	_cleanup_close_ int kfd = -1, pfd = -1;
	size_t priv_len = 0;
	int r;

	if (cl_identity_generate_type(type, &id, err) < 0 ||
	    cl_identity_to_pem(id, &priv, &priv_len, &pub_pem, err) < 0)
		return -EIO;
	kfd = create_excl(key, 0600, err);
	if (kfd < 0)
		return kfd;
	pfd = create_excl(pub, 0644, err);
	if (pfd < 0) {
		unlink(key);
		return pfd;
	}
	r = write_synced(kfd, priv->data, priv_len, key, err);
	if (r == 0)
		r = write_synced(pfd, pub_pem, strlen(pub_pem), pub, err);
	if (r < 0) {
		unlink(key);
		unlink(pub);
	}
	return r;
}

int cl_cmd_keygen(const struct cl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"type", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	_cleanup_free_ char *pub = NULL;
	struct cl_error *err = NULL;
	const char *key = NULL, *type = "x25519";
	int c;

	if (cl_cli_want_help(argc, argv)) {
		keygen_usage();
		return CL_EXIT_OK;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:t:h", opts, NULL)) != -1) {
		if (c == ':')
			return cl_cli_usage("keygen", "option '%s' requires an argument",
					    argv[optind - 1]);
		if (c == 't' && strcmp(optarg, "x25519") && strcmp(optarg, "rsa") &&
		    strcmp(optarg, "ec"))
			return cl_cli_usage("keygen", "--type must be x25519, rsa or ec, not '%s'",
					    optarg);
		if (c != 'o' && c != 't')
			return cl_cli_usage("keygen", "unknown option '%s'", argv[optind - 1]);
		if (c == 'o')
			key = optarg;
		else
			type = optarg;
	}
	if (optind < argc)
		return cl_cli_usage("keygen", "unexpected argument '%s'", argv[optind]);
	if (!key || !key[0] || !strcmp(key, "-"))
		return cl_cli_usage("keygen", "-o KEY is required (a file, not stdout)");
	if (asprintf(&pub, "%s.pub", key) < 0)
		return CL_EXIT_FAIL;
	if (cl_cli_sandbox(g, CL_SANDBOX_KEYGEN, &err) < 0 ||
	    keygen_write(key, pub, type, &err) < 0)
		return cl_cli_fail(&err, "keygen");
	return CL_EXIT_OK;
}
