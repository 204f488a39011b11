/* SPDX-License-Identifier: BSD-3-Clause */
/* The SMS flows: method=sms, method=password+sms and method=password|sms.
 *
 * Decisions (pam_cloudbase(8), METHODS, says the same to admins):
 *
 * - sms: the number comes from the account record (its phone, else a
 *   login that is a phone number), normalised to "+86 13800000000". No
 *   number on record: a message and a denial. The user is asked for a
 *   number only with sms_prompt_phone, and then only for a record with a
 *   bound sub: a typed number would otherwise let anyone who holds any
 *   CloudBase phone account in as this local user, and lets anyone make
 *   the host send SMS to any number.
 * - The masked number is part of the code prompt itself ("SMS code sent to
 *   +86 138****0001: "), always, not only under sshd: OpenSSH shows
 *   PAM_TEXT_INFO only together with the next prompt, and one rule for
 *   every service is simpler to test and to explain.
 * - password+sms: the password sign-in first; the code then goes to the
 *   number the service holds (GET /user/me with the new access token). The
 *   record's number is used only when the service has none; when both
 *   exist they must agree, else the login is refused (the record is the
 *   admin's statement of who may log in here; a changed number is for the
 *   admin to confirm). Both sign-ins must give the same sub; the password's
 *   session is revoked as soon as /user/me has answered.
 * - No oracle in password+sms: the code prompt always follows the password
 *   prompt, with the same text (it shows the record's number, or no number
 *   when the record has none, never the service's). When the password was
 *   wrong, or no usable number exists (none, or they differ), no SMS is
 *   sent; every answer is checked for its format and then treated as a
 *   wrong code, with the same messages, the same number of tries, the same
 *   expiry and the same final outcome (PAM_MAXTRIES) as a real run of
 *   wrong codes; waits of about the round trips the real path makes are
 *   added (best effort). The log keeps the real reason. The one exception
 *   is a send refused for the rate limit after a right password: the user
 *   is told how long to wait (the number was just sent a code, which its
 *   owner sees).
 * - password|sms: a one-line menu, then that flow.
 * - A name the module refuses (auth.c, cb_pam_decoy_prompt) is asked what a
 *   managed user is asked: the menu, the password prompt, a code prompt
 *   with a number shaped and masked like a real one (decoy_phone: the same
 *   for the same name, not computable without the host's key), then the
 *   loop of wrong codes. Nothing is sent; no round trip is waited for.
 * - Codes: spaces are dropped, then exactly CB_SMS_CODE_LEN digits, else
 *   refused before any request; a malformed code counts as a try (so a
 *   client that keeps answering garbage ends). An empty answer gives up at
 *   once. Wrong codes re-prompt on the same verification id up to
 *   otp_retries; the service's "aborted" or the limit give PAM_MAXTRIES; an
 *   expired code a message and PAM_AUTH_ERR; a rate-limited send a message
 *   with the wait and PAM_MAXTRIES, never a resend.
 * - One cb_api (one connection, one TLS handshake) per flow; its time
 *   budget restarts after each prompt (the user's reading time is not the
 *   service's).
 * - Codes, verification ids and tokens are never logged; phone numbers
 *   only masked.
 * - sshd: PasswordAuthentication answers every echo-off prompt with the one
 *   password and fails echo-on ones, so SMS needs keyboard-interactive. The
 *   module cannot tell which sshd method runs; under a service named sshd*
 *   a code prompt answered with a non-code, or a menu left unanswered, logs
 *   a hint naming KbdInteractiveAuthentication.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "module.h"
#include "secure.h"

/* [guess] (cloudbase-auth-api.md): codes are 6 digits. The one place. */
#define CB_SMS_CODE_LEN 6
/* [guess] the service aborts a verification id at the 5th wrong code; the
 * decoy of password+sms stops there too */
#define CB_SMS_SERVICE_TRIES 5
/* [doc] a code lives 600 s, one SMS per number per 60 s */
#define CB_SMS_LIFETIME 600
#define CB_SMS_INTERVAL 60
/* the decoy never waits longer than this per step */
#define CB_SMS_MAX_PAD_MS 3000

