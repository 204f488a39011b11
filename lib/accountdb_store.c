/* SPDX-License-Identifier: BSD-3-Clause */
/* Storage of the account database: records in memory, the file image,
 * and the one read-modify-write cycle every change goes through (lock,
 * read, edit, write a new file, fsync, rename, fsync the directory). The
 * format is described at the top of accountdb.c.
 */
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

#include "accountdb.h"
#include "accountdb_format.h"
#include "accountdb_map.h"
#include "accountdb_store.h"
#include "idmap.h"

#define LOCK_WAIT_MS 10000 /* a login waits this long for another writer */
#define TEMP_INFIX ".tmp-" /* "<db>.tmp-XXXXXX": a write in progress */

void (*cb_accountdb_test_hook)(const char *stage);

static void hook(const char *stage)
{
	if (cb_accountdb_test_hook != NULL)
		cb_accountdb_test_hook(stage);
}

/* ---- records in memory ---- */

void cb_account_free(struct cb_account *acct)
{
	if (acct == NULL)
		return;
	free(acct->name);
	free(acct->gecos);
	free(acct->home);
	free(acct->shell);
	free(acct->login);
	free(acct->phone);
	free(acct->sub);
	for (size_t i = 0; acct->groups != NULL && i < acct->n_groups; i++)
		free(acct->groups[i]);
	free(acct->groups);
	memset(acct, 0, sizeof(*acct));
}

void cb_account_list_free(struct cb_account *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		cb_account_free(&list[i]);
	free(list);
}

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
	a->flags = r->flags;
	a->created = r->created;
	a->last_login = r->last_login;
	a->name = strndup(r->name, r->name_len);
	a->gecos = strndup(r->gecos, r->gecos_len);
	a->home = strndup(r->home, r->home_len);
	a->shell = strndup(r->shell, r->shell_len);
	a->login = strndup(r->login, r->login_len);
	a->phone = dup_or_null(r->phone, r->phone_len);
	a->sub = dup_or_null(r->sub, r->sub_len);
	if (a->name == NULL || a->gecos == NULL || a->home == NULL || a->shell == NULL ||
	    a->login == NULL || (r->phone_len && a->phone == NULL) ||
	    (r->sub_len && a->sub == NULL))
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

int cb_store_text_ok(const char *s, size_t max, int no_colon)
{
	size_t len = strnlen(s, max + 1);

	if (len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (no_colon && c == ':'))
			return 0;
	}
	return 1;
}

static int path_ok(const char *s)
{
	return s != NULL && s[0] == '/' && cb_store_text_ok(s, CB_DB_MAX_PATH, 1);
}

int cb_store_group_name_ok(const char *g)
{
	return g != NULL && g[0] != '\0' && cb_store_text_ok(g, CB_DB_MAX_GROUP, 0);
}

cb_status cb_store_check_account(const struct cb_account *a, const struct cb_log *log)
{
	const char *bad = NULL;
	size_t blob = 0;

	if (!cb_valid_local_name(a->name))
		bad = "name";
	else if (a->login == NULL || a->login[0] == '\0' ||
		 !cb_store_text_ok(a->login, CB_DB_MAX_LOGIN, 0))
		bad = "login";
	else if (a->gecos != NULL && !cb_store_text_ok(a->gecos, CB_DB_MAX_GECOS, 1))
		bad = "gecos";
	else if (!path_ok(a->home))
		bad = "home";
	else if (!path_ok(a->shell))
		bad = "shell";
	else if (a->phone != NULL && !cb_store_text_ok(a->phone, CB_DB_MAX_PHONE, 0))
		bad = "phone";
	else if (a->sub != NULL && !cb_store_text_ok(a->sub, CB_DB_MAX_SUB, 0))
		bad = "sub";
	else if (a->uid == 0 || a->gid != a->uid || cb_idmap_reserved(a->uid))
		bad = "uid";
	else if (a->n_groups > CB_MAX_GROUPS)
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

	memset(d, 0, sizeof(*d));
	d->created = a->created;
	d->last_login = a->last_login;
	d->uid = a->uid;
	d->gid = a->gid;
	d->flags = a->flags & CB_DB_F_KNOWN;
	d->n_groups = (uint32_t)a->n_groups;
	if ((rc = strtab_str(t, a->name, &d->name)) != CB_OK ||
	    (rc = strtab_str(t, a->gecos, &d->gecos)) != CB_OK ||
	    (rc = strtab_str(t, a->home, &d->home)) != CB_OK ||
	    (rc = strtab_str(t, a->shell, &d->shell)) != CB_OK ||
	    (rc = strtab_str(t, a->login, &d->login)) != CB_OK ||
	    (rc = strtab_str(t, a->phone, &d->phone)) != CB_OK ||
	    (rc = strtab_str(t, a->sub, &d->sub)) != CB_OK)
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
static cb_status image_assemble(const struct image *im, uint64_t generation, unsigned char **out,
				size_t *outlen)
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
	h.records_off = sizeof(h);
	h.name_index_off = h.records_off + (uint64_t)im->n * sizeof(*im->recs);
	h.uid_index_off = h.name_index_off + idx_bytes;
	h.strings_off = h.uid_index_off + idx_bytes;
	h.strings_size = im->t.len;
	h.file_size = h.strings_off + im->t.len;
	h.generation = generation;
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
static cb_status serialise(const struct cb_account *accts, size_t n, uint64_t generation,
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
		rc = image_assemble(&im, generation, out, outlen);
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

static cb_status ensure_dir(const char *dir, const struct cb_log *log)
{
	struct stat st;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		cb_log(log, LOG_ERR, "%s: cannot create: %s", dir, strerror(errno));
		return CB_ERR_SYSTEM;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cb_log(log, LOG_ERR, "%s: not a directory", dir);
		return CB_ERR_UNSAFE_FILE;
	}
	/* someone else able to write here could swap the database */
	if (st.st_uid != 0 || (st.st_mode & 022) != 0) {
		cb_log(log, LOG_ERR, "%s: directory not owned by root or writable by others", dir);
		return CB_ERR_UNSAFE_FILE;
	}
	return CB_OK;
}

static cb_status write_all(int fd, const unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CB_ERR_SYSTEM;
		done += (size_t)w;
		if (done >= len / 2 && done - (size_t)w < len / 2)
			hook("temp-partial");
	}
	return CB_OK;
}

