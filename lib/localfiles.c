/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "localfiles.h"

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
		cb_log(log, LOG_ERR, "%s: %s", path, cb_strerror(errno));
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

cb_status cb_localfile_add_passwd_ids(struct cb_idset *s, const char *path,
				      const struct cb_log *log)
{
	return each_line(path, add_passwd_line, s, log);
}

cb_status cb_localfile_add_group_ids(struct cb_idset *s, const char *path, const struct cb_log *log)
{
	return each_line(path, add_group_line, s, log);
}

cb_status cb_localfile_id(const char *path, const char *name, uint32_t *id)
{
	size_t len = strlen(name);
	char *line = NULL;
	size_t cap = 0;
	cb_status rc = CB_ERR_NOT_FOUND;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return errno == ENOENT ? CB_ERR_NOT_FOUND : CB_ERR_SYSTEM;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, name, len) == 0 && line[len] == ':' && line_id(line, 2, id)) {
			rc = CB_OK;
			break;
		}
	}
	if (rc != CB_OK && !feof(f))
		rc = CB_ERR_SYSTEM;
	free(line);
	fclose(f);
	return rc;
}

cb_status cb_local_user_lookup(const char *name)
{
	uint32_t id;

	return cb_localfile_id(CB_PASSWD_FILE, name, &id);
}

cb_status cb_local_group_gid(const char *name, uint32_t *gid)
{
	return cb_localfile_id(CB_GROUP_FILE, name, gid);
}

int cb_local_name_exists(const char *name)
{
	uint32_t id;

	return cb_localfile_id(CB_PASSWD_FILE, name, &id) != CB_ERR_NOT_FOUND ||
	       cb_localfile_id(CB_GROUP_FILE, name, &id) != CB_ERR_NOT_FOUND;
}

static cb_status add_name_line(void *arg, const char *line)
{
	struct cb_local_names *s = arg;
	const char *colon = strchr(line, ':');
	char **p;
	uint32_t id;

	if (colon == NULL || colon == line || !line_id(line, 2, &id))
		return CB_OK;
	p = realloc(s->names, (s->n + 1) * sizeof(*p));
	if (p == NULL)
		return CB_ERR_NOMEM;
	s->names = p;
	s->names[s->n] = strndup(line, (size_t)(colon - line));
	if (s->names[s->n] == NULL)
		return CB_ERR_NOMEM;
	s->n++;
	return CB_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

cb_status cb_local_names_load(struct cb_local_names *s, const struct cb_log *log)
{
	cb_status rc;

	s->names = NULL;
	s->n = 0;
	rc = each_line(CB_PASSWD_FILE, add_name_line, s, log);
	if (rc == CB_OK)
		rc = each_line(CB_GROUP_FILE, add_name_line, s, log);
	if (rc != CB_OK) {
		cb_local_names_free(s);
		return rc;
	}
	if (s->n > 1)
		qsort(s->names, s->n, sizeof(*s->names), cmp_names);
	return CB_OK;
}

bool cb_local_names_has(const struct cb_local_names *s, const char *name)
{
	return s->n > 0 && bsearch(&name, s->names, s->n, sizeof(*s->names), cmp_names) != NULL;
}

void cb_local_names_free(struct cb_local_names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->n = 0;
}
