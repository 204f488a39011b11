/* SPDX-License-Identifier: BSD-3-Clause */
/* Allocation and I/O failure injection, in the manner of pam-u2f's fuzzer.
 *
 * The module's code (lib/ and pam/, linked in statically) is linked with
 * -Wl,--wrap for every allocation, file and PAM call it makes, and for the
 * entry points of libcurl and json-c it calls. Each scenario runs once to
 * count those calls, then once per call N with the Nth call failing, until
 * a run makes fewer than N calls. Limit: allocations made inside libcurl,
 * OpenSSL, json-c and libpam themselves are not failed (only the calls the
 * module makes into them); a wrapped malloc cannot reach them without
 * replacing the process's allocator, which ASan owns.
 *
 * Asserted for every N: no crash; no leak (LeakSanitizer, in the
 * --enable-sanitizers stage); a failure is never turned into a success:
 *  - config: an error, or the same values as without the failure;
 *  - account database read: an error, or the right record;
 *  - account database write: an error or the record added, and in both
 *    cases an intact database (the old one, or the new one whole when the
 *    failure came after the atomic rename);
 *  - answer parsers: an error, or the same tokens;
 *  - pam_authenticate against the emulator, through a shim module
 *    (pam_cbtest_failinject.so) that calls the module code linked here (ignore_unknown_user on, so
 *    a misread lookup would show up as PAM_IGNORE): never PAM_IGNORE, and
 *    PAM_SUCCESS only when the emulator answered this very sign-in with
 *    200 and the password was handed on in PAM_AUTHTOK;
 *  - pam_acct_mgmt after a clean authentication: never a success outside
 *    require_groups; inside, a success only with the login recorded (the
 *    sub bound and the groups stored in the account database).
 * Prints TAP. Run by failinject.sh (pam_tests.sh: the emulator, ns-run). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include "accountdb.h"
#include "state.h"
#include "api.h"
#include "conf.h"
#include "pam/harness.h"
#include "testutil.h"

#define ALICE_PW "Alice-Passw0rd"
#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"

/* ---- the injector -------------------------------------------------------- */

static struct {
	bool armed; /* count (and fail) only inside the code under test */
	long calls; /* wrapped calls so far in this run */
	long fail_at; /* the call to fail, 0 for none */
	bool injected; /* did this run fail a call? */
	char what[32]; /* which one */
} fi;

static bool fail_now(const char *what)
{
	if (!fi.armed)
		return false;
	if (++fi.calls != fi.fail_at)
		return false;
	fi.injected = true;
	snprintf(fi.what, sizeof(fi.what), "%s", what);
	return true;
}

static void arm(long fail_at)
{
	fi.calls = 0;
	fi.fail_at = fail_at;
	fi.injected = false;
	fi.what[0] = '\0';
	fi.armed = true;
}

static void disarm(void)
{
	fi.armed = false;
}

