/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging through a sink chosen by the caller: pam_syslog in the PAM module,
 * stderr in cloudbasectl, syslog(3) in the NSS module, a buffer in tests.
 *
 * Every message is sanitised as a whole before it reaches the sink: control
 * characters and bytes >= 0x7f become '?' or \xNN escapes, so a user- or
 * server-supplied string can never forge a log line. Never pass a secret.
 */
#ifndef CB_LOG_H
#define CB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

struct cb_log {
	void (*sink)(void *arg, int priority, const char *msg);
	void *arg;
	bool debug; /* LOG_DEBUG messages pass only when set */
};

/* Longest message kept; longer ones are cut (and say so with "..."). */
#define CB_LOG_MAX 1024

void cb_log(const struct cb_log *log, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cb_vlog(const struct cb_log *log, int priority, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Copy in into out (size outsz, always NUL-terminated), escaping what
 * cb_log would escape. Returns out. */
char *cb_sanitize(char *out, size_t outsz, const char *in);

/* strerror(e) in English whatever the locale: for log lines, which admins
 * grep. The module runs in the application's locale (su and sudo set it
 * from LANG), where strerror speaks the user's language. */
const char *cb_strerror(int e);

/* A sink writing "pam_cloudbase: <msg>\n" to stderr (tools). */
void cb_log_stderr_sink(void *arg, int priority, const char *msg);

#endif
