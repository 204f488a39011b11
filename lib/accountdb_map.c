/* SPDX-License-Identifier: BSD-3-Clause */
/* The read side of the account database: see accountdb_map.h and the
 * format, accountdb_format.h.
 *
 * Nothing here allocates, and nothing trusts the file: the header is
 * checked once at open (geometry, every section inside the file), and each
 * record is checked in full every time it is handed out (string bounds and
 * terminators, characters, name rules, uid). Probe loops are bounded by the
 * header's max_probe, itself at most CB_DB_MAX_PROBE, so a hostile index
 * (a loop, every slot full, slots pointing anywhere) ends in NOT_FOUND or
 * CORRUPT, never in a hang or another user's record.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "fileutil.h"
#include "names.h"
#include "text.h"

static const struct cb_db_header *header(const struct cb_dbmap *m)
{
	return (const struct cb_db_header *)(const void *)m->base;
}

/* Is [off, off + len) inside a file of size bytes? Overflow-safe. */
static bool section_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The header's own size: version 1 ended before base_generation. */
static uint32_t header_size_of(uint32_t version)
{
	return version == CB_DB_VERSION_1 ? CB_DB_HEADER_V1_SIZE
					  : (uint32_t)sizeof(struct cb_db_header);
}

static cb_status check_header(struct cb_dbmap *m, const char *path, uint32_t kind,
			      const struct cb_log *log)
{
	const struct cb_db_header *h = header(m);
	const char *why = NULL;
	uint64_t rec_bytes, idx_bytes, hsize = 0;

	if (m->size < CB_DB_HEADER_V1_SIZE)
		why = "shorter than its header";
	else if (memcmp(h->magic, CB_DB_MAGIC, sizeof(h->magic)) != 0)
		why = "bad magic";
	else if (h->version != CB_DB_VERSION && h->version != CB_DB_VERSION_1)
		why = "unsupported format version";
	else if (h->endian != CB_DB_ENDIAN)
		why = "written on a host of another byte order";
	else if ((hsize = header_size_of(h->version)) > m->size)
		why = "shorter than its version's header";
	else if (h->header_size != hsize || h->record_size != sizeof(struct cb_db_record))
		why = "unexpected header or record size";
	else if (h->kind != kind || (kind == CB_DB_KIND_DELTA && h->version == CB_DB_VERSION_1))
		why = kind == CB_DB_KIND_DELTA ? "not a delta" : "not a base file";
	else if (h->file_size != m->size)
		why = "size differs from its header (truncated?)";
	else if (h->n_records > CB_DB_MAX_RECORDS)
		why = "too many records";
	else if (h->n_slots < 2 || (h->n_slots & (h->n_slots - 1)) != 0 ||
		 h->n_slots / 2 < h->n_records || h->n_slots > CB_DB_MAX_SLOTS)
		why = "bad index size";
	else if (h->max_probe >= h->n_slots || h->max_probe > CB_DB_MAX_PROBE)
		why = "bad probe bound";
	if (why == NULL) {
		rec_bytes = (uint64_t)h->n_records * sizeof(struct cb_db_record);
		idx_bytes = (uint64_t)h->n_slots * sizeof(uint32_t);
		if (h->records_off % 8 != 0 || h->name_index_off % 4 != 0 ||
		    h->uid_index_off % 4 != 0)
			why = "misaligned section";
		else if (h->records_off < hsize || h->name_index_off < hsize ||
			 h->uid_index_off < hsize || h->strings_off < hsize)
			why = "section overlaps the header";
		else if (!section_ok(h->records_off, rec_bytes, m->size) ||
			 !section_ok(h->name_index_off, idx_bytes, m->size) ||
			 !section_ok(h->uid_index_off, idx_bytes, m->size) ||
			 !section_ok(h->strings_off, h->strings_size, m->size))
			why = "section outside the file";
		else if (h->strings_size < 1 || h->strings_size > UINT32_MAX ||
			 m->base[h->strings_off] != '\0')
			why = "bad string table";
	}
	if (why != NULL) {
		cb_log(log, LOG_ERR, "%s: corrupt account database: %s", path, why);
		return CB_ERR_CORRUPT;
	}
	m->version = h->version;
	m->kind = h->kind;
	m->n_records = h->n_records;
	m->n_slots = h->n_slots;
	m->max_probe = h->max_probe;
	m->generation = h->generation;
	m->base_generation = h->version == CB_DB_VERSION_1 ? 0 : h->base_generation;
	return CB_OK;
}

