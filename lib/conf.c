/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "fileutil.h"
#include "secure.h"

#ifndef CB_SYSCONFDIR
#define CB_SYSCONFDIR "/etc"
#endif
#ifndef CB_LOCALSTATEDIR
#define CB_LOCALSTATEDIR "/var"
#endif

#define DEFAULT_CONFIG CB_SYSCONFDIR "/cloudbase/cloudbase.conf"
#define DEFAULT_ACCOUNTS_DB CB_LOCALSTATEDIR "/lib/cloudbase/accounts.db"
#define MAX_VALUE 1024

enum key_type { T_STRING, T_URL, T_PATH, T_BOOL, T_UINT, T_METHOD, T_LIST, T_GROUPMAP, T_FACTOR };

enum key_scope { S_ANY, S_ARG_ONLY };

struct key_def {
	const char *name;
	enum key_type type;
	enum key_scope scope;
	size_t offset;
	unsigned long min, max; /* T_UINT */
};

#define K(n, t, sc)                                                                                \
	{                                                                                          \
#n, t, sc, offsetof(struct cb_config, n), 0, 0                                     \
	}
#define KU(n, lo, hi)                                                                              \
	{                                                                                          \
#n, T_UINT, S_ANY, offsetof(struct cb_config, n), lo, hi                           \
	}

static const struct key_def keys[] = {
	K(env, T_STRING, S_ANY),
	K(region, T_STRING, S_ANY),
	K(base_url, T_URL, S_ANY),
	K(client_id, T_STRING, S_ANY),
	K(client_secret_file, T_PATH, S_ANY),
	K(ca_file, T_PATH, S_ANY),
	K(ca_path, T_PATH, S_ANY),
	K(proxy, T_URL, S_ANY),
	KU(connect_timeout, 1, 60),
	KU(timeout, 1, 300),
	K(method, T_METHOD, S_ANY),
	K(require_groups, T_LIST, S_ANY),
	K(ignore_unknown_user, T_BOOL, S_ANY),
	K(acct_without_auth, T_BOOL, S_ANY),
	KU(account_check_interval, 0, 86400),
	KU(account_offline_grace, 0, 2592000),
	K(offline_login, T_BOOL, S_ANY),
	KU(offline_max_days, 1, 365),
	KU(offline_max_failures, 1, 100),
	K(offline_second_factor, T_FACTOR, S_ANY),
	KU(offline_hash_cost, 0, 11),
	KU(otp_retries, 1, 10),
	K(otp_echo, T_BOOL, S_ANY),
	K(sms_prompt_phone, T_BOOL, S_ANY),
	K(debug, T_BOOL, S_ANY),
	K(use_first_pass, T_BOOL, S_ARG_ONLY),
	K(try_first_pass, T_BOOL, S_ARG_ONLY),
	K(accounts_db, T_PATH, S_ANY),
	K(state_dir, T_PATH, S_ANY),
	KU(uid_min, 1000, 4294967294UL),
	KU(uid_max, 1000, 4294967294UL),
	K(group_map, T_GROUPMAP, S_ANY),
	K(default_shell, T_PATH, S_ANY),
	K(home_base, T_PATH, S_ANY),
};

static const char *const method_names[] = {
	[CB_METHOD_PASSWORD] = "password",
	[CB_METHOD_SMS] = "sms",
	[CB_METHOD_EMAIL] = "email",
	[CB_METHOD_PASSWORD_SMS] = "password+sms",
	[CB_METHOD_PASSWORD_EMAIL] = "password+email",
};

/* the menus, by their CB_CHOICE_* set */
static const char *const choice_names[8] = {
	[CB_CHOICE_PASSWORD | CB_CHOICE_SMS] = "password|sms",
	[CB_CHOICE_PASSWORD | CB_CHOICE_EMAIL] = "password|email",
	[CB_CHOICE_SMS | CB_CHOICE_EMAIL] = "sms|email",
	[CB_CHOICE_PASSWORD | CB_CHOICE_SMS | CB_CHOICE_EMAIL] = "password|sms|email",
};

const char *cb_config_method_name(const struct cb_config *cfg)
{
	if (cfg->method == CB_METHOD_CHOICE)
		return cfg->choices < 8 && choice_names[cfg->choices] != NULL
			       ? choice_names[cfg->choices]
			       : "unknown";
	return (size_t)cfg->method < sizeof(method_names) / sizeof(method_names[0]) &&
			       method_names[cfg->method] != NULL
		       ? method_names[cfg->method]
		       : "unknown";
}

