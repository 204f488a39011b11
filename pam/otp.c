/* SPDX-License-Identifier: BSD-3-Clause */
/* The one-time code methods: sms, email, password+sms, password+email, and
 * the menu (password|sms, password|email, sms|email, password|sms|email).
 *
 * Decisions (pam_cloudbase(8), METHODS, says the same to admins). An SMS
 * code and an e-mail code differ only in their channel (struct channel):
 * where the contact comes from, how it is checked and masked, and the
 * words shown; every rule below holds for both.
 *
 * - sms, email: the contact comes from the account record: for SMS its
 *   phone, else a login that is a phone number, normalised to
 *   "+86 13800000000"; for e-mail its email, else a login that is an
 *   address (cb_valid_email). None on record: a message and a denial. A
 *   malformed one: a message (contact the administrator) and a denial,
 *   nothing sent. The user is asked for a number only with
 *   sms_prompt_phone, and then only for a record with a bound sub: a typed
 *   contact would otherwise let anyone who holds any CloudBase account with
 *   that contact in as this local user, and lets anyone make the host send
 *   codes anywhere. There is no such option for e-mail.
 * - The masked contact is part of the code prompt itself ("SMS code sent
 *   to +86 138****0001: ", "E-mail code sent to a***@example.com: "),
 *   always, not only under sshd: OpenSSH shows PAM_TEXT_INFO only together
 *   with the next prompt, and one rule for every service is simpler to
 *   test and to explain.
 * - password+sms, password+email: the password sign-in first; the code
 *   then goes to the contact the service holds (GET /user/me with the new
 *   access token). The record's is used only when the service has none;
 *   when both exist they must agree (e-mail addresses compared without
 *   regard to case), else the login is refused (the record is the admin's
 *   statement of who may log in here; a changed contact is for the admin
 *   to confirm). Both sign-ins must give the same sub; the password's
 *   session is revoked as soon as /user/me has answered.
 * - No oracle in password+X: the code prompt always follows the password
 *   prompt, with the same text (it shows the record's contact, or none when
 *   the record has none, never the service's). When the password was
 *   wrong, or no usable contact exists (none, or they differ), no code is
 *   sent; every answer is checked for its format and then treated as a
 *   wrong code, with the same messages, the same number of tries, the same
 *   expiry and the same final outcome (PAM_MAXTRIES) as a real run of
 *   wrong codes; waits of about the round trips the real path makes are
 *   added (best effort). The log keeps the real reason. The one exception
 *   is a send refused for the rate limit after a right password: the user
 *   is told how long to wait (the contact was just sent a code, which its
 *   owner sees).
 * - The menu offers the methods the configuration names, always in the
 *   order password, SMS code, e-mail code, numbered from 1; the answer is
 *   the number or the word (password, sms, email). Then that flow.
 * - A name the module refuses (cb_pam_otp_decoy) is asked what a managed
 *   user is asked: the menu, the password prompt, a code prompt with a
 *   contact shaped and masked like a real one (decoy_contact: the same for
 *   the same name, not computable without the host's key), then the loop
 *   of wrong codes. Nothing is sent; no round trip is waited for.
 * - Codes: spaces are dropped, then exactly CB_API_CODE_LEN digits, else
 *   refused before any request; a malformed code counts as a try (so a
 *   client that keeps answering garbage ends). An empty answer gives up at
 *   once. Wrong codes re-prompt on the same verification id up to
 *   otp_retries; the service's "aborted" or the limit give PAM_MAXTRIES; an
 *   expired code a message and PAM_AUTH_ERR; a rate-limited send a message
 *   with the wait and PAM_MAXTRIES, never a resend.
 * - One cb_api (one connection, one TLS handshake) per flow; its time
 *   budget restarts after each prompt (the user's reading time is not the
 *   service's).
 * - Codes, verification ids and tokens are never logged; phone numbers and
 *   e-mail addresses only masked.
 * - sshd: PasswordAuthentication answers every echo-off prompt with the one
 *   password and fails echo-on ones, so codes need keyboard-interactive.
 *   The module cannot tell which sshd method runs; under a service named
 *   sshd* a code prompt answered with a non-code, or a menu left
 *   unanswered, logs a hint naming KbdInteractiveAuthentication.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
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

#include "accountdb_map.h"
#include "i18n.h"
#include "module.h"
#include "names.h"
#include "secure.h"

/* the decoy never waits longer than this per step */
#define MAX_PAD_MS 3000
/* a contact of either kind, with its NUL */
#define CONTACT_SIZE (CB_EMAIL_MAX + 1)
/* its masked form */
#define MASKED_SIZE (CB_EMAIL_MAX + 8)
/* a prompt or message with a contact or a number in it: the masked contact
 * and room for a translation of the text around it */
#define TEXT_SIZE (MASKED_SIZE + 384)

/* What the user sees (in their language: _() where shown); the tests and
 * the e2e harness match the English texts. */
