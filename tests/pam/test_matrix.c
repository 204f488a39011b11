/* SPDX-License-Identifier: BSD-3-Clause */
/* The bad-input matrix of docs/security.md, through real libpam
 * (pam_start_confdir) against the CloudBase emulator. Run by
 * matrix_tests.sh under tests/ns-run: this binary binds its own /dev/log and
 * checks the module's log line for every row. Each test walks one table of
 * docs/security.md; a failing row names itself on stderr. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "accountdb.h"
#include "state.h"
#include "accountdb_format.h"
#include "conf.h"
#include "harness.h"
#include "testutil.h"

#define ALICE_SUB "9c5b1f3e-0a6d-4a57-9a43-2b8f0c7e1a01"
#define ALICE_PW "Alice-Passw0rd"
#define SECRET "test-secret"
/* a 2 s budget: the transport rows time the module against it */
#define CONF_EXTRA "timeout = 2\n"

/* ---- the emulator's control port ----------------------------------------- */

/* One fault rule for the next request only. */
static void fault1(const char *rule_without_braces)
{
	char *json = NULL;

	if (asprintf(&json, "{%s,\"count\":1}", rule_without_braces) < 0)
		abort();
	ctl("DELETE", "/faults", NULL);
	ctl("POST", "/faults", json);
	free(json);
}

/* A raw 200 application/json answer with this body, for the next
 * sign-in, and no other fault. */
static void raw_json(const char *body)
{
	ctl("DELETE", "/faults", NULL);
	raw_answer("/signin", body);
}

/* Requests the emulator saw since the last reset_requests(). */
static void reset_requests(void)
{
	ctl("DELETE", "/requests", NULL);
}

static size_t n_requests(void)
{
	struct json_object *o;
	size_t n = 0;

	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_is_type(o, json_type_array))
		n = json_object_array_length(o);
	else if (o != NULL) {
		struct json_object *list;

		if (json_object_object_get_ex(o, "requests", &list))
			n = json_object_array_length(list);
	}
	json_object_put(o);
	return n;
}

/* The last logged request: its JSON body's "password" (exact bytes, as the
 * service decoded them) and its raw query. Returns false if none. */
static bool last_request(char *password, size_t pwsz, size_t *pwlen, char *query, size_t qsz)
{
	struct json_object *o, *list, *req, *body, *pw, *q;
	bool ok = false;

	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	list = o;
	if (o != NULL && !json_object_is_type(o, json_type_array))
		json_object_object_get_ex(o, "requests", &list);
	if (list != NULL && json_object_array_length(list) > 0) {
		req = json_object_array_get_idx(list, json_object_array_length(list) - 1);
		password[0] = '\0';
		*pwlen = 0;
		if (json_object_object_get_ex(req, "body", &body) &&
		    json_object_object_get_ex(body, "password", &pw) &&
		    json_object_is_type(pw, json_type_string)) {
			*pwlen = (size_t)json_object_get_string_len(pw);
			if (*pwlen < pwsz)
				memcpy(password, json_object_get_string(pw), *pwlen + 1);
		}
		query[0] = '\0';
		if (json_object_object_get_ex(req, "query", &q) && q != NULL)
			snprintf(query, qsz, "%s", json_object_get_string(q));
		ok = true;
	}
	json_object_put(o);
	return ok;
}

/* ---- fixtures ------------------------------------------------------------ */

/* pam.d/cb: the module alone, required, in auth and account. */
static void write_plain_service(const char *args)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "auth     required %s conf=%s %s\n"
		 "account  required %s conf=%s %s\n",
		 g.so, g.conf_path, args, g.so, g.conf_path, args);
	write_service_text("cb", text);
}

/* A fresh account database and state store (beside it). */
static void fresh_db(void)
{
	struct cb_config cfg;
	struct cb_account *list;
	size_t n;

	remove_accounts();
	add_record("cbalice", "alice", NULL, NULL);
	add_record("cbghost", "nosuchuser", NULL, NULL);
	/* both in the base (the second went to the delta): the rows that
	 * spoil accounts.db reach every record */
	cb_config_init(&cfg);
	cfg.accounts_db = strdup(g.db);
	assert_int_equal(cb_accountdb_list(&cfg, &list, &n, NULL), CB_OK);
	assert_int_equal(cb_accountdb_write_file(g.db, list, n, NULL), CB_OK);
	cb_account_list_free(list, n);
	cb_config_free(&cfg);
}

static cb_status rebind(struct cb_state *st, void *arg, bool *write)
{
	free(st->sub);
	st->sub = strdup(arg);
	*write = true;
	return st->sub != NULL ? CB_OK : CB_ERR_NOMEM;
}

static bool sub_bound(void)
{
	char *s = account_sub("cbalice");
	bool bound = s != NULL;

	free(s);
	return bound;
}

