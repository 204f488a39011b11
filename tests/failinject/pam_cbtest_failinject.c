/* SPDX-License-Identifier: BSD-3-Clause */
/* A PAM module for test_failinject: libpam dispatches to it (so the code
 * under test runs as a module: PAM_AUTHTOK is settable only from one) and
 * it hands over to the module's code linked into the test binary, which
 * exports cb_failinject_authenticate and cb_failinject_acct_mgmt. */
#include "config.h"

#include <dlfcn.h>
#include <stddef.h>

#include <security/pam_modules.h>

#define CB_EXPORT PAM_EXTERN __attribute__((visibility("default")))

typedef int (*phase_fn)(pam_handle_t *pamh, int flags, int argc, const char **argv);

static int hand_over(const char *name, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	phase_fn fn = (phase_fn)dlsym(RTLD_DEFAULT, name);

	return fn != NULL ? fn(pamh, flags, argc, argv) : PAM_SYSTEM_ERR;
}

CB_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return hand_over("cb_failinject_authenticate", pamh, flags, argc, argv);
}

CB_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return hand_over("cb_failinject_acct_mgmt", pamh, flags, argc, argv);
}

CB_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
