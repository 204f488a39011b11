/* SPDX-License-Identifier: BSD-3-Clause */
/* A helper module for the tests: "set=VALUE" puts VALUE in PAM_AUTHTOK (as
 * an earlier module of a stack would), "expect=VALUE" succeeds only if
 * PAM_AUTHTOK holds VALUE (proves pam_cloudbase hands the password on). */
#include "config.h"

#include <string.h>

#include <security/pam_modules.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv);
EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv);

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const void *item = NULL;

	(void)flags;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "set=", 4) == 0)
			return pam_set_item(pamh, PAM_AUTHTOK, argv[i] + 4);
		if (strncmp(argv[i], "expect=", 7) == 0) {
			if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == NULL)
				return PAM_AUTH_ERR;
			return strcmp(item, argv[i] + 7) == 0 ? PAM_SUCCESS : PAM_AUTH_ERR;
		}
	}
	return PAM_SERVICE_ERR;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
