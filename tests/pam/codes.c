/* SPDX-License-Identifier: BSD-3-Clause */
/* The one-time code tests' shared part (codes.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "codes.h"

/* ---- the conversation -------------------------------------------------- */

char seen_codes[256][8];
int n_seen_codes;

/* The last code sent to contact (a phone number, or an e-mail address:
 * the e-mail outbox), "" if none. */
static void outbox_code(const char *contact, char out[8])
{
	char path[400], *code;
	const char *p;
	size_t n = 0;

	n = (size_t)snprintf(path, sizeof(path),
			     "/outbox?%s=", strchr(contact, '@') != NULL ? "email" : "phone");
	for (p = contact; *p != '\0' && n + 4 < sizeof(path); p++)
		n += (size_t)snprintf(path + n, sizeof(path) - n,
				      *p == '+'	  ? "%%2B"
				      : *p == ' ' ? "%%20"
						  : "%c",
				      *p);
	code = ctl_get_string(path, "code");
	snprintf(out, 8, "%s", code != NULL ? code : "");
	free(code);
	if (out[0] != '\0' && n_seen_codes < 256)
		memcpy(seen_codes[n_seen_codes++], out, 8);
}

/* The conversation's answer_fn (codes.h, run); answer_arg is the contact
 * whose outbox "@code" reads. */
static char *answer_for(struct conv *c, const char *a)
{
	char code[8], buf[32];

	if (a[0] != '@')
		return strdup(a);
	if (strcmp(a, "@expire") == 0)
		ctl("POST", "/clock", "{\"advance\": 601}");
	if (strcmp(a, "@slow") == 0)
		usleep(1500 * 1000);
	outbox_code(c->answer_arg, code);
	if (code[0] == '\0')
		snprintf(code, sizeof(code), "123456"); /* nothing was sent */
	if (strcmp(a, "@wrong") == 0)
		for (int i = 0; code[i] != '\0'; i++)
			code[i] = (char)('0' + (code[i] - '0' + 1) % 10);
	if (strcmp(a, "@spaced") == 0) {
		snprintf(buf, sizeof(buf), " %.2s %.2s %.2s ", code, code + 2, code + 4);
		return strdup(buf);
	}
	return strdup(code);
}

/* ---- one transaction ----------------------------------------------------- */

/* pam_authenticate (+ pam_acct_mgmt after a success) for user on service,
 * answering with the NULL-terminated list. */
int run(const char *service, const char *user, const char *contact, struct result *r,
	const char *const *answers)
{
	static struct pam_conv conv;
	pam_handle_t *pamh = NULL;
	char confdir[512];

	memset(r, 0, sizeof(*r));
	r->acct = -1;
	r->conv.answer_fn = answer_for;
	r->conv.answer_arg = contact;
	for (int i = 0; answers != NULL && answers[i] != NULL && i < CONV_MAX_ANSWERS; i++)
		r->conv.answers[i] = answers[i];
	snprintf(confdir, sizeof(confdir), "%s/pam.d", g.dir);
	conv.conv = harness_conv;
	conv.appdata_ptr = &r->conv;
	assert_int_equal(pam_start_confdir(service, user, &conv, confdir, &pamh), PAM_SUCCESS);
	pam_set_item(pamh, PAM_RHOST, "203.0.113.9");
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	r->auth = pam_authenticate(pamh, 0);
	if (r->auth == PAM_SUCCESS)
		r->acct = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, r->auth);
	drain_log();
	return r->auth;
}

int login(const char *user, const char *contact, struct result *r, const char *const *answers)
{
	return run("cb", user, contact, r, answers);
}

void method(const char *m, const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text), "method = %s\n%s", m, extra != NULL ? extra : "");
	write_config(text);
}

long sent_count(const char *contact)
{
	struct json_object *o, *e, *c;
	long n = 0;

	ctl("GET", strchr(contact, '@') != NULL ? "/email-outbox" : "/outbox", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, contact, &e) &&
	    json_object_object_get_ex(e, "count", &c))
		n = (long)json_object_get_int64(c);
	json_object_put(o);
	return n;
}

void request_paths(char *out, size_t outsz, bool *one_connection)
{
	struct json_object *o, *list, *e, *v;
	long conn = -1;

	out[0] = '\0';
	*one_connection = true;
	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o == NULL || !json_object_object_get_ex(o, "requests", &list)) {
		json_object_put(o);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		size_t l = strlen(out);
		const char *path = "";

		e = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(e, "path", &v))
			path = json_object_get_string(v);
		if (strncmp(path, "/auth/v1/", 9) == 0)
			path += 9;
		snprintf(out + l, outsz - l, "%s%s", l > 0 ? "," : "", path);
		if (json_object_object_get_ex(e, "connection", &v)) {
			if (conn >= 0 && json_object_get_int64(v) != conn)
				*one_connection = false;
			conn = (long)json_object_get_int64(v);
		}
	}
	json_object_put(o);
}
