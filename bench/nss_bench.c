/* SPDX-License-Identifier: BSD-3-Clause */
/* nss_bench SERVICE N ITERS: time getpwnam_r/getpwuid_r through glibc's NSS
 * dispatch for one service (__nss_configure_lookup, as getent -s does),
 * over a database of N accounts named u000000.. with uids 800000.. .
 * Prints one line per measurement: service, operation, ns per call.
 *
 *   first      the first lookup of a fresh process (module load, config,
 *              open + mmap), one call
 *   nam-hit    getpwnam_r of random existing names
 *   nam-miss   getpwnam_r of names not in the database
 *   uid-hit    getpwuid_r of random existing uids
 *   uid-miss   getpwuid_r of uids not in the database
 *   rss-first  resident kB of the database mapping after the first lookup,
 *              and its size (memory per process follows pages touched)
 *   rss-end    the same after every timed lookup (random keys touch every
 *              page of the file: page cache, shared by all processes)
 *
 * N = 1 measures the dispatch floor: the one account "root" (uid 0) of a
 * one-line passwd through the files service.
 *
 * ITERS = 0: the first lookup only, whatever its answer (the floor module
 * libnss_cbfloor.so.2 answers NOTFOUND to everything).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern int __nss_configure_lookup(const char *db, const char *service_line);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static unsigned long rnd_state = 88172645463325252ul;

static unsigned long rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

enum op { NAM_HIT, NAM_MISS, UID_HIT, UID_MISS };

static int one(enum op op, unsigned long n, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char name[32];
	unsigned long i = rnd() % n;
	int rc;

	if (n == 1) { /* the dispatch floor: root of a one-line passwd */
		rc = (op == NAM_HIT || op == NAM_MISS)
			     ? getpwnam_r(op == NAM_HIT ? "root" : "nosuch", &pw, buf, len, &res)
			     : getpwuid_r(op == UID_HIT ? 0 : 4242, &pw, buf, len, &res);
	} else if (op == NAM_HIT || op == NAM_MISS) {
		snprintf(name, sizeof(name), op == NAM_HIT ? "u%06lu" : "x%06lu", i);
		rc = getpwnam_r(name, &pw, buf, len, &res);
	} else {
		rc = getpwuid_r((uid_t)(op == UID_HIT ? 800000 + i : 800000 + n + i), &pw, buf, len,
				&res);
	}
	if (rc != 0 || (res != NULL) != (op == NAM_HIT || op == UID_HIT))
		return -1;
	return 0;
}

static void rss_of_db(const char *service, const char *when)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in_db = 0;
	long size = 0, rss = 0;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping's first line */
			in_db = strstr(line, "accounts.db") != NULL;
		else if (in_db && strncmp(line, "Size:", 5) == 0)
			size += atol(line + 5);
		else if (in_db && strncmp(line, "Rss:", 4) == 0)
			rss += atol(line + 4);
	}
	fclose(f);
	if (size > 0)
		printf("%-10s %-9s %8ld kB resident of %ld kB mapped\n", service, when, rss, size);
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"nam-hit", "nam-miss", "uid-hit", "uid-miss"};
	static char buf[4096];
	unsigned long n, iters;
	double t0, t1;

	if (argc != 4) {
		fputs("usage: nss_bench SERVICE N ITERS\n", stderr);
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	iters = strtoul(argv[3], NULL, 10);
	if (n == 0)
		return 2;
	__nss_configure_lookup("passwd", argv[1]);
	t0 = now_ns();
	if (one(NAM_HIT, n, buf, sizeof(buf)) != 0 && iters > 0) {
		fprintf(stderr, "nss_bench: %s: first lookup failed\n", argv[1]);
		return 1;
	}
	t1 = now_ns();
	printf("%-10s %-9s %10.0f ns\n", argv[1], "first", t1 - t0);
	if (iters == 0)
		return 0;
	rss_of_db(argv[1], "rss-first");
	for (int op = NAM_HIT; op <= UID_MISS; op++) {
		/* warm up, then time */
		for (unsigned long i = 0; i < iters / 10 + 1; i++)
			(void)one((enum op)op, n, buf, sizeof(buf));
		t0 = now_ns();
		for (unsigned long i = 0; i < iters; i++) {
			if (one((enum op)op, n, buf, sizeof(buf)) != 0) {
				fprintf(stderr, "nss_bench: %s: %s: wrong answer\n", argv[1],
					names[op]);
				return 1;
			}
		}
		t1 = now_ns();
		printf("%-10s %-9s %10.1f ns\n", argv[1], names[op], (t1 - t0) / (double)iters);
	}
	rss_of_db(argv[1], "rss-end");
	return 0;
}
