/* SPDX-License-Identifier: BSD-3-Clause */
/* libnss_cloudbase.so.2: passwd and group entries for CloudBase accounts,
 * served from the account database (accountdb_format.h, nss_cloudbase(8)).
 *
 * Every process on the host may load this module, so it never touches the
 * network, never allocates on a lookup (initgroups_dyn excepted: its API
 * hands us a malloc'd array), and fails closed: an unreadable config or an
 * unsafe or corrupt database is NSS_STATUS_UNAVAIL, one syslog line per
 * problem per process.
 *
 * State per process: the config (read once, retried at most once a second
 * while it fails) and one read-only view of the database (the base and its
 * delta, each mapped) behind a rwlock. Lookups take the read side. At most once a second (the
 * coarse monotonic clock, a vDSO read, gates it) one caller takes the write side, stat()s both
 * files and remaps when one was replaced, so a rename() by a writer is seen within a second without
 * a stat() per lookup.
 *
 * A record named like a local account (/etc/passwd) gives that account
 * nothing: its private group and mapped groups are not served (the PAM
 * module ignores such a record too; files answer the passwd lookups first).
 * Every function leaves its locks through one exit path.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "accountdb.h"
#include "accountdb_map.h"
#include "conf.h"
#include "localfiles.h"

/* the entry points (exported by the version script) */
enum nss_status _nss_cloudbase_getpwnam_r(const char *name, struct passwd *pw, char *buf,
					  size_t len, int *errnop);
enum nss_status _nss_cloudbase_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
					  int *errnop);
enum nss_status _nss_cloudbase_setpwent(int stayopen);
enum nss_status _nss_cloudbase_endpwent(void);
enum nss_status _nss_cloudbase_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop);
enum nss_status _nss_cloudbase_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
					  int *errnop);
enum nss_status _nss_cloudbase_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
					  int *errnop);
enum nss_status _nss_cloudbase_setgrent(int stayopen);
enum nss_status _nss_cloudbase_endgrent(void);
enum nss_status _nss_cloudbase_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop);
enum nss_status _nss_cloudbase_initgroups_dyn(const char *user, gid_t group, long int *start,
					      long int *size, gid_t **groupsp, long int limit,
					      int *errnop);

/* ---- logging: one line per problem per process ---- */

enum problem {
	P_CONFIG,
	P_DB_OPEN,
	P_RECORD,
};

static atomic_uint_fast64_t logged; /* bit per problem */
static atomic_uint_fast64_t logged_map; /* bit per group_map entry (at most 64) */

static void log_once_in(atomic_uint_fast64_t *set, unsigned bit, const char *msg)
{
	uint_fast64_t mask = (uint_fast64_t)1 << (bit & 63);

	if ((atomic_fetch_or(set, mask) & mask) == 0)
		syslog(LOG_AUTHPRIV | LOG_ERR, "nss_cloudbase: %s", msg);
}

static void log_once(enum problem p, const char *msg)
{
	log_once_in(&logged, (unsigned)p, msg);
}

/* The library logs through a sink: keep its first message, for log_once. */
struct first_msg {
	char text[256];
};

static void keep_first(void *arg, int priority, const char *msg)
{
	struct first_msg *f = arg;

	(void)priority;
	if (f->text[0] == '\0')
		snprintf(f->text, sizeof(f->text), "%s", msg);
}

/* ---- process state ---- */

/* writers first: the once-a-second refresh and fork() must not starve
 * behind a stream of lookups (which never nest a read lock) */
static pthread_rwlock_t map_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t ent_lock = PTHREAD_MUTEX_INITIALIZER; /* enumeration */
static struct cb_config cfg; /* written under the write lock, once */
static bool cfg_loaded;
static struct cb_dbview view; /* under map_lock */
static cb_status map_status = CB_ERR_CONFIG; /* why map is closed */
static atomic_llong next_check; /* coarse monotonic second of the next stat() */

static long long now_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec + 1; /* never 0: 0 means "check now" */
}

