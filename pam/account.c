/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_sm_acct_mgmt: may this user log in now?
 *
 * After a sign-in through this module in the same transaction, the sign-in
 * is the live answer: only the local policy is left (require_groups).
 *
 * Without one (sudo's cached credentials or a NOPASSWD rule, su by root,
 * login -f, an SSH public key), and with acct_without_auth, the account's
 * standing is checked live: the refresh token of the user's newest session
 * on this host is traded for new tokens (POST /token; the rotated refresh
 * token is stored) and /user/me gives the status and the groups. At most
 * one live check per user per account_check_interval: within it, the
 * result recorded by the last check or sign-in is used. When the service
 * cannot be reached, account_offline_grace decides (docs/state-store.md,
 * pam_cloudbase(8)).
 *
 * The whole check runs where the invoking user cannot stop it (shield.h):
 * a su of alice stopped half-way by bob must not leave alice's refresh
 * token used at the service but not stored. Two checks of one user at the
 * same time are serialised by a claim in the state record, so the same
 * refresh token is never presented twice (the service may take a reused
 * one for a stolen one and end the session).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_modules.h>

#include "module.h"
#include "secure.h"
#include "shield.h"

/* How long a check waits for another process's check of the same user. */
#define CLAIM_WAIT_MS 5000

static bool has_group(char *const *groups, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(groups[i], want) == 0)
			return true;
	return false;
}

/* require_groups: at least one of them among the user's CloudBase groups */
static cb_status check_groups(struct cb_pam *ctx, char *const *groups, size_t n)
{
	if (ctx->cfg.n_require_groups == 0)
		return CB_OK;
	for (size_t i = 0; i < ctx->cfg.n_require_groups; i++)
		if (has_group(groups, n, ctx->cfg.require_groups[i]))
			return CB_OK;
	cb_log(&ctx->log, LOG_NOTICE, "user %s is in none of require_groups", ctx->user);
	return CB_ERR_DENIED;
}

/* The sign-in of this transaction was recorded by the auth phase (the sub
 * bound, the groups and the session in the state store): only the local
 * policy is left. A sign-in refused here is revoked at the service. */
static cb_status after_our_auth(struct cb_pam *ctx, const struct cb_pam_state *state)
{
	cb_status st = CB_OK;

	/* the binding changed since the sign-in (an admin's unbind and another
	 * person's sign-in): it is not this account's person any more */
	if (ctx->bound_sub == NULL || strcmp(ctx->bound_sub, state->sub) != 0) {
		cb_log(&ctx->log, LOG_ALERT,
		       "user %s: signed in as CloudBase sub %s, not the bound one: possible "
		       "account takeover, refused",
		       ctx->user, state->sub);
		st = CB_ERR_SUB_MISMATCH;
	}
	if (st == CB_OK)
		st = check_groups(ctx, state->groups, state->n_groups);
	if (st != CB_OK)
		cb_pam_drop_session(ctx, state->session_id);
	return st;
}

/* ---- without a sign-in: the account's standing ---- */

/* What brought the account phase here without a sign-in, for the log:
 * the PAM service and the caller's real uid tell the usual cases apart. */
static const char *why_no_signin(const struct cb_pam *ctx)
{
	const char *svc = ctx->service;

	if (strncmp(svc, "sudo", 4) == 0)
		return "sudo without a password prompt (cached credentials or NOPASSWD)";
	if ((strcmp(svc, "su") == 0 || strcmp(svc, "su-l") == 0) && getuid() == 0)
		return "su by root";
	if (strcmp(svc, "su") == 0 || strcmp(svc, "su-l") == 0)
		return "su authenticated by another module";
	if (strcmp(svc, "login") == 0)
		return "login without a password (login -f, autologin)";
	if (strncmp(svc, "sshd", 4) == 0)
		return "sshd without a CloudBase sign-in (a public key, or another method)";
	return "no CloudBase sign-in in this transaction";
}

/* The last time the service vouched for the account: a sign-in, or a
 * live check since it that found it in good standing (a sign-in clears the
 * recorded check, so a check on record came after the sign-in, whatever
 * the seconds say). */
static int64_t last_good(const struct cb_state *st)
{
	return st->checked != 0 && st->checked_ok && st->checked > st->last_login ? st->checked
										  : st->last_login;
}

static bool denied_since_signin(const struct cb_state *st)
{
	return st->checked != 0 && !st->checked_ok;
}

