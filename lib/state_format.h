/* SPDX-License-Identifier: BSD-3-Clause */
/* The on-disk format of the per-user state store: the one description,
 * used by its writer and reader (state.c) alike.
 *
 * WHAT IT HOLDS: for each local user the module manages, what sign-ins on
 * this host learnt and what later phases need: the bound CloudBase sub,
 * the CloudBase groups and time of the last sign-in, and the CloudBase
 * sessions this host holds for the user (tokens to revoke at logout, and
 * the refresh token the account phase checks the account's standing
 * with). Nothing here is served by NSS; everything here is root's.
 *
 * FILES (config key state_dir, default: "state" beside accounts_db, i.e.
 * /var/lib/cloudbase/state):
 *
 *   state/              0700 root
 *   state/users/NAME    one record per local user name, 0600 root
 *   state/locks/NN      64 lock files (flock(2)); a user's record is
 *                       written under lock NN = FNV-1a(NAME) mod 64
 *   state/tmp/NAME.XXXXXX   a record being written (or left by a killed
 *                       writer, removed under that user's lock)
 *   state/nss-pending/NAME.XXXXXX   the account database was busy when a
 *                       sign-in changed the user's mapped groups: its next
 *                       writer applies them (accountdb.c)
 *
 * A record is written whole, atomically: a new file in tmp/, fsync,
 * rename(2) into users/, fsync of users/. Readers take no lock. A writer
 * checks, under the user's lock, that the record still has the generation
 * it read; if not, it reads again and redoes its change (state.c).
 *
 * RECORD (text, LF-terminated lines "KEY VALUE"; at most CB_STATE_MAX_SIZE
 * bytes; every value is text as text.h defines it; numbers are decimal):
 *
 *   cloudbase-state 1                 first line, exactly
 *   generation N                      bumped by every write
 *   sub TEXT                          bound CloudBase sub (none: unbound)
 *   group TEXT                        repeated: groups of the last sign-in
 *   last_login SECONDS                epoch seconds of the last sign-in
 *   last_service WORD                 its PAM service
 *   last_rhost TEXT                   its PAM_RHOST
 *   checked SECONDS ok|denied         the last live check of the account's
 *                                     standing (account phase without a
 *                                     sign-in) and its result; a sign-in
 *                                     removes it (it is then superseded)
 *   claim SECONDS PID PSTART          a live check under way in that process
 *                                     (start time as for sessions): others
 *                                     wait for its result instead of using
 *                                     the same refresh token twice
 *   session ID CREATED PID PSTART PPID PPSTART AEXP REXP OPEN ACCESS REFRESH
 *                                     repeated (at most CB_STATE_MAX_SESSIONS,
 *                                     oldest first): a sign-in's CloudBase
 *                                     session: a 32-hex-digit id, when it
 *                                     was made, the process that made it and
 *                                     its parent (pid and start time in
 *                                     clock ticks since boot, proc(5) field
 *                                     22), the expiry (epoch seconds) of its
 *                                     access and refresh tokens, "open" or
 *                                     "closed" (its login has ended), and the
 *                                     tokens ("-": none); tokens are WORDs
 *   offline SET FAILURES USED HASH    offline login (offline_login): a
 *                                     verifier of the password of the last
 *                                     online password sign-in (at SET), the
 *                                     wrong passwords tried offline since
 *                                     (at most CB_STATE_MAX_FAILURES), the
 *                                     last offline sign-in (0: none), and the
 *                                     crypt(3) hash: "$" and [./0-9A-Za-z$]
 *                                     only, never the password
 *   end                               last line, exactly
 *
 * Every key but group and session appears at most once; an unknown key, a
 * value out of its bound, a missing first or last line, or a file that is
 * not root's with mode 0600 (or 0400) is a record refused: logged once,
 * never trusted, and a login that needs it fails.
 */
#ifndef CB_STATE_FORMAT_H
#define CB_STATE_FORMAT_H

#define CB_STATE_MAGIC "cloudbase-state 1"
#define CB_STATE_END "end"

#define CB_STATE_USERS "users"
#define CB_STATE_LOCKS "locks"
#define CB_STATE_TMP "tmp"
#define CB_STATE_PENDING "nss-pending"
#define CB_STATE_LOCK_STRIPES 64u

#define CB_STATE_MAX_SIZE (512 * 1024)
#define CB_STATE_MAX_SUB 256
#define CB_STATE_MAX_GROUPS 1024
#define CB_STATE_MAX_GROUP 256
#define CB_STATE_MAX_TEXT 256 /* last_service, last_rhost */
#define CB_STATE_MAX_SESSIONS 16
#define CB_STATE_ID_LEN 32
#define CB_STATE_MAX_ACCESS 8192 /* a JWT, documented up to 4096 */
#define CB_STATE_MAX_REFRESH 512 /* documented up to 128 */
#define CB_STATE_MAX_VERIFIER 384 /* libcrypt's CRYPT_OUTPUT_SIZE */
#define CB_STATE_MAX_FAILURES 1000
/* A session's parent (recorded under sshd only) counts as its owner this long
 * after the sign-in, or until the session phase takes the entry over: sshd's
 * monitor opens the session its keyboard-interactive child signed in. */
#define CB_STATE_PARENT_GRACE 120 /* seconds */

#endif
