/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_cloudbase.so: Linux logins with Tencent CloudBase Auth accounts.
 *
 * The entry points are thin: set up (config, log, user), run one phase,
 * return its PAM code. See pam_cloudbase(8). */
#include "config.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "module.h"

/* Everything is built hidden; these six are the module's whole interface
 * (the link also keeps only ^pam_sm_). */
#define CB_EXPORT PAM_EXTERN __attribute__((visibility("default")))

typedef int (*phase_fn)(struct cb_pam *ctx);

static int run(pam_handle_t *pamh, int flags, int argc, const char **argv, const char *name,
	       enum cb_pam_phase phase, phase_fn fn)
{
	struct cb_pam ctx;
	cb_status st = cb_pam_begin(&ctx, pamh, flags, argc, argv, name);
	int rc;

	if (st == CB_ERR_NOT_FOUND && ctx.cfg.ignore_unknown_user) {
		rc = PAM_IGNORE; /* a name no account can have: not ours */
	} else if (st != CB_OK) {
		rc = cb_pam_code(st, phase);
		/* the same prompts and delay as any failed authentication: no hint
		 * in the conversation or the timing */
		if (phase == CB_PHASE_AUTH && fn == cb_pam_authenticate) {
			if (st == CB_ERR_NOT_FOUND)
				rc = cb_pam_code(cb_pam_decoy_prompt(&ctx), phase);
			pam_fail_delay(pamh, CB_PAM_FAIL_DELAY_USEC);
		}
		cb_pam_decision(&ctx, st, rc, NULL);
	} else {
		rc = fn(&ctx);
	}
	cb_pam_end(&ctx);
	return rc;
}

CB_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, "auth", CB_PHASE_AUTH, cb_pam_authenticate);
}

CB_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, "setcred", CB_PHASE_AUTH, cb_pam_setcred);
}

CB_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, "account", CB_PHASE_ACCOUNT, cb_pam_acct_mgmt);
}

CB_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, "session", CB_PHASE_SESSION, cb_pam_open_session);
}

CB_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, "session", CB_PHASE_SESSION, cb_pam_close_session);
}

CB_EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run(pamh, flags, argc, argv, "password", CB_PHASE_PASSWORD, cb_pam_chauthtok);
}
