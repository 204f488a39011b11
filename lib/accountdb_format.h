/* SPDX-License-Identifier: BSD-3-Clause */
/* The on-disk format of the account database: the one description, used
 * by the writer (accountdb_store.c) and the allocation-free reader
 * (accountdb_map.c) alike. Internal: nothing outside lib/ includes it.
 *
 * FILES (config key accounts_db, default /var/lib/cloudbase/accounts.db):
 *
 *   accounts.db         the base: every account as of its last full write
 *   accounts.db.delta   the changes since then (adds, edits, removals), in
 *                       the same format; small, so that a change to one
 *                       account costs a write of the delta, not of the base
 *   accounts.db.lock    the writers' flock(2); never replaced
 *   accounts.db.tmp-*   a write in progress (or left by a killed writer)
 *
 * Both files are root-owned, mode 0644: NSS serves names, uids, homes and
 * shells to every process, as /etc/passwd does. Nothing in them is a
 * credential (the CloudBase login and phone identify a person; the sub,
 * the tokens and the groups of the last sign-in live in the root-only
 * state store, state_format.h). Hosts that must hide phone numbers from
 * local users add accounts by login only.
 *
 * A reader applies the delta to the base when the delta's base_generation
 * equals the base's generation; an older delta was folded into the base
 * already and is ignored; a newer one means the base was replaced between
 * the two opens, and the reader opens the base again. So a reader never
 * sees a change undone, whatever the interleaving with a writer.
 *
 * FILE LAYOUT (host byte order, tagged so another order is refused; all
 * offsets from the start of the file):
 *
 *   header   struct cb_db_header: magic, version, byte-order tag, header
 *            and record sizes, n_records, n_slots, max_probe, kind,
 *            file_size, the offsets of the four sections below, the string
 *            table size, the generation (bumped by every write of the
 *            file) and, in a delta, the base's generation.
 *   records  n_records struct cb_db_record, 96 bytes each.
 *   by name  n_slots uint32 (a power of two, >= 2 * n_records): open
 *            addressing with linear probing from cb_db_name_hash(name);
 *            0 marks an empty slot, else record index + 1.
 *   by uid   the same, from cb_db_uid_hash(uid).
 *   strings  starts with a NUL (the empty string is {0, 0}); each string is
 *            followed by a NUL and holds none, except the groups blob
 *            whose names are NUL-separated.
 *
 * A lookup is one hash, at most max_probe + 1 slots and one record: a
 * process touches a handful of pages whatever the size of the file. The
 * writer records the longest probe sequence (a few dozen at half load) and
 * doubles the tables when it exceeds CB_DB_MAX_PROBE.
 *
 * STRINGS (checked by the writer before it writes and by the reader every
 * time it hands a record out): text as text.h defines it (no control
 * bytes); gecos, home and shell also without ':' (passwd(5) fields); home
 * and shell absolute paths; the name a valid local name (names.h); each
 * within the CB_DB_MAX_* bound below.
 *
 * VERSIONS: version 1 (header 96 bytes, kind always 0, no delta) also kept
 * the sub, the last login time and every CloudBase group of the last login
 * in each record. Version 2 keeps last_login 0, holds the e-mail address
 * where version 1 held the sub, and groups holds only the groups group_map
 * maps (what NSS initgroups needs). Readers accept both; the first writer
 * that touches a version 1 database moves its login data to the state
 * store and writes version 2 (accountdb.c).
 */
#ifndef CB_ACCOUNTDB_FORMAT_H
#define CB_ACCOUNTDB_FORMAT_H

#include <stdint.h>

#include "hash.h"

#define CB_DB_MAGIC "CBACCDB\n" /* 8 bytes, no NUL */
#define CB_DB_VERSION 2u
#define CB_DB_VERSION_1 1u
#define CB_DB_ENDIAN 0x01020304u /* as the writing host stored it */

#define CB_DB_DELTA_SUFFIX ".delta"
#define CB_DB_LOCK_SUFFIX ".lock"
#define CB_DB_TEMP_INFIX ".tmp-" /* then mkostemp's six characters */

/* Hard limits the reader enforces, so a hostile header cannot make it
 * allocate, loop or index beyond what a sane database needs. */
