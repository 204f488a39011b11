/* SPDX-License-Identifier: BSD-3-Clause */
/* The configuration of pam_cloudbase: one struct, filled from the root-owned
 * config file and then from PAM module arguments, both through
 * cb_config_set(). See cloudbase.conf(5). */
#ifndef CB_CONF_H
#define CB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "status.h"

#define CB_CONFIG_MAX_SIZE (64 * 1024)
#define CB_SECRET_MAX_SIZE 4096
#define CB_CONFIG_MAX_LIST 64

enum cb_method {
	CB_METHOD_PASSWORD, /* "password" */
	CB_METHOD_SMS, /* "sms" */
	CB_METHOD_EMAIL, /* "email" */
	CB_METHOD_PASSWORD_SMS, /* "password+sms": both factors */
	CB_METHOD_PASSWORD_EMAIL, /* "password+email": both factors */
	CB_METHOD_CHOICE, /* "password|sms", ...: the user picks one of choices */
};

/* offline_second_factor: may password+sms/password+email users sign in
 * offline with the password alone? */
enum cb_offline_factor {
	CB_OFFLINE_REQUIRE, /* "require" (default): no */
	CB_OFFLINE_SKIP, /* "skip": yes, logged as a warning each time */
};

/* cb_config.choices: what the menu of CB_METHOD_CHOICE offers (two or
 * three of them, always in this order) */
#define CB_CHOICE_PASSWORD 0x1u
#define CB_CHOICE_SMS 0x2u
#define CB_CHOICE_EMAIL 0x4u

struct cb_group_map {
	char *cloud; /* CloudBase group name */
	char *local; /* local group it grants */
};

struct cb_config {
	/* where the service is */
	char *env;
	char *region;
	char *base_url; /* overrides env + region when set */
	char *client_id; /* defaults to env */
	char *client_secret_file;
	char *ca_file;
	char *ca_path;
	char *proxy;
	unsigned connect_timeout; /* seconds */
	unsigned timeout; /* seconds, whole login */

	/* how users log in */
	enum cb_method method;
	unsigned choices; /* CB_CHOICE_*, for CB_METHOD_CHOICE */
	char *require_groups[CB_CONFIG_MAX_LIST];
	size_t n_require_groups;
	bool ignore_unknown_user;
	bool acct_without_auth;
	unsigned account_check_interval; /* seconds */
	unsigned account_offline_grace; /* seconds, 0: deny when unreachable */
	/* offline login: the password checked against a verifier stored at the
	 * last online sign-in, only while the service is unreachable */
	bool offline_login;
	unsigned offline_max_days; /* since the last online sign-in, 1-365 */
	unsigned offline_max_failures; /* wrong offline passwords, then locked */
	enum cb_offline_factor offline_second_factor;
	unsigned offline_hash_cost; /* yescrypt cost 1-11; 0: libcrypt's default */
	unsigned otp_retries;
	bool otp_echo;
	bool sms_prompt_phone;
	bool debug;

	/* PAM stack options (module arguments only) */
	bool use_first_pass;
	bool try_first_pass;

	/* local accounts */
	char *accounts_db;
	char *state_dir;
	uint32_t uid_min;
	uint32_t uid_max;
	struct cb_group_map group_map[CB_CONFIG_MAX_LIST];
	size_t n_group_map;
	char *default_shell;
	char *home_base;

	/* where the values came from, for messages */
	char *path;
};

enum cb_config_flags {
	/* unknown keys are errors, not warnings (tests, cloudbasectl check) */
	CB_CONF_STRICT = 1 << 0,
	/* unknown keys are skipped silently (the NSS module: never noisy) */
	CB_CONF_QUIET = 1 << 1,
	/* the value comes from a PAM module argument */
	CB_CONF_ARG = 1 << 2,
};

/* The compiled-in path: $(sysconfdir)/cloudbase/cloudbase.conf */
const char *cb_config_default_path(void);

/* Fill cfg with the defaults. Never fails. */
void cb_config_init(struct cb_config *cfg);

/* Free every string in cfg and reset it to the defaults' shape. */
void cb_config_free(struct cb_config *cfg);

/* Set one key. where names the origin for messages ("file:12", "argument").
 * Returns CB_ERR_CONFIG with a logged reason on any invalid value. */
cb_status cb_config_set(struct cb_config *cfg, const char *key, const char *value, unsigned flags,
			const char *where, const struct cb_log *log);

/* Parse a config text (key = value lines, # comments). */
cb_status cb_config_parse(struct cb_config *cfg, const char *text, const char *name, unsigned flags,
			  const struct cb_log *log);

/* Read path through cb_read_trusted (root-owned, not group/world-writable,
 * regular file, no symlink, size-capped) and parse it. */
cb_status cb_config_load_file(struct cb_config *cfg, const char *path, unsigned flags,
			      const struct cb_log *log);

/* The PAM way: conf=PATH (or the default path) is loaded first, then every
 * other argument (key=value, or a bare boolean key meaning yes) overrides
 * it. Ends with cb_config_validate(). */
cb_status cb_config_from_args(struct cb_config *cfg, int argc, const char **argv, unsigned flags,
			      const struct cb_log *log);

/* Is the boolean key set to yes among the module arguments alone (the
 * bare key, or key=yes/true/on/1; the last one counts)? For decisions made
 * before the configuration file is read. */
bool cb_config_arg_true(int argc, const char **argv, const char *key);

/* Cross-key checks: env or base_url given, uid_min < uid_max, ... */
cb_status cb_config_validate(const struct cb_config *cfg, const struct cb_log *log);

/* The API base URL without a trailing slash, e.g.
 * https://ENV.ap-shanghai.tcb-api.tencentcloudapi.com/auth/v1
 * Returns a malloc'd string or NULL (no env and no base_url, or no memory). */
char *cb_config_api_url(const struct cb_config *cfg);

/* The account database: accounts_db, or the compiled-in
 * $(localstatedir)/lib/cloudbase/accounts.db. */
const char *cb_config_accounts_db(const struct cb_config *cfg);

/* The state store's directory: state_dir, else "state" beside the account
 * database. A malloc'd path, or NULL. */
char *cb_config_state_dir(const struct cb_config *cfg);

/* The client secret from client_secret_file (root-owned, mode 0600/0400).
 * No file configured gives an empty secret. Trailing newlines are dropped.
 * Free with cb_free_secret(). */
cb_status cb_config_load_secret(const struct cb_config *cfg, char **secret,
				const struct cb_log *log);

/* Is url http:// to 127.0.0.1, [::1] or localhost (the only plain-HTTP
 * base_url accepted: local testing)? A first check on the text, for the
 * config parser (libcbcore links no libcurl); the module decides on the URL
 * as libcurl parses it (cb_http_check_base_url). Never true for a URL with
 * an '@'. */
bool cb_url_is_loopback_http(const char *url);

/* The local group a CloudBase group maps to, or NULL. */
const char *cb_config_map_group(const struct cb_config *cfg, const char *cloud_group);

/* The method as the configuration spells it ("password|sms|email" for a
 * menu of all three). */
const char *cb_config_method_name(const struct cb_config *cfg);

#endif
