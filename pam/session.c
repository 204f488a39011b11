/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_sm_open_session / pam_sm_close_session: the session's tokens stay in
 * the PAM transaction; closing the session revokes the access token, so a
 * token that leaked from the session dies with it. */
#include "config.h"

#include <stdio.h>
#include <syslog.h>

#include <security/pam_modules.h>

#include "module.h"
#include "secure.h"

int cb_pam_open_session(struct cb_pam *ctx)
{
	struct cb_pam_state *state = cb_pam_get_state(ctx);

	if (state == NULL)
		return PAM_IGNORE; /* not our login: nothing to keep */
	state->session_open = true;
	cb_log(&ctx->log, LOG_INFO, "session: user=%s service=%s rhost=%s opened", ctx->user,
	       ctx->service, ctx->rhost);
	return PAM_SUCCESS;
}

int cb_pam_close_session(struct cb_pam *ctx)
{
	struct cb_pam_state *state = cb_pam_get_state(ctx);
	struct cb_api api;
	cb_status st;

	if (state == NULL || state->access_token == NULL)
		return PAM_IGNORE;
	st = cb_api_open(&api, &ctx->cfg, &ctx->log);
	if (st == CB_OK)
		st = cb_api_revoke(&api, state->access_token);
	snprintf(ctx->request_id_buf, sizeof(ctx->request_id_buf), "%s",
		 api.http != NULL ? cb_api_request_id(&api) : "-");
	ctx->request_id = ctx->request_id_buf;
	cb_api_close(&api);
	if (st == CB_OK)
		cb_clear_secret(&state->access_token);
	state->session_open = false;
	/* the session is over whatever the service said: a failed revoke is
	 * logged (the token expires on its own) but does not fail the logout */
	cb_pam_decision(ctx, st, PAM_SUCCESS, st == CB_OK ? "token revoked" : "revoke failed");
	return PAM_SUCCESS;
}