/* The newest session with a refresh token: the one the host keeps. */
static long standing_session(const struct cb_state *st, int64_t now)
{
	for (size_t i = st->n_sessions; i-- > 0;) {
		const struct cb_state_session *s = &st->sessions[i];

		if (s->refresh_token != NULL &&
		    (s->refresh_expires == 0 || s->refresh_expires > now))
			return (long)i;
	}
	return -1;
}

/* ---- the claim ---- */

struct claim_edit {
	int64_t now;
	unsigned interval;
	unsigned max_age; /* a claim older than this is a dead check's */
	bool offline; /* offline_login: an offline sign-in counts as one */
	enum { CLAIMED, SOMEONE_CHECKING, FRESH } outcome;
	bool by_offline; /* FRESH because of an offline sign-in */
};

static cb_status edit_claim(struct cb_state *st, void *arg, bool *write)
{
	struct claim_edit *c = arg;

	c->by_offline = false;
	/* the account phase in another process than an offline sign-in
	 * (sudo's cached timestamp, an SSH key, su by root): that sign-in
	 * stands for the interval, as an online one */
	if (c->offline && st->verifier != NULL && st->offline_used > last_good(st) &&
	    !denied_since_signin(st) && c->now - st->offline_used < (int64_t)c->interval) {
		c->outcome = FRESH;
		c->by_offline = true;
		return CB_OK;
	}
	if (denied_since_signin(st) ? c->now - st->checked < (int64_t)c->interval
				    : c->now - last_good(st) < (int64_t)c->interval) {
		c->outcome = FRESH;
		return CB_OK;
	}
	if (cb_state_claim_alive(st, c->now, c->max_age)) {
		c->outcome = SOMEONE_CHECKING;
		return CB_OK;
	}
	st->claim = c->now;
	st->claim_pid = (int32_t)getpid();
	st->claim_pid_start = cb_proc_start_time(getpid());
	c->outcome = CLAIMED;
	*write = true;
	return CB_OK;
}

/* ---- the result ---- */

struct result_edit {
	int64_t now;
	bool ok;
	const char *session_id; /* the session checked; NULL when there was none */
	const struct cb_tokens *fresh; /* rotated tokens to store, or NULL */
	bool drop_session; /* the token is dead: forget the session */
	char *const *groups; /* the current CloudBase groups (ok only) */
	size_t n_groups;
	bool record; /* false: only release the claim (no answer) */
};

static cb_status edit_result(struct cb_state *st, void *arg, bool *write)
{
	const struct result_edit *r = arg;
	cb_status rc = CB_OK;
	long i;

	st->claim = 0;
	st->claim_pid = 0;
	st->claim_pid_start = 0;
	*write = true;
	/* no answer: no session was asked about (session_id is NULL) */
	if (!r->record)
		return CB_OK;
	i = cb_state_session_find(st, r->session_id);
	st->checked = r->now;
	st->checked_ok = r->ok;
	if (r->ok)
		rc = cb_state_set_groups(st, (const char *const *)r->groups, r->n_groups, NULL);
	/* the service refused the account: no offline login on its cached
	 * password either */
	if (r->drop_session)
		cb_state_forget_verifier(st);
	if (rc != CB_OK || i < 0)
		return rc;
	if (r->drop_session) {
		struct cb_state_session gone;

		cb_state_session_take(st, (size_t)i, &gone);
		cb_state_session_free(&gone);
	} else if (r->fresh != NULL && r->fresh->refresh_token != NULL) {
		struct cb_state_session *s = &st->sessions[i];
		char *at = strdup(r->fresh->access_token), *rt = strdup(r->fresh->refresh_token);

		if (at == NULL || rt == NULL) {
			cb_free_secret(at);
			cb_free_secret(rt);
			return CB_ERR_NOMEM;
		}
		cb_free_secret(s->access_token);
		cb_free_secret(s->refresh_token);
		s->access_token = at;
		s->refresh_token = rt;
		s->access_expires = r->fresh->expires_in > 0 ? r->now + r->fresh->expires_in : 0;
	}
	return CB_OK;
}

/* Ask the service: refresh, then /user/me with the new access token. */
static cb_status ask_service(struct cb_pam *ctx, struct cb_api *api, const char *refresh_token,
			     struct cb_tokens *tok, struct cb_user *me)
{
	cb_status st = cb_api_token_refresh(api, refresh_token, tok);

