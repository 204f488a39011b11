/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_sm_authenticate: the sign-in flows. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "i18n.h"
#include "module.h"
#include "secure.h"

/* The password: PAM_AUTHTOK from an earlier module (use_first_pass,
 * try_first_pass) or a prompt. *prompted tells whether it is ours to set. */
static cb_status get_password(struct cb_pam *ctx, char **password, bool *prompted)
{
	const void *item = NULL;

	*password = NULL;
	*prompted = false;
	if (ctx->cfg.use_first_pass || ctx->cfg.try_first_pass) {
		if (pam_get_item(ctx->pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS && item != NULL) {
			*password = cb_strndup_secret(item, CB_PAM_MAX_INPUT);
			if (*password == NULL)
				return strnlen(item, CB_PAM_MAX_INPUT + 1) > CB_PAM_MAX_INPUT
					       ? CB_ERR_INPUT
					       : CB_ERR_NOMEM;
			return CB_OK;
		}
		if (ctx->cfg.use_first_pass) {
			cb_log(&ctx->log, LOG_NOTICE,
			       "use_first_pass: no password from an earlier "
			       "module");
			return CB_ERR_INPUT;
		}
	}
	*prompted = true;
	return cb_pam_prompt(ctx, _("Password: "), false, password);
}

/* A different person with the same login must never get in: the sub the
 * service returned has to be the one bound to this local account. */
cb_status cb_pam_check_sub(struct cb_pam *ctx, const struct cb_tokens *tok)
{
	if (ctx->bound_sub == NULL || strcmp(ctx->bound_sub, tok->sub) == 0)
		return CB_OK;
	cb_log(&ctx->log, LOG_ALERT,
	       "user %s: CloudBase sub %s is not the bound %s: possible account takeover, refused",
	       ctx->user, tok->sub, ctx->bound_sub);
	return CB_ERR_SUB_MISMATCH;
}

cb_status cb_pam_api_open(struct cb_pam *ctx, struct cb_api **api)
{
	return cb_api_open(api, &ctx->cfg, &ctx->log);
}

void cb_pam_api_close(struct cb_pam *ctx, struct cb_api *api)
{
	/* the id lives in the handle freed below: keep a copy for the log line */
	if (api != NULL && !ctx->request_id_kept) {
		snprintf(ctx->request_id_buf, sizeof(ctx->request_id_buf), "%s",
			 cb_api_request_id(api));
		ctx->request_id = ctx->request_id_buf;
	}
	cb_api_close(api);
}

static cb_status signin_with_password(struct cb_pam *ctx, struct cb_api *api, const char *password,
				      struct cb_tokens *tok)
{
	cb_status st = cb_pam_check_input(password);
	struct timespec t0, t1;

	memset(tok, 0, sizeof(*tok));
	if (st != CB_OK)
		return st;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = cb_api_signin_password(api, ctx->acct.login, password, tok);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!cb_api_unreachable(api, st))
		ctx->signin_answered = true;
	ctx->signin_ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cb_log(&ctx->log, LOG_DEBUG, "signin for %s: %s request_id=%s", ctx->user,
	       cb_status_name(st), cb_api_request_id(api));
	return st;
}

/* One try of the password: online; offline when the service cannot be
 * reached (cb_api_unreachable: an answer of the service, even one that
 * cannot be read, is none) and that is allowed. */
static cb_status try_password(struct cb_pam *ctx, struct cb_api *api, const char *password,
			      struct cb_tokens *tok, bool offline_ok)
{
	cb_status st = signin_with_password(ctx, api, password, tok);

	if (cb_api_unreachable(api, st) && ctx->cfg.offline_login && offline_ok) {
		st = cb_pam_offline_signin(ctx, password, st);
		ctx->offline = st == CB_OK;
		ctx->offline_tried = true;
		return st;
	}
	cb_pam_offline_after(ctx, password, st);
	/* a verifier of the password the service has just accepted */
	if (st == CB_OK && ctx->cfg.offline_login) {
		cb_clear_secret(&ctx->new_verifier);
		if (cb_pam_offline_hash(&ctx->cfg, password, &ctx->new_verifier) != CB_OK)
			cb_log(&ctx->log, LOG_ERR,
			       "offline: no verifier of %s's password could be made (libcrypt): "
			       "the cached one stays",
			       ctx->user);
	}
	return st;
}

cb_status cb_pam_password_factor(struct cb_pam *ctx, struct cb_api *api, struct cb_tokens *tok,
				 bool offline_ok)
{
	char *password = NULL;
	bool prompted;
	cb_status st;

	memset(tok, 0, sizeof(*tok));
	st = get_password(ctx, &password, &prompted);
	/* the handle's time budget starts after the user has typed */
	cb_api_restart_budget(api);
	if (st == CB_OK)
		st = try_password(ctx, api, password, tok, offline_ok);
	/* try_first_pass: the earlier module's password was not this one */
	if (!prompted && ctx->cfg.try_first_pass && (st == CB_ERR_AUTH || st == CB_ERR_INPUT)) {
		cb_clear_secret(&password);
		prompted = true;
		st = cb_pam_prompt(ctx, _("Password: "), false, &password);
		if (st == CB_OK) {
			cb_api_restart_budget(api);
			st = try_password(ctx, api, password, tok, offline_ok);
		}
	}
	/* hand a prompted password on to later modules (try_first_pass there) */
	if (st == CB_OK && prompted &&
	    pam_set_item(ctx->pamh, PAM_AUTHTOK, password) != PAM_SUCCESS)
		st = CB_ERR_NOMEM;
	cb_free_secret(password);
	if (st != CB_OK)
		cb_tokens_free(tok);
	return st;
}

