/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_start / pam_authenticate or pam_acct_mgmt / pam_end, 1,000 times:
 * libpam dlopen()s the module at every pam_start and dlclose()s it at
 * every pam_end. The module is linked -z nodelete (libcurl and OpenSSL
 * keep atexit handlers), so the unload leaves it mapped and the next load
 * only counts a reference: what this test can see is what one transaction
 * leaves behind. After a warm-up (libcurl, OpenSSL and the resolver
 * allocate once), the open file descriptors must not change and the heap
 * in use (mallinfo2) may grow by at most 64 bytes per transaction on
 * average. The service is unreachable (a closed port) so each login fails
 * fast, through the whole client: config, account database, curl handle.
 *
 * Prints TAP. Usage: test_loadunload [ITERATIONS] (default 1000); run as
 * root (the config must be root-owned). Under ASan or valgrind mallinfo2
 * tells nothing: the heap check is left to their leak checks at exit
 * (loadunload_valgrind.sh runs this under memcheck). */
#include "config.h"

#include <dirent.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "harness.h"
#include "testutil.h"

static int n_tests, n_failed;

static void report(bool ok, const char *what)
{
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ++n_tests, what);
	if (!ok)
		n_failed++;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* A TCP port on loopback that refuses connections: bound, never listened. */
static int closed_port(int *keep)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	*keep = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*keep < 0 || bind(*keep, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(*keep, (struct sockaddr *)&a, &len) != 0)
		return -1;
	return ntohs(a.sin_port);
}

/* One transaction; returns the PAM code of the middle call. */
static int transaction(const char *confdir, int i)
{
	struct conv answers = {.mode = CONV_SAME, .answers = {"some-password"}};
	const struct pam_conv conv = {harness_conv, &answers};
	pam_handle_t *pamh = NULL;
	int rc;

	if (pam_start_confdir("cbload", "cbalice", &conv, confdir, &pamh) != PAM_SUCCESS)
		return -1;
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	rc = i % 2 == 0 ? pam_authenticate(pamh, 0) : pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

int main(int argc, char **argv)
{
	const char *so = getenv("PAM_CLOUDBASE_SO");
	int iterations = argc > 1 ? atoi(argv[1]) : 1000;
	int warmup = iterations / 10, keep, port, fds0 = 0, fds1, bad = 0;
	size_t heap0 = 0, heap1;
	char *dir, *p, text[2048], confdir[600];
	bool asan = getenv("CB_SAN_PRELOAD") != NULL;

	if (so == NULL) {
		fprintf(stderr, "# run through make check\n");
		return 99;
	}
	port = closed_port(&keep);
	dir = test_tmpdir();
	p = test_write(dir, "secret", "test-secret\n", 0600);
	free(p);
	snprintf(text, sizeof(text),
		 "base_url = https://127.0.0.1:%d/auth/v1\n"
		 "client_id = test-env\n"
		 "client_secret_file = %s/secret\n"
		 "accounts_db = %s/accounts.db\n"
		 "connect_timeout = 2\n"
		 "timeout = 5\n",
		 port, dir, dir);
	p = test_write(dir, "cloudbase.conf", text, 0644);
	snprintf(text, sizeof(text), "auth required %s conf=%s\naccount required %s conf=%s\n", so,
		 p, so, p);
	free(p);
	snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	mkdir(confdir, 0755);
	p = test_write(confdir, "cbload", text, 0644);
	free(p);
	/* cbalice: a managed account, so every login goes to the network */
	snprintf(text, sizeof(text), "%s/tests/nss/mkdb %s/accounts.db",
		 getenv("top_builddir") != NULL ? getenv("top_builddir") : ".", dir);
	{
		FILE *f = popen(text, "w");

		if (f == NULL || fputs("cbalice 700001 alice\n", f) < 0 || pclose(f) != 0) {
			printf("Bail out! cannot write the account database\n");
			return 1;
		}
	}

	for (int i = 0; i < iterations; i++) {
		int rc = transaction(confdir, i);

		/* the service cannot be asked: the service's answer class; the
		 * account phase without an authentication: never a success */
		if (i % 2 == 0 ? rc != PAM_AUTHINFO_UNAVAIL : rc == PAM_SUCCESS || rc == PAM_IGNORE)
			bad++;
		if (i + 1 == warmup) {
			fds0 = count_fds();
			heap0 = heap_in_use();
		}
	}
	fds1 = count_fds();
	heap1 = heap_in_use();
	printf("# %d transactions; open fds %d -> %d; heap %zu -> %zu bytes\n", iterations, fds0,
	       fds1, heap0, heap1);
	report(bad == 0, "every authentication PAM_AUTHINFO_UNAVAIL, every account check a denial");
	report(fds0 > 0 && fds1 == fds0, "no file descriptor left open");
	/* under ASan or valgrind their leak checks at exit take its place */
	if (asan || heap0 == 0)
		printf("# heap growth not measured: not glibc's allocator\n");
	else
		report(heap1 <= heap0 + (size_t)(iterations - warmup) * 64,
		       "heap growth below 64 bytes per transaction");
	printf("1..%d\n", n_tests);
	close(keep);
	test_rmtree(dir);
	free(dir);
	return n_failed != 0;
}
