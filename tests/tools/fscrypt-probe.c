/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only probe, independent of the product code (raw ioctls, like fscryptctl, which
 * Debian 12 does not package):
 *   fscrypt-probe policy DIR            -> "v2 <key identifier hex>" or "none"
 *   fscrypt-probe key-status KEYID DIR  -> "present", "absent", "incompletely-removed"
 *   fscrypt-probe remove-key KEYID DIR  -> removes the key (a reboot, for gc tests)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fscrypt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int policy(const char *dir)
{
	struct fscrypt_get_policy_ex_arg arg = {.policy_size = sizeof(arg.policy)};
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) < 0) {
		if (errno == ENODATA) {
			puts("none");
			return 0;
		}
		perror(dir);
		return 1;
	}
	if (arg.policy.version != FSCRYPT_POLICY_V2) {
		printf("v%d\n", arg.policy.version);
		return 0;
	}
	printf("v2 ");
	for (int i = 0; i < FSCRYPT_KEY_IDENTIFIER_SIZE; i++)
		printf("%02x", arg.policy.v2.master_key_identifier[i]);
	printf(" contents=%d filenames=%d flags=%d\n", arg.policy.v2.contents_encryption_mode,
	       arg.policy.v2.filenames_encryption_mode, arg.policy.v2.flags);
	return 0;
}

static int parse_id(const char *hex, struct fscrypt_key_specifier *spec)
{
	spec->type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	if (strlen(hex) != 32)
		return -1;
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		spec->u.identifier[i] = (unsigned char)v;
	}
	return 0;
}

static int remove_key(const char *hex, const char *dir)
{
	struct fscrypt_remove_key_arg arg = {0};
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (parse_id(hex, &arg.key_spec) < 0)
		return 2;
	if (fd < 0 || ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &arg) < 0) {
		perror(dir);
		return 1;
	}
	return 0;
}

static int key_status(const char *hex, const char *dir)
{
	struct fscrypt_get_key_status_arg arg = {0};
	static const char *names[] = {"?", "absent", "present", "incompletely-removed"};
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (parse_id(hex, &arg.key_spec) < 0)
		return 2;
	if (fd < 0 || ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &arg) < 0) {
		perror(dir);
		return 1;
	}
	puts(arg.status < 4 ? names[arg.status] : "?");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "policy"))
		return policy(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "key-status"))
		return key_status(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "remove-key"))
		return remove_key(argv[2], argv[3]);
	fprintf(stderr, "usage: fscrypt-probe policy DIR | key-status|remove-key KEYID DIR\n");
	return 2;
}
