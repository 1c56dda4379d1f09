/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A temporary directory for the tests of one file, made by the group setup and removed by
 * its teardown: define TMPDIR_FIXTURE_NAME ("cl-test-x") before including this, then use
 * @base (its path) and @base_fd (open on it) in the tests, and pass tmpdir_setup and
 * tmpdir_teardown to cmocka_run_group_tests() (or call them from the file's own).
 */
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/core/fd-util.h"

#ifndef TMPDIR_FIXTURE_NAME
#error "define TMPDIR_FIXTURE_NAME before including tests/unit/tmpdir-fixture.h"
#endif

static char base[] = "/tmp/" TMPDIR_FIXTURE_NAME ".XXXXXX";
static int base_fd = -1;

static inline int tmpdir_setup(void **state)
{
	(void)state;
	if (!mkdtemp(base))
		return -1;
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return base_fd < 0 ? -1 : 0;
}

static inline int tmpdir_teardown(void **state)
{
	(void)state;
	(void)cl_rm_rf_at(AT_FDCWD, base, NULL);
	if (base_fd >= 0)
		close(base_fd);
	base_fd = -1;
	return 0;
}
