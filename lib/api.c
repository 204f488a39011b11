/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "api.h"
#include "jsonscan.h"
#include "secure.h"

/* ---- request bodies ------------------------------------------------------
 * Built by hand into a buffer this file owns, so a password exists in
 * exactly one place we can wipe (json-c would keep copies in its objects
 * and print buffers). */

struct jbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

static void jb_reserve(struct jbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed || b->len + more + 1 <= b->cap)
		return;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = malloc(cap);
	if (p == NULL) {
		b->failed = true;
		return;
	}
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		cb_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
}

static void jb_raw(struct jbuf *b, const char *s, size_t n)
{
	jb_reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void jb_string(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	jb_raw(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};

		if (c == '"' || c == '\\') {
			char two[2] = {'\\', (char)c};

			jb_raw(b, two, 2);
		} else if (c < 0x20) {
			jb_raw(b, esc, 6);
		} else {
			jb_raw(b, s, 1);
		}
	}
	jb_raw(b, "\"", 1);
}

/* {"k1": "v1", "k2": "v2", ...}; a NULL value skips its key */
static char *jb_object(size_t *lenp, size_t n, const char *const kv[])
{
	struct jbuf b = {0};
	bool first = true;

	jb_raw(&b, "{", 1);
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (kv[i + 1] == NULL)
			continue;
		if (!first)
			jb_raw(&b, ",", 1);
		first = false;
		jb_string(&b, kv[i]);
		jb_raw(&b, ":", 1);
		jb_string(&b, kv[i + 1]);
	}
	jb_raw(&b, "}", 1);
	if (b.failed) {
		if (b.data != NULL) {
			cb_wipe(b.data, b.cap);
			free(b.data);
		}
		return NULL;
	}
	*lenp = b.len;
	return b.data;
}

/* ---- error strings -------------------------------------------------------- */

static const struct {
	const char *error;
	cb_status st;
} error_table[] = {
	{"invalid_password", CB_ERR_AUTH},
	{"invalid_username_or_password", CB_ERR_AUTH},
	{"not_found", CB_ERR_USER_UNKNOWN},
	{"user_not_found", CB_ERR_USER_UNKNOWN},
	{"user_pending", CB_ERR_USER_PENDING},
	{"user_blocked", CB_ERR_USER_BLOCKED},
	{"invalid_status", CB_ERR_LOCKED},
	{"captcha_required", CB_ERR_LOCKED},
	{"captcha_invalid", CB_ERR_LOCKED},
	{"phone_required", CB_ERR_NEED_SMS},
	{"password_not_set", CB_ERR_NEED_SMS},
	{"two_factor_required", CB_ERR_TWO_FACTOR},
	{"invalid_two_factor", CB_ERR_TWO_FACTOR},
	{"invalid_verification_code", CB_ERR_CODE_INVALID},
	/* on /verification/verify it means a wrong code; see verify_error() */
	{"invalid_argument", CB_ERR_AUTH},
	{"aborted", CB_ERR_CODE_ABORTED},
	{"resource_exhausted", CB_ERR_RATE_LIMITED},
	{"rate_limit_exceeded", CB_ERR_RATE_LIMITED},
	{"invalid_phone_number", CB_ERR_PHONE_INVALID},
	{"invalid_email", CB_ERR_EMAIL_INVALID}, /* [guess]: the e-mail twin */
	{"permission_denied", CB_ERR_CLIENT},
	{"invalid_client", CB_ERR_CLIENT},
	{"unauthorized_client", CB_ERR_CLIENT},
	{"unsupported_grant_type", CB_ERR_CLIENT},
	{"unauthenticated", CB_ERR_TOKEN},
	{"invalid_grant", CB_ERR_TOKEN},
	{"weak_password", CB_ERR_WEAK_PASSWORD},
	{"failed_precondition", CB_ERR_DENIED},
	{"already_exists", CB_ERR_DENIED},
	{"internal", CB_ERR_SERVICE},
	{"unavailable", CB_ERR_SERVICE},
};

