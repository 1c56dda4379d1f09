/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a layer's runtime record and its descriptor (lib/record/record.c),
 * read through the public readers from a private temporary directory, as gc and list
 * read them from the run dir and the store. The input is both <run>/fuzz.json and
 * <store>/containers/fuzz/layer.json. A record that reads must name its id, layer and
 * store, carry no negative pid, and read back the same after cl_record_write().
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/record/record.h"

#define FUZZ_MAX (128 * 1024) /* cap as libmount's fuzz.c does */
#define ID "fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * on a tmpfs where there is one: the descriptor write fsyncs, which on a disk capped this
 * target at ~250 executions a second
 */
static char tmp[] = "/dev/shm/fuzz-record.XXXXXX";
static char run_dir[sizeof(tmp) + 8], again_dir[sizeof(tmp) + 8];
static int store_fd = -1;

static void cleanup(void)
{
	static const char *const files[] = {"run/" ID ".json",
					    "again/" ID ".json",
					    "store/containers/" ID "/layer.json",
					    "store/containers/" ID,
					    "store/containers",
					    "store",
					    "run",
					    "again"};
	char path[sizeof(tmp) + 64];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
		(void)(i < 3 ? unlink(path) : rmdir(path));
	}
	(void)rmdir(tmp);
}

static void setup(void)
{
	char path[sizeof(tmp) + 64];

	if (access("/dev/shm", W_OK) < 0)
		memcpy(tmp, "/tmp/fuzz-record.XXXXXX", sizeof("/tmp/fuzz-record.XXXXXX"));
	if (!mkdtemp(tmp))
		abort();
	atexit(cleanup);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp);
	snprintf(again_dir, sizeof(again_dir), "%s/again", tmp);
	snprintf(path, sizeof(path), "%s/store/containers/" ID, tmp);
	if (mkdir(run_dir, 0700) < 0 || mkdir(again_dir, 0700) < 0)
		abort();
	*strrchr(path, '/') = '\0';
	*strrchr(path, '/') = '\0';
	if (mkdir(path, 0700) < 0)
		abort();
	store_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (store_fd < 0 || mkdirat(store_fd, "containers", 0700) < 0 ||
	    mkdirat(store_fd, "containers/" ID, 0700) < 0)
		abort();
}

static void put(int dfd, const char *path, const uint8_t *data, size_t size)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n <= 0)
			abort();
		data += n;
		size -= (size_t)n;
	}
	close(fd);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* cl_record_write() then cl_record_read() gives back every field */
static void round_trip(const struct cl_record *rec)
{
	struct cl_record b = {};

	if (cl_record_write(again_dir, rec, NULL) < 0 ||
	    cl_record_read(again_dir, ID, &b, NULL) < 0)
		abort();
	if (!same_str(rec->id, b.id) || !same_str(rec->base, b.base) ||
	    !same_str(rec->backend, b.backend) || !same_str(rec->keymode, b.keymode) ||
	    !same_str(rec->key_id, b.key_id) || !same_str(rec->store_root, b.store_root) ||
	    !same_str(rec->layer_dir, b.layer_dir) || !same_str(rec->upper, b.upper) ||
	    !same_str(rec->merged, b.merged) || !same_str(rec->owner, b.owner) ||
	    !same_str(rec->owner_dir, b.owner_dir) || !same_str(rec->bundle, b.bundle) ||
	    !same_str(rec->state, b.state) || rec->pid != b.pid || rec->pid_start != b.pid_start ||
	    rec->creator != b.creator || rec->creator_start != b.creator_start)
		abort();
	cl_record_clear(&b);
}

static void check(int r, const struct cl_record *rec, struct cl_error **err)
{
	if (r < 0) {
		if (!*err || (*err)->errnum <= 0 || !(*err)->msg)
			abort(); /* the error contract: set exactly once, with a message */
		cl_error_free(err);
		return;
	}
	if (*err || !rec->id || strcmp(rec->id, ID) || !rec->layer_dir || !rec->store_root)
		abort();
	if (rec->pid < 0 || rec->creator < 0) /* the reader refuses negative numbers */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cl_error *err = NULL;
	struct cl_record rec = {};
	char path[sizeof(run_dir) + 16];
	int r;

	if (size > FUZZ_MAX)
		return 0;
	if (store_fd < 0)
		setup();
	snprintf(path, sizeof(path), "%s/" ID ".json", run_dir);
	put(AT_FDCWD, path, data, size);
	r = cl_record_read(run_dir, ID, &rec, &err);
	check(r, &rec, &err);
	if (r == 0) {
		round_trip(&rec);
		cl_record_clear(&rec);
	}

	put(store_fd, "containers/" ID "/layer.json", data, size);
	r = cl_record_desc_read(store_fd, "/store", "/store/dir", ID, &rec, &err);
	check(r, &rec, &err);
	if (r == 0) {
		if (!rec.keymode || !rec.base || !rec.upper || !rec.state ||
		    strcmp(rec.state, "locked"))
			abort();
		cl_record_clear(&rec);
	}
	return 0;
}
