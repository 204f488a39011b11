/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"

static void free_groups(char **groups, size_t n)
{
	for (size_t i = 0; groups != NULL && i < n; i++)
		free(groups[i]);
	free(groups);
}

void cb_account_free(struct cb_account *acct)
{
	if (acct == NULL)
		return;
	free(acct->name);
	free(acct->gecos);
	free(acct->home);
	free(acct->shell);
	free(acct->login);
	free(acct->phone);
	free(acct->email);
	free_groups(acct->groups, acct->n_groups);
	free(acct->legacy_sub);
	memset(acct, 0, sizeof(*acct));
}

void cb_account_list_free(struct cb_account *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		cb_account_free(&list[i]);
	free(list);
}

cb_status cb_account_set_groups(struct cb_account *a, const char *const *groups, size_t n)
{
	char **g = NULL;

	if (n > 0 && (g = calloc(n, sizeof(*g))) == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((g[i] = strdup(groups[i])) == NULL) {
			free_groups(g, i);
			return CB_ERR_NOMEM;
		}
	}
	free_groups(a->groups, a->n_groups);
	a->groups = g;
	a->n_groups = n;
	return CB_OK;
}

static bool sdup(const char *s, char **out)
{
	*out = s != NULL ? strdup(s) : NULL;
	return s == NULL || *out != NULL;
}

cb_status cb_account_copy(const struct cb_account *src, struct cb_account *dst)
{
	*dst = *src;
	dst->groups = NULL;
	dst->n_groups = 0;
	if (!sdup(src->name, &dst->name) | !sdup(src->gecos, &dst->gecos) |
		    !sdup(src->home, &dst->home) | !sdup(src->shell, &dst->shell) |
		    !sdup(src->login, &dst->login) | !sdup(src->phone, &dst->phone) |
		    !sdup(src->email, &dst->email) | !sdup(src->legacy_sub, &dst->legacy_sub) ||
	    cb_account_set_groups(dst, (const char *const *)src->groups, src->n_groups) != CB_OK) {
		cb_account_free(dst);
		return CB_ERR_NOMEM;
	}
	return CB_OK;
}
