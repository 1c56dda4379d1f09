/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replay a libFuzzer corpus with a plain compiler (crun tests_libcrun_fuzzer.c dual mode):
 * every file named in argv is fed once to LLVMFuzzerTestOneInput(). `make check` uses it
 * so the corpus stays a regression suite without clang.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the whole file in an exact-size buffer, so ASan sees any read past the end */
static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*ret = malloc(len ? len : 1);
	if (!*ret) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(*ret, buf, len);
	free(buf);
	*ret_len = len;
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		uint8_t *data = NULL;
		size_t len = 0;
		int r = read_file(argv[i], &data, &len);

		if (r < 0) {
			fprintf(stderr, "replay: '%s': %s\n", argv[i], strerror(-r));
			return 1;
		}
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		n++;
	}
	printf("replayed %d inputs\n", n);
	return 0;
}
