/* libnss_cloudbase.so.2: placeholder until the account database lands. */
#include "config.h"

#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>

enum nss_status _nss_cloudbase_getpwnam_r(const char *name, struct passwd *pw, char *buf,
					  size_t len, int *errnop);

enum nss_status _nss_cloudbase_getpwnam_r(const char *name, struct passwd *pw, char *buf,
					  size_t len, int *errnop)
{
	(void)name;
	(void)pw;
	(void)buf;
	(void)len;
	*errnop = ENOENT;
	return NSS_STATUS_UNAVAIL;
}