#define WRAP_PTR(ret, name, params, args, err)                                                     \
	ret __real_##name params;                                                                  \
	ret __wrap_##name params;                                                                  \
	ret __wrap_##name params                                                                   \
	{                                                                                          \
		if (fail_now(#name)) {                                                             \
			errno = err;                                                               \
			return NULL;                                                               \
		}                                                                                  \
		return __real_##name args;                                                         \
	}
#define WRAP_INT(ret, name, params, args, err, failval)                                            \
	ret __real_##name params;                                                                  \
	ret __wrap_##name params;                                                                  \
	ret __wrap_##name params                                                                   \
	{                                                                                          \
		if (fail_now(#name)) {                                                             \
			errno = err;                                                               \
			return failval;                                                            \
		}                                                                                  \
		return __real_##name args;                                                         \
	}

WRAP_PTR(void *, malloc, (size_t n), (n), ENOMEM)
WRAP_PTR(void *, calloc, (size_t n, size_t sz), (n, sz), ENOMEM)
WRAP_PTR(void *, realloc, (void *p, size_t n), (p, n), ENOMEM)
WRAP_PTR(char *, strdup, (const char *s), (s), ENOMEM)
WRAP_PTR(char *, strndup, (const char *s, size_t n), (s, n), ENOMEM)
WRAP_PTR(FILE *, fopen, (const char *p, const char *m), (p, m), EMFILE)
WRAP_PTR(DIR *, opendir, (const char *p), (p), EMFILE)
WRAP_INT(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n), EIO, -1)
WRAP_INT(ssize_t, __read_chk, (int fd, void *b, size_t n, size_t bn), (fd, b, n, bn), EIO, -1)
WRAP_INT(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n), ENOSPC, -1)
WRAP_INT(int, fstat, (int fd, struct stat *st), (fd, st), EIO, -1)
WRAP_INT(int, fsync, (int fd), (fd), EIO, -1)
WRAP_INT(int, flock, (int fd, int op), (fd, op), ENOLCK, -1)
WRAP_INT(int, rename, (const char *a, const char *b), (a, b), EIO, -1)
WRAP_INT(int, mkostemp, (char *t, int flags), (t, flags), ENOSPC, -1)
WRAP_INT(int, __open_2, (const char *p, int flags), (p, flags), EMFILE, -1)
WRAP_INT(ssize_t, getdelim, (char **l, size_t *n, int d, FILE *f), (l, n, d, f), ENOMEM, -1)
WRAP_INT(ssize_t, __getdelim, (char **l, size_t *n, int d, FILE *f), (l, n, d, f), ENOMEM, -1)
WRAP_INT(ssize_t, getline, (char **l, size_t *n, FILE *f), (l, n, f), ENOMEM, -1)
WRAP_INT(ssize_t, getrandom, (void *b, size_t n, unsigned flags), (b, n, flags), EIO, -1)
WRAP_INT(int, pam_get_item, (const pam_handle_t *h, int t, const void **i), (h, t, i), 0,
	 PAM_BUF_ERR)
WRAP_INT(int, pam_set_item, (pam_handle_t * h, int t, const void *i), (h, t, i), 0, PAM_BUF_ERR)
WRAP_INT(int, pam_get_user, (pam_handle_t * h, const char **u, const char *p), (h, u, p), 0,
	 PAM_BUF_ERR)
WRAP_INT(int, pam_set_data,
	 (pam_handle_t * h, const char *n, void *d, void (*c)(pam_handle_t *, void *, int)),
	 (h, n, d, c), 0, PAM_BUF_ERR)
WRAP_PTR(CURL *, curl_easy_init, (void), (), ENOMEM)
WRAP_INT(CURLcode, curl_easy_perform, (CURL * c), (c), ENOMEM, CURLE_OUT_OF_MEMORY)
WRAP_PTR(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),
	 ENOMEM)
WRAP_PTR(struct json_tokener *, json_tokener_new_ex, (int depth), (depth), ENOMEM)

void *__real_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	if (fail_now("mmap")) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(a, n, prot, flags, fd, off);
}

int __real_open(const char *p, int flags, ...);
int __wrap_open(const char *p, int flags, ...);
int __wrap_open(const char *p, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (fail_now("open")) {
		errno = EMFILE;
		return -1;
	}
	return __real_open(p, flags, mode);
}

static int fake_vasprintf(char **s, const char *fmt, va_list ap)
{
	if (fail_now("asprintf")) {
		*s = NULL;
		errno = ENOMEM;
		return -1;
	}
	return vasprintf(s, fmt, ap);
}

int __wrap_asprintf(char **s, const char *fmt, ...);
int __wrap_asprintf(char **s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fake_vasprintf(s, fmt, ap);
	va_end(ap);
	return n;
}

int __wrap___asprintf_chk(char **s, int flag, const char *fmt, ...);
int __wrap___asprintf_chk(char **s, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, fmt);
	n = fake_vasprintf(s, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- TAP ---------------------------------------------------------------- */

static int n_tests, n_failed;

static void report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		n_failed++;
}

static char problem[512];

#define PROBLEM(...) snprintf(problem, sizeof(problem), __VA_ARGS__)

