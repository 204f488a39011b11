/* SPDX-License-Identifier: BSD-3-Clause */
/* The write side of the account database: see accountdb_store.h; the
 * format is accountdb_format.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accountdb_format.h"
#include "accountdb_map.h"
#include "accountdb_store.h"
#include "fileutil.h"
#include "idmap.h"
#include "names.h"
#include "text.h"

/* ---- records in memory ---- */

static char *dup_or_null(const char *s, size_t len)
{
	return len == 0 ? NULL : strndup(s, len);
}

cb_status cb_store_account_from_rec(const struct cb_dbrec *r, struct cb_account *a)
{
	size_t pos = 0;
	const char *g;

	memset(a, 0, sizeof(*a));
	a->uid = r->uid;
	a->gid = r->gid;
	a->flags = r->flags; /* the same bits: CB_DB_F_* == CB_ACCT_* */
	a->created = r->created;
	a->legacy_last_login = r->last_login;
	a->name = strndup(r->name, r->name_len);
	a->gecos = strndup(r->gecos, r->gecos_len);
	a->home = strndup(r->home, r->home_len);
	a->shell = strndup(r->shell, r->shell_len);
	a->login = strndup(r->login, r->login_len);
	a->phone = dup_or_null(r->phone, r->phone_len);
	a->email = dup_or_null(r->email, r->email_len);
	a->legacy_sub = dup_or_null(r->sub, r->sub_len);
	if (a->name == NULL || a->gecos == NULL || a->home == NULL || a->shell == NULL ||
	    a->login == NULL || (r->phone_len && a->phone == NULL) ||
	    (r->email_len && a->email == NULL) || (r->sub_len && a->legacy_sub == NULL))
		goto nomem;
	if (r->n_groups > 0) {
		a->groups = calloc(r->n_groups, sizeof(*a->groups));
		if (a->groups == NULL)
			goto nomem;
		while ((g = cb_dbrec_next_group(r, &pos)) != NULL && a->n_groups < r->n_groups) {
			a->groups[a->n_groups] = strdup(g);
			if (a->groups[a->n_groups] == NULL)
				goto nomem;
			a->n_groups++;
		}
	}
	return CB_OK;
nomem:
	cb_account_free(a);
	return CB_ERR_NOMEM;
}

/* ---- checks of what is written ---- */

static bool path_ok(const char *s)
{
	return s != NULL && s[0] == '/' && cb_text_str_ok(s, CB_DB_MAX_PATH, CB_TEXT_PASSWD);
}

bool cb_store_group_name_ok(const char *g)
{
	return g != NULL && g[0] != '\0' && cb_text_str_ok(g, CB_DB_MAX_GROUP, CB_TEXT_ANY);
}

cb_status cb_store_check_account(const struct cb_account *a, const struct cb_log *log)
{
	const char *bad = NULL;
	size_t blob = 0;

	if (!cb_valid_local_name(a->name))
		bad = "name";
	else if (a->uid == 0 || a->gid != a->uid || cb_idmap_reserved(a->uid))
		bad = "uid";
	else if (a->flags & CB_ACCT_DELETED)
		return CB_OK; /* a removal: the name and the uid are all there is */
	else if (a->login == NULL || a->login[0] == '\0' ||
		 !cb_text_str_ok(a->login, CB_DB_MAX_LOGIN, CB_TEXT_ANY))
		bad = "login";
	else if (a->gecos != NULL && !cb_text_str_ok(a->gecos, CB_DB_MAX_GECOS, CB_TEXT_PASSWD))
		bad = "gecos";
	else if (!path_ok(a->home))
		bad = "home";
	else if (!path_ok(a->shell))
		bad = "shell";
	else if (a->phone != NULL && !cb_text_str_ok(a->phone, CB_DB_MAX_PHONE, CB_TEXT_ANY))
		bad = "phone";
	else if (a->email != NULL && !cb_valid_email(a->email))
		bad = "email";
	else if (a->n_groups > CB_DB_MAX_GROUPS)
		bad = "groups";
	for (size_t i = 0; bad == NULL && i < a->n_groups; i++) {
		if (!cb_store_group_name_ok(a->groups[i]))
			bad = "group";
		else
			blob += strlen(a->groups[i]) + 1;
	}
	if (bad == NULL && blob > CB_DB_MAX_GROUPS_BLOB)
		bad = "groups";
	if (bad != NULL) {
		cb_log(log, LOG_ERR, "account %s: invalid %s", a->name ? a->name : "(none)", bad);
		return CB_ERR_INPUT;
	}
	return CB_OK;
}