#define PROMPT_PHONE N_("Phone number for the SMS code: ")
#define MSG_WRONG_CODE N_("Wrong code. Try again.")
#define MSG_BAD_PHONE N_("That is not a phone number.")
#define MSG_OFFLINE_CODE                                                                           \
	N_("The CloudBase service cannot be reached, and a one-time code needs it. Try again "     \
	   "later.")
#define HINT_SSHD                                                                                  \
	"one-time codes need sshd's keyboard-interactive authentication "                          \
	"(KbdInteractiveAuthentication yes); PasswordAuthentication answers one prompt only"

/* What differs between an SMS code and an e-mail code. The texts a user
 * sees are marked N_() here and looked up with _() where shown; the texts
 * with a contact or a number in them are whole formats per channel below
 * (code_prompt_text, tell_format, tell_wait). */
struct channel {
	enum cb_contact_kind kind;
	const char *name; /* log lines */
	const char *both; /* the two-factor method's name, for log lines */
	const char *what; /* the contact, for log lines */
	const char *prompt_none; /* the code prompt when the record has no contact */
	const char *msg_none;
	const char *msg_malformed;
	const char *msg_unknown;
};

static const struct channel sms = {
	.kind = CB_CONTACT_PHONE,
	.name = "sms",
	.both = "password+sms",
	.what = "phone number",
	.prompt_none = N_("SMS code sent to your phone: "),
	.msg_none = N_("No phone number is on record for this account, so no SMS code can be "
		       "sent. Contact your administrator."),
	.msg_malformed = N_("The phone number on record cannot receive SMS codes. Contact your "
			    "administrator."),
	.msg_unknown = N_("No CloudBase account has the phone number on record. Contact your "
			  "administrator."),
};

static const struct channel email = {
	.kind = CB_CONTACT_EMAIL,
	.name = "email",
	.both = "password+email",
	.what = "e-mail address",
	.prompt_none = N_("E-mail code sent to your e-mail address: "),
	.msg_none = N_("No e-mail address is on record for this account, so no code can be "
		       "sent. Contact your administrator."),
	.msg_malformed = N_("The e-mail address on record cannot receive codes. Contact your "
			    "administrator."),
	.msg_unknown = N_("No CloudBase account has the e-mail address on record. Contact your "
			  "administrator."),
};

/* The channel's texts with a number or a contact in them: one whole format
 * per channel (a translator sees the sentence, and the compiler checks
 * each format and its translation through _()). */
static void code_prompt_text(const struct channel *ch, const char *masked, char *out, size_t outsz)
{
	if (ch->kind == CB_CONTACT_EMAIL)
		/* TRANSLATORS: a code prompt; %s is the masked address, a***@example.com */
		snprintf(out, outsz, _("E-mail code sent to %s: "), masked);
	else
		/* TRANSLATORS: a code prompt; %s is the masked number, +86 138****0001 */
		snprintf(out, outsz, _("SMS code sent to %s: "), masked);
}

static void tell_format(struct cb_pam *ctx, const struct channel *ch)
{
	char msg[TEXT_SIZE];

	if (ch->kind == CB_CONTACT_EMAIL)
		snprintf(msg, sizeof(msg),
			 _("The code is the %d digits from the e-mail. Try again."),
			 CB_API_CODE_LEN);
	else
		snprintf(msg, sizeof(msg), _("The code is the %d digits from the SMS. Try again."),
			 CB_API_CODE_LEN);
	cb_pam_tell(ctx, true, msg);
}

static void tell_wait(struct cb_pam *ctx, const struct channel *ch, long seconds)
{
	char msg[TEXT_SIZE];

	if (ch->kind == CB_CONTACT_EMAIL)
		snprintf(msg, sizeof(msg),
			 P_("A code was sent to this address moments ago. Wait %ld second and try "
			    "again.",
			    "A code was sent to this address moments ago. Wait %ld seconds and try "
			    "again.",
			    seconds),
			 seconds);
	else
		snprintf(msg, sizeof(msg),
			 P_("A code was sent to this number moments ago. Wait %ld second and try "
			    "again.",
			    "A code was sent to this number moments ago. Wait %ld seconds and try "
			    "again.",
			    seconds),
			 seconds);
	cb_pam_tell(ctx, true, msg);
}

static const struct channel *channel_of(enum cb_method m)
{
	return m == CB_METHOD_EMAIL || m == CB_METHOD_PASSWORD_EMAIL ? &email : &sms;
}

/* One flow's working set. */
struct otp {
	struct cb_pam *ctx;
	struct cb_outcome *out;
	const struct channel *ch;
	struct cb_api *api; /* NULL in a decoy: nothing is sent */
	bool hinted;
};

/* ---- small helpers --------------------------------------------------------- */

/* The user in log lines: people type passwords into the name field, so a
 * name the module refuses is logged only with debug (as in the decision
 * line). */
static const char *who(const struct cb_pam *ctx)
{
	return ctx->have_acct || ctx->cfg.debug ? ctx->user : "(unknown)";
}

/* sshd's PasswordAuthentication answers every echo-off prompt with the
 * password and fails echo-on ones: say what to change, once a flow. */
