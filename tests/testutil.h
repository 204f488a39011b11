/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the C tests: a log sink that captures messages,
 * temporary directories, writing files with a given mode and owner. */
#ifndef CB_TESTUTIL_H
#define CB_TESTUTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct captured_log {
	char text[16384];
	size_t len;
};

static inline void capture_sink(void *arg, int priority, const char *msg)
{
	struct captured_log *c = arg;
	int n;

	(void)priority;
	n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s\n", msg);
	if (n > 0 && c->len + (size_t)n < sizeof(c->text))
		c->len += (size_t)n;
}

static inline struct cb_log capture_log(struct captured_log *c)
{
	struct cb_log l = {capture_sink, c, true};

	memset(c, 0, sizeof(*c));
	return l;
}

/* mkdtemp under /tmp; aborts the test binary on failure */
static inline char *test_tmpdir(void)
{
	char *d = strdup("/tmp/cbtest.XXXXXX");

	if (d == NULL || mkdtemp(d) == NULL)
		abort();
	return d;
}

/* write text to dir/name with the mode; returns the malloc'd path */
static inline char *test_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = NULL;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	unlink(path);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	if (chmod(path, mode) != 0)
		abort();
	return path;
}

static inline void test_rmtree(const char *dir)
{
	char *cmd = NULL;

	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
	free(cmd);
}

#endif