/* ---- serialising ---- */

struct strtab {
	char *buf;
	size_t len, cap;
};

static cb_status strtab_put(struct strtab *t, const void *s, size_t len, struct cb_db_str *out)
{
	if (len == 0) {
		out->off = 0;
		out->len = 0;
		return CB_OK;
	}
	if (t->len + len + 1 > UINT32_MAX)
		return CB_ERR_INPUT;
	if (t->len + len + 1 > t->cap) {
		size_t cap = (t->cap ? t->cap : 4096);
		char *p;

		while (cap < t->len + len + 1)
			cap *= 2;
		p = realloc(t->buf, cap);
		if (p == NULL)
			return CB_ERR_NOMEM;
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, len);
	t->buf[t->len + len] = '\0';
	out->off = (uint32_t)t->len;
	out->len = (uint32_t)len;
	t->len += len + 1;
	return CB_OK;
}

static cb_status strtab_str(struct strtab *t, const char *s, struct cb_db_str *out)
{
	return strtab_put(t, s != NULL ? s : "", s != NULL ? strlen(s) : 0, out);
}

static cb_status put_groups(struct strtab *t, const struct cb_account *a, struct cb_db_str *out)
{
	size_t len = 0, o = 0;
	char *blob;
	cb_status rc;

	for (size_t i = 0; i < a->n_groups; i++)
		len += strlen(a->groups[i]) + 1;
	if (len == 0)
		return strtab_put(t, "", 0, out);
	blob = malloc(len);
	if (blob == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < a->n_groups; i++) {
		size_t l = strlen(a->groups[i]) + 1;

		memcpy(blob + o, a->groups[i], l);
		o += l;
	}
	rc = strtab_put(t, blob, len, out);
	free(blob);
	return rc;
}

static cb_status fill_record(struct strtab *t, const struct cb_account *a, struct cb_db_record *d)
{
	cb_status rc;

	/* version 2: last_login and sub stay empty (the state store has them) */
	memset(d, 0, sizeof(*d));
	d->created = a->created;
	d->uid = a->uid;
	d->gid = a->gid;
	d->flags = a->flags & CB_DB_F_KNOWN;
	if (a->flags & CB_ACCT_DELETED)
		return strtab_str(t, a->name, &d->name);
	d->n_groups = (uint32_t)a->n_groups;
	if ((rc = strtab_str(t, a->name, &d->name)) != CB_OK ||
	    (rc = strtab_str(t, a->gecos, &d->gecos)) != CB_OK ||
	    (rc = strtab_str(t, a->home, &d->home)) != CB_OK ||
	    (rc = strtab_str(t, a->shell, &d->shell)) != CB_OK ||
	    (rc = strtab_str(t, a->login, &d->login)) != CB_OK ||
	    (rc = strtab_str(t, a->phone, &d->phone)) != CB_OK ||
	    (rc = strtab_str(t, a->email, &d->email_or_sub)) != CB_OK)
		return rc;
	return put_groups(t, a, &d->groups);
}

/* Insert record idx into an index; CB_ERR_EXISTS on a duplicate key. */
static cb_status index_insert(uint32_t *ix, uint32_t mask, uint32_t pos, uint32_t idx,
			      const struct cb_db_record *recs, const struct strtab *t, int by_uid,
			      uint32_t *max_probe)
{
	for (uint32_t i = 0;; i++, pos = (pos + 1) & mask) {
		const struct cb_db_record *o;

		if (ix[pos] == 0) {
			ix[pos] = idx + 1;
			if (i > *max_probe)
				*max_probe = i;
			return CB_OK;
		}
		o = &recs[ix[pos] - 1];
		if (by_uid ? o->uid == recs[idx].uid
			   : (o->name.len == recs[idx].name.len &&
			      memcmp(t->buf + o->name.off, t->buf + recs[idx].name.off,
				     o->name.len) == 0))
			return CB_ERR_EXISTS;
	}
}