static void sshd_hint(struct cb_pam *ctx, bool *hinted, const char *what)
{
	if (ctx->service == NULL || strncmp(ctx->service, "sshd", 4) != 0 || *hinted)
		return;
	*hinted = true;
	cb_log(&ctx->log, LOG_WARNING, "service %s: %s for %s; %s", ctx->service, what, who(ctx),
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
	if (ms > MAX_PAD_MS)
		ms = MAX_PAD_MS;
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

static void mask(const struct channel *ch, const char *contact, char *out, size_t outsz)
{
	if (ch->kind == CB_CONTACT_EMAIL)
		cb_mask_email(contact, out, outsz);
	else
		mask_phone(contact, out, outsz);
}

static void code_prompt(const struct channel *ch, const char *contact, char *out, size_t outsz)
{
	char masked[MASKED_SIZE];

	if (contact == NULL) {
		snprintf(out, outsz, "%s", _(ch->prompt_none));
		return;
	}
	mask(ch, contact, masked, sizeof(masked));
	code_prompt_text(ch, masked, out, outsz);
}

/* A contact as the service wants it: CB_OK, or CB_ERR_PHONE_INVALID /
 * CB_ERR_EMAIL_INVALID. */
static cb_status normalize(const struct channel *ch, const char *in, char out[CONTACT_SIZE])
{
	if (ch->kind == CB_CONTACT_PHONE)
		return cb_normalize_phone(in, out, CB_PHONE_MAX + 1);
	if (!cb_valid_email(in))
		return CB_ERR_EMAIL_INVALID;
	snprintf(out, CONTACT_SIZE, "%s", in);
	return CB_OK;
}

static bool same_contact(const struct channel *ch, const char *a, const char *b)
{
	return ch->kind == CB_CONTACT_EMAIL ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* The contact on the account record: its phone (email), else a login that
 * is one. CB_ERR_NOT_FOUND when there is none. */
static cb_status record_contact(struct cb_pam *ctx, const struct channel *ch,
				char contact[CONTACT_SIZE])
{
	const char *c = ch->kind == CB_CONTACT_PHONE ? ctx->acct.phone : ctx->acct.email;
	const char *login = ctx->acct.login;
	cb_status st;

	if ((c == NULL || c[0] == '\0') && login != NULL &&
	    (ch->kind == CB_CONTACT_PHONE ? login[0] == '+' : strchr(login, '@') != NULL))
		c = login;
	if (c == NULL || c[0] == '\0')
		return CB_ERR_NOT_FOUND;
	st = normalize(ch, c, contact);
	if (st != CB_OK)
		cb_log(&ctx->log, LOG_ERR, "account record of %s: the %s is not valid", who(ctx),
		       ch->what);
	return st;
}

enum code_shape { CODE_OK, CODE_EMPTY, CODE_MALFORMED };

/* Spaces dropped, then exactly CB_API_CODE_LEN digits. */
static enum code_shape parse_code(const char *answer, char code[CB_API_CODE_LEN + 1])
{
	size_t n = 0, seen = 0;

	for (const char *p = answer; *p != '\0' && seen <= CB_PAM_MAX_INPUT; p++, seen++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (!isdigit((unsigned char)*p) || n == CB_API_CODE_LEN) {
			cb_wipe(code, CB_API_CODE_LEN + 1);
			return CODE_MALFORMED;
		}
		code[n++] = *p;
	}
	code[n] = '\0';
	if (seen > CB_PAM_MAX_INPUT)
		return CODE_MALFORMED;
	if (n == 0)
		return seen == 0 ? CODE_EMPTY : CODE_MALFORMED;
	return n == CB_API_CODE_LEN ? CODE_OK : CODE_MALFORMED;
}

/* The flow ends with this message (no second one from run()). */
static void tell_final(struct otp *o, const char *msg)
{
	cb_pam_tell(o->ctx, true, msg);
	o->out->told = true;
}

/* ---- the code step ------------------------------------------------------------- */

struct code_step {
	const char *prompt;
	const char *verification_id; /* NULL: the decoy, nothing was sent */
	long expires_in; /* seconds */
	struct timespec sent;
	long pad_ms; /* decoy: the wait a verify round trip would take */
};

/* Ask for the code until it is right, the tries are used up, the service
 * aborts or the code expires. *vtoken gets the verification token. */
static cb_status code_loop(struct otp *o, struct code_step *cs, char **vtoken)
{
	struct cb_pam *ctx = o->ctx;
	const char *name = o->ch->name;
	unsigned tries = ctx->cfg.otp_retries;
	char code[CB_API_CODE_LEN + 1];
	cb_status st;

	*vtoken = NULL;
	/* the service would abort the verification id there */
	if (cs->verification_id == NULL && tries > CB_API_CODE_TRIES)
		tries = CB_API_CODE_TRIES;
	for (unsigned i = 1; i <= tries; i++) {
		char *answer = NULL;
		enum code_shape shape;

		st = cb_pam_prompt(ctx, cs->prompt, ctx->cfg.otp_echo, &answer);
		if (st != CB_OK) {
			sshd_hint(ctx, &o->hinted, "the code prompt got no answer");
			return st;
		}
		if (o->api != NULL)
			cb_api_restart_budget(o->api);
		shape = parse_code(answer, code);
		cb_free_secret(answer);
		if (shape == CODE_EMPTY) {
			cb_log(&ctx->log, LOG_INFO, "%s: empty code for %s: given up", name,
			       who(ctx));
			return CB_ERR_INPUT;
		}
		if (elapsed_ms(&cs->sent) / 1000 >= cs->expires_in) {
			st = CB_ERR_CODE_EXPIRED;
		} else if (shape == CODE_MALFORMED) {
			sshd_hint(ctx, &o->hinted, "an answer to the code prompt is not a code");
			st = CB_ERR_INPUT;
		} else if (cs->verification_id == NULL || o->api == NULL) {
			/* a decoy: nothing was sent, there is no connection */
			sleep_ms(cs->pad_ms);
			st = CB_ERR_CODE_INVALID;
		} else {
			st = cb_api_verification_verify(o->api, cs->verification_id, code, vtoken);
		}
		cb_wipe(code, sizeof(code));
		switch (st) {
		case CB_OK:
			return CB_OK;
		case CB_ERR_CODE_EXPIRED:
			cb_log(&ctx->log, LOG_NOTICE, "%s: code expired for %s", name, who(ctx));
			return st;
		case CB_ERR_CODE_ABORTED:
			cb_log(&ctx->log, LOG_NOTICE, "%s: too many wrong codes for %s (service)",
			       name, who(ctx));
			return st;
		case CB_ERR_CODE_INVALID:
		case CB_ERR_INPUT:
			cb_log(&ctx->log, LOG_NOTICE, "%s: %s for %s (%u of %u)%s", name,
			       st == CB_ERR_INPUT ? "malformed code" : "wrong code", who(ctx), i,
			       tries, cs->verification_id == NULL ? ", no code was sent" : "");
			if (i < tries) {
				if (st == CB_ERR_INPUT)
					tell_format(ctx, o->ch);
				else
					cb_pam_tell(ctx, true, _(MSG_WRONG_CODE));
			}
			break;
		default:
			return st;
		}
	}
	cb_log(&ctx->log, LOG_NOTICE, "%s: too many wrong codes for %s (otp_retries=%u)", name,
	       who(ctx), tries);
	return CB_ERR_CODE_ABORTED;
}

/* The code prompt when nothing was sent: the same prompts, messages and end
 * as a run of wrong codes. Sets what the user and the application are
 * shown; returns real, which the decision line keeps. */
static cb_status decoy_codes(struct otp *o, const char *prompt, long rtt_ms, int round_trips,
			     cb_status real)
{
	struct code_step cs = {
		.prompt = prompt, .expires_in = CB_API_CODE_LIFETIME, .pad_ms = rtt_ms};
	struct cb_api *api = o->api;
	char *vtoken = NULL;
	cb_status st;

	o->api = NULL;
	/* the round trips the real path still makes before its prompt */
	sleep_ms(round_trips * rtt_ms);
	clock_gettime(CLOCK_MONOTONIC, &cs.sent);
	st = code_loop(o, &cs, &vtoken);
	cb_clear_secret(&vtoken);
	o->api = api;
	o->out->shown = st != CB_OK ? st : CB_ERR_CODE_INVALID;
	return real;
}

/* Send a code to contact, ask for it, sign in with the verification token. */
static cb_status code_steps(struct otp *o, const char *contact, const char *prompt,
			    struct cb_tokens *tok)
{
	struct cb_pam *ctx = o->ctx;
	const struct channel *ch = o->ch;
	struct cb_verification ver;
	struct code_step cs = {.prompt = prompt};
	char masked[MASKED_SIZE], *vtoken = NULL;
	cb_status st;

	memset(tok, 0, sizeof(*tok));
	mask(ch, contact, masked, sizeof(masked));
	st = cb_api_verification_send(o->api, ch->kind, contact, &ver);
	switch (st) {
	case CB_OK:
		break;
	case CB_ERR_RATE_LIMITED:
		cb_log(&ctx->log, LOG_NOTICE,
		       "%s: sending to %s for %s rate limited: retry after %ld s", ch->name, masked,
		       who(ctx), ver.retry_after);
		tell_wait(ctx, ch, ver.retry_after);
		o->out->told = true;
		return st;
	case CB_ERR_USER_UNKNOWN:
	case CB_ERR_PHONE_INVALID:
	case CB_ERR_EMAIL_INVALID:
		cb_log(&ctx->log, LOG_ERR, "%s: the service %s the %s %s of %s: request_id=%s",
		       ch->name, st == CB_ERR_USER_UNKNOWN ? "knows no user with" : "refuses",
		       ch->what, masked, who(ctx), cb_api_request_id(o->api));
		tell_final(o, _(st == CB_ERR_USER_UNKNOWN ? ch->msg_unknown : ch->msg_malformed));
		/* no retry can change it: the attempt ends (sshd asks no more) */
		o->out->shown = CB_ERR_DENIED;
		return st;
	default:
		cb_log(&ctx->log, LOG_NOTICE, "%s: sending to %s for %s failed: %s request_id=%s",
		       ch->name, masked, who(ctx), cb_status_name(st), cb_api_request_id(o->api));
		/* offline login takes a password; say why a code cannot work now */
		if (cb_api_unreachable(o->api, st) && ctx->cfg.offline_login)
			tell_final(o, _(MSG_OFFLINE_CODE));
		return st;
	}
	cb_log(&ctx->log, LOG_INFO, "%s: code sent to %s for %s request_id=%s", ch->name, masked,
	       who(ctx), cb_api_request_id(o->api));
	clock_gettime(CLOCK_MONOTONIC, &cs.sent);
	cs.verification_id = ver.verification_id;
	cs.expires_in = ver.expires_in;
	st = code_loop(o, &cs, &vtoken);
	if (st == CB_OK) {
		st = cb_api_signin_verification_token(o->api, vtoken, tok);
		cb_log(&ctx->log, st == CB_OK ? LOG_DEBUG : LOG_NOTICE,
		       "%s: signin with the verification token for %s: %s request_id=%s", ch->name,
		       who(ctx), cb_status_name(st), cb_api_request_id(o->api));
	}
	cb_clear_secret(&vtoken);
	cb_verification_free(&ver);
	return st;
}

/* code_steps, and what its outcome says about the cached password. */
static cb_status code_signin(struct otp *o, const char *contact, const char *prompt,
			     struct cb_tokens *tok)
{
	cb_status st = code_steps(o, contact, prompt, tok);

	/* "blocked" is about the account, whichever step says it: the cached
	 * password (offline login) goes */
	cb_pam_offline_after(o->ctx, NULL, st);
	return st;
}

/* ---- method=sms, method=email -------------------------------------------------------- */

static cb_status prompt_phone(struct otp *o, char phone[CONTACT_SIZE])
{
	char *answer = NULL;
	cb_status st;

	st = cb_pam_prompt(o->ctx, _(PROMPT_PHONE), true, &answer);
	if (st != CB_OK)
		return st;
	st = cb_normalize_phone(answer, phone, CB_PHONE_MAX + 1);
	cb_free_secret(answer);
	if (st != CB_OK)
		tell_final(o, _(MSG_BAD_PHONE));
	return st;
}

/* The contact for a code alone: the record's, or (SMS, sms_prompt_phone,
 * bound records only) a typed number. */
static cb_status otp_contact(struct otp *o, char contact[CONTACT_SIZE])
{
	struct cb_pam *ctx = o->ctx;
	bool may_prompt = o->ch->kind == CB_CONTACT_PHONE && ctx->cfg.sms_prompt_phone;
	cb_status st = record_contact(ctx, o->ch, contact);

	if (st == CB_ERR_PHONE_INVALID || st == CB_ERR_EMAIL_INVALID) {
		tell_final(o, _(o->ch->msg_malformed));
		o->out->shown = CB_ERR_DENIED; /* the admin's to fix: the attempt ends */
	}
	if (st != CB_ERR_NOT_FOUND)
		return st;
	if (may_prompt && ctx->bound_sub != NULL)
		return prompt_phone(o, contact);
	cb_log(&ctx->log, LOG_NOTICE, "%s: no %s on record for %s%s", o->ch->name, o->ch->what,
	       who(ctx), may_prompt ? " (sms_prompt_phone needs a bound sub)" : "");
	tell_final(o, _(o->ch->msg_none));
	return CB_ERR_DENIED;
}

static cb_status otp_flow(struct cb_pam *ctx, struct cb_outcome *out, const struct channel *ch)
{
	struct otp o = {.ctx = ctx, .out = out, .ch = ch};
	struct cb_tokens tok;
	char contact[CONTACT_SIZE], prompt[TEXT_SIZE];
	cb_status st;

	st = otp_contact(&o, contact);
	if (st != CB_OK)
		return st;
	code_prompt(ch, contact, prompt, sizeof(prompt));
	st = cb_pam_api_open(ctx, &o.api);
	if (st != CB_OK)
		return st;
	st = code_signin(&o, contact, prompt, &tok);
	if (st == CB_OK)
		st = cb_pam_finish_signin(ctx, o.api, &tok);
	cb_tokens_free(&tok);
	cb_pam_api_close(ctx, o.api);
	return st;
}

cb_status cb_pam_otp_flow(struct cb_pam *ctx, struct cb_outcome *out)
{
	return otp_flow(ctx, out, channel_of(ctx->cfg.method));
}

/* ---- method=password+sms, method=password+email ------------------------------------- */

/* Where the second factor goes: the service's contact; the record's only
 * if the service has none; both must agree. CB_ERR_DENIED when there is
 * no usable contact (logged). */
static cb_status second_factor_contact(struct otp *o, const struct cb_tokens *tok,
				       const char *rcontact, char contact[CONTACT_SIZE])
{
	struct cb_pam *ctx = o->ctx;
	const struct channel *ch = o->ch;
	struct cb_user me;
	char scontact[CONTACT_SIZE], m1[MASKED_SIZE], m2[MASKED_SIZE];
	const char *theirs;
	bool have_s;
	cb_status st;

	st = cb_api_user_me(o->api, tok->access_token, &me);
	if (st != CB_OK)
		return st;
	if (strcmp(me.sub, tok->sub) != 0) {
		cb_log(&ctx->log, LOG_ERR,
		       "%s: /user/me is about another sub than the sign-in: refused", ch->both);
		cb_user_free(&me);
		return CB_ERR_PROTOCOL;
	}
	theirs = ch->kind == CB_CONTACT_PHONE ? me.phone_number : me.email;
	have_s = theirs != NULL;
	if (have_s && normalize(ch, theirs, scontact) != CB_OK) {
		cb_log(&ctx->log, LOG_WARNING, "%s: the service's %s for %s is not usable",
		       ch->both, ch->what, who(ctx));
		have_s = false;
		st = CB_ERR_DENIED;
	}
	cb_user_free(&me);
	if (st != CB_OK)
		return st;
	if (have_s && rcontact != NULL && !same_contact(ch, scontact, rcontact)) {
		mask(ch, rcontact, m1, sizeof(m1));
		mask(ch, scontact, m2, sizeof(m2));
		cb_log(&ctx->log, LOG_WARNING,
		       "%s: the %s on record for %s (%s) differs from the service's (%s): refused; "
		       "update the account record",
		       ch->both, ch->what, who(ctx), m1, m2);
		return CB_ERR_DENIED;
	}
	if (have_s) {
		memcpy(contact, scontact, CONTACT_SIZE);
		return CB_OK;
	}
	if (rcontact != NULL) {
		cb_log(&ctx->log, LOG_INFO, "%s: the service has no %s for %s: using the record's",
		       ch->both, ch->what, who(ctx));
		memcpy(contact, rcontact, CONTACT_SIZE);
		return CB_OK;
	}
	cb_log(&ctx->log, LOG_NOTICE, "%s: no %s for %s, neither on record nor at the service",
	       ch->both, ch->what, who(ctx));
	return CB_ERR_DENIED;
}

/* Both factors on one connection: password sign-in, /user/me, revoke of
 * that first session (its token is not needed any more), /verification,
 * the code, /verification/verify, /signin with the verification token. */
static cb_status both_factors(struct otp *o, const char *rcontact, const char *prompt,
			      struct cb_tokens *tok)
{
	struct cb_pam *ctx = o->ctx;
	struct cb_tokens pw;
	char contact[CONTACT_SIZE];
	long rtt;
	cb_status st;

	memset(tok, 0, sizeof(*tok));
	st = cb_pam_password_factor(ctx, o->api, &pw,
				    ctx->cfg.offline_second_factor == CB_OFFLINE_SKIP);
	rtt = ctx->signin_ms;
	if (st == CB_OK && ctx->offline) {
		cb_log(&ctx->log, LOG_WARNING,
		       "%s: offline sign-in of %s without the second factor "
		       "(offline_second_factor=skip)",
		       o->ch->both, who(ctx));
		return CB_OK;
	}
	if (cb_api_unreachable(o->api, st) && ctx->cfg.offline_login) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "%s: the service is unreachable (%s): no offline sign-in, the second "
		       "factor needs the service (offline_second_factor=require)",
		       o->ch->both, cb_status_name(st));
		tell_final(o, _(MSG_OFFLINE_CODE));
		return st;
	}
	/* offline with offline_second_factor=skip a right password asks no
	 * code: a wrong one must not either */
	if (ctx->offline_tried && st != CB_OK)
		return st;
	if (st == CB_ERR_AUTH || st == CB_ERR_INPUT) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "%s: wrong password for %s: the code prompt follows, no code is sent",
		       o->ch->both, who(ctx));
		return decoy_codes(o, prompt, rtt, 3, st);
	}
	if (st != CB_OK)
		return st;
	st = second_factor_contact(o, &pw, rcontact, contact);
	if (cb_api_revoke(o->api, pw.access_token) != CB_OK)
		cb_log(&ctx->log, LOG_INFO, "%s: the password session was not revoked",
		       o->ch->both);
	if (st == CB_ERR_DENIED)
		st = decoy_codes(o, prompt, rtt, 1, st);
	else if (st == CB_OK)
		st = code_signin(o, contact, prompt, tok);
	if (st == CB_OK && strcmp(tok->sub, pw.sub) != 0) {
		cb_log(&ctx->log, LOG_ALERT,
		       "%s: the code sign-in for %s gave another sub than the password: refused",
		       o->ch->both, who(ctx));
		st = CB_ERR_SUB_MISMATCH;
	}
	cb_tokens_free(&pw);
	if (st != CB_OK)
		cb_tokens_free(tok);
	return st;
}

