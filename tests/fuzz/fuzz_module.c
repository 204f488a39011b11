/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness of the whole module: PAM transactions through real
 * libpam (pam_start_confdir, a private pam.d, cloudbase.conf, account
 * database and state store in a temporary directory), where every answer
 * of the conversation and every answer of the service comes from the
 * input. The service is fake_http.c, linked instead of lib/http.c (as
 * pam-u2f's fuzz_auth fakes its device layer); nothing leaves the process.
 *
 * How the module is loaded. libpam dlopen()s a module by path, and the
 * module's code is linked into this program instead: libpam loads
 * fuzz_module_shim.so, six forwarders with no sanitizer, which call
 * fuzz_module_entry here, which calls the module's pam_sm_* (pam/,
 * linked in with ASan, UBSan and coverage). A fuzz build of
 * pam_cloudbase.so itself would need the sanitizer and libFuzzer runtimes
 * to resolve into a dlopen()ed object and its coverage counters to be
 * registered after libFuzzer has started; linked in, the module's code is
 * instrumented like any other, its globals persist across inputs like a
 * -z nodelete module's, and the fake transport and the oracles below see
 * one copy of everything. The shim also gives the stacks an earlier module
 * (argument fuzz_prelude) that sets PAM_AUTHTOK for use_first_pass and
 * try_first_pass.
 *
 * Waits: the fake transport answers at once, so the decoy waits of
 * pam/otp.c (a round trip's length) are about zero, and the files of pam/
 * are built with -Dnanosleep=fuzz_nanosleep: a wait is checked against the
 * module's cap (3 s) and returns at once. The failure delay goes to a
 * PAM_FAIL_DELAY function that does nothing. An input is then about a
 * millisecond per operation, most of it the stores' file I/O; with offline
 * login on, each yescrypt hash (offline_hash_cost = 1) adds about 2 ms.
 *
 * Invariants (abort() on a violation):
 *  1. pam_sm_authenticate returns PAM_SUCCESS only
 *     a. online: the last /signin of the call (password or verification
 *        token) was answered 2xx with application/json, and the sub of
 *        that answer (json-c's reading) is the sub bound to the user before
 *        the call, or the user was unbound and is now bound to it; or
 *     b. offline, when all of these hold: offline_login is on; the call
 *        made at least one /signin and every one met an outage ("the
 *        service was unreachable": a transport failure other than TLS or
 *        memory, a timeout, an answer the transport refused, a status of
 *        5xx, 1xx or 3xx, an answer not declared JSON, or the service's
 *        error "internal" or "unavailable"; any other answer declared JSON
 *        is the service speaking, whatever its body); the method allows it
 *        (password, the menu's password; password+sms/email only with
 *        offline_second_factor = skip; never a code alone); the password of
 *        the last /signin is the model's cached password of the user (below)
 *        and fewer than offline_max_failures wrong passwords were checked
 *        offline against it; the call sent nothing but its sign-ins; the
 *        user is bound; and, unless PAM_SILENT, the offline message went
 *        out as PAM_TEXT_INFO. That message is shown in no other call.
 *     The model of the cached password, per user and from what the service
 *     said alone: an online pam_authenticate success with offline_login on
 *     caches the password of its last 2xx /signin with a password (a code
 *     sign-in keeps what was cached), with it off drops it; a successful
 *     password change caches the new password (PATCH /user/password's
 *     new_password; off: drops it). Dropped too on the service's
 *     "user_blocked" to any sign-in (a /signin, or the sending or checking
 *     of a code in pam_authenticate), its "wrong password" (any error the
 *     contract reads as one) to a /signin with the cached password, and a
 *     live check of the account phase that refuses the account (its
 *     refresh grant or /user/me answering a refusal, another sub or a
 *     status other than ACTIVE). A wrong password checked offline counts
 *     one failure; caching resets the count. After every operation the
 *     state records must agree: a verifier (yescrypt) exactly where the
 *     model caches a password, the model's count of failures, and, when
 *     the model has just cached one, a verifier of that password.
 *  2. pam_sm_authenticate and pam_sm_acct_mgmt never return PAM_IGNORE for
 *     a managed user (ignore_unknown_user or not). pam_sm_acct_mgmt returns
 *     PAM_SUCCESS only after a successful authentication of that user in
 *     the same transaction, or with acct_without_auth for a user who has
 *     signed in on this host before; after an offline sign-in kept in the
 *     transaction it sends nothing.
 *  3. No secret in a log line (syslog, captured here) nor in anything the
 *     conversation shows: no password or code the conversation gave, no
 *     token, verification id or refresh token the service handed out, not
 *     the client secret. Every generated secret holds the marker STEM, which
 *     cannot come from anywhere else (the input's own copies are altered
 *     before use); codes are watched for as a run of exactly their six
 *     digits that appears in no answer of the service. No password in
 *     clear in the stores (state records, account database, their
 *     temporary files), scanned after every transaction for the marker of
 *     the passwords the fuzzer makes (PW_MARK; the input's own strings may
 *     be anything, so they are not looked for).
 *  4. A name the module refuses (a local account with a record, no record,
 *     an invalid name) never succeeds in auth, account or password, sends
 *     no request, and gets no state record; a bound sub never changes;
 *     pam_sm_close_session never fails; pam_chauthtok succeeds only after
 *     the service took the new password (PATCH /user/password 2xx) on a
 *     sign-in of the bound sub; /signin is only ever asked for the
 *     record's CloudBase login; no wait is longer than 3 s.
 *
 * Input format: five header bytes, then items.
 *   byte 0  the method: methods[] (modulo its length)
 *   byte 1  bit 0 ignore_unknown_user as a module argument (decided before
 *           the configuration is read), bit 1 ignore_unknown_user in
 *           cloudbase.conf, bit 2 use_first_pass, bit 3 try_first_pass,
 *           bit 4 acct_without_auth, bit 5 sms_prompt_phone, bit 6
 *           otp_echo, bit 7 debug
 *   byte 2  bits 0-2 the PAM user: users[] (modulo); bits 3-5 the service
 *           name: services[] (modulo); bit 6 require_groups = admin;
 *           bit 7 group_map = admin:sudo
 *   byte 3  bits 0-2 otp_retries 1 + (value % 5); bits 3-4
 *           account_check_interval: intervals[]; bits 5-6
 *           account_offline_grace: graces[]
 *   byte 4  bit 0 offline_login (at the start), bit 1
 *           offline_second_factor = skip, bits 2-3 offline_max_failures
 *           1 + value; offline_hash_cost is always 1
 * Each item is TAG LEN_LO LEN_HI PAYLOAD (a shorter tail is taken as it
 * is); TAG % 4 says which queue the payload joins, in order:
 *   0  operations, one byte each, at most MAX_OPS in all; bits 0-2:
 *      0 pam_authenticate, 1 pam_acct_mgmt, 2 pam_setcred, 3
 *      pam_open_session, 4 pam_close_session, 5 pam_chauthtok, 6 a new
 *      transaction (pam_end, pam_start) for users[bits 4-6], with bit 7
 *      offline_login turned over first (an administrator's change), 7
 *      PAM_USER set to users[bits 4-6] in this one; bit 3 PAM_SILENT.
 *   1  an answer of the conversation, for the next prompt: byte 0 % 7 is
 *      0 a new password: STEM "-pw-N-" and the rest; 1 a code: the rest
 *      (its digits are watched for); 2 the rest as it is; 3 the
 *      conversation fails; 4 a NULL reply; 5 no reply array; 6 a password
 *      made before again (the last MAX_PWS are kept): byte 1 counts back
 *      from the newest, none the newest (a new password retyped, the
 *      cached one typed again). None left: the conversation fails.
 *   2  an answer of the service, for the next request: byte 0 % 4 is 0 or
 *      3 an answer with Content-Type application/json, 1 one without, 2 a
 *      transport failure (byte 1: failures[]); byte 1 picks the status
 *      (statuses[]); the rest is the body, where $A, $R, $I, $V, $T and $S
 *      become a fresh access token, refresh token, id token, verification
 *      id, verification token and sudo token (each holding STEM) where
 *      they open the value of a member lib/api.c keeps secret
 *      ("refresh_token":"$R"; elsewhere the service says them in clear and
 *      they hold no STEM), $B the PAM user's sub (the bound one, or the
 *      one an unbound user will get) and $O another person's. None left:
 *      the service cannot be reached (CB_ERR_TRANSPORT).
 *   3  what an earlier module left in PAM_AUTHTOK, taken at each
 *      pam_authenticate (and two, PAM_OLDAUTHTOK then PAM_AUTHTOK, at the
 *      update pass of pam_chauthtok): byte 0 % 4 is 0 a new password as
 *      above, 1 the rest as it is, 2 nothing, 3 a password made before
 *      (byte 1 as for the conversation).
 * tests/fuzz/module_seeds.py writes the seeds in corpus/module/ and shows
 * the format in use.
 *
 * Build and run: tests/fuzz/run_fuzz.sh BUILDDIR [SECONDS] module (as
 * root: the module's stores are root's). */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sanitizer/common_interface_defs.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include "accountdb.h"
#include "api.h"
#include "conf.h"
#include "fake_http.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_module_entry(int which, pam_handle_t *pamh, int flags, int argc, const char **argv);
int fuzz_nanosleep(const struct timespec *req, struct timespec *rem);
void __syslog_chk(int pri, int flag, const char *fmt, ...);
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

/* Which pam_sm_* was called (fuzz_module_shim.c has the same list). */
enum { SHIM_AUTH, SHIM_SETCRED, SHIM_ACCT, SHIM_OPEN, SHIM_CLOSE, SHIM_CHAUTHTOK, SHIM_N };

/* In every secret the fuzzer makes, and nowhere else. */
#define STEM "ZQ8W"
#define PRELUDE_ARG "fuzz_prelude"
#define MAX_OPS 16
#define MAX_ITEMS 64
#define MAX_CODES 64
#define HDR_LEN 5
/* pam/otp.c MAX_PAD_MS: the decoy never waits longer per step */
#define MAX_WAIT_MS 3000
/* the passwords the fuzzer made, newest last: what an answer may repeat */
#define MAX_PWS 16
/* in every password the fuzzer makes (make_secret), in no token */
#define PW_MARK STEM "-pw-"
/* pam/offline.c MSG_OFFLINE: an offline sign-in says so */
#define MSG_OFFLINE                                                                                \
	"The CloudBase service cannot be reached: signed in with the password cached on this "     \
	"host."

static const char *const methods[] = {
	"password",	      "sms",	      "email",		"password+sms",
	"password+email",     "password|sms", "password|email", "sms|email",
	"password|sms|email",
};
static const char *const services[] = {"sshd", "sudo", "su", "login", "cbfuzz"};
static const unsigned intervals[] = {0, 60, 3600, 86400};
static const unsigned graces[] = {0, 60, 86400, 2592000};
static const long statuses[] = {200, 201, 204, 299, 302, 400, 401, 403,
				404, 409, 429, 500, 503, 100, 199, 600};
static const cb_status failures[] = {CB_ERR_TRANSPORT, CB_ERR_TIMEOUT, CB_ERR_TLS, CB_ERR_PROTOCOL,
				     CB_ERR_NOMEM};

struct user {
	const char *name;
	bool managed; /* the module signs this name in (a record, not local) */
	bool record; /* in the account database */
	bool valid; /* a name a local account can have (names.h) */
	const char *login, *phone, *email;
	const char *bound; /* the sub bound at the start, or NULL */
	const char *sub; /* what $B gives */
};

static const struct user users[] = {
	{"fzalice", true, true, true, "alice", "+86 13800000001", "alice@example.com", "S-ALICE",
	 "S-ALICE"},
	/* unbound; the login is a phone number (the SMS contact) */
	{"fzbob", true, true, true, "+86 13800000002", NULL, NULL, NULL, "S-BOB"},
	/* the login is an address (the e-mail contact); no phone */
	{"fzcarol", true, true, true, "carol@example.com", NULL, NULL, "S-CAROL", "S-CAROL"},
	/* a local account (/etc/passwd) with a record: refused */
	{"root", false, true, true, "root-cloud", "+86 13800000009", "root@example.com", "S-ROOT",
	 "S-ROOT"},
	{"fzmallory", false, false, true, NULL, NULL, NULL, NULL, "S-MALLORY"},
	{"fz bad", false, false, false, NULL, NULL, NULL, NULL, "S-BAD"},
	/* a second local account of alice's CloudBase account: her sign-in as
	 * fzalice must not count for it */
	{"fzdave", true, true, true, "alice", NULL, NULL, "S-ALICE", "S-ALICE"},
};
#define N_USERS (sizeof(users) / sizeof(users[0]))

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct span {
	const uint8_t *p;
	size_t n;
};

struct queue {
	struct span it[MAX_ITEMS];
	size_t n, next;
};

struct text {
	char *s;
	size_t len, cap;
};

/* The state store of every user. */
struct snapshot {
	char *sub[N_USERS];
	int64_t last_login[N_USERS]; /* 0: never signed in on this host */
	bool exists[N_USERS];
	char *verifier[N_USERS]; /* offline login's, or NULL */
	uint32_t failures[N_USERS]; /* wrong offline passwords on it */
};

/* What one operation saw. */
struct op_seen {
	int rc[SHIM_N]; /* the module's own return codes; -1: not called */
	bool silent; /* PAM_SILENT */
	unsigned requests;
	bool signin_seen, signin_2xx;
	char *signin_sub; /* json-c's reading of the last 2xx /signin answer */
	bool patch_2xx; /* PATCH /user/password taken */
	/* offline login */
	unsigned signins, signins_unreachable; /* /signin exchanges, and those unreachable */
	char *pw_2xx; /* the password of the last 2xx JSON /signin with one */
	char *new_pw; /* new_password of the last PATCH /user/password taken */
	bool offline_checked; /* the last /signin was unreachable: checked offline */
	bool offline_allowed; /* ... and the model lets that password in */
	bool offline_info; /* MSG_OFFLINE shown */
	bool cache_set; /* the model cached a password */
};

/* The model of a user's cached password (offline login): what the state
 * record's verifier must hold, from what the service said alone. */
struct cached {
	char *pw; /* the password, or NULL: no verifier */
	unsigned failures; /* wrong passwords checked offline against it */
};

static struct {
	/* fixture paths */
	char dir[128], confdir[160], conf[160], secret[160], live[160], db[192], shim[4096];
	struct cb_config cfg; /* for reading the stores */
	char *service_text, *conf_text; /* as last written */
	/* the input */
	uint8_t *buf;
	size_t len;
	uint8_t hdr[HDR_LEN];
	uint8_t ops[MAX_OPS];
	size_t n_ops;
	struct queue conv, svc, authtok;
	/* the transaction */
	pam_handle_t *pamh;
	size_t user; /* the PAM user */
	unsigned authed; /* users with a successful pam_sm_authenticate in it */
	size_t kept; /* whose sign-in the handle keeps (pam_set_data); N_USERS: none */
	bool kept_offline; /* ... and it was an offline one */
	int phase; /* the pam_sm_* running (SHIM_*), or -1 */
	bool offline_on; /* offline_login in cloudbase.conf now */
	bool live_token_ok; /* a live check's refresh was taken: /user/me is its next step */
	struct cached cache[N_USERS];
	/* what this input has shown */
	unsigned counter;
	struct text log, shown, public_text, body;
	char codes[MAX_CODES][7];
	size_t n_codes;
	char *pws[MAX_PWS]; /* every password made (make_secret "pw"), newest last */
	size_t n_pws;
	struct op_seen op;
	struct snapshot stores; /* as the last operation left them */
	bool verbose; /* FUZZ_MODULE_VERBOSE: what happens, on stderr */
} fz;

static void cleanup(void);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_module: invariant broken: " __VA_ARGS__);            \
			fprintf(stderr, "\n--- log of this input:\n%s--- shown:\n%s",              \
				fz.log.s != NULL ? fz.log.s : "",                                  \
				fz.shown.s != NULL ? fz.shown.s : "");                             \
			cleanup();                                                                 \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void die(const char *what)
{
	fprintf(stderr, "fuzz_module: %s: %s\n", what, strerror(errno));
	cleanup();
	abort();
}

/* ---- growing text ------------------------------------------------------- */

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 2 > t->cap) {
		size_t cap = t->cap != 0 ? t->cap : 4096;
		char *p;

		while (cap < t->len + n + 2)
			cap *= 2;
		p = realloc(t->s, cap);
		if (p == NULL)
			die("realloc");
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_line(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
	text_add(t, "\n", 1);
}

/* Text anyone may see (an answer of the service, an answer typed in
 * clear), kept to excuse a code's digits found there too; a NUL in it
 * would hide the rest from strstr. */
static void text_public(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		text_add(&fz.public_text, s[i] != '\0' ? &s[i] : " ", 1);
	text_add(&fz.public_text, "\n", 1);
}

static void text_clear(struct text *t)
{
	t->len = 0;
	if (t->s != NULL)
		t->s[0] = '\0';
}

/* ---- syslog, as libpam's pam_syslog calls it ------------------------------ */

static void capture(const char *fmt, va_list ap)
{
	char line[4096];

	vsnprintf(line, sizeof(line), fmt, ap);
	text_line(&fz.log, line);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)pri;
	(void)flag;
	capture(fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	(void)flag;
	va_start(ap, fmt);
	capture(fmt, ap);
	va_end(ap);
}

void vsyslog(int pri, const char *fmt, va_list ap)
{
	(void)pri;
	capture(fmt, ap);
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	(void)pri;
	va_start(ap, fmt);
	capture(fmt, ap);
	va_end(ap);
}

void openlog(const char *ident, int option, int facility)
{
	(void)ident;
	(void)option;
	(void)facility;
}

void closelog(void)
{
}

/* ---- the module's waits --------------------------------------------------- */

int fuzz_nanosleep(const struct timespec *req, struct timespec *rem)
{
	long ms = (long)req->tv_sec * 1000 + req->tv_nsec / 1000000;

	CHECK(req->tv_sec >= 0 && ms <= MAX_WAIT_MS, "a wait of %ld ms", ms);
	if (rem != NULL)
		memset(rem, 0, sizeof(*rem));
	return 0;
}

static void no_delay(int retval, unsigned usec, void *arg)
{
	(void)retval;
	(void)usec;
	(void)arg;
}

/* ---- secrets ------------------------------------------------------------- */

/* STEM "-kind-N-" and the input's bytes (up to a NUL). */
static char *make_secret(const char *kind, const uint8_t *p, size_t n)
{
	struct text t = {0};
	char head[48];
	size_t raw = strnlen((const char *)p, n);

	snprintf(head, sizeof(head), STEM "-%s-%u-", kind, ++fz.counter);
	text_add(&t, head, strlen(head));
	text_add(&t, (const char *)p, raw);
	return t.s;
}

static char *raw_string(const uint8_t *p, size_t n)
{
	return strndup((const char *)p, n);
}

/* A new password (make_secret), remembered for a later answer to repeat. */
static char *new_password(const uint8_t *p, size_t n)
{
	char *pw = make_secret("pw", p, n);

	if (fz.n_pws == MAX_PWS) {
		free(fz.pws[0]);
		memmove(fz.pws, fz.pws + 1, (MAX_PWS - 1) * sizeof(fz.pws[0]));
		fz.n_pws--;
	}
	fz.pws[fz.n_pws] = strdup(pw);
	if (fz.pws[fz.n_pws] == NULL)
		die("strdup");
	fz.n_pws++;
	return pw;
}

/* A password made before: p[0] counts back from the newest (none: the
 * newest); "" when there is none. */
static char *old_password(const uint8_t *p, size_t n)
{
	size_t back = n > 0 && fz.n_pws > 0 ? p[0] % fz.n_pws : 0;

	return strdup(fz.n_pws > 0 ? fz.pws[fz.n_pws - 1 - back] : "");
}

/* A code as pam/otp.c reads it: spaces dropped, exactly six digits. */
static void watch_code(const char *answer)
{
	char code[7];
	size_t n = 0;

	for (const char *s = answer; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t')
			continue;
		if (*s < '0' || *s > '9' || n == 6)
			return;
		code[n++] = *s;
	}
	if (n != 6 || fz.n_codes == MAX_CODES)
		return;
	code[6] = '\0';
	memcpy(fz.codes[fz.n_codes++], code, sizeof(code));
}

/* Does text hold code as a run of exactly its digits? */
static bool has_run(const char *text, const char *code)
{
	size_t n = strlen(code);

	if (text == NULL)
		return false;
	for (const char *p = strstr(text, code); p != NULL; p = strstr(p + 1, code)) {
		bool before = p > text && p[-1] >= '0' && p[-1] <= '9';
		bool after = p[n] >= '0' && p[n] <= '9';

		if (!before && !after)
			return true;
	}
	return false;
}

static void check_secrets(void)
{
	const char *hit;

	hit = fz.log.s != NULL ? strstr(fz.log.s, STEM) : NULL;
	CHECK(hit == NULL, "a secret in a log line: %.80s", hit);
	hit = fz.shown.s != NULL ? strstr(fz.shown.s, STEM) : NULL;
	CHECK(hit == NULL, "a secret shown by the conversation: %.80s", hit);
	for (size_t i = 0; i < fz.n_codes; i++) {
		/* the service may have said the same digits itself */
		if (has_run(fz.public_text.s, fz.codes[i]))
			continue;
		CHECK(!has_run(fz.log.s, fz.codes[i]), "the code %s in a log line", fz.codes[i]);
		CHECK(!has_run(fz.shown.s, fz.codes[i]), "the code %s shown", fz.codes[i]);
	}
}

/* ---- the conversation ----------------------------------------------------- */

static bool pop(struct queue *q, struct span *out)
{
	if (q->next >= q->n)
		return false;
	*out = q->it[q->next++];
	return true;
}

static void free_replies(struct pam_response *r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r;

	(void)arg;
	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;
		struct span a;

		text_line(&fz.shown, msg[i]->msg != NULL ? msg[i]->msg : "(null)");
		if (style == PAM_TEXT_INFO && msg[i]->msg != NULL &&
		    strcmp(msg[i]->msg, MSG_OFFLINE) == 0)
			fz.op.offline_info = true;
		if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON)
			continue;
		if (!pop(&fz.conv, &a) || a.n == 0) {
			free_replies(r, n);
			return PAM_CONV_ERR;
		}
		switch (a.p[0] % 7) {
		case 0:
			r[i].resp = new_password(a.p + 1, a.n - 1);
			break;
		case 6:
			r[i].resp = old_password(a.p + 1, a.n - 1);
			break;
		case 1:
			r[i].resp = raw_string(a.p + 1, a.n - 1);
			if (r[i].resp != NULL)
				watch_code(r[i].resp);
			break;
		case 2:
			r[i].resp = raw_string(a.p + 1, a.n - 1);
			/* not watched: it may be anything, a phone number too */
			if (r[i].resp != NULL)
				text_public(r[i].resp, strlen(r[i].resp));
			break;
		case 3:
			free_replies(r, n);
			return PAM_CONV_ERR;
		case 4:
			break;
		default:
			free_replies(r, n);
			return PAM_SUCCESS;
		}
		if (fz.verbose)
			fprintf(stderr, "  conv %s -> %s\n", msg[i]->msg,
				r[i].resp != NULL ? r[i].resp : "(null)");
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* ---- the service ----------------------------------------------------------- */

/* The members whose values lib/api.c keeps secret (its secret_keys). */
static const char *const secret_keys[] = {
	"access_token",	      "refresh_token",	 "id_token",
	"verification_token", "verification_id", "sudo_token",
};

/* Does the body so far end with the start of a secret member's value,
 * ["{" | ","] "KEY":" ? A placeholder anywhere else (the sub, an error
 * description, a key) is the service saying it in clear: the module may
 * log those, so they get a value without STEM. */
static bool at_secret_value(void)
{
	for (size_t i = 0; i < N(secret_keys); i++) {
		char want[40];
		size_t n = (size_t)snprintf(want, sizeof(want), "\"%s\":\"", secret_keys[i]);

		if (fz.body.len > n && memcmp(fz.body.s + fz.body.len - n, want, n) == 0 &&
		    strchr("{, \t\r\n", fz.body.s[fz.body.len - n - 1]) != NULL)
			return true;
	}
	return false;
}

static void add_generated(char what)
{
	static const struct {
		char letter;
		const char *kind;
	} kinds[] = {{'A', "at"},  {'R', "rt"}, {'I', "it"},
		     {'V', "vid"}, {'T', "vt"}, {'S', "sudo"}};
	char v[64] = "";

	if (what == 'B')
		snprintf(v, sizeof(v), "%s", users[fz.user].sub);
	else if (what == 'O')
		snprintf(v, sizeof(v), "S-OTHER");
	else if (!at_secret_value())
		snprintf(v, sizeof(v), "public-%c", what);
	else
		for (size_t i = 0; i < N(kinds); i++)
			if (kinds[i].letter == what)
				snprintf(v, sizeof(v), STEM "-%s-%u", kinds[i].kind, ++fz.counter);
	text_add(&fz.body, v, strlen(v));
}

static bool svc_answer(void *arg, const struct cb_http_request *req, struct fake_answer *out)
{
	struct span a;

	(void)arg;
	(void)req;
	if (!pop(&fz.svc, &a) || a.n == 0)
		return false;
	if (a.p[0] % 4 == 2) {
		out->fail = failures[(a.n > 1 ? a.p[1] : 0) % N(failures)];
		return true;
	}
	out->fail = CB_OK;
	out->json = a.p[0] % 4 != 1;
	out->status = statuses[(a.n > 1 ? a.p[1] : 0) % N(statuses)];
	text_clear(&fz.body);
	text_add(&fz.body, "", 0);
	for (size_t i = 2; i < a.n; i++) {
		if (a.p[i] == '$' && i + 1 < a.n && strchr("ARIVTSBO", a.p[i + 1]) != NULL &&
		    a.p[i + 1] != '\0') {
			add_generated((char)a.p[i + 1]);
			i++;
			continue;
		}
		text_add(&fz.body, (const char *)&a.p[i], 1);
	}
	out->body = fz.body.s;
	out->len = fz.body.len;
	return true;
}

/* The sub of an answer as json-c reads it on its own (no strict mode):
 * what any other reader of the same text would take. */
static char *sub_of(const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o, *v;
	char *sub = NULL;

	if (tok == NULL)
		die("json_tokener_new");
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL && json_object_object_get_ex(o, "sub", &v) &&
	    json_object_is_type(v, json_type_string))
		sub = strdup(json_object_get_string(v));
	json_object_put(o);
	json_tokener_free(tok);
	return sub;
}

static const char *body_string(const struct cb_http_request *req, const char *key, char *out,
			       size_t outsz)
{
	struct json_object *o, *v;
	const char *r = NULL;

	if (req->body == NULL)
		return NULL;
	o = json_tokener_parse(req->body);
	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string)) {
		snprintf(out, outsz, "%s", json_object_get_string(v));
		r = out;
	}
	json_object_put(o);
	return r;
}