/* The parts of a file image while it is built. */
struct image {
	struct strtab t;
	struct cb_db_record *recs;
	uint32_t *nix, *uix; /* the name and uid indexes */
	uint32_t n, slots, max_probe;
};

static void image_free(struct image *im)
{
	free(im->recs);
	free(im->nix);
	free(im->uix);
	free(im->t.buf);
}

/* Room for n records, indexes at most half full, a string table whose
 * first byte is the NUL every empty string points at. */
static cb_status image_alloc(struct image *im, size_t n)
{
	memset(im, 0, sizeof(*im));
	if (n > CB_DB_MAX_RECORDS)
		return CB_ERR_INPUT;
	im->n = (uint32_t)n;
	im->slots = 2;
	while (im->slots / 2 < im->n)
		im->slots *= 2;
	im->recs = calloc(n ? n : 1, sizeof(*im->recs));
	im->nix = calloc(im->slots, sizeof(*im->nix));
	im->uix = calloc(im->slots, sizeof(*im->uix));
	im->t.buf = malloc(4096);
	if (im->recs == NULL || im->nix == NULL || im->uix == NULL || im->t.buf == NULL)
		return CB_ERR_NOMEM;
	im->t.cap = 4096;
	im->t.buf[0] = '\0';
	im->t.len = 1;
	return CB_OK;
}

static cb_status image_records(struct image *im, const struct cb_account *accts,
			       const struct cb_log *log)
{
	cb_status rc = CB_OK;

	for (uint32_t i = 0; rc == CB_OK && i < im->n; i++) {
		rc = cb_store_check_account(&accts[i], log);
		if (rc == CB_OK)
			rc = fill_record(&im->t, &accts[i], &im->recs[i]);
	}
	return rc;
}

static cb_status build_indexes(struct image *im, const struct cb_log *log)
{
	const uint32_t mask = im->slots - 1;
	cb_status rc = CB_OK;

	im->max_probe = 0;
	memset(im->nix, 0, (size_t)im->slots * sizeof(*im->nix));
	memset(im->uix, 0, (size_t)im->slots * sizeof(*im->uix));
	for (uint32_t i = 0; rc == CB_OK && i < im->n; i++) {
		const struct cb_db_record *d = &im->recs[i];

		rc = index_insert(im->nix, mask,
				  cb_db_name_hash(im->t.buf + d->name.off, d->name.len) & mask, i,
				  im->recs, &im->t, 0, &im->max_probe);
		if (rc == CB_OK)
			rc = index_insert(im->uix, mask, cb_db_uid_hash(d->uid) & mask, i, im->recs,
					  &im->t, 1, &im->max_probe);
		if (rc == CB_ERR_EXISTS)
			cb_log(log, LOG_ERR, "account %s: name or uid %u used twice",
			       im->t.buf + d->name.off, d->uid);
	}
	return rc;
}

/* Both indexes; a probe sequence longer than readers accept (unlucky
 * clustering) makes the tables twice as large and sparser. */
static cb_status image_indexes(struct image *im, const struct cb_log *log)
{
	cb_status rc = build_indexes(im, log);

	for (int grow = 0; rc == CB_OK && im->max_probe > CB_DB_MAX_PROBE; grow++) {
		uint32_t *nix, *uix;

		if (grow == 4 || im->slots >= CB_DB_MAX_SLOTS) {
			cb_log(log, LOG_ERR, "account database: index probes too long");
			return CB_ERR_INPUT;
		}
		nix = realloc(im->nix, (size_t)im->slots * 2 * sizeof(*nix));
		if (nix != NULL)
			im->nix = nix;
		uix = realloc(im->uix, (size_t)im->slots * 2 * sizeof(*uix));
		if (uix != NULL)
			im->uix = uix;
		if (nix == NULL || uix == NULL)
			return CB_ERR_NOMEM;
		im->slots *= 2;
		rc = build_indexes(im, log);
	}
	return rc;
}