cb_status cb_pam_password_otp_flow(struct cb_pam *ctx, struct cb_outcome *out)
{
	struct otp o = {.ctx = ctx, .out = out, .ch = channel_of(ctx->cfg.method)};
	struct cb_tokens tok;
	char rcontact[CONTACT_SIZE], prompt[TEXT_SIZE];
	bool have_r;
	cb_status st;

	/* decided before the password: the prompt must not depend on it */
	st = record_contact(ctx, o.ch, rcontact);
	if (st == CB_ERR_PHONE_INVALID || st == CB_ERR_EMAIL_INVALID) {
		tell_final(&o, _(o.ch->msg_malformed));
		out->shown = CB_ERR_DENIED;
	}
	if (st != CB_OK && st != CB_ERR_NOT_FOUND)
		return st;
	have_r = st == CB_OK;
	code_prompt(o.ch, have_r ? rcontact : NULL, prompt, sizeof(prompt));
	st = cb_pam_api_open(ctx, &o.api);
	if (st != CB_OK)
		return st;
	st = both_factors(&o, have_r ? rcontact : NULL, prompt, &tok);
	if (st == CB_OK)
		st = ctx->offline ? cb_pam_finish_offline(ctx)
				  : cb_pam_finish_signin(ctx, o.api, &tok);
	cb_tokens_free(&tok);
	cb_pam_api_close(ctx, o.api);
	return st;
}

