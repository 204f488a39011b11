/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness for the two normalisations of untrusted text: the
 * local login name check (cb_valid_local_name) and the phone number
 * normalisation (cb_normalize_phone). The input is one NUL-terminated
 * string.
 *
 * Invariants: an accepted name is 1-32 bytes of printable ASCII without
 * ':', ',', '/', not "-..." nor "." nor ".." nor all digits; a normalised
 * phone number is "+CC NUMBER" (digits only, at most 15 of them), and
 * normalising it again gives the same text. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accountdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s)
{
	size_t len = strlen(s), digits = 0;

	if (!cb_valid_local_name(s))
		return;
	if (len == 0 || len > CB_NAME_MAX || s[0] == '-' || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || c == ':' || c == ',' || c == '/')
			abort();
		digits += c >= '0' && c <= '9';
	}
	if (digits == len)
		abort();
}

static void check_phone(const char *s)
{
	char out[24], again[24];
	size_t nd = 0, i;

	if (cb_normalize_phone(s, out, sizeof(out)) != CB_OK) {
		if (out[0] != '\0')
			abort(); /* a refusal leaves nothing behind */
		return;
	}
	if (out[0] != '+' || strchr(out, ' ') == NULL)
		abort();
	for (i = 1; out[i] != '\0'; i++) {
		if (out[i] >= '0' && out[i] <= '9')
			nd++;
		else if (out[i] != ' ' || out[i - 1] == '+' || out[i + 1] == '\0')
			abort();
	}
	if (nd > 15 || strchr(strchr(out, ' ') + 1, ' ') != NULL)
		abort();
	if (cb_normalize_phone(out, again, sizeof(again)) != CB_OK || strcmp(out, again) != 0)
		abort(); /* not idempotent */
	/* a short buffer is refused, never overrun */
	if (cb_normalize_phone(s, again, 23) == CB_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_name(s);
	check_phone(s);
	free(s);
	return 0;
}
