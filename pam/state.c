/* SPDX-License-Identifier: BSD-3-Clause */
/* A sign-in the service accepted: recorded in the state store (for every
 * process and phase: sshd's monitor, later sudo runs), in the account
 * database when it changes what NSS serves (the mapped groups), and kept
 * for the later phases of this transaction (pam_set_data).
 *
 * Sessions at the service (docs/state-store.md): every sign-in makes one.
 * The host keeps the newest for the account phase's checks of the
 * account's standing; every other one is revoked when its login ends
 * (close_session), or at the next sign-in when its login ended without
 * closing (the process that signed in is gone). So beyond its open logins
 * a host holds at most one live session per user.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_modules.h>

#include "module.h"
#include "secure.h"

void cb_pam_state_free(struct cb_pam_state *st)
{
	if (st == NULL)
		return;
	free(st->user);
	free(st->sub);
	for (size_t i = 0; i < st->n_groups; i++)
		free(st->groups[i]);
	free(st->groups);
	cb_wipe(st, sizeof(*st));
	free(st);
}

static void cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	cb_pam_state_free(data);
}

static cb_status copy_groups(struct cb_pam_state *st, const struct cb_tokens *tok)
{
	if (tok->n_groups == 0)
		return CB_OK;
	st->groups = calloc(tok->n_groups, sizeof(*st->groups));
	if (st->groups == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < tok->n_groups; i++) {
		st->groups[i] = strdup(tok->groups[i]);
		if (st->groups[i] == NULL)
			return CB_ERR_NOMEM;
		st->n_groups++;
	}
	return CB_OK;
}

static cb_status keep(struct cb_pam *ctx, const struct cb_tokens *tok, const char *session_id)
{
	struct cb_pam_state *st = calloc(1, sizeof(*st));
	cb_status rc;

	if (st == NULL)
		return CB_ERR_NOMEM;
	st->user = strdup(ctx->user);
	st->sub = strdup(tok->sub);
	/* "" for an offline sign-in: copy the string, not the buffer's size */
	snprintf(st->session_id, sizeof(st->session_id), "%s", session_id);
	rc = copy_groups(st, tok);
	if (rc == CB_OK && (st->user == NULL || st->sub == NULL))
		rc = CB_ERR_NOMEM;
	if (rc == CB_OK && pam_set_data(ctx->pamh, CB_PAM_STATE_KEY, st, cleanup) != PAM_SUCCESS)
		rc = CB_ERR_NOMEM;
	if (rc != CB_OK)
		cb_pam_state_free(st);
	return rc;
}

cb_status cb_pam_keep_offline(struct cb_pam *ctx)
{
	struct cb_tokens tok;

	/* the groups and the sub of the last online sign-in stand in for a
	 * sign-in's: require_groups and group_map use them */
	memset(&tok, 0, sizeof(tok));
	tok.sub = (char *)(uintptr_t)ctx->bound_sub;
	tok.groups = ctx->st.groups;
	tok.n_groups = ctx->st.n_groups;
	return keep(ctx, &tok, "");
}

struct cb_pam_state *cb_pam_get_state(struct cb_pam *ctx)
{
	const void *data = NULL;
	struct cb_pam_state *st;

	if (pam_get_data(ctx->pamh, CB_PAM_STATE_KEY, &data) != PAM_SUCCESS || data == NULL)
		return NULL;
	st = (struct cb_pam_state *)(uintptr_t)data;
	/* the user may have been changed by a later module: the result was for
	 * another person then, and counts for nothing */
	if (ctx->user == NULL || strcmp(st->user, ctx->user) != 0)
		return NULL;
	return st;
}

cb_status cb_pam_revoke(struct cb_pam *ctx, struct cb_api *api, const struct cb_state_session *s)
{
	struct cb_tokens fresh = {0};
	const char *token = s->access_token;
	int64_t now = (int64_t)time(NULL);
	cb_status st = CB_OK;

	/* an access token past its expiry may not be accepted for /revoke:
	 * the refresh token gets a current one of the same session */
	if (s->access_expires != 0 && now >= s->access_expires - 60 && s->refresh_token != NULL) {
		st = cb_api_token_refresh(api, s->refresh_token, &fresh);
		if (st == CB_OK)
			token = fresh.access_token;
	}
	if (st == CB_OK)
		st = cb_api_revoke(api, token);
	if (st == CB_OK)
		cb_log(&ctx->log, LOG_INFO, "user %s: CloudBase session %.8s revoked request_id=%s",
		       ctx->user, s->id, cb_api_request_id(api));
	else
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s: CloudBase session %.8s not revoked: %s request_id=%s (it expires "
		       "on its own)",
		       ctx->user, s->id, cb_status_name(st), cb_api_request_id(api));
	cb_tokens_free(&fresh);
	return st;
}