/* ---- the menu ---------------------------------------------------------------------- */

/* The menus: one whole prompt and one whole answer to a wrong choice per
 * set of methods, so that a translator sees each sentence as it is shown
 * (the word order and the "or" differ between languages). The methods are
 * numbered from 1 in the order password, SMS code, e-mail code. */
static const struct menu {
	unsigned choices;
	const char *prompt, *help;
} menus[] = {
	{CB_CHOICE_PASSWORD | CB_CHOICE_SMS, N_("Sign in with 1) password or 2) SMS code: "),
	 N_("Answer 1 (password) or 2 (SMS code).")},
	{CB_CHOICE_PASSWORD | CB_CHOICE_EMAIL, N_("Sign in with 1) password or 2) e-mail code: "),
	 N_("Answer 1 (password) or 2 (e-mail code).")},
	{CB_CHOICE_SMS | CB_CHOICE_EMAIL, N_("Sign in with 1) SMS code or 2) e-mail code: "),
	 N_("Answer 1 (SMS code) or 2 (e-mail code).")},
	{CB_CHOICE_PASSWORD | CB_CHOICE_SMS | CB_CHOICE_EMAIL,
	 N_("Sign in with 1) password, 2) SMS code or 3) e-mail code: "),
	 N_("Answer 1 (password), 2 (SMS code) or 3 (e-mail code).")},
};