static void load_config(void)
{
	struct first_msg f = {{0}};
	struct cb_log log = {keep_first, &f, false};

	cb_config_init(&cfg);
	if (cb_config_load_file(&cfg, cb_config_default_path(), CB_CONF_QUIET, &log) == CB_OK) {
		cfg_loaded = true;
		return;
	}
	cb_config_free(&cfg);
	log_once(P_CONFIG, f.text[0] ? f.text : "cannot load the configuration");
}

static void reopen_map(void)
{
	struct first_msg f = {{0}};
	struct cb_log log = {keep_first, &f, false};
	struct cb_dbview fresh;
	cb_status rc;

	rc = cb_dbview_open(&fresh, cb_accountdb_path(&cfg), &log);
	/* keep serving the old mapping if the new file cannot be used? No:
	 * it was replaced on purpose (or damaged); fail closed */
	cb_dbview_close(&view);
	map_status = rc;
	if (rc == CB_OK)
		view = fresh;
	else if (rc != CB_ERR_NOT_FOUND) /* no database yet is normal: quiet */
		log_once(P_DB_OPEN, f.text[0] ? f.text : "cannot open the account database");
}

/* A fork() while another thread holds a lock of the module would leave
 * the child with a lock nobody releases: take both across fork(), so the
 * state they guard is whole on both sides. */
static void before_fork(void)
{
	pthread_mutex_lock(&ent_lock); /* the order next_ent() takes them in */
	pthread_rwlock_wrlock(&map_lock);
}

static void after_fork_parent(void)
{
	pthread_rwlock_unlock(&map_lock);
	pthread_mutex_unlock(&ent_lock);
}

/* The child runs one thread, which is not the one glibc recorded as the
 * writer (it compares thread ids): unlocking would corrupt the rwlock, so
 * start over with fresh locks. */
static void after_fork_child(void)
{
	pthread_rwlock_t fresh_rw = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
	pthread_mutex_t fresh_mx = PTHREAD_MUTEX_INITIALIZER;

	memcpy(&map_lock, &fresh_rw, sizeof(map_lock));
	memcpy(&ent_lock, &fresh_mx, sizeof(ent_lock));
}