/* ---- offline login: the model ------------------------------------------- */

/* What an answer says, as lib/api.c reads an answer (its error table is the
 * contract's): CB_OK without an error; *obj (when asked for) the object of
 * a good one, err the error. */
static cb_status said(const struct cb_http_response *resp, struct json_object **obj,
		      struct cb_api_error *err)
{
	struct json_object *o = NULL;
	struct cb_api_error e;
	cb_status st = cb_api_check_answer(resp->status, resp->json, resp->body, resp->len, false,
					   &o, err != NULL ? err : &e);

	if (obj != NULL)
		*obj = o;
	else
		json_object_put(o);
	return st;
}

/* Was the service unreachable in this exchange, as offline login takes the
 * word: no answer (no connection, a timeout, an answer the transport
 * refused), a status that is no answer of the service (5xx, 1xx, a
 * redirect), an answer not declared JSON (a captive portal's page), or the
 * service's own word for its trouble ("internal", "unavailable"). Not a TLS
 * failure; not any other answer declared JSON with a status of 200-299 or
 * 400-499, whatever its body: the service spoke, and what it said, or
 * that it cannot be read, is its decision. */
static bool unreachable(const struct cb_http_response *resp, cb_status st)
{
	if (resp == NULL)
		return st == CB_ERR_TRANSPORT || st == CB_ERR_TIMEOUT || st == CB_ERR_PROTOCOL;
	if (resp->status < 200 || resp->status >= 500 ||
	    (resp->status >= 300 && resp->status < 400) || !resp->json)
		return true;
	return said(resp, NULL, NULL) == CB_ERR_SERVICE;
}

