/* SPDX-License-Identifier: BSD-3-Clause */
/* Secrets after pam_end: a whole PAM transaction in this process (auth with
 * the password against the emulator, account, open and close session,
 * pam_end), then every writable mapping of the process is searched for the
 * password, the client secret, the Basic credential base64(id:secret) and
 * every access and refresh token the emulator issued. The module promises
 * they are wiped (pam_cloudbase(8), SECURITY NOTES); the count of each must
 * be 0. Run by secrets_tests.sh (pam_tests.sh running this binary) under
 * tests/ns-run.
 *
 * The process itself must not hold a copy: the needles live in read-only
 * memory (string literals, and the tokens read into a page that is then
 * made read-only), the emulator is driven from forked children (their
 * memory is not ours), and nothing here initialises libcurl before the
 * module does, as in sshd, sudo, su and login. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "testutil.h"

static const char PASSWORD[] = "Alice-Passw0rd";
static const char CLIENT_SECRET[] = "test-secret"; /* harness_init writes it */
/* base64("test-env:test-secret"): what the Basic header carries */
static const char BASIC[] = "dGVzdC1lbnY6dGVzdC1zZWNyZXQ=";

#define NEEDLE_PAGE (256 * 1024)
#define MAX_NEEDLES 32

struct needle {
	const char *name;
	const char *p; /* in read-only memory */
	size_t len;
	long found;
	char where[1024];
};

static struct needle needles[MAX_NEEDLES];
static size_t n_needles;

static void add_needle(const char *name, const char *p, size_t len)
{
	if (n_needles < MAX_NEEDLES && len >= 8)
		needles[n_needles++] = (struct needle){.name = name, .p = p, .len = len};
}

/* ---- the emulator, from children ------------------------------------------ */

/* Run fn in a forked child writing to fd; its exit status. The child's
 * libcurl and json-c copies are in its own memory. */
static int in_child(void (*fn)(int fd), int fd)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(fd);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void reset_emulator(int fd)
{
	(void)fd;
	if (ctl_call("POST", "/reset", NULL) != 200)
		_exit(1);
}

/* Every token issued since the reset, one per line. */
static void write_tokens(int fd)
{
	struct json_object *o, *list;

	if (ctl_call("GET", "/tokens", NULL) != 200)
		_exit(1);
	o = json_tokener_parse(g.ctl_body);
	if (o == NULL || !json_object_object_get_ex(o, "tokens", &list))
		_exit(1);
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *v;
		static const char *const keys[] = {"access_token", "refresh_token"};

		for (size_t k = 0; k < 2; k++) {
			const char *s;

			if (!json_object_object_get_ex(e, keys[k], &v))
				_exit(1);
			s = json_object_get_string(v);
			if (write(fd, keys[k], strlen(keys[k])) < 0 || write(fd, " ", 1) < 0 ||
			    write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
				_exit(1);
		}
	}
	_exit(0);
}

/* The tokens as needles: read from a child into a page that is then made
 * read-only, so the scan (writable mappings only) never sees these copies. */
static size_t load_token_needles(void)
{
	char *page =
		mmap(NULL, NEEDLE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t len = 0, tokens = 0;
	int p[2];

	assert_true(page != MAP_FAILED);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(in_child(write_tokens, p[1]), 0);
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], page + len, NEEDLE_PAGE - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(mprotect(page, NEEDLE_PAGE, PROT_READ), 0);
	for (const char *line = page; line < page + len;) {
		const char *sp = memchr(line, ' ', (size_t)(page + len - line));
		const char *nl = memchr(line, '\n', (size_t)(page + len - line));

		if (sp == NULL || nl == NULL || sp > nl)
			break;
		add_needle(strncmp(line, "access", 6) == 0 ? "access token" : "refresh token",
			   sp + 1, (size_t)(nl - sp - 1));
		tokens++;
		line = nl + 1;
	}
	return tokens;
}