/* Header, records, name index, uid index, strings: one malloc'd buffer. */
/* What the header says of the file besides its contents. */
struct file_id {
	uint32_t kind; /* CB_DB_KIND_* */
	uint64_t generation;
	uint64_t base_generation; /* a delta's base */
};

static cb_status image_assemble(const struct image *im, const struct file_id *id,
				unsigned char **out, size_t *outlen)
{
	const size_t idx_bytes = (size_t)im->slots * sizeof(uint32_t);
	struct cb_db_header h;
	unsigned char *buf;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, CB_DB_MAGIC, sizeof(h.magic));
	h.version = CB_DB_VERSION;
	h.endian = CB_DB_ENDIAN;
	h.header_size = sizeof(h);
	h.record_size = sizeof(struct cb_db_record);
	h.n_records = im->n;
	h.n_slots = im->slots;
	h.max_probe = im->max_probe;
	h.kind = id->kind;
	h.records_off = sizeof(h);
	h.name_index_off = h.records_off + (uint64_t)im->n * sizeof(*im->recs);
	h.uid_index_off = h.name_index_off + idx_bytes;
	h.strings_off = h.uid_index_off + idx_bytes;
	h.strings_size = im->t.len;
	h.file_size = h.strings_off + im->t.len;
	h.generation = id->generation;
	h.base_generation = id->base_generation;
	buf = malloc((size_t)h.file_size);
	if (buf == NULL)
		return CB_ERR_NOMEM;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + h.records_off, im->recs, (size_t)im->n * sizeof(*im->recs));
	memcpy(buf + h.name_index_off, im->nix, idx_bytes);
	memcpy(buf + h.uid_index_off, im->uix, idx_bytes);
	memcpy(buf + h.strings_off, im->t.buf, im->t.len);
	*out = buf;
	*outlen = (size_t)h.file_size;
	return CB_OK;
}

/* The whole file image of accts in one malloc'd buffer. */
static cb_status serialise(const struct cb_account *accts, size_t n, const struct file_id *id,
			   unsigned char **out, size_t *outlen, const struct cb_log *log)
{
	struct image im;
	cb_status rc;

	*out = NULL;
	rc = image_alloc(&im, n);
	if (rc == CB_OK)
		rc = image_records(&im, accts, log);
	if (rc == CB_OK)
		rc = image_indexes(&im, log);
	if (rc == CB_OK)
		rc = image_assemble(&im, id, out, outlen);
	image_free(&im);
	return rc;
}

/* ---- files ---- */

static cb_status dir_of(const char *path, char **dir)
{
	char *copy = strdup(path);

	*dir = NULL;
	if (copy == NULL)
		return CB_ERR_NOMEM;
	*dir = strdup(dirname(copy));
	free(copy);
	return *dir != NULL ? CB_OK : CB_ERR_NOMEM;
}

static char *suffixed(const char *path, const char *suffix)
{
	char *p = NULL;

	return asprintf(&p, "%s%s", path, suffix) < 0 ? NULL : p;
}

/* Write one file of the database: the base at path, or its delta. */
static cb_status write_file(const char *path, const char *suffix, const struct cb_account *accts,
			    size_t n, const struct file_id *id, const struct cb_log *log)
{
	char *target = suffixed(path, suffix), *prefix = suffixed(path, CB_DB_TEMP_INFIX);
	unsigned char *img = NULL;
	size_t len = 0;
	cb_status rc = target != NULL && prefix != NULL ? CB_OK : CB_ERR_NOMEM;

	if (rc == CB_OK)
		rc = serialise(accts, n, id, &img, &len, log);
	if (rc == CB_OK)
		rc = cb_replace_file(target, prefix, img, len, 0644, log);
	free(img);
	free(target);
	free(prefix);
	return rc;
}

/* Under the lock no other writer is running, so a "<db>.tmp-XXXXXX" left
 * in the directory is the temporary file of a writer that was killed. */
