/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_sm_acct_mgmt: may this user log in now? */
#include "config.h"

#include <string.h>
#include <syslog.h>

#include <security/pam_modules.h>

#include "module.h"

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

static cb_status after_our_auth(struct cb_pam *ctx, const struct cb_pam_state *state)
{
	cb_status st = check_groups(ctx, state->groups, state->n_groups);

	if (st != CB_OK)
		return st;
	/* binds the sub on the first login; refuses another person's */
	st = cb_accountdb_record_login(&ctx->cfg, ctx->user, state->sub,
				       (const char *const *)state->groups, state->n_groups,
				       &ctx->log);
	if (st == CB_ERR_SUB_MISMATCH)
		cb_log(&ctx->log, LOG_ALERT,
		       "user %s: signed in as CloudBase sub %s, not the bound one: possible "
		       "account takeover, refused",
		       ctx->user, state->sub);
	return st;
}

/* No sign-in through this module in this transaction (e.g. an SSH public
 * key): allowed only with acct_without_auth, and then by the groups seen
 * at the last login. */
static cb_status without_our_auth(struct cb_pam *ctx)
{
	if (!ctx->cfg.acct_without_auth) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "user %s did not authenticate through pam_cloudbase (set "
		       "acct_without_auth for public-key logins)",
		       ctx->user);
		return CB_ERR_DENIED;
	}
	return check_groups(ctx, ctx->acct.groups, ctx->acct.n_groups);
}

int cb_pam_acct_mgmt(struct cb_pam *ctx)
{
	const struct cb_pam_state *state;
	cb_status st;
	int rc;

	st = cb_pam_lookup(ctx);
	if (cb_pam_not_ours(ctx, st))
		return PAM_IGNORE;
	if (st == CB_OK) {
		state = cb_pam_get_state(ctx);
		st = state != NULL ? after_our_auth(ctx, state) : without_our_auth(ctx);
	}
	rc = cb_pam_code(st, CB_PHASE_ACCOUNT);
	cb_pam_decision(ctx, st, rc, NULL);
	return rc;
}