/* What the user sees; the tests and the e2e harness match these. */
#define PROMPT_CODE "SMS code sent to %s: "
#define PROMPT_CODE_NO_NUMBER "SMS code sent to your phone: "
#define PROMPT_MENU "Sign in with 1) password or 2) SMS code: "
#define PROMPT_PHONE "Phone number for the SMS code: "
#define MSG_WRONG_CODE "Wrong code. Try again."
#define MSG_CODE_FORMAT "The code is the %d digits from the SMS. Try again."
#define MSG_EXPIRED "The code has expired. Sign in again to get a new one."
#define MSG_NO_PHONE                                                                               \
	"No phone number is on record for this account, so no SMS code can be sent. "              \
	"Contact your administrator."
#define MSG_BAD_PHONE "That is not a phone number."
#define MSG_WAIT "A code was sent to this number moments ago. Wait %ld seconds and try again."
#define MSG_MENU "Answer 1 (password) or 2 (SMS code)."
#define HINT_SSHD                                                                                  \
	"SMS codes need sshd's keyboard-interactive authentication "                               \
	"(KbdInteractiveAuthentication yes); PasswordAuthentication answers one prompt only"

/* ---- small helpers --------------------------------------------------------- */

static bool service_is_sshd(const struct cb_pam *ctx)
{
	return ctx->service != NULL && strncmp(ctx->service, "sshd", 4) == 0;
}

/* sshd's PasswordAuthentication answers every echo-off prompt with the
 * password and fails echo-on ones: say what to change, once a flow. */
