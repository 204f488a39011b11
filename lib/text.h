/* SPDX-License-Identifier: BSD-3-Clause */
/* The one rule for text kept in the module's files and taken from the
 * service: which bytes a string may hold.
 *
 * "Text" is any byte from 0x20 up except DEL (0x7f): printable ASCII and
 * the bytes of UTF-8 sequences (not validated: logs escape them, and none
 * of these strings is ever interpreted as anything but itself). Control
 * bytes are refused because every one of these strings ends up in a log
 * line, a passwd(5)-shaped field or a line-oriented file, where a newline
 * or an escape sequence would forge or hide something. A passwd field also
 * refuses ':' (its separator). Used by the account database (both sides),
 * the state store, the configuration and the API parser.
 */
#ifndef CB_TEXT_H
#define CB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum cb_text_kind {
	CB_TEXT_ANY, /* no control bytes */
	CB_TEXT_PASSWD, /* also no ':' (a passwd(5) or group(5) field) */
	CB_TEXT_WORD, /* also no space (one field of a space-separated line) */
};

static inline bool cb_text_byte_ok(unsigned char c, enum cb_text_kind kind)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	if (kind == CB_TEXT_PASSWD && c == ':')
		return false;
	if (kind == CB_TEXT_WORD && c == ' ')
		return false;
	return true;
}

/* len bytes of s, all text of that kind (an empty string is text). */
static inline bool cb_text_ok(const char *s, size_t len, enum cb_text_kind kind)
{
	for (size_t i = 0; i < len; i++)
		if (!cb_text_byte_ok((unsigned char)s[i], kind))
			return false;
	return true;
}

/* A NUL-terminated s of at most max bytes, all text of that kind. */
static inline bool cb_text_str_ok(const char *s, size_t max, enum cb_text_kind kind)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, max + 1);
	return len <= max && cb_text_ok(s, len, kind);
}

#endif
