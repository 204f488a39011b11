/* SPDX-License-Identifier: BSD-3-Clause */
/* Account lists in and out of cloudbasectl (user import, user export).
 *
 * Two formats, with the same fields: name, login, phone, email, gecos, home,
 * shell, uid (name and login required; an empty or absent field takes the
 * default user add would give; uid a positive number or nothing).
 *
 * - CSV (RFC 4180): a header line naming the columns, in any order, then
 *   one account per line; fields with ',' or '"' are quoted, '"' doubled.
 * - JSON lines: one object per line, string values, uid a number.
 *
 * Blank lines are skipped. No field may hold a control character (a
 * newline inside a quoted field included). Nothing secret is read or
 * written: no sub, no tokens (those live in the state store).
 */
#ifndef CB_USERIO_H
#define CB_USERIO_H

#include <stdio.h>

#include "account.h"
#include "status.h"

enum cb_userio_format {
	CB_USERIO_AUTO, /* reading: JSON lines if the first text is '{', else CSV */
	CB_USERIO_CSV,
	CB_USERIO_JSONL,
};

/* Parse all of f (named name in messages). On success *list holds *n
 * accounts and (*lines)[i] the line entry i came from. On a bad line:
 * "NAME:LINE: reason" on stderr and CB_ERR_INPUT. Lines longer than 64 KiB
 * or more than 16 M entries are refused. */
cb_status cb_userio_read(FILE *f, const char *name, enum cb_userio_format fmt,
			 struct cb_account **list, size_t *n, size_t **lines);

/* Write the accounts to f. CB_ERR_SYSTEM on a write error. */
cb_status cb_userio_write(FILE *f, enum cb_userio_format fmt, const struct cb_account *list,
			  size_t n);

#endif