#define CB_DB_MAX_RECORDS (1u << 24) /* 16 M accounts */
#define CB_DB_MAX_SLOTS (4u * CB_DB_MAX_RECORDS) /* per index */
#define CB_DB_MAX_PROBE 1024u /* longest probe sequence a reader follows */
#define CB_DB_MAX_SIZE ((size_t)1 << 32) /* 4 GiB */
#define CB_DB_MAX_GECOS 1024
#define CB_DB_MAX_PATH 4095
#define CB_DB_MAX_LOGIN 320
#define CB_DB_MAX_SUB 256 /* version 1 records only */
#define CB_DB_MAX_EMAIL 254 /* RFC 5321's path limit less its brackets */
#define CB_DB_MAX_PHONE 23
#define CB_DB_MAX_GROUP 256 /* one CloudBase group name */
#define CB_DB_MAX_GROUPS 1024 /* names in one record's groups */
#define CB_DB_MAX_GROUPS_BLOB (64 * 1024)

/* A delta is folded into a new base when it holds more records than
 * this many, or than an eighth of the base (at least CB_DB_DELTA_MIN):
 * a write costs at most ~CB_DB_DELTA_MAX records, and the occasional full
 * rewrite is spread over at least that many changes. */
#define CB_DB_DELTA_MIN 64u
#define CB_DB_DELTA_MAX 1024u
/* A login's change of mapped groups folds only past this many times the
 * bound: a fold of 1,000,000 accounts takes seconds under the lock, which
 * no login should wait for; the next cloudbasectl write folds instead.
 * Readers look delta records up by their own index, so a longer delta
 * costs them nothing. */
#define CB_DB_DELTA_LOGIN_FACTOR 4u

/* header.kind */
#define CB_DB_KIND_BASE 0u
#define CB_DB_KIND_DELTA 1u

/* record flags */
#define CB_DB_F_UID_PROBED 0x1u /* the hashed uid was taken: probed onwards */
#define CB_DB_F_UID_FROM_SUB 0x2u /* the uid was hashed from the sub, not the login */
#define CB_DB_F_DELETED 0x4u /* delta only: the name (and its uid) is removed */
#define CB_DB_F_KNOWN 0x7u

struct cb_db_header {
	char magic[8];
	uint32_t version;
	uint32_t endian;
	uint32_t header_size; /* 96 in version 1, sizeof(struct cb_db_header) in 2 */
	uint32_t record_size; /* sizeof(struct cb_db_record) */
	uint32_t n_records;
	uint32_t n_slots; /* per index; a power of two, >= 2 * n_records */
	uint32_t max_probe; /* longest probe sequence in either index */
	uint32_t kind; /* CB_DB_KIND_*; 0 ("reserved") in version 1 */
	uint64_t file_size; /* must equal the size of the file */
	uint64_t records_off;
	uint64_t name_index_off; /* n_slots uint32_t: 0 empty, else record + 1 */
	uint64_t uid_index_off; /* same */
	uint64_t strings_off;
	uint64_t strings_size;
	uint64_t generation; /* bumped by every write of this file */
	/* version 2 only: */
	uint64_t base_generation; /* delta: the base's generation; base: 0 */
};

#define CB_DB_HEADER_V1_SIZE 96u

/* A string in the string table: bytes [off, off + len) followed by a NUL. */
struct cb_db_str {
	uint32_t off;
	uint32_t len;
};

struct cb_db_record {
	int64_t created;
	int64_t last_login; /* version 1 only; 0 in version 2 */
	uint32_t uid;
	uint32_t gid; /* == uid, never 0 */
	uint32_t flags; /* CB_DB_F_* */
	uint32_t n_groups;
	struct cb_db_str name;
	struct cb_db_str gecos;
	struct cb_db_str home;
	struct cb_db_str shell;
	struct cb_db_str login;
	struct cb_db_str phone; /* empty: none */
	/* version 2: the e-mail address (empty: none); version 1: the bound sub */
	struct cb_db_str email_or_sub;
	struct cb_db_str groups; /* n_groups NUL-terminated names back to back */
};

_Static_assert(sizeof(struct cb_db_header) == CB_DB_HEADER_V1_SIZE + 8, "header layout");
_Static_assert(sizeof(struct cb_db_record) == 96, "record layout");

/* Hashes of the two indexes. Fixed forever for a format version. */
static inline uint32_t cb_db_name_hash(const char *s, size_t len)
{
	uint64_t h = cb_fnv1a64(s, len);

	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t cb_db_uid_hash(uint32_t uid)
{
	/* Fibonacci hashing: consecutive uids spread over the table */
	return (uint32_t)(((uint64_t)uid * 0x9e3779b97f4a7c15ull) >> 32);
}

#endif
