/* SPDX-License-Identifier: BSD-3-Clause */
/* Local login names and phone numbers: what the module and cloudbasectl
 * accept. */
#ifndef CB_NAMES_H
#define CB_NAMES_H

#include <stddef.h>

#include "status.h"

#define CB_NAME_MAX 32 /* local login name, bytes (useradd's limit) */
#define CB_PHONE_MAX 23 /* "+CC NUMBER": E.164 has at most 15 digits */

/* Is name a valid local login name (useradd's rules: 1-32 bytes, no ':',
 * '/', ',', white space, control bytes or non-ASCII; not starting with
 * '-'; not "." or ".."; not all digits)? */
int cb_valid_local_name(const char *name);

/* Normalise a phone number to the "+CC NUMBER" form the service wants:
 * "+86 13800000000". Accepts what admins type ("+8613800000000",
 * "+86-138 0000 0000", "+86 138-0000-0000"); refuses anything that cannot
 * be one (CB_ERR_PHONE_INVALID). out must hold CB_PHONE_MAX + 1 bytes. */
cb_status cb_normalize_phone(const char *in, char *out, size_t outsz);

#endif