static void register_fork_handlers(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* nscd caches what this module answers (negative answers too) and is
 * told to forget it ("nscd -i") right after each write of the database: a
 * lookup it makes then must not come from a view up to a second old, or it
 * would cache that again (a new user unknown for 20 s, a removed one known
 * for 10 minutes with Debian's nscd.conf). nscd's own cache makes the
 * stat() per lookup cheap there. */
static bool in_nscd(void)
{
	static atomic_int known; /* 0 unknown, 1 no, 2 yes; a race only repeats the strcmp */
	int k = atomic_load_explicit(&known, memory_order_relaxed);

	if (k == 0) {
		k = strcmp(program_invocation_short_name, "nscd") == 0 ? 2 : 1;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 2;
}

/* Take the write side at most once a second to load the config and notice
 * a replaced database; always when force is set, and in nscd. initgroups
 * forces it: it runs once as a session starts, right after the PAM account
 * phase may have recorded the login's CloudBase groups, and a stale map
 * would start the first session of a new admin without the mapped groups
 * (e.g. sudo). */
static void refresh(bool force)
{
	static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
	long long now = now_seconds();

	pthread_once(&fork_once, register_fork_handlers);
	force = force || in_nscd();

	if (!force && now != 0 && now < atomic_load_explicit(&next_check, memory_order_relaxed))
		return;
	pthread_rwlock_wrlock(&map_lock);
	if (force || now == 0 || now >= atomic_load_explicit(&next_check, memory_order_relaxed)) {
		if (!cfg_loaded)
			load_config();
		if (!cfg_loaded)
			map_status = CB_ERR_CONFIG;
		else if (view.base.base == NULL || cb_dbview_stale(&view, cb_accountdb_path(&cfg)))
			reopen_map();
		atomic_store_explicit(&next_check, now + 1, memory_order_relaxed);
	}
	pthread_rwlock_unlock(&map_lock);
}

/* ---- the one translation from cb_status to NSS ---- */

static enum nss_status to_nss(cb_status rc, int saved_errno, int *errnop)
{
	errno = saved_errno; /* NOTFOUND and SUCCESS leave errno alone */
	switch (rc) {
	case CB_OK:
		return NSS_STATUS_SUCCESS;
	case CB_ERR_NOT_FOUND:
		return NSS_STATUS_NOTFOUND;
	case CB_ERR_RANGE:
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	case CB_ERR_NOMEM:
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	case CB_ERR_UNSAFE_FILE:
		*errnop = EACCES;
		return NSS_STATUS_UNAVAIL;
	case CB_ERR_CORRUPT:
		*errnop = EIO;
		return NSS_STATUS_UNAVAIL;
	default:
		*errnop = ENOENT;
		return NSS_STATUS_UNAVAIL;
	}
}

/* The map's state when there is no mapping: a missing database has no
 * accounts; anything else is an error. */
static cb_status closed_status(void)
{
	return map_status == CB_ERR_NOT_FOUND ? CB_ERR_NOT_FOUND
	       : map_status == CB_OK	      ? CB_ERR_SYSTEM
					      : map_status;
}

static cb_status record_status(cb_status rc)
{
	if (rc == CB_ERR_CORRUPT)
		log_once(P_RECORD, "corrupt record in the account database, refused");
	return rc;
}

/* ---- buffer filling (measure, then copy; every pointer into buf) ---- */

static char *put(char **p, const char *s, size_t len)
{
	char *start = *p;

	memcpy(start, s, len);
	start[len] = '\0';
	*p = start + len + 1;
	return start;
}

static cb_status fill_passwd(const struct cb_dbrec *r, struct passwd *pw, char *buf, size_t len)
{
	size_t need = r->name_len + 1 + 2 + r->gecos_len + 1 + r->home_len + 1 + r->shell_len + 1;
	char *p = buf;

	if (need > len)
		return CB_ERR_RANGE;
	pw->pw_name = put(&p, r->name, r->name_len);
	/* no local password: CloudBase authenticates through PAM */
	pw->pw_passwd = put(&p, "*", 1);
	pw->pw_uid = r->uid;
	pw->pw_gid = r->gid;
	pw->pw_gecos = put(&p, r->gecos, r->gecos_len);
	pw->pw_dir = put(&p, r->home, r->home_len);
	pw->pw_shell = put(&p, r->shell, r->shell_len);
	return CB_OK;
}

/* The private group: gr_mem (an empty, aligned pointer array) goes first. */
static cb_status fill_group(const struct cb_dbrec *r, struct group *gr, char *buf, size_t len)
{
	size_t pad = (size_t)(-(uintptr_t)buf & (_Alignof(char *) - 1));
	size_t need = pad + sizeof(char *) + r->name_len + 1 + 2;
	char *p;

	if (need > len)
		return CB_ERR_RANGE;
	gr->gr_mem = (char **)(void *)(buf + pad);
	gr->gr_mem[0] = NULL;
	p = buf + pad + sizeof(char *);
	gr->gr_name = put(&p, r->name, r->name_len);
	gr->gr_passwd = put(&p, "*", 1);
	gr->gr_gid = r->gid;
	return CB_OK;
}

/* ---- lookups ---- */

enum key_kind { BY_NAME, BY_ID };

static cb_status find_locked(enum key_kind kind, const char *name, uint32_t id, struct cb_dbrec *r)
{
	if (view.base.base == NULL)
		return closed_status();
	return record_status(kind == BY_NAME ? cb_dbview_find_name(&view, name, r)
					     : cb_dbview_find_uid(&view, id, r));
}

/* A record named like a local account is not that account's: no private
 * group, no mapped groups for it. CB_ERR_NOT_FOUND then; an unreadable
 * /etc/passwd fails closed. */
static cb_status not_local(const struct cb_dbrec *r)
{
	char name[CB_NAME_MAX + 1];
	cb_status rc;

	memcpy(name, r->name, r->name_len);
	name[r->name_len] = '\0';
	rc = cb_local_user_lookup(name);
	return rc == CB_OK ? CB_ERR_NOT_FOUND : rc == CB_ERR_NOT_FOUND ? CB_OK : rc;
}

typedef cb_status (*fill_fn)(const struct cb_dbrec *r, void *ent, char *buf, size_t len);

static cb_status fill_pw_ent(const struct cb_dbrec *r, void *ent, char *buf, size_t len)
{
	return fill_passwd(r, ent, buf, len);
}

static cb_status fill_gr_ent(const struct cb_dbrec *r, void *ent, char *buf, size_t len)
{
	cb_status rc = not_local(r);

	return rc == CB_OK ? fill_group(r, ent, buf, len) : rc;
}

/* One lookup by name or id, for passwd and group alike: fill decides the
 * kind of entry copied into the caller's buffer. */
static enum nss_status lookup(enum key_kind kind, const char *name, uint32_t id, fill_fn fill,
			      void *ent, char *buf, size_t len, int *errnop)
{
	int saved = errno;
	struct cb_dbrec r;
	cb_status rc;

	if ((kind == BY_NAME && !cb_valid_local_name(name)) || (kind == BY_ID && id == 0))
		return to_nss(CB_ERR_NOT_FOUND, saved, errnop);
	refresh(false);
	pthread_rwlock_rdlock(&map_lock);
	rc = find_locked(kind, name, id, &r);
	if (rc == CB_OK)
		rc = fill(&r, ent, buf, len);
	pthread_rwlock_unlock(&map_lock);
	return to_nss(rc, saved, errnop);
}

enum nss_status _nss_cloudbase_getpwnam_r(const char *name, struct passwd *pw, char *buf,
					  size_t len, int *errnop)
{
	return lookup(BY_NAME, name, 0, fill_pw_ent, pw, buf, len, errnop);
}

enum nss_status _nss_cloudbase_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
					  int *errnop)
{
	return lookup(BY_ID, NULL, (uint32_t)uid, fill_pw_ent, pw, buf, len, errnop);
}

enum nss_status _nss_cloudbase_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
					  int *errnop)
{
	return lookup(BY_NAME, name, 0, fill_gr_ent, gr, buf, len, errnop);
}

enum nss_status _nss_cloudbase_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
					  int *errnop)
{
	return lookup(BY_ID, NULL, (uint32_t)gid, fill_gr_ent, gr, buf, len, errnop);
}