/* The menu of cfg.choices: *choice one CB_CHOICE_* bit. */
static cb_status ask_choice(struct cb_pam *ctx, struct cb_outcome *out, unsigned *choice)
{
	static const struct {
		unsigned bit;
		const char *word;
	} items[] = {{CB_CHOICE_PASSWORD, "password"},
		     {CB_CHOICE_SMS, "sms"},
		     {CB_CHOICE_EMAIL, "email"}};
	const struct menu *menu = NULL;
	unsigned offered[3], n = 0;
	char *answer = NULL, *a, *end;
	bool hinted = false;
	cb_status st;

	*choice = 0;
	for (size_t i = 0; i < sizeof(menus) / sizeof(menus[0]); i++)
		if (menus[i].choices == ctx->cfg.choices)
			menu = &menus[i];
	/* the configuration allows only these sets (lib/conf.c) */
	if (menu == NULL) {
		cb_log(&ctx->log, LOG_ERR, "method: no menu for the set of methods %#x: refused",
		       ctx->cfg.choices);
		return CB_ERR_CONFIG;
	}
	for (unsigned i = 0; i < 3; i++) {
		if (!(ctx->cfg.choices & items[i].bit))
			continue;
		offered[n++] = i;
	}

	st = cb_pam_prompt(ctx, _(menu->prompt), true, &answer);
	if (st != CB_OK) {
		sshd_hint(ctx, &hinted, "the method menu got no answer");
		return st;
	}
	for (a = answer; *a == ' ' || *a == '\t'; a++)
		;
	end = a + strnlen(a, CB_PAM_MAX_INPUT);
	while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (unsigned k = 0; k < n; k++) {
		char num[12];

		snprintf(num, sizeof(num), "%u", k + 1);
		if (strcmp(a, num) == 0 || strcasecmp(a, items[offered[k]].word) == 0)
			*choice = items[offered[k]].bit;
	}
	cb_free_secret(answer);
	if (*choice == 0) {
		cb_pam_tell(ctx, true, _(menu->help));
		out->told = true;
		return CB_ERR_INPUT;
	}
	cb_log(&ctx->log, LOG_DEBUG, "%s: %s chose %s", cb_config_method_name(&ctx->cfg), who(ctx),
	       *choice == CB_CHOICE_PASSWORD ? "password"
	       : *choice == CB_CHOICE_SMS    ? "sms"
					     : "email");
	return CB_OK;
}

