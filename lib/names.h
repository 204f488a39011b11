/* SPDX-License-Identifier: BSD-3-Clause */
/* Local login names and phone numbers: what the module and cloudbasectl
 * accept. */
#ifndef CB_NAMES_H
#define CB_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define CB_NAME_MAX 32 /* local login name, bytes (useradd's limit) */
#define CB_PHONE_MAX 23 /* "+CC NUMBER": E.164 has at most 15 digits */
#define CB_EMAIL_MAX 254 /* bytes: RFC 5321's path limit less its brackets */

/* Is name a valid local login name (useradd's rules: 1-32 bytes, no ':',
 * '/', ',', white space, control bytes or non-ASCII; not starting with
 * '-'; not "." or ".."; not all digits)? */
int cb_valid_local_name(const char *name);

/* Normalise a phone number to the "+CC NUMBER" form the service wants:
 * "+86 13800000000". Accepts what admins type ("+8613800000000",
 * "+86-138 0000 0000", "+86 138-0000-0000"); refuses anything that cannot
 * be one (CB_ERR_PHONE_INVALID). out must hold CB_PHONE_MAX + 1 bytes. */
cb_status cb_normalize_phone(const char *in, char *out, size_t outsz);

/* Is s an e-mail address the module stores and sends codes to: at most
 * 254 bytes (RFC 5321's path limit less its brackets), exactly one '@'
 * with something before it, a domain of dot-separated non-empty labels
 * with at least one dot, no space, control byte or DEL? (A syntax check;
 * only the service can tell whether the address exists.) */
bool cb_valid_email(const char *s);

/* "alice@example.com" -> "a***@example.com" into out (size outsz): enough
 * for its owner to recognise, too little to learn an address. */
void cb_mask_email(const char *email, char *out, size_t outsz);

#endif
