/* pam_cloudbase.so: placeholder until the password flow lands. Fails closed. */
#include "config.h"

#include <security/pam_modules.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_AUTH_ERR;
}