/* "a|b[|c]" of password, sms, email, each once, at least two */
static bool parse_choices(const char *v, unsigned *choices)
{
	static const char *const words[] = {"password", "sms", "email"};
	const char *p = v;

	*choices = 0;
	for (int n = 0;; n++) {
		size_t len = strcspn(p, "|");
		unsigned bit = 0;

		for (unsigned i = 0; i < 3; i++)
			if (strlen(words[i]) == len && strncmp(p, words[i], len) == 0)
				bit = 1u << i;
		if (bit == 0 || (*choices & bit))
			return false;
		*choices |= bit;
		if (p[len] == '\0')
			return n >= 1;
		p += len + 1;
	}
}

const char *cb_config_default_path(void)
{
	return DEFAULT_CONFIG;
}

static void free_list(char **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(list[i]);
		list[i] = NULL;
	}
	*n = 0;
}

static void free_group_map(struct cb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_group_map; i++) {
		free(cfg->group_map[i].cloud);
		free(cfg->group_map[i].local);
	}
	memset(cfg->group_map, 0, sizeof(cfg->group_map));
	cfg->n_group_map = 0;
}

void cb_config_init(struct cb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->connect_timeout = 5;
	cfg->timeout = 10;
	cfg->method = CB_METHOD_PASSWORD;
	cfg->otp_retries = 3;
	cfg->account_check_interval = 300;
	cfg->offline_max_days = 7;
	cfg->offline_max_failures = 5;
	cfg->uid_min = 200000;
	cfg->uid_max = 2000199999;
}

void cb_config_free(struct cb_config *cfg)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char **sp = (char **)(void *)((char *)cfg + keys[i].offset);

		if (keys[i].type == T_STRING || keys[i].type == T_URL || keys[i].type == T_PATH) {
			free(*sp);
			*sp = NULL;
		}
	}
	free_list(cfg->require_groups, &cfg->n_require_groups);
	free_group_map(cfg);
	free(cfg->path);
	cb_config_init(cfg);
}

static const struct key_def *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return false; /* strtoull accepts "-1" and " 1" */
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return false;
	*out = (unsigned long)n;
	return true;
}

/* A group or name token: what a local group or CloudBase group may be. */
static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64 || s[0] == '-')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!(isalnum(c) || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Split v on commas and white space, calling fn on each token. */
static cb_status for_each_token(const char *v, cb_status (*fn)(void *, char *), void *arg)
{
	char *copy = strdup(v), *save = NULL;
	cb_status rc = CB_OK;

	if (copy == NULL)
		return CB_ERR_NOMEM;
	for (char *t = strtok_r(copy, ", \t", &save); t != NULL && rc == CB_OK;
	     t = strtok_r(NULL, ", \t", &save))
		rc = fn(arg, t);
	free(copy);
	return rc;
}

struct list_ctx {
	struct cb_config *cfg;
	bool groupmap;
};

static cb_status add_token(void *arg, char *tok)
{
	struct list_ctx *lc = arg;
	struct cb_config *cfg = lc->cfg;

	if (!lc->groupmap) {
		if (!valid_name(tok))
			return CB_ERR_CONFIG;
		if (cfg->n_require_groups >= CB_CONFIG_MAX_LIST)
			return CB_ERR_CONFIG;
		cfg->require_groups[cfg->n_require_groups] = strdup(tok);
		if (cfg->require_groups[cfg->n_require_groups] == NULL)
			return CB_ERR_NOMEM;
		cfg->n_require_groups++;
		return CB_OK;
	} else {
		char *colon = strchr(tok, ':');
		struct cb_group_map *gm;

		if (colon == NULL || cfg->n_group_map >= CB_CONFIG_MAX_LIST)
			return CB_ERR_CONFIG;
		*colon = '\0';
		if (!valid_name(tok) || !valid_name(colon + 1))
			return CB_ERR_CONFIG;
		gm = &cfg->group_map[cfg->n_group_map];
		gm->cloud = strdup(tok);
		gm->local = strdup(colon + 1);
		cfg->n_group_map++; /* counted first so free_group_map frees both */
		if (gm->cloud == NULL || gm->local == NULL)
			return CB_ERR_NOMEM;
		return CB_OK;
	}
}

bool cb_url_is_loopback_http(const char *url)
{
	static const char *const loopback[] = {"127.0.0.1", "[::1]", "localhost"};

	/* with userinfo the host is what follows the '@' */
	if (strncmp(url, "http://", 7) != 0 || strchr(url, '@') != NULL)
		return false;
	url += 7;
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t n = strlen(loopback[i]);

		if (strncmp(url, loopback[i], n) == 0 &&
		    (url[n] == ':' || url[n] == '/' || url[n] == '\0'))
			return true;
	}
	return false;
}