/* ---- enumeration: one cursor per database, advanced only after a copy
 * succeeded (an ERANGE retry gets the same record) ---- */

static uint64_t pw_cursor, gr_cursor; /* under ent_lock */

static enum nss_status next_ent(uint64_t *cursor, fill_fn fill, void *ent, char *buf, size_t len,
				int *errnop)
{
	int saved = errno;
	struct cb_dbrec r;
	bool skip = false;
	cb_status rc;

	refresh(false);
	pthread_mutex_lock(&ent_lock);
	pthread_rwlock_rdlock(&map_lock);
	if (view.base.base == NULL) {
		rc = closed_status();
	} else {
		/* a corrupt record is skipped (and logged), never served; so are
		 * positions the delta replaces, and group entries of records named
		 * like local accounts */
		do {
			rc = record_status(cb_dbview_get(&view, *cursor, &r, &skip));
			if (rc == CB_OK && !skip)
				rc = fill(&r, ent, buf, len);
			if (rc == CB_ERR_CORRUPT || (rc == CB_ERR_NOT_FOUND && !skip &&
						     *cursor < cb_dbview_positions(&view)))
				skip = true;
			if (skip)
				(*cursor)++;
		} while (skip);
		if (rc == CB_OK)
			(*cursor)++;
	}
	pthread_rwlock_unlock(&map_lock);
	pthread_mutex_unlock(&ent_lock);
	return to_nss(rc, saved, errnop);
}

