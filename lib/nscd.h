/* SPDX-License-Identifier: BSD-3-Clause */
/* Keeping nscd(8) coherent with the account database.
 *
 * nscd caches passwd and group answers, the negative ones too (Debian's
 * nscd.conf: 20 s for a missing passwd entry, 60 s for groups; the
 * positive ones for 600 s and 3600 s): after an account is added, a name
 * looked up just before stays "unknown", and a mapped group removed at
 * CloudBase stays granted. Every write of the account database is
 * followed by what shadow's useradd does: "nscd -i passwd" and
 * "nscd -i group", when nscd runs.
 */
#ifndef CB_NSCD_H
#define CB_NSCD_H

#include "log.h"

#define CB_NSCD_SOCKET "/var/run/nscd/socket" /* glibc's _PATH_NSCDSOCKET */
#define CB_NSCD_PROGRAM "/usr/sbin/nscd"

/* Invalidate nscd's passwd and group caches if nscd runs (its socket
 * exists). Runs CB_NSCD_PROGRAM -i DB with an empty environment and
 * /dev/null for its standard streams, waiting at most 2 s for each; a
 * failure is logged (LOG_WARNING) and otherwise ignored: the caches then
 * expire on their own. */
void cb_nscd_invalidate(const struct cb_log *log);

#endif
