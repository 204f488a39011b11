/* SPDX-License-Identifier: BSD-3-Clause */
/* libnss_cbfloor.so.2: an NSS module that knows nobody. glibc loads it the
 * way it loads libnss_cloudbase.so.2 (dlopen, RTLD_NOW, a dlsym of every
 * function name it may call), so the first lookup of a fresh process
 * through it is the floor for any NSS module: what is left is glibc's own
 * work (bench/nss_bench.sh, bench/README.md). Never installed. */
#include "config.h"

#include <nss.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

enum nss_status _nss_cbfloor_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
					int *errnop);
enum nss_status _nss_cbfloor_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
					int *errnop);

enum nss_status _nss_cbfloor_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
					int *errnop)
{
	(void)name;
	(void)pw;
	(void)buf;
	(void)len;
	(void)errnop;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_cbfloor_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
					int *errnop)
{
	(void)uid;
	(void)pw;
	(void)buf;
	(void)len;
	(void)errnop;
	return NSS_STATUS_NOTFOUND;
}
