/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the CloudBase answer parsers, called the way the
 * module calls them: cb_api_check_answer() judges status, content type and
 * body, then one typed parser reads the object. The first input byte picks
 * the status and the parser; the rest is the body.
 *
 * Invariants: a parser either fails with everything freed (LeakSanitizer)
 * and zeroed, or succeeds with every required field present, within its
 * documented size limit and free of NUL; an error answer is never CB_OK;
 * the remembered error texts (api.h: "sanitised, for messages") are
 * NUL-terminated and hold no control bytes. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = {200, 201, 204, 302, 400, 401, 403, 404, 409, 429, 500, 503};

static void check_str(const char *s, size_t max, int required)
{
	if (s == NULL) {
		if (required)
			abort();
		return;
	}
	if (s[0] == '\0' || strnlen(s, max + 1) > max)
		abort();
}

static void check_list(char **list, size_t n)
{
	if ((list == NULL) != (n == 0) || n > CB_API_MAX_GROUPS)
		abort();
	for (size_t i = 0; i < n; i++)
		check_str(list[i], CB_API_MAX_GROUP_NAME, 1);
}

static void check_text(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	if (len == cap)
		abort(); /* not terminated */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			abort();
}

static void parse(struct json_object *obj, unsigned which)
{
	switch (which) {
	case 0: {
		struct cb_tokens t;

		if (cb_api_parse_tokens(obj, &t) == CB_OK) {
			check_str(t.access_token, CB_API_MAX_TOKEN, 1);
			check_str(t.sub, CB_API_MAX_SHORT, 1);
			check_str(t.refresh_token, CB_API_MAX_SHORT, 0);
			check_str(t.id_token, CB_API_MAX_TOKEN, 0);
			check_str(t.scope, CB_API_MAX_SHORT, 0);
			if (t.token_type != NULL && strcasecmp(t.token_type, "Bearer") != 0)
				abort();
			if (t.expires_in < 0)
				abort();
			check_list(t.groups, t.n_groups);
		} else if (t.access_token != NULL || t.sub != NULL || t.groups != NULL) {
			abort(); /* a failure hands back nothing */
		}
		cb_tokens_free(&t);
		break;
	}
	case 1: {
		struct cb_verification v;

		if (cb_api_parse_verification(obj, &v) == CB_OK) {
			check_str(v.verification_id, CB_API_MAX_SHORT, 1);
			if (v.expires_in < 0)
				abort();
		} else if (v.verification_id != NULL) {
			abort();
		}
		cb_verification_free(&v);
		break;
	}
	case 2: {
		struct cb_introspection in;

		if (cb_api_parse_introspection(obj, &in) == CB_OK) {
			check_str(in.sub, CB_API_MAX_SHORT, in.active);
			if (!in.active && (in.sub != NULL || in.scope != NULL))
				abort();
		} else if (in.active || in.sub != NULL) {
			abort();
		}
		cb_introspection_free(&in);
		break;
	}
	default: {
		struct cb_user u;

		if (cb_api_parse_user(obj, &u) == CB_OK) {
			check_str(u.sub, CB_API_MAX_SHORT, 1);
			check_str(u.username, CB_API_MAX_SHORT, 0);
			check_str(u.phone_number, CB_API_MAX_SHORT, 0);
			check_str(u.email, CB_API_MAX_SHORT, 0);
			check_str(u.status, CB_API_MAX_SHORT, 0);
			check_list(u.groups, u.n_groups);
		} else if (u.sub != NULL || u.groups != NULL) {
			abort();
		}
		cb_user_free(&u);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cb_api_error err;
	struct json_object *obj = NULL;
	char *body;
	long status;
	bool json, allow_empty;
	cb_status st;

	if (size < 1)
		return 0;
	status = statuses[(data[0] & 0x0f) % (sizeof(statuses) / sizeof(statuses[0]))];
	json = (data[0] & 0x80) == 0; /* mostly application/json */
	allow_empty = (data[0] & 0x40) != 0;
	/* the HTTP layer hands over a NUL-terminated copy of the body */
	body = malloc(size);
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	st = cb_api_check_answer(status, json, body, size - 1, allow_empty, &obj, &err);
	check_text(err.error, sizeof(err.error));
	check_text(err.description, sizeof(err.description));
	if (st == CB_OK) {
		if (status < 200 || status >= 300)
			abort(); /* only a 2xx answer is ever good */
		if (obj != NULL)
			parse(obj, (data[0] >> 4) & 3);
		else if (!allow_empty || size != 1)
			abort();
	} else if (obj != NULL) {
		abort();
	}
	json_object_put(obj);
	/* no error string maps to CB_OK: unknown ones deny */
	if (size > 1 && cb_api_map_error(body) == CB_OK)
		abort();
	free(body);
	return 0;
}