cb_status cb_pam_choice_flow(struct cb_pam *ctx, struct cb_outcome *out)
{
	unsigned choice;
	cb_status st = ask_choice(ctx, out, &choice);

	if (st != CB_OK)
		return st;
	if (choice == CB_CHOICE_PASSWORD)
		return cb_pam_password_flow(ctx, out);
	return otp_flow(ctx, out, choice == CB_CHOICE_SMS ? &sms : &email);
}

/* ---- names the module refuses ------------------------------------------------------- */

/* HMAC-SHA256 of the name, keyed with the machine id and the client
 * secret, which a remote user knows neither of: the same for the same
 * name every time (a contact that changed between two tries would give
 * the decoy away), not computable from the name alone (else anyone could
 * tell it from a real one). */
static void decoy_mac(struct cb_pam *ctx, unsigned char mac[EVP_MAX_MD_SIZE])
{
	unsigned int maclen = 0;
	char key[CB_SECRET_MAX_SIZE + 64] = "";
	char *secret = NULL;

	if (!cb_device_id(key, 49))
		key[0] = '\0';
	if (cb_config_load_secret(&ctx->cfg, &secret, &ctx->log) == CB_OK) {
		snprintf(key + strlen(key), sizeof(key) - strlen(key), ":%s", secret);
		cb_free_secret(secret);
	}
	if (HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)ctx->user,
		 strlen(ctx->user), mac, &maclen) == NULL ||
	    maclen < 8)
		memset(mac, 0, EVP_MAX_MD_SIZE);
	cb_wipe(key, sizeof(key));
}