/* May the method sign in offline: a password alone, or with a second
 * factor only with offline_second_factor = skip; never a code alone. */
static bool offline_method(void)
{
	const char *m = methods[fz.hdr[0] % N(methods)];

	if (strcmp(m, "password+sms") == 0 || strcmp(m, "password+email") == 0)
		return (fz.hdr[4] & 0x02) != 0;
	return strstr(m, "password") != NULL;
}

static unsigned max_failures(void)
{
	return 1u + ((fz.hdr[4] >> 2) & 3u);
}

static void forget_cached(size_t user, const char *why)
{
	struct cached *c = &fz.cache[user];

	if (c->pw != NULL && fz.verbose)
		fprintf(stderr, "  model: %s's cached password goes: %s\n", users[user].name, why);
	free(c->pw);
	c->pw = NULL;
	c->failures = 0;
}

static void set_cached(size_t user, const char *pw, const char *why)
{
	struct cached *c = &fz.cache[user];

	free(c->pw);
	c->pw = strdup(pw);
	c->failures = 0;
	if (c->pw == NULL)
		die("strdup");
	fz.op.cache_set = true;
	if (fz.verbose)
		fprintf(stderr, "  model: %s's cached password set: %s\n", users[user].name, why);
}

/* A /signin: the service's word on a password, and the offline check the
 * module makes when it was unreachable. */