/* Run one scenario for N = 1.. . scenario() returns false (with problem
 * set) when its outcome breaks the rules for the run that just ended. */
static void sweep(const char *name, bool (*scenario)(void), long max_runs)
{
	long n, total = 0, injected = 0;
	bool ok = true;

	for (n = 1; n <= max_runs; n++) {
		problem[0] = '\0';
		arm(n);
		if (!scenario()) {
			ok = false;
			printf("# %s: run %ld (failing call %ld, %s): %s\n", name, n, n, fi.what,
			       problem);
		}
		disarm();
		total = fi.calls;
		if (!fi.injected)
			break;
		injected++;
	}
	if (n > max_runs) {
		ok = false;
		printf("# %s: still injecting after %ld runs\n", name, max_runs);
	}
	report(ok, "%s: %ld calls failed one at a time, then a clean run", name, injected);
	(void)total;
}

/* ---- fixtures ----------------------------------------------------------- */

/* the account database as the fixtures wrote it, for the write scenarios */
static char db_orig[600];

static struct cb_log quiet_log = {0};

static bool copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY), out;
	ssize_t n;
	bool ok = true;

	if (in < 0)
		return false;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return false;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			ok = false;
	close(in);
	close(out);
	return ok && n == 0;
}

/* The database as the fixtures wrote it: the base copied back, the delta
 * of earlier runs gone. */
static void restore_db(void)
{
	char delta[700];

	copy_file(db_orig, g.db);
	snprintf(delta, sizeof(delta), "%s.delta", g.db);
	unlink(delta);
}

/* ---- scenario: the config file ------------------------------------------- */

static bool same_config(const struct cb_config *a, const struct cb_config *b)
{
	return strcmp(a->base_url, b->base_url) == 0 && strcmp(a->client_id, b->client_id) == 0 &&
	       strcmp(a->accounts_db, b->accounts_db) == 0 && a->timeout == b->timeout &&
	       a->uid_min == b->uid_min && a->n_require_groups == b->n_require_groups &&
	       a->n_group_map == b->n_group_map && a->ignore_unknown_user == b->ignore_unknown_user;
}

static struct cb_config ref_cfg;

static cb_status load_config(struct cb_config *cfg)
{
	char arg[600];
	const char *argv[] = {arg, "debug"};

	snprintf(arg, sizeof(arg), "conf=%s", g.conf_path);
	cb_config_init(cfg);
	return cb_config_from_args(cfg, 2, argv, 0, &quiet_log);
}

static bool scenario_config(void)
{
	struct cb_config cfg;
	cb_status st = load_config(&cfg);
	bool ok = true;

	if (st == CB_OK && !same_config(&cfg, &ref_cfg)) {
		PROBLEM("loaded, but with other values");
		ok = false;
	}
	if (st == CB_OK && fi.injected && !cfg.debug) {
		PROBLEM("loaded without the debug argument");
		ok = false;
	}
	cb_config_free(&cfg);
	return ok;
}

/* ---- scenario: the account database -------------------------------------- */

static bool scenario_db_read(void)
{
	struct cb_account a = {0};
	cb_status st = cb_accountdb_get(&ref_cfg, "cbalice", &a, &quiet_log);
	bool ok = true;

	if (st == CB_OK &&
	    (a.login == NULL || strcmp(a.login, "alice") != 0 || strcmp(a.name, "cbalice") != 0)) {
		PROBLEM("read a wrong record");
		ok = false;
	}
	if (st != CB_OK && !fi.injected) {
		PROBLEM("clean run failed: %s", cb_status_name(st));
		ok = false;
	}
	cb_account_free(&a);
	return ok;
}

/* An intact database after a write, failed or not: readable, verified,
 * alice still there, and the new account there exactly when added. */
