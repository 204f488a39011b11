/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_sm_chauthtok: change the CloudBase password. The service wants a
 * fresh sudo token for it: sign in with the old password, trade it for a
 * sudo token (/user/sudo), then PATCH /user/password, all on one handle.
 * The sign-in was only for the change: its session is revoked at the end.
 * The service signs the user's other sessions out when the password
 * changes, so the state store forgets the ones this host held. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_modules.h>

#include "i18n.h"
#include "module.h"
#include "secure.h"

static cb_status get_item_secret(struct cb_pam *ctx, int item, char **out)
{
	const void *v = NULL;

	*out = NULL;
	if (pam_get_item(ctx->pamh, item, &v) != PAM_SUCCESS || v == NULL)
		return CB_ERR_NOT_FOUND;
	*out = cb_strndup_secret(v, CB_PAM_MAX_INPUT);
	return *out != NULL ? CB_OK : CB_ERR_INPUT;
}

static cb_status get_old(struct cb_pam *ctx, char **old)
{
	cb_status st = get_item_secret(ctx, PAM_OLDAUTHTOK, old);

	if (st == CB_ERR_NOT_FOUND)
		st = cb_pam_prompt(ctx, _("Current CloudBase password: "), false, old);
	return st == CB_OK ? cb_pam_check_input(*old) : st;
}

static cb_status get_new(struct cb_pam *ctx, char **new_pw)
{
	char *again = NULL;
	cb_status st = CB_ERR_NOT_FOUND;

	if (ctx->cfg.use_first_pass || ctx->cfg.try_first_pass)
		st = get_item_secret(ctx, PAM_AUTHTOK, new_pw);
	if (st != CB_ERR_NOT_FOUND || ctx->cfg.use_first_pass)
		return st == CB_OK ? cb_pam_check_input(*new_pw) : CB_ERR_INPUT;
	st = cb_pam_prompt(ctx, _("New CloudBase password: "), false, new_pw);
	if (st == CB_OK)
		st = cb_pam_check_input(*new_pw);
	if (st == CB_OK)
		st = cb_pam_prompt(ctx, _("Retype new CloudBase password: "), false, &again);
	if (st == CB_OK && strcmp(*new_pw, again) != 0) {
		cb_pam_tell(ctx, true, _("Sorry, passwords do not match."));
		st = CB_ERR_INPUT;
	}
	cb_free_secret(again);
	return st;
}

/* After a change: the service signed every session out; the cached
 * password (offline login) becomes the new one's verifier, or goes. */
static cb_status edit_after_change(struct cb_state *st, void *arg, bool *write)
{
	const char *verifier = arg;

	for (size_t i = 0; i < st->n_sessions; i++)
		cb_state_session_free(&st->sessions[i]);
	*write = st->n_sessions > 0 || st->verifier != NULL || verifier != NULL;
	st->n_sessions = 0;
	cb_state_forget_verifier(st);
	if (verifier != NULL) {
		if ((st->verifier = strdup(verifier)) == NULL)
			return CB_ERR_NOMEM;
		st->verifier_set = (int64_t)time(NULL);
	}
	return CB_OK;
}

static cb_status change(struct cb_pam *ctx, const char *old, const char *new_pw)
{
	struct cb_api *api = NULL;
	struct cb_tokens tok = {0};
	char *sudo = NULL, *verifier = NULL;
	bool signed_in;
	cb_status st = cb_pam_api_open(ctx, &api);

	if (st != CB_OK)
		return st;
	st = cb_api_signin_password(api, ctx->acct.login, old, &tok);
	/* "blocked", or "wrong password" for the cached one: it goes, as
	 * after a sign-in of pam_authenticate */
	cb_pam_offline_after(ctx, old, st);
	signed_in = st == CB_OK;
	if (st == CB_OK)
		st = cb_pam_check_sub(ctx, &tok);
	if (st == CB_OK)
		st = cb_api_user_sudo(api, tok.access_token, old, &sudo);
	if (st == CB_OK)
		st = cb_api_user_password_patch(api, tok.access_token, sudo, old, new_pw);
	if (signed_in && cb_api_revoke(api, tok.access_token) != CB_OK)
		cb_log(&ctx->log, LOG_NOTICE,
		       "password: the session of the change was not revoked (it expires on its "
		       "own)");
	cb_pam_api_close(ctx, api);
	if (st == CB_OK && ctx->cfg.offline_login &&
	    cb_pam_offline_hash(&ctx->cfg, new_pw, &verifier) != CB_OK)
		cb_log(&ctx->log, LOG_ERR,
		       "password: no verifier of the new password could be made (libcrypt): no "
		       "offline login until the next sign-in");
	if (st == CB_OK &&
	    cb_state_update(&ctx->cfg, ctx->user, edit_after_change, verifier, &ctx->log) != CB_OK)
		cb_log(&ctx->log, LOG_WARNING,
		       "password: the sessions signed out by the change stay in the state store");
	cb_clear_secret(&verifier);
	cb_free_secret(sudo);
	cb_tokens_free(&tok);
	return st;
}

static cb_status update(struct cb_pam *ctx)
{
	char *old = NULL, *new_pw = NULL;
	cb_status st = get_old(ctx, &old);

	if (st == CB_OK)
		st = get_new(ctx, &new_pw);
	if (st == CB_OK)
		st = change(ctx, old, new_pw);
	if (st == CB_OK && (pam_set_item(ctx->pamh, PAM_OLDAUTHTOK, old) != PAM_SUCCESS ||
			    pam_set_item(ctx->pamh, PAM_AUTHTOK, new_pw) != PAM_SUCCESS))
		st = CB_ERR_NOMEM;
	cb_free_secret(old);
	cb_free_secret(new_pw);
	return st;
}

void cb_pam_chauthtok(struct cb_pam *ctx, struct cb_outcome *out)
{
	/* the preliminary pass only checks that the user is ours */
	if (ctx->flags & (int)PAM_PRELIM_CHECK) {
		out->quiet = true;
		return;
	}
	out->st = update(ctx);
}
