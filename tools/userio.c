/* SPDX-License-Identifier: BSD-3-Clause */
/* Account lists in CSV and JSON lines: see userio.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api.h"
#include "i18n.h"
#include "text.h"
#include "userio.h"

#define MAX_LINE (64 * 1024)
#define MAX_ENTRIES (1u << 24)

enum field { F_NAME, F_LOGIN, F_PHONE, F_EMAIL, F_GECOS, F_HOME, F_SHELL, F_UID, N_FIELDS };

static const char *const field_names[N_FIELDS] = {
	[F_NAME] = "name",   [F_LOGIN] = "login", [F_PHONE] = "phone", [F_EMAIL] = "email",
	[F_GECOS] = "gecos", [F_HOME] = "home",	  [F_SHELL] = "shell", [F_UID] = "uid",
};

static int field_of(const char *s)
{
	for (int i = 0; i < N_FIELDS; i++)
		if (strcmp(s, field_names[i]) == 0)
			return i;
	return -1;
}

struct reader {
	const char *name;
	size_t lineno;
};

static cb_status bad(const struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fmt: translated already (_()); the line says where and that the import
 * as a whole was refused. */
static cb_status bad(const struct reader *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* TRANSLATORS: FILE:LINE: what is wrong with that line */
	fprintf(stderr, _("cloudbasectl: %s:%zu: %s; nothing was changed\n"), r->name, r->lineno,
		msg);
	return CB_ERR_INPUT;
}

/* Set one field of a from text v ("" leaves it unset). */
static cb_status set_field(const struct reader *r, struct cb_account *a, int f, const char *v)
{
	char **slot = NULL;
	char *end;
	unsigned long long uid;

	if (!cb_text_str_ok(v, MAX_LINE, CB_TEXT_ANY))
		return bad(r, _("%s: control characters are not allowed"), field_names[f]);
	if (v[0] == '\0')
		return CB_OK;
	switch (f) {
	case F_NAME:
		slot = &a->name;
		break;
	case F_LOGIN:
		slot = &a->login;
		break;
	case F_PHONE:
		slot = &a->phone;
		break;
	case F_EMAIL:
		slot = &a->email;
		break;
	case F_GECOS:
		slot = &a->gecos;
		break;
	case F_HOME:
		slot = &a->home;
		break;
	case F_SHELL:
		slot = &a->shell;
		break;
	default:
		if (v[0] < '0' || v[0] > '9')
			return bad(r, _("uid: not a number"));
		errno = 0;
		uid = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0' || uid >= UINT32_MAX)
			return bad(r, _("uid: not a number from 1 to 4294967294"));
		if (uid == 0)
			return bad(r, _("uid 0 is root's: not allowed"));
		a->uid = a->gid = (uint32_t)uid;
		return CB_OK;
	}
	free(*slot);
	*slot = strdup(v);
	return *slot != NULL ? CB_OK : CB_ERR_NOMEM;
}

static cb_status need_fields(const struct reader *r, const struct cb_account *a)
{
	if (a->name == NULL)
		return bad(r, _("no name"));
	if (a->login == NULL)
		return bad(r, _("%s: no login"), a->name);
	return CB_OK;
}

/* ---- CSV ---- */

/* Split one line into at most max fields (RFC 4180, no line breaks inside
 * quotes: the line was cut at one). The fields point into line. */
static cb_status csv_split(const struct reader *r, char *line, char **out, size_t max, size_t *n)
{
	char *p = line, *w;

	*n = 0;
	for (;;) {
		if (*n == max)
			return bad(r, _("more fields than the header names"));
		out[(*n)++] = w = p;
		if (*p == '"') {
			for (p++;; p++) {
				if (*p == '\0')
					return bad(r, _("a quoted field does not end"));
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p++;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p;
				}
			}
			if (*p != ',' && *p != '\0')
				return bad(r, _("text after a closing quote"));
		} else {
			while (*p != ',' && *p != '\0') {
				if (*p == '"')
					return bad(r, _("a quote inside an unquoted field"));
				w = ++p;
			}
		}
		if (*p == '\0') {
			*w = '\0';
			return CB_OK;
		}
		*w = '\0';
		p++;
	}
}