/* Map the open file fd, which st describes. */
static cb_status map_fd(struct cb_dbmap *m, int fd, const struct stat *st, const char *path,
			uint32_t kind, const struct cb_log *log)
{
	void *p;
	cb_status rc;

	if (!S_ISREG(st->st_mode) || st->st_size < (off_t)sizeof(struct cb_db_header) ||
	    (unsigned long long)st->st_size > CB_DB_MAX_SIZE) {
		cb_log(log, LOG_ERR, "%s: corrupt account database: bad file size", path);
		return CB_ERR_CORRUPT;
	}
	p = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		cb_log(log, LOG_ERR, "%s: mmap: %s", path, cb_strerror(errno));
		return errno == ENOMEM ? CB_ERR_NOMEM : CB_ERR_SYSTEM;
	}
	m->base = p;
	m->size = (size_t)st->st_size;
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	m->mtime = st->st_mtim;
	m->ctime = st->st_ctim;
	rc = check_header(m, path, kind, log);
	if (rc != CB_OK)
		cb_dbmap_close(m);
	return rc;
}

cb_status cb_dbmap_open_fd(struct cb_dbmap *m, int fd, const char *path, uint32_t kind,
			   const struct cb_log *log)
{
	struct stat st;

	memset(m, 0, sizeof(*m));
	if (fstat(fd, &st) != 0) {
		cb_log(log, LOG_ERR, "%s: fstat: %s", path, cb_strerror(errno));
		return CB_ERR_SYSTEM;
	}
	return map_fd(m, fd, &st, path, kind, log);
}

cb_status cb_dbmap_open(struct cb_dbmap *m, const char *path, uint32_t kind,
			const struct cb_log *log)
{
	struct stat st;
	cb_status rc;
	int fd;

	memset(m, 0, sizeof(*m));
	/* one fstat: the one that judged the file is the one mapped */
	/* its writers refuse a sticky directory: so does every reader, or
	 * NSS would serve accounts no sign-in can update */
	rc = cb_open_trusted(path, CB_TRUST_MAY_BE_ABSENT | CB_TRUST_WRITTEN_DIR, CB_DB_MAX_SIZE,
			     &fd, &st, log);
	if (rc != CB_OK)
		return rc;
	rc = map_fd(m, fd, &st, path, kind, log);
	close(fd); /* the mapping keeps the file */
	return rc;
}

void cb_dbmap_close(struct cb_dbmap *m)
{
	if (m->base != NULL)
		munmap((void *)(uintptr_t)m->base, m->size);
	memset(m, 0, sizeof(*m));
}

bool cb_dbmap_stale(const struct cb_dbmap *m, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return true;
	return st.st_dev != m->dev || st.st_ino != m->ino || (size_t)st.st_size != m->size ||
	       st.st_mtim.tv_sec != m->mtime.tv_sec || st.st_mtim.tv_nsec != m->mtime.tv_nsec ||
	       st.st_ctim.tv_sec != m->ctime.tv_sec || st.st_ctim.tv_nsec != m->ctime.tv_nsec;
}

/* A string of the table: in bounds, NUL right after it and none inside. */
static bool get_str(const struct cb_dbmap *m, struct cb_db_str ds, size_t max, const char **s,
		    size_t *len)
{
	const struct cb_db_header *h = header(m);
	const char *tab = (const char *)m->base + h->strings_off;

	if (ds.len > max || ds.off >= h->strings_size || ds.len >= h->strings_size - ds.off)
		return false;
	if (tab[ds.off + ds.len] != '\0' || memchr(tab + ds.off, '\0', ds.len) != NULL)
		return false;
	*s = tab + ds.off;
	*len = ds.len;
	return true;
}

static bool groups_ok(const char *blob, size_t len, uint32_t n)
{
	uint32_t seen = 0;
	size_t start = 0;

	if (n > CB_DB_MAX_GROUPS)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (blob[i] != '\0')
			continue;
		if (i == start || i - start > CB_DB_MAX_GROUP ||
		    !cb_text_ok(blob + start, i - start, CB_TEXT_ANY))
			return false;
		seen++;
		start = i + 1;
	}
	/* every name, the last one too, ends with its own NUL */
	return start == len && seen == n;
}

/* The table string has no NUL inside; the blob has them as separators, so
 * it is checked for bounds and the final terminator only. */
static bool get_blob(const struct cb_dbmap *m, struct cb_db_str ds, const char **s, size_t *len)
{
	const struct cb_db_header *h = header(m);
	const char *tab = (const char *)m->base + h->strings_off;

	if (ds.len > CB_DB_MAX_GROUPS_BLOB || ds.off >= h->strings_size ||
	    ds.len >= h->strings_size - ds.off || tab[ds.off + ds.len] != '\0')
		return false;
	*s = tab + ds.off;
	*len = ds.len;
	return true;
}