static cb_status fsync_dir(const char *dir, const struct cb_log *log)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cb_status rc = CB_OK;

	if (fd < 0 || fsync(fd) != 0) {
		cb_log(log, LOG_ERR, "%s: fsync: %s", dir, strerror(errno));
		rc = CB_ERR_SYSTEM;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* New file beside the old one, then rename(): readers see one or the other. */
/* The caller of su or login sets the resource limits: with a file size
 * limit below the new file, write(2) would raise SIGXFSZ and kill the
 * whole process in the middle of the PAM stack (leaving a temp file).
 * Refuse before writing instead. */
static cb_status check_fsize_limit(size_t len, const struct cb_log *log)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)len)
		return CB_OK;
	cb_log(log, LOG_ERR,
	       "the file size limit (%llu bytes) is below the account database's %zu bytes: not "
	       "written",
	       (unsigned long long)rl.rlim_cur, len);
	return CB_ERR_SYSTEM;
}

static cb_status replace_file(const char *path, const unsigned char *buf, size_t len,
			      const struct cb_log *log)
{
	char *tmp = NULL, *dir = NULL;
	cb_status rc;
	int fd = -1;

	rc = check_fsize_limit(len, log);
	if (rc != CB_OK)
		return rc;
	rc = dir_of(path, &dir);
	if (rc == CB_OK && asprintf(&tmp, "%s" TEMP_INFIX "XXXXXX", path) < 0) {
		tmp = NULL;
		rc = CB_ERR_NOMEM;
	}
	if (rc == CB_OK) {
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			cb_log(log, LOG_ERR, "%s: cannot create: %s", tmp, strerror(errno));
			free(tmp);
			tmp = NULL;
			rc = CB_ERR_SYSTEM;
		}
	}
	if (rc == CB_OK &&
	    (fchmod(fd, 0644) != 0 || write_all(fd, buf, len) != CB_OK || fsync(fd) != 0)) {
		cb_log(log, LOG_ERR, "%s: write: %s", tmp, strerror(errno));
		rc = CB_ERR_SYSTEM;
	}
	if (fd >= 0 && close(fd) != 0 && rc == CB_OK)
		rc = CB_ERR_SYSTEM;
	if (rc == CB_OK) {
		hook("temp-written");
		if (rename(tmp, path) != 0) {
			cb_log(log, LOG_ERR, "%s: rename: %s", path, strerror(errno));
			rc = CB_ERR_SYSTEM;
		}
	}
	if (rc != CB_OK && tmp != NULL)
		unlink(tmp);
	if (rc == CB_OK) {
		hook("renamed");
		rc = fsync_dir(dir, log);
	}
	free(tmp);
	free(dir);
	return rc;
}

/* Under the lock no other writer is running, so a "<db>.tmp-XXXXXX" left
 * in the directory is the temp file of a writer that was killed: remove it. */
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
		    strncmp(rest, TEMP_INFIX, strlen(TEMP_INFIX)) == 0 &&
		    strlen(rest + strlen(TEMP_INFIX)) == 6) /* mkostemp's XXXXXX */
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
out:
	free(copy);
	free(dir);
}

