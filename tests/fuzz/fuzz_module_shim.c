/* SPDX-License-Identifier: BSD-3-Clause */
/* The module libpam loads in fuzz_module: each entry point hands its call
 * to the fuzzer, which has the module's code linked in (fuzz_module.c says
 * why). Built without sanitizers or coverage: it only forwards. The
 * fuzzer exports fuzz_module_entry (-Wl,--export-dynamic-symbol), which
 * resolves this module's undefined reference when libpam dlopen()s it. */
#include <security/pam_modules.h>

/* Which pam_sm_* was called (fuzz_module.c has the same list). */
enum { SHIM_AUTH, SHIM_SETCRED, SHIM_ACCT, SHIM_OPEN, SHIM_CLOSE, SHIM_CHAUTHTOK };

int fuzz_module_entry(int which, pam_handle_t *pamh, int flags, int argc, const char **argv);

#define FORWARD(fn, which)                                                                         \
	PAM_EXTERN int fn(pam_handle_t *pamh, int flags, int argc, const char **argv)              \
	{                                                                                          \
		return fuzz_module_entry(which, pamh, flags, argc, argv);                          \
	}

FORWARD(pam_sm_authenticate, SHIM_AUTH)
FORWARD(pam_sm_setcred, SHIM_SETCRED)
FORWARD(pam_sm_acct_mgmt, SHIM_ACCT)
FORWARD(pam_sm_open_session, SHIM_OPEN)
FORWARD(pam_sm_close_session, SHIM_CLOSE)
FORWARD(pam_sm_chauthtok, SHIM_CHAUTHTOK)