static enum nss_status reset_ent(uint64_t *cursor)
{
	pthread_mutex_lock(&ent_lock);
	*cursor = 0;
	pthread_mutex_unlock(&ent_lock);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_cloudbase_setpwent(int stayopen)
{
	(void)stayopen;
	return reset_ent(&pw_cursor);
}

enum nss_status _nss_cloudbase_endpwent(void)
{
	return reset_ent(&pw_cursor);
}

enum nss_status _nss_cloudbase_getpwent_r(struct passwd *pw, char *buf, size_t len, int *errnop)
{
	return next_ent(&pw_cursor, fill_pw_ent, pw, buf, len, errnop);
}

enum nss_status _nss_cloudbase_setgrent(int stayopen)
{
	(void)stayopen;
	return reset_ent(&gr_cursor);
}

enum nss_status _nss_cloudbase_endgrent(void)
{
	return reset_ent(&gr_cursor);
}

enum nss_status _nss_cloudbase_getgrent_r(struct group *gr, char *buf, size_t len, int *errnop)
{
	return next_ent(&gr_cursor, fill_gr_ent, gr, buf, len, errnop);
}

/* ---- initgroups: the private group plus local groups mapped from the
 * user's CloudBase groups by group_map ---- */

_Static_assert(CB_CONFIG_MAX_LIST <= 64, "one bit per group_map entry");

struct wanted {
	uint64_t entries; /* bit i: group_map[i] applies to this user */
	uint32_t private_gid;
};

/* Which group_map entries the user's recorded groups select. Under the
 * read lock: only reads the mapping and the config. */
static cb_status wanted_groups(const char *user, struct wanted *w)
{
	struct cb_dbrec r;
	const char *g;
	size_t pos = 0;
	cb_status rc = find_locked(BY_NAME, user, 0, &r);

	if (rc == CB_OK)
		rc = not_local(&r);
	if (rc != CB_OK)
		return rc;
	w->private_gid = r.gid;
	while ((g = cb_dbrec_next_group(&r, &pos)) != NULL)
		for (size_t i = 0; i < cfg.n_group_map && i < 64; i++)
			if (strcmp(cfg.group_map[i].cloud, g) == 0)
				w->entries |= (uint64_t)1 << i;
	return CB_OK;
}

static cb_status add_gid(gid_t gid, gid_t skip, long int *start, long int *size, gid_t **groupsp,
			 long int limit)
{
	gid_t *g = *groupsp;

	if (gid == skip)
		return CB_OK;
	for (long int i = 0; i < *start; i++)
		if (g[i] == gid)
			return CB_OK;
	if (*start == *size) {
		long int n = *size > 0 ? *size * 2 : 16;

		if (limit > 0 && *size >= limit)
			return CB_OK; /* full: glibc's contract is to stop quietly */
		if (limit > 0 && n > limit)
			n = limit;
		g = realloc(g, (size_t)n * sizeof(*g));
		if (g == NULL)
			return CB_ERR_NOMEM;
		*groupsp = g;
		*size = n;
	}
	g[(*start)++] = gid;
	return CB_OK;
}

/* The gid of each wanted local group, from /etc/group read directly (NSS
 * would recurse); a mapped group that does not exist is logged once. */
static cb_status add_mapped(const struct wanted *w, gid_t skip, long int *start, long int *size,
			    gid_t **groupsp, long int limit)
{
	cb_status rc = CB_OK;

	for (size_t i = 0; rc == CB_OK && i < cfg.n_group_map && i < 64; i++) {
		uint32_t gid;
		char msg[256];

		if (!(w->entries & ((uint64_t)1 << i)))
			continue;
		if (cb_local_group_gid(cfg.group_map[i].local, &gid) != CB_OK) {
			snprintf(msg, sizeof(msg), "group_map: local group %s does not exist",
				 cfg.group_map[i].local);
			log_once_in(&logged_map, (unsigned)i, msg);
			continue;
		}
		rc = add_gid(gid, skip, start, size, groupsp, limit);
	}
	return rc;
}

enum nss_status _nss_cloudbase_initgroups_dyn(const char *user, gid_t group, long int *start,
					      long int *size, gid_t **groupsp, long int limit,
					      int *errnop)
{
	int saved = errno;
	struct wanted w = {0, 0};
	cb_status rc;

	if (!cb_valid_local_name(user))
		return to_nss(CB_ERR_NOT_FOUND, saved, errnop);
	refresh(true);
	pthread_rwlock_rdlock(&map_lock);
	rc = wanted_groups(user, &w);
	pthread_rwlock_unlock(&map_lock);
	/* the config's group_map is written once, before cfg_loaded: safe
	 * to read without the lock from here on */
	if (rc == CB_OK)
		rc = add_gid(w.private_gid, group, start, size, groupsp, limit);
	if (rc == CB_OK)
		rc = add_mapped(&w, group, start, size, groupsp, limit);
	return to_nss(rc, saved, errnop);
}