static void seen_signin(const char *pw, const struct cb_http_response *resp, cb_status st,
			bool ok2xx)
{
	struct cached *c = &fz.cache[fz.user];
	bool unreach = unreachable(resp, st);
	cb_status word = resp != NULL && !unreach ? said(resp, NULL, NULL) : st;

	fz.op.signins++;
	fz.op.signins_unreachable += unreach ? 1u : 0u;
	fz.op.offline_checked = false;
	if (ok2xx && pw != NULL) {
		free(fz.op.pw_2xx);
		fz.op.pw_2xx = strdup(pw);
		if (fz.op.pw_2xx == NULL)
			die("strdup");
	}
	/* the removals: "blocked", for any sign-in (pam_authenticate's or a
	 * password change's); "wrong password" for the very password cached
	 * (changed at CloudBase) */
	if (resp != NULL && !unreach && word == CB_ERR_USER_BLOCKED)
		forget_cached(fz.user, "the service said blocked");
	if (resp != NULL && !unreach && word == CB_ERR_AUTH && pw != NULL && c->pw != NULL &&
	    strcmp(pw, c->pw) == 0)
		forget_cached(fz.user, "the service refused the cached password");
	/* the module checks the password offline when this sign-in, and every
	 * one before it in the call, met the outage */
	if (fz.phase != SHIM_AUTH || pw == NULL || fz.op.signins_unreachable != fz.op.signins ||
	    !fz.offline_on || !offline_method())
		return;
	fz.op.offline_checked = true;
	fz.op.offline_allowed = false;
	if (c->pw == NULL || c->failures >= max_failures())
		return;
	fz.op.offline_allowed = strcmp(pw, c->pw) == 0;
	if (!fz.op.offline_allowed)
		c->failures++;
}