/* Does an authority start here (a host name, an IPv4 or a [IPv6] address)?
 * "https:////" would leave "https:" once the trailing slashes are cut. */
static bool has_host(const char *host)
{
	return isalnum((unsigned char)host[0]) || host[0] == '[';
}

/* base_url: https:// anywhere, http:// only to a loopback host (local testing
 * against the emulator). proxy: an http:// or https:// proxy URL. */
static bool valid_url(const char *key, const char *v)
{
	if (strchr(v, ' ') != NULL)
		return false;
	if (strncmp(v, "https://", 8) == 0)
		return has_host(v + 8);
	if (strncmp(v, "http://", 7) != 0)
		return false;
	if (strcmp(key, "proxy") == 0)
		return has_host(v + 7);
	return cb_url_is_loopback_http(v);
}

static cb_status set_string(char **slot, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return CB_ERR_NOMEM;
	free(*slot);
	*slot = copy;
	return CB_OK;
}

static cb_status bad(const struct cb_log *log, const char *where, const char *key, const char *why)
{
	cb_log(log, LOG_ERR, "%s: %s: %s", where, key, why);
	return CB_ERR_CONFIG;
}

cb_status cb_config_set(struct cb_config *cfg, const char *key, const char *value, unsigned flags,
			const char *where, const struct cb_log *log)
{
	const struct key_def *k = find_key(key);
	void *slot;
	unsigned long n;
	struct list_ctx lc = {cfg, false};
	cb_status rc;

	if (k == NULL) {
		if (flags & CB_CONF_QUIET)
			return CB_OK;
		cb_log(log, (flags & CB_CONF_STRICT) ? LOG_ERR : LOG_WARNING,
		       "%s: unknown option \"%s\"%s", where, key,
		       (flags & CB_CONF_STRICT) ? "" : ", ignored");
		return (flags & CB_CONF_STRICT) ? CB_ERR_CONFIG : CB_OK;
	}
	if (k->scope == S_ARG_ONLY && !(flags & CB_CONF_ARG))
		return bad(log, where, key, "only valid as a module argument");
	if (strlen(value) > MAX_VALUE || has_control(value))
		return bad(log, where, key, "value too long or has control characters");
	slot = (char *)cfg + k->offset;

	switch (k->type) {
	case T_STRING:
		if (value[0] == '\0' || strpbrk(value, " /?#@:") != NULL)
			return bad(log, where, key, "must be a non-empty word");
		return set_string(slot, value);
	case T_URL:
		/* "http://127.0.0.1:1@192.0.2.2/" goes to 192.0.2.2: the client
		 * credentials have their own keys, a URL never carries any */
		if (strcmp(key, "base_url") == 0 && strpbrk(value, "@?#") != NULL)
			return bad(log, where, key,
				   "must not hold a user name or password (userinfo: the host is "
				   "what follows the '@'), a query or a fragment; the client "
				   "credentials go in client_id and client_secret_file");
		if (!valid_url(key, value))
			return bad(log, where, key,
				   "must be an https:// URL (http:// only to 127.0.0.1, [::1] or "
				   "localhost)");
		return set_string(slot, value);
	case T_PATH:
		if (value[0] != '/')
			return bad(log, where, key, "must be an absolute path");
		return set_string(slot, value);
	case T_BOOL:
		if (!parse_bool(value, slot))
			return bad(log, where, key, "must be yes or no");
		return CB_OK;
	case T_FACTOR:
		if (strcmp(value, "require") == 0)
			cfg->offline_second_factor = CB_OFFLINE_REQUIRE;
		else if (strcmp(value, "skip") == 0)
			cfg->offline_second_factor = CB_OFFLINE_SKIP;
		else
			return bad(log, where, key, "must be require or skip");
		return CB_OK;
	case T_UINT:
		if (!parse_uint(value, k->min, k->max, &n)) {
			cb_log(log, LOG_ERR, "%s: %s: must be a whole number from %lu to %lu",
			       where, key, k->min, k->max);
			return CB_ERR_CONFIG;
		}
		if (strcmp(key, "uid_min") == 0 || strcmp(key, "uid_max") == 0)
			*(uint32_t *)slot = (uint32_t)n;
		else
			*(unsigned *)slot = (unsigned)n;
		return CB_OK;
	case T_METHOD:
		for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++) {
			if (method_names[i] != NULL && strcmp(value, method_names[i]) == 0) {
				cfg->method = (enum cb_method)i;
				cfg->choices = 0;
				return CB_OK;
			}
		}
		if (strchr(value, '|') != NULL && parse_choices(value, &cfg->choices)) {
			cfg->method = CB_METHOD_CHOICE;
			return CB_OK;
		}
		return bad(
			log, where, key,
			"must be password, sms, email, password+sms, password+email, or a menu of "
			"two or three of password, sms and email joined by | (password|sms)");
	case T_LIST:
		free_list(cfg->require_groups, &cfg->n_require_groups);
		rc = for_each_token(value, add_token, &lc);
		if (rc == CB_ERR_CONFIG)
			return bad(log, where, key, "must be a list of group names (at most 64)");
		return rc;
	case T_GROUPMAP:
		free_group_map(cfg);
		lc.groupmap = true;
		rc = for_each_token(value, add_token, &lc);
		if (rc == CB_ERR_CONFIG)
			return bad(log, where, key,
				   "must be a list of cloudgroup:localgroup pairs (at most 64)");
		return rc;
	}
	return CB_ERR_CONFIG;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

