/* SPDX-License-Identifier: BSD-3-Clause */
/* The one internal return convention of pam_cloudbase.
 *
 * Every function below the PAM and NSS entry points returns a cb_status.
 * The entry points translate it once, in one table each (pam/ and nss/).
 * CB_OK is the only success; every other value denies a login.
 */
#ifndef CB_STATUS_H
#define CB_STATUS_H

#include <stdbool.h>

typedef enum cb_status {
	CB_OK = 0,

	/* local trouble */
	CB_ERR_NOMEM, /* allocation failed */
	CB_ERR_SYSTEM, /* an unexpected system call failure */
	CB_ERR_CONFIG, /* configuration missing, invalid or unsafe */
	CB_ERR_UNSAFE_FILE, /* a file failed its ownership/mode/type checks */
	CB_ERR_INPUT, /* user input refused before any request */
	CB_ERR_CONV, /* the PAM conversation failed or was cancelled */
	CB_ERR_NOT_FOUND, /* no such local record (account database) */
	CB_ERR_EXISTS, /* record already present */
	CB_ERR_CORRUPT, /* a local database is malformed */
	CB_ERR_RANGE, /* a caller's buffer is too small (NSS ERANGE) */
	CB_ERR_BUSY, /* a lock could not be taken in time */
	CB_ERR_CONFLICT, /* a record kept changing while it was being written */

	/* the service could not be asked or did not answer sensibly */
	CB_ERR_TRANSPORT, /* connect/read/write failed, DNS, refused */
	CB_ERR_TIMEOUT, /* the configured time budget ran out */
	CB_ERR_TLS, /* certificate or handshake failure */
	CB_ERR_PROTOCOL, /* malformed, oversized or mistyped answer */
	CB_ERR_SERVICE, /* internal, unavailable, any 5xx */
	CB_ERR_CLIENT, /* our client credentials or scope were refused */

	/* the service answered with a decision */
	CB_ERR_AUTH, /* wrong password or credentials */
	CB_ERR_USER_UNKNOWN, /* no such CloudBase user */
	CB_ERR_USER_PENDING, /* account not activated */
	CB_ERR_USER_BLOCKED, /* account disabled */
	CB_ERR_LOCKED, /* too many failures, captcha wanted */
	CB_ERR_RATE_LIMITED, /* too frequent (e.g. one SMS per 60 s) */
	CB_ERR_NEED_SMS, /* phone_required / password_not_set */
	CB_ERR_TWO_FACTOR, /* service-side 2FA wanted or failed */
	CB_ERR_CODE_INVALID, /* wrong verification code */
	CB_ERR_CODE_EXPIRED, /* the code's time ran out */
	CB_ERR_CODE_ABORTED, /* too many code attempts */
	CB_ERR_PHONE_INVALID, /* bad phone number format */
	CB_ERR_EMAIL_INVALID, /* bad e-mail address */
	CB_ERR_TOKEN, /* token wrong, expired or revoked */
	CB_ERR_WEAK_PASSWORD, /* new password refused by policy */
	CB_ERR_SUB_MISMATCH, /* signed in as a different CloudBase user */
	CB_ERR_DENIED, /* refused by local policy (groups, ...) */

	CB_STATUS_MAX_
} cb_status;

/* A short, stable, lower-case name for logs ("auth", "timeout", ...). */
const char *cb_status_name(cb_status st);

/* Could the status mean that the service failed to answer with a decision:
 * no connection, DNS, a timeout, a 5xx, a malformed answer (which may be a
 * captive page)? A TLS verification failure is not "unreachable": it is a
 * configuration or an attack, and never eases a decision. Neither is a
 * refusal of our client credentials. The status alone cannot tell a
 * captive page from an answer of the service that cannot be read: what
 * eases a decision (offline login, account_offline_grace) asks
 * cb_api_unreachable, which can. */
bool cb_status_unreachable(cb_status st);

#endif