static void sshd_hint(struct cb_pam *ctx, bool *hinted, const char *what)
{
	if (!service_is_sshd(ctx) || *hinted)
		return;
	*hinted = true;
	cb_log(&ctx->log, LOG_WARNING, "service %s: %s for %s; %s", ctx->service, what, ctx->user,
	       HINT_SSHD);
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	if (ms > CB_SMS_MAX_PAD_MS)
		ms = CB_SMS_MAX_PAD_MS;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* "+86 13800000001" -> "+86 138****0001": enough for the owner to
 * recognise, too little to learn a number from a login prompt. */
static void mask_phone(const char *phone, char *out, size_t outsz)
{
	const char *nat = strchr(phone, ' ');
	size_t n, head, tail;
	char stars[24];

	nat = nat != NULL ? nat + 1 : phone;
	n = strlen(nat);
	if (n >= 8) {
		head = 3;
		tail = 4;
	} else {
		head = 0;
		tail = n >= 4 ? 2 : 0;
	}
	if (n - head - tail >= sizeof(stars))
		n = head + tail + sizeof(stars) - 1;
	memset(stars, '*', n - head - tail);
	stars[n - head - tail] = '\0';
	snprintf(out, outsz, "%.*s%.*s%s%s", (int)(nat - phone), phone, (int)head, nat, stars,
		 nat + strlen(nat) - tail);
}

static void code_prompt(char *out, size_t outsz, const char *phone)
{
	char masked[40];

	if (phone == NULL) {
		snprintf(out, outsz, "%s", PROMPT_CODE_NO_NUMBER);
		return;
	}
	mask_phone(phone, masked, sizeof(masked));
	snprintf(out, outsz, PROMPT_CODE, masked);
}

/* The number on the account record: its phone, else a login that is a
 * phone number. CB_ERR_NOT_FOUND when there is none. */
static cb_status record_phone(struct cb_pam *ctx, char phone[24])
{
	const char *p = ctx->acct.phone;

	if ((p == NULL || p[0] == '\0') && ctx->acct.login != NULL && ctx->acct.login[0] == '+')
		p = ctx->acct.login;
	if (p == NULL || p[0] == '\0')
		return CB_ERR_NOT_FOUND;
	if (cb_normalize_phone(p, phone, 24) != CB_OK) {
		cb_log(&ctx->log, LOG_ERR, "account record of %s: the phone number is not valid",
		       ctx->user);
		return CB_ERR_PHONE_INVALID;
	}
	return CB_OK;
}

enum code_shape { CODE_OK, CODE_EMPTY, CODE_MALFORMED };

/* Spaces dropped, then exactly CB_SMS_CODE_LEN digits. */
static enum code_shape parse_code(const char *answer, char code[CB_SMS_CODE_LEN + 1])
{
	size_t n = 0, seen = 0;

	for (const char *p = answer; *p != '\0' && seen <= CB_PAM_MAX_INPUT; p++, seen++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (!isdigit((unsigned char)*p) || n == CB_SMS_CODE_LEN) {
			cb_wipe(code, CB_SMS_CODE_LEN + 1);
			return CODE_MALFORMED;
		}
		code[n++] = *p;
	}
	code[n] = '\0';
	if (seen > CB_PAM_MAX_INPUT)
		return CODE_MALFORMED;
	if (n == 0)
		return seen == 0 ? CODE_EMPTY : CODE_MALFORMED;
	return n == CB_SMS_CODE_LEN ? CODE_OK : CODE_MALFORMED;
}

/* The wait the service asked for: "... retry after 57 seconds". */
static long retry_after(const struct cb_api *api)
{
	const char *p = strstr(api->last_description, "after ");
	long s;

	if (p == NULL)
		return CB_SMS_INTERVAL;
	s = strtol(p + 6, NULL, 10);
	return s > 0 && s <= 3600 ? s : CB_SMS_INTERVAL;
}

static void tellf(struct cb_pam *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tellf(struct cb_pam *ctx, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cb_pam_tell(ctx, true, msg);
}

/* ---- the code step ------------------------------------------------------------- */

struct code_step {
	struct cb_pam *ctx;
	struct cb_api *api;
	const char *prompt;
	const char *verification_id; /* NULL: the decoy, nothing was sent */
	long expires_in; /* seconds */
	struct timespec sent;
	long pad_ms; /* decoy: the wait a verify round trip would take */
	bool hinted;
};

static cb_status check_code(struct code_step *cs, const char *code, char **vtoken, bool *expired)
{
	cb_status st;

	/* the decoy of password+sms: nothing was sent, there is no connection */
	if (cs->verification_id == NULL || cs->api == NULL) {
		sleep_ms(cs->pad_ms);
		return CB_ERR_CODE_INVALID;
	}
	st = cb_api_verification_verify(cs->api, cs->verification_id, code, vtoken);
	/* the service says "expired" only in its description */
	*expired =
		st == CB_ERR_CODE_INVALID && strstr(cs->api->last_description, "expired") != NULL;
	return st;
}

/* Ask for the code until it is right, the tries are used up, the service
 * aborts or the code expires. *vtoken gets the verification token. */
static cb_status code_loop(struct code_step *cs, char **vtoken)
{
	struct cb_pam *ctx = cs->ctx;
	unsigned tries = ctx->cfg.otp_retries;
	char code[CB_SMS_CODE_LEN + 1];
	cb_status st;

	*vtoken = NULL;
	if (cs->verification_id == NULL && tries > CB_SMS_SERVICE_TRIES)
		tries = CB_SMS_SERVICE_TRIES;
	for (unsigned i = 1; i <= tries; i++) {
		char *answer = NULL;
		enum code_shape shape;
		bool expired = false;

		st = cb_pam_prompt(ctx, cs->prompt, ctx->cfg.otp_echo, &answer);
		if (st != CB_OK) {
			sshd_hint(ctx, &cs->hinted, "the code prompt got no answer");
			return st;
		}
		if (cs->api != NULL)
			cb_api_restart_budget(cs->api);
		shape = parse_code(answer, code);
		cb_free_secret(answer);
		if (shape == CODE_EMPTY) {
			cb_log(&ctx->log, LOG_INFO, "sms: empty code for %s: given up", ctx->user);
			return CB_ERR_INPUT;
		}
		if (elapsed_ms(&cs->sent) / 1000 >= cs->expires_in) {
			expired = true;
		} else if (shape == CODE_MALFORMED) {
			sshd_hint(ctx, &cs->hinted, "an answer to the code prompt is not a code");
			st = CB_ERR_INPUT;
		} else {
			st = check_code(cs, code, vtoken, &expired);
		}
		cb_wipe(code, sizeof(code));
		if (expired) {
			cb_log(&ctx->log, LOG_NOTICE, "sms: code expired for %s", ctx->user);
			cb_pam_tell(ctx, true, MSG_EXPIRED);
			ctx->told = true;
			return CB_ERR_CODE_INVALID;
		}
		switch (st) {
		case CB_OK:
			return CB_OK;
		case CB_ERR_CODE_ABORTED:
			cb_log(&ctx->log, LOG_NOTICE, "sms: too many wrong codes for %s (service)",
			       ctx->user);
			return st;
		case CB_ERR_CODE_INVALID:
		case CB_ERR_INPUT:
			cb_log(&ctx->log, LOG_NOTICE, "sms: %s for %s (%u of %u)%s",
			       st == CB_ERR_INPUT ? "malformed code" : "wrong code", ctx->user, i,
			       tries, cs->verification_id == NULL ? ", no code was sent" : "");
			if (i < tries) {
				if (st == CB_ERR_INPUT)
					tellf(ctx, MSG_CODE_FORMAT, CB_SMS_CODE_LEN);
				else
					cb_pam_tell(ctx, true, MSG_WRONG_CODE);
			}
			break;
		default:
			return st;
		}
	}
	cb_log(&ctx->log, LOG_NOTICE, "sms: too many wrong codes for %s (otp_retries=%u)",
	       ctx->user, tries);
	return CB_ERR_CODE_ABORTED;
}

/* The code prompt when nothing was sent: the same prompts, messages and end
 * as a run of wrong codes. Returns what the user and the application are
 * shown. */
static cb_status decoy_loop(struct cb_pam *ctx, const char *prompt, long rtt_ms, int round_trips)
{
	struct code_step cs = {
		.ctx = ctx, .prompt = prompt, .expires_in = CB_SMS_LIFETIME, .pad_ms = rtt_ms};
	char *vtoken = NULL;
	cb_status st;

	/* the round trips the real path still makes before its prompt */
	sleep_ms(round_trips * rtt_ms);
	clock_gettime(CLOCK_MONOTONIC, &cs.sent);
	st = code_loop(&cs, &vtoken);
	cb_clear_secret(&vtoken);
	return st != CB_OK ? st : CB_ERR_CODE_INVALID;
}

/* password+sms when there is nothing to send a code for; the caller logged
 * the real reason, which stays the outcome in the decision line. */
static cb_status decoy(struct cb_pam *ctx, const char *prompt, long rtt_ms, int round_trips,
		       cb_status real)
{
	ctx->shown = decoy_loop(ctx, prompt, rtt_ms, round_trips);
	return real;
}

/* Send a code to phone, ask for it, sign in with the verification token. */
static cb_status sms_signin(struct cb_pam *ctx, struct cb_api *api, const char *phone,
			    const char *prompt, struct cb_tokens *tok)
{
	struct cb_verification ver;
	struct code_step cs = {.ctx = ctx, .api = api, .prompt = prompt};
	char masked[40], *vtoken = NULL;
	cb_status st;

	memset(tok, 0, sizeof(*tok));
	mask_phone(phone, masked, sizeof(masked));
	st = cb_api_verification_send(api, phone, &ver);
	if (st == CB_ERR_RATE_LIMITED) {
		long wait = retry_after(api);

		cb_log(&ctx->log, LOG_NOTICE,
		       "sms: sending to %s for %s rate limited: retry after %ld s", masked,
		       ctx->user, wait);
		tellf(ctx, MSG_WAIT, wait);
		ctx->told = true;
		return st;
	}
	if (st != CB_OK) {
		cb_log(&ctx->log, LOG_NOTICE, "sms: sending to %s for %s failed: %s request_id=%s",
		       masked, ctx->user, cb_status_name(st), cb_api_request_id(api));
		return st;
	}
	cb_log(&ctx->log, LOG_INFO, "sms: code sent to %s for %s request_id=%s", masked, ctx->user,
	       cb_api_request_id(api));
	clock_gettime(CLOCK_MONOTONIC, &cs.sent);
	cs.verification_id = ver.verification_id;
	cs.expires_in = ver.expires_in > 0 ? ver.expires_in : CB_SMS_LIFETIME;
	st = code_loop(&cs, &vtoken);
	if (st == CB_OK) {
		st = cb_api_signin_verification_token(api, vtoken, tok);
		cb_log(&ctx->log, st == CB_OK ? LOG_DEBUG : LOG_NOTICE,
		       "sms: signin with the verification token for %s: %s request_id=%s",
		       ctx->user, cb_status_name(st), cb_api_request_id(api));
	}
	cb_clear_secret(&vtoken);
	cb_verification_free(&ver);
	return st;
}

/* ---- method=sms ------------------------------------------------------------------ */

static cb_status prompt_phone(struct cb_pam *ctx, char phone[24])
{
	char *answer = NULL;
	cb_status st;

	st = cb_pam_prompt(ctx, PROMPT_PHONE, true, &answer);
	if (st != CB_OK)
		return st;
	st = cb_normalize_phone(answer, phone, 24);
	cb_free_secret(answer);
	if (st != CB_OK) {
		cb_pam_tell(ctx, true, MSG_BAD_PHONE);
		ctx->told = true;
	}
	return st;
}

/* The number for method=sms: the record's, or (sms_prompt_phone, bound
 * records only) a typed one. */
static cb_status sms_phone(struct cb_pam *ctx, char phone[24])
{
	cb_status st = record_phone(ctx, phone);

	if (st != CB_ERR_NOT_FOUND)
		return st;
	if (ctx->cfg.sms_prompt_phone && ctx->bound_sub != NULL)
		return prompt_phone(ctx, phone);
	cb_log(&ctx->log, LOG_NOTICE, "sms: no phone number on record for %s%s", ctx->user,
	       ctx->cfg.sms_prompt_phone ? " (sms_prompt_phone needs a bound sub)" : "");
	cb_pam_tell(ctx, true, MSG_NO_PHONE);
	ctx->told = true;
	return CB_ERR_DENIED;
}

cb_status cb_pam_sms_flow(struct cb_pam *ctx)
{
	struct cb_api api;
	struct cb_tokens tok;
	char phone[24], prompt[128];
	cb_status st;

	st = sms_phone(ctx, phone);
	if (st != CB_OK)
		return st;
	code_prompt(prompt, sizeof(prompt), phone);
	st = cb_pam_api_open(ctx, &api);
	if (st != CB_OK)
		return st;
	st = sms_signin(ctx, &api, phone, prompt, &tok);
	if (st == CB_OK)
		st = cb_pam_finish_signin(ctx, &api, &tok);
	cb_tokens_free(&tok);
	cb_pam_api_close(ctx, &api);
	return st;
}

/* ---- method=password+sms --------------------------------------------------------- */

/* Where the second factor goes: the service's number; the record's only if
 * the service has none; both must agree. CB_ERR_DENIED when there is no
 * usable number (logged). */
static cb_status second_factor_phone(struct cb_pam *ctx, struct cb_api *api,
				     const struct cb_tokens *tok, const char *rphone,
				     char phone[24])
{
	struct cb_user me;
	char sphone[24], m1[40], m2[40];
	bool have_s;
	cb_status st;

	st = cb_api_user_me(api, tok->access_token, &me);
	if (st != CB_OK)
		return st;
	if (strcmp(me.sub, tok->sub) != 0) {
		cb_log(&ctx->log, LOG_ERR,
		       "password+sms: /user/me is about another sub than the "
		       "sign-in: refused");
		cb_user_free(&me);
		return CB_ERR_PROTOCOL;
	}
	have_s = me.phone_number != NULL;
	if (have_s && cb_normalize_phone(me.phone_number, sphone, sizeof(sphone)) != CB_OK) {
		cb_log(&ctx->log, LOG_WARNING,
		       "password+sms: the service's phone number for %s is "
		       "not usable",
		       ctx->user);
		have_s = false;
		st = CB_ERR_DENIED;
	}
	cb_user_free(&me);
	if (st != CB_OK)
		return st;
	if (have_s && rphone != NULL && strcmp(sphone, rphone) != 0) {
		mask_phone(rphone, m1, sizeof(m1));
		mask_phone(sphone, m2, sizeof(m2));
		cb_log(&ctx->log, LOG_WARNING,
		       "password+sms: the phone number on record for %s (%s) differs from the "
		       "service's (%s): refused; update the account record",
		       ctx->user, m1, m2);
		return CB_ERR_DENIED;
	}
	if (have_s) {
		memcpy(phone, sphone, sizeof(sphone));
		return CB_OK;
	}
	if (rphone != NULL) {
		cb_log(&ctx->log, LOG_INFO,
		       "password+sms: the service has no phone number for %s: using the record's",
		       ctx->user);
		memcpy(phone, rphone, 24);
		return CB_OK;
	}
	cb_log(&ctx->log, LOG_NOTICE,
	       "password+sms: no phone number for %s, neither on record "
	       "nor at the service",
	       ctx->user);
	return CB_ERR_DENIED;
}

/* Both factors on one connection: password sign-in, /user/me, revoke of
 * that first session (its token is not needed any more), /verification,
 * the code, /verification/verify, /signin with the verification token. */
static cb_status both_factors(struct cb_pam *ctx, struct cb_api *api, const char *rphone,
			      const char *prompt, struct cb_tokens *tok)
{
	struct cb_tokens pw;
	char phone[24];
	long rtt;
	cb_status st;

	memset(tok, 0, sizeof(*tok));
	st = cb_pam_password_factor(ctx, api, &pw);
	rtt = ctx->signin_ms;
	if (st == CB_ERR_AUTH || st == CB_ERR_INPUT) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "password+sms: wrong password for %s: the code prompt follows, no SMS is "
		       "sent",
		       ctx->user);
		return decoy(ctx, prompt, rtt, 3, st);
	}
	if (st != CB_OK)
		return st;
	st = second_factor_phone(ctx, api, &pw, rphone, phone);
	if (cb_api_revoke(api, pw.access_token) != CB_OK)
		cb_log(&ctx->log, LOG_INFO, "password+sms: the password session was not revoked");
	if (st == CB_ERR_DENIED)
		st = decoy(ctx, prompt, rtt, 1, st);
	else if (st == CB_OK)
		st = sms_signin(ctx, api, phone, prompt, tok);
	if (st == CB_OK && strcmp(tok->sub, pw.sub) != 0) {
		cb_log(&ctx->log, LOG_ALERT,
		       "password+sms: the SMS sign-in for %s gave another sub than the password: "
		       "refused",
		       ctx->user);
		st = CB_ERR_SUB_MISMATCH;
	}
	cb_tokens_free(&pw);
	if (st != CB_OK)
		cb_tokens_free(tok);
	return st;
}