/* The domain of an address on record, so that a decoy's domain is one the
 * real prompts show: the first record with an e-mail address from a
 * position chosen by the MAC (at most 256 looked at); "" when none. */
static void decoy_domain(struct cb_pam *ctx, uint32_t seed, char *out, size_t outsz)
{
	struct cb_dbview v;
	struct cb_dbrec r;
	uint64_t n;
	bool skip;

	out[0] = '\0';
	if (cb_dbview_open(&v, cb_accountdb_path(&ctx->cfg), &ctx->log) != CB_OK)
		return;
	n = cb_dbview_positions(&v);
	for (uint64_t i = 0; i < n && i < 256; i++) {
		const char *at;

		if (cb_dbview_get(&v, (seed + i) % n, &r, &skip) != CB_OK || skip ||
		    r.email_len == 0)
			continue;
		at = strchr(r.email, '@');
		if (at != NULL && cb_valid_email(r.email)) {
			snprintf(out, outsz, "%s", at + 1);
			break;
		}
	}
	cb_dbview_close(&v);
}

/* A contact shaped like a real one: for SMS a mainland mobile number (the
 * service sends SMS codes there only), for e-mail a letter at a domain on
 * record (else a large public one). Masked like a real one in the prompt. */
static void decoy_contact(struct cb_pam *ctx, const struct channel *ch, char out[CONTACT_SIZE])
{
	static const char *const public_domains[] = {"qq.com", "163.com", "gmail.com",
						     "outlook.com"};
	unsigned char mac[EVP_MAX_MD_SIZE];
	uint32_t rest;
	char domain[CONTACT_SIZE];

	decoy_mac(ctx, mac);
	rest = ((uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5]);
	if (ch->kind == CB_CONTACT_PHONE) {
		snprintf(out, CONTACT_SIZE, "+86 1%c%c%08u", '3' + mac[0] % 7, '0' + mac[1] % 10,
			 (unsigned)(rest % 100000000U));
	} else {
		decoy_domain(ctx, rest, domain, sizeof(domain));
		if (domain[0] == '\0')
			snprintf(domain, sizeof(domain), "%s", public_domains[mac[6] % 4]);
		snprintf(out, CONTACT_SIZE, "%c@%s", 'a' + mac[7] % 26, domain);
	}
	cb_wipe(mac, sizeof(mac));
}

static void decoy_otp(struct otp *o)
{
	char contact[CONTACT_SIZE], prompt[TEXT_SIZE];

	decoy_contact(o->ctx, o->ch, contact);
	code_prompt(o->ch, contact, prompt, sizeof(prompt));
	decoy_codes(o, prompt, 0, 0, CB_ERR_NOT_FOUND);
}

void cb_pam_otp_decoy(struct cb_pam *ctx, struct cb_outcome *out)
{
	struct otp o = {.ctx = ctx, .out = out, .ch = channel_of(ctx->cfg.method)};
	unsigned choice;
	cb_status st;

	switch (ctx->cfg.method) {
	case CB_METHOD_SMS:
	case CB_METHOD_EMAIL:
		decoy_otp(&o);
		return;
	case CB_METHOD_PASSWORD_SMS:
	case CB_METHOD_PASSWORD_EMAIL:
		st = cb_pam_decoy_password(ctx);
		if (st != CB_OK)
			out->shown = st;
		else
			decoy_otp(&o);
		return;
	case CB_METHOD_CHOICE:
		st = ask_choice(ctx, out, &choice);
		if (st == CB_OK && choice != CB_CHOICE_PASSWORD) {
			o.ch = choice == CB_CHOICE_SMS ? &sms : &email;
			decoy_otp(&o);
			return;
		}
		if (st == CB_OK)
			st = cb_pam_decoy_password(ctx);
		if (st != CB_OK)
			out->shown = st;
		return;
	default:
		return;
	}
}