	if (st == CB_OK)
		st = cb_api_user_me(api, tok->access_token, me);
	if (st == CB_OK && (ctx->bound_sub == NULL || strcmp(me->sub, ctx->bound_sub) != 0)) {
		cb_log(&ctx->log, LOG_ALERT,
		       "user %s: the stored session is CloudBase sub %s's, not the bound one's: "
		       "refused",
		       ctx->user, me->sub);
		st = CB_ERR_SUB_MISMATCH;
	}
	if (st == CB_OK && me->status != NULL && strcmp(me->status, "ACTIVE") != 0)
		st = strcmp(me->status, "PENDING") == 0 ? CB_ERR_USER_PENDING : CB_ERR_USER_BLOCKED;
	return st;
}

/* The service said the account cannot be used (a decision, not an
 * outage): the stored session goes, and the denial is recorded. */
static bool decided_against(cb_status st)
{
	return st == CB_ERR_TOKEN || st == CB_ERR_USER_BLOCKED || st == CB_ERR_USER_PENDING ||
	       st == CB_ERR_USER_UNKNOWN || st == CB_ERR_SUB_MISMATCH || st == CB_ERR_AUTH;
}

/* One live check, under a claim this process holds; *unreach: the
 * service could not be reached (cb_api_unreachable). */
static cb_status live_check(struct cb_pam *ctx, int64_t now, bool *unreach)
{
	struct result_edit r = {now, false, NULL, NULL, false, NULL, 0, true};
	struct cb_tokens tok = {0};
	struct cb_user me = {0};
	struct cb_api *api = NULL;
	long i = standing_session(&ctx->st, now);
	cb_status st, wr;

	*unreach = false;
	if (i < 0) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s: no CloudBase session of this host to check the account with "
		       "(signed out, expired or never kept): sign in with the password or a code "
		       "once",
		       ctx->user);
		r.record = false;
		cb_state_update(&ctx->cfg, ctx->user, edit_result, &r, &ctx->log);
		return CB_ERR_TOKEN;
	}
	r.session_id = ctx->st.sessions[i].id;
	st = cb_pam_api_open(ctx, &api);
	if (st == CB_OK) {
		st = ask_service(ctx, api, ctx->st.sessions[i].refresh_token, &tok, &me);
		/* a session of a blocked user is ended at the service too */
		*unreach = cb_api_unreachable(api, st);
		if (decided_against(st) && tok.access_token != NULL)
			cb_api_revoke(api, tok.access_token);
		cb_pam_api_close(ctx, api);
	} else {
		*unreach = cb_api_unreachable(NULL, st);
	}
	cb_log(&ctx->log, st == CB_OK ? LOG_INFO : LOG_NOTICE,
	       "user %s: live check of the account's standing: %s request_id=%s", ctx->user,
	       cb_status_name(st), ctx->request_id);
	r.ok = st == CB_OK;
	r.fresh = tok.access_token != NULL ? &tok : NULL;
	r.drop_session = decided_against(st);
	r.record = st == CB_OK || decided_against(st);
	if (r.ok) {
		/* the groups of /user/me, else the token's */
		r.groups = me.n_groups > 0 ? me.groups : tok.groups;
		r.n_groups = me.n_groups > 0 ? me.n_groups : tok.n_groups;
	}
	wr = cb_state_update(&ctx->cfg, ctx->user, edit_result, &r, &ctx->log);
	if (st == CB_OK && wr != CB_OK)
		st = wr; /* a rotated token not stored is a session lost: fail closed */
	if (st == CB_OK) {
		cb_pam_update_nss(ctx, (char *const *)r.groups, r.n_groups);
		st = check_groups(ctx, r.groups, r.n_groups);
	}
	cb_tokens_free(&tok);
	cb_user_free(&me);
	return st;
}

/* The service could not be asked: the recorded standing, if the admin
 * allows it and it is recent enough. */
static cb_status unreachable(struct cb_pam *ctx, cb_status st, int64_t now)
{
	int64_t age = now - last_good(&ctx->st);

	if (ctx->cfg.account_offline_grace == 0 || denied_since_signin(&ctx->st) ||
	    age >= (int64_t)ctx->cfg.account_offline_grace) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s: the service is unreachable (%s) and account_offline_grace does "
		       "not cover the standing recorded %lld s ago: refused",
		       ctx->user, cb_status_name(st), (long long)age);
		return st;
	}
	cb_log(&ctx->log, LOG_WARNING,
	       "user %s: the service is unreachable (%s): allowed on the standing recorded %lld "
	       "s ago (account_offline_grace %u s)",
	       ctx->user, cb_status_name(st), (long long)age, ctx->cfg.account_offline_grace);
	return check_groups(ctx, ctx->st.groups, ctx->st.n_groups);
}