static void remove_stale_temps(const char *path)
{
	char *copy = strdup(path), *dir = NULL;
	const char *base;
	size_t blen;
	DIR *d;
	struct dirent *e;

	if (copy == NULL || dir_of(path, &dir) != CB_OK)
		goto out;
	base = basename(copy);
	blen = strlen(base);
	d = opendir(dir);
	if (d == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		const char *rest = e->d_name + blen;

		if (strncmp(e->d_name, base, blen) == 0 &&
		    strncmp(rest, CB_DB_TEMP_INFIX, strlen(CB_DB_TEMP_INFIX)) == 0 &&
		    strlen(rest + strlen(CB_DB_TEMP_INFIX)) == 6) /* mkostemp's XXXXXX */
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
out:
	free(copy);
	free(dir);
}

/* The directory (root's, 0755: every process reads the database), then the
 * writers' lock "<db>.lock". */
static cb_status lock_db(const char *path, unsigned wait_ms, int *fdp, const struct cb_log *log)
{
	char *dir = NULL, *lockpath = NULL;
	cb_status rc = dir_of(path, &dir);

	*fdp = -1;
	if (rc == CB_OK)
		rc = cb_ensure_dir(dir, 0755, false, log);
	if (rc == CB_OK && (lockpath = suffixed(path, CB_DB_LOCK_SUFFIX)) == NULL)
		rc = CB_ERR_NOMEM;
	if (rc == CB_OK)
		rc = cb_lock_file(lockpath, wait_ms, fdp, log);
	if (rc == CB_OK)
		remove_stale_temps(path);
	free(lockpath);
	free(dir);
	return rc;
}

static void unlock_db(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ---- reading whole lists ---- */

static cb_status append_rec(struct cb_account **list, size_t *n, size_t *cap,
			    const struct cb_dbrec *r)
{
	if (*n == *cap) {
		size_t c = *cap != 0 ? *cap * 2 : 64;
		struct cb_account *p = realloc(*list, c * sizeof(*p));

		if (p == NULL)
			return CB_ERR_NOMEM;
		*list = p;
		*cap = c;
	}
	if (cb_store_account_from_rec(r, &(*list)[*n]) != CB_OK)
		return CB_ERR_NOMEM;
	(*n)++;
	return CB_OK;
}

/* Every record of one mapped file (removals included, for a delta). */
static cb_status load_map(const struct cb_dbmap *m, struct cb_account **out, size_t *n,
			  const struct cb_log *log)
{
	size_t cap = 0;
	cb_status rc = m->base != NULL ? cb_dbmap_verify(m, log) : CB_OK;

	*out = NULL;
	*n = 0;
	for (uint32_t i = 0; rc == CB_OK && i < m->n_records; i++) {
		struct cb_dbrec r;

		rc = cb_dbmap_get(m, i, &r);
		if (rc == CB_OK)
			rc = append_rec(out, n, &cap, &r);
	}
	if (rc != CB_OK) {
		cb_account_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* Every account the view shows, delta applied. */
static cb_status load_view(const struct cb_dbview *v, struct cb_account **out, size_t *n,
			   const struct cb_log *log)
{
	uint64_t end = cb_dbview_positions(v);
	size_t cap = 0;
	cb_status rc = CB_OK;

	*out = NULL;
	*n = 0;
	if (v->base.base != NULL)
		rc = cb_dbmap_verify(&v->base, log);
	if (rc == CB_OK && v->use_delta)
		rc = cb_dbmap_verify(&v->delta, log);
	for (uint64_t pos = 0; rc == CB_OK && pos < end; pos++) {
		struct cb_dbrec r;
		bool skip;

		rc = cb_dbview_get(v, pos, &r, &skip);
		if (rc == CB_OK && !skip)
			rc = append_rec(out, n, &cap, &r);
	}
	if (rc != CB_OK) {
		cb_account_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* The database at path; an absent base is an empty database of
 * generation 0. */
static cb_status open_view(const char *path, struct cb_dbview *v, const struct cb_log *log)
{
	cb_status rc = cb_dbview_open(v, path, log);

	if (rc == CB_ERR_NOT_FOUND) {
		memset(v, 0, sizeof(*v));
		v->delta_absent = true;
		return CB_OK;
	}
	return rc;
}

cb_status cb_store_load(const char *path, struct cb_account **out, size_t *n,
			const struct cb_log *log)
{
	struct cb_dbview v;
	cb_status rc = open_view(path, &v, log);

	*out = NULL;
	*n = 0;
	if (rc == CB_OK)
		rc = load_view(&v, out, n, log);
	cb_dbview_close(&v);
	return rc;
}

/* ---- the change transaction ---- */

static struct cb_account *delta_find(struct cb_dbtx *tx, const char *name)
{
	for (size_t i = 0; i < tx->n_delta; i++)
		if (strcmp(tx->delta[i].name, name) == 0)
			return &tx->delta[i];
	return NULL;
}

cb_status cb_dbtx_get(struct cb_dbtx *tx, const char *name, struct cb_account *out)
{
	const struct cb_account *d = delta_find(tx, name);
	struct cb_dbrec r;
	cb_status rc;

	memset(out, 0, sizeof(*out));
	if (d != NULL)
		return (d->flags & CB_ACCT_DELETED) ? CB_ERR_NOT_FOUND : cb_account_copy(d, out);
	rc = cb_dbmap_find_name(&tx->view.base, name, &r);
	return rc == CB_OK ? cb_store_account_from_rec(&r, out) : rc;
}

bool cb_dbtx_uid_used(struct cb_dbtx *tx, uint32_t uid, const char *for_name)
{
	struct cb_dbrec r;
	cb_status rc;

	for (size_t i = 0; i < tx->n_delta; i++)
		if (tx->delta[i].uid == uid)
			return for_name == NULL || strcmp(tx->delta[i].name, for_name) != 0;
	/* a corrupt slot counts as used: never hand out a doubtful uid */
	rc = cb_dbmap_find_uid(&tx->view.base, uid, &r);
	if (rc == CB_OK && for_name != NULL && strlen(for_name) == r.name_len &&
	    memcmp(r.name, for_name, r.name_len) == 0)
		return false;
	return rc != CB_ERR_NOT_FOUND;
}

static cb_status delta_set(struct cb_dbtx *tx, const struct cb_account *a)
{
	struct cb_account *slot = delta_find(tx, a->name), copy;

	if (cb_account_copy(a, &copy) != CB_OK)
		return CB_ERR_NOMEM;
	if (slot == NULL) {
		struct cb_account *p = realloc(tx->delta, (tx->n_delta + 1) * sizeof(*p));

		if (p == NULL) {
			cb_account_free(&copy);
			return CB_ERR_NOMEM;
		}
		tx->delta = p;
		slot = &tx->delta[tx->n_delta++];
	} else {
		cb_account_free(slot);
	}
	*slot = copy;
	tx->changed = true;
	return CB_OK;
}

cb_status cb_dbtx_put(struct cb_dbtx *tx, const struct cb_account *a, const struct cb_log *log)
{
	struct cb_account cur;
	cb_status rc = cb_store_check_account(a, log);

	if (rc != CB_OK)
		return rc;
	/* a uid is never reassigned, and another account's uid never taken */
	rc = cb_dbtx_get(tx, a->name, &cur);
	if (rc == CB_OK && cur.uid != a->uid)
		rc = CB_ERR_EXISTS;
	else if (rc == CB_ERR_NOT_FOUND)
		rc = cb_dbtx_uid_used(tx, a->uid, a->name) ? CB_ERR_EXISTS : CB_OK;
	cb_account_free(&cur);
	if (rc == CB_ERR_EXISTS)
		cb_log(log, LOG_ERR, "account %s: uid %u is another account's", a->name, a->uid);
	if (rc != CB_OK)
		return rc;
	return delta_set(tx, a);
}

cb_status cb_dbtx_remove(struct cb_dbtx *tx, const char *name)
{
	struct cb_account cur, gone;
	struct cb_dbrec r;
	cb_status rc = cb_dbtx_get(tx, name, &cur);

	if (rc != CB_OK)
		return rc;
	memset(&gone, 0, sizeof(gone));
	gone.name = cur.name;
	gone.uid = gone.gid = cur.uid;
	gone.flags = CB_ACCT_DELETED;
	if (cb_dbmap_find_name(&tx->view.base, name, &r) == CB_OK) {
		rc = delta_set(tx, &gone); /* the base has it: say it is gone */
	} else {
		/* added since the base: forgetting it is enough */
		struct cb_account *d = delta_find(tx, name);

		if (d != NULL) {
			cb_account_free(d);
			*d = tx->delta[--tx->n_delta];
			tx->changed = true;
		}
	}
	cb_account_free(&cur);
	return rc;
}

static uint32_t delta_bound(uint32_t base_records)
{
	uint32_t b = base_records / 8;

	return b < CB_DB_DELTA_MIN ? CB_DB_DELTA_MIN : b > CB_DB_DELTA_MAX ? CB_DB_DELTA_MAX : b;
}

/* The base positions the delta replaces or removes, as a bitmap: one
 * lookup in the base's name index per delta record. (Searching the delta
 * for every base record instead cost 1,000,000 x 1,024 name comparisons, 4 s
 * of a 6.5 s fold.) The base is verified: a name is found at its own
 * position, once. */
static cb_status replaced_positions(struct cb_dbtx *tx, unsigned char **out)
{
	unsigned char *bits = calloc((size_t)tx->view.base.n_records / 8 + 1, 1);

	*out = bits;
	if (bits == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < tx->n_delta; i++) {
		struct cb_dbrec r;
		cb_status rc = cb_dbmap_find_name(&tx->view.base, tx->delta[i].name, &r);

		if (rc == CB_OK)
			bits[r.index / 8] |= (unsigned char)(1u << (r.index % 8));
		else if (rc != CB_ERR_NOT_FOUND)
			return rc;
	}
	return CB_OK;
}

/* Fold the view and the delta being built into a new base. */
static cb_status write_base_from(const char *path, struct cb_dbtx *tx, const struct cb_log *log)
{
	struct cb_account *list = NULL;
	unsigned char *replaced = NULL;
	size_t n = 0, cap = 0;
	struct file_id id = {CB_DB_KIND_BASE, tx->view.base.generation + 1, 0};
	uint64_t end = tx->view.base.n_records;
	cb_status rc = tx->view.base.base != NULL ? cb_dbmap_verify(&tx->view.base, log) : CB_OK;

	if (rc == CB_OK)
		rc = replaced_positions(tx, &replaced);
	for (uint64_t pos = 0; rc == CB_OK && pos < end; pos++) {
		struct cb_dbrec r;

		if (replaced[pos / 8] & (1u << (pos % 8)))
			continue;
		rc = cb_dbmap_get(&tx->view.base, (uint32_t)pos, &r);
		if (rc == CB_OK)
			rc = append_rec(&list, &n, &cap, &r);
	}
	free(replaced);
	for (size_t i = 0; rc == CB_OK && i < tx->n_delta; i++) {
		if (tx->delta[i].flags & CB_ACCT_DELETED)
			continue;
		if (n == cap) {
			struct cb_account *p =
				realloc(list, (cap = cap ? cap * 2 : 64) * sizeof(*p));

			if (p == NULL) {
				rc = CB_ERR_NOMEM;
				break;
			}
			list = p;
		}
		rc = cb_account_copy(&tx->delta[i], &list[n]);
		if (rc == CB_OK)
			n++;
	}
	/* the old delta stays: its base generation is now older than the
	 * base's, so readers ignore it (and one that still holds the old base
	 * sees the pair it opened) */
	if (rc == CB_OK)
		rc = write_file(path, "", list, n, &id, log);
	cb_account_list_free(list, n);
	return rc;
}

static cb_status commit_change(const char *path, struct cb_dbtx *tx, const struct cb_log *log)
{
	struct file_id id = {CB_DB_KIND_DELTA, 1, tx->view.base.generation};
	uint32_t bound = delta_bound(tx->view.base.n_records);

	/* readers need a base to apply a delta to: the first write makes one */
	if (tx->view.base.base == NULL ||
	    tx->n_delta > (tx->login ? CB_DB_DELTA_LOGIN_FACTOR * bound : bound))
		return write_base_from(path, tx, log);
	if (tx->view.use_delta)
		id.generation = tx->view.delta.generation + 1;
	return write_file(path, CB_DB_DELTA_SUFFIX, tx->delta, tx->n_delta, &id, log);
}

/* A version 1 base: its login data goes to the state store (ops->migrate),
 * then it is rewritten as version 2. Runs under the lock. */
static cb_status migrate_v1(const char *path, struct cb_dbview *v, const struct cb_store_ops *ops,
			    const struct cb_log *log)
{
	struct cb_account *list = NULL;
	size_t n = 0;
	struct file_id id = {CB_DB_KIND_BASE, v->base.generation + 1, 0};
	cb_status rc = load_view(v, &list, &n, log);

	if (rc == CB_OK && ops != NULL && ops->migrate != NULL)
		rc = ops->migrate(list, n, ops->arg, log);
	if (rc == CB_OK)
		rc = write_file(path, "", list, n, &id, log);
	if (rc == CB_OK)
		cb_log(log, LOG_NOTICE, "%s: %zu accounts moved to format version %u", path, n,
		       CB_DB_VERSION);
	cb_account_list_free(list, n);
	cb_dbview_close(v);
	return rc == CB_OK ? open_view(path, v, log) : rc;
}

/* Lock, open the view, migrate a version 1 base. */
static cb_status begin(const char *path, unsigned wait_ms, const struct cb_store_ops *ops,
		       struct cb_dbview *v, int *lockfd, const struct cb_log *log)
{
	cb_status rc = lock_db(path, wait_ms, lockfd, log);

	memset(v, 0, sizeof(*v));
	if (rc == CB_OK)
		rc = open_view(path, v, log);
	if (rc == CB_OK && v->base.base != NULL && v->base.version == CB_DB_VERSION_1)
		rc = migrate_v1(path, v, ops, log);
	return rc;
}

cb_status cb_store_change(const char *path, unsigned lock_wait_ms, cb_store_change_fn edit,
			  void *arg, const struct cb_store_ops *ops, const struct cb_log *log)
{
	struct cb_dbtx tx;
	int lockfd = -1;
	cb_status rc;

	memset(&tx, 0, sizeof(tx));
	rc = begin(path, lock_wait_ms, ops, &tx.view, &lockfd, log);
	if (rc == CB_OK && tx.view.use_delta)
		rc = load_map(&tx.view.delta, &tx.delta, &tx.n_delta, log);
	if (rc == CB_OK && ops != NULL && ops->pending != NULL)
		rc = ops->pending(&tx, ops->arg, log);
	if (rc == CB_OK)
		rc = edit(&tx, arg, log);
	if (rc == CB_OK && tx.changed)
		rc = commit_change(path, &tx, log);
	if (rc == CB_OK && ops != NULL && ops->committed != NULL)
		ops->committed(ops->arg, tx.changed);
	unlock_db(lockfd);
	cb_account_list_free(tx.delta, tx.n_delta);
	cb_dbview_close(&tx.view);
	return rc;
}

cb_status cb_store_rewrite(const char *path, unsigned lock_wait_ms, bool load,
			   cb_store_rewrite_fn edit, void *arg, const struct cb_store_ops *ops,
			   const struct cb_log *log)
{
	struct cb_dbview v;
	struct cb_account *list = NULL;
	size_t n = 0;
	struct file_id id = {CB_DB_KIND_BASE, 1, 0};
	int lockfd = -1;
	cb_status rc = begin(path, lock_wait_ms, ops, &v, &lockfd, log);

	if (rc == CB_OK && load)
		rc = load_view(&v, &list, &n, log);
	if (rc == CB_OK)
		rc = edit(&list, &n, arg, log);
	if (rc == CB_OK) {
		id.generation = v.base.generation + 1;
		rc = write_file(path, "", list, n, &id, log);
	}
	if (rc == CB_OK && ops != NULL && ops->committed != NULL)
		ops->committed(ops->arg, true);
	unlock_db(lockfd);
	cb_account_list_free(list, n);
	cb_dbview_close(&v);
	return rc;
}