static bool db_intact(bool added)
{
	struct cb_account a = {0};
	cb_status st;
	bool ok = true;

	st = cb_accountdb_get(&ref_cfg, "cbalice", &a, NULL);
	cb_account_free(&a);
	if (st != CB_OK) {
		PROBLEM("database broken after the write: %s", cb_status_name(st));
		return false;
	}
	/* a failure may come after the atomic rename (the directory's fsync):
	 * then the new database is in place, whole */
	st = cb_accountdb_get(&ref_cfg, "cbnew", &a, NULL);
	if (added && st != CB_OK) {
		PROBLEM("write said ok but the record is missing");
		ok = false;
	}
	cb_account_free(&a);
	return ok;
}

static bool scenario_db_write(void)
{
	struct cb_account a = {0};
	cb_status st;
	bool ok;

	disarm();
	restore_db();
	a.name = strdup("cbnew");
	a.login = strdup("newuser");
	arm(fi.fail_at);
	st = cb_accountdb_add(&ref_cfg, &a, NULL, &quiet_log);
	{
		long calls = fi.calls;
		bool injected = fi.injected;
		char what[32];

		memcpy(what, fi.what, sizeof(what));
		disarm();
		cb_account_free(&a);
		ok = db_intact(st == CB_OK);
		if (st != CB_OK && !injected) {
			PROBLEM("clean run failed: %s", cb_status_name(st));
			ok = false;
		}
		/* stay disarmed for the checks, keep the counts of the run */
		fi.calls = calls;
		fi.injected = injected;
		memcpy(fi.what, what, sizeof(what));
	}
	return ok;
}

/* ---- scenario: an answer through check_answer + parse_tokens --------------- */

static const char tokens_body[] =
	"{\"token_type\":\"Bearer\",\"access_token\":\"at-1\",\"refresh_token\":\"rt-1\","
	"\"sub\":\"s-1\",\"expires_in\":7200,\"groups\":[\"admin\",\"ops\",\"dev\"]}";

static bool scenario_parse(void)
{
	struct cb_api_error err;
	struct json_object *obj = NULL;
	struct cb_tokens t;
	cb_status st;
	bool ok = true;

	st = cb_api_check_answer(200, true, tokens_body, strlen(tokens_body), false, &obj, &err);
	if (st == CB_OK) {
		st = cb_api_parse_tokens(obj, &t);
		if (st == CB_OK) {
			if (strcmp(t.access_token, "at-1") != 0 || strcmp(t.sub, "s-1") != 0 ||
			    t.n_groups != 3 || strcmp(t.groups[2], "dev") != 0) {
				PROBLEM("parsed other tokens");
				ok = false;
			}
			cb_tokens_free(&t);
		}
		json_object_put(obj);
	}
	if (st != CB_OK && !fi.injected) {
		PROBLEM("clean run failed: %s", cb_status_name(st));
		ok = false;
	}
	return ok;
}

/* ---- scenario: pam_sm_authenticate against the emulator -------------------- */

/* Did the emulator answer a password sign-in for alice with 200 since the
 * request log was last cleared? */
static bool emulator_signed_in(void)
{
	struct json_object *root, *list, *req, *v, *body, *user;
	bool seen = false;

	if (ctl_call("GET", "/requests", NULL) != 200)
		return false;
	root = json_tokener_parse(g.ctl_body);
	if (root == NULL || !json_object_object_get_ex(root, "requests", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(root);
		return false;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		req = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(req, "path", &v) &&
		    strstr(json_object_get_string(v), "/signin") != NULL &&
		    json_object_object_get_ex(req, "status", &v) && json_object_get_int(v) == 200 &&
		    json_object_object_get_ex(req, "body", &body) &&
		    json_object_object_get_ex(body, "username", &user) &&
		    strcmp(json_object_get_string(user), "alice") == 0)
			seen = true;
	}
	json_object_put(root);
	return seen;
}

/* Called by pam_cbtest_failinject.so, from inside libpam's dispatch. */
int cb_failinject_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv);
static bool authtok_handed_on;
static int module_rc; /* libpam turns a lone PAM_IGNORE into PAM_PERM_DENIED */

int __real_pam_get_item(const pam_handle_t *h, int t, const void **i);

