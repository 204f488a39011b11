/* SPDX-License-Identifier: BSD-3-Clause */
/* Secrets: one way to wipe them. */
#ifndef CB_SECURE_H
#define CB_SECURE_H

#include <stddef.h>

/* Overwrite len bytes at p; never optimised away. */
void cb_wipe(void *p, size_t len);

/* Wipe a NUL-terminated secret and free it. NULL is fine. */
void cb_free_secret(char *s);

/* Wipe and free, then set *sp to NULL. */
void cb_clear_secret(char **sp);

/* strndup for secrets: NULL if s is longer than max bytes (nothing copied)
 * or allocation fails. */
char *cb_strndup_secret(const char *s, size_t max);

#endif
