/* SPDX-License-Identifier: BSD-3-Clause */
/* The on-disk layout of the account database, shared by the writer
 * (accountdb.c) and the allocation-free reader (accountdb_map.c).
 * See the comment block at the top of accountdb.c and nss_cloudbase(8).
 * Internal: nothing outside lib/ includes this file.
 */
#ifndef CB_ACCOUNTDB_FORMAT_H
#define CB_ACCOUNTDB_FORMAT_H

#include <stdint.h>

#define CB_DB_MAGIC "CBACCDB\n" /* 8 bytes, no NUL */
#define CB_DB_VERSION 1u
#define CB_DB_ENDIAN 0x01020304u /* as the writing host stored it */

/* Hard limits the reader enforces, so a hostile header cannot make it
 * allocate, loop or index beyond what a sane database needs. */
#define CB_DB_MAX_RECORDS (1u << 24) /* 16 M accounts */
#define CB_DB_MAX_SLOTS (4u * CB_DB_MAX_RECORDS) /* per index */
#define CB_DB_MAX_PROBE 1024u /* longest probe sequence a reader follows */
#define CB_DB_MAX_SIZE ((size_t)1 << 32) /* 4 GiB */
#define CB_DB_MAX_GECOS 1024
#define CB_DB_MAX_PATH 4095
#define CB_DB_MAX_LOGIN 320
#define CB_DB_MAX_SUB 256
#define CB_DB_MAX_PHONE 23
#define CB_DB_MAX_GROUP 256 /* one CloudBase group name */
#define CB_DB_MAX_GROUPS_BLOB (64 * 1024)

/* record flags */
#define CB_DB_F_UID_PROBED 0x1u /* the hashed uid was taken: probed onwards */
#define CB_DB_F_UID_FROM_SUB 0x2u /* the uid was hashed from the sub, not the login */
#define CB_DB_F_KNOWN 0x3u

struct cb_db_header {
	char magic[8];
	uint32_t version;
	uint32_t endian;
	uint32_t header_size; /* sizeof(struct cb_db_header) */
	uint32_t record_size; /* sizeof(struct cb_db_record) */
	uint32_t n_records;
	uint32_t n_slots; /* per index; a power of two, >= 2 * n_records */
	uint32_t max_probe; /* longest probe sequence in either index */
	uint32_t reserved; /* 0 */
	uint64_t file_size; /* must equal the size of the file */
	uint64_t records_off;
	uint64_t name_index_off; /* n_slots uint32_t: 0 empty, else record + 1 */
	uint64_t uid_index_off; /* same */
	uint64_t strings_off;
	uint64_t strings_size;
	uint64_t generation; /* incremented by every write */
};

/* A string in the string table: bytes [off, off + len) followed by a NUL.
 * The table starts with a NUL, so the empty string is {0, 0}. */
struct cb_db_str {
	uint32_t off;
	uint32_t len;
};

struct cb_db_record {
	int64_t created;
	int64_t last_login;
	uint32_t uid;
	uint32_t gid;
	uint32_t flags;
	uint32_t n_groups;
	struct cb_db_str name;
	struct cb_db_str gecos;
	struct cb_db_str home;
	struct cb_db_str shell;
	struct cb_db_str login;
	struct cb_db_str phone; /* empty: none */
	struct cb_db_str sub; /* empty: not bound yet */
	struct cb_db_str groups; /* n_groups NUL-terminated names back to back */
};

_Static_assert(sizeof(struct cb_db_header) == 96, "header layout");
_Static_assert(sizeof(struct cb_db_record) == 96, "record layout");

/* Hashes of the two indexes. Fixed forever for a format version. */
static inline uint32_t cb_db_name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static inline uint32_t cb_db_uid_hash(uint32_t uid)
{
	/* Fibonacci hashing: consecutive uids spread over the table */
	return (uint32_t)(((uint64_t)uid * 0x9e3779b97f4a7c15ull) >> 32);
}

#endif