/* The service's refusal of the account in a live check (pam/account.c
 * decided_against: these and the sub or status of /user/me). */
static bool refuses(cb_status st, const struct cb_api_error *err, bool basic)
{
	/* on the sign-in family "unauthenticated" refuses the client */
	if (basic && st == CB_ERR_TOKEN && strcmp(err->error, "unauthenticated") == 0)
		return false;
	return st == CB_ERR_TOKEN || st == CB_ERR_USER_BLOCKED || st == CB_ERR_USER_PENDING ||
	       st == CB_ERR_USER_UNKNOWN || st == CB_ERR_AUTH;
}

/* The account phase without a sign-in kept in the handle checks the
 * account live: POST /token (the refresh grant), then GET /user/me. A
 * refusal removes the cached password. */
static void seen_live_check(const struct cb_http_request *req, const struct cb_http_response *resp)
{
	const char *bound = fz.stores.sub[fz.user];
	bool token = strcmp(req->path, "/token") == 0;
	struct json_object *obj = NULL;
	struct cb_api_error err;
	cb_status word;

	if (!token && (strcmp(req->path, "/user/me") != 0 || !fz.live_token_ok))
		return;
	fz.live_token_ok = false;
	if (resp == NULL)
		return;
	word = said(resp, &obj, &err);
	if (word != CB_OK) {
		if (refuses(word, &err, token))
			forget_cached(fz.user, "a live check refused the account");
	} else if (token) {
		struct cb_tokens t;

		fz.live_token_ok = cb_api_parse_tokens(obj, &t) == CB_OK;
		cb_tokens_free(&t);
	} else {
		struct cb_user me;

		if (cb_api_parse_user(obj, &me) == CB_OK &&
		    (bound == NULL || strcmp(me.sub, bound) != 0 ||
		     (me.status != NULL && strcmp(me.status, "ACTIVE") != 0)))
			forget_cached(fz.user, "a live check refused the account");
		cb_user_free(&me);
	}
	json_object_put(obj);
}

static void svc_seen(void *arg, const struct cb_http_request *req,
		     const struct cb_http_response *resp, cb_status st)
{
	bool ok2xx = resp != NULL && resp->status >= 200 && resp->status < 300 && resp->json;
	char username[512], password[4200];

	(void)arg;
	(void)st;
	fz.op.requests++;
	CHECK(strstr(req->path, STEM) == NULL, "a secret in a URL: %s", req->path);
	CHECK(req->auth != CB_HTTP_AUTH_BEARER || (req->bearer != NULL && req->bearer[0] != '\0'),
	      "%s without its bearer token", req->path);
	if (resp != NULL)
		text_public(resp->body, resp->len);
	if (strcmp(req->path, "/signin") == 0) {
		const char *u = body_string(req, "username", username, sizeof(username));

		CHECK(u == NULL || (users[fz.user].login != NULL &&
				    strcmp(u, users[fz.user].login) == 0),
		      "/signin as %s for %s", u, users[fz.user].name);
		free(fz.op.signin_sub);
		fz.op.signin_sub = ok2xx ? sub_of(resp->body, resp->len) : NULL;
		fz.op.signin_seen = true;
		fz.op.signin_2xx = ok2xx;
		seen_signin(body_string(req, "password", password, sizeof(password)), resp, st,
			    ok2xx);
	} else if (fz.phase == SHIM_ACCT && fz.kept != fz.user) {
		seen_live_check(req, resp);
	} else if (fz.phase == SHIM_AUTH && strncmp(req->path, "/verification", 13) == 0 &&
		   resp != NULL && !unreachable(resp, st) &&
		   said(resp, NULL, NULL) == CB_ERR_USER_BLOCKED) {
		/* the other steps of a code sign-in: sending the code, checking it */
		forget_cached(fz.user, "the service said blocked");
	}
	if (req->method == CB_HTTP_PATCH && strcmp(req->path, "/user/password") == 0 &&
	    resp != NULL && resp->status >= 200 && resp->status < 300) {
		fz.op.patch_2xx = true;
		free(fz.op.new_pw);
		fz.op.new_pw = NULL;
		if (body_string(req, "new_password", password, sizeof(password)) != NULL &&
		    (fz.op.new_pw = strdup(password)) == NULL)
			die("strdup");
	}
}

static void svc_opened(void *arg, const char *client_id, const char *client_secret)
{
	(void)arg;
	CHECK(strcmp(client_id, "cbfuzz") == 0 && strcmp(client_secret, STEM "-client") == 0,
	      "the client credential is not the configured one");
}

/* ---- the module, called by libpam through the shim ------------------------ */

static int prelude(int which, pam_handle_t *pamh, int flags)
{
	int items[2] = {PAM_AUTHTOK, 0}, n = 1;

	if (which == SHIM_CHAUTHTOK) {
		if (!(flags & PAM_UPDATE_AUTHTOK))
			return PAM_IGNORE;
		items[0] = PAM_OLDAUTHTOK;
		items[1] = PAM_AUTHTOK;
		n = 2;
	} else if (which != SHIM_AUTH) {
		return PAM_IGNORE;
	}
	for (int i = 0; i < n; i++) {
		struct span a;
		char *v = NULL;

		if (!pop(&fz.authtok, &a) || a.n == 0)
			continue;
		if (a.p[0] % 4 == 0)
			v = new_password(a.p + 1, a.n - 1);
		else if (a.p[0] % 4 == 1)
			v = raw_string(a.p + 1, a.n - 1);
		else if (a.p[0] % 4 == 3)
			v = old_password(a.p + 1, a.n - 1);
		if (v != NULL && pam_set_item(pamh, items[i], v) != PAM_SUCCESS)
			die("pam_set_item");
		free(v);
	}
	return PAM_IGNORE;
}

int fuzz_module_entry(int which, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int rc;

	if (argc == 1 && strcmp(argv[0], PRELUDE_ARG) == 0)
		return prelude(which, pamh, flags);
	fz.phase = which;
	switch (which) {
	case SHIM_AUTH:
		rc = pam_sm_authenticate(pamh, flags, argc, argv);
		break;
	case SHIM_SETCRED:
		rc = pam_sm_setcred(pamh, flags, argc, argv);
		break;
	case SHIM_ACCT:
		rc = pam_sm_acct_mgmt(pamh, flags, argc, argv);
		break;
	case SHIM_OPEN:
		rc = pam_sm_open_session(pamh, flags, argc, argv);
		break;
	case SHIM_CLOSE:
		rc = pam_sm_close_session(pamh, flags, argc, argv);
		break;
	case SHIM_CHAUTHTOK:
		rc = pam_sm_chauthtok(pamh, flags, argc, argv);
		break;
	default:
		abort();
	}
	fz.phase = -1;
	fz.op.rc[which] = rc;
	return rc;
}

