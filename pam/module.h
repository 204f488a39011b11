/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals of pam_cloudbase.so shared by its source files. Nothing here
 * is exported: the module exports only the pam_sm_* entry points. */
#ifndef CB_PAM_MODULE_H
#define CB_PAM_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include <security/pam_modules.h>

#include "accountdb.h"
#include "api.h"
#include "conf.h"
#include "log.h"
#include "state.h"
#include "status.h"

/* libpam sleeps about this long (the longest of the stack wins) after a
 * failed authentication, to slow down guessing. */
#define CB_PAM_FAIL_DELAY_USEC 2000000U

/* Longest password or code accepted; longer input is refused unsent. */
#define CB_PAM_MAX_INPUT 512

/* What one call of an entry point works with. */
struct cb_pam {
	pam_handle_t *pamh;
	int flags;
	const char *phase; /* "auth", "account", ... for log lines */
	struct cb_config cfg;
	bool cfg_loaded;
	struct cb_log log;
	const char *user; /* owned by libpam */
	const char *service;
	const char *rhost;
	struct cb_account acct;
	bool have_acct;
	/* the user's record in the state store (empty when there is none) */
	struct cb_state st;
	/* the sub this account is bound to: the state store's, or a version 1
	 * database's before its migration; NULL when unbound */
	const char *bound_sub;
	/* for the decision line: the sign-in's request, else the last one;
	 * "-" if none */
	const char *request_id;
	char request_id_buf[40];
	bool request_id_kept; /* the sign-in's: later requests do not replace it */
	/* how long the last password sign-in round trip took (ms) */
	long signin_ms;
	/* offline login: the sign-in used the cached password (offline), or
	 * tried it (offline_tried); the service answered a password sign-in
	 * of this call (it is not unreachable for the next one) */
	bool offline, offline_tried, signin_answered;
	/* the verifier of this sign-in's password, stored with it; NULL: none */
	char *new_verifier;
};

/* What authentication leaves for the later phases of the same
 * transaction (pam_set_data); wiped by its cleanup function. The state
 * store has the same sign-in for other processes (sshd's monitor after a
 * keyboard-interactive sign-in in its child). */
struct cb_pam_state {
	char *user; /* the local user it was obtained for */
	char *sub;
	char **groups;
	size_t n_groups;
	char session_id[CB_STATE_ID_LEN + 1]; /* its entry in the state store */
};

#define CB_PAM_STATE_KEY "pam_cloudbase_state"

/* context.c */
cb_status cb_pam_begin(struct cb_pam *ctx, pam_handle_t *pamh, int flags, int argc,
		       const char **argv, const char *phase);
void cb_pam_end(struct cb_pam *ctx);
/* Look the local user up in the account database, then read their state
 * record (a record that cannot be trusted fails the lookup). */
cb_status cb_pam_lookup(struct cb_pam *ctx);
/* The one log line per decision. */
void cb_pam_decision(struct cb_pam *ctx, cb_status st, int pam_rc, const char *detail);
struct cb_pam_state *cb_pam_get_state(struct cb_pam *ctx);

/* conv.c */
/* Ask with echo off (or on); *answer is malloc'd, free with cb_free_secret. */
cb_status cb_pam_prompt(struct cb_pam *ctx, const char *prompt, bool echo, char **answer);
/* Tell the user something (PAM_ERROR_MSG or PAM_TEXT_INFO); quiet with PAM_SILENT. */
void cb_pam_tell(struct cb_pam *ctx, bool error, const char *msg);
/* Refuse empty, over-long or otherwise unusable secrets before any request. */
cb_status cb_pam_check_input(const char *s);

/* pamcodes.c: the one place cb_status becomes a PAM code. */
enum cb_pam_phase { CB_PHASE_AUTH, CB_PHASE_ACCOUNT, CB_PHASE_PASSWORD, CB_PHASE_SESSION };
int cb_pam_code(cb_status st, enum cb_pam_phase phase);
/* What the user is told for a status, or NULL for nothing. */
const char *cb_pam_user_message(cb_status st);

/* What a phase decided: run() (pam_cloudbase.c) turns it into the PAM
 * code, the user's message, the failure delay and the one decision line. */
struct cb_outcome {
	cb_status st; /* what happened: the decision line */
	/* what the user and the application are shown instead (no oracle:
	 * password+sms after a wrong password ends like a run of wrong codes);
	 * CB_OK: st */
	cb_status shown;
	bool told; /* the user was told why already: no second message */
	/* nothing for the module to do (a user it does not manage, a session
	 * it did not sign in): PAM_IGNORE, a debug line with detail */
	bool not_ours;
	bool quiet; /* no decision line (setcred, a preliminary pass, an open) */
	const char *detail; /* appended to the decision line */
};

/* The phases, for a user the module manages (run() has looked them up). */
void cb_pam_authenticate(struct cb_pam *ctx, struct cb_outcome *out);
void cb_pam_setcred(struct cb_pam *ctx, struct cb_outcome *out);
void cb_pam_acct_mgmt(struct cb_pam *ctx, struct cb_outcome *out);
void cb_pam_open_session(struct cb_pam *ctx, struct cb_outcome *out);
void cb_pam_close_session(struct cb_pam *ctx, struct cb_outcome *out);
void cb_pam_chauthtok(struct cb_pam *ctx, struct cb_outcome *out);

