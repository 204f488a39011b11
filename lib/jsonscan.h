/* SPDX-License-Identifier: BSD-3-Clause */
/* The raw text of a service answer, judged before json-c sees it.
 *
 * json-c, even with JSON_TOKENER_STRICT, takes tokens RFC 8259 does not
 * have (single-quoted strings, NaN, a few control bytes, lone surrogates),
 * and keeps the last of two equal keys without a word. Another reader of
 * the same text (a gateway, a log pipeline) may read such an answer
 * otherwise: an answer that can mean two things is refused here. And json-c
 * frees its strings without wiping them: the values of secret members are
 * taken out of the text here, so json-c never holds one.
 */
#ifndef CB_JSONSCAN_H
#define CB_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* A top-level member whose string value is a secret. */
struct cb_json_secret {
	const char *key; /* in: the member name */
	char *value; /* out: the decoded value, malloc'd; NULL when absent or not a string */
	size_t len; /* out: bytes in value (it may hold a NUL: the caller checks) */
};

struct cb_json_scan {
	/* the text with the value of every secret member emptied ("key":""),
	 * NUL-terminated, malloc'd: what json-c may parse */
	char *redacted;
	size_t redacted_len;
	size_t members; /* object members in the whole text */
};

/* Accept text (len bytes) only if it is exactly one RFC 8259 JSON text whose
 * value is an object, and
 *   - nested at most max_depth objects and arrays deep,
 *   - valid UTF-8 (RFC 3629: no overlong form, no surrogate, nothing above
 *     U+10FFFF), every \u escape a scalar value or a proper surrogate pair,
 *   - every object key written without escapes (its text is its value) and
 *     no key twice in one object.
 * White space is the four bytes RFC 8259 names; no byte order mark. Fills
 * out and the values of secrets (n of them; a key given twice there is
 * refused). CB_ERR_PROTOCOL for any other text, CB_ERR_NOMEM. On failure
 * nothing is left allocated. */
cb_status cb_json_scan(const char *text, size_t len, unsigned max_depth,
		       struct cb_json_secret *secrets, size_t n, struct cb_json_scan *out);

/* Wipe and free the redacted text and every secret value. */
void cb_json_scan_free(struct cb_json_scan *scan, struct cb_json_secret *secrets, size_t n);

#endif
