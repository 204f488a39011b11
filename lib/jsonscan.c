/* SPDX-License-Identifier: BSD-3-Clause */
/* See jsonscan.h. A recursive descent over RFC 8259's grammar, bounded by
 * max_depth, that keeps the spans of object keys (to find a repeated one)
 * and of secret values (to take them out). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "secure.h"

struct span {
	size_t start, len;
};

struct scanner {
	const unsigned char *s;
	size_t len, pos;
	unsigned max_depth;
	struct cb_json_secret *secrets;
	size_t n_secrets;
	struct span secret_spans[16]; /* n_secrets of them; len SIZE_MAX: absent */
	struct span *keys; /* the keys of every object still open */
	size_t n_keys, cap_keys;
	size_t members;
	bool nomem;
};

static void skip_ws(struct scanner *sc)
{
	while (sc->pos < sc->len) {
		unsigned char c = sc->s[sc->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		sc->pos++;
	}
}

static bool peek(const struct scanner *sc, unsigned char c)
{
	return sc->pos < sc->len && sc->s[sc->pos] == c;
}

static bool eat(struct scanner *sc, unsigned char c)
{
	if (!peek(sc, c))
		return false;
	sc->pos++;
	return true;
}

static bool literal(struct scanner *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return false;
	sc->pos += n;
	return true;
}

static bool digits(struct scanner *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
		sc->pos++;
	return sc->pos > start;
}

/* number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT ) */
static bool number(struct scanner *sc)
{
	eat(sc, '-');
	if (eat(sc, '0')) {
		/* no leading zeros: "01" would be 1 to one reader, 0 1 to another */
	} else if (sc->pos < sc->len && sc->s[sc->pos] >= '1' && sc->s[sc->pos] <= '9') {
		digits(sc);
	} else {
		return false;
	}
	if (eat(sc, '.') && !digits(sc))
		return false;
	if (eat(sc, 'e') || eat(sc, 'E')) {
		if (!eat(sc, '+'))
			eat(sc, '-');
		if (!digits(sc))
			return false;
	}
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX at p (p[0] == '\\'); -1 if malformed */
static long hex4(const unsigned char *p, size_t avail)
{
	long v = 0;

	if (avail < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (int i = 2; i < 6; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* One escape sequence at s (s[0] == '\\'): its length in the text and the
 * code point it stands for; 0 if malformed or a lone surrogate. */
static size_t escape(const unsigned char *s, size_t avail, uint32_t *cp)
{
	static const char simple[] = "\"\\/bfnrt";
	static const char meaning[] = "\"\\/\b\f\n\r\t";
	const char *e;
	long hi, lo;

	if (avail < 2)
		return 0;
	if (s[1] != 'u') {
		e = s[1] != '\0' ? strchr(simple, s[1]) : NULL;
		if (e == NULL)
			return 0;
		*cp = (unsigned char)meaning[e - simple];
		return 2;
	}
	hi = hex4(s, avail);
	if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
		return 0;
	if (hi < 0xD800 || hi > 0xDBFF) {
		*cp = (uint32_t)hi;
		return 6;
	}
	lo = hex4(s + 6, avail - 6);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return 0;
	*cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
	return 12;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of
 * Unicode), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F; /* no UTF-16 surrogates */
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F; /* nothing above U+10FFFF */
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* A string; *content gets the span between the quotes. A key may hold no
 * escape: its text must be the name json-c and every other reader see. */
static bool string(struct scanner *sc, bool key, struct span *content)
{
	if (!eat(sc, '"'))
		return false;
	content->start = sc->pos;
	while (sc->pos < sc->len) {
		const unsigned char *p = sc->s + sc->pos;
		size_t avail = sc->len - sc->pos, n;
		uint32_t cp;

		if (*p == '"') {
			content->len = sc->pos - content->start;
			sc->pos++;
			return true;
		}
		if (*p < 0x20)
			return false;
		if (*p == '\\') {
			if (key)
				return false;
			n = escape(p, avail, &cp);
		} else {
			n = utf8_len(p, avail);
		}
		if (n == 0)
			return false;
		sc->pos += n;
	}
	return false;
}

static bool push_key(struct scanner *sc, struct span k)
{
	if (sc->n_keys == sc->cap_keys) {
		size_t cap = sc->cap_keys != 0 ? sc->cap_keys * 2 : 32;
		struct span *p = realloc(sc->keys, cap * sizeof(*p));

		if (p == NULL) {
			sc->nomem = true;
			return false;
		}
		sc->keys = p;
		sc->cap_keys = cap;
	}
	sc->keys[sc->n_keys++] = k;
	return true;
}

static int key_cmp(const void *a, const void *b, void *text)
{
	const struct span *x = a, *y = b;
	const unsigned char *s = text;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(s + x->start, s + y->start, x->len);
}

/* Any key twice among keys[base..]? Sorted, equal keys are neighbours:
 * O(n log n) for an object of many members. */
static bool keys_unique(struct scanner *sc, size_t base)
{
	size_t n = sc->n_keys - base;
	struct span *k = sc->keys + base;

	if (n < 2)
		return true;
	/* qsort_r: the text goes to the comparator without a global, so two
	 * threads of a host process may scan at once */
	qsort_r(k, n, sizeof(*k), key_cmp, (void *)(uintptr_t)sc->s);
	for (size_t i = 1; i < n; i++)
		if (key_cmp(&k[i - 1], &k[i], (void *)(uintptr_t)sc->s) == 0)
			return false;
	return true;
}

static bool value(struct scanner *sc, unsigned depth, struct span *str);

/* A member of the top-level object named like a secret: where its value's
 * text is, for cb_json_scan to take it out. */
static bool note_secret(struct scanner *sc, struct span key, struct span val)
{
	for (size_t i = 0; i < sc->n_secrets; i++) {
		const char *name = sc->secrets[i].key;

		if (strlen(name) != key.len || memcmp(sc->s + key.start, name, key.len) != 0)
			continue;
		if (sc->secret_spans[i].len != SIZE_MAX)
			return false; /* twice: keys_unique refuses it too */
		sc->secret_spans[i] = val;
	}
	return true;
}

static bool object(struct scanner *sc, unsigned depth) /* NOLINT(misc-no-recursion) */
{
	size_t base = sc->n_keys;
	bool ok = false;

	if (depth > sc->max_depth || !eat(sc, '{'))
		return false;
	skip_ws(sc);
	if (eat(sc, '}'))
		return true;
	for (;;) {
		struct span key, val = {0, SIZE_MAX};

		skip_ws(sc);
		if (!string(sc, true, &key) || !push_key(sc, key))
			break;
		skip_ws(sc);
		if (!eat(sc, ':'))
			break;
		skip_ws(sc);
		if (!value(sc, depth, &val))
			break;
		sc->members++;
		if (depth == 1 && val.len != SIZE_MAX && !note_secret(sc, key, val))
			break;
		skip_ws(sc);
		if (eat(sc, ','))
			continue;
		ok = eat(sc, '}') && keys_unique(sc, base);
		break;
	}
	sc->n_keys = base;
	return ok;
}

static bool array(struct scanner *sc, unsigned depth) /* NOLINT(misc-no-recursion) */
{
	if (depth > sc->max_depth || !eat(sc, '['))
		return false;
	skip_ws(sc);
	if (eat(sc, ']'))
		return true;
	for (;;) {
		struct span ignored;

		skip_ws(sc);
		if (!value(sc, depth, &ignored))
			return false;
		skip_ws(sc);
		if (eat(sc, ','))
			continue;
		return eat(sc, ']');
	}
}

/* A value inside a container at depth; *str gets a string's content span
 * (left alone for other values). */
/* Bounded by max_depth: object() and array() refuse to go deeper. */
// NOLINTNEXTLINE(misc-no-recursion)
static bool value(struct scanner *sc, unsigned depth, struct span *str)
{
	if (sc->pos >= sc->len)
		return false;
	switch (sc->s[sc->pos]) {
	case '{':
		return object(sc, depth + 1);
	case '[':
		return array(sc, depth + 1);
	case '"':
		return string(sc, false, str);
	case 't':
		return literal(sc, "true");
	case 'f':
		return literal(sc, "false");
	case 'n':
		return literal(sc, "null");
	default:
		return number(sc);
	}
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The value of a string already validated by string(): never longer than
 * its text (an escape is at least as long as what it stands for). */
static char *decode(const unsigned char *s, size_t n, size_t *outlen)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t used;

		if (s[i] == '\\') {
			used = escape(s + i, n - i, &cp);
			if (used == 0) { /* string() let it through: cannot happen */
				cb_wipe(out, n + 1);
				free(out);
				return NULL;
			}
			i += used;
			o += put_utf8(out + o, cp);
		} else {
			out[o++] = (char)s[i++];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* The text without the secret values: spans are in text order, since
 * members are seen in order. */
static char *redact(const struct scanner *sc, size_t *outlen)
{
	struct span order[16];
	size_t n = 0, o = 0, from = 0;
	char *out = malloc(sc->len + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < sc->n_secrets && n < 16; i++)
		if (sc->secret_spans[i].len != SIZE_MAX)
			order[n++] = sc->secret_spans[i];
	/* a handful of spans: insertion sort by position */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && order[j - 1].start > order[j].start; j--) {
			struct span t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		memcpy(out + o, sc->s + from, order[i].start - from);
		o += order[i].start - from;
		from = order[i].start + order[i].len;
	}
	memcpy(out + o, sc->s + from, sc->len - from);
	o += sc->len - from;
	out[o] = '\0';
	*outlen = o;
	return out;
}

void cb_json_scan_free(struct cb_json_scan *scan, struct cb_json_secret *secrets, size_t n)
{
	if (scan != NULL && scan->redacted != NULL) {
		cb_wipe(scan->redacted, scan->redacted_len);
		free(scan->redacted);
		scan->redacted = NULL;
	}
	for (size_t i = 0; secrets != NULL && i < n; i++) {
		if (secrets[i].value != NULL) {
			cb_wipe(secrets[i].value, secrets[i].len);
			free(secrets[i].value);
		}
		secrets[i].value = NULL;
		secrets[i].len = 0;
	}
}

static cb_status take_secrets(struct scanner *sc)
{
	for (size_t i = 0; i < sc->n_secrets; i++) {
		struct span v = sc->secret_spans[i];

		if (v.len == SIZE_MAX)
			continue;
		sc->secrets[i].value = decode(sc->s + v.start, v.len, &sc->secrets[i].len);
		if (sc->secrets[i].value == NULL)
			return CB_ERR_NOMEM;
	}
	return CB_OK;
}

cb_status cb_json_scan(const char *text, size_t len, unsigned max_depth,
		       struct cb_json_secret *secrets, size_t n, struct cb_json_scan *out)
{
	struct scanner sc = {
		.s = (const unsigned char *)text,
		.len = len,
		.max_depth = max_depth,
		.secrets = secrets,
		.n_secrets = n,
	};
	bool ok;
	cb_status st;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		secrets[i].value = NULL;
		secrets[i].len = 0;
	}
	if (n > sizeof(sc.secret_spans) / sizeof(sc.secret_spans[0]))
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		sc.secret_spans[i] = (struct span){0, SIZE_MAX};
	skip_ws(&sc);
	ok = peek(&sc, '{') && object(&sc, 1) && (skip_ws(&sc), sc.pos == sc.len);
	free(sc.keys);
	if (!ok)
		return sc.nomem ? CB_ERR_NOMEM : CB_ERR_PROTOCOL;
	out->members = sc.members;
	out->redacted = redact(&sc, &out->redacted_len);
	st = out->redacted != NULL ? take_secrets(&sc) : CB_ERR_NOMEM;
	if (st != CB_OK)
		cb_json_scan_free(out, secrets, n);
	return st;
}
