/* SPDX-License-Identifier: BSD-3-Clause */
/* The per-user state store: what sign-ins on this host learn about each
 * managed user, and what later phases need from it (the format and its
 * rules: state_format.h).
 *
 * Any phase in any process finds a user's record by name: sshd's monitor
 * after a keyboard-interactive sign-in in its child, a later sudo, the
 * account phase of an SSH public-key login. Records are root-only; a
 * process that is not root cannot use the module's stores at all.
 */
#ifndef CB_STATE_H
#define CB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "log.h"
#include "state_format.h"
#include "status.h"

/* A CloudBase session this host holds for the user (one per sign-in). */
struct cb_state_session {
	char id[CB_STATE_ID_LEN + 1]; /* random, hex */
	int64_t created; /* epoch seconds */
	/* the process that signed in and its parent, each with its start time
	 * (a pid alone could be a new process by now): the session phase finds
	 * the sign-in of sshd's keyboard-interactive child from its parent */
	int32_t pid, ppid;
	uint64_t pid_start, ppid_start;
	int64_t access_expires, refresh_expires; /* epoch seconds, 0: unknown */
	bool closed; /* the login it was for has ended */
	char *access_token; /* wiped on free */
	char *refresh_token; /* NULL: none; wiped on free */
};

struct cb_state {
	uint64_t generation; /* of the record read; 0: there was none */
	char *sub; /* NULL: not bound */
	char **groups; /* of the last sign-in */
	size_t n_groups;
	int64_t last_login; /* epoch seconds, 0: never */
	char *last_service;
	char *last_rhost;
	struct cb_state_session sessions[CB_STATE_MAX_SESSIONS]; /* oldest first */
	size_t n_sessions;
	int64_t checked; /* the last live check since the last sign-in, epoch
			  * seconds; 0: none (a sign-in clears it) */
	bool checked_ok; /* its result: in good standing */
	int64_t claim; /* a live check under way since (epoch seconds); 0: none */
	int32_t claim_pid;
	uint64_t claim_pid_start;
	/* offline login (offline_login): a verifier of the password of the
	 * last online password sign-in, never the password */
	char *verifier; /* a crypt(3) hash ("$y$..."); NULL: none */
	int64_t verifier_set; /* that online sign-in, epoch seconds */
	uint32_t offline_failures; /* wrong passwords offline since then */
	int64_t offline_used; /* the last offline sign-in, epoch seconds; 0: none */
};

/* Drop the verifier and its counters (the record still needs writing). */
void cb_state_forget_verifier(struct cb_state *st);

/* The state directory: cfg->state_dir, else "state" beside accounts_db.
 * Returns a malloc'd path or NULL. */
char *cb_state_dir(const struct cb_config *cfg);

/* Read user's record. CB_ERR_NOT_FOUND: there is none (never signed in
 * here). CB_ERR_UNSAFE_FILE / CB_ERR_CORRUPT: refused (logged once);
 * CB_ERR_SYSTEM: unreadable (not root?). *st is empty unless CB_OK. */
cb_status cb_state_load(const struct cb_config *cfg, const char *user, struct cb_state *st,
			const struct cb_log *log);

void cb_state_free(struct cb_state *st);

/* A change to a record: edit st (an empty one, generation 0, when there is
 * none) and set *write to store it. Return anything but CB_OK to give up
 * (nothing is written). It may run more than once (after a concurrent
 * write the record is read again), so it must start from st and arg
 * alone. */
typedef cb_status (*cb_state_edit_fn)(struct cb_state *st, void *arg, bool *write);

/* Read, edit, write atomically under the user's lock, in a child the
 * invoking user cannot stop (shield.h). Creates the directories (exact
 * modes, whatever the umask). A record that cannot be trusted is not
 * edited (its status is returned). CB_ERR_CONFLICT if other writers kept
 * changing it. */
cb_status cb_state_update(const struct cb_config *cfg, const char *user, cb_state_edit_fn edit,
			  void *arg, const struct cb_log *log);

/* Remove user's record (cloudbasectl user remove). CB_ERR_NOT_FOUND
 * if there was none. */
cb_status cb_state_remove(const struct cb_config *cfg, const char *user, const struct cb_log *log);

/* Sessions. */

/* A new session entry for this process (ids, owner, times); the tokens are
 * copied. expires_in: the access token's lifetime in seconds (0: unknown).
 * CB_ERR_NOMEM. */
cb_status cb_state_session_new(struct cb_state_session *s, const char *access_token,
			       const char *refresh_token, long expires_in, int64_t now);
void cb_state_session_free(struct cb_state_session *s);
/* Move a session out of st->sessions[i] into *out (the caller frees it);
 * the ones after it move up. */
void cb_state_session_take(struct cb_state *st, size_t i, struct cb_state_session *out);
/* Append (the entry is moved in; *s is left empty). When the record is
 * full, the oldest session is moved out to *evicted first (the caller
 * revokes and frees it); evicted->access_token is NULL otherwise. */
void cb_state_session_add(struct cb_state *st, struct cb_state_session *s,
			  struct cb_state_session *evicted);
/* Is the process that signed in still running, or its parent within
 * CB_STATE_PARENT_GRACE seconds of the sign-in (now: epoch seconds)? */
bool cb_state_session_owner_alive(const struct cb_state_session *s, int64_t now);
/* Is the claim of a live check held by a running process, and younger
 * than max_age seconds? */
bool cb_state_claim_alive(const struct cb_state *st, int64_t now, int64_t max_age);
/* Was the session signed in by pid's child (sshd's keyboard-interactive
 * child, whose parent runs the session phase) or by pid itself? */
bool cb_state_session_owned_by(const struct cb_state_session *s, pid_t pid);
/* The index of the session with this id, or -1. */
long cb_state_session_find(const struct cb_state *st, const char *id);

/* Replace st's groups by a copy of the n names (invalid or excess names
 * are skipped, and counted in *skipped if not NULL). */
cb_status cb_state_set_groups(struct cb_state *st, const char *const *groups, size_t n,
			      size_t *skipped);

/* The account database could not take a change of user's mapped groups:
 * leave a note for its next writer (a new file in nss-pending/). */
cb_status cb_state_pending_add(const struct cb_config *cfg, const char *user,
			       const struct cb_log *log);

/* The notes left, each a file name "NAME.XXXXXX" (malloc'd), and the
 * user name it is for. */
struct cb_state_pending {
	char **files;
	char **users;
	size_t n;
};
cb_status cb_state_pending_list(const struct cb_config *cfg, struct cb_state_pending *p,
				const struct cb_log *log);
/* Remove the notes listed (applied), then free the list. */
void cb_state_pending_done(const struct cb_config *cfg, struct cb_state_pending *p, bool remove);

/* The start time of a process (proc(5), stat field 22, clock ticks since
 * boot); 0 when it cannot be read (no such process). */
uint64_t cb_proc_start_time(pid_t pid);

#endif