/* ---- recording a sign-in ---- */

struct signin_edit {
	struct cb_pam *ctx;
	const struct cb_tokens *tok;
	struct cb_state_session fresh; /* the new session; copied into the record */
	/* sessions taken out of the record, to revoke once it is written */
	struct cb_state_session gone[CB_STATE_MAX_SESSIONS + 1];
	size_t n_gone;
	bool mismatch;
};

static void forget_gone(struct signin_edit *e)
{
	for (size_t i = 0; i < e->n_gone; i++)
		cb_state_session_free(&e->gone[i]);
	e->n_gone = 0;
}

static cb_status copy_session(const struct cb_state_session *src, struct cb_state_session *dst)
{
	*dst = *src;
	dst->access_token = strdup(src->access_token);
	dst->refresh_token = src->refresh_token != NULL ? strdup(src->refresh_token) : NULL;
	if (dst->access_token == NULL ||
	    (src->refresh_token != NULL && dst->refresh_token == NULL)) {
		cb_state_session_free(dst);
		return CB_ERR_NOMEM;
	}
	return CB_OK;
}

static cb_status edit_signin(struct cb_state *st, void *arg, bool *write)
{
	struct signin_edit *e = arg;
	struct cb_pam *ctx = e->ctx;
	struct cb_state_session add, evicted;
	char *service, *rhost;
	size_t i = 0;
	cb_status rc;

	forget_gone(e);
	e->mismatch = false;
	/* the check at the prompt was against what was read then; this one is
	 * under the user's lock: two first sign-ins bind one sub */
	if (st->sub == NULL && ctx->acct.legacy_sub != NULL &&
	    (st->sub = strdup(ctx->acct.legacy_sub)) == NULL)
		return CB_ERR_NOMEM;
	if (st->sub != NULL && strcmp(st->sub, e->tok->sub) != 0) {
		e->mismatch = true;
		return CB_ERR_SUB_MISMATCH;
	}
	if (st->sub == NULL && (st->sub = strdup(e->tok->sub)) == NULL)
		return CB_ERR_NOMEM;
	rc = cb_state_set_groups(st, (const char *const *)e->tok->groups, e->tok->n_groups, NULL);
	if (rc != CB_OK)
		return rc;
	/* offline login: this password sign-in's verifier replaces the last;
	 * with offline_login off none is kept (a code sign-in leaves it) */
	if (ctx->new_verifier != NULL || !ctx->cfg.offline_login)
		cb_state_forget_verifier(st);
	if (ctx->new_verifier != NULL) {
		if ((st->verifier = strdup(ctx->new_verifier)) == NULL)
			return CB_ERR_NOMEM;
		st->verifier_set = e->fresh.created;
	}
	st->last_login = e->fresh.created;
	/* the standing a live check recorded is superseded: comparing times
	 * would not order a check and a sign-in of the same second */
	st->checked = 0;
	st->checked_ok = false;
	service = ctx->service[0] != '-' ? strdup(ctx->service) : NULL;
	rhost = ctx->rhost[0] != '-' ? strdup(ctx->rhost) : NULL;
	free(st->last_service);
	free(st->last_rhost);
	st->last_service = service;
	st->last_rhost = rhost;
	/* sessions whose login ended, or whose process is gone: superseded */
	while (i < st->n_sessions) {
		if (st->sessions[i].closed ||
		    !cb_state_session_owner_alive(&st->sessions[i], e->fresh.created))
			cb_state_session_take(st, i, &e->gone[e->n_gone++]);
		else
			i++;
	}
	rc = copy_session(&e->fresh, &add);
	if (rc != CB_OK)
		return rc;
	cb_state_session_add(st, &add, &evicted);
	if (evicted.access_token != NULL)
		e->gone[e->n_gone++] = evicted;
	*write = true;
	return CB_OK;
}