/* ---- the fixture ----------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fchmod(fd, mode) != 0 ||
	    close(fd) != 0)
		die(path);
}

/* Write path only when its text changed since the last input. */
static void write_if_changed(char **last, const char *path, const char *text)
{
	if (*last != NULL && strcmp(*last, text) == 0)
		return;
	write_file(path, text, 0644);
	free(*last);
	*last = strdup(text);
	if (*last == NULL)
		die("strdup");
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT)
		die(path);
	return 0;
}

static void rmtree(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		die(dir);
}

/* The temporary directory goes at exit, on a broken invariant and on a
 * sanitizer's report (libFuzzer saves the input elsewhere). */
static void cleanup(void)
{
	char dir[sizeof(fz.dir)];

	if (fz.dir[0] == '\0')
		return;
	memcpy(dir, fz.dir, sizeof(dir));
	fz.dir[0] = '\0'; /* once, even when rmtree itself fails */
	rmtree(dir);
}

static cb_status bind_edit(struct cb_state *st, void *arg, bool *write)
{
	free(st->sub);
	st->sub = strdup(arg);
	*write = true;
	return st->sub != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* The account database and the state store as every input starts them. */
static void reset_stores(void)
{
	struct cb_account a[N_USERS];
	size_t n = 0;

	rmtree(fz.live);
	if (mkdir(fz.live, 0755) != 0)
		die(fz.live);
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < N_USERS; i++) {
		char home[64];

		if (!users[i].record)
			continue;
		snprintf(home, sizeof(home), "/home/%s", users[i].name);
		a[n].name = (char *)(uintptr_t)users[i].name;
		a[n].uid = a[n].gid = 2000001 + (uint32_t)i;
		a[n].home = strdup(home);
		a[n].shell = (char *)(uintptr_t) "/bin/sh";
		a[n].login = (char *)(uintptr_t)users[i].login;
		a[n].phone = (char *)(uintptr_t)users[i].phone;
		a[n].email = (char *)(uintptr_t)users[i].email;
		n++;
	}
	if (cb_accountdb_write_file(fz.db, a, n, NULL) != CB_OK)
		die("the account database");
	for (size_t i = 0; i < n; i++)
		free(a[i].home);
	for (size_t i = 0; i < N_USERS; i++)
		if (users[i].bound != NULL && users[i].managed &&
		    cb_state_update(&fz.cfg, users[i].name, bind_edit,
				    (void *)(uintptr_t)users[i].bound, NULL) != CB_OK)
			die("the state store");
}

/* The module's arguments and configuration of this input. */
static void write_config(void)
{
	struct text t = {0};
	char line[512];
	const char *args;
	uint8_t f = fz.hdr[1], g = fz.hdr[2], h = fz.hdr[3], o = fz.hdr[4];

	snprintf(line, sizeof(line),
		 "base_url = https://cbfuzz.invalid/auth/v1\nclient_id = cbfuzz\n"
		 "client_secret_file = %s\naccounts_db = %s\nmethod = %s\notp_retries = %u\n"
		 "account_check_interval = %u\naccount_offline_grace = %u\n",
		 fz.secret, fz.db, methods[fz.hdr[0] % N(methods)], 1u + (h & 7u) % 5u,
		 intervals[(h >> 3) & 3u], graces[(h >> 5) & 3u]);
	text_add(&t, line, strlen(line));
	if (f & 0x02)
		text_line(&t, "ignore_unknown_user = yes");
	if (f & 0x10)
		text_line(&t, "acct_without_auth = yes");
	if (f & 0x20)
		text_line(&t, "sms_prompt_phone = yes");
	if (f & 0x40)
		text_line(&t, "otp_echo = yes");
	if (f & 0x80)
		text_line(&t, "debug = yes");
	if (g & 0x40)
		text_line(&t, "require_groups = admin");
	if (g & 0x80)
		text_line(&t, "group_map = admin:sudo");
	/* yescrypt's cheapest cost (about 2 ms a hash): offline login hashes
	 * at every online password sign-in and every offline check */
	snprintf(line, sizeof(line),
		 "offline_login = %s\noffline_max_failures = %u\n"
		 "offline_hash_cost = 1\n",
		 fz.offline_on ? "yes" : "no", max_failures());
	text_add(&t, line, strlen(line));
	if (o & 0x02)
		text_line(&t, "offline_second_factor = skip");
	write_if_changed(&fz.conf_text, fz.conf, t.s);
	free(t.s);

	snprintf(line, sizeof(line), "%s%s%s", (f & 0x01) ? " ignore_unknown_user" : "",
		 (f & 0x04) ? " use_first_pass" : "", (f & 0x08) ? " try_first_pass" : "");
	args = line;
	{
		char svc[4096], path[256];
		const char *name = services[(g >> 3) % N(services)];

		snprintf(svc, sizeof(svc),
			 "auth     optional %1$s " PRELUDE_ARG "\n"
			 "auth     required %1$s conf=%2$s%3$s\n"
			 "account  required %1$s conf=%2$s%3$s\n"
			 "password optional %1$s " PRELUDE_ARG "\n"
			 "password required %1$s conf=%2$s%3$s\n"
			 "session  required %1$s conf=%2$s%3$s\n",
			 fz.shim, fz.conf, args);
		snprintf(path, sizeof(path), "%s/%s", fz.confdir, name);
		/* one service file per name: its text changes with the arguments */
		if (access(path, F_OK) != 0 || fz.service_text == NULL ||
		    strcmp(fz.service_text, svc) != 0) {
			for (size_t i = 0; i < N(services); i++) {
				char p[256];

				snprintf(p, sizeof(p), "%s/%s", fz.confdir, services[i]);
				write_file(p, svc, 0644);
			}
			free(fz.service_text);
			fz.service_text = strdup(svc);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	const char *shim = getenv("FUZZ_MODULE_SHIM");
	struct fake_hooks hooks = {svc_answer, svc_seen, svc_opened, NULL};
	char self[4096];
	ssize_t n;

	(void)argc;
	(void)argv;
	fz.verbose = getenv("FUZZ_MODULE_VERBOSE") != NULL;
	if (geteuid() != 0) {
		fprintf(stderr, "fuzz_module: run as root: the module's stores are root's\n");
		exit(1);
	}
	if (shim == NULL) {
		/* beside this program, where run_fuzz.sh builds it */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			die("/proc/self/exe");
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(fz.shim, sizeof(fz.shim), "%s/fuzz_module_shim.so", self);
	} else {
		snprintf(fz.shim, sizeof(fz.shim), "%s", shim);
	}
	if (access(fz.shim, R_OK) != 0)
		die(fz.shim);
	snprintf(fz.dir, sizeof(fz.dir), "%s/cbfuzz.XXXXXX", base);
	if (mkdtemp(fz.dir) == NULL)
		die("mkdtemp");
	atexit(cleanup);
	__sanitizer_set_death_callback(cleanup);
	snprintf(fz.confdir, sizeof(fz.confdir), "%s/pam.d", fz.dir);
	snprintf(fz.conf, sizeof(fz.conf), "%s/cloudbase.conf", fz.dir);
	snprintf(fz.secret, sizeof(fz.secret), "%s/secret", fz.dir);
	snprintf(fz.live, sizeof(fz.live), "%s/live", fz.dir);
	snprintf(fz.db, sizeof(fz.db), "%s/accounts.db", fz.live);
	if (mkdir(fz.confdir, 0755) != 0)
		die(fz.confdir);
	snprintf(self, sizeof(self), "%s/other", fz.confdir);
	write_file(self, "auth required pam_deny.so\naccount required pam_deny.so\n", 0644);
	write_file(fz.secret, STEM "-client\n", 0600);
	cb_config_init(&fz.cfg);
	fz.cfg.accounts_db = strdup(fz.db);
	fake_http_set_hooks(&hooks);
	return 0;
}

/* ---- the input ------------------------------------------------------------- */

/* The input's own copies of STEM are altered: only the fuzzer's secrets
 * hold it. */
static void neutralise(uint8_t *p, size_t n)
{
	size_t k = strlen(STEM);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, STEM, k) == 0)
			p[i + k - 1] = (uint8_t)'w';
}

