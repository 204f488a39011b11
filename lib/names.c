/* SPDX-License-Identifier: BSD-3-Clause */
/* Local login names and phone numbers: what cloudbasectl accepts. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "accountdb.h"

int cb_valid_local_name(const char *name)
{
	size_t len;
	bool all_digits = true;

	if (name == NULL)
		return 0;
	len = strnlen(name, CB_NAME_MAX + 1);
	if (len == 0 || len > CB_NAME_MAX || name[0] == '-')
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* control bytes, white space and non-ASCII; ':' ',' '/' break
		 * passwd/group lines and paths */
		if (c <= 0x20 || c >= 0x7f || c == ':' || c == ',' || c == '/')
			return 0;
		if (c < '0' || c > '9')
			all_digits = false;
	}
	/* "1234" would read as a uid to chown, ps, find -user (shadow refuses it too) */
	return !all_digits;
}

/* Country calling codes are prefix-free: 1 and 7 are one digit, the
 * two-digit ones are listed, every other is three digits (ITU-T E.164). */
static size_t cc_length(const char *d)
{
	static const char *const two[] = {"20", "27", "30", "31", "32", "33", "34", "36", "39",
					  "40", "41", "43", "44", "45", "46", "47", "48", "49",
					  "51", "52", "53", "54", "55", "56", "57", "58", "60",
					  "61", "62", "63", "64", "65", "66", "81", "82", "84",
					  "86", "90", "91", "92", "93", "94", "95", "98"};

	if (d[0] == '1' || d[0] == '7')
		return 1;
	for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
		if (d[0] == two[i][0] && d[1] == two[i][1])
			return 2;
	return 3;
}

cb_status cb_normalize_phone(const char *in, char *out, size_t outsz)
{
	char digits[24];
	size_t nd = 0, cc;
	bool plus;
	const char *p = in;

	if (outsz > 0)
		out[0] = '\0';
	if (in == NULL || outsz < 24)
		return CB_ERR_PHONE_INVALID;
	while (*p == ' ')
		p++;
	plus = *p == '+';
	if (plus)
		p++;
	else if (p[0] == '0' && p[1] == '0') { /* international prefix 00 */
		plus = true;
		p += 2;
	}
	for (; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			if (nd >= 15) /* E.164: at most 15 digits */
				return CB_ERR_PHONE_INVALID;
			digits[nd++] = *p;
		} else if (*p != ' ' && *p != '-' && *p != '(' && *p != ')' && *p != '.') {
			return CB_ERR_PHONE_INVALID;
		}
	}
	digits[nd] = '\0';
	if (!plus) {
		/* a bare Chinese mobile number: 11 digits starting with 1 */
		if (nd != 11 || digits[0] != '1')
			return CB_ERR_PHONE_INVALID;
		snprintf(out, outsz, "+86 %s", digits);
		return CB_OK;
	}
	if (nd < 2 || digits[0] == '0')
		return CB_ERR_PHONE_INVALID;
	cc = cc_length(digits);
	if (nd < cc + 4)
		return CB_ERR_PHONE_INVALID;
	/* the service takes only mobile numbers for +86 */
	if (cc == 2 && memcmp(digits, "86", 2) == 0 && (nd - cc != 11 || digits[2] != '1'))
		return CB_ERR_PHONE_INVALID;
	snprintf(out, outsz, "+%.*s %s", (int)cc, digits, digits + cc);
	return CB_OK;
}

bool cb_valid_email(const char *s)
{
	const char *at, *label;
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, CB_EMAIL_MAX + 1);
	if (len == 0 || len > CB_EMAIL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	at = strchr(s, '@');
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return false;
	/* labels: non-empty, separated by single dots */
	for (label = at + 1;; label++) {
		const char *dot = strchr(label, '.');

		if (dot == label || *label == '\0')
			return false;
		if (dot == NULL)
			return true;
		label = dot;
	}
}

void cb_mask_email(const char *email, char *out, size_t outsz)
{
	const char *at = strchr(email, '@');

	if (at == NULL || at == email) {
		snprintf(out, outsz, "***");
		return;
	}
	snprintf(out, outsz, "%c***%s", email[0], at);
}