struct csv {
	int cols[N_FIELDS]; /* the field of each column */
	size_t n_cols;
};

static cb_status csv_header(const struct reader *r, char *line, struct csv *c)
{
	char *cells[N_FIELDS];
	bool seen[N_FIELDS] = {false};
	cb_status rc = csv_split(r, line, cells, N_FIELDS, &c->n_cols);

	for (size_t i = 0; rc == CB_OK && i < c->n_cols; i++) {
		int f = field_of(cells[i]);

		if (f < 0)
			return bad(
				r,
				_("unknown column \"%s\" (name, login, phone, email, gecos, home, "
				  "shell, uid)"),
				cb_text_str_ok(cells[i], 64, CB_TEXT_WORD) ? cells[i] : "?");
		if (seen[f])
			return bad(r, _("column %s named twice"), field_names[f]);
		seen[f] = true;
		c->cols[i] = f;
	}
	if (rc == CB_OK && (!seen[F_NAME] || !seen[F_LOGIN]))
		return bad(r, _("the header must name the columns name and login"));
	return rc;
}

static cb_status csv_row(const struct reader *r, char *line, const struct csv *c,
			 struct cb_account *a)
{
	char *cells[N_FIELDS];
	size_t n;
	cb_status rc = csv_split(r, line, cells, c->n_cols, &n);

	if (rc == CB_OK && n != c->n_cols)
		return bad(r, _("%zu fields, the header names %zu"), n, c->n_cols);
	for (size_t i = 0; rc == CB_OK && i < n; i++)
		rc = set_field(r, a, c->cols[i], cells[i]);
	return rc == CB_OK ? need_fields(r, a) : rc;
}

/* ---- JSON lines ---- */

static cb_status json_row(const struct reader *r, const char *line, struct cb_account *a)
{
	struct json_object *o = NULL;
	cb_status rc = CB_OK;

	if (cb_api_parse_json(line, strlen(line), &o) != CB_OK)
		return bad(r, _("not one JSON object (RFC 8259, no repeated keys)"));
	json_object_object_foreach(o, key, val)
	{
		int f = field_of(key);
		char num[16];

		if (f < 0) {
			rc = bad(r, _("unknown key (name, login, phone, email, gecos, home, shell, "
				      "uid)"));
		} else if (f == F_UID) {
			int64_t v = json_object_get_int64(val);

			if (!json_object_is_type(val, json_type_int) || v < 0 || v >= UINT32_MAX)
				rc = bad(r, _("uid: not a number from 1 to 4294967294"));
			else {
				snprintf(num, sizeof(num), "%lld", (long long)v);
				rc = set_field(r, a, f, num);
			}
		} else if (!json_object_is_type(val, json_type_string)) {
			rc = bad(r, _("%s: not a string"), field_names[f]);
		} else {
			rc = set_field(r, a, f, json_object_get_string(val));
		}
		if (rc != CB_OK)
			break;
	}
	json_object_put(o);
	return rc == CB_OK ? need_fields(r, a) : rc;
}

/* ---- reading ---- */

static bool blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

struct list {
	struct cb_account *a;
	size_t *lines;
	size_t n, cap;
};

static cb_status push(struct list *l, size_t lineno)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct cb_account *a = realloc(l->a, cap * sizeof(*a));
		size_t *lines;

		if (a == NULL)
			return CB_ERR_NOMEM;
		l->a = a;
		lines = realloc(l->lines, cap * sizeof(*lines));
		if (lines == NULL)
			return CB_ERR_NOMEM;
		l->lines = lines;
		l->cap = cap;
	}
	memset(&l->a[l->n], 0, sizeof(l->a[0]));
	l->lines[l->n++] = lineno;
	return CB_OK;
}