static void parse_input(const uint8_t *data, size_t size)
{
	size_t pos = HDR_LEN;

	fz.buf = malloc(size);
	if (fz.buf == NULL)
		die("malloc");
	memcpy(fz.buf, data, size);
	neutralise(fz.buf, size);
	fz.len = size;
	memcpy(fz.hdr, fz.buf, HDR_LEN);
	fz.n_ops = 0;
	memset(&fz.conv, 0, sizeof(fz.conv));
	memset(&fz.svc, 0, sizeof(fz.svc));
	memset(&fz.authtok, 0, sizeof(fz.authtok));
	while (pos < size) {
		uint8_t tag = fz.buf[pos];
		size_t len = pos + 1 < size ? fz.buf[pos + 1] : 0;
		struct queue *q;

		if (pos + 2 < size)
			len |= (size_t)fz.buf[pos + 2] << 8;
		pos += 3;
		if (pos > size)
			pos = size;
		if (len > size - pos)
			len = size - pos;
		if (tag % 4 == 0) {
			for (size_t i = 0; i < len && fz.n_ops < MAX_OPS; i++)
				fz.ops[fz.n_ops++] = fz.buf[pos + i];
		} else {
			q = tag % 4 == 1 ? &fz.conv : tag % 4 == 2 ? &fz.svc : &fz.authtok;
			if (q->n < MAX_ITEMS)
				q->it[q->n++] = (struct span){fz.buf + pos, len};
		}
		pos += len;
	}
}

/* ---- one operation and its invariants ------------------------------------- */

static int scan_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	char buf[65536];
	ssize_t n;
	int fd;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		die(path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		die(path);
	CHECK(sb->st_size <= (off_t)sizeof(buf), "%s has %lld bytes", path, (long long)sb->st_size);
	CHECK(memmem(buf, (size_t)n, PW_MARK, strlen(PW_MARK)) == NULL, "a password in clear in %s",
	      path);
	return 0;
}

/* No password in clear in the stores (the state records, the account
 * database, their temporary files): every password the fuzzer made holds
 * PW_MARK, which no other secret holds and a yescrypt hash cannot. */
static void scan_stores(void)
{
	if (fz.n_pws > 0 && nftw(fz.live, scan_entry, 16, FTW_PHYS) != 0)
		die(fz.live);
}

static void take_snapshot(struct snapshot *s)
{
	for (size_t i = 0; i < N_USERS; i++) {
		struct cb_state st;
		cb_status rc;

		s->sub[i] = NULL;
		s->last_login[i] = 0;
		s->exists[i] = false;
		s->verifier[i] = NULL;
		s->failures[i] = 0;
		if (!users[i].valid)
			continue; /* not a name the store takes */
		rc = cb_state_load(&fz.cfg, users[i].name, &st, NULL);
		if (rc != CB_OK)
			continue;
		s->exists[i] = true;
		s->last_login[i] = st.last_login;
		s->sub[i] = st.sub != NULL ? strdup(st.sub) : NULL;
		s->verifier[i] = st.verifier != NULL ? strdup(st.verifier) : NULL;
		s->failures[i] = st.offline_failures;
		cb_state_free(&st);
	}
}

static void free_snapshot(struct snapshot *s)
{
	for (size_t i = 0; i < N_USERS; i++) {
		free(s->sub[i]);
		free(s->verifier[i]);
	}
}

/* Does the yescrypt verifier v hold pw? */
static bool verifier_holds(const char *v, const char *pw)
{
	struct crypt_data *d = calloc(1, sizeof(*d));
	bool ok;

	if (d == NULL)
		die("calloc");
	ok = crypt_rn(pw, v, d, (int)sizeof(*d)) != NULL && strcmp(d->output, v) == 0;
	free(d);
	return ok;
}

/* The records hold a verifier exactly where the model has a cached
 * password, with the model's count of wrong offline passwords; changed
 * (only user's can change in an operation), it holds that password. */
static void check_cache(size_t user, bool changed, const struct snapshot *s)
{
	for (size_t i = 0; i < N_USERS; i++) {
		const struct cached *c = &fz.cache[i];

		CHECK((c->pw != NULL) == (s->verifier[i] != NULL),
		      "the state record of %s %s a verifier, the model %s", users[i].name,
		      s->verifier[i] != NULL ? "holds" : "lacks",
		      c->pw != NULL ? "has a cached password" : "none");
		if (c->pw == NULL)
			continue;
		CHECK(strncmp(s->verifier[i], "$y$", 3) == 0, "a verifier that is not yescrypt: %s",
		      s->verifier[i]);
		CHECK(s->failures[i] == c->failures,
		      "%s: %u wrong offline passwords on record, the model counts %u",
		      users[i].name, s->failures[i], c->failures);
		CHECK(i != user || !changed || verifier_holds(s->verifier[i], c->pw),
		      "the verifier of %s does not hold the password the service took",
		      users[i].name);
	}
}

/* pam_sm_authenticate succeeded without a 2xx /signin: only offline, and
 * only as the model allows. */
static void check_offline_success(const char *bound, const struct snapshot *after)
{
	const struct op_seen *o = &fz.op;

	CHECK(fz.offline_on, "auth success without a 2xx /signin, offline_login off");
	CHECK(o->signins > 0 && o->signins_unreachable == o->signins,
	      "offline success after %u of %u sign-ins answered by the service",
	      o->signins - o->signins_unreachable, o->signins);
	CHECK(offline_method(), "offline success with method %s%s", methods[fz.hdr[0] % N(methods)],
	      (fz.hdr[4] & 0x02) ? " (offline_second_factor skip)" : "");
	CHECK(o->offline_checked && o->offline_allowed,
	      "offline success for %s with a password the model does not cache for it (or "
	      "locked: %u of %u failures)",
	      users[fz.user].name, fz.cache[fz.user].failures, max_failures());
	CHECK(o->requests == o->signins, "an offline sign-in sent %u requests besides /signin",
	      o->requests - o->signins);
	CHECK(o->silent || o->offline_info, "an offline sign-in without its message");
	CHECK(bound != NULL && after->sub[fz.user] != NULL &&
		      strcmp(after->sub[fz.user], bound) == 0,
	      "offline success for %s, not bound", users[fz.user].name);
}

static void check_auth(const char *bound, const struct snapshot *after)
{
	const struct user *u = &users[fz.user];
	const struct op_seen *o = &fz.op;
	bool ok = o->rc[SHIM_AUTH] == PAM_SUCCESS;
	bool offline = ok && !(o->signin_seen && o->signin_2xx);

	CHECK(!u->managed || o->rc[SHIM_AUTH] != PAM_IGNORE, "auth ignored managed %s", u->name);
	CHECK(!o->offline_info || (offline && !o->silent),
	      "the offline message without an offline sign-in");
	if (!ok)
		return;
	if (offline) {
		check_offline_success(bound, after);
	} else {
		CHECK(o->signin_sub != NULL, "auth success on a /signin answer with no sub");
		CHECK(bound == NULL || strcmp(bound, o->signin_sub) == 0,
		      "auth success for %s (bound %s) as %s", u->name, bound, o->signin_sub);
		CHECK(after->sub[fz.user] != NULL &&
			      strcmp(after->sub[fz.user], o->signin_sub) == 0,
		      "auth success for %s left it bound to %s, not %s", u->name,
		      after->sub[fz.user] != NULL ? after->sub[fz.user] : "(none)", o->signin_sub);
		/* an online sign-in: a password one caches its password, a
		 * code one leaves the cache; with offline_login off none is kept */
		if (!fz.offline_on)
			forget_cached(fz.user, "an online sign-in with offline_login off");
		else if (o->pw_2xx != NULL)
			set_cached(fz.user, o->pw_2xx, "an online password sign-in");
	}
	fz.authed |= 1u << fz.user;
	fz.kept = fz.user;
	fz.kept_offline = offline;
}