cb_status cb_api_map_error(const char *error)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (strcmp(error_table[i].error, error) == 0)
			return error_table[i].st;
	/* fail closed: an error we do not know is a denial */
	return CB_ERR_AUTH;
}

/* ---- strict JSON access ---------------------------------------------------- */

/* The members whose values are secrets. cb_json_scan takes them out of the
 * text before json-c parses it: json-c copies every string into its
 * tokener's buffer and its objects and frees both without a wipe, so a
 * token it had parsed would outlive the transaction in freed heap. */
static const char *const secret_keys[] = {
	"access_token",	      "refresh_token",	 "id_token",
	"verification_token", "verification_id", "sudo_token",
};
#define N_SECRET_KEYS (sizeof(secret_keys) / sizeof(secret_keys[0]))

/* The secret values of one answer, hung on its json-c object (userdata)
 * and wiped when json_object_put frees it. */
struct answer_secrets {
	unsigned magic;
	struct cb_json_secret s[N_SECRET_KEYS];
};
#define ANSWER_SECRETS_MAGIC 0x5ec7e75U

static void answer_secrets_delete(struct json_object *o, void *userdata)
{
	struct answer_secrets *sec = userdata;

	(void)o;
	cb_json_scan_free(NULL, sec->s, N_SECRET_KEYS);
	free(sec);
}

/* The secret member key of obj as the text had it, or NULL when obj is not
 * an answer parsed here (tests build objects of their own). */
static const struct cb_json_secret *secret_of(struct json_object *obj, const char *key)
{
	const struct answer_secrets *sec;

	if (!json_object_is_type(obj, json_type_object))
		return NULL;
	sec = json_object_get_userdata(obj);
	if (sec == NULL || sec->magic != ANSWER_SECRETS_MAGIC)
		return NULL;
	for (size_t i = 0; i < N_SECRET_KEYS; i++)
		if (strcmp(sec->s[i].key, key) == 0)
			return sec->s[i].value != NULL ? &sec->s[i] : NULL;
	return NULL;
}

/* Bounded by CB_API_MAX_DEPTH, which the scan enforced. */
static size_t members_in_tree(struct json_object *o) /* NOLINT(misc-no-recursion) */
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			n += 1 + members_in_tree(val);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t len = json_object_array_length(o);

		for (size_t i = 0; i < len; i++)
			n += members_in_tree(json_object_array_get_idx(o, i));
	}
	return n;
}

