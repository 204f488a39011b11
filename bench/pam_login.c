/* SPDX-License-Identifier: BSD-3-Clause */
/* One whole login as a process: pam_start_confdir → pam_authenticate →
 * pam_acct_mgmt → pam_end. Usage: pam_login CONFDIR SERVICE USER PASSWORD.
 * Exit status: the first PAM code that was not PAM_SUCCESS (0 if none).
 * For the benchmark only: a real password never belongs in argv. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

static int answer(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(arg);
	*resp = r;
	return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = {answer, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: pam_login CONFDIR SERVICE USER PASSWORD\n");
		return 2;
	}
	conv.appdata_ptr = argv[4];
	rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}