/* The standing recorded within account_check_interval, or (by_offline)
 * an offline sign-in within it. */
static cb_status recorded(struct cb_pam *ctx, int64_t now, bool by_offline)
{
	/* the service has not vouched for the account since last_good: the
	 * log must not say it did */
	if (by_offline) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s: the offline sign-in %lld s ago is used (account_check_interval %u "
		       "s); the service last vouched for the account %lld s ago",
		       ctx->user, (long long)(now - ctx->st.offline_used),
		       ctx->cfg.account_check_interval, (long long)(now - last_good(&ctx->st)));
		return check_groups(ctx, ctx->st.groups, ctx->st.n_groups);
	}
	if (denied_since_signin(&ctx->st)) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s: refused by the live check %lld s ago (account_check_interval)",
		       ctx->user, (long long)(now - ctx->st.checked));
		return CB_ERR_DENIED;
	}
	cb_log(&ctx->log, LOG_INFO,
	       "user %s: the standing recorded %lld s ago is used (account_check_interval %u s)",
	       ctx->user, (long long)(now - last_good(&ctx->st)), ctx->cfg.account_check_interval);
	return check_groups(ctx, ctx->st.groups, ctx->st.n_groups);
}

static void reload_state(struct cb_pam *ctx)
{
	cb_state_free(&ctx->st);
	if (cb_state_load(&ctx->cfg, ctx->user, &ctx->st, &ctx->log) != CB_OK)
		memset(&ctx->st, 0, sizeof(ctx->st));
	ctx->bound_sub = ctx->st.sub != NULL ? ctx->st.sub : ctx->acct.legacy_sub;
}

/* Claim the check, or wait for the one under way (bounded). */
static cb_status standing(struct cb_pam *ctx)
{
	struct claim_edit c = {.interval = ctx->cfg.account_check_interval,
			       .max_age = ctx->cfg.timeout + 5,
			       .offline = ctx->cfg.offline_login,
			       .outcome = CLAIMED};
	struct timespec pause = {0, 100 * 1000 * 1000};
	bool unreach;
	cb_status st;

	for (unsigned waited = 0;; waited += 100) {
		c.now = (int64_t)time(NULL);
		st = cb_state_update(&ctx->cfg, ctx->user, edit_claim, &c, &ctx->log);
		if (st != CB_OK)
			return st;
		reload_state(ctx);
		if (c.outcome == FRESH)
			return recorded(ctx, c.now, c.by_offline);
		if (c.outcome == CLAIMED)
			break;
		if (waited >= CLAIM_WAIT_MS) {
			cb_log(&ctx->log, LOG_NOTICE,
			       "user %s: another live check of the account has not finished: "
			       "refused",
			       ctx->user);
			return CB_ERR_BUSY;
		}
		nanosleep(&pause, NULL);
	}
	st = live_check(ctx, c.now, &unreach);
	return unreach ? unreachable(ctx, st, c.now) : st;
}

/* Run where the invoking user cannot stop it; log lines through log. */
static cb_status shielded_standing(void *arg, const struct cb_log *log)
{
	struct cb_pam *ctx = arg;
	struct cb_log saved = ctx->log;
	cb_status st;

	ctx->log = *log;
	st = standing(ctx);
	ctx->log = saved;
	return st;
}

static cb_status without_our_auth(struct cb_pam *ctx)
{
	const char *why = why_no_signin(ctx);

	if (!ctx->cfg.acct_without_auth) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s did not authenticate through pam_cloudbase (%s); acct_without_auth "
		       "is "
		       "off",
		       ctx->user, why);
		return CB_ERR_DENIED;
	}
	cb_log(&ctx->log, LOG_INFO, "user %s: %s: checking the account's standing", ctx->user, why);
	if (ctx->st.generation == 0) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s has never signed in on this host: nothing to check the account "
		       "with; sign in with the password or a code once",
		       ctx->user);
		return CB_ERR_DENIED;
	}
	return cb_shield_run(shielded_standing, ctx, &ctx->log);
}

void cb_pam_acct_mgmt(struct cb_pam *ctx, struct cb_outcome *out)
{
	const struct cb_pam_state *state = cb_pam_get_state(ctx);

	out->st = state != NULL ? after_our_auth(ctx, state) : without_our_auth(ctx);
}
