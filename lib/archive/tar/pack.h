/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Internal to the packer: pack.c walks the tree and writes the tar on the caller's
 * thread; describe.c runs on the pool's workers and does the per-entry system calls
 * (stat, open, xattrs, readlink, reading small files), a batch of entries at a time.
 * Export of a tree of small files is bound by those calls, and they run in parallel.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <archive_entry.h>

#include "lib/core/cleanup.h"
#include "lib/core/err.h"

CL_DEFINE_CLEANUP(struct archive_entry *, archive_entry_free)

#define PACK_BATCH_ENTRIES 64U		/* entries per batch */
#define PACK_BATCH_BYTES (1024U * 1024) /* files' content read ahead per batch */

struct pack_name {
	char *name;
	unsigned char type; /* d_type, DT_UNKNOWN if the filesystem does not say */
};

/* a directory listed by the walker; the batches of its entries share it */
struct pack_dir {
	int fd;
	bool own_fd;		/* not the caller's */
	unsigned *open_count;	/* the walker's count of open directories (own_fd only) */
	char *prefix;		/* "" for the root, else "a/b/" */
	struct pack_name *ents; /* sorted bytewise by name */
	size_t n;
	unsigned refs; /* the walker and batches in flight; changed on the walker's thread only */
};

enum pack_data {
	PACK_DATA_NONE,	  /* no content (not a regular file, or empty) */
	PACK_DATA_BUF,	  /* the whole content is in the batch buffer at off */
	PACK_DATA_REOPEN, /* large or sparse: the walker reopens it and reads it itself */
};

struct pack_item {
	struct archive_entry *e; /* NULL: nothing to store (a socket) */
	enum pack_data data;
	size_t off;
	bool opaque; /* a directory marked opaque */
};

/* an entry handed to a worker, with a reference on its directory */
struct pack_ent {
	struct pack_dir *dir;
	size_t idx;   /* in dir->ents */
	bool has_sub; /* a directory the walker opened and listed: its inode */
	dev_t sub_dev;
	ino_t sub_ino;
};

/* one ring slot: consecutive entries in walk (= archive) order, across directories */
struct pack_batch {
	size_t n;
	size_t n_done; /* items described; < n only with err */
	struct cl_error *err;
	struct pack_ent ents[PACK_BATCH_ENTRIES];
	struct pack_item items[PACK_BATCH_ENTRIES];
};

struct pack_conf {
	unsigned flags; /* CL_TAR_USERXATTR */
	dev_t dev;	/* the layer's filesystem: no crossing into mounts */
};

/* a worker's own buffers for xattrs (its pool context: made once, not per entry) */
struct pack_scratch {
	char *xlist, *xval;
};

int pack_scratch_new(void *arg, void **wctx, struct cl_error **err);
void pack_scratch_free(void *wctx);

/* worker side: describe the batch's entries, reading small files' content into @buf */
int pack_describe_batch(const struct pack_conf *c, struct pack_scratch *s, struct pack_batch *b,
			unsigned char *buf, size_t cap);

/* free the items' entries and the error (the walker drops the directory references) */
void pack_batch_clear(struct pack_batch *b);

struct archive_entry *pack_new_entry(const char *path, const struct stat *st);

/* an empty regular file: whiteouts and opaque markers */
struct archive_entry *pack_empty_file(const char *path, unsigned perm, uid_t uid, gid_t gid,
				      time_t mtime, long mtime_nsec);

/*
 * open @name in @dfd and check it is still inode @ino of @dev (its stat in *@st).
 * Return: the fd, -EAGAIN if it is another inode now, or -errno.
 */
int pack_open_same(int dfd, const char *name, int flags, dev_t dev, ino_t ino, struct stat *st);