cb_status cb_pam_password_sms_flow(struct cb_pam *ctx)
{
	struct cb_api api;
	struct cb_tokens tok;
	char rphone[24], prompt[128];
	bool have_r;
	cb_status st;

	/* decided before the password: the prompt must not depend on it */
	st = record_phone(ctx, rphone);
	if (st != CB_OK && st != CB_ERR_NOT_FOUND)
		return st;
	have_r = st == CB_OK;
	code_prompt(prompt, sizeof(prompt), have_r ? rphone : NULL);
	st = cb_pam_api_open(ctx, &api);
	if (st != CB_OK)
		return st;
	st = both_factors(ctx, &api, have_r ? rphone : NULL, prompt, &tok);
	if (st == CB_OK)
		st = cb_pam_finish_signin(ctx, &api, &tok);
	cb_tokens_free(&tok);
	cb_pam_api_close(ctx, &api);
	return st;
}

/* ---- method=password|sms ----------------------------------------------------------- */

/* The menu: *choice 1 (password) or 2 (SMS code). */
static cb_status ask_choice(struct cb_pam *ctx, int *choice)
{
	char *answer = NULL, *a, *end;
	bool hinted = false;
	cb_status st;

	*choice = 0;
	st = cb_pam_prompt(ctx, PROMPT_MENU, true, &answer);
	if (st != CB_OK) {
		sshd_hint(ctx, &hinted, "the method menu got no answer");
		return st;
	}
	for (a = answer; *a == ' ' || *a == '\t'; a++)
		;
	end = a + strnlen(a, CB_PAM_MAX_INPUT);
	while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcmp(a, "1") == 0 || strcasecmp(a, "password") == 0)
		*choice = 1;
	else if (strcmp(a, "2") == 0 || strcasecmp(a, "sms") == 0)
		*choice = 2;
	cb_free_secret(answer);
	if (*choice == 0) {
		cb_pam_tell(ctx, true, MSG_MENU);
		ctx->told = true;
		return CB_ERR_INPUT;
	}
	cb_log(&ctx->log, LOG_DEBUG, "password|sms: %s chose %s", ctx->user,
	       *choice == 1 ? "password" : "sms");
	return CB_OK;
}

