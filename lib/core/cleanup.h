/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Cleanup attributes (crun utils.h, bubblewrap utils.h, systemd alloc-util.h). */
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void cl_freep(void *p)
{
	free(*(void **)p);
}

static inline void cl_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd); /* Linux closes the fd even on EINTR: never retry */
		errno = saved;
	}
	*fd = -1;
}

static inline void cl_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}

#define _cleanup_free_ _cleanup_(cl_freep)
#define _cleanup_close_ _cleanup_(cl_closep)
#define _cleanup_fclose_ _cleanup_(cl_fclosep)

/* CL_DEFINE_CLEANUP(type, fn) defines fn##p(type *) calling fn(*p) when non-NULL. */
#define CL_DEFINE_CLEANUP(type, fn)                                                                \
	static inline void fn##p(type *p)                                                          \
	{                                                                                          \
		if (*p)                                                                            \
			fn(*p);                                                                    \
	}

/* Hand ownership out of a cleanup variable (bubblewrap steal_pointer). */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

#define CL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
