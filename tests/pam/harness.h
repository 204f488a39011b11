/* SPDX-License-Identifier: BSD-3-Clause */
/* The module-through-libpam harness of the C PAM tests (test_pam,
 * test_sms, test_matrix, test_hardening, test_secrets, test_dns,
 * test_failinject, test_loadunload): one conversation function, one way to
 * start and run a transaction, syslog capture on a private /dev/log (under
 * tests/ns-run), the emulator's control port, config, service and
 * account-database fixtures. */
#ifndef CB_TEST_PAM_HARNESS_H
#define CB_TEST_PAM_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <security/pam_appl.h>

#include "state.h"

struct harness {
	char *dir; /* per-binary scratch: config, secret, service files, db */
	const char *emu; /* state dir of the emulator */
	const char *so; /* the module under test */
	const char *helper_so; /* pam_cbtest_authtok.so (PAM_CBTEST_SO), or NULL */
	int port, ctl_port;
	int logfd;
	char log[1 << 20]; /* every syslog line of the whole run */
	size_t loglen;
	char testlog[1 << 16]; /* the lines of the current test */
	size_t testloglen;
	char conf_path[256];
	char confdir[512]; /* dir/pam.d, for pam_start_confdir */
	char db[512]; /* dir/accounts.db */
	char ctl_body[1 << 20]; /* the last control answer */
	size_t ctl_len;
	unsigned last_delay; /* what the module last asked PAM_FAIL_DELAY for (us) */
	/* every SMS code an "@" answer read from the outbox in this run (a
	 * secrecy test searches the log for each) */
	char codes[256][8];
	int n_codes;
};

extern struct harness g;

/* From the environment pam_tests.sh sets: EMU_DIR, PAM_CLOUDBASE_SO
 * (PAM_CBTEST_SO too, optional).
 * Makes the scratch dir, the client secret and pam.d/other (deny) and binds
 * /dev/log; with no_log (a child process given its parent's dir) only reads
 * the environment. Returns false when not run by pam_tests.sh. */
bool harness_init(bool no_log);
void harness_done(void);

/* The main() of a test binary that tests/pam/<group>_tests.sh runs (it
 * starts the emulator and sets what harness_init reads): harness_init, the
 * cmocka group (group_setup first unless NULL), harness_done. Returns
 * cmocka's result (the failed tests), or 99, a hard error to make check,
 * outside that script. */
int harness_run_group(const char *group, const struct CMUnitTest *tests, size_t n,
		      CMFixtureFunction group_setup);
#define harness_main(group, tests, group_setup)                                                    \
	harness_run_group(group, tests, sizeof(tests) / sizeof((tests)[0]), group_setup)

/* ---- the conversation ---- */

#define CONV_MAX_ANSWERS 12

/* How the conversation answers a prompt. */
enum conv_mode {
	CONV_IN_ORDER, /* answers[0], [1], ...: one a prompt; PAM_CONV_ERR after the last */
	CONV_SAME, /* answers[0] to every prompt */
	CONV_SSHD, /* sshd's PasswordAuthentication: answers[0] to every echo-off
		    * prompt, PAM_CONV_ERR to an echo-on one */
	CONV_NULL_REPLY, /* a reply array whose replies are NULL */
	CONV_NO_REPLY, /* PAM_SUCCESS without a reply array */
	CONV_FAIL, /* PAM_CONV_ERR: the user pressed Ctrl-C */
};

/* The appdata of harness_conv: how to answer, and what was asked and said.
 * Zeroed, it answers in order and has seen nothing. */
struct conv {
	enum conv_mode mode;
	const char *answers[CONV_MAX_ANSWERS];
	size_t answer_len; /* bytes of answers[0] when it holds a NUL; 0: strlen */
	/* Non-NULL: an answer starting with '@' is the code the emulator last
	 * sent to this phone number or, with an '@' in it, e-mail address (its
	 * SMS or e-mail outbox), or "123456" if it sent none:
	 * "@code" the code; "@wrong" a code that is not it; "@spaced" the code
	 * as " 12 34 56 "; "@expire" the code after moving the emulator's clock
	 * past its life (601 s); "@slow" the code after 1.5 s.
	 * NULL: every answer is sent as written. */
	const char *contact;
	unsigned delay_ms; /* waited before each answer: a user reading and typing */
	int next; /* the next answer, CONV_IN_ORDER */
	char prompts[512]; /* "*Password: |": each prompt, echo-off marked with '*' */
	char messages[1024]; /* PAM_ERROR_MSG and PAM_TEXT_INFO texts, '|' after each */
	char transcript[2048]; /* all of it in order: "*prompt|", "prompt|", "E:msg|", "I:msg|" */
	double asked[CONV_MAX_ANSWERS + 1]; /* when each prompt came (now_s) */
	int n_asked;
};

/* The answers of a conversation as a list literal: conv_answers(&c, ANS("pw", "@code")). */
#define ANS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* answers[] from a NULL-terminated list (NULL: none), the first
 * CONV_MAX_ANSWERS of it. */
void conv_answers(struct conv *c, const char *const *list);