cb_status cb_pam_choice_flow(struct cb_pam *ctx)
{
	int choice;
	cb_status st = ask_choice(ctx, &choice);

	if (st != CB_OK)
		return st;
	return choice == 1 ? cb_pam_password_flow(ctx) : cb_pam_sms_flow(ctx);
}

/* ---- names the module refuses ------------------------------------------------------- */

/* The number in the code prompt of a name the module refuses, shaped like a
 * mainland mobile number (the service sends SMS codes there only) and
 * masked like a real one. It must be the same for the same name every time
 * (a number that changed between two tries would give the decoy away) and
 * not computable from the name alone (else anyone could tell it from a
 * real one): HMAC-SHA256 of the name, keyed with the client secret and the
 * machine id, which a remote user knows neither of. */
static void decoy_phone(struct cb_pam *ctx, char phone[24])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char key[CB_SECRET_MAX_SIZE + 64] = "";
	char *secret = NULL;
	size_t keylen;
	uint32_t rest;

	if (!cb_device_id(key, 49))
		key[0] = '\0';
	if (cb_config_load_secret(&ctx->cfg, &secret, &ctx->log) == CB_OK) {
		snprintf(key + strlen(key), sizeof(key) - strlen(key), ":%s", secret);
		cb_free_secret(secret);
	}
	keylen = strlen(key);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)ctx->user,
		 strlen(ctx->user), mac, &maclen) == NULL ||
	    maclen < 6)
		memset(mac, 0, sizeof(mac));
	cb_wipe(key, sizeof(key));
	rest = ((uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5]) %
	       100000000U;
	snprintf(phone, 24, "+86 1%c%c%08u", '3' + mac[0] % 7, '0' + mac[1] % 10, (unsigned)rest);
	cb_wipe(mac, sizeof(mac));
}

static cb_status decoy_codes(struct cb_pam *ctx)
{
	char phone[24], prompt[128];

	decoy_phone(ctx, phone);
	code_prompt(prompt, sizeof(prompt), phone);
	return decoy_loop(ctx, prompt, 0, 0);
}

cb_status cb_pam_sms_decoy(struct cb_pam *ctx)
{
	cb_status st;
	int choice;

	switch (ctx->cfg.method) {
	case CB_METHOD_SMS:
		return decoy_codes(ctx);
	case CB_METHOD_PASSWORD_SMS:
		st = cb_pam_decoy_password(ctx);
		return st == CB_OK ? decoy_codes(ctx) : st;
	case CB_METHOD_CHOICE:
		st = ask_choice(ctx, &choice);
		if (st != CB_OK)
			return st;
		if (choice == 2)
			return decoy_codes(ctx);
		st = cb_pam_decoy_password(ctx);
		return st == CB_OK ? CB_ERR_NOT_FOUND : st;
	default:
		return CB_ERR_NOT_FOUND;
	}
}
