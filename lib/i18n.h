/* SPDX-License-Identifier: BSD-3-Clause */
/* Messages in the user's language (po/). The module and cloudbasectl share
 * one text domain, PACKAGE ("pam_cloudbase"), whose catalogues live in
 * LOCALEDIR/LANG/LC_MESSAGES/pam_cloudbase.mo.
 *
 * _() looks a text up in that domain by name (dgettext), as Linux-PAM's
 * own modules do (pam_i18n.h): the module is a library inside someone
 * else's program (su, sudo, login, sshd) and never calls textdomain(),
 * which would change that program's default domain. The language is the
 * program's: LANGUAGE, LC_ALL, LC_MESSAGES or LANG, once the program has
 * called setlocale(3); a program that has not speaks English.
 *
 * glibc declares dgettext and dngettext with __attribute__((format_arg)),
 * so a format string passed through _() or P_() is still checked against
 * its arguments by -Wformat (and -Wformat-nonliteral stays quiet); msgfmt
 * --check holds every translation of a c-format text to the same
 * conversions.
 *
 * N_() marks a text where a table defines it; it is looked up with _()
 * where it is shown. P_(one, many, n): the form for the number n.
 *
 * Log lines (cb_log, pam_syslog) are never translated: admins grep them. */
#ifndef CB_I18N_H
#define CB_I18N_H

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(msgid) dgettext(PACKAGE, msgid)
#define P_(one, many, n) dngettext(PACKAGE, one, many, (unsigned long)(n))
#else
#define _(msgid) (msgid)
#define P_(one, many, n) ((n) == 1 ? (one) : (many))
#endif
#define N_(msgid) msgid

#endif