int cb_failinject_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int rc = pam_sm_authenticate(pamh, flags, argc, argv);
	const void *tok = NULL;

	module_rc = rc;

	/* only a module may read PAM_AUTHTOK: look here, past the wrapper */
	authtok_handed_on = __real_pam_get_item(pamh, PAM_AUTHTOK, &tok) == PAM_SUCCESS &&
			    tok != NULL && strcmp(tok, ALICE_PW) == 0;
	return rc;
}

int cb_failinject_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv);
int cb_failinject_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	module_rc = pam_sm_acct_mgmt(pamh, flags, argc, argv);
	return module_rc;
}

/* The state store binds alice to her sub and has her groups and a
 * session: what a successful sign-in leaves. */
static bool signin_recorded(void)
{
	struct cb_state st;
	bool ok = cb_state_load(&ref_cfg, "cbalice", &st, NULL) == CB_OK && st.sub != NULL &&
		  strcmp(st.sub, ALICE_SUB) == 0 && st.n_groups > 0 && st.n_sessions > 0;

	cb_state_free(&st);
	return ok;
}

static bool scenario_pam(void)
{
	struct conv answers = {.mode = CONV_SAME, .answers = {ALICE_PW}};
	const struct pam_conv conv = {harness_conv, &answers};
	pam_handle_t *pamh = NULL;
	long fail_at = fi.fail_at;
	int rc;
	bool ok = true;

	disarm();
	ctl_call("DELETE", "/requests", NULL);
	if (pam_start_confdir("cbfi", "cbalice", &conv, g.confdir, &pamh) != PAM_SUCCESS) {
		PROBLEM("pam_start_confdir failed");
		return false;
	}
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	authtok_handed_on = false;
	module_rc = -1;
	arm(fail_at);
	rc = pam_authenticate(pamh, 0);
	{
		long calls = fi.calls;
		bool injected = fi.injected;
		char what[32];

		memcpy(what, fi.what, sizeof(what));
		disarm();
		if (getenv("FAILINJECT_VERBOSE") != NULL)
			printf("# run %ld: call %s failed: %s\n", fail_at, injected ? what : "none",
			       pam_strerror(pamh, module_rc));
		if (module_rc == PAM_IGNORE || rc == PAM_IGNORE) {
			PROBLEM("PAM_IGNORE for a managed user");
			ok = false;
		} else if ((rc == PAM_SUCCESS) != (module_rc == PAM_SUCCESS)) {
			PROBLEM("the module said %d, pam_authenticate %d", module_rc, rc);
			ok = false;
		} else if (rc == PAM_SUCCESS) {
			if (!emulator_signed_in()) {
				PROBLEM("PAM_SUCCESS without a successful sign-in");
				ok = false;
			} else if (!authtok_handed_on) {
				PROBLEM("PAM_SUCCESS without PAM_AUTHTOK handed on");
				ok = false;
			} else if (!signin_recorded()) {
				PROBLEM("PAM_SUCCESS without the sign-in recorded");
				ok = false;
			}
		} else if (!injected) {
			PROBLEM("clean run failed: %s", pam_strerror(pamh, rc));
			ok = false;
		}
		pam_end(pamh, rc);
		fi.calls = calls;
		fi.injected = injected;
		memcpy(fi.what, what, sizeof(what));
	}
	return ok;
}

/* pam_acct_mgmt after a clean pam_authenticate, in a stack where alice is
 * (member) or is not in require_groups. Not a member: never a success.
 * A member: a success only with the login recorded (the sub bound, the
 * groups stored), since that record is what binds the account. */