static bool name_ok(const char *s, size_t len)
{
	return len >= 1 && len <= CB_NAME_MAX && cb_valid_local_name(s);
}

static cb_status view_record(const struct cb_dbmap *m, uint32_t idx, struct cb_dbrec *r)
{
	const struct cb_db_header *h = header(m);
	const struct cb_db_record *d;
	bool v1 = m->version == CB_DB_VERSION_1;

	if (idx >= m->n_records)
		return CB_ERR_CORRUPT;
	d = (const struct cb_db_record *)(const void *)(m->base + h->records_off) + idx;
	memset(r, 0, sizeof(*r));
	r->sub = r->email = "";
	r->index = idx;
	r->uid = d->uid;
	r->gid = d->gid;
	r->flags = d->flags;
	r->created = d->created;
	r->last_login = d->last_login;
	r->n_groups = d->n_groups;
	/* uid 0 or a shared gid from a damaged file must never reach a caller */
	if (r->uid == 0 || r->gid != r->uid || r->uid == UINT32_MAX || (r->flags & ~CB_DB_F_KNOWN))
		return CB_ERR_CORRUPT;
	if ((r->flags & CB_DB_F_DELETED) && m->kind != CB_DB_KIND_DELTA)
		return CB_ERR_CORRUPT;
	/* version 2 keeps login data in the state store, never here */
	if (m->version != CB_DB_VERSION_1 && d->last_login != 0)
		return CB_ERR_CORRUPT;
	if (!get_str(m, d->name, CB_NAME_MAX, &r->name, &r->name_len) ||
	    !name_ok(r->name, r->name_len) ||
	    !get_str(m, d->gecos, CB_DB_MAX_GECOS, &r->gecos, &r->gecos_len) ||
	    !cb_text_ok(r->gecos, r->gecos_len, CB_TEXT_PASSWD) ||
	    !get_str(m, d->home, CB_DB_MAX_PATH, &r->home, &r->home_len) ||
	    !cb_text_ok(r->home, r->home_len, CB_TEXT_PASSWD) ||
	    !get_str(m, d->shell, CB_DB_MAX_PATH, &r->shell, &r->shell_len) ||
	    !cb_text_ok(r->shell, r->shell_len, CB_TEXT_PASSWD) ||
	    !get_str(m, d->login, CB_DB_MAX_LOGIN, &r->login, &r->login_len) ||
	    !cb_text_ok(r->login, r->login_len, CB_TEXT_ANY) ||
	    !get_str(m, d->phone, CB_DB_MAX_PHONE, &r->phone, &r->phone_len) ||
	    !cb_text_ok(r->phone, r->phone_len, CB_TEXT_ANY) ||
	    !get_str(m, d->email_or_sub, v1 ? CB_DB_MAX_SUB : CB_DB_MAX_EMAIL,
		     v1 ? &r->sub : &r->email, v1 ? &r->sub_len : &r->email_len) ||
	    !cb_text_ok(v1 ? r->sub : r->email, v1 ? r->sub_len : r->email_len, CB_TEXT_ANY) ||
	    !get_blob(m, d->groups, &r->groups, &r->groups_len) ||
	    !groups_ok(r->groups, r->groups_len, r->n_groups))
		return CB_ERR_CORRUPT;
	return CB_OK;
}

cb_status cb_dbmap_get(const struct cb_dbmap *m, uint32_t idx, struct cb_dbrec *out)
{
	if (m->base == NULL)
		return CB_ERR_NOT_FOUND;
	if (idx >= m->n_records)
		return CB_ERR_NOT_FOUND;
	return view_record(m, idx, out);
}

static const uint32_t *name_index(const struct cb_dbmap *m)
{
	return (const uint32_t *)(const void *)(m->base + header(m)->name_index_off);
}

static const uint32_t *uid_index(const struct cb_dbmap *m)
{
	return (const uint32_t *)(const void *)(m->base + header(m)->uid_index_off);
}

/* Slot value to record index: 0 is an empty slot (end of the chain). */
static cb_status slot_record(const struct cb_dbmap *m, uint32_t v, uint32_t *idx)
{
	if (v == 0)
		return CB_ERR_NOT_FOUND;
	if (v > m->n_records)
		return CB_ERR_CORRUPT;
	*idx = v - 1;
	return CB_OK;
}

