/* SPDX-License-Identifier: BSD-3-Clause */
/* The module-through-libpam harness of test_pam and test_sms: syslog
 * capture on a private /dev/log (under tests/ns-run), the emulator's
 * control port, config, service and account-database fixtures. */
#ifndef CB_TEST_PAM_HARNESS_H
#define CB_TEST_PAM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

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
	char ctl_body[1 << 18]; /* the last control answer */
	size_t ctl_len;
};

extern struct harness g;

/* From the environment pam_tests.sh sets: EMU_DIR, PAM_CLOUDBASE_SO
 * (PAM_CBTEST_SO too, optional).
 * Makes the scratch dir, the client secret and pam.d/other (deny); binds
 * /dev/log unless no_log. Returns false when not run by pam_tests.sh. */
bool harness_init(bool no_log);
void harness_done(void);

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

/* The integer in dir/name (an emulator's port files), 0 if none. */
int read_int_file(const char *dir, const char *name);

/* cloudbase.conf pointing at the emulator, plus extra lines (which may
 * set their own ca_path or timeout); g.conf_path names it. */
void write_config(const char *extra);
/* The same for the emulator on port, trusting the CA of the one in emu. */
void write_config_for(const char *emu, int port, const char *extra);
/* pam.d/<name>: auth, account, password, session lines for the module. */
void write_service(const char *name, const char *args);
void write_service_text(const char *name, const char *text);
/* A record in the account database (phone and sub may be NULL). */
void add_record(const char *name, const char *login, const char *phone, const char *sub);
void remove_accounts(void);
/* The sub bound to a record, or NULL; malloc'd. */
char *account_sub(const char *name);

#endif
