/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/http.h without a network, linked instead of lib/http.c into the
 * fuzz build of the module (fuzz_module.c), as pam-u2f's fuzz_auth links a
 * fake device layer. Only what lib/api.c and pam/ call is here: a symbol
 * the module starts to need fails the fuzzer's link, not a run.
 *
 * Every answer comes from the fuzzer's hooks (fake_http.h), complete and
 * at once: no time passes in here, so what the module sizes by a round
 * trip (the decoy waits of pam/otp.c) comes out as about zero. The
 * contract kept from lib/http.c: CB_OK means an HTTP answer of any status,
 * with a NUL-terminated malloc'd body of at most CB_HTTP_MAX_BODY bytes
 * (a larger one is CB_ERR_PROTOCOL, never cut); failures are
 * CB_ERR_TRANSPORT, CB_ERR_TIMEOUT, CB_ERR_TLS, CB_ERR_PROTOCOL or
 * CB_ERR_NOMEM, logged with the request id as lib/http.c logs them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fake_http.h"
#include "http.h"
#include "secure.h"

struct cb_http {
	const struct cb_log *log;
	char last_id[CB_UUID_LEN];
};

static struct fake_hooks hooks;
/* request ids: deterministic, and shaped like lib/http.c's UUIDv4 */
static unsigned long request_count;

void fake_http_set_hooks(const struct fake_hooks *h)
{
	hooks = *h;
}

cb_status cb_http_new(const struct cb_config *cfg, const char *client_id, const char *client_secret,
		      const struct cb_log *log, struct cb_http **out)
{
	char *url = cb_config_api_url(cfg);
	struct cb_http *h;

	*out = NULL;
	if (url == NULL)
		return CB_ERR_NOMEM;
	free(url);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return CB_ERR_NOMEM;
	h->log = log;
	if (hooks.opened != NULL)
		hooks.opened(hooks.arg, client_id != NULL ? client_id : "",
			     client_secret != NULL ? client_secret : "");
	*out = h;
	return CB_OK;
}

void cb_http_free(struct cb_http *h)
{
	free(h);
}

const char *cb_http_last_request_id(const struct cb_http *h)
{
	return h != NULL && h->last_id[0] != '\0' ? h->last_id : "-";
}

void cb_http_restart_budget(struct cb_http *h)
{
	(void)h; /* no time passes here: the budget never runs out */
}

static const char *method_name(enum cb_http_method m)
{
	return m == CB_HTTP_GET ? "GET" : m == CB_HTTP_PATCH ? "PATCH" : "POST";
}

static bool transport_status(cb_status st)
{
	return st == CB_ERR_TRANSPORT || st == CB_ERR_TIMEOUT || st == CB_ERR_TLS ||
	       st == CB_ERR_PROTOCOL || st == CB_ERR_NOMEM;
}

cb_status cb_http_perform(struct cb_http *h, const struct cb_http_request *req,
			  struct cb_http_response *resp)
{
	struct fake_answer a = {CB_ERR_TRANSPORT, 0, false, NULL, 0};
	cb_status st;

	memset(resp, 0, sizeof(*resp));
	snprintf(resp->request_id, sizeof(resp->request_id), "00000000-0000-4000-8000-%012lx",
		 ++request_count);
	memcpy(h->last_id, resp->request_id, CB_UUID_LEN);
	if (hooks.answer == NULL || !hooks.answer(hooks.arg, req, &a))
		a.fail = CB_ERR_TRANSPORT;
	st = a.fail;
	if (st != CB_OK && !transport_status(st))
		st = CB_ERR_TRANSPORT;
	if (st == CB_OK && a.len > CB_HTTP_MAX_BODY)
		st = CB_ERR_PROTOCOL;
	if (st == CB_OK) {
		resp->body = malloc(a.len + 1);
		if (resp->body == NULL) {
			st = CB_ERR_NOMEM;
		} else {
			if (a.len > 0)
				memcpy(resp->body, a.body, a.len);
			resp->body[a.len] = '\0';
			resp->len = a.len;
			resp->status = a.status;
			resp->json = a.json;
		}
	}
	if (st == CB_OK)
		cb_log(h->log, LOG_DEBUG, "%s %s request_id=%s status=%ld bytes=%zu",
		       method_name(req->method), req->path, resp->request_id, resp->status,
		       resp->len);
	else
		cb_log(h->log, LOG_ERR, "%s %s request_id=%s failed: %s (fake transport)",
		       method_name(req->method), req->path, resp->request_id, cb_status_name(st));
	if (hooks.seen != NULL)
		hooks.seen(hooks.arg, req, st == CB_OK ? resp : NULL, st);
	return st;
}

void cb_http_response_free(struct cb_http_response *resp)
{
	if (resp->body != NULL) {
		cb_wipe(resp->body, resp->len);
		free(resp->body);
	}
	resp->body = NULL;
	resp->len = 0;
}

bool cb_device_id(char *out, size_t outsz)
{
	/* a fixed machine id: the decoy contacts (pam/otp.c) are then the
	 * same on every machine the fuzzer runs on */
	snprintf(out, outsz, "%s", "f0e1d2c3b4a5968778695a4b3c2d1e0f");
	return true;
}