/* A name the module refuses is asked what a managed user would be asked
 * and told what a managed user would be told at the end (out->told,
 * out->shown: CB_ERR_NOT_FOUND, or under the code methods the end of a run
 * of wrong codes; a conversation error or an empty answer as for a managed
 * user). */
void cb_pam_decoy(struct cb_pam *ctx, struct cb_outcome *out);
/* The password prompt of a refused name where a managed user would get
 * one (not with use_first_pass, nor with try_first_pass and a password
 * from an earlier module); the answer is wiped unread. CB_OK or the
 * conversation's failure. */
cb_status cb_pam_decoy_password(struct cb_pam *ctx);

/* auth.c */
/* One cb_api (one connection) for a whole flow; close keeps the last
 * request id for the decision line. */
cb_status cb_pam_api_open(struct cb_pam *ctx, struct cb_api **api);
void cb_pam_api_close(struct cb_pam *ctx, struct cb_api *api);
/* The sub the service returned must be the one bound to the account. */
cb_status cb_pam_check_sub(struct cb_pam *ctx, const struct cb_tokens *tok);
/* check_sub, then record the sign-in (state store, NSS's mapped groups)
 * and keep it for the later phases; a sign-in refused here is revoked on
 * api first. */
cb_status cb_pam_finish_signin(struct cb_pam *ctx, struct cb_api *api, const struct cb_tokens *tok);
/* The password factor on api (PAM_AUTHTOK or a prompt; try_first_pass):
 * *tok holds the sign-in on CB_OK, and is empty otherwise. With
 * offline_ok (and offline_login), an unreachable service is answered by
 * the cached password: CB_OK, ctx->offline set, *tok empty. */
cb_status cb_pam_password_factor(struct cb_pam *ctx, struct cb_api *api, struct cb_tokens *tok,
				 bool offline_ok);
/* After an offline sign-in: tell the user, keep it for the later phases. */
cb_status cb_pam_finish_offline(struct cb_pam *ctx);
cb_status cb_pam_password_flow(struct cb_pam *ctx, struct cb_outcome *out);

/* otp.c: the one-time code methods (sms, email, password+sms,
 * password+email) and the menu */
cb_status cb_pam_otp_flow(struct cb_pam *ctx, struct cb_outcome *out);
cb_status cb_pam_password_otp_flow(struct cb_pam *ctx, struct cb_outcome *out);
cb_status cb_pam_choice_flow(struct cb_pam *ctx, struct cb_outcome *out);
/* cb_pam_decoy under the code methods: the menu, the password prompt and a
 * code prompt with a contact shaped like a real one, then the code loop of
 * a run of wrong codes; nothing is sent. */
void cb_pam_otp_decoy(struct cb_pam *ctx, struct cb_outcome *out);

/* offline.c: offline login (offline_login) */
/* A verifier of password (yescrypt, a fresh salt); *out malloc'd. */
cb_status cb_pam_offline_hash(const struct cb_config *cfg, const char *password, char **out);
/* The service is unreachable (online: why): the password against the
 * user's verifier, within its bounds; counts the attempt. CB_OK, CB_ERR_AUTH
 * (wrong), or online when offline login cannot be used (logged). */
cb_status cb_pam_offline_signin(struct cb_pam *ctx, const char *password, cb_status online);
/* After the service's answer st to any sign-in (password NULL: a code's;
 * pam_authenticate's or a password change's): a verifier it proves stale
 * (blocked, or the cached password refused) is removed. */
void cb_pam_offline_after(struct cb_pam *ctx, const char *password, cb_status st);
/* Remove the user's verifier (logged with why). */
void cb_pam_offline_forget(struct cb_pam *ctx, const char *why);

/* state.c: a sign-in recorded (state store, NSS) and kept (pam_set_data) */
cb_status cb_pam_record_signin(struct cb_pam *ctx, struct cb_api *api, const struct cb_tokens *tok);
void cb_pam_state_free(struct cb_pam_state *st);
/* Keep an offline sign-in for the later phases: the bound sub and the
 * groups of the last online sign-in, no session. */
cb_status cb_pam_keep_offline(struct cb_pam *ctx);
/* Revoke a session on api (its refresh token first trades an expired
 * access token for one that can be revoked). Logged; best effort. */
cb_status cb_pam_revoke(struct cb_pam *ctx, struct cb_api *api, const struct cb_state_session *s);
/* Take the session id out of the user's state record and revoke it (a
 * sign-in the host refused after the service accepted it). */
void cb_pam_drop_session(struct cb_pam *ctx, const char *id);
/* NSS serves the mapped groups: write the account database only when the
 * user's CloudBase groups change them (then nscd's caches are invalidated).
 * A failure here never refuses a login (logged). */
void cb_pam_update_nss(struct cb_pam *ctx, char *const *groups, size_t n);

#endif
