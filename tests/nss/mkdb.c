/* SPDX-License-Identifier: BSD-3-Clause */
/* mkdb PATH < SPEC: write an account database in one go, for the NSS tests
 * and the benchmark. One account per line, fields separated by spaces:
 *   NAME UID LOGIN [SUB|-] [GROUP,GROUP...|-] [GECOS...]
 * UID 0 means: hash it like cloudbasectl would not (tests pass explicit
 * uids). SUB is ignored: since format version 2 subs live in the state
 * store. GROUPs are the mapped CloudBase groups NSS serves. Exits 0 on
 * success. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountdb.h"

static void split_groups(struct cb_account *a, const char *list)
{
	char *copy, *save = NULL;

	if (list == NULL || strcmp(list, "-") == 0)
		return;
	copy = strdup(list);
	a->groups = calloc(CB_MAX_GROUPS, sizeof(char *));
	for (char *g = strtok_r(copy, ",", &save); g != NULL && a->n_groups < CB_MAX_GROUPS;
	     g = strtok_r(NULL, ",", &save))
		a->groups[a->n_groups++] = strdup(g);
	free(copy);
}

int main(int argc, char **argv)
{
	struct cb_log log = {cb_log_stderr_sink, (void *)"mkdb", false};
	struct cb_account *list = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	cb_status rc;

	if (argc != 2) {
		fputs("usage: mkdb PATH < SPEC\n", stderr);
		return 2;
	}
	while (getline(&line, &lcap, stdin) > 0) {
		char *save = NULL, *name, *uid, *login, *sub, *groups, *gecos;
		struct cb_account *a;

		line[strcspn(line, "\n")] = '\0';
		name = strtok_r(line, " ", &save);
		uid = strtok_r(NULL, " ", &save);
		login = strtok_r(NULL, " ", &save);
		sub = strtok_r(NULL, " ", &save);
		groups = strtok_r(NULL, " ", &save);
		gecos = strtok_r(NULL, "", &save);
		if (name == NULL || uid == NULL || login == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			list = realloc(list, cap * sizeof(*list));
			if (list == NULL)
				return 1;
		}
		a = &list[n++];
		memset(a, 0, sizeof(*a));
		a->name = strdup(name);
		a->uid = a->gid = (uint32_t)strtoul(uid, NULL, 10);
		a->login = strdup(login);
		(void)sub;
		split_groups(a, groups);
		a->gecos = strdup(gecos != NULL ? gecos : "");
		if (asprintf(&a->home, "/home/%s", name) < 0)
			return 1;
		a->shell = strdup("/bin/sh");
		a->created = 1700000000;
	}
	free(line);
	rc = cb_accountdb_write_file(argv[1], list, n, &log);
	cb_account_list_free(list, n);
	return rc == CB_OK ? 0 : 1;
}