cb_status cb_userio_read(FILE *f, const char *name, enum cb_userio_format fmt,
			 struct cb_account **out, size_t *n, size_t **lines)
{
	struct reader r = {name, 0};
	struct list l = {0};
	struct csv c = {{0}, 0};
	bool have_header = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	cb_status rc = CB_OK;

	while (rc == CB_OK && (len = getline(&line, &cap, f)) >= 0) {
		r.lineno++;
		if (len > MAX_LINE) {
			rc = bad(&r, _("line longer than %d bytes"), MAX_LINE);
			break;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if ((size_t)len != strlen(line)) {
			rc = bad(&r, _("a NUL byte"));
			break;
		}
		if (blank(line))
			continue;
		if (fmt == CB_USERIO_AUTO)
			fmt = line[strspn(line, " \t")] == '{' ? CB_USERIO_JSONL : CB_USERIO_CSV;
		if (fmt == CB_USERIO_CSV && !have_header) {
			rc = csv_header(&r, line, &c);
			have_header = true;
			continue;
		}
		if (l.n >= MAX_ENTRIES) {
			rc = bad(&r, _("more than %u accounts"), MAX_ENTRIES);
			break;
		}
		rc = push(&l, r.lineno);
		if (rc == CB_OK)
			rc = fmt == CB_USERIO_CSV ? csv_row(&r, line, &c, &l.a[l.n - 1])
						  : json_row(&r, line, &l.a[l.n - 1]);
	}
	if (rc == CB_OK && ferror(f)) {
		fprintf(stderr, _("cloudbasectl: %s: read error\n"), name);
		rc = CB_ERR_SYSTEM;
	}
	free(line);
	if (rc != CB_OK) {
		cb_account_list_free(l.a, l.n);
		free(l.lines);
		return rc;
	}
	*out = l.a;
	*n = l.n;
	*lines = l.lines;
	return CB_OK;
}

/* ---- writing ---- */

static void csv_cell(FILE *f, const char *s, bool last)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len > 0 && (strpbrk(s, ",\"") != NULL || s[0] == ' ' || s[len - 1] == ' ')) {
		fputc('"', f);
		for (const char *p = s; *p != '\0'; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else if (len > 0) {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

static void json_add(struct json_object *o, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_object_add(o, key, json_object_new_string(v));
}

cb_status cb_userio_write(FILE *f, enum cb_userio_format fmt, const struct cb_account *list,
			  size_t n)
{
	if (fmt != CB_USERIO_JSONL)
		fputs("name,login,phone,email,gecos,home,shell,uid\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct cb_account *a = &list[i];
		char uid[16];

		snprintf(uid, sizeof(uid), "%u", a->uid);
		if (fmt != CB_USERIO_JSONL) {
			csv_cell(f, a->name, false);
			csv_cell(f, a->login, false);
			csv_cell(f, a->phone, false);
			csv_cell(f, a->email, false);
			csv_cell(f, a->gecos, false);
			csv_cell(f, a->home, false);
			csv_cell(f, a->shell, false);
			csv_cell(f, uid, true);
		} else {
			struct json_object *o = json_object_new_object();

			if (o == NULL)
				return CB_ERR_NOMEM;
			json_add(o, "name", a->name);
			json_add(o, "login", a->login);
			json_add(o, "phone", a->phone);
			json_add(o, "email", a->email);
			json_add(o, "gecos", a->gecos);
			json_add(o, "home", a->home);
			json_add(o, "shell", a->shell);
			json_object_object_add(o, "uid", json_object_new_int64(a->uid));
			fprintf(f, "%s\n",
				json_object_to_json_string_ext(
					o,
					JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		}
	}
	return fflush(f) == 0 && !ferror(f) ? CB_OK : CB_ERR_SYSTEM;
}