static void check_op(int op, int rc, const struct snapshot *before, const struct snapshot *after)
{
	const struct user *u = &users[fz.user];
	const struct op_seen *o = &fz.op;
	const char *bound = before->sub[fz.user];

	for (size_t i = 0; i < N_USERS; i++) {
		CHECK(before->sub[i] == NULL ||
			      (after->sub[i] != NULL && strcmp(before->sub[i], after->sub[i]) == 0),
		      "the bound sub of %s changed from %s to %s", users[i].name, before->sub[i],
		      after->sub[i] != NULL ? after->sub[i] : "(none)");
		CHECK(users[i].managed || !after->exists[i], "a state record for refused %s",
		      users[i].name);
	}
	if (!u->managed) {
		CHECK(o->requests == 0, "%u requests for refused %s", o->requests, u->name);
		CHECK(o->rc[SHIM_AUTH] != PAM_SUCCESS && o->rc[SHIM_ACCT] != PAM_SUCCESS,
		      "refused %s let in", u->name);
		CHECK(op != 5 || rc != PAM_SUCCESS, "a password change for refused %s", u->name);
	}
	switch (op) {
	case 0:
		check_auth(bound, after);
		break;
	case 1:
		CHECK(!u->managed || o->rc[SHIM_ACCT] != PAM_IGNORE, "account ignored managed %s",
		      u->name);
		CHECK(o->rc[SHIM_ACCT] != PAM_SUCCESS || (fz.authed & (1u << fz.user)) ||
			      ((fz.hdr[1] & 0x10) && before->last_login[fz.user] != 0),
		      "account success for %s with no sign-in", u->name);
		CHECK(fz.kept != fz.user || !fz.kept_offline || o->requests == 0,
		      "%u requests in the account phase after an offline sign-in", o->requests);
		break;
	case 4:
		CHECK(o->rc[SHIM_CLOSE] == PAM_SUCCESS || o->rc[SHIM_CLOSE] == PAM_IGNORE,
		      "close_session failed: %d", o->rc[SHIM_CLOSE]);
		break;
	case 5:
		if (rc != PAM_SUCCESS)
			break;
		CHECK(o->patch_2xx, "a password change the service did not take");
		CHECK(o->signin_2xx && o->signin_sub != NULL &&
			      (bound == NULL || strcmp(bound, o->signin_sub) == 0),
		      "a password change for %s without a sign-in of its sub", u->name);
		/* the new password is cached in place of the old */
		if (fz.offline_on && o->new_pw != NULL)
			set_cached(fz.user, o->new_pw, "a password change");
		else
			forget_cached(fz.user, "a password change");
		break;
	default:
		break;
	}
	check_cache(fz.user, o->cache_set, after);
}

static void start(size_t user)
{
	struct pam_conv c = {conv, NULL};
	const char *service = services[(fz.hdr[2] >> 3) % N(services)];

	fz.user = user;
	fz.authed = 0;
	fz.kept = N_USERS;
	fz.kept_offline = false;
	if (pam_start_confdir(service, users[user].name, &c, fz.confdir, &fz.pamh) != PAM_SUCCESS)
		die("pam_start_confdir");
	if (pam_set_item(fz.pamh, PAM_FAIL_DELAY, (const void *)(uintptr_t)no_delay) != PAM_SUCCESS)
		die("PAM_FAIL_DELAY");
}

static void clear_op(void)
{
	free(fz.op.signin_sub);
	free(fz.op.pw_2xx);
	free(fz.op.new_pw);
	memset(&fz.op, 0, sizeof(fz.op));
}

static void run_op(uint8_t byte)
{
	int op = byte & 7, flags = (byte & 8) ? PAM_SILENT : 0, rc = PAM_SUCCESS;
	size_t who = (size_t)((byte >> 4) & 7) % N_USERS;
	struct snapshot after;

	if (op == 6) {
		pam_end(fz.pamh, PAM_SUCCESS);
		scan_stores();
		/* an administrator turns offline login on or off */
		if (byte & 0x80) {
			fz.offline_on = !fz.offline_on;
			write_config();
		}
		start(who);
		return;
	}
	if (op == 7) {
		if (pam_set_item(fz.pamh, PAM_USER, users[who].name) != PAM_SUCCESS)
			die("PAM_USER");
		fz.user = who;
		return;
	}
	clear_op();
	for (int i = 0; i < SHIM_N; i++)
		fz.op.rc[i] = -1;
	fz.op.silent = flags != 0;
	fz.live_token_ok = false;
	switch (op) {
	case 0:
		rc = pam_authenticate(fz.pamh, flags);
		break;
	case 1:
		rc = pam_acct_mgmt(fz.pamh, flags);
		break;
	case 2:
		rc = pam_setcred(fz.pamh, flags | PAM_ESTABLISH_CRED);
		break;
	case 3:
		rc = pam_open_session(fz.pamh, flags);
		break;
	case 4:
		rc = pam_close_session(fz.pamh, flags);
		break;
	default:
		rc = pam_chauthtok(fz.pamh, flags);
		break;
	}
	take_snapshot(&after);
	if (fz.verbose)
		fprintf(stderr,
			"op %d as %s: pam %d, module auth %d acct %d setcred %d open %d "
			"close %d chauthtok %d, %u requests; offline_login %s, verifier %s "
			"(%u failures)\n",
			op, users[fz.user].name, rc, fz.op.rc[SHIM_AUTH], fz.op.rc[SHIM_ACCT],
			fz.op.rc[SHIM_SETCRED], fz.op.rc[SHIM_OPEN], fz.op.rc[SHIM_CLOSE],
			fz.op.rc[SHIM_CHAUTHTOK], fz.op.requests, fz.offline_on ? "on" : "off",
			after.verifier[fz.user] != NULL ? "kept" : "none", after.failures[fz.user]);
	check_op(op, rc, &fz.stores, &after);
	/* the stores change only in an operation: this is the next one's before */
	free_snapshot(&fz.stores);
	fz.stores = after;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR_LEN)
		return 0;
	parse_input(data, size);
	fz.offline_on = (fz.hdr[4] & 0x01) != 0;
	fz.phase = -1;
	for (size_t i = 0; i < N_USERS; i++) {
		free(fz.cache[i].pw);
		memset(&fz.cache[i], 0, sizeof(fz.cache[i]));
	}
	text_clear(&fz.log);
	text_clear(&fz.shown);
	text_clear(&fz.public_text);
	fz.n_codes = 0;
	fz.counter = 0;
	reset_stores();
	take_snapshot(&fz.stores);
	write_config();
	start((size_t)(fz.hdr[2] & 7) % N_USERS);
	for (size_t i = 0; i < fz.n_ops; i++)
		run_op(fz.ops[i]);
	pam_end(fz.pamh, PAM_SUCCESS);
	fz.pamh = NULL;
	scan_stores();
	if (fz.verbose)
		fprintf(stderr, "--- log:\n%s--- shown:\n%s", fz.log.s != NULL ? fz.log.s : "",
			fz.shown.s != NULL ? fz.shown.s : "");
	check_secrets();
	for (size_t i = 0; i < fz.n_pws; i++)
		free(fz.pws[i]);
	fz.n_pws = 0;
	free_snapshot(&fz.stores);
	clear_op();
	free(fz.buf);
	fz.buf = NULL;
	return 0;
}