void cb_pam_update_nss(struct cb_pam *ctx, char *const *groups, size_t n)
{
	char **mapped = NULL;
	size_t n_mapped = 0;
	cb_status rc = cb_accountdb_mapped_groups(&ctx->cfg, (const char *const *)groups, n,
						  &mapped, &n_mapped);

	if (rc == CB_OK &&
	    !cb_accountdb_same_groups(ctx->acct.groups, ctx->acct.n_groups, mapped, n_mapped)) {
		rc = cb_accountdb_set_groups(&ctx->cfg, ctx->user, (const char *const *)mapped,
					     n_mapped, &ctx->log);
		if (rc == CB_OK)
			cb_log(&ctx->log, LOG_INFO, "user %s: mapped groups updated for NSS",
			       ctx->user);
	}
	if (rc != CB_OK)
		cb_log(&ctx->log, LOG_WARNING, "user %s: mapped groups not updated for NSS: %s",
		       ctx->user, cb_status_name(rc));
	for (size_t i = 0; i < n_mapped; i++)
		free(mapped[i]);
	free(mapped);
}

cb_status cb_pam_record_signin(struct cb_pam *ctx, struct cb_api *api, const struct cb_tokens *tok)
{
	struct signin_edit e;
	cb_status rc;

	memset(&e, 0, sizeof(e));
	e.ctx = ctx;
	e.tok = tok;
	rc = cb_state_session_new(&e.fresh, tok->access_token, tok->refresh_token, tok->expires_in,
				  (int64_t)time(NULL));
	/* The parent speaks for the sign-in only under sshd, whose
	 * keyboard-interactive child signs in and whose monitor, the child's
	 * parent, holds the login (its session phase takes the entry over).
	 * Anywhere else the parent is a shell that outlives the login: a sudo
	 * that has ended would count as running. */
	if (rc == CB_OK && strncmp(ctx->service, "sshd", 4) != 0) {
		e.fresh.ppid = 0;
		e.fresh.ppid_start = 0;
	}
	if (rc == CB_OK)
		rc = cb_state_update(&ctx->cfg, ctx->user, edit_signin, &e, &ctx->log);
	if (rc == CB_ERR_SUB_MISMATCH)
		cb_log(&ctx->log, LOG_ALERT,
		       "user %s: CloudBase sub %s is not the bound one: possible account takeover, "
		       "refused",
		       ctx->user, tok->sub);
	if (rc == CB_OK)
		rc = keep(ctx, tok, e.fresh.id);
	if (rc != CB_OK)
		cb_api_revoke(api, tok->access_token); /* the host refuses it */
	if (rc == CB_OK)
		cb_pam_update_nss(ctx, tok->groups, tok->n_groups);
	for (size_t i = 0; rc == CB_OK && i < e.n_gone; i++)
		cb_pam_revoke(ctx, api, &e.gone[i]);
	forget_gone(&e);
	cb_state_session_free(&e.fresh);
	return rc;
}

/* ---- a session taken back ---- */

struct drop_edit {
	const char *id;
	struct cb_state_session taken;
};

static cb_status edit_drop(struct cb_state *st, void *arg, bool *write)
{
	struct drop_edit *d = arg;
	long i = cb_state_session_find(st, d->id);

	cb_state_session_free(&d->taken);
	if (i < 0)
		return CB_OK;
	cb_state_session_take(st, (size_t)i, &d->taken);
	*write = true;
	return CB_OK;
}

void cb_pam_drop_session(struct cb_pam *ctx, const char *id)
{
	struct drop_edit d;
	struct cb_api *api = NULL;

	memset(&d, 0, sizeof(d));
	d.id = id;
	if (cb_state_update(&ctx->cfg, ctx->user, edit_drop, &d, &ctx->log) == CB_OK &&
	    d.taken.access_token != NULL && cb_pam_api_open(ctx, &api) == CB_OK) {
		cb_pam_revoke(ctx, api, &d.taken);
		cb_pam_api_close(ctx, api);
	}
	cb_state_session_free(&d.taken);
}