/* json-c over a text cb_json_scan accepted: the same object, or NULL. */
static struct json_object *json_c_parse(const char *text, size_t len, size_t members)
{
	struct json_tokener *tok = json_tokener_new_ex(CB_API_MAX_DEPTH + 1);
	struct json_object *o;
	size_t end;

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (o != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	while (o != NULL && end < len &&
	       (text[end] == ' ' || text[end] == '\t' || text[end] == '\r' || text[end] == '\n'))
		end++;
	/* both readers must see the same members: a difference is a bug in
	 * one of them, and then the answer is refused */
	if (o != NULL && (end != len || !json_object_is_type(o, json_type_object) ||
			  members_in_tree(o) != members)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Duplicate keys: json-c keeps the last value of a repeated key and drops
 * the others without a word, while another reader of the same text (a
 * gateway, a log pipeline, the service's own tests) may take the first.
 * An answer that means two things is refused: cb_json_scan accepts RFC
 * 8259 only, with no key twice in an object and every key spelt as it
 * reads (no escapes), before json-c sees the text. */
cb_status cb_api_parse_json(const char *body, size_t len, struct json_object **obj)
{
	struct answer_secrets *sec;
	struct cb_json_scan scan;
	struct json_object *o;
	cb_status st;

	*obj = NULL;
	if (len == 0 || len > CB_HTTP_MAX_BODY)
		return CB_ERR_PROTOCOL;
	sec = calloc(1, sizeof(*sec));
	if (sec == NULL)
		return CB_ERR_NOMEM;
	sec->magic = ANSWER_SECRETS_MAGIC;
	for (size_t i = 0; i < N_SECRET_KEYS; i++)
		sec->s[i].key = secret_keys[i];
	st = cb_json_scan(body, len, CB_API_MAX_DEPTH, sec->s, N_SECRET_KEYS, &scan);
	if (st != CB_OK) {
		free(sec);
		return st;
	}
	o = json_c_parse(scan.redacted, scan.redacted_len, scan.members);
	cb_json_scan_free(&scan, NULL, 0);
	if (o == NULL) {
		answer_secrets_delete(NULL, sec);
		return CB_ERR_PROTOCOL;
	}
	json_object_set_userdata(o, sec, answer_secrets_delete);
	*obj = o;
	return CB_OK;
}

/* A string member: the right type, no NUL inside, at most max bytes. Absent,
 * null or "" is CB_ERR_NOT_FOUND so callers decide whether it was required
 * (the service sends "" for an unset phone number). */
static cb_status get_str(struct json_object *obj, const char *key, size_t max, char **out)
{
	const struct cb_json_secret *sec;
	struct json_object *v;
	const char *s;
	int len;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return CB_ERR_NOT_FOUND;
	if (!json_object_is_type(v, json_type_string))
		return CB_ERR_PROTOCOL;
	sec = secret_of(obj, key);
	s = sec != NULL ? sec->value : json_object_get_string(v);
	len = sec != NULL ? (sec->len <= INT_MAX ? (int)sec->len : -1)
			  : json_object_get_string_len(v);
	if (s == NULL || len < 0 || (size_t)len > max || strlen(s) != (size_t)len)
		return CB_ERR_PROTOCOL;
	if (len == 0)
		return CB_ERR_NOT_FOUND;
	*out = strdup(s);
	return *out != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* No control bytes: the value is logged, compared and stored in the
 * account database, which takes none. */
static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

static cb_status need_str(struct json_object *obj, const char *key, size_t max, char **out)
{
	cb_status st = get_str(obj, key, max, out);

	return st == CB_ERR_NOT_FOUND ? CB_ERR_PROTOCOL : st;
}

static cb_status opt_str(struct json_object *obj, const char *key, size_t max, char **out)
{
	cb_status st = get_str(obj, key, max, out);

	return st == CB_ERR_NOT_FOUND ? CB_OK : st;
}

/* The user's stable id: required, printable, as long as the account
 * database keeps (a sub the account phase could not bind is refused here,
 * not after a successful authentication). */
static cb_status need_sub(struct json_object *obj, char **out)
{
	cb_status st = need_str(obj, "sub", CB_API_MAX_SUB, out);

	if (st == CB_OK && !printable(*out)) {
		free(*out);
		*out = NULL;
		st = CB_ERR_PROTOCOL;
	}
	return st;
}

/* An integer member: json_type_int only (1.9 and "7200" are refused). */
static cb_status opt_int(struct json_object *obj, const char *key, long max, long *out)
{
	struct json_object *v;
	int64_t n;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return CB_OK;
	if (!json_object_is_type(v, json_type_int))
		return CB_ERR_PROTOCOL;
	n = json_object_get_int64(v);
	if (n < 0 || n > max)
		return CB_ERR_PROTOCOL;
	*out = (long)n;
	return CB_OK;
}

/* A boolean member: json_type_boolean only ("false" would be true). */
static cb_status opt_bool(struct json_object *obj, const char *key, bool *out)
{
	struct json_object *v;

	*out = false;
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return CB_OK;
	if (!json_object_is_type(v, json_type_boolean))
		return CB_ERR_PROTOCOL;
	*out = json_object_get_boolean(v) != 0;
	return CB_OK;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* A group name, taken from a string or from an {"id": string} object. */
static cb_status group_name(struct json_object *item, bool objects, char **out)
{
	if (objects) {
		cb_status st;

		if (!json_object_is_type(item, json_type_object))
			return CB_ERR_PROTOCOL;
		st = need_str(item, "id", CB_API_MAX_GROUP_NAME, out);
		if (st != CB_OK)
			return st;
	} else {
		const char *s = json_object_get_string(item);
		int len = json_object_get_string_len(item);

		if (!json_object_is_type(item, json_type_string))
			return CB_ERR_PROTOCOL;
		if (len <= 0 || len > CB_API_MAX_GROUP_NAME || strlen(s) != (size_t)len)
			return CB_ERR_PROTOCOL;
		*out = strdup(s);
	}
	if (*out != NULL && !printable(*out)) {
		free(*out);
		*out = NULL;
		return CB_ERR_PROTOCOL;
	}
	return *out != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* groups: absent, null or [] give none. The token response carries strings,
 * /user/me objects with an id. */
static cb_status get_groups(struct json_object *obj, bool objects, char ***out, size_t *n)
{
	struct json_object *v;
	size_t len;
	char **list;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(obj, "groups", &v) || v == NULL)
		return CB_OK;
	if (!json_object_is_type(v, json_type_array))
		return CB_ERR_PROTOCOL;
	len = json_object_array_length(v);
	if (len == 0)
		return CB_OK;
	if (len > CB_API_MAX_GROUPS)
		return CB_ERR_PROTOCOL;
	list = calloc(len, sizeof(*list));
	if (list == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < len; i++) {
		cb_status st = group_name(json_object_array_get_idx(v, i), objects, &list[i]);

		if (st != CB_OK) {
			free_list(list, len);
			return st;
		}
	}
	*out = list;
	*n = len;
	return CB_OK;
}

/* ---- typed results ---------------------------------------------------------- */

void cb_tokens_free(struct cb_tokens *t)
{
	cb_clear_secret(&t->access_token);
	cb_clear_secret(&t->refresh_token);
	cb_clear_secret(&t->id_token);
	free(t->token_type);
	free(t->scope);
	free(t->sub);
	free_list(t->groups, t->n_groups);
	memset(t, 0, sizeof(*t));
}

cb_status cb_api_parse_tokens(struct json_object *obj, struct cb_tokens *out)
{
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = need_str(obj, "access_token", CB_API_MAX_TOKEN, &out->access_token);
	if (st == CB_OK)
		st = need_sub(obj, &out->sub);
	if (st == CB_OK)
		st = opt_str(obj, "token_type", CB_API_MAX_SHORT, &out->token_type);
	if (st == CB_OK)
		st = opt_str(obj, "refresh_token", CB_API_MAX_SHORT, &out->refresh_token);
	if (st == CB_OK)
		st = opt_str(obj, "id_token", CB_API_MAX_TOKEN, &out->id_token);
	if (st == CB_OK)
		st = opt_str(obj, "scope", CB_API_MAX_SHORT, &out->scope);
	if (st == CB_OK)
		st = opt_int(obj, "expires_in", 100L * 24 * 3600, &out->expires_in);
	if (st == CB_OK)
		st = get_groups(obj, false, &out->groups, &out->n_groups);
	/* the documented type is always Bearer: anything else is not ours to use */
	if (st == CB_OK && out->token_type != NULL && strcasecmp(out->token_type, "Bearer") != 0)
		st = CB_ERR_PROTOCOL;
	if (st != CB_OK)
		cb_tokens_free(out);
	return st;
}

void cb_verification_free(struct cb_verification *v)
{
	cb_clear_secret(&v->verification_id);
	memset(v, 0, sizeof(*v));
}

cb_status cb_api_parse_verification(struct json_object *obj, struct cb_verification *out)
{
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = need_str(obj, "verification_id", CB_API_MAX_SHORT, &out->verification_id);
	if (st == CB_OK)
		st = opt_int(obj, "expires_in", 24L * 3600, &out->expires_in);
	if (st == CB_OK)
		st = opt_bool(obj, "is_user", &out->is_user);
	if (st != CB_OK)
		cb_verification_free(out);
	return st;
}

void cb_introspection_free(struct cb_introspection *i)
{
	free(i->sub);
	free(i->scope);
	free(i->client_id);
	memset(i, 0, sizeof(*i));
}

cb_status cb_api_parse_introspection(struct json_object *obj, struct cb_introspection *out)
{
	cb_status st;

	memset(out, 0, sizeof(*out));
	/* an inactive token answers {} with status 200 */
	if (json_object_object_length(obj) == 0)
		return CB_OK;
	st = need_sub(obj, &out->sub);
	if (st == CB_OK)
		st = opt_str(obj, "scope", CB_API_MAX_SHORT, &out->scope);
	if (st == CB_OK)
		st = opt_str(obj, "client_id", CB_API_MAX_SHORT, &out->client_id);
	if (st != CB_OK) {
		cb_introspection_free(out);
		return st;
	}
	out->active = true;
	return CB_OK;
}

void cb_user_free(struct cb_user *u)
{
	free(u->sub);
	free(u->username);
	free(u->phone_number);
	free(u->email);
	free(u->status);
	free_list(u->groups, u->n_groups);
	memset(u, 0, sizeof(*u));
}

cb_status cb_api_parse_user(struct json_object *obj, struct cb_user *out)
{
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = need_sub(obj, &out->sub);
	if (st == CB_OK)
		st = opt_str(obj, "username", CB_API_MAX_SHORT, &out->username);
	if (st == CB_OK)
		st = opt_str(obj, "phone_number", CB_API_MAX_SHORT, &out->phone_number);
	if (st == CB_OK)
		st = opt_str(obj, "email", CB_API_MAX_SHORT, &out->email);
	if (st == CB_OK)
		st = opt_str(obj, "status", CB_API_MAX_SHORT, &out->status);
	if (st == CB_OK)
		st = opt_bool(obj, "has_password", &out->has_password);
	if (st == CB_OK)
		st = get_groups(obj, true, &out->groups, &out->n_groups);
	if (st != CB_OK)
		cb_user_free(out);
	return st;
}

/* ---- judging an answer ------------------------------------------------------ */

struct cb_api {
	struct cb_http *http;
	const struct cb_log *log;
	struct cb_api_error last; /* of the last answer */
	bool spoke; /* the last answer was the service's (cb_api_unreachable) */
};

static void remember_error(struct cb_api_error *err, struct json_object *obj, const char *error)
{
	struct json_object *d;
	const char *desc = "";

	cb_sanitize(err->error, sizeof(err->error), error);
	if (json_object_object_get_ex(obj, "error_description", &d) &&
	    json_object_is_type(d, json_type_string))
		desc = json_object_get_string(d);
	cb_sanitize(err->description, sizeof(err->description), desc);
}

static cb_status error_of(struct json_object *obj, struct cb_api_error *err)
{
	struct json_object *e;
	const char *s;

	if (!json_object_object_get_ex(obj, "error", &e))
		return CB_ERR_NOT_FOUND; /* no error key */
	/* any "error" key denies (docs/security.md): "error": null, a number
	 * or an object is no statement of success, whatever the status */
	if (e == NULL || !json_object_is_type(e, json_type_string))
		return CB_ERR_PROTOCOL;
	s = json_object_get_string(e);
	if (strlen(s) != (size_t)json_object_get_string_len(e) || strlen(s) > 63)
		return CB_ERR_PROTOCOL;
	remember_error(err, obj, s);
	return cb_api_map_error(s);
}

cb_status cb_api_check_answer(long status, bool json, const char *body, size_t len,
			      bool allow_empty, struct json_object **obj, struct cb_api_error *err)
{
	struct json_object *o = NULL;
	cb_status st;

	*obj = NULL;
	err->error[0] = '\0';
	err->description[0] = '\0';
	if (status >= 500)
		return CB_ERR_SERVICE;
	if (status < 200 || (status >= 300 && status < 400))
		return CB_ERR_PROTOCOL; /* redirects are never followed */
	if (len == 0 && allow_empty && status < 300)
		return CB_OK;
	if (!json)
		return CB_ERR_PROTOCOL;
	st = cb_api_parse_json(body, len, &o);
	if (st != CB_OK)
		return st;
	st = error_of(o, err);
	if (st == CB_ERR_NOT_FOUND) /* no error key: judge by status */
		st = status >= 400 ? CB_ERR_PROTOCOL : CB_OK;
	if (st != CB_OK) {
		json_object_put(o);
		return st;
	}
	*obj = o;
	return CB_OK;
}

/* ---- the calls --------------------------------------------------------------- */

cb_status cb_api_open(struct cb_api **out, const struct cb_config *cfg, const struct cb_log *log)
{
	char *secret = NULL;
	const char *client_id = cfg->client_id != NULL ? cfg->client_id : cfg->env;
	struct cb_api *api = calloc(1, sizeof(*api));
	cb_status st;

	*out = NULL;
	if (api == NULL)
		return CB_ERR_NOMEM;
	api->log = log;
	st = cb_config_load_secret(cfg, &secret, log);
	if (st == CB_OK)
		st = cb_http_new(cfg, client_id != NULL ? client_id : "", secret, log, &api->http);
	cb_free_secret(secret);
	if (st != CB_OK) {
		cb_api_close(api);
		return st;
	}
	*out = api;
	return CB_OK;
}

void cb_api_close(struct cb_api *api)
{
	if (api == NULL)
		return;
	cb_http_free(api->http);
	cb_wipe(api, sizeof(*api));
	free(api);
}

const char *cb_api_request_id(const struct cb_api *api)
{
	return api != NULL ? cb_http_last_request_id(api->http) : "-";
}

void cb_api_restart_budget(struct cb_api *api)
{
	cb_http_restart_budget(api->http);
}

/* 2xx or 4xx, declared JSON: the service answered (whatever the body). A
 * captive portal or a proxy answers in HTML; the service, in JSON even
 * when it refuses. */
static bool service_spoke(const struct cb_http_response *resp)
{
	return resp->json && ((resp->status >= 200 && resp->status < 300) ||
			      (resp->status >= 400 && resp->status < 500));
}

bool cb_api_unreachable(const struct cb_api *api, cb_status st)
{
	if (st == CB_ERR_SERVICE)
		return true;
	return cb_status_unreachable(st) && (api == NULL || !api->spoke);
}

/* One round trip: send, judge, hand back the JSON object. The body is
 * wiped here whatever happens (it may hold a password). */
static cb_status call(struct cb_api *api, enum cb_http_method method, const char *path,
		      enum cb_http_auth auth, const char *bearer, char *body, size_t body_len,
		      bool allow_empty, struct json_object **obj)
{
	struct cb_http_request req = {method, path, auth, bearer, body, body_len};
	struct cb_http_response resp;
	cb_status st;

	*obj = NULL;
	api->spoke = false;
	if (body == NULL && method != CB_HTTP_GET)
		return CB_ERR_NOMEM;
	st = cb_http_perform(api->http, &req, &resp);
	if (body != NULL) {
		cb_wipe(body, body_len);
		free(body);
	}
	if (st != CB_OK)
		return st;
	api->spoke = service_spoke(&resp);
	st = cb_api_check_answer(resp.status, resp.json, resp.body, resp.len, allow_empty, obj,
				 &api->last);
	if (st != CB_OK && api->last.error[0] == '\0')
		cb_log(api->log, LOG_ERR, "%s: unusable answer status=%ld (%s) request_id=%s", path,
		       resp.status, cb_status_name(st), resp.request_id);
	else if (st != CB_OK)
		cb_log(api->log, LOG_INFO,
		       "service answered status=%ld error=%s (%s) request_id=%s", resp.status,
		       api->last.error, api->last.description, resp.request_id);
	cb_http_response_free(&resp);
	/* on the sign-in family "unauthenticated" refuses our Basic
	 * credential (wrong secret): the client's problem, not the user's;
	 * invalid_grant there is still about the user's token */
	if (auth == CB_HTTP_AUTH_BASIC && st == CB_ERR_TOKEN &&
	    strcmp(api->last.error, "unauthenticated") == 0)
		st = CB_ERR_CLIENT;
	return st;
}

#define BODY(...)                                                                                  \
	jb_object(&body_len, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *),          \
		  (const char *const[]){__VA_ARGS__})

static cb_status tokens_call(struct cb_api *api, const char *path, char *body, size_t body_len,
			     struct cb_tokens *out)
{
	struct json_object *obj;
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = call(api, CB_HTTP_POST, path, CB_HTTP_AUTH_BASIC, NULL, body, body_len, false, &obj);
	if (st != CB_OK)
		return st;
	st = cb_api_parse_tokens(obj, out);
	json_object_put(obj);
	if (st != CB_OK)
		cb_log(api->log, LOG_ERR, "%s: malformed token response request_id=%s", path,
		       cb_api_request_id(api));
	return st;
}

/* "aborted" is documented for too many wrong codes; on a password sign-in
 * (or /user/sudo) it can only mean too many attempts with the password:
 * the user is told so, not something about codes. */
static cb_status password_error(cb_status st)
{
	return st == CB_ERR_CODE_ABORTED ? CB_ERR_LOCKED : st;
}

cb_status cb_api_signin_password(struct cb_api *api, const char *username, const char *password,
				 struct cb_tokens *out)
{
	size_t body_len = 0;
	char *body = BODY("username", username, "password", password);

	return password_error(tokens_call(api, "/signin", body, body_len, out));
}

cb_status cb_api_signin_verification_token(struct cb_api *api, const char *verification_token,
					   struct cb_tokens *out)
{
	size_t body_len = 0;
	char *body = BODY("verification_token", verification_token);

	return tokens_call(api, "/signin", body, body_len, out);
}

cb_status cb_api_token_refresh(struct cb_api *api, const char *refresh_token, struct cb_tokens *out)
{
	size_t body_len = 0;
	char *body = BODY("grant_type", "refresh_token", "refresh_token", refresh_token);

	return tokens_call(api, "/token", body, body_len, out);
}

/* The wait a rate-limited send was asked for: "... retry after 57
 * seconds" ([guess]: the service's description, the only place it says
 * so); the documented interval when it says nothing usable. */
static long retry_after(const struct cb_api_error *err)
{
	const char *p = strstr(err->description, "after ");
	long s;

	if (p == NULL)
		return CB_API_CODE_INTERVAL;
	s = strtol(p + 6, NULL, 10);
	return s > 0 && s <= 3600 ? s : CB_API_CODE_INTERVAL;
}

cb_status cb_api_verification_send(struct cb_api *api, enum cb_contact_kind kind,
				   const char *contact, struct cb_verification *out)
{
	size_t body_len = 0;
	char *body = BODY(kind == CB_CONTACT_EMAIL ? "email" : "phone_number", contact, "target",
			  "USER", "usage", "SIGN_IN");
	struct json_object *obj;
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = call(api, CB_HTTP_POST, "/verification", CB_HTTP_AUTH_BASIC, NULL, body, body_len,
		  false, &obj);
	if (st == CB_ERR_RATE_LIMITED)
		out->retry_after = retry_after(&api->last);
	/* a malformed e-mail address: "invalid_email" or, from services that
	 * check only the shape of the body, "invalid_argument" [guess] */
	if (kind == CB_CONTACT_EMAIL && st == CB_ERR_AUTH &&
	    strcmp(api->last.error, "invalid_argument") == 0)
		st = CB_ERR_EMAIL_INVALID;
	if (st != CB_OK)
		return st;
	st = cb_api_parse_verification(obj, out);
	json_object_put(obj);
	if (st == CB_OK && out->expires_in <= 0)
		out->expires_in = CB_API_CODE_LIFETIME;
	return st;
}

cb_status cb_api_verification_verify(struct cb_api *api, const char *verification_id,
				     const char *code, char **verification_token)
{
	size_t body_len = 0;
	char *body = BODY("verification_id", verification_id, "verification_code", code);
	struct json_object *obj;
	cb_status st;

	*verification_token = NULL;
	st = call(api, CB_HTTP_POST, "/verification/verify", CB_HTTP_AUTH_BASIC, NULL, body,
		  body_len, false, &obj);
	/* here invalid_argument means a wrong or expired code, and the service
	 * says "expired" only in its description [guess] */
	if (st == CB_ERR_AUTH && strcmp(api->last.error, "invalid_argument") == 0)
		st = CB_ERR_CODE_INVALID;
	if (st == CB_ERR_CODE_INVALID && strstr(api->last.description, "expired") != NULL)
		st = CB_ERR_CODE_EXPIRED;
	if (st != CB_OK)
		return st;
	st = need_str(obj, "verification_token", CB_API_MAX_TOKEN, verification_token);
	json_object_put(obj);
	return st;
}

cb_status cb_api_introspect(struct cb_api *api, const char *access_token,
			    struct cb_introspection *out)
{
	struct json_object *obj;
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = call(api, CB_HTTP_GET, "/token/introspect", CB_HTTP_AUTH_BEARER, access_token, NULL, 0,
		  false, &obj);
	if (st != CB_OK)
		return st;
	st = cb_api_parse_introspection(obj, out);
	json_object_put(obj);
	return st;
}

cb_status cb_api_revoke(struct cb_api *api, const char *access_token)
{
	size_t body_len = 0;
	char *body = BODY("token", access_token);
	struct json_object *obj;
	cb_status st;

	st = call(api, CB_HTTP_POST, "/revoke", CB_HTTP_AUTH_BEARER, access_token, body, body_len,
		  true, &obj);
	json_object_put(obj);
	return st;
}

cb_status cb_api_user_me(struct cb_api *api, const char *access_token, struct cb_user *out)
{
	struct json_object *obj;
	cb_status st;

	memset(out, 0, sizeof(*out));
	st = call(api, CB_HTTP_GET, "/user/me", CB_HTTP_AUTH_BEARER, access_token, NULL, 0, false,
		  &obj);
	if (st != CB_OK)
		return st;
	st = cb_api_parse_user(obj, out);
	json_object_put(obj);
	return st;
}

cb_status cb_api_user_sudo(struct cb_api *api, const char *access_token, const char *password,
			   char **sudo_token)
{
	size_t body_len = 0;
	char *body = BODY("password", password);
	struct json_object *obj;
	cb_status st;

	*sudo_token = NULL;
	st = call(api, CB_HTTP_POST, "/user/sudo", CB_HTTP_AUTH_BEARER, access_token, body,
		  body_len, false, &obj);
	if (st != CB_OK)
		return password_error(st);
	st = need_str(obj, "sudo_token", CB_API_MAX_TOKEN, sudo_token);
	json_object_put(obj);
	return st;
}

cb_status cb_api_user_password_patch(struct cb_api *api, const char *access_token,
				     const char *sudo_token, const char *old_password,
				     const char *new_password)
{
	size_t body_len = 0;
	/* the sudo token goes in the body: secrets never go in a URL */
	char *body = BODY("sudo_token", sudo_token, "old_password", old_password, "new_password",
			  new_password, "confirm_password", new_password);
	struct json_object *obj;
	cb_status st;

	st = call(api, CB_HTTP_PATCH, "/user/password", CB_HTTP_AUTH_BEARER, access_token, body,
		  body_len, true, &obj);
	json_object_put(obj);
	return st;
}