static bool acct_scenario(bool member)
{
	struct conv answers = {.mode = CONV_SAME, .answers = {ALICE_PW}};
	const struct pam_conv conv = {harness_conv, &answers};
	pam_handle_t *pamh = NULL;
	long fail_at = fi.fail_at;
	int rc;
	bool ok = true, injected;

	disarm();
	restore_db();
	if (pam_start_confdir(member ? "cbfi" : "cbfi_nogroup", "cbalice", &conv, g.confdir,
			      &pamh) != PAM_SUCCESS) {
		PROBLEM("pam_start_confdir failed");
		return false;
	}
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	if (pam_authenticate(pamh, 0) != PAM_SUCCESS) {
		PROBLEM("the clean authentication failed");
		pam_end(pamh, PAM_SUCCESS);
		return false;
	}
	module_rc = -1;
	arm(fail_at);
	rc = pam_acct_mgmt(pamh, 0);
	{
		long calls = fi.calls;
		char what[32];

		injected = fi.injected;
		memcpy(what, fi.what, sizeof(what));
		disarm();
		if (getenv("FAILINJECT_VERBOSE") != NULL)
			printf("# run %ld: call %s failed: %s\n", fail_at, injected ? what : "none",
			       pam_strerror(pamh, module_rc));
		if (module_rc == PAM_IGNORE || rc == PAM_IGNORE) {
			PROBLEM("PAM_IGNORE for a managed user");
			ok = false;
		} else if ((rc == PAM_SUCCESS) != (module_rc == PAM_SUCCESS)) {
			PROBLEM("the module said %d, pam_acct_mgmt %d", module_rc, rc);
			ok = false;
		} else if (rc == PAM_SUCCESS && !member) {
			PROBLEM("PAM_SUCCESS outside require_groups");
			ok = false;
		} else if (rc == PAM_SUCCESS) {
			if (!signin_recorded()) {
				PROBLEM("PAM_SUCCESS without the login recorded");
				ok = false;
			}
		} else if (!injected && member) {
			PROBLEM("clean run failed: %s", pam_strerror(pamh, rc));
			ok = false;
		}
		pam_end(pamh, rc);
		fi.calls = calls;
		fi.injected = injected;
		memcpy(fi.what, what, sizeof(what));
	}
	return ok;
}

static bool scenario_acct_member(void)
{
	return acct_scenario(true);
}

static bool scenario_acct_not_member(void)
{
	return acct_scenario(false);
}

/* ---- main ---------------------------------------------------------------- */

/* The config, the two services and alice's record; harness_init wrote the
 * client secret. */
static void write_fixtures(void)
{
	const char *so = getenv("FAILINJECT_SO");
	char text[4096];
	struct cb_account a = {0};

	snprintf(db_orig, sizeof(db_orig), "%s.orig", g.db);
	write_config("ignore_unknown_user = yes\n"
		     "group_map = admin:adm\n");
	snprintf(text, sizeof(text), "auth required %s conf=%s\naccount required %s conf=%s\n", so,
		 g.conf_path, so, g.conf_path);
	write_service_text("cbfi", text);
	snprintf(text, sizeof(text),
		 "auth required %s conf=%s require_groups=ops\n"
		 "account required %s conf=%s require_groups=ops\n",
		 so, g.conf_path, so, g.conf_path);
	write_service_text("cbfi_nogroup", text);
	cb_config_init(&ref_cfg);
	if (load_config(&ref_cfg) != CB_OK) {
		printf("Bail out! the reference config does not load\n");
		exit(1);
	}
	a.name = strdup("cbalice");
	a.login = strdup("alice");
	if (cb_accountdb_add(&ref_cfg, &a, NULL, NULL) != CB_OK || !copy_file(g.db, db_orig)) {
		printf("Bail out! cannot write the account database\n");
		exit(1);
	}
	cb_account_free(&a);
}

int main(void)
{
	if (getenv("FAILINJECT_SO") == NULL || !harness_init(false)) {
		fprintf(stderr, "# run through failinject.sh\n");
		return 99;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	write_fixtures();
	printf("1..7\n");
	sweep("config load", scenario_config, 2000);
	sweep("account database read", scenario_db_read, 2000);
	sweep("account database write", scenario_db_write, 5000);
	sweep("check_answer + parse_tokens", scenario_parse, 2000);
	sweep("pam_authenticate", scenario_pam, 5000);
	sweep("pam_acct_mgmt, in require_groups", scenario_acct_member, 5000);
	sweep("pam_acct_mgmt, not in require_groups", scenario_acct_not_member, 5000);
	cb_config_free(&ref_cfg);
	curl_global_cleanup();
	harness_done();
	return n_failed != 0;
}
