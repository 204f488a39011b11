/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

char *cb_sanitize(char *out, size_t outsz, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsz == 0)
		return out;
	for (; in != NULL && *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f) {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

void cb_vlog(const struct cb_log *log, int priority, const char *fmt, va_list ap)
{
	char raw[CB_LOG_MAX];
	char clean[CB_LOG_MAX];
	int n;

	if (log == NULL || log->sink == NULL)
		return;
	if (priority == LOG_DEBUG && !log->debug)
		return;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw))
		memcpy(raw + sizeof(raw) - 4, "...", 4);
	cb_sanitize(clean, sizeof(clean), raw);
	log->sink(log->arg, priority, clean);
	/* the formatted text may have held user input: do not leave it on the stack */
	explicit_bzero(raw, sizeof(raw));
}

void cb_log(const struct cb_log *log, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cb_vlog(log, priority, fmt, ap);
	va_end(ap);
}

void cb_log_stderr_sink(void *arg, int priority, const char *msg)
{
	const char *prog = arg != NULL ? (const char *)arg : "pam_cloudbase";

	(void)priority;
	fprintf(stderr, "%s: %s\n", prog, msg);
}

const char *cb_strerror(int e)
{
	/* glibc hands out its static C locale for "C": no allocation */
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	const char *s;

	if (c == (locale_t)0)
		return strerror(e);
	s = strerror_l(e, c);
	freelocale(c);
	return s;
}