/* flock on "<db>.lock", waiting at most LOCK_WAIT_MS. */
static cb_status lock_db(const char *path, int *fdp, const struct cb_log *log)
{
	char *lockpath = NULL;
	struct timespec pause = {0, 2 * 1000 * 1000};
	int fd;

	*fdp = -1;
	if (asprintf(&lockpath, "%s.lock", path) < 0)
		return CB_ERR_NOMEM;
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		cb_log(log, LOG_ERR, "%s: %s", lockpath, strerror(errno));
		free(lockpath);
		return CB_ERR_SYSTEM;
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 2) {
		int e = errno;

		if ((e != EWOULDBLOCK && e != EINTR) || waited >= LOCK_WAIT_MS) {
			cb_log(log, LOG_ERR, "%s: cannot lock: %s", lockpath,
			       e == EWOULDBLOCK ? "held by another writer" : strerror(e));
			close(fd);
			free(lockpath);
			return e == EWOULDBLOCK ? CB_ERR_BUSY : CB_ERR_SYSTEM;
		}
		nanosleep(&pause, NULL);
	}
	free(lockpath);
	*fdp = fd;
	hook("locked");
	remove_stale_temps(path);
	return CB_OK;
}

static void unlock_db(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Every record of the file at path; an absent file is an empty database. */
cb_status cb_store_load(const char *path, struct cb_account **out, size_t *n, uint64_t *gen,
			const struct cb_log *log)
{
	struct cb_dbmap m;
	struct cb_account *list = NULL;
	cb_status rc;

	*out = NULL;
	*n = 0;
	*gen = 0;
	/* no database yet is the normal start, not worth a log line */
	if (lstat(path, &(struct stat){0}) != 0 && errno == ENOENT)
		return CB_OK;
	rc = cb_dbmap_open(&m, path, log);
	if (rc == CB_ERR_NOT_FOUND)
		return CB_OK;
	if (rc != CB_OK)
		return rc;
	rc = cb_dbmap_verify(&m, log);
	if (rc == CB_OK && m.n_records > 0) {
		list = calloc(m.n_records, sizeof(*list));
		if (list == NULL)
			rc = CB_ERR_NOMEM;
	}
	for (uint32_t i = 0; rc == CB_OK && i < m.n_records; i++) {
		struct cb_dbrec r;

		rc = cb_dbmap_get(&m, i, &r);
		if (rc == CB_OK)
			rc = cb_store_account_from_rec(&r, &list[i]);
		if (rc == CB_OK)
			*n = i + 1;
	}
	*gen = m.generation;
	cb_dbmap_close(&m);
	if (rc != CB_OK) {
		cb_account_list_free(list, *n);
		*n = 0;
		return rc;
	}
	*out = list;
	return CB_OK;
}

/* One read-modify-write under the lock: see accountdb_store.h. */
cb_status cb_store_transact(const char *path, bool load, cb_store_edit_fn edit, void *arg,
			    const struct cb_log *log)
{
	struct cb_account *list = NULL;
	unsigned char *img = NULL;
	size_t n = 0, len = 0;
	uint64_t gen = 0;
	char *dir = NULL;
	cb_status rc;
	int lockfd = -1;

	rc = dir_of(path, &dir);
	if (rc == CB_OK)
		rc = ensure_dir(dir, log);
	free(dir);
	if (rc == CB_OK)
		rc = lock_db(path, &lockfd, log);
	if (rc == CB_OK && load)
		rc = cb_store_load(path, &list, &n, &gen, log);
	if (rc == CB_OK)
		rc = edit(&list, &n, arg, log);
	if (rc == CB_OK)
		rc = serialise(list, n, gen + 1, &img, &len, log);
	if (rc == CB_OK)
		rc = replace_file(path, img, len, log);
	unlock_db(lockfd);
	free(img);
	cb_account_list_free(list, n);
	return rc;
}

static bool sdup(const char *s, char **out)
{
	*out = s != NULL ? strdup(s) : NULL;
	return s == NULL || *out != NULL;
}

static cb_status copy_account(const struct cb_account *src, struct cb_account *dst)
{
	*dst = *src;
	dst->groups = NULL;
	dst->n_groups = 0;
	if (!sdup(src->name, &dst->name) | !sdup(src->gecos, &dst->gecos) |
	    !sdup(src->home, &dst->home) | !sdup(src->shell, &dst->shell) |
	    !sdup(src->login, &dst->login) | !sdup(src->phone, &dst->phone) |
	    !sdup(src->sub, &dst->sub))
		goto nomem;
	if (src->n_groups > 0) {
		dst->groups = calloc(src->n_groups, sizeof(char *));
		if (dst->groups == NULL)
			goto nomem;
		for (; dst->n_groups < src->n_groups; dst->n_groups++)
			if (!sdup(src->groups[dst->n_groups], &dst->groups[dst->n_groups]))
				goto nomem;
	}
	return CB_OK;
nomem:
	cb_account_free(dst);
	return CB_ERR_NOMEM;
}

cb_status cb_store_append(struct cb_account **list, size_t *n, const struct cb_account *a)
{
	struct cb_account *p = realloc(*list, (*n + 1) * sizeof(**list));

	if (p == NULL)
		return CB_ERR_NOMEM;
	*list = p;
	if (copy_account(a, &p[*n]) != CB_OK)
		return CB_ERR_NOMEM;
	(*n)++;
	return CB_OK;
}