cb_status cb_config_parse(struct cb_config *cfg, const char *text, const char *name, unsigned flags,
			  const struct cb_log *log)
{
	char *copy = strdup(text), *save = NULL, *line;
	char seen[sizeof(keys) / sizeof(keys[0])] = {0};
	char where[256];
	unsigned lineno = 0;
	cb_status rc = CB_OK;
	const char *p;

	if (copy == NULL)
		return CB_ERR_NOMEM;
	/* strtok_r would skip empty lines and so miscount them: walk by hand */
	for (line = copy, p = copy; rc == CB_OK && p != NULL; line = save) {
		char *nl = strchr(line, '\n'), *eq, *key, *value;
		const struct key_def *k;

		if (nl != NULL)
			*nl = '\0';
		save = nl != NULL ? nl + 1 : NULL;
		p = save;
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		/* only for lines that hold a setting: a shipped config is mostly
		 * comments, and every process that resolves a name through NSS
		 * parses it once (bench/README.md) */
		snprintf(where, sizeof(where), "%s:%u", name, lineno);
		eq = strchr(key, '=');
		if (eq == NULL) {
			rc = bad(log, where, key, "expected key = value");
			break;
		}
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
		k = find_key(key);
		if (k != NULL) {
			size_t idx = (size_t)(k - keys);

			if (seen[idx]) {
				rc = bad(log, where, key, "given twice");
				break;
			}
			seen[idx] = 1;
		}
		rc = cb_config_set(cfg, key, value, flags & ~(unsigned)CB_CONF_ARG, where, log);
	}
	free(copy);
	return rc;
}

cb_status cb_config_load_file(struct cb_config *cfg, const char *path, unsigned flags,
			      const struct cb_log *log)
{
	char *text = NULL;
	cb_status rc;

	rc = cb_read_trusted(path, 0, CB_CONFIG_MAX_SIZE, &text, NULL, log);
	if (rc != CB_OK)
		return rc == CB_ERR_NOMEM ? rc : CB_ERR_CONFIG;
	rc = set_string(&cfg->path, path);
	if (rc == CB_OK)
		rc = cb_config_parse(cfg, text, path, flags, log);
	free(text);
	return rc;
}

cb_status cb_config_from_args(struct cb_config *cfg, int argc, const char **argv, unsigned flags,
			      const struct cb_log *log)
{
	const char *path = cb_config_default_path();
	cb_status rc;

	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "conf=", 5) == 0)
			path = argv[i] + 5;
	if (path[0] != '/')
		return bad(log, "argument", "conf", "must be an absolute path");
	rc = cb_config_load_file(cfg, path, flags, log);
	if (rc != CB_OK)
		return rc;
	for (int i = 0; i < argc && rc == CB_OK; i++) {
		const char *eq = strchr(argv[i], '=');
		char key[64];
		size_t klen;

		if (strncmp(argv[i], "conf=", 5) == 0)
			continue;
		klen = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if (klen == 0 || klen >= sizeof(key))
			return bad(log, "argument", argv[i], "malformed");
		memcpy(key, argv[i], klen);
		key[klen] = '\0';
		if (eq == NULL) {
			const struct key_def *k = find_key(key);

			if (k != NULL && k->type != T_BOOL)
				return bad(log, "argument", key, "needs a value");
		}
		rc = cb_config_set(cfg, key, eq != NULL ? eq + 1 : "yes", flags | CB_CONF_ARG,
				   "argument", log);
	}
	return rc == CB_OK ? cb_config_validate(cfg, log) : rc;
}