/* Fails the test unless the transcript is exactly expected. */
#define assert_transcript(c, expected)                                                             \
	do {                                                                                       \
		if (strcmp((c)->transcript, expected) != 0) {                                      \
			fprintf(stderr, "# transcript:\n#   got  %s\n#   want %s\n",               \
				(c)->transcript, expected);                                        \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* A struct pam_conv's conv: appdata_ptr is a struct conv. */
int harness_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg);

/* PAM_FAIL_DELAY: records the delay in g.last_delay and sleeps none, which
 * keeps the runs short. */
void no_delay(int retval, unsigned usec_delay, void *arg);

/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

/* ---- a transaction ---- */

/* pam_start_confdir(service, user) in g.dir/pam.d, answering through
 * harness_conv from c (which must outlive the handle), PAM_FAIL_DELAY set
 * to no_delay, PAM_RHOST to rhost unless NULL. Fails the test unless libpam
 * started. */
pam_handle_t *harness_start(const char *service, const char *user, struct conv *c,
			    const char *rhost);

/* One login, as sshd, sudo and su run it. */
struct login_result {
	int auth; /* pam_authenticate's code */
	int acct; /* pam_acct_mgmt's, -1 when it did not run */
	double seconds; /* how long pam_authenticate took */
	struct conv conv; /* set its answers before; what was asked and said after */
};

enum login_flags {
	LOGIN_ACCT = 1, /* pam_acct_mgmt after a successful pam_authenticate */
};

/* harness_start, pam_authenticate (timed), pam_acct_mgmt as flags say,
 * pam_end; then the log drained. l->conv as the caller set it (answers,
 * mode, phone, delay), the rest of l overwritten. Returns l->auth. */
int harness_login(const char *service, const char *user, const char *rhost, unsigned flags,
		  struct login_result *l);

/* The code tests' login (test_sms, test_email, test_offline): r zeroed,
 * its answers from the NULL-terminated list, "@" answers read contact's
 * outbox (struct conv), then harness_login with rhost 203.0.113.9 and the
 * account phase. code_login: on the service "cb". Returns r->auth. */
int code_run(const char *service, const char *user, const char *contact, struct login_result *r,
	     const char *const *answers);
int code_login(const char *user, const char *contact, struct login_result *r,
	       const char *const *answers);
/* cloudbase.conf with "method = m" and the extra lines (NULL: none). */
void write_method(const char *m, const char *extra);

void drain_log(void);
void log_reset(void);
bool log_has(const char *s);
#define assert_log(s)                                                                              \
	do {                                                                                       \
		if (!log_has(s)) {                                                                 \
			fprintf(stderr, "# log lacks \"%s\"; log:\n%s", s, g.testlog);             \
			fail();                                                                    \
		}                                                                                  \
	} while (0)
#define assert_no_log(s)                                                                           \
	do {                                                                                       \
		if (log_has(s)) {                                                                  \
			fprintf(stderr, "# log has \"%s\"; log:\n%s", s, g.testlog);               \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* The control port: the HTTP status (0: no answer); the body in g.ctl_body. */
long ctl_call(const char *method, const char *path, const char *json);
long ctl_port_call(int port, const char *method, const char *path, const char *json);
/* The same, failing the test unless 200. */
void ctl(const char *method, const char *path, const char *json);
void fault(const char *json);
long stat_of(const char *name);
long path_count(const char *path);
/* A string member of the JSON object at key path "a" (one level) of
 * GET path, or NULL; malloc'd. */
char *ctl_get_string(const char *path, const char *key);
/* A raw 200 application/json answer with this body, sent as it is (the
 * emulator checks nothing), to the next request of path (e.g. "/signin"). */
void raw_answer(const char *path, const char *body);
/* The last code the emulator sent to contact: a phone number (as the
 * database spells it: "+86 13800000001"), or an e-mail address (with an
 * '@': the e-mail outbox); NULL if none; malloc'd. */
char *outbox_code(const char *contact);
/* How many codes the emulator sent to contact since its reset. */
long outbox_count(const char *contact);
/* The API requests the emulator saw since its reset, in order, as
 * "signin,user/me,..." (paths without /auth/v1/); with connections, each
 * path followed by '@' and its connection as a letter in order of first
 * use ("verification@a,verification/verify@b": the verify went on a new
 * connection). Returns how many connections carried them. */
int request_log(char *out, size_t outsz, bool connections);

/* This test binary (self) again as "self --login-once g.dir ARG...", the
 * list ending at NULL, under valgrind memcheck: its exit status, 42 for an
 * invalid access or a definite or indirect leak, -1 if it did not exit.
 * Fails the test when valgrind is missing. */
int login_once_in_valgrind(const char *self, ...) __attribute__((sentinel));

/* The integer in dir/name (an emulator's port files), 0 if none. */
int read_int_file(const char *dir, const char *name);

/* cloudbase.conf pointing at the emulator, with ca_path its CA,
 * connect_timeout = 2 and timeout = 5 (seconds), plus extra lines: a key
 * extra sets is left out of those; g.conf_path names it. */
void write_config(const char *extra);
/* The same for the emulator on port, trusting the CA of the one in emu. */
void write_config_for(const char *emu, int port, const char *extra);
/* The same with this base_url, trusting the emulator's CA. */
void write_config_url(const char *url, const char *extra);
/* pam.d/<name>: auth, account, password, session lines for the module. */
void write_service(const char *name, const char *args);
void write_service_text(const char *name, const char *text);
/* A record in the account database (phone and sub may be NULL). */
void add_record(const char *name, const char *login, const char *phone, const char *sub);
/* The same with an e-mail address (NULL: none). */
void add_record_email(const char *name, const char *login, const char *phone, const char *email,
		      const char *sub);
void remove_accounts(void);
/* The sub bound to a record (the state store), or NULL; malloc'd. */
char *account_sub(const char *name);
/* Bind name to sub in the state store. */
void bind_sub(const char *name, const char *sub);
/* Edit name's state record (a test's own changes: ages, counters). */
void edit_state(const char *name, cb_state_edit_fn edit, void *arg);
/* Read name's state record (cb_state_load's statuses). */
cb_status load_state(const char *name, struct cb_state *st);
/* The path of name's state record file. */
void state_path(const char *name, char *out, size_t outsz);

#endif
