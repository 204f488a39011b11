/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_cloudbase.so: Linux logins with Tencent CloudBase Auth accounts.
 *
 * The entry points are thin: set up (config, log, user), run one phase,
 * return its PAM code. See pam_cloudbase(8). */
#include "config.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <string.h>
#include <syslog.h>

#include "module.h"

/* Everything is built hidden; these six are the module's whole interface
 * (the link also keeps only ^pam_sm_). */
#define CB_EXPORT PAM_EXTERN __attribute__((visibility("default")))

/* An entry point: its name in log lines, its code table, its phase, and
 * how its failures end. */
struct entry {
	const char *name;
	enum cb_pam_phase codes;
	void (*phase)(struct cb_pam *ctx, struct cb_outcome *out);
	unsigned flags;
};

enum {
	E_TELL = 1u << 0, /* a failure tells the user why */
	E_DELAY = 1u << 1, /* a failure waits (authentication) */
	E_DECOY = 1u << 2, /* a refused name gets a managed user's conversation */
	E_NOT_OURS = 1u << 3, /* a name not managed here is the stack's (nothing to do) */
	E_NEVER_FAILS = 1u << 4, /* PAM_SUCCESS whatever happened (the logout) */
};

static const struct entry authenticate = {"auth", CB_PHASE_AUTH, cb_pam_authenticate,
					  E_TELL | E_DELAY | E_DECOY};
static const struct entry setcred = {"setcred", CB_PHASE_AUTH, cb_pam_setcred, E_NOT_OURS};
static const struct entry acct_mgmt = {"account", CB_PHASE_ACCOUNT, cb_pam_acct_mgmt, E_TELL};
static const struct entry open_session = {"session", CB_PHASE_SESSION, cb_pam_open_session,
					  E_NOT_OURS};
static const struct entry close_session = {"session", CB_PHASE_SESSION, cb_pam_close_session,
					   E_NOT_OURS | E_NEVER_FAILS};
static const struct entry chauthtok = {"password", CB_PHASE_PASSWORD, cb_pam_chauthtok, E_TELL};

/* The one exit of every entry point: the PAM code, the user's message,
 * the failure delay, the decision line. */
static int finish(struct cb_pam *ctx, const struct entry *e, const struct cb_outcome *out)
{
	cb_status shown = out->st != CB_OK && out->shown != CB_OK ? out->shown : out->st;
	int rc;

	if (out->not_ours) {
		cb_log(&ctx->log, LOG_DEBUG, "%s: %s: left to the stack",
		       ctx->user != NULL ? ctx->user : "-",
		       out->detail != NULL ? out->detail : "not managed here");
		return PAM_IGNORE;
	}
	rc = (e->flags & E_NEVER_FAILS) ? PAM_SUCCESS : cb_pam_code(shown, e->codes);
	if (out->st != CB_OK && (e->flags & E_TELL) && !out->told)
		cb_pam_tell(ctx, true, cb_pam_user_message(shown));
	if (out->st != CB_OK && (e->flags & E_DELAY))
		pam_fail_delay(ctx->pamh, CB_PAM_FAIL_DELAY_USEC);
	if (!out->quiet)
		cb_pam_decision(ctx, out->st, rc, out->detail);
	return rc;
}

static int run(pam_handle_t *pamh, int flags, int argc, const char **argv, const struct entry *e)
{
	struct cb_pam ctx;
	struct cb_outcome out;
	int rc;

	memset(&out, 0, sizeof(out));
	out.st = cb_pam_begin(&ctx, pamh, flags, argc, argv, e->name);
	if (out.st == CB_OK)
		out.st = cb_pam_lookup(&ctx);
	if (out.st == CB_ERR_NOT_FOUND && (ctx.cfg.ignore_unknown_user || (e->flags & E_NOT_OURS)))
		out.not_ours = true;
	else if (out.st == CB_ERR_NOT_FOUND && (e->flags & E_DECOY))
		cb_pam_decoy(&ctx, &out);
	else if (out.st == CB_OK)
		e->phase(&ctx, &out);
	rc = finish(&ctx, e, &out);
	cb_pam_end(&ctx);
	return rc;
}

CB_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, &authenticate);
}

CB_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, &setcred);
}

CB_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, &acct_mgmt);
}

CB_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, &open_session);
}

CB_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, &close_session);
}

CB_EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, &chauthtok);
}
