/* SPDX-License-Identifier: BSD-3-Clause */
/* cb_status → PAM return codes: the one table (cloudbase-auth-api.md). */
#include "config.h"

#include <security/pam_modules.h>

#include "i18n.h"
#include "module.h"

static const int auth_codes[CB_STATUS_MAX_] = {
	[CB_OK] = PAM_SUCCESS,
	[CB_ERR_NOMEM] = PAM_BUF_ERR,
	[CB_ERR_SYSTEM] = PAM_SYSTEM_ERR,
	[CB_ERR_CONFIG] = PAM_SERVICE_ERR,
	[CB_ERR_UNSAFE_FILE] = PAM_SERVICE_ERR,
	[CB_ERR_INPUT] = PAM_AUTH_ERR,
	[CB_ERR_CONV] = PAM_CONV_ERR,
	[CB_ERR_NOT_FOUND] = PAM_USER_UNKNOWN, /* local user not managed here */
	[CB_ERR_EXISTS] = PAM_SERVICE_ERR,
	[CB_ERR_CORRUPT] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_RANGE] = PAM_SERVICE_ERR,
	[CB_ERR_BUSY] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_CONFLICT] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_TRANSPORT] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_TIMEOUT] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_TLS] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_PROTOCOL] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_SERVICE] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_CLIENT] = PAM_AUTHINFO_UNAVAIL,
	[CB_ERR_AUTH] = PAM_AUTH_ERR,
	[CB_ERR_USER_UNKNOWN] = PAM_USER_UNKNOWN,
	[CB_ERR_USER_PENDING] = PAM_AUTH_ERR,
	[CB_ERR_USER_BLOCKED] = PAM_PERM_DENIED,
	[CB_ERR_LOCKED] = PAM_MAXTRIES,
	[CB_ERR_RATE_LIMITED] = PAM_MAXTRIES,
	[CB_ERR_NEED_SMS] = PAM_AUTH_ERR,
	[CB_ERR_TWO_FACTOR] = PAM_AUTH_ERR,
	[CB_ERR_CODE_INVALID] = PAM_AUTH_ERR,
	[CB_ERR_CODE_EXPIRED] = PAM_AUTH_ERR,
	[CB_ERR_CODE_ABORTED] = PAM_MAXTRIES,
	[CB_ERR_PHONE_INVALID] = PAM_AUTH_ERR,
	[CB_ERR_EMAIL_INVALID] = PAM_AUTH_ERR,
	[CB_ERR_TOKEN] = PAM_AUTH_ERR,
	[CB_ERR_WEAK_PASSWORD] = PAM_AUTHTOK_ERR,
	[CB_ERR_SUB_MISMATCH] = PAM_AUTH_ERR,
	[CB_ERR_DENIED] = PAM_PERM_DENIED,
};

int cb_pam_code(cb_status st, enum cb_pam_phase phase)
{
	int rc;

	if (st == CB_OK)
		return PAM_SUCCESS;
	if ((unsigned)st >= CB_STATUS_MAX_)
		return PAM_SERVICE_ERR;
	rc = auth_codes[st];
	/* a hole in the table must never read as success (0) */
	if (rc == PAM_SUCCESS || rc == PAM_IGNORE)
		return PAM_SERVICE_ERR;
	if (phase == CB_PHASE_AUTH) {
		/* refusals no retry can change end the attempt: sshd stops asking
		 * (no six sign-ins accepted by the service and refused here) */
		if (st == CB_ERR_USER_BLOCKED || st == CB_ERR_USER_PENDING ||
		    st == CB_ERR_SUB_MISMATCH || st == CB_ERR_DENIED)
			return PAM_MAXTRIES;
	}
	if (phase == CB_PHASE_ACCOUNT) {
		if (st == CB_ERR_USER_BLOCKED)
			return PAM_ACCT_EXPIRED;
		if (st == CB_ERR_SUB_MISMATCH || st == CB_ERR_AUTH || st == CB_ERR_TOKEN ||
		    st == CB_ERR_USER_PENDING)
			return PAM_PERM_DENIED;
	}
	if (phase == CB_PHASE_PASSWORD) {
		/* pam_chauthtok(3) has no AUTHINFO_UNAVAIL: the token could not
		 * be changed */
		if (st == CB_ERR_INPUT || rc == PAM_AUTHINFO_UNAVAIL)
			return PAM_AUTHTOK_ERR;
	}
	if (phase == CB_PHASE_SESSION && rc == PAM_AUTHINFO_UNAVAIL)
		return PAM_SESSION_ERR;
	return rc;
}

const char *cb_pam_user_message(cb_status st)
{
	switch (st) {
	case CB_ERR_USER_PENDING:
		return _("Your CloudBase account is not activated yet.");
	case CB_ERR_USER_BLOCKED:
		return _("Your CloudBase account is blocked. Contact your administrator.");
	case CB_ERR_LOCKED:
		return _("Too many failed sign-ins. Try again later, or sign in once through the "
			 "CloudBase console.");
	case CB_ERR_RATE_LIMITED:
		return _("Too many attempts in a short time. Wait a minute and try again.");
	case CB_ERR_NEED_SMS:
		return _("This account must sign in with an SMS verification code.");
	case CB_ERR_TWO_FACTOR:
		return _("This account needs a second factor that this host does not offer.");
	case CB_ERR_CODE_ABORTED:
		return _("Too many wrong codes. Sign in again to get a new one.");
	case CB_ERR_CODE_INVALID:
		return _("The code was not accepted.");
	case CB_ERR_CODE_EXPIRED:
		return _("The code has expired. Sign in again to get a new one.");
	case CB_ERR_PHONE_INVALID:
		return _("The phone number on record cannot receive SMS codes. Contact your "
			 "administrator.");
	case CB_ERR_SUB_MISMATCH:
		return _("This account belongs to another CloudBase user. Contact your "
			 "administrator.");
	case CB_ERR_TOKEN:
		return _("Your CloudBase sign-in on this host has ended. Sign in again with your "
			 "password or a code.");
	case CB_ERR_WEAK_PASSWORD:
		return _("The new password was refused: use 8 to 64 characters of mixed classes.");
	default:
		return NULL;
	}
}
