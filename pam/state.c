/* SPDX-License-Identifier: BSD-3-Clause */
/* The sign-in result kept for the later phases of one PAM transaction. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

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
	cb_free_secret(st->access_token);
	cb_free_secret(st->refresh_token);
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

cb_status cb_pam_state_store(struct cb_pam *ctx, const struct cb_tokens *tok)
{
	struct cb_pam_state *st = calloc(1, sizeof(*st));
	cb_status rc;

	if (st == NULL)
		return CB_ERR_NOMEM;
	st->user = strdup(ctx->user);
	st->sub = strdup(tok->sub);
	st->access_token = strdup(tok->access_token);
	st->refresh_token = tok->refresh_token != NULL ? strdup(tok->refresh_token) : NULL;
	rc = copy_groups(st, tok);
	if (rc == CB_OK && (st->user == NULL || st->sub == NULL || st->access_token == NULL ||
			    (tok->refresh_token != NULL && st->refresh_token == NULL)))
		rc = CB_ERR_NOMEM;
	if (rc == CB_OK && pam_set_data(ctx->pamh, CB_PAM_STATE_KEY, st, cleanup) != PAM_SUCCESS)
		rc = CB_ERR_NOMEM;
	if (rc != CB_OK)
		cb_pam_state_free(st);
	return rc;
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