/* The database file as it is now: a write replaces it (new inode). */
struct db_mark {
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static struct db_mark db_mark(void)
{
	struct stat st;
	struct db_mark m = {0};

	if (stat(g.db, &st) == 0) {
		m.ino = st.st_ino;
		m.size = st.st_size;
		m.mtime = st.st_mtim;
	}
	return m;
}

static bool db_same(struct db_mark a)
{
	struct db_mark b = db_mark();

	return a.ino == b.ino && a.size == b.size && a.mtime.tv_sec == b.mtime.tv_sec &&
	       a.mtime.tv_nsec == b.mtime.tv_nsec;
}

static int setup(void **state)
{
	(void)state;
	ctl("POST", "/reset", NULL);
	fresh_db();
	write_config(CONF_EXTRA);
	write_plain_service("");
	log_reset();
	return 0;
}

/* ---- one transaction ------------------------------------------------------ */

/* pam_authenticate, then pam_acct_mgmt if that succeeded (the sub binding
 * happens there). */
static int run_login(const char *service, const char *user, enum conv_mode mode, const char *answer,
		     size_t answer_len, struct login_result *r)
{
	memset(r, 0, sizeof(*r));
	r->conv.mode = mode;
	r->conv.answers[0] = answer;
	r->conv.answer_len = answer_len;
	return harness_login(service, user, NULL, LOGIN_ACCT, r);
}

static int login(const char *user, const char *password, struct login_result *r)
{
	return run_login("cb", user, CONV_SAME, password, password != NULL ? strlen(password) : 0,
			 r);
}

static int failures;

/* A row failed: say which, with the log, and carry on with the table so one
 * run lists every failing row. */
static void row_failed(const char *group, const char *row, const char *why, int got)
{
	fprintf(stderr, "# %s row \"%s\": %s (pam %d: %s)\n# log:\n%s", group, row, why, got,
		pam_strerror(NULL, got), g.testlog);
	failures++;
}

#define ROWS_DONE()                                                                                \
	do {                                                                                       \
		if (failures != 0) {                                                               \
			failures = 0;                                                              \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- passwords and codes -------------------------------------------------- */

struct pw_row {
	const char *name;
	enum conv_mode mode;
	const char *text; /* NULL: a generated run of 'x' of length len */
	size_t len;
	int expect;
	bool sent; /* a request reached the service */
	const char *wire; /* the password the service decoded, if sent (NULL: text) */
	const char *log; /* in the log */
};

static void test_passwords(void **state)
{
	static const struct pw_row rows[] = {
		{"empty", CONV_SAME, "", 0, PAM_AUTH_ERR, false, NULL, "outcome=bad_input"},
		{"NULL reply", CONV_NULL_REPLY, NULL, 0, PAM_CONV_ERR, false, NULL,
		 "outcome=conversation_error"},
		{"no reply array", CONV_NO_REPLY, NULL, 0, PAM_CONV_ERR, false, NULL,
		 "outcome=conversation_error"},
		{"Ctrl-C (conversation error)", CONV_FAIL, NULL, 0, PAM_CONV_ERR, false, NULL,
		 "outcome=conversation_error"},
		{"1 byte", CONV_SAME, "x", 1, PAM_AUTH_ERR, true, NULL, "outcome=auth_failed"},
		{"511 bytes", CONV_SAME, NULL, 511, PAM_AUTH_ERR, true, NULL,
		 "outcome=auth_failed"},
		{"512 bytes (PAM_MAX_RESP_SIZE)", CONV_SAME, NULL, 512, PAM_AUTH_ERR, true, NULL,
		 "outcome=auth_failed"},
		{"513 bytes", CONV_SAME, NULL, 513, PAM_AUTH_ERR, false, NULL, "outcome=bad_input"},
		{"1 MiB", CONV_SAME, NULL, 1 << 20, PAM_AUTH_ERR, false, NULL, "outcome=bad_input"},
		/* a C string ends at the NUL: the rest never reaches the module */
		{"embedded NUL", CONV_SAME, ALICE_PW "\0tail", sizeof(ALICE_PW "\0tail") - 1,
		 PAM_SUCCESS, true, ALICE_PW, "outcome=ok"},
		{"invalid UTF-8", CONV_SAME, "Alice-\xff\xfe-pw", 12, PAM_AUTH_ERR, false, NULL,
		 "outcome=bad_input"},
		{"overlong UTF-8 '/'", CONV_SAME, "pw\xc0\xaf", 4, PAM_AUTH_ERR, false, NULL,
		 "outcome=bad_input"},
		{"valid UTF-8 (Cyrillic, CJK)", CONV_SAME, "\xd0\xbf\xd0\xb0\xe5\xaf\x86", 7,
		 PAM_AUTH_ERR, true, NULL, "outcome=auth_failed"},
		{"JSON and URL specials", CONV_SAME, "a\"b\\c&d#e%f+g?h=i/j k", 21, PAM_AUTH_ERR,
		 true, NULL, "outcome=auth_failed"},
		{"%-escapes stay literal", CONV_SAME, "%22%5C%00%26", 12, PAM_AUTH_ERR, true, NULL,
		 "outcome=auth_failed"},
		{"control bytes", CONV_SAME, "a\x01\x1f\t\r\nb", 7, PAM_AUTH_ERR, true, NULL,
		 "outcome=auth_failed"},
		{"unicode escape lookalike", CONV_SAME, "\\u0000", 6, PAM_AUTH_ERR, true, NULL,
		 "outcome=auth_failed"},
	};
	static char big[(1 << 20) + 1];
	char wire[1024], query[1024];
	size_t wirelen;
	struct login_result r;

	(void)state;
	memset(big, 'x', sizeof(big));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct pw_row *w = &rows[i];
		const char *text = w->text != NULL ? w->text : big;
		const char *want = w->wire != NULL ? w->wire : text;
		size_t wantlen = w->wire != NULL ? strlen(w->wire) : w->len;

		ctl("POST", "/reset", NULL);
		log_reset();
		run_login("cb", "cbalice", w->mode, text, w->len, &r);
		if (r.auth != w->expect)
			row_failed("password", w->name, "wrong PAM code", r.auth);
		else if (!log_has(w->log) || !log_has("auth: user=cbalice"))
			row_failed("password", w->name, "log line missing", r.auth);
		else if (w->sent != (n_requests() == 1))
			row_failed("password", w->name,
				   w->sent ? "no request was sent" : "a request was sent", r.auth);
		else if (strcmp(r.conv.messages, "") != 0)
			row_failed("password", w->name, "a message was shown", r.auth);
		if (!w->sent)
			continue;
		/* the exact bytes arrived as the JSON string, none in the URL */
		if (!last_request(wire, sizeof(wire), &wirelen, query, sizeof(query)) ||
		    wirelen != wantlen || memcmp(wire, want, wantlen) != 0)
			row_failed("password", w->name, "the service got other bytes", r.auth);
		else if (query[0] != '\0')
			row_failed("password", w->name, "a query string was sent", r.auth);
	}
	ROWS_DONE();
}

/* ---- user names (the PAM user) ---------------------------------------------- */

/* Every record the database has now, plus one, written back whole: how a
 * record the admin tool would refuse (a local account's name) gets in,
 * e.g. an account created locally after the CloudBase one. */
static void db_add_raw(const char *name, uint32_t uid, const char *login)
{
	struct cb_config cfg;
	struct cb_account *list = NULL, *all;
	size_t n = 0;

	cb_config_init(&cfg);
	cfg.accounts_db = strdup(g.db);
	assert_int_equal(cb_accountdb_list(&cfg, &list, &n, NULL), CB_OK);
	all = calloc(n + 1, sizeof(*all));
	assert_non_null(all);
	memcpy(all, list, n * sizeof(*all));
	all[n].name = (char *)name;
	all[n].uid = all[n].gid = uid;
	all[n].login = (char *)login;
	all[n].home = (char *)"/home/x";
	all[n].shell = (char *)"/bin/sh";
	assert_int_equal(cb_accountdb_write_file(g.db, all, n + 1, NULL), CB_OK);
	free(all);
	cb_account_list_free(list, n);
	cb_config_free(&cfg);
}

struct name_row {
	const char *name;
	const char *user;
};

static void test_usernames(void **state)
{
	static char n32[33], n33[34], n256[257], n4096[4097];
	const struct name_row refused[] = {
		{"empty", ""},
		{"33 bytes", n33},
		{"256 bytes", n256},
		{"4096 bytes", n4096},
		{"colon", "cb:alice"},
		{"user:style (BSD auth style)", "cbalice:skey"},
		{"newline", "cbalice\n"},
		{"newline inside", "cb\nalice"},
		{"slash", "../cbalice"},
		{"slash only", "/"},
		{"dot dot", ".."},
		{"dot", "."},
		{"leading dash", "-cbalice"},
		{"space", "cb alice"},
		{"trailing space", "cbalice "},
		{"tab", "cbalice\t"},
		{"comma", "cbalice,"},
		{"DEL", "cbalice\x7f"},
		{"all digits (reads as a uid)", "200001"},
		{"upper case variant", "CBALICE"},
		{"mixed case variant", "CbAlice"},
		{"Cyrillic homoglyph (a = U+0430)", "cb\xd0\xb0lice"},
		{"fullwidth homoglyph", "cb\xef\xbd\x81lice"},
		{"root (in the database)", "root"},
		{"daemon (in the database)", "daemon"},
		{"a local account not in the database", "nobody"},
		{"not in the database", "cbstranger"},
	};
	struct login_result r;
	struct db_mark before;

	(void)state;
	memset(n32, 'c', 32);
	memset(n33, 'c', 33);
	memset(n256, 'c', 256);
	memset(n4096, 'c', 4096);
	/* a local account's name in the database must still not be ours */
	db_add_raw("root", 200000101, "alice");
	db_add_raw("daemon", 200000102, "alice");
	add_record(n32, "alice", NULL, NULL);
	before = db_mark();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		reset_requests();
		log_reset();
		login(refused[i].user, ALICE_PW, &r);
		if (r.auth != PAM_USER_UNKNOWN)
			row_failed("user name", refused[i].name, "wrong PAM code", r.auth);
		else if (n_requests() != 0)
			row_failed("user name", refused[i].name, "a request was sent", r.auth);
		else if (strcmp(r.conv.prompts, "*Password: |") != 0 ||
			 strcmp(r.conv.messages, "") != 0)
			row_failed("user name", refused[i].name,
				   "not asked as a managed user, or told", r.auth);
		else if (!log_has("auth: user=(unknown) service=cb") ||
			 !log_has("outcome=not_found pam=User not known"))
			row_failed("user name", refused[i].name, "log line missing", r.auth);
	}
	/* the local accounts are refused with a line of their own */
	log_reset();
	login("root", ALICE_PW, &r);
	if (!log_has("root is a local account"))
		row_failed("user name", "root", "no local-account line", r.auth);
	if (!db_same(before))
		row_failed("user name", "all", "the database changed", 0);
	/* 32 bytes is a valid name: it signs in */
	reset_requests();
	if (login(n32, ALICE_PW, &r) != PAM_SUCCESS || n_requests() != 1)
		row_failed("user name", "32 bytes", "did not sign in", r.auth);
	ROWS_DONE();
}

/* ---- server answers ---------------------------------------------------------- */

struct answer_row {
	const char *name;
	const char *rule; /* a fault rule without braces, or NULL: body is a raw 200 JSON body */
	const char *body;
	int expect;
	const char *log;
	const char *message; /* shown to the user, "" for nothing */
};

#define TOK_HEAD                                                                                   \
	"\"token_type\":\"Bearer\",\"access_token\":\"eyJ.x.y\",\"refresh_token\":\"rt.1\","
#define GOOD_BODY                                                                                  \
	"{" TOK_HEAD "\"expires_in\":7200,\"sub\":\"" ALICE_SUB "\",\"groups\":[\"user\"]}"

static void check_answer_row(const struct answer_row *w, const char *body)
{
	struct login_result r;
	struct db_mark before = db_mark();
	char *sub;

	ctl("POST", "/reset", NULL);
	log_reset();
	if (w->rule != NULL)
		fault1(w->rule);
	else
		raw_json(body);
	login("cbalice", ALICE_PW, &r);
	sub = account_sub("cbalice");
	if (r.auth != w->expect)
		row_failed("answer", w->name, "wrong PAM code", r.auth);
	else if (!log_has(w->log) || !log_has("auth: user=cbalice"))
		row_failed("answer", w->name, "log line missing", r.auth);
	else if (strcmp(r.conv.messages, w->message) != 0)
		row_failed("answer", w->name, r.conv.messages, r.auth);
	else if (w->expect != PAM_SUCCESS && (sub != NULL || !db_same(before)))
		row_failed("answer", w->name, "the database changed", r.auth);
	free(sub);
	if (r.auth == PAM_SUCCESS)
		fresh_db(); /* it bound the sub: start the next row unbound */
}

static void test_server_answers(void **state)
{
	static char groups[80000], deep[400], big_header_rule[110000];
	static const char *const rate = "Too many attempts in a short time. Wait a minute and try "
					"again.|";
	const struct answer_row rows[] = {
		{"positive control: a well-formed raw answer", NULL, GOOD_BODY, PAM_SUCCESS,
		 "outcome=ok", ""},
		{"400", "\"fault\":\"status\",\"status\":400", NULL, PAM_AUTH_ERR,
		 "outcome=auth_failed", ""},
		{"401", "\"fault\":\"status\",\"status\":401", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=client_rejected", ""},
		{"403", "\"fault\":\"status\",\"status\":403", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=client_rejected", ""},
		{"404", "\"fault\":\"status\",\"status\":404", NULL, PAM_USER_UNKNOWN,
		 "outcome=user_unknown", ""},
		{"409", "\"fault\":\"status\",\"status\":409", NULL, PAM_MAXTRIES,
		 "outcome=locked_out",
		 "Too many failed sign-ins. Try again later, or sign in once through the CloudBase "
		 "console.|"},
		{"429 with Retry-After",
		 "\"fault\":\"status\",\"status\":429,\"headers\":{\"Retry-After\":\"60\"}", NULL,
		 PAM_MAXTRIES, "outcome=rate_limited", rate},
		{"500", "\"fault\":\"status\",\"status\":500", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=service_unavailable", ""},
		{"502", "\"fault\":\"status\",\"status\":502", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=service_unavailable", ""},
		{"503", "\"fault\":\"status\",\"status\":503", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=service_unavailable", ""},
		{"429 without a JSON body",
		 "\"fault\":\"raw\",\"status\":429,\"headers\":{\"Retry-After\":\"5\"},\"body\":"
		 "\"slow down\"",
		 NULL, PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"401 without a body", "\"fault\":\"raw\",\"status\":401,\"body\":\"\"", NULL,
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"only an informational status (199)",
		 "\"fault\":\"raw\",\"status\":199,\"headers\":{\"Content-Type\":"
		 "\"application/json\"},\"body\":\"{}\"",
		 NULL, PAM_AUTHINFO_UNAVAIL, "outcome=", ""},
		{"200 with an error key", NULL, "{\"error\":\"internal\"}", PAM_AUTHINFO_UNAVAIL,
		 "outcome=service_unavailable", ""},
		{"200 with an error key and tokens", NULL,
		 "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"error\":\"invalid_password\"}",
		 PAM_AUTH_ERR, "outcome=auth_failed", ""},
		{"200 with an unknown error string", NULL,
		 "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"error\":\"ok\"}", PAM_AUTH_ERR,
		 "outcome=auth_failed", ""},
		{"200 with a non-string error", NULL,
		 "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"error\":false}", PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"empty body", "\"fault\":\"empty\"", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"text/html captive portal", "\"fault\":\"html\"", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"truncated JSON", "\"fault\":\"truncated\"", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"JSON array, not an object", NULL, "[" GOOD_BODY "]", PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"two JSON objects", NULL, GOOD_BODY GOOD_BODY, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"nesting deeper than 32", NULL, deep, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"duplicate sub, the bound one first", NULL,
		 "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"sub\":\"someone-else\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"duplicate sub, the bound one last", NULL,
		 "{" TOK_HEAD "\"sub\":\"someone-else\",\"sub\":\"" ALICE_SUB "\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"duplicate key spelt with an escape", NULL,
		 "{" TOK_HEAD "\"sub\":\"someone-else\",\"\\u0073ub\":\"" ALICE_SUB "\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"duplicate error key", NULL,
		 "{\"error\":\"invalid_password\",\"error\":\"internal\"}", PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"duplicate key in a nested unknown field", NULL,
		 "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"meta\":{\"a\":1,\"a\":2}}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"sub with \\u0000", NULL,
		 "{" TOK_HEAD "\"sub\":\"9c5b1f3e\\u0000-0a6d\",\"groups\":[]}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"sub with a newline", NULL, "{" TOK_HEAD "\"sub\":\"9c5b1f3e\\n-0a6d\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"sub with DEL", NULL, "{" TOK_HEAD "\"sub\":\"9c5b1f3e\\u007f\"}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"sub of 257 bytes (more than the database keeps)", NULL, NULL,
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"sub with a colon (opaque: accepted, bound as is)", NULL,
		 "{" TOK_HEAD "\"sub\":\"tenant:9c5b\"}", PAM_SUCCESS, "outcome=ok", ""},
		{"empty sub", NULL, "{" TOK_HEAD "\"sub\":\"\"}", PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"group with a newline", NULL,
		 "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"groups\":[\"adm\\nin\"]}",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"10,000 groups", NULL, groups, PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
		{"body of 10 MiB", "\"fault\":\"oversized\",\"bytes\":10485760", NULL,
		 PAM_AUTHINFO_UNAVAIL, "larger than 64 KiB", ""},
		{"header of 100 KiB", big_header_rule, NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", ""},
		{"chunked encoding error",
		 "\"fault\":\"raw\",\"status\":200,\"headers\":[[\"Content-Type\","
		 "\"application/json\"],[\"Transfer-Encoding\",\"chunked\"]],\"body\":"
		 "\"zz\\r\\n{}\\r\\n0\\r\\n\\r\\n\"",
		 NULL, PAM_AUTHINFO_UNAVAIL, "outcome=transport_error", ""},
		{"chunked, cut before the last chunk",
		 "\"fault\":\"raw\",\"status\":200,\"headers\":[[\"Content-Type\","
		 "\"application/json\"],[\"Transfer-Encoding\",\"chunked\"]],\"body\":"
		 "\"5\\r\\n{\\\"a\\\":\\r\\n\"",
		 NULL, PAM_AUTHINFO_UNAVAIL, "outcome=transport_error", ""},
		{"Content-Length larger than the body",
		 "\"fault\":\"raw\",\"status\":200,\"headers\":{\"Content-Type\":"
		 "\"application/json\",\"Content-Length\":\"5000\"},\"body\":\"{}\"",
		 NULL, PAM_AUTHINFO_UNAVAIL, "outcome=transport_error", ""},
		{"connection closed mid-body", "\"fault\":\"close\"", NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=transport_error", ""},
		{"gzip body not asked for",
		 "\"fault\":\"raw\",\"status\":200,\"headers\":{\"Content-Type\":"
		 "\"application/json\",\"Content-Encoding\":\"gzip\"},\"body\":\"{}\"",
		 NULL, PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", ""},
	};
	static char long_sub_body[1024];

	(void)state;
	/* 40 nested arrays inside an unknown field */
	strcpy(deep, "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"x\":");
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	for (int i = 0; i < 40; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	strcpy(groups, "{" TOK_HEAD "\"sub\":\"" ALICE_SUB "\",\"groups\":[");
	{
		char *p = groups + strlen(groups);

		for (int i = 0; i < 10000; i++)
			p += sprintf(p, i == 0 ? "\"g\"" : ",\"g\"");
		strcpy(p, "]}");
	}
	{
		int n = snprintf(big_header_rule, sizeof(big_header_rule),
				 "\"fault\":\"raw\",\"status\":200,\"headers\":{\"Content-Type\":"
				 "\"application/json\",\"X-Big\":\"");

		memset(big_header_rule + n, 'a', 100 * 1024);
		snprintf(big_header_rule + n + 100 * 1024,
			 sizeof(big_header_rule) - (size_t)n - 100 * 1024, "\"},\"body\":\"{}\"");
	}
	{
		int n = snprintf(long_sub_body, sizeof(long_sub_body), "{" TOK_HEAD "\"sub\":\"");

		memset(long_sub_body + n, 's', 257);
		strcpy(long_sub_body + n + 257, "\"}");
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *body = rows[i].body;

		if (rows[i].rule == NULL && body == NULL)
			body = long_sub_body;
		check_answer_row(&rows[i], body);
	}
	ROWS_DONE();
}

/* Every field of the token response the module reads, with every wrong
 * type: the answer is refused (AUTHINFO_UNAVAIL), never half-used. */
static void test_wrong_types(void **state)
{
	static const char *const fields[] = {"access_token", "sub",   "token_type", "refresh_token",
					     "id_token",     "scope", "expires_in", "groups"};
	static const char *const values[] = {"\"true\"", "true",       "1.9",
					     "-1",	 "4294967296", "9223372036854775808",
					     "null",	 "[\"a\"]",    "{\"a\":\"b\"}"};
	static const char *const base[] = {
		"\"access_token\":\"eyJ.x.y\"", "\"sub\":\"" ALICE_SUB "\"",
		"\"token_type\":\"Bearer\"",	"\"refresh_token\":\"rt.1\"",
		"\"id_token\":\"eyJ.i.d\"",	"\"scope\":\"user\"",
		"\"expires_in\":7200",		"\"groups\":[\"user\"]"};

	(void)state;
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			struct answer_row row = {
				NULL, NULL, NULL, PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error",
				""};
			char body[1024], name[128];
			size_t o = 0;
			bool string_field = f < 6;
			bool optional = f >= 2;

			/* what is not a type error: a string where a string belongs,
			 * null (= absent) for an optional field, an array of strings
			 * for groups */
			if ((string_field && v == 0) || (optional && v == 6) ||
			    (f == 7 && v == 7)) {
				row.expect = PAM_SUCCESS;
				row.log = "outcome=ok";
			}
			/* token_type other than Bearer is refused all the same */
			if (f == 2 && v == 0) {
				row.expect = PAM_AUTHINFO_UNAVAIL;
				row.log = "outcome=protocol_error";
			}
			o += (size_t)snprintf(body + o, sizeof(body) - o, "{");
			for (size_t b = 0; b < sizeof(base) / sizeof(base[0]); b++)
				o += (size_t)snprintf(body + o, sizeof(body) - o, "%s\"%s\":%s",
						      b == 0 ? "" : ",", fields[b],
						      b == f ? values[v]
							     : strchr(base[b], ':') + 1);
			snprintf(body + o, sizeof(body) - o, "}");
			snprintf(name, sizeof(name), "%s = %s", fields[f], values[v]);
			row.name = name;
			check_answer_row(&row, body);
		}
	}
	ROWS_DONE();
}

/* ---- transport ------------------------------------------------------------- */

static int closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port;

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A port that completes the TCP handshake (the kernel's backlog) and then
 * never says a word. */
static int silent_listener(int *fdp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*fdp = fd;
	return ntohs(sa.sin_port);
}

struct transport_row {
	const char *name;
	const char *url; /* base_url, or NULL: the emulator with rule */
	const char *rule;
	int expect;
	const char *log;
	double max_seconds;
};

static void test_transport(void **state)
{
	char refused[128], silent[128], http_loop[160], redirect_http[512], redirect_host[512];
	int silent_fd;
	const struct transport_row rows[] = {
		{"connection refused", refused, NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=transport_error", 1.0},
		{"accepts and never answers", silent, NULL, PAM_AUTHINFO_UNAVAIL, "outcome=timeout",
		 3.0},
		{"DNS name that does not resolve", "https://nonexistent.invalid/auth/v1", NULL,
		 PAM_AUTHINFO_UNAVAIL, "outcome=", 3.0},
		{"plain http to the TLS port", http_loop, NULL, PAM_AUTHINFO_UNAVAIL,
		 "outcome=", 3.0},
		{"http:// to a host that is not loopback", "http://example.invalid/auth/v1", NULL,
		 PAM_SERVICE_ERR, "outcome=config_error", 1.0},
		{"redirect to http://", NULL, redirect_http, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", 1.0},
		{"redirect to another host", NULL, redirect_host, PAM_AUTHINFO_UNAVAIL,
		 "outcome=protocol_error", 1.0},
		{"redirect (307, keeps the body)", NULL,
		 "\"fault\":\"raw\",\"status\":307,\"headers\":{\"Location\":"
		 "\"https://127.0.0.1:1/auth/v1/signin\"},\"body\":\"\"",
		 PAM_AUTHINFO_UNAVAIL, "outcome=protocol_error", 1.0},
	};
	struct login_result r;

	(void)state;
	snprintf(refused, sizeof(refused), "https://127.0.0.1:%d/auth/v1", closed_port());
	snprintf(silent, sizeof(silent), "https://127.0.0.1:%d/auth/v1",
		 silent_listener(&silent_fd));
	snprintf(http_loop, sizeof(http_loop), "http://127.0.0.1:%d/auth/v1", g.port);
	snprintf(redirect_http, sizeof(redirect_http),
		 "\"fault\":\"raw\",\"status\":302,\"headers\":{\"Location\":"
		 "\"http://127.0.0.1:%d/auth/v1/signin\"},\"body\":\"\"",
		 g.ctl_port);
	snprintf(redirect_host, sizeof(redirect_host),
		 "\"fault\":\"raw\",\"status\":302,\"headers\":{\"Location\":"
		 "\"https://localhost:%d/auth/v1/signin\"},\"body\":\"\"",
		 g.port);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct transport_row *w = &rows[i];

		ctl("POST", "/reset", NULL);
		log_reset();
		if (w->url != NULL)
			write_config_url(w->url, CONF_EXTRA);
		else
			write_config(CONF_EXTRA);
		if (w->rule != NULL)
			fault1(w->rule);
		login("cbalice", ALICE_PW, &r);
		if (r.auth != w->expect)
			row_failed("transport", w->name, "wrong PAM code", r.auth);
		else if (!log_has(w->log) || !log_has("auth: user="))
			row_failed("transport", w->name, "log line missing", r.auth);
		else if (r.seconds > w->max_seconds)
			row_failed("transport", w->name, "took too long", r.auth);
		else if (sub_bound())
			row_failed("transport", w->name, "a sub was bound", r.auth);
		/* a redirect is never followed: the service saw one request */
		if (w->rule != NULL && n_requests() != 1)
			row_failed("transport", w->name, "the redirect was followed", r.auth);
	}
	close(silent_fd);
	write_config(CONF_EXTRA);
	ROWS_DONE();
}

/* ---- files ------------------------------------------------------------------- */

enum file_kind { F_CONF, F_SECRET, F_DB };

struct file_row {
	const char *name;
	enum file_kind file;
	const char *how;
	int expect;
	const char *log;
};

static const char *file_path(enum file_kind f, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s", f == F_CONF ? g.conf_path : f == F_DB ? g.db : "");
	if (f == F_SECRET)
		snprintf(buf, sz, "%s/secret", g.dir);
	return buf;
}

static void write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct stat st;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	*data = malloc(*len + 1);
	assert_non_null(*data);
	assert_int_equal(fread(*data, 1, *len, f), *len);
	fclose(f);
}

/* Break the file as the row says. */
static void spoil(enum file_kind fk, const char *how)
{
	char path[600], other[700];
	unsigned char *data;
	size_t len;

	file_path(fk, path, sizeof(path));
	read_file(path, &data, &len);
	snprintf(other, sizeof(other), "%s.real", path);
	if (strcmp(how, "missing") == 0) {
		unlink(path);
	} else if (strcmp(how, "empty") == 0) {
		write_bytes(path, "", 0, fk == F_SECRET ? 0600 : 0644);
	} else if (strcmp(how, "loose") == 0) {
		assert_int_equal(chmod(path, fk == F_SECRET ? 0640 : 0666), 0);
	} else if (strcmp(how, "world-readable secret") == 0) {
		assert_int_equal(chmod(path, 0644), 0);
	} else if (strcmp(how, "user-owned") == 0) {
		assert_int_equal(chown(path, 1000, 1000), 0);
	} else if (strcmp(how, "symlink") == 0) {
		assert_int_equal(rename(path, other), 0);
		assert_int_equal(symlink(other, path), 0);
	} else if (strcmp(how, "fifo") == 0) {
		unlink(path);
		assert_int_equal(mkfifo(path, fk == F_SECRET ? 0600 : 0644), 0);
	} else if (strcmp(how, "directory") == 0) {
		unlink(path);
		assert_int_equal(mkdir(path, 0755), 0);
	} else if (strcmp(how, "1 MiB of garbage") == 0) {
		unsigned char *junk = malloc(1 << 20);

		assert_non_null(junk);
		for (size_t i = 0; i < (1 << 20); i++)
			junk[i] = (unsigned char)(i * 7919u >> 3);
		write_bytes(path, junk, 1 << 20, fk == F_SECRET ? 0600 : 0644);
		free(junk);
	} else if (strcmp(how, "NUL inside") == 0) {
		data[len / 2] = '\0';
		write_bytes(path, data, len, fk == F_SECRET ? 0600 : 0644);
	} else if (strncmp(how, "truncated at ", 13) == 0) {
		size_t at = (size_t)atol(how + 13);

		write_bytes(path, data, at < len ? at : len - 1, 0644);
	} else if (strcmp(how, "wrong magic") == 0) {
		data[0] ^= 0x20;
		write_bytes(path, data, len, 0644);
	} else if (strcmp(how, "wrong version") == 0) {
		((struct cb_db_header *)(void *)data)->version = 99;
		write_bytes(path, data, len, 0644);
	} else if (strcmp(how, "records offset out of range") == 0) {
		/* aligned, so the range check is what refuses it */
		((struct cb_db_header *)(void *)data)->records_off = ((uint64_t)len + 4096) & ~7ull;
		write_bytes(path, data, len, 0644);
	} else if (strcmp(how, "string offset out of range") == 0) {
		struct cb_db_header *h = (void *)data;

		for (uint32_t i = 0; i < h->n_records; i++)
			((struct cb_db_record *)(void *)(data + h->records_off))[i].login.off =
				0xfffffff0u;
		write_bytes(path, data, len, 0644);
	} else if (strcmp(how, "uid 0 inside") == 0) {
		struct cb_db_header *h = (void *)data;

		for (uint32_t i = 0; i < h->n_records; i++) {
			struct cb_db_record *rec =
				(struct cb_db_record *)(void *)(data + h->records_off) + i;

			rec->uid = rec->gid = 0;
		}
		write_bytes(path, data, len, 0644);
	} else if (strcmp(how, "every byte of the name index flipped") == 0) {
		struct cb_db_header *h = (void *)data;

		for (size_t i = 0; i < (size_t)h->n_slots * 4; i++)
			data[h->name_index_off + i] ^= 0xff;
		write_bytes(path, data, len, 0644);
	} else if (strcmp(how, "name index loops") == 0) {
		struct cb_db_header *h = (void *)data;
		uint32_t *ix = (uint32_t *)(void *)(data + h->name_index_off);

		/* every slot full and pointing at record 1: a probe never ends on
		 * an empty slot */
		for (uint32_t i = 0; i < h->n_slots; i++)
			ix[i] = 1;
		write_bytes(path, data, len, 0644);
	} else {
		fail_msg("unknown spoil %s", how);
	}
	free(data);
}

static void restore_files(void)
{
	char path[600], other[700];
	char *p;

	for (int f = F_CONF; f <= F_SECRET; f++) {
		file_path((enum file_kind)f, path, sizeof(path));
		snprintf(other, sizeof(other), "%s.real", path);
		unlink(other);
		rmdir(path);
		unlink(path);
	}
	write_config(CONF_EXTRA);
	p = test_write(g.dir, "secret", SECRET "\n", 0600);
	free(p);
	file_path(F_DB, path, sizeof(path));
	snprintf(other, sizeof(other), "%s.real", path);
	unlink(other);
	rmdir(path);
	fresh_db();
}

static void test_files(void **state)
{
	static const struct file_row rows[] = {
		{"config missing", F_CONF, "missing", PAM_SERVICE_ERR, "outcome=config_error"},
		{"config empty", F_CONF, "empty", PAM_SERVICE_ERR, "outcome=config_error"},
		{"config group/world-writable", F_CONF, "loose", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"config owned by a user", F_CONF, "user-owned", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"config a symlink", F_CONF, "symlink", PAM_SERVICE_ERR, "symlinks are refused"},
		{"config a FIFO", F_CONF, "fifo", PAM_SERVICE_ERR, "outcome=config_error"},
		{"config a directory", F_CONF, "directory", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"config 1 MiB of garbage", F_CONF, "1 MiB of garbage", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"config with a NUL", F_CONF, "NUL inside", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"secret missing", F_SECRET, "missing", PAM_SERVICE_ERR, "outcome=config_error"},
		{"secret empty", F_SECRET, "empty", PAM_AUTHINFO_UNAVAIL,
		 "outcome=client_rejected"},
		{"secret group-readable", F_SECRET, "loose", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"secret world-readable", F_SECRET, "world-readable secret", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"secret owned by a user", F_SECRET, "user-owned", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"secret a symlink", F_SECRET, "symlink", PAM_SERVICE_ERR, "symlinks are refused"},
		{"secret a FIFO", F_SECRET, "fifo", PAM_SERVICE_ERR, "outcome=config_error"},
		{"secret 1 MiB of garbage", F_SECRET, "1 MiB of garbage", PAM_SERVICE_ERR,
		 "outcome=config_error"},
		{"database missing", F_DB, "missing", PAM_USER_UNKNOWN, "outcome=not_found"},
		{"database empty", F_DB, "empty", PAM_AUTHINFO_UNAVAIL, "outcome=corrupt_database"},
		{"database group/world-writable", F_DB, "loose", PAM_SERVICE_ERR,
		 "outcome=unsafe_file"},
		{"database owned by a user", F_DB, "user-owned", PAM_SERVICE_ERR,
		 "outcome=unsafe_file"},
		{"database a symlink", F_DB, "symlink", PAM_SERVICE_ERR, "outcome=unsafe_file"},
		{"database a FIFO", F_DB, "fifo", PAM_SERVICE_ERR, "outcome=unsafe_file"},
		{"database 1 MiB of garbage", F_DB, "1 MiB of garbage", PAM_AUTHINFO_UNAVAIL,
		 "outcome=corrupt_database"},
		{"database truncated in the header", F_DB, "truncated at 50", PAM_AUTHINFO_UNAVAIL,
		 "outcome=corrupt_database"},
		{"database truncated in the records", F_DB, "truncated at 150",
		 PAM_AUTHINFO_UNAVAIL, "outcome=corrupt_database"},
		{"database truncated by one byte", F_DB, "truncated at 999999999",
		 PAM_AUTHINFO_UNAVAIL, "outcome=corrupt_database"},
		{"database wrong magic", F_DB, "wrong magic", PAM_AUTHINFO_UNAVAIL,
		 "outcome=corrupt_database"},
		{"database wrong version", F_DB, "wrong version", PAM_AUTHINFO_UNAVAIL,
		 "outcome=corrupt_database"},
		{"database records offset out of range", F_DB, "records offset out of range",
		 PAM_AUTHINFO_UNAVAIL, "outcome=corrupt_database"},
		{"database string offset out of range", F_DB, "string offset out of range",
		 PAM_AUTHINFO_UNAVAIL, "outcome=corrupt_database"},
		{"database uid 0 inside", F_DB, "uid 0 inside", PAM_AUTHINFO_UNAVAIL,
		 "outcome=corrupt_database"},
		{"database name index bit-flipped", F_DB, "every byte of the name index flipped",
		 PAM_AUTHINFO_UNAVAIL, "outcome=corrupt_database"},
		/* bounded probing: a name the index cannot lead to is not found */
		{"database name index loops", F_DB, "name index loops", PAM_USER_UNKNOWN,
		 "outcome=not_found"},
	};
	struct login_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct file_row *w = &rows[i];

		ctl("POST", "/reset", NULL);
		log_reset();
		spoil(w->file, w->how);
		/* the loop row asks for a name the index cannot lead to */
		login(strstr(w->how, "loops") != NULL ? "cbghost" : "cbalice", ALICE_PW, &r);
		if (r.auth != w->expect)
			row_failed("file", w->name, "wrong PAM code", r.auth);
		else if (!log_has(w->log) || !log_has("auth: user="))
			row_failed("file", w->name, "log line missing", r.auth);
		else if (r.seconds > 1.0)
			row_failed("file", w->name, "took too long (blocked?)", r.auth);
		/* nothing signs in on a broken file: no request, or (empty
		 * secret) the service refused the client */
		else if (w->expect != PAM_AUTHINFO_UNAVAIL && n_requests() != 0)
			row_failed("file", w->name, "a request was sent", r.auth);
		restore_files();
	}
	ROWS_DONE();
}

/* ---- PAM stacks ------------------------------------------------------------------ */

/* A failure of each class, made to happen; undone by setup. */
enum failure {
	OK_LOGIN,
	WRONG_PASSWORD,
	SERVICE_DOWN,
	MALFORMED,
	BAD_CONFIG,
	UNKNOWN_LOCAL,
	UNKNOWN_LOCAL_IGNORED,
	UNKNOWN_CLOUD,
	CONV_ABORT,
	N_FAILURES
};

static const char *const failure_names[N_FAILURES] = {"right password",
						      "wrong password",
						      "service down (503)",
						      "malformed answer",
						      "bad config (0666)",
						      "unknown local user",
						      "unknown local user, ignore_unknown_user",
						      "unknown CloudBase user",
						      "conversation aborted"};

struct stack {
	const char *name;
	const char *before; /* lines above the module's */
	const char *control;
	const char *after; /* lines below it */
	/* pam_authenticate's final result for each failure */
	int expect[N_FAILURES];
};

static void test_stacks(void **state)
{
	/* every failure is a denial whatever surrounds the module; only the
	 * deliberate PAM_IGNORE of ignore_unknown_user lets the stack decide */
	static const struct stack stacks[] = {
		{"sufficient + pam_deny",
		 "",
		 "sufficient",
		 "auth required pam_deny.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR,
		  PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR}},
		{"required + pam_permit",
		 "",
		 "required",
		 "auth required pam_permit.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL,
		  PAM_SERVICE_ERR, PAM_USER_UNKNOWN, PAM_SUCCESS, PAM_USER_UNKNOWN, PAM_CONV_ERR}},
		{"requisite + pam_permit",
		 "",
		 "requisite",
		 "auth required pam_permit.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_AUTHINFO_UNAVAIL,
		  PAM_SERVICE_ERR, PAM_USER_UNKNOWN, PAM_SUCCESS, PAM_USER_UNKNOWN, PAM_CONV_ERR}},
		{"[success=1 default=ignore] + pam_deny + pam_permit",
		 "",
		 "[success=1 default=ignore]",
		 "auth requisite pam_deny.so\nauth required pam_permit.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR,
		  PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR}},
		{"pam_permit + sufficient (a success before it)",
		 "auth optional pam_permit.so\n",
		 "sufficient",
		 "auth required pam_deny.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR,
		  PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR}},
	};
	struct login_result r;
	char text[2048], args[1200];

	(void)state;
	for (size_t s = 0; s < sizeof(stacks) / sizeof(stacks[0]); s++) {
		for (int f = 0; f < N_FAILURES; f++) {
			const char *user = "cbalice", *pw = ALICE_PW;
			enum conv_mode mode = CONV_SAME;
			char row[256];

			ctl("POST", "/reset", NULL);
			restore_files();
			log_reset();
			snprintf(args, sizeof(args), "conf=%s%s", g.conf_path,
				 f == UNKNOWN_LOCAL_IGNORED ? " ignore_unknown_user" : "");
			snprintf(text, sizeof(text), "%sauth %s %s %s\n%s", stacks[s].before,
				 stacks[s].control, g.so, args, stacks[s].after);
			write_service_text("stack", text);
			switch ((enum failure)f) {
			case WRONG_PASSWORD:
				pw = "not-her-password";
				break;
			case SERVICE_DOWN:
				fault1("\"fault\":\"status\",\"status\":503");
				break;
			case MALFORMED:
				fault1("\"fault\":\"malformed\"");
				break;
			case BAD_CONFIG:
				assert_int_equal(chmod(g.conf_path, 0666), 0);
				break;
			case UNKNOWN_LOCAL:
			case UNKNOWN_LOCAL_IGNORED:
				user = "cbstranger";
				break;
			case UNKNOWN_CLOUD:
				user = "cbghost";
				break;
			case CONV_ABORT:
				mode = CONV_FAIL;
				break;
			default:
				break;
			}
			run_login("stack", user, mode, pw, strlen(pw), &r);
			snprintf(row, sizeof(row), "%s / %s", stacks[s].name, failure_names[f]);
			if (r.auth != stacks[s].expect[f])
				row_failed("stack", row, "wrong final result", r.auth);
		}
	}
	restore_files();
	ROWS_DONE();
}

/* The account phase inside stacks: every refusal a denial there too. */
enum acct_failure {
	ACCT_OK,
	ACCT_NO_AUTH,
	ACCT_GROUPS,
	ACCT_REBOUND,
	ACCT_UNKNOWN,
	ACCT_CORRUPT,
	N_ACCT_FAILURES
};

static const char *const acct_failure_names[N_ACCT_FAILURES] = {
	"signed in here",	 "not signed in here (e.g. an SSH key)",
	"not in require_groups", "bound to another sub since the sign-in",
	"unknown local user",	 "database corrupted since the sign-in"};

static void test_account_stacks(void **state)
{
	static const struct {
		const char *name, *before, *control, *after;
		int expect[N_ACCT_FAILURES];
	} stacks[] = {
		{"sufficient + pam_deny",
		 "",
		 "sufficient",
		 "account required pam_deny.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR,
		  PAM_AUTH_ERR}},
		{"required + pam_permit",
		 "",
		 "required",
		 "account required pam_permit.so\n",
		 {PAM_SUCCESS, PAM_PERM_DENIED, PAM_PERM_DENIED, PAM_PERM_DENIED, PAM_USER_UNKNOWN,
		  PAM_AUTHINFO_UNAVAIL}},
		{"[success=1 default=ignore] + pam_deny + pam_permit",
		 "",
		 "[success=1 default=ignore]",
		 "account requisite pam_deny.so\naccount required pam_permit.so\n",
		 {PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_AUTH_ERR,
		  PAM_AUTH_ERR}},
	};
	struct login_result r;

	(void)state;
	for (size_t s = 0; s < sizeof(stacks) / sizeof(stacks[0]); s++) {
		for (int f = 0; f < N_ACCT_FAILURES; f++) {
			pam_handle_t *pamh;
			char text[2048], row[256], extra[64] = "";
			const char *user = f == ACCT_UNKNOWN ? "cbstranger" : "cbalice";
			int rc;

			ctl("POST", "/reset", NULL);
			log_reset(); /* a full /dev/log queue would block the module */
			fresh_db();
			if (f == ACCT_GROUPS)
				snprintf(extra, sizeof(extra), " require_groups=ops");
			snprintf(text, sizeof(text),
				 "auth required %s conf=%s\n%saccount %s %s conf=%s%s\n%s", g.so,
				 g.conf_path, stacks[s].before, stacks[s].control, g.so,
				 g.conf_path, extra, stacks[s].after);
			write_service_text("acctstack", text);
			memset(&r, 0, sizeof(r));
			r.conv.mode = CONV_SAME;
			r.conv.answers[0] = ALICE_PW;
			pamh = harness_start("acctstack", user, &r.conv, NULL);
			if (f != ACCT_NO_AUTH && f != ACCT_UNKNOWN)
				assert_int_equal(pam_authenticate(pamh, 0), PAM_SUCCESS);
			if (f == ACCT_REBOUND) {
				struct cb_config cfg;

				cb_config_init(&cfg);
				cfg.accounts_db = strdup(g.db);
				assert_int_equal(
					cb_state_update(&cfg, "cbalice", rebind,
							(void *)(uintptr_t) "11111111-1111-4111-"
									    "8111-111111111111",
							NULL),
					CB_OK);
				cb_config_free(&cfg);
			}
			if (f == ACCT_CORRUPT)
				spoil(F_DB, "wrong magic");
			rc = pam_acct_mgmt(pamh, 0);
			pam_end(pamh, rc);
			snprintf(row, sizeof(row), "%s / %s", stacks[s].name,
				 acct_failure_names[f]);
			if (rc != stacks[s].expect[f])
				row_failed("account stack", row, "wrong final result", rc);
		}
	}
	fresh_db();
	ROWS_DONE();
}

/* ---- the process a caller hands over ------------------------------------------ */

/* One login in a child whose limits or descriptors the caller spoiled, as a
 * sudo or su caller can: the result is the child's exit status (the PAM code
 * of the first failing phase), or 128 + the signal that killed it. */
static int login_in_spoiled_child(const char *how)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct conv cd = {.mode = CONV_SAME, .answers = {ALICE_PW}};
		struct pam_conv conv = {harness_conv, &cd};
		pam_handle_t *pamh = NULL;
		int rc;

		if (pam_start_confdir("cb", "cbalice", &conv, g.confdir, &pamh) != PAM_SUCCESS)
			_exit(100);
		pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
		if (strcmp(how, "no free descriptors") == 0) {
			struct rlimit rl = {0, 0};

			/* libpam loads the modules at the first call: done before
			 * the limit, so what fails is the module's own open() */
			pam_setcred(pamh, PAM_ESTABLISH_CRED);

			/* every new open(), socket() fails with EMFILE */
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				_exit(101);
		} else if (strcmp(how, "stdin, stdout, stderr closed") == 0) {
			close(0);
			close(1);
			close(2);
		} else if (strcmp(how, "file size limit 0") == 0) {
			struct rlimit rl = {0, 0};

			if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
				_exit(101);
		}
		rc = pam_authenticate(pamh, 0);
		if (rc == PAM_SUCCESS)
			rc = pam_acct_mgmt(pamh, 0);
		pam_end(pamh, rc);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	drain_log();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_spoiled_process(void **state)
{
	int rc;
	struct db_mark before;

	(void)state;
	/* no descriptor to open the config with: a denial, no crash (the
	 * module says PAM_SERVICE_ERR; Debian's libpam then fails its own
	 * audit socket and reports PAM_SYSTEM_ERR) */
	rc = login_in_spoiled_child("no free descriptors");
	if (rc == PAM_SUCCESS || rc == PAM_IGNORE || rc >= 128)
		row_failed("process", "no free descriptors", "not a denial", rc);
	/* the standard descriptors closed: the files and the socket the
	 * module opens take 0-2, and nothing of it is written anywhere */
	reset_requests();
	rc = login_in_spoiled_child("stdin, stdout, stderr closed");
	if (rc != PAM_SUCCESS || n_requests() != 1)
		row_failed("process", "stdin, stdout, stderr closed", "no normal login", rc);
	/* no file may grow: binding the sub cannot write the new database.
	 * The writer refuses before write(2) would raise SIGXFSZ and kill
	 * the caller's process in the middle of the stack */
	fresh_db();
	before = db_mark();
	log_reset();
	rc = login_in_spoiled_child("file size limit 0");
	if (rc != PAM_SYSTEM_ERR)
		row_failed("process", "file size limit 0", "not a clean denial", rc);
	else if (!log_has("the file size limit (0 bytes) is below"))
		row_failed("process", "file size limit 0", "log line missing", rc);
	if (!db_same(before) || sub_bound())
		row_failed("process", "file size limit 0", "the database changed", rc);
	fresh_db();
	ROWS_DONE();
}

/* ---- chauthtok input ----------------------------------------------------------- */

static void test_chauthtok_input(void **state)
{
	static const struct {
		const char *name, *old_pw, *new_pw;
		int expect;
		bool sent;
		const char *again; /* the retyped new password, NULL: the same */
	} rows[] = {
		{"the two new passwords differ", ALICE_PW, "New-Alice-Passw0rd9", PAM_AUTHTOK_ERR,
		 false, "New-Alice-Passw0rd8"},
		{"new password of 513 bytes", ALICE_PW, NULL, PAM_AUTHTOK_ERR, false, NULL},
		{"new password empty", ALICE_PW, "", PAM_AUTHTOK_ERR, false, NULL},
		{"new password not UTF-8", ALICE_PW, "New-\xff-Passw0rd", PAM_AUTHTOK_ERR, false,
		 NULL},
		{"old password empty", "", "New-Alice-Passw0rd9", PAM_AUTHTOK_ERR, false, NULL},
		{"old password not UTF-8", "Alice-\xc0\xaf", "New-Alice-Passw0rd9", PAM_AUTHTOK_ERR,
		 false, NULL},
		{"new password with JSON specials", ALICE_PW, "N\"e\\w&#%+?=1aA", PAM_SUCCESS, true,
		 NULL},
	};
	char big[514];

	(void)state;
	memset(big, 'N', 513);
	big[513] = '\0';
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *new_pw = rows[i].new_pw != NULL ? rows[i].new_pw : big;
		struct conv pa = {.answers = {rows[i].old_pw, new_pw,
					      rows[i].again != NULL ? rows[i].again : new_pw}};
		pam_handle_t *pamh;
		int rc;

		ctl("POST", "/reset", NULL);
		log_reset();
		pamh = harness_start("pw", "cbalice", &pa, NULL);
		rc = pam_chauthtok(pamh, 0);
		pam_end(pamh, rc);
		if (rc != rows[i].expect)
			row_failed("chauthtok", rows[i].name, "wrong PAM code", rc);
		else if (rows[i].sent != (n_requests() > 0))
			row_failed("chauthtok", rows[i].name,
				   rows[i].sent ? "nothing was sent" : "a request was sent", rc);
		else if (rows[i].again != NULL &&
			 strcmp(pa.messages, "Sorry, passwords do not match.|") != 0)
			row_failed("chauthtok", rows[i].name, "no mismatch message", rc);
	}
	ROWS_DONE();
}

/* ---- what the user is told ------------------------------------------------------- */

static void test_same_message(void **state)
{
	struct login_result wrong, unknown_cloud, unknown_local, invalid_local;

	(void)state;
	/* the same prompt for everyone, and no message that tells the cases
	 * apart */
	login("cbalice", "not-her-password", &wrong);
	login("cbghost", "whatever-pw", &unknown_cloud);
	login("cbstranger", "whatever-pw", &unknown_local);
	login("no:such", "whatever-pw", &invalid_local);
	assert_int_equal(wrong.auth, PAM_AUTH_ERR);
	assert_int_equal(unknown_cloud.auth, PAM_USER_UNKNOWN);
	assert_string_equal(wrong.conv.messages, unknown_cloud.conv.messages);
	assert_string_equal(wrong.conv.messages, unknown_local.conv.messages);
	assert_string_equal(wrong.conv.messages, invalid_local.conv.messages);
	assert_string_equal(wrong.conv.prompts, unknown_cloud.conv.prompts);
	assert_string_equal(wrong.conv.prompts, unknown_local.conv.prompts);
	assert_string_equal(wrong.conv.prompts, invalid_local.conv.prompts);
	assert_string_equal(wrong.conv.prompts, "*Password: |");
	/* ... while the log tells an admin which it was */
	assert_true(log_has("user=cbalice service=cb"));
	assert_true(log_has("outcome=auth_failed"));
	assert_true(log_has("user=cbghost service=cb"));
	assert_true(log_has("outcome=user_unknown"));
	assert_true(log_has("user=(unknown) service=cb"));
	assert_true(log_has("outcome=not_found"));
}

/* The config and the password-only service every row starts from. */
static int write_fixtures(void **state)
{
	char text[1024];

	(void)state;
	write_config(CONF_EXTRA);
	snprintf(text, sizeof(text), "password required %s conf=%s\n", g.so, g.conf_path);
	write_service_text("pw", text);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_passwords, setup),
		cmocka_unit_test_setup(test_usernames, setup),
		cmocka_unit_test_setup(test_server_answers, setup),
		cmocka_unit_test_setup(test_wrong_types, setup),
		cmocka_unit_test_setup(test_transport, setup),
		cmocka_unit_test_setup(test_files, setup),
		cmocka_unit_test_setup(test_stacks, setup),
		cmocka_unit_test_setup(test_same_message, setup),
		cmocka_unit_test_setup(test_account_stacks, setup),
		cmocka_unit_test_setup(test_spoiled_process, setup),
		cmocka_unit_test_setup(test_chauthtok_input, setup),
	};

	return harness_main("matrix", tests, write_fixtures);
}
