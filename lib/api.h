/* SPDX-License-Identifier: BSD-3-Clause */
/* The CloudBase Auth v2 calls: one function per endpoint, typed results.
 *
 * The wire contract (cloudbase-auth-api.md) lives here and in api.c only:
 * paths, bodies, error strings and texts, and the service's constants.
 * Callers hold an opaque handle and get typed answers.
 *
 * Every function returns a cb_status; errors are decided on the service's
 * "error" string (never on error_code), whether the status is >= 400 or a
 * 200 carrying an "error" key (older services do that). Strings in results
 * are malloc'd; free a result with its *_free function (tokens are wiped).
 */
#ifndef CB_API_H
#define CB_API_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "http.h"
#include "log.h"
#include "status.h"

/* Field size limits: anything longer is a protocol error. */
#define CB_API_MAX_TOKEN 8192 /* access/id tokens (JWT, documented up to 4096) */
#define CB_API_MAX_SHORT 512 /* refresh token, scope, ids */
#define CB_API_MAX_SUB 256 /* what the account database keeps (CB_DB_MAX_SUB) */
#define CB_API_MAX_GROUPS 1024
#define CB_API_MAX_GROUP_NAME 128
#define CB_API_MAX_DEPTH 8 /* JSON nesting */

/* What the service promises of one-time codes ([doc] unless marked). */
#define CB_API_CODE_LEN 6 /* [guess] codes are 6 digits */
#define CB_API_CODE_TRIES 5 /* [guess] wrong codes a verification id takes before "aborted" */
#define CB_API_CODE_LIFETIME 600 /* seconds a code (and a verification token) lives */
#define CB_API_CODE_INTERVAL 60 /* seconds between two codes to one contact */

/* One client of the service for one login: a connection and a time
 * budget (http.h). Opaque. */
struct cb_api;

/* The error an answer carried, sanitised (cb_api_check_answer). */
struct cb_api_error {
	char error[64]; /* "" if none */
	char description[160];
};

/* Where a one-time code goes. */
enum cb_contact_kind {
	CB_CONTACT_PHONE, /* "+86 13800000000" (names.h) */
	CB_CONTACT_EMAIL,
};

struct cb_tokens {
	char *token_type;
	char *access_token;
	char *refresh_token;
	char *id_token; /* optional */
	char *scope; /* optional */
	char *sub;
	long expires_in; /* seconds, 0 if absent */
	char **groups;
	size_t n_groups;
};

struct cb_verification {
	char *verification_id;
	long expires_in; /* seconds; CB_API_CODE_LIFETIME when the answer has none */
	bool is_user;
	/* CB_ERR_RATE_LIMITED: the seconds the service asked to wait (from its
	 * description, else CB_API_CODE_INTERVAL) */
	long retry_after;
};

struct cb_introspection {
	bool active; /* false for the {} answer of an inactive token */
	char *sub;
	char *scope;
	char *client_id;
};

struct cb_user {
	char *sub;
	char *username;
	char *phone_number;
	char *email;
	char *status; /* "ACTIVE", "PENDING", "BLOCKED", ... */
	bool has_password;
	char **groups; /* the ids of the {"id": ...} objects */
	size_t n_groups;
};

/* Set up the client for one login: reads the client secret, builds the
 * HTTP handle. client_id defaults to env. *api is NULL unless CB_OK. */
cb_status cb_api_open(struct cb_api **api, const struct cb_config *cfg, const struct cb_log *log);
/* Free the handle (NULL is fine); its secrets are wiped. */
void cb_api_close(struct cb_api *api);
/* The request id of the last request ("-" before any, or for NULL). */
const char *cb_api_request_id(const struct cb_api *api);
/* A fresh time budget after a prompt (cb_http_restart_budget). */
void cb_api_restart_budget(struct cb_api *api);
/* Could the service not be reached in the last call, st being its result?
 * What offline login and account_offline_grace stand in for: no answer
 * (no connection, DNS, the time budget, an answer the transport refused),
 * an answer that is not the service's (a 5xx, a 1xx, a redirect, one not
 * declared JSON: a captive portal's page), or the service's own word for
 * its trouble ("internal", "unavailable": CB_ERR_SERVICE). An answer
 * declared JSON with a status of 200-299 or 400-499 is the service's: if
 * it cannot be read it is CB_ERR_PROTOCOL, as any malformed answer, but
 * no outage (it may be a decision in a shape we do not know). A TLS
 * failure never is (cb_status_unreachable). api NULL: st alone decides. */
bool cb_api_unreachable(const struct cb_api *api, cb_status st);

cb_status cb_api_signin_password(struct cb_api *api, const char *username, const char *password,
				 struct cb_tokens *out);
cb_status cb_api_signin_verification_token(struct cb_api *api, const char *verification_token,
					   struct cb_tokens *out);
/* Send a code to a phone number or an e-mail address of a user
 * (target USER). CB_ERR_RATE_LIMITED with out->retry_after; CB_ERR_USER_UNKNOWN
 * (no user has it), CB_ERR_PHONE_INVALID / CB_ERR_EMAIL_INVALID (refused as
 * malformed). */
cb_status cb_api_verification_send(struct cb_api *api, enum cb_contact_kind kind,
				   const char *contact, struct cb_verification *out);
/* Check a code: CB_ERR_CODE_INVALID (wrong), CB_ERR_CODE_EXPIRED,
 * CB_ERR_CODE_ABORTED (too many wrong codes on this verification id). */
cb_status cb_api_verification_verify(struct cb_api *api, const char *verification_id,
				     const char *code, char **verification_token);
cb_status cb_api_token_refresh(struct cb_api *api, const char *refresh_token,
			       struct cb_tokens *out);
cb_status cb_api_introspect(struct cb_api *api, const char *access_token,
			    struct cb_introspection *out);
cb_status cb_api_revoke(struct cb_api *api, const char *access_token);
cb_status cb_api_user_me(struct cb_api *api, const char *access_token, struct cb_user *out);
cb_status cb_api_user_sudo(struct cb_api *api, const char *access_token, const char *password,
			   char **sudo_token);
cb_status cb_api_user_password_patch(struct cb_api *api, const char *access_token,
				     const char *sudo_token, const char *old_password,
				     const char *new_password);

void cb_tokens_free(struct cb_tokens *t);
void cb_verification_free(struct cb_verification *v);
void cb_introspection_free(struct cb_introspection *i);
void cb_user_free(struct cb_user *u);

/* Parsing, exposed for the unit tests (no network). */

/* Judge an answer: CB_OK for a 2xx JSON object without an "error" key
 * (*obj then holds it; json_object_put it), else the mapped error, with
 * the error string and description in *err. A body may be empty only when
 * allow_empty (revoke). */
struct json_object;
cb_status cb_api_check_answer(long status, bool json, const char *body, size_t len,
			      bool allow_empty, struct json_object **obj, struct cb_api_error *err);

/* The cb_status for an error string; unknown strings deny (CB_ERR_AUTH). */
cb_status cb_api_map_error(const char *error);

cb_status cb_api_parse_tokens(struct json_object *obj, struct cb_tokens *out);
cb_status cb_api_parse_verification(struct json_object *obj, struct cb_verification *out);
cb_status cb_api_parse_introspection(struct json_object *obj, struct cb_introspection *out);
cb_status cb_api_parse_user(struct json_object *obj, struct cb_user *out);

/* Parse text strictly: one JSON object, depth-limited, nothing after it. */
cb_status cb_api_parse_json(const char *body, size_t len, struct json_object **obj);

#endif