bool cb_config_arg_true(int argc, const char **argv, const char *key)
{
	size_t klen = strlen(key);
	bool set = false;

	for (int i = 0; i < argc; i++) {
		bool v;

		if (strncmp(argv[i], key, klen) != 0)
			continue;
		if (argv[i][klen] == '\0')
			set = true;
		else if (argv[i][klen] == '=' && parse_bool(argv[i] + klen + 1, &v))
			set = v;
	}
	return set;
}

cb_status cb_config_validate(const struct cb_config *cfg, const struct cb_log *log)
{
	const char *where = cfg->path != NULL ? cfg->path : "config";

	if (cfg->env == NULL && cfg->base_url == NULL)
		return bad(log, where, "env", "set env (or base_url)");
	if (cfg->uid_min >= cfg->uid_max)
		return bad(log, where, "uid_min", "must be below uid_max");
	if (cfg->use_first_pass && cfg->try_first_pass)
		return bad(log, where, "use_first_pass",
			   "use_first_pass and try_first_pass exclude each other");
	return CB_OK;
}

char *cb_config_api_url(const struct cb_config *cfg)
{
	char *url = NULL;
	size_t len;

	if (cfg->base_url != NULL) {
		url = strdup(cfg->base_url);
		if (url == NULL)
			return NULL;
		len = strlen(url);
		while (len > 0 && url[len - 1] == '/')
			url[--len] = '\0';
		return url;
	}
	if (cfg->env == NULL)
		return NULL;
	/* the classic form; the gateway form is reached through base_url */
	if (asprintf(&url, "https://%s.%s.tcb-api.tencentcloudapi.com/auth/v1", cfg->env,
		     cfg->region != NULL ? cfg->region : "ap-shanghai") < 0)
		return NULL;
	return url;
}

cb_status cb_config_load_secret(const struct cb_config *cfg, char **secret,
				const struct cb_log *log)
{
	size_t len = 0;
	cb_status rc;

	*secret = NULL;
	if (cfg->client_secret_file == NULL) {
		*secret = strdup("");
		return *secret != NULL ? CB_OK : CB_ERR_NOMEM;
	}
	rc = cb_read_trusted(cfg->client_secret_file, CB_TRUST_SECRET, CB_SECRET_MAX_SIZE, secret,
			     &len, log);
	if (rc != CB_OK)
		return rc == CB_ERR_NOMEM ? rc : CB_ERR_CONFIG;
	while (len > 0 && ((*secret)[len - 1] == '\n' || (*secret)[len - 1] == '\r'))
		(*secret)[--len] = '\0';
	if (has_control(*secret)) {
		cb_log(log, LOG_ERR, "%s: the secret has control characters, refused",
		       cfg->client_secret_file);
		cb_clear_secret(secret);
		return CB_ERR_CONFIG;
	}
	return CB_OK;
}

const char *cb_config_map_group(const struct cb_config *cfg, const char *cloud_group)
{
	for (size_t i = 0; i < cfg->n_group_map; i++)
		if (strcmp(cfg->group_map[i].cloud, cloud_group) == 0)
			return cfg->group_map[i].local;
	return NULL;
}

const char *cb_config_accounts_db(const struct cb_config *cfg)
{
	return cfg != NULL && cfg->accounts_db != NULL ? cfg->accounts_db : DEFAULT_ACCOUNTS_DB;
}

char *cb_config_state_dir(const struct cb_config *cfg)
{
	char *copy, *dir = NULL;

	if (cfg->state_dir != NULL)
		return strdup(cfg->state_dir);
	copy = strdup(cb_config_accounts_db(cfg));
	if (copy == NULL)
		return NULL;
	if (asprintf(&dir, "%s/state", dirname(copy)) < 0)
		dir = NULL;
	free(copy);
	return dir;
}
