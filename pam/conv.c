/* SPDX-License-Identifier: BSD-3-Clause */
/* Talking to the user through the application's conversation function. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "module.h"
#include "secure.h"

static void free_replies(struct pam_response *resp, int n)
{
	if (resp == NULL)
		return;
	for (int i = 0; i < n; i++)
		cb_free_secret(resp[i].resp);
	free(resp);
}

cb_status cb_pam_prompt(struct cb_pam *ctx, const char *prompt, bool echo, char **answer)
{
	const struct pam_conv *conv = NULL;
	struct pam_message msg = {echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, prompt};
	const struct pam_message *msgp = &msg;
	struct pam_response *resp = NULL;
	int rc;

	*answer = NULL;
	rc = pam_get_item(ctx->pamh, PAM_CONV, (const void **)&conv);
	if (rc != PAM_SUCCESS || conv == NULL || conv->conv == NULL)
		return CB_ERR_CONV;
	rc = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
	if (rc != PAM_SUCCESS || resp == NULL || resp[0].resp == NULL) {
		free_replies(resp, 1);
		return CB_ERR_CONV;
	}
	/* keep the reply's own buffer: no extra copy of the secret */
	*answer = resp[0].resp;
	resp[0].resp = NULL;
	free_replies(resp, 1);
	return CB_OK;
}

void cb_pam_tell(struct cb_pam *ctx, bool error, const char *msg)
{
	if (msg == NULL || (ctx->flags & (int)PAM_SILENT))
		return;
	pam_prompt(ctx->pamh, error ? PAM_ERROR_MSG : PAM_TEXT_INFO, NULL, "%s", msg);
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
static bool valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

cb_status cb_pam_check_input(const char *s)
{
	size_t len;

	if (s == NULL)
		return CB_ERR_INPUT;
	/* strnlen: an over-long reply is refused without reading it all */
	len = strnlen(s, CB_PAM_MAX_INPUT + 1);
	if (len == 0 || len > CB_PAM_MAX_INPUT)
		return CB_ERR_INPUT;
	/* JSON text is UTF-8: anything else would be a malformed request, and
	 * the service keeps UTF-8 passwords, so no such input can match one */
	if (!valid_utf8((const unsigned char *)s, len))
		return CB_ERR_INPUT;
	return CB_OK;
}