cb_status cb_dbmap_find_name(const struct cb_dbmap *m, const char *name, struct cb_dbrec *out)
{
	const struct cb_db_header *h;
	const uint32_t *ix;
	uint32_t mask, pos;
	size_t len;

	if (m->base == NULL || name == NULL)
		return CB_ERR_NOT_FOUND;
	len = strnlen(name, CB_NAME_MAX + 1);
	if (len == 0 || len > CB_NAME_MAX || m->n_records == 0)
		return CB_ERR_NOT_FOUND;
	h = header(m);
	ix = name_index(m);
	mask = m->n_slots - 1;
	pos = cb_db_name_hash(name, len) & mask;
	for (uint32_t i = 0; i <= m->max_probe; i++, pos = (pos + 1) & mask) {
		const struct cb_db_record *d;
		const char *s;
		size_t slen;
		uint32_t idx;
		cb_status rc = slot_record(m, ix[pos], &idx);

		if (rc != CB_OK)
			return rc;
		/* compare before the full check: a probe passes other records */
		d = (const struct cb_db_record *)(const void *)(m->base + h->records_off) + idx;
		if (!get_str(m, d->name, CB_NAME_MAX, &s, &slen))
			return CB_ERR_CORRUPT;
		if (slen != len || memcmp(s, name, len) != 0)
			continue;
		rc = view_record(m, idx, out);
		return rc;
	}
	return CB_ERR_NOT_FOUND;
}

cb_status cb_dbmap_find_uid(const struct cb_dbmap *m, uint32_t uid, struct cb_dbrec *out)
{
	const struct cb_db_header *h;
	const uint32_t *ix;
	uint32_t mask, pos;

	if (m->base == NULL || uid == 0 || m->n_records == 0)
		return CB_ERR_NOT_FOUND;
	h = header(m);
	ix = uid_index(m);
	mask = m->n_slots - 1;
	pos = cb_db_uid_hash(uid) & mask;
	for (uint32_t i = 0; i <= m->max_probe; i++, pos = (pos + 1) & mask) {
		const struct cb_db_record *d;
		uint32_t idx;
		cb_status rc = slot_record(m, ix[pos], &idx);

		if (rc != CB_OK)
			return rc;
		d = (const struct cb_db_record *)(const void *)(m->base + h->records_off) + idx;
		if (d->uid != uid)
			continue;
		return view_record(m, idx, out);
	}
	return CB_ERR_NOT_FOUND;
}

cb_status cb_dbmap_verify(const struct cb_dbmap *m, const struct cb_log *log)
{
	struct cb_dbrec r, f;

	if (m->base == NULL)
		return CB_ERR_NOT_FOUND;
	for (uint32_t i = 0; i < m->n_records; i++) {
		cb_status rc = view_record(m, i, &r);

		if (rc != CB_OK) {
			cb_log(log, LOG_ERR, "account database: record %u is corrupt", i);
			return CB_ERR_CORRUPT;
		}
		/* each record must be reachable, and be the one found, by both keys:
		 * this also catches duplicate names and uids */
		if (cb_dbmap_find_name(m, r.name, &f) != CB_OK || f.index != i ||
		    cb_dbmap_find_uid(m, r.uid, &f) != CB_OK || f.index != i) {
			cb_log(log, LOG_ERR,
			       "account database: record %u (%s) is not indexed right or "
			       "duplicated",
			       i, r.name);
			return CB_ERR_CORRUPT;
		}
	}
	return CB_OK;
}

const char *cb_dbrec_next_group(const struct cb_dbrec *r, size_t *pos)
{
	const char *g;

	if (*pos >= r->groups_len)
		return NULL;
	g = r->groups + *pos;
	*pos += strlen(g) + 1;
	return g;
}

/* ---- the view: base + delta ---- */

#define VIEW_OPEN_TRIES 4

static bool delta_path(const char *path, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s%s", path, CB_DB_DELTA_SUFFIX);

	return n > 0 && (size_t)n < outsz;
}