cb_status cb_pam_finish_offline(struct cb_pam *ctx)
{
	/* the sign-in the decision line names is the one this host made */
	ctx->request_id = "offline";
	ctx->request_id_kept = true;
	return cb_pam_keep_offline(ctx);
}

cb_status cb_pam_finish_signin(struct cb_pam *ctx, struct cb_api *api, const struct cb_tokens *tok)
{
	cb_status st = cb_pam_check_sub(ctx, tok);

	/* the decision line names the sign-in, not the revokes that follow */
	snprintf(ctx->request_id_buf, sizeof(ctx->request_id_buf), "%s", cb_api_request_id(api));
	ctx->request_id = ctx->request_id_buf;
	ctx->request_id_kept = true;

	if (st == CB_OK)
		return cb_pam_record_signin(ctx, api, tok);
	/* the service accepted it, the host does not: end it there too */
	cb_api_revoke(api, tok->access_token);
	return st;
}

cb_status cb_pam_password_flow(struct cb_pam *ctx, struct cb_outcome *out)
{
	struct cb_api *api = NULL;
	struct cb_tokens tok;
	cb_status st;

	(void)out;
	st = cb_pam_api_open(ctx, &api);
	if (st != CB_OK)
		return st;
	st = cb_pam_password_factor(ctx, api, &tok, true);
	if (st == CB_OK)
		st = ctx->offline ? cb_pam_finish_offline(ctx)
				  : cb_pam_finish_signin(ctx, api, &tok);
	cb_tokens_free(&tok);
	cb_pam_api_close(ctx, api);
	return st;
}

typedef cb_status (*flow_fn)(struct cb_pam *ctx, struct cb_outcome *out);

/* One flow per method. */
static flow_fn flow_for(enum cb_method m)
{
	switch (m) {
	case CB_METHOD_PASSWORD:
		return cb_pam_password_flow;
	case CB_METHOD_SMS:
	case CB_METHOD_EMAIL:
		return cb_pam_otp_flow;
	case CB_METHOD_PASSWORD_SMS:
	case CB_METHOD_PASSWORD_EMAIL:
		return cb_pam_password_otp_flow;
	case CB_METHOD_CHOICE:
		return cb_pam_choice_flow;
	default:
		return NULL;
	}
}

cb_status cb_pam_decoy_password(struct cb_pam *ctx)
{
	const void *item = NULL;
	char *answer = NULL;
	cb_status st;

	/* No prompt where a managed user would not get one either. */
	if (ctx->cfg.use_first_pass)
		return CB_OK;
	if (ctx->cfg.try_first_pass && pam_get_item(ctx->pamh, PAM_AUTHTOK, &item) == PAM_SUCCESS &&
	    item != NULL)
		return CB_OK;
	st = cb_pam_prompt(ctx, _("Password: "), false, &answer);
	cb_free_secret(answer);
	return st;
}

void cb_pam_decoy(struct cb_pam *ctx, struct cb_outcome *out)
{
	/* Whether a name is managed here must not show in the conversation:
	 * a name the module refuses gets the prompts a managed user would get
	 * (pam_unix prompts unknown users too), and the answers are wiped
	 * unread. out->st stays CB_ERR_NOT_FOUND for the decision line. */
	if (ctx->cfg.method == CB_METHOD_PASSWORD) {
		cb_status st = cb_pam_decoy_password(ctx);

		if (st != CB_OK)
			out->shown = st;
		return;
	}
	cb_pam_otp_decoy(ctx, out);
}

void cb_pam_authenticate(struct cb_pam *ctx, struct cb_outcome *out)
{
	flow_fn flow = flow_for(ctx->cfg.method);

	if (flow == NULL) {
		cb_log(&ctx->log, LOG_ERR, "method %s not implemented, refused",
		       cb_config_method_name(&ctx->cfg));
		out->st = CB_ERR_CONFIG;
		return;
	}
	/* a flow may hide the real outcome from the user and the application
	 * (out->shown: password+sms after a wrong password ends like a run of
	 * wrong codes); the decision line keeps the truth */
	out->st = flow(ctx, out);
	if (out->st == CB_OK && ctx->offline)
		out->detail = "offline sign-in with the cached password";
}

void cb_pam_setcred(struct cb_pam *ctx, struct cb_outcome *out)
{
	/* Nothing to establish. Success for every user the module manages,
	 * whether or not this process signed them in: sshd calls setcred in
	 * its monitor after a keyboard-interactive sign-in in a child, and
	 * libpam fails setcred when every module of the stack ignores it (sshd
	 * then stops with "fatal"). */
	(void)ctx;
	out->st = CB_OK;
	out->quiet = true;
}
