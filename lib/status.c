/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stddef.h>

#include "status.h"

static const char *const names[CB_STATUS_MAX_] = {
	[CB_OK] = "ok",
	[CB_ERR_NOMEM] = "out_of_memory",
	[CB_ERR_SYSTEM] = "system_error",
	[CB_ERR_CONFIG] = "config_error",
	[CB_ERR_UNSAFE_FILE] = "unsafe_file",
	[CB_ERR_INPUT] = "bad_input",
	[CB_ERR_CONV] = "conversation_error",
	[CB_ERR_NOT_FOUND] = "not_found",
	[CB_ERR_EXISTS] = "exists",
	[CB_ERR_CORRUPT] = "corrupt_database",
	[CB_ERR_RANGE] = "buffer_too_small",
	[CB_ERR_BUSY] = "busy",
	[CB_ERR_CONFLICT] = "conflict",
	[CB_ERR_TRANSPORT] = "transport_error",
	[CB_ERR_TIMEOUT] = "timeout",
	[CB_ERR_TLS] = "tls_error",
	[CB_ERR_PROTOCOL] = "protocol_error",
	[CB_ERR_SERVICE] = "service_unavailable",
	[CB_ERR_CLIENT] = "client_rejected",
	[CB_ERR_AUTH] = "auth_failed",
	[CB_ERR_USER_UNKNOWN] = "user_unknown",
	[CB_ERR_USER_PENDING] = "user_pending",
	[CB_ERR_USER_BLOCKED] = "user_blocked",
	[CB_ERR_LOCKED] = "locked_out",
	[CB_ERR_RATE_LIMITED] = "rate_limited",
	[CB_ERR_NEED_SMS] = "sms_required",
	[CB_ERR_TWO_FACTOR] = "two_factor",
	[CB_ERR_CODE_INVALID] = "code_invalid",
	[CB_ERR_CODE_EXPIRED] = "code_expired",
	[CB_ERR_CODE_ABORTED] = "code_aborted",
	[CB_ERR_PHONE_INVALID] = "phone_invalid",
	[CB_ERR_EMAIL_INVALID] = "email_invalid",
	[CB_ERR_TOKEN] = "token_invalid",
	[CB_ERR_WEAK_PASSWORD] = "weak_password",
	[CB_ERR_SUB_MISMATCH] = "sub_mismatch",
	[CB_ERR_DENIED] = "denied",
};

bool cb_status_unreachable(cb_status st)
{
	return st == CB_ERR_TRANSPORT || st == CB_ERR_TIMEOUT || st == CB_ERR_SERVICE ||
	       st == CB_ERR_PROTOCOL;
}

const char *cb_status_name(cb_status st)
{
	if ((unsigned)st >= CB_STATUS_MAX_ || names[st] == NULL)
		return "unknown_error";
	return names[st];
}