cb_status cb_dbview_open(struct cb_dbview *v, const char *path, const struct cb_log *log)
{
	char dpath[4096 + sizeof(CB_DB_DELTA_SUFFIX)];
	cb_status rc = CB_ERR_CORRUPT;

	memset(v, 0, sizeof(*v));
	if (!delta_path(path, dpath, sizeof(dpath)))
		return CB_ERR_CONFIG;
	for (int i = 0; i < VIEW_OPEN_TRIES; i++) {
		rc = cb_dbmap_open(&v->base, path, CB_DB_KIND_BASE, log);
		if (rc != CB_OK)
			return rc;
		rc = cb_dbmap_open(&v->delta, dpath, CB_DB_KIND_DELTA, log);
		if (rc == CB_ERR_NOT_FOUND) {
			v->delta_absent = true;
			return CB_OK;
		}
		if (rc != CB_OK)
			break;
		if (v->delta.base_generation <= v->base.generation) {
			/* an older delta was folded into this base already */
			v->use_delta = v->delta.base_generation == v->base.generation;
			return CB_OK;
		}
		/* the base was replaced after we opened it: open it again */
		cb_dbview_close(v);
		rc = CB_ERR_CORRUPT;
	}
	cb_log(log, LOG_ERR, "%s: %s", path,
	       rc == CB_ERR_CORRUPT ? "corrupt account database: delta of another base"
				    : "the delta cannot be used");
	cb_dbview_close(v);
	return rc;
}

void cb_dbview_close(struct cb_dbview *v)
{
	cb_dbmap_close(&v->base);
	cb_dbmap_close(&v->delta);
	v->use_delta = false;
	v->delta_absent = false;
}

bool cb_dbview_stale(const struct cb_dbview *v, const char *path)
{
	char dpath[4096 + sizeof(CB_DB_DELTA_SUFFIX)];
	struct stat st;

	if (cb_dbmap_stale(&v->base, path) || !delta_path(path, dpath, sizeof(dpath)))
		return true;
	if (v->delta_absent)
		return stat(dpath, &st) == 0 || errno != ENOENT;
	return cb_dbmap_stale(&v->delta, dpath);
}

/* What the delta says of a name: CB_OK with its record, CB_ERR_NOT_FOUND
 * when it removes the name (*removed) or has nothing on it. */
static cb_status delta_name(const struct cb_dbview *v, const char *name, struct cb_dbrec *out,
			    bool *removed)
{
	cb_status rc;

	*removed = false;
	if (!v->use_delta)
		return CB_ERR_NOT_FOUND;
	rc = cb_dbmap_find_name(&v->delta, name, out);
	if (rc == CB_OK && (out->flags & CB_DB_F_DELETED)) {
		*removed = true;
		return CB_ERR_NOT_FOUND;
	}
	return rc;
}

cb_status cb_dbview_find_name(const struct cb_dbview *v, const char *name, struct cb_dbrec *out)
{
	bool removed;
	cb_status rc = delta_name(v, name, out, &removed);

	if (rc != CB_ERR_NOT_FOUND || removed)
		return rc;
	return cb_dbmap_find_name(&v->base, name, out);
}

cb_status cb_dbview_find_uid(const struct cb_dbview *v, uint32_t uid, struct cb_dbrec *out)
{
	struct cb_dbrec d;
	bool removed;
	cb_status rc;

	if (v->use_delta) {
		rc = cb_dbmap_find_uid(&v->delta, uid, out);
		if (rc == CB_OK)
			return (out->flags & CB_DB_F_DELETED) ? CB_ERR_NOT_FOUND : CB_OK;
		if (rc != CB_ERR_NOT_FOUND)
			return rc;
	}
	rc = cb_dbmap_find_uid(&v->base, uid, out);
	if (rc != CB_OK)
		return rc;
	/* the base's record may be replaced (same uid: found above) or removed */
	rc = delta_name(v, out->name, &d, &removed);
	if (rc == CB_ERR_NOT_FOUND)
		return removed ? CB_ERR_NOT_FOUND : CB_OK;
	return rc == CB_OK ? CB_ERR_CORRUPT : rc; /* a name may not change its uid */
}

uint64_t cb_dbview_positions(const struct cb_dbview *v)
{
	return (uint64_t)v->base.n_records + (v->use_delta ? v->delta.n_records : 0);
}

cb_status cb_dbview_get(const struct cb_dbview *v, uint64_t pos, struct cb_dbrec *out, bool *skip)
{
	struct cb_dbrec d;
	bool removed;
	cb_status rc;

	*skip = false;
	if (pos >= cb_dbview_positions(v))
		return CB_ERR_NOT_FOUND;
	if (pos >= v->base.n_records) {
		rc = cb_dbmap_get(&v->delta, (uint32_t)(pos - v->base.n_records), out);
		*skip = rc == CB_OK && (out->flags & CB_DB_F_DELETED);
		return rc;
	}
	rc = cb_dbmap_get(&v->base, (uint32_t)pos, out);
	if (rc != CB_OK)
		return rc;
	rc = delta_name(v, out->name, &d, &removed);
	/* replaced or removed: the delta's own position gives the record */
	*skip = rc == CB_OK || removed;
	return rc == CB_ERR_NOT_FOUND || rc == CB_OK ? CB_OK : rc;
}