/* ---- the scan -------------------------------------------------------------- */

#define CHUNK (1024 * 1024)
#define OVERLAP 8192 /* longer than any needle */

static char *scratch; /* its own mapping, left out of the scan */
static unsigned long long scanned; /* bytes read */
static char *maps_text;

static void count_in(const char *buf, size_t len, uintptr_t base, uintptr_t done_below,
		     const char *mapping)
{
	for (size_t i = 0; i < n_needles; i++) {
		struct needle *nd = &needles[i];
		const char *p = buf, *end = buf + len;

		while ((p = memmem(p, (size_t)(end - p), nd->p, nd->len)) != NULL) {
			uintptr_t at = base + (uintptr_t)(p - buf);

			/* a hit inside the overlap was counted with the last chunk */
			if (at >= done_below) {
				size_t l = strlen(nd->where);

				nd->found++;
				snprintf(nd->where + l, sizeof(nd->where) - l, " %#lx(%s)",
					 (unsigned long)at, mapping);
			}
			p++;
		}
	}
}

/* A run of resident pages. */
static void scan_resident(int mem, uintptr_t start, uintptr_t end, const char *mapping)
{
	uintptr_t done = start;

	for (uintptr_t at = start; at < end;) {
		size_t want = end - at > CHUNK + OVERLAP ? CHUNK + OVERLAP : (size_t)(end - at);
		ssize_t n = pread(mem, scratch, want, (off_t)at);

		if (n <= 0)
			return;
		scanned += (unsigned long long)n;
		count_in(scratch, (size_t)n, at, done, mapping);
		done = at + (size_t)n;
		if ((size_t)n < want || at + (size_t)n >= end)
			return;
		at += CHUNK;
	}
}

#define WINDOW_PAGES (256 * 1024)

/* Only the pages in memory (mincore): a page never touched holds nothing,
 * and the sanitizer build reserves terabytes (ASan's shadow and allocator
 * regions) of which a few megabytes are used. A run of resident pages is
 * read whole, so a secret across two pages is found. */
static void scan_mapping(int mem, uintptr_t start, uintptr_t end, const char *mapping)
{
	static unsigned char vec[WINDOW_PAGES];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t run = 0;
	bool in_run = false;

	for (uintptr_t w = start; w < end;) {
		size_t len =
			end - w > WINDOW_PAGES * page ? WINDOW_PAGES * page : (size_t)(end - w);
		size_t pages = (len + page - 1) / page;

		if (mincore((void *)w, len, vec) != 0)
			memset(vec, 1, pages); /* cannot tell: read it */
		for (size_t i = 0; i < pages; i++) {
			uintptr_t at = w + i * page;

			if ((vec[i] & 1) && !in_run) {
				run = at;
				in_run = true;
			} else if (!(vec[i] & 1) && in_run) {
				scan_resident(mem, run, at, mapping);
				in_run = false;
			}
		}
		w += len;
	}
	if (in_run)
		scan_resident(mem, run, end, mapping);
}

/* A mapping less the scan's own buffers (the kernel may merge them with
 * neighbouring anonymous memory). */
static void scan_without(int mem, uintptr_t start, uintptr_t end, const char *mapping)
{
	const uintptr_t skip[2][2] = {
		{(uintptr_t)scratch, (uintptr_t)scratch + CHUNK + OVERLAP},
		{(uintptr_t)maps_text, (uintptr_t)maps_text + NEEDLE_PAGE},
	};

	for (int i = 0; i < 2; i++) {
		if (skip[i][0] < end && skip[i][1] > start) {
			if (skip[i][0] > start)
				scan_without(mem, start, skip[i][0], mapping);
			if (skip[i][1] < end)
				scan_without(mem, skip[i][1], end, mapping);
			return;
		}
	}
	scan_mapping(mem, start, end, mapping);
}

/* Every writable mapping: heap, anonymous memory, thread stacks, the stack,
 * and the data of every library (libcurl, OpenSSL, json-c, libpam). */
