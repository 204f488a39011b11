/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "secure.h"

void cb_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

void cb_free_secret(char *s)
{
	if (s == NULL)
		return;
	cb_wipe(s, strlen(s));
	free(s);
}

void cb_clear_secret(char **sp)
{
	if (sp == NULL)
		return;
	cb_free_secret(*sp);
	*sp = NULL;
}

char *cb_strndup_secret(const char *s, size_t max)
{
	size_t len;
	char *copy;

	if (s == NULL)
		return NULL;
	len = strnlen(s, max + 1);
	if (len > max)
		return NULL;
	copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}
