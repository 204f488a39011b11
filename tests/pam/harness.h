/* SPDX-License-Identifier: BSD-3-Clause */
/* The module-through-libpam harness of the C PAM tests (test_pam,
 * test_sms, test_matrix, test_failinject, test_loadunload): one
 * conversation function, syslog capture on a private /dev/log (under
 * tests/ns-run), the emulator's control port, config, service and
 * account-database fixtures. */
#ifndef CB_TEST_PAM_HARNESS_H
#define CB_TEST_PAM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

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
};

extern struct harness g;

/* From the environment pam_tests.sh sets: EMU_DIR, PAM_CLOUDBASE_SO
 * (PAM_CBTEST_SO too, optional).
 * Makes the scratch dir, the client secret and pam.d/other (deny) and binds
 * /dev/log; with no_log (a child process given its parent's dir) only reads
 * the environment. Returns false when not run by pam_tests.sh. */
bool harness_init(bool no_log);
void harness_done(void);

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
	/* The reply to an answer, malloc'd (test_sms: "@code" is read from the
	 * emulator's outbox); NULL: the answer's bytes. */
	char *(*answer_fn)(struct conv *c, const char *answer);
	const void *answer_arg; /* for answer_fn */
	int next; /* the next answer, CONV_IN_ORDER */
	char prompts[512]; /* "*Password: |": each prompt, echo-off marked with '*' */
	char messages[1024]; /* PAM_ERROR_MSG and PAM_TEXT_INFO texts, '|' after each */
	char transcript[2048]; /* all of it in order: "*prompt|", "prompt|", "E:msg|", "I:msg|" */
	double asked[CONV_MAX_ANSWERS + 1]; /* when each prompt came (now_s) */
	int n_asked;
};

/* A struct pam_conv's conv: appdata_ptr is a struct conv. */
int harness_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg);

/* PAM_FAIL_DELAY: records the delay in g.last_delay and sleeps none, which
 * keeps the runs short. */
void no_delay(int retval, unsigned usec_delay, void *arg);

/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

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

/* This test binary (self) again as "self --login-once g.dir ARG...", the
 * list ending at NULL, under valgrind memcheck: its exit status, 42 for an
 * invalid access or a definite or indirect leak, -1 if it did not exit.
 * Fails the test when valgrind is missing. */
int login_once_in_valgrind(const char *self, ...) __attribute__((sentinel));

/* The integer in dir/name (an emulator's port files), 0 if none. */
int read_int_file(const char *dir, const char *name);

/* cloudbase.conf pointing at the emulator, plus extra lines (which may
 * set their own ca_path or timeout); g.conf_path names it. */
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
