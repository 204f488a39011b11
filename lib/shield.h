/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes that the user who started the process cannot hold up.
 *
 * su and sudo run the PAM stack in a set-uid process whose real uid is the
 * invoking user's, who may therefore stop it (SIGSTOP), kill it, or lower
 * its limits (RLIMIT_FSIZE, RLIMIT_CPU, nice) before it starts. A lock
 * taken in such a process is a lock that user can hold for as long as they
 * like. cb_shield_run() runs a write in a short-lived child whose real,
 * effective and saved uids are all 0 (no user but root may signal it,
 * kill(2)), whose limits are reset, and which holds any lock only while it
 * runs; the caller waits for its result.
 */
#ifndef CB_SHIELD_H
#define CB_SHIELD_H

#include "log.h"
#include "status.h"

typedef cb_status (*cb_shield_fn)(void *arg, const struct cb_log *log);

/* Run fn(arg) and return its status.
 *
 * - All of the process's uids are 0 (sshd, login, cloudbasectl): fn runs
 *   here; nobody else can signal this process.
 * - Effective uid 0, another real or saved uid (su, sudo): fn runs in a
 *   forked child as above. Its log lines reach log through a pipe (the
 *   child never calls syslog: a lock held by another thread at fork() time
 *   would never be released there). A child that dies without a result is
 *   CB_ERR_SYSTEM.
 * - Effective uid not 0: fn runs here, and the files it writes will refuse
 *   it (the stores are root's).
 */
cb_status cb_shield_run(cb_shield_fn fn, void *arg, const struct cb_log *log);

#endif
