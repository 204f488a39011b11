/* A PAM module for test_failinject: libpam dispatches to it (so the code
 * under test runs as a module: PAM_AUTHTOK is settable only from one) and
 * it hands over to the module's code linked into the test binary, which
 * exports cb_failinject_authenticate. */
#include "config.h"

#include <dlfcn.h>
#include <stddef.h>

#include <security/pam_modules.h>

typedef int (*auth_fn)(pam_handle_t *pamh, int flags, int argc, const char **argv);

PAM_EXTERN __attribute__((visibility("default"))) int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	auth_fn fn = (auth_fn)dlsym(RTLD_DEFAULT, "cb_failinject_authenticate");

	return fn != NULL ? fn(pamh, flags, argc, argv) : PAM_SYSTEM_ERR;
}

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_setcred(pam_handle_t *pamh, int flags,
								     int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
