/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTPS client: one libcurl easy handle per PAM transaction.
 *
 * Every request of a login goes over the same handle, so the TLS session
 * and the connection are reused; the whole login shares one time budget
 * (config key timeout). Nothing is taken from the environment: proxy, CA
 * locations and protocols come from the config only.
 */
#ifndef CB_HTTP_H
#define CB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "log.h"
#include "status.h"

/* A connection idle longer than this (seconds) is not reused
 * (CURLOPT_MAXAGE_CONN): below the 5 s keep-alive of Apache httpd and
 * Node.js, the shortest common server defaults, so a request rarely races
 * the server closing the connection. A login that waited for its user
 * (an SMS code) opens a new connection. */
#define CB_HTTP_MAX_IDLE_S 2

/* Responses larger than this are refused, never truncated and parsed. */
#define CB_HTTP_MAX_BODY (64 * 1024)

/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" + NUL */
#define CB_UUID_LEN 37

struct cb_http;

enum cb_http_method { CB_HTTP_GET, CB_HTTP_POST, CB_HTTP_PATCH };

enum cb_http_auth {
	CB_HTTP_AUTH_NONE,
	CB_HTTP_AUTH_BASIC, /* client_id:client_secret (the sign-in family) */
	CB_HTTP_AUTH_BEARER, /* a user's access token */
};

struct cb_http_request {
	enum cb_http_method method;
	const char *path; /* appended to the base URL: "/signin" */
	enum cb_http_auth auth;
	const char *bearer; /* CB_HTTP_AUTH_BEARER only */
	const char *body; /* JSON text or NULL; the caller owns and wipes it */
	size_t body_len;
};

struct cb_http_response {
	long status; /* HTTP status, 0 if none was received */
	bool json; /* Content-Type was application/json */
	char *body; /* NUL-terminated, malloc'd; free with cb_http_response_free */
	size_t len;
	char request_id[CB_UUID_LEN];
};

/* base_url as libcurl will read it (curl_url(3)): CB_OK for
 * https://HOST[:PORT][/PATH], or http:// when HOST is 127.0.0.1, [::1] or
 * localhost (*plain_http then true). CB_ERR_CONFIG, with the reason in
 * *why (a static string), for a user name, password or login options in
 * the URL (userinfo: "http://127.0.0.1:1@192.0.2.2/" goes to 192.0.2.2), a
 * query, a fragment, another scheme, no host, or text libcurl cannot
 * parse; CB_ERR_NOMEM. cb_http_new refuses such a base_url the same way. */
cb_status cb_http_check_base_url(const char *url, bool *plain_http, const char **why);

/* Create the client for one login. client_secret is copied and wiped on
 * free. The time budget (cfg->timeout) starts now. */
cb_status cb_http_new(const struct cb_config *cfg, const char *client_id, const char *client_secret,
		      const struct cb_log *log, struct cb_http **out);
void cb_http_free(struct cb_http *h);

/* Perform one request. CB_OK means an HTTP answer of any status arrived
 * complete and within the caps; the caller judges the status and body.
 * A request is sent at most once: a POST or PATCH whose connection dies
 * before the answer is CB_ERR_TRANSPORT, never resent (libcurl would resend
 * it on its own); only a GET may go again on a new connection.
 * Transport failures map to CB_ERR_TRANSPORT, CB_ERR_TIMEOUT, CB_ERR_TLS,
 * CB_ERR_PROTOCOL (oversized answer) or CB_ERR_NOMEM, logged with the
 * request id. The response body is wiped on free (it may hold tokens). */
cb_status cb_http_perform(struct cb_http *h, const struct cb_http_request *req,
			  struct cb_http_response *resp);
void cb_http_response_free(struct cb_http_response *resp);

/* The request id of the last request ("-" before any). */
const char *cb_http_last_request_id(const struct cb_http *h);

/* Milliseconds left of the login's time budget (0 when spent). */
long cb_http_remaining_ms(const struct cb_http *h);

/* Give the service a fresh budget after the user was asked something:
 * the time a person takes to read an SMS and type its code is not the
 * service's (the SMS flows). The connection is kept. */
void cb_http_restart_budget(struct cb_http *h);

/* A fresh UUIDv4 from getrandom(2). */
cb_status cb_uuid4(char out[CB_UUID_LEN]);

/* The x-device-id: /etc/machine-id, else /var/lib/dbus/machine-id, else
 * none (the header is then not sent; only anonymous sign-in needs it).
 * Returns false when no id was found. out must hold 49 bytes. */
bool cb_device_id(char *out, size_t outsz);

#endif