static void scan_memory(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	assert_true(fd >= 0 && mem >= 0);
	for (;;) {
		ssize_t n = read(fd, maps_text + len, NEEDLE_PAGE - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	maps_text[len] = '\0';
	close(fd);
	for (char *line = maps_text, *next; line != NULL && *line != '\0'; line = next) {
		unsigned long start, end;
		char perms[8], path[256] = "";

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &start, &end, perms, path) < 3)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w')
			continue;
		scan_without(mem, start, end, path[0] != '\0' ? path : "anon");
	}
	close(mem);
}

/* ---- the transaction ----------------------------------------------------------- */

/* auth with the password; then (full) account, open and close session;
 * pam_end */
static void transaction(bool full)
{
	/* the answer points at PASSWORD (read-only): the only writable copy is
	 * the reply the module takes over and must wipe */
	struct conv answers = {.mode = CONV_SAME, .answers = {PASSWORD}};
	pam_handle_t *pamh = harness_start("cb", "cbalice", &answers, NULL);

	assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
	if (full) {
		assert_int_equal(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
		assert_int_equal(pam_open_session(pamh, 0), PAM_SUCCESS);
		assert_int_equal(pam_close_session(pamh, 0), PAM_SUCCESS);
	}
	assert_int_equal(pam_end(pamh, PAM_SUCCESS), PAM_SUCCESS);
}

static void run_and_scan(bool full)
{
	bool clean = true;

	n_needles = 0;
	assert_int_equal(in_child(reset_emulator, -1), 0);
	remove_accounts();
	add_record("cbalice", "alice", NULL, NULL);
	write_config("");
	write_service("cb", "");
	log_reset();
	transaction(full);
	/* the premises of the promise: the module initialised libcurl (its
	 * allocator wipes) and libcurl's TLS is the OpenSSL the module set
	 * SSL_OP_CLEANSE_PLAINTEXT with */
	assert_no_log("freed without being wiped");
	assert_no_log("not cleansed");
	if (full) {
		assert_log("session: user=cbalice service=cb rhost=- session=");
		/* the newest session is kept for the account checks (its tokens
		 * in the state store, not in this process) */
		assert_log("session kept for account checks");
	}
	add_needle("password", PASSWORD, strlen(PASSWORD));
	add_needle("client secret", CLIENT_SECRET, strlen(CLIENT_SECRET));
	add_needle("base64(client_id:secret)", BASIC, strlen(BASIC));
	/* one sign-in: its access and refresh token */
	assert_int_equal(load_token_needles(), 2);
	scanned = 0;
	scan_memory();
	printf("# %llu KiB of writable memory searched\n", scanned / 1024);
	for (size_t i = 0; i < n_needles; i++) {
		printf("# %-26s %ld%s%s\n", needles[i].name, needles[i].found,
		       needles[i].found ? " at" : "", needles[i].where);
		clean &= needles[i].found == 0;
	}
	assert_true(clean);
}

/* The sign-in alone: its request and answer are the last the module's
 * buffers saw, nothing later overwrote them. */
static void test_after_authentication(void **state)
{
	(void)state;
	run_and_scan(false);
}

/* The whole transaction, the session's revoke included (the access token
 * goes out again, as a Bearer header and in the body). */
static void test_after_whole_transaction(void **state)
{
	(void)state;
	run_and_scan(true);
}

/* The scan's own buffers, mappings of their own that the scan leaves out. */
static int map_scan_buffers(void **state)
{
	(void)state;
	scratch = mmap(NULL, CHUNK + OVERLAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	maps_text =
		mmap(NULL, NEEDLE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return scratch == MAP_FAILED || maps_text == MAP_FAILED ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_after_authentication),
		cmocka_unit_test(test_after_whole_transaction),
	};

	return harness_main("secrets", tests, map_scan_buffers);
}
