/* SPDX-License-Identifier: BSD-3-Clause */
/* The transport of the module's fuzz build (fake_http.c): lib/http.h's
 * interface with no network. The fuzzer (fuzz_module.c) hands it every
 * answer and sees every exchange through these hooks. */
#ifndef CB_FAKE_HTTP_H
#define CB_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "status.h"

/* One answer of the service, or a transport failure. */
struct fake_answer {
	cb_status fail; /* CB_OK: an HTTP answer; else what cb_http_perform returns */
	long status;
	bool json; /* Content-Type: application/json */
	const char *body; /* copied by the transport */
	size_t len;
};

struct fake_hooks {
	/* The next answer for req: false when there is none (the service is
	 * unreachable: CB_ERR_TRANSPORT). */
	bool (*answer)(void *arg, const struct cb_http_request *req, struct fake_answer *out);
	/* After each exchange: resp is NULL unless st is CB_OK. */
	void (*seen)(void *arg, const struct cb_http_request *req,
		     const struct cb_http_response *resp, cb_status st);
	/* cb_http_new was given this client credential. */
	void (*opened)(void *arg, const char *client_id, const char *client_secret);
	void *arg;
};

void fake_http_set_hooks(const struct fake_hooks *hooks);

#endif
