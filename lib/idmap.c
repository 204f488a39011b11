/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

uint64_t cb_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint32_t cb_idmap_hash(const char *key, uint32_t uid_min, uint32_t uid_max)
{
	uint64_t span = (uint64_t)uid_max - uid_min + 1;

	return (uint32_t)(uid_min + cb_fnv1a64(key, strlen(key)) % span);
}

bool cb_idmap_reserved(uint32_t id)
{
	return id == 0 || id == 65534 || id == 65535 || id == UINT32_MAX;
}

cb_status cb_idmap_pick(const char *key, uint32_t uid_min, uint32_t uid_max, cb_id_taken_fn taken,
			void *arg, uint32_t *id, uint32_t *probes)
{
	uint64_t span;
	uint32_t cur;

	if (uid_min == 0 || uid_min > uid_max || key == NULL || *key == '\0')
		return CB_ERR_INPUT;
	span = (uint64_t)uid_max - uid_min + 1;
	cur = cb_idmap_hash(key, uid_min, uid_max);
	/* at most span steps: a full range ends the loop */
	for (uint64_t i = 0; i < span; i++) {
		if (!cb_idmap_reserved(cur) && (taken == NULL || !taken(arg, cur))) {
			*id = cur;
			*probes = (uint32_t)(i > UINT32_MAX ? UINT32_MAX : i);
			return CB_OK;
		}
		cur = cur == uid_max ? uid_min : cur + 1;
	}
	return CB_ERR_EXISTS;
}

void cb_idset_free(struct cb_idset *s)
{
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

cb_status cb_idset_add(struct cb_idset *s, uint32_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint32_t *p = realloc(s->ids, cap * sizeof(*p));

		if (p == NULL)
			return CB_ERR_NOMEM;
		s->ids = p;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
	s->sorted = false;
	return CB_OK;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

bool cb_idset_has(struct cb_idset *s, uint32_t id)
{
	if (s->n == 0)
		return false;
	if (!s->sorted) {
		qsort(s->ids, s->n, sizeof(*s->ids), cmp_u32);
		s->sorted = true;
	}
	return bsearch(&id, s->ids, s->n, sizeof(*s->ids), cmp_u32) != NULL;
}

/* Field number field (0-based) of a ':'-separated line as an id. */
static bool line_id(const char *line, int field, uint32_t *id)
{
	const char *p = line;
	unsigned long v;
	char *end;

	for (int i = 0; i < field; i++) {
		p = strchr(p, ':');
		if (p == NULL)
			return false;
		p++;
	}
	if (*p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || (*end != ':' && *end != '\n' && *end != '\0') || v > UINT32_MAX)
		return false;
	*id = (uint32_t)v;
	return true;
}

typedef cb_status (*line_fn)(void *arg, const char *line);

static cb_status each_line(const char *path, line_fn fn, void *arg, const struct cb_log *log)
{
	char *line = NULL;
	size_t cap = 0;
	cb_status rc = CB_OK;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		if (errno == ENOENT)
			return CB_OK;
		cb_log(log, LOG_ERR, "%s: %s", path, strerror(errno));
		return CB_ERR_SYSTEM;
	}
	while (rc == CB_OK && getline(&line, &cap, f) > 0)
		if (line[0] != '#' && line[0] != '+' && line[0] != '-') /* NIS compat */
			rc = fn(arg, line);
	if (rc == CB_OK && ferror(f)) {
		cb_log(log, LOG_ERR, "%s: read error", path);
		rc = CB_ERR_SYSTEM;
	}
	free(line);
	fclose(f);
	return rc;
}

static cb_status add_passwd_line(void *arg, const char *line)
{
	struct cb_idset *s = arg;
	uint32_t id;
	cb_status rc = CB_OK;

	if (line_id(line, 2, &id))
		rc = cb_idset_add(s, id);
	if (rc == CB_OK && line_id(line, 3, &id))
		rc = cb_idset_add(s, id);
	return rc;
}

static cb_status add_group_line(void *arg, const char *line)
{
	uint32_t id;

	return line_id(line, 2, &id) ? cb_idset_add(arg, id) : CB_OK;
}

cb_status cb_idset_add_passwd(struct cb_idset *s, const char *path, const struct cb_log *log)
{
	return each_line(path, add_passwd_line, s, log);
}

cb_status cb_idset_add_group(struct cb_idset *s, const char *path, const struct cb_log *log)
{
	return each_line(path, add_group_line, s, log);
}

cb_status cb_group_file_gid(const char *path, const char *name, uint32_t *gid)
{
	size_t len = strlen(name);
	char *line = NULL;
	size_t cap = 0;
	cb_status rc = CB_ERR_NOT_FOUND;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return errno == ENOENT ? CB_ERR_NOT_FOUND : CB_ERR_SYSTEM;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, name, len) == 0 && line[len] == ':' && line_id(line, 2, gid)) {
			rc = CB_OK;
			break;
		}
	}
	/* a line that could not be read may have been the one: not "no such name" */
	if (rc != CB_OK && !feof(f))
		rc = CB_ERR_SYSTEM;
	free(line);
	fclose(f);
	return rc;
}
