/* SPDX-License-Identifier: BSD-3-Clause */
/* What the one-time code tests (test_sms.c, test_email.c) share on top of
 * harness.h: a conversation that reads codes from the emulator's outboxes,
 * one transaction, and what the emulator saw. */
#ifndef CB_TEST_CODES_H
#define CB_TEST_CODES_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* the harness's name as these files have always used it */
#define last_delay g.last_delay

/* Every code the conversation read in this run (for the log secrecy
 * tests). */
extern char seen_codes[256][8];
extern int n_seen_codes;

struct result {
	int auth, acct;
	struct conv conv;
};

/* pam_authenticate (+ pam_acct_mgmt after a success) for user on service,
 * answering with the NULL-terminated list. contact: the phone number or
 * e-mail address (with '@') whose outbox an answer "@code" reads:
 * "@code": the code; "@wrong": a code that is not it; "@spaced": the code
 * as " 12 34 56 "; "@expire": move the emulator's clock past the code's
 * life, then the code; "@slow": the code after 1.5 s. Anything else is
 * answered as it is. */
int run(const char *service, const char *user, const char *contact, struct result *r,
	const char *const *answers);
#define ANS(...) ((const char *const[]){__VA_ARGS__, NULL})
/* run() on the service "cb" */
int login(const char *user, const char *contact, struct result *r, const char *const *answers);
/* cloudbase.conf with method = m and the extra lines */
void method(const char *m, const char *extra);

#define assert_transcript(r, expected)                                                             \
	do {                                                                                       \
		if (strcmp((r)->conv.transcript, expected) != 0) {                                 \
			fprintf(stderr, "# transcript:\n#   got  %s\n#   want %s\n",               \
				(r)->conv.transcript, expected);                                   \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

/* How many codes the emulator sent to contact (0 if none). */
long sent_count(const char *contact);

/* The API paths the emulator saw, in order, without /auth/v1/:
 * "signin,user/me,..."; and whether they all came on one connection. */
void request_paths(char *out, size_t outsz, bool *one_connection);

#endif
