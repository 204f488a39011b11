/* SPDX-License-Identifier: BSD-3-Clause */
/* cloudbasectl: manage the CloudBase account database and check a host's
 * setup. See cloudbasectl(8).
 *
 * Exit codes: 0 success, 1 failure, 2 usage error, 3 no such account,
 * 4 already exists (name, local account or uid), 5 not root.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "accountdb.h"
#include "api.h"
#include "conf.h"
#include "i18n.h"
#include "localfiles.h"
#include "log.h"
#include "secure.h"
#include "state.h"
#include "userio.h"

enum exit_code {
	EX_OK_ = 0,
	EX_FAIL = 1,
	EX_USAGE_ = 2,
	EX_NOUSER = 3,
	EX_EXISTS = 4,
	EX_NOTROOT = 5,
};

static const struct cb_log tool_log = {cb_log_stderr_sink, (void *)"cloudbasectl", false};

static void usage(FILE *f)
{
	/* TRANSLATORS: only the descriptions; commands, options, CAPITALS stay */
	fputs(_("Usage: cloudbasectl [-c CONFIG] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  user add NAME --login LOGIN [--phone PHONE] [--email ADDRESS] [--sub SUB] "
		"[--uid UID]\n"
		"                [--shell SHELL] [--home DIR] [--gecos TEXT]\n"
		"                                  add a local account for a CloudBase user\n"
		"  user remove NAME                remove the account and its state\n"
		"  user list                       list the accounts\n"
		"  user show NAME                  show one account and its state\n"
		"  user unbind NAME                forget the CloudBase sub bound to NAME\n"
		"  user forget NAME                remove NAME's cached password (offline login)\n"
		"  user import [--replace] [--format csv|jsonl] FILE\n"
		"                                  add or update accounts from FILE (- for stdin)\n"
		"  user export [--format csv|jsonl] write every account to stdout\n"
		"  status                          check the config, secret and database\n"
		"\n"),
	      f);
	/* TRANSLATORS: %s is the default configuration file */
	fprintf(f,
		_("Options:\n"
		  "  -c, --config PATH   configuration file (default: %s)\n"
		  "  -h, --help          this help\n"
		  "\n"),
		cb_config_default_path());
	fputs(_("Exit codes: 0 ok, 1 failure, 2 usage, 3 no such account, 4 exists, 5 not "
		"root.\n"),
	      f);
}

/* getopt_long has already said what is wrong with the option (glibc's
 * message, in the admin's language, under argv[0], which the callers set to
 * the command's name): only the pointer to the help is left to say. */
static int option_error(void)
{
	fputs(_("Try 'cloudbasectl --help'.\n"), stderr);
	return EX_USAGE_;
}

/* msg: translated already */
static int usage_error(const char *msg)
{
	fprintf(stderr, _("cloudbasectl: %s (try --help)\n"), msg);
	return EX_USAGE_;
}

static int exit_for(cb_status rc)
{
	switch (rc) {
	case CB_OK:
		return EX_OK_;
	case CB_ERR_NOT_FOUND:
		return EX_NOUSER;
	case CB_ERR_EXISTS:
		return EX_EXISTS;
	default:
		return EX_FAIL;
	}
}

static int need_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	/* TRANSLATORS: %s is a command, "user add" */
	fprintf(stderr, _("cloudbasectl: %s: must be run as root\n"), what);
	return EX_NOTROOT;
}

static cb_status load_config(struct cb_config *cfg, const char *path, unsigned flags)
{
	cb_config_init(cfg);
	return cb_config_load_file(cfg, path, flags, &tool_log);
}

/* Strings from the database reach a terminal: escape control bytes. */
static const char *clean(const char *s, char *buf, size_t len)
{
	return cb_sanitize(buf, len, s != NULL ? s : "");
}

/* Columns on a terminal that s takes (a CJK character two); its length
 * in bytes when it is not text of the locale. */
static size_t text_cols(const char *s)
{
	wchar_t w[128];
	size_t n = mbstowcs(w, s, sizeof(w) / sizeof(w[0]));
	int cols;

	/* (size_t)-1 too: not text of the locale */
	if (n >= sizeof(w) / sizeof(w[0]))
		return strlen(s);
	cols = wcswidth(w, n);
	return cols < 0 ? strlen(s) : (size_t)cols;
}

/* s, then blanks up to width columns (at least one blank): the values
 * after a translated label line up in any language. */
static void print_padded(const char *s, size_t width)
{
	size_t cols = text_cols(s);

	fputs(s, stdout);
	do
		putchar(' ');
	while (++cols < width);
}

/* Blanks, then s ending at column width, then one blank. */
static void print_right(const char *s, size_t width)
{
	for (size_t cols = text_cols(s); cols < width; cols++)
		putchar(' ');
	printf("%s ", s);
}

/* A label of user show, translated: its value starts at column 13. */
static void label(const char *text)
{
	print_padded(text, 12);
}

/* t in epoch seconds as UTC; none when t is 0. */
static void print_time(const char *text, int64_t t, const char *none)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	snprintf(buf, sizeof(buf), "%s", none);
	if (t != 0 && gmtime_r(&tt, &tm) != NULL)
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	label(text);
	printf("%s\n", buf);
}

static void print_list(const char *text, char *const *list, size_t n)
{
	char b[1024];

	label(text);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", clean(list[i], b, sizeof(b)));
	printf("%s\n", n ? "" : "-");
}

/* A line "label: text" of user show. */
static void print_field(const char *text, const char *value)
{
	label(text);
	printf("%s\n", value);
}

/* What logins on this host recorded (never a token). */
static void show_state(const struct cb_state *st)
{
	char b[1024];
	size_t closed = 0;

	print_field(_("sub:"), st->sub ? clean(st->sub, b, sizeof(b)) : _("- (not bound)"));
	/* TRANSLATORS: the CloudBase groups of the last sign-in */
	print_list(_("signed in:"), st->groups, st->n_groups);
	print_time(_("last login:"), st->last_login, _("never"));
	/* TRANSLATORS: the service (sshd, sudo) and remote host of the last login */
	label(_("from:"));
	printf("%s", st->last_service ? clean(st->last_service, b, sizeof(b)) : "-");
	printf(" %s\n", st->last_rhost ? clean(st->last_rhost, b, sizeof(b)) : "");
	for (size_t i = 0; i < st->n_sessions; i++)
		closed += st->sessions[i].closed;
	label(_("sessions:"));
	printf(_("%zu open, %zu kept after logout\n"), st->n_sessions - closed, closed);
	if (st->n_sessions > 0)
		/* TRANSLATORS: until when the refresh token of the last session is valid */
		print_time(_("standing:"), st->sessions[st->n_sessions - 1].refresh_expires,
			   _("- (the service gave no refresh expiry)"));
	/* offline login: when the password was cached, never the hash */
	if (st->verifier != NULL) {
		/* TRANSLATORS: when the password for offline login was cached */
		print_time(_("cached:"), st->verifier_set, "-");
		label("");
		printf(P_("%u wrong password offline since\n", "%u wrong passwords offline since\n",
			  st->offline_failures),
		       (unsigned)st->offline_failures);
		/* TRANSLATORS: when the user last signed in offline */
		print_time(_("offline:"), st->offline_used, _("never"));
	} else {
		print_field(_("cached:"), _("- (no password cached for offline login)"));
	}
}

static void show_account(const struct cb_account *a, const struct cb_state *st)
{
	char b[1024];

	/* TRANSLATORS: the labels of user show: 11 columns at most (a CJK character is 2) */
	print_field(_("name:"), clean(a->name, b, sizeof(b)));
	label(_("uid:"));
	printf("%u\n", a->uid);
	label(_("gid:"));
	printf("%u\n", a->gid);
	print_field(_("gecos:"), clean(a->gecos, b, sizeof(b)));
	print_field(_("home:"), clean(a->home, b, sizeof(b)));
	print_field(_("shell:"), clean(a->shell, b, sizeof(b)));
	/* TRANSLATORS: the CloudBase login name */
	print_field(_("login:"), clean(a->login, b, sizeof(b)));
	print_field(_("phone:"), a->phone ? clean(a->phone, b, sizeof(b)) : "-");
	print_field(_("email:"), a->email ? clean(a->email, b, sizeof(b)) : "-");
	/* TRANSLATORS: the CloudBase groups on record */
	print_list(_("groups:"), a->groups, a->n_groups);
	/* TRANSLATORS: what the uid was derived from */
	label(_("uid from:"));
	if (a->flags & CB_ACCT_UID_PROBED)
		/* TRANSLATORS: %s is "sub" or "login" (not translated) */
		printf(_("%s (hashed uid was taken: probed)\n"),
		       a->flags & CB_ACCT_UID_FROM_SUB ? "sub" : "login");
	else
		printf("%s\n", a->flags & CB_ACCT_UID_FROM_SUB ? "sub" : "login");
	print_time(_("created:"), a->created, "-");
	show_state(st);
}

/* Offline login: the cached password goes, until the next online sign-in
 * (a user who left, a laptop lost). */
static cb_status edit_forget(struct cb_state *st, void *arg, bool *write)
{
	(void)arg;
	*write = st->verifier != NULL;
	cb_state_forget_verifier(st);
	return CB_OK;
}

static cb_status edit_bind(struct cb_state *st, void *arg, bool *write)
{
	free(st->sub);
	st->sub = strdup(arg);
	*write = true;
	return st->sub != NULL ? CB_OK : CB_ERR_NOMEM;
}

/* Unbinding: the next sign-in binds whoever it is. The sessions this host
 * held, and a cached password, were the old person's: forgotten with the
 * sub. */
static cb_status edit_unbind(struct cb_state *st, void *arg, bool *write)
{
	(void)arg;
	free(st->sub);
	st->sub = NULL;
	for (size_t i = 0; i < st->n_sessions; i++)
		cb_state_session_free(&st->sessions[i]);
	st->n_sessions = 0;
	cb_state_forget_verifier(st);
	*write = st->generation != 0;
	return CB_OK;
}

static const char *config_path;
static struct cb_config tool_cfg;
static bool tool_cfg_loaded;

/* The configuration of the user commands, loaded when a command has
 * checked its arguments (so that a usage error is said, exit 2, even
 * without a usable configuration). NULL, said on stderr, when it cannot
 * be used. */
static struct cb_config *tool_config(void)
{
	if (tool_cfg_loaded)
		return &tool_cfg;
	if (load_config(&tool_cfg, config_path, 0) != CB_OK) {
		fprintf(stderr, _("cloudbasectl: cannot use the configuration %s\n"), config_path);
		cb_config_free(&tool_cfg);
		return NULL;
	}
	tool_cfg_loaded = true;
	return &tool_cfg;
}

static int user_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{"login", required_argument, NULL, 'l'},
		{"phone", required_argument, NULL, 'p'},
		{"email", required_argument, NULL, 'e'},
		{"sub", required_argument, NULL, 's'},
		{"shell", required_argument, NULL, 'S'},
		{"home", required_argument, NULL, 'H'},
		{"gecos", required_argument, NULL, 'g'},
		{"uid", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	static char prog[] = "cloudbasectl user add";
	struct cb_account a = {0};
	struct cb_config *cfg;
	char **field, *sub = NULL;
	cb_status rc;
	int c, r;

	argv[0] = prog; /* what getopt's messages start with */
	optind = 0; /* 0: glibc starts over on the new argv */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'l':
			field = &a.login;
			break;
		case 'p':
			field = &a.phone;
			break;
		case 'e':
			field = &a.email;
			break;
		case 's':
			field = &sub;
			break;
		case 'S':
			field = &a.shell;
			break;
		case 'H':
			field = &a.home;
			break;
		case 'g':
			field = &a.gecos;
			break;
		case 'u':
			v = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v == 0 ||
			    v >= UINT32_MAX) {
				cb_account_free(&a);
				free(sub);
				return usage_error(_("user add: --uid needs a positive number"));
			}
			a.uid = (uint32_t)v;
			continue;
		default:
			cb_account_free(&a);
			free(sub);
			return option_error();
		}
		free(*field);
		if ((*field = strdup(optarg)) == NULL) {
			cb_account_free(&a);
			free(sub);
			return EX_FAIL;
		}
	}
	r = optind + 1 != argc ? usage_error(_("user add: exactly one NAME expected"))
	    : a.login == NULL  ? usage_error(_("user add: --login LOGIN is required"))
			       : need_root("user add");
	if (r == 0 && (cfg = tool_config()) == NULL)
		r = EX_FAIL;
	if (r != 0) {
		cb_account_free(&a);
		free(sub);
		return r;
	}
	if ((a.name = strdup(argv[optind])) == NULL) {
		cb_account_free(&a);
		free(sub);
		return EX_FAIL;
	}
	rc = cb_accountdb_add(cfg, &a, sub, &tool_log);
	/* a new account starts with no state: what a removed account of the
	 * same name left is not this person's */
	if (rc == CB_OK) {
		cb_status r2 = cb_state_remove(cfg, a.name, &tool_log);

		if (r2 != CB_OK && r2 != CB_ERR_NOT_FOUND)
			rc = r2;
	}
	if (rc == CB_OK && sub != NULL)
		rc = cb_state_update(cfg, a.name, edit_bind, sub, &tool_log);
	if (rc == CB_OK)
		printf(_("added %s (uid %u)\n"), a.name, a.uid);
	cb_account_free(&a);
	free(sub);
	return exit_for(rc);
}

static int user_one(const char *cmd, int argc, char **argv)
{
	struct cb_config *cfg;
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	static char prog[32];
	const char *name;
	cb_status rc;
	int r;

	/* no options: "--help" or "-x" is a usage error, not an account name */
	snprintf(prog, sizeof(prog), "cloudbasectl user %s", cmd);
	argv[0] = prog; /* what getopt's messages start with */
	optind = 0;
	if (getopt_long(argc, argv, "", none, NULL) != -1)
		return option_error();
	if (optind + 1 != argc) {
		char msg[256];

		/* TRANSLATORS: %s is the command: show, remove, unbind or forget */
		snprintf(msg, sizeof(msg), _("user %s: exactly one NAME expected"), cmd);
		return usage_error(msg);
	}
	name = argv[optind];
	if ((cfg = tool_config()) == NULL)
		return EX_FAIL;
	if (strcmp(cmd, "show") == 0) {
		struct cb_account a;
		struct cb_state st = {0};

		rc = cb_accountdb_get(cfg, name, &a, &tool_log);
		if (rc == CB_OK) {
			cb_status srs = cb_state_load(cfg, name, &st, &tool_log);

			if (srs != CB_OK && srs != CB_ERR_NOT_FOUND)
				fprintf(stderr,
					_("cloudbasectl: %s: state record not readable (%s)\n"),
					name, cb_status_name(srs));
			show_account(&a, &st);
		}
		cb_state_free(&st);
		cb_account_free(&a);
	} else if (strcmp(cmd, "remove") == 0) {
		if ((r = need_root("user remove")) != 0)
			return r;
		rc = cb_accountdb_remove(cfg, name, &tool_log);
		if (rc == CB_OK) {
			cb_status r2 = cb_state_remove(cfg, name, &tool_log);

			rc = r2 == CB_ERR_NOT_FOUND ? CB_OK : r2;
		}
	} else {
		struct cb_account a;
		bool forget = strcmp(cmd, "forget") == 0;

		if ((r = need_root(forget ? "user forget" : "user unbind")) != 0)
			return r;
		rc = cb_accountdb_get(cfg, name, &a, &tool_log);
		cb_account_free(&a);
		if (rc == CB_OK)
			rc = cb_state_update(cfg, name, forget ? edit_forget : edit_unbind, NULL,
					     &tool_log);
	}
	if (rc == CB_ERR_NOT_FOUND)
		fprintf(stderr, _("cloudbasectl: %s: no such account\n"),
			cb_valid_local_name(name) ? name : _("(invalid name)"));
	return exit_for(rc);
}

static int user_list(int argc)
{
	struct cb_config *cfg;
	struct cb_account *list = NULL;
	size_t n = 0;
	cb_status rc;

	if (argc != 1)
		return usage_error(_("user list takes no arguments"));
	if ((cfg = tool_config()) == NULL)
		return EX_FAIL;
	rc = cb_accountdb_list(cfg, &list, &n, &tool_log);
	if (rc != CB_OK)
		return EX_FAIL;
	/* the columns: name 32, uid 10 (right-aligned), bound 6, login */
	print_padded(_("NAME"), 33);
	print_right(_("UID"), 10);
	/* TRANSLATORS: a column: whether a CloudBase sub is bound (yes, no, ?) */
	print_padded(_("BOUND"), 7);
	printf("%s\n", _("LOGIN"));
	for (size_t i = 0; i < n; i++) {
		struct cb_state st;
		char b[1024];
		/* the state store is root's: others see "?" */
		cb_status srs = cb_state_load(cfg, list[i].name, &st, NULL);
		const char *bound = srs == CB_OK ? (st.sub != NULL ? _("yes") : _("no"))
				    : srs == CB_ERR_NOT_FOUND
					    ? (list[i].legacy_sub ? _("yes") : _("no"))
					    : "?";

		printf("%-32s %10u ", list[i].name, list[i].uid);
		print_padded(bound, 7);
		printf("%s\n", clean(list[i].login, b, sizeof(b)));
		cb_state_free(&st);
	}
	cb_account_list_free(list, n);
	return EX_OK_;
}

static bool parse_format(const char *v, enum cb_userio_format *fmt)
{
	if (strcmp(v, "csv") == 0)
		*fmt = CB_USERIO_CSV;
	else if (strcmp(v, "jsonl") == 0)
		*fmt = CB_USERIO_JSONL;
	else
		return false;
	return true;
}

static void forget_removed(struct cb_config *cfg, char **removed, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cb_status rc = cb_state_remove(cfg, removed[i], &tool_log);

		if (rc != CB_OK && rc != CB_ERR_NOT_FOUND)
			fprintf(stderr, _("cloudbasectl: %s: state record not removed\n"),
				removed[i]);
		free(removed[i]);
	}
	free(removed);
}

static int user_import(int argc, char **argv)
{
	struct cb_config *cfg;
	static const struct option opts[] = {
		{"replace", no_argument, NULL, 'r'},
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	static char prog[] = "cloudbasectl user import";
	enum cb_userio_format fmt = CB_USERIO_AUTO;
	struct cb_account *list = NULL;
	size_t n = 0, *lines = NULL, bad = 0, n_removed = 0;
	char **removed = NULL;
	bool replace = false;
	const char *path;
	FILE *f;
	cb_status rc;
	int c, r;

	argv[0] = prog; /* what getopt's messages start with */
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			replace = true;
		else if (c == '?')
			return option_error();
		else if (c != 'f' || !parse_format(optarg, &fmt))
			return usage_error(_("user import: --replace, --format csv|jsonl, FILE"));
	}
	if (optind + 1 != argc)
		return usage_error(_("user import: exactly one FILE expected"));
	if ((r = need_root("user import")) != 0)
		return r;
	if ((cfg = tool_config()) == NULL)
		return EX_FAIL;
	path = argv[optind];
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		fprintf(stderr, _("cloudbasectl: %s: %s\n"), path, strerror(errno));
		return EX_FAIL;
	}
	rc = cb_userio_read(f, strcmp(path, "-") == 0 ? "stdin" : path, fmt, &list, &n, &lines);
	if (f != stdin)
		fclose(f);
	if (rc == CB_OK)
		rc = cb_accountdb_import(cfg, list, n, replace, &removed, &n_removed, &bad,
					 &tool_log);
	if (rc != CB_OK && bad > 0 && bad <= n)
		fprintf(stderr, _("cloudbasectl: %s:%zu: account refused; nothing was changed\n"),
			path, lines[bad - 1]);
	if (rc == CB_OK) {
		forget_removed(cfg, removed, n_removed);
		if (replace)
			printf(P_("imported %zu account, removed %zu\n",
				  "imported %zu accounts, removed %zu\n", n),
			       n, n_removed);
		else
			printf(P_("imported %zu account\n", "imported %zu accounts\n", n), n);
	}
	cb_account_list_free(list, n);
	free(lines);
	return rc == CB_OK ? EX_OK_ : rc == CB_ERR_EXISTS ? EX_EXISTS : EX_FAIL;
}

static int user_export(int argc, char **argv)
{
	struct cb_config *cfg;
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	static char prog[] = "cloudbasectl user export";
	enum cb_userio_format fmt = CB_USERIO_CSV;
	struct cb_account *list = NULL;
	size_t n = 0;
	cb_status rc;
	int c;

	argv[0] = prog; /* what getopt's messages start with */
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c == '?')
			return option_error();
		else if (c != 'f' || !parse_format(optarg, &fmt))
			return usage_error(_("user export: --format csv|jsonl"));
	if (optind != argc)
		return usage_error(_("user export takes no arguments"));
	if ((cfg = tool_config()) == NULL)
		return EX_FAIL;
	rc = cb_accountdb_list(cfg, &list, &n, &tool_log);
	if (rc == CB_OK)
		rc = cb_userio_write(stdout, fmt, list, n);
	cb_account_list_free(list, n);
	return rc == CB_OK ? EX_OK_ : EX_FAIL;
}

static int cmd_user(int argc, char **argv)
{
	if (argc < 2)
		return usage_error(_("user: a subcommand is needed"));
	if (strcmp(argv[1], "add") == 0)
		return user_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return user_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return user_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return user_list(argc - 1);
	if (strcmp(argv[1], "remove") == 0 || strcmp(argv[1], "show") == 0 ||
	    strcmp(argv[1], "unbind") == 0 || strcmp(argv[1], "forget") == 0)
		return user_one(argv[1], argc - 1, argv + 1);
	return usage_error(_("user: unknown subcommand"));
}

/* A label of status, translated: its value starts at column 11. */
static void status_label(const char *text)
{
	print_padded(text, 10);
}

/* A refresh with a token that cannot exist: the service answers
 * invalid_grant only after it has accepted our client credentials, and
 * nothing changes on its side. So invalid_grant means reachable, TLS
 * verified and client accepted; unauthorized_client means a wrong client
 * id or secret. */
#define PROBE_REFRESH_TOKEN "cloudbasectl-status-probe"

/* The probe's informational lines ("service answered status=400
 * error=invalid_grant ...") are the expected answer when all is well:
 * printed only when the check fails, where they say what the service
 * answered. Errors and warnings pass at once. */
struct probe_log {
	char lines[4][CB_LOG_MAX];
	size_t n;
};

static void probe_sink(void *arg, int priority, const char *msg)
{
	struct probe_log *held = arg;

	if (priority < LOG_NOTICE) {
		cb_log_stderr_sink((void *)"cloudbasectl", priority, msg);
		return;
	}
	if (held->n < sizeof(held->lines) / sizeof(held->lines[0]))
		snprintf(held->lines[held->n++], sizeof(held->lines[0]), "%s", msg);
}

static int check_service(const struct cb_config *cfg)
{
	static struct probe_log held;
	const struct cb_log log = {probe_sink, &held, false};
	struct cb_tokens tok = {0};
	struct cb_api *api = NULL;
	cb_status st;
	char *url = cb_config_api_url(cfg);

	held.n = 0;
	st = cb_api_open(&api, cfg, &log);
	if (st == CB_OK)
		st = cb_api_token_refresh(api, PROBE_REFRESH_TOKEN, &tok);
	cb_tokens_free(&tok);
	for (size_t i = 0; st != CB_ERR_TOKEN && i < held.n; i++)
		cb_log_stderr_sink((void *)"cloudbasectl", LOG_INFO, held.lines[i]);
	status_label(_("service:"));
	switch (st) {
	case CB_ERR_TOKEN:
		/* TRANSLATORS: %s: the service's URL, then the id of the request */
		printf(_("ok, client accepted (%s, request id %s)\n"), url != NULL ? url : "?",
		       cb_api_request_id(api));
		break;
	case CB_ERR_CLIENT:
		printf(_("ERROR client id or secret refused (%s, request id %s)\n"),
		       url != NULL ? url : "?", cb_api_request_id(api));
		break;
	default:
		/* CB_OK too: a service that accepts a made-up token is not one to trust */
		/* TRANSLATORS: %s: a status name (as in the logs) or the next text */
		printf(_("ERROR %s (%s, request id %s)\n"),
		       st == CB_OK ? _("accepted a made-up refresh token") : cb_status_name(st),
		       url != NULL ? url : "?", cb_api_request_id(api));
		break;
	}
	cb_api_close(api);
	free(url);
	return st != CB_ERR_TOKEN;
}

/* The local groups group_map names: NSS gives a mapped group only when it
 * is in /etc/group (a missing one is logged by NSS, once per process, and
 * left out). Every CloudBase user of the CloudBase group gets the local
 * group's rights: the admin reads them here. 1 when one is missing. */
static int check_group_map(const struct cb_config *cfg)
{
	int failed = 0;

	for (size_t i = 0; i < cfg->n_group_map; i++) {
		const struct cb_group_map *gm = &cfg->group_map[i];
		uint32_t gid;
		cb_status rc = cb_local_group_gid(gm->local, &gid);

		status_label(_("groups:"));
		if (rc == CB_OK)
			/* TRANSLATORS: CloudBase group, local group, its gid */
			printf(_("ok, CloudBase group %s gives local group %s (gid %u)\n"),
			       gm->cloud, gm->local, (unsigned)gid);
		else if (rc == CB_ERR_NOT_FOUND)
			/* TRANSLATORS: local group, then the group_map entry's two names */
			printf(_("ERROR local group %s does not exist (group_map %s:%s)\n"),
			       gm->local, gm->cloud, gm->local);
		else
			printf(_("ERROR %s (%s)\n"), cb_status_name(rc), CB_GROUP_FILE);
		failed |= rc != CB_OK;
	}
	return failed;
}

static int cmd_status(const char *path, int argc)
{
	struct cb_config cfg;
	char *secret = NULL;
	size_t n = 0;
	int failed = 0, secret_failed = 0;
	cb_status rc;

	if (argc != 1)
		return usage_error(_("status takes no arguments"));
	rc = load_config(&cfg, path, CB_CONF_STRICT);
	if (rc == CB_OK)
		rc = cb_config_validate(&cfg, &tool_log);
	/* TRANSLATORS: the labels of status: 9 columns at most (a CJK character is 2) */
	status_label(_("config:"));
	printf(rc == CB_OK ? _("ok (%s)\n") : _("ERROR (%s)\n"), path);
	if (rc != CB_OK) {
		cb_config_free(&cfg);
		return EX_FAIL;
	}
	if (cfg.client_secret_file != NULL) {
		rc = cb_config_load_secret(&cfg, &secret, &tool_log);
		cb_free_secret(secret);
		status_label(_("secret:"));
		printf(rc == CB_OK ? _("ok (%s)\n") : _("ERROR (%s)\n"), cfg.client_secret_file);
		secret_failed = rc != CB_OK;
		if (secret_failed && geteuid() != 0)
			fputs(_("cloudbasectl: status: the client secret is root's: run status as "
				"root\n"),
			      stderr);
	} else {
		status_label(_("secret:"));
		printf("%s\n", _("none configured"));
	}
	rc = cb_accountdb_check(&cfg, &n, &tool_log);
	status_label(_("database:"));
	if (rc == CB_OK)
		printf(P_("ok, %zu account (%s)\n", "ok, %zu accounts (%s)\n", n), n,
		       cb_accountdb_path(&cfg));
	else if (rc == CB_ERR_NOT_FOUND)
		printf(_("none yet (%s)\n"), cb_accountdb_path(&cfg));
	else
		/* TRANSLATORS: %s: a status name (as in the logs), then the file */
		printf(_("ERROR %s (%s)\n"), cb_status_name(rc), cb_accountdb_path(&cfg));
	failed |= rc != CB_OK && rc != CB_ERR_NOT_FOUND;
	failed |= check_group_map(&cfg);
	if (secret_failed) {
		/* the module would not sign anyone in: nothing to probe */
		status_label(_("service:"));
		printf("%s\n", _("not checked: the client secret cannot be used"));
	} else
		failed |= check_service(&cfg);
	failed |= secret_failed;
	cb_config_free(&cfg);
	return failed ? EX_FAIL : EX_OK_;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static char prog[] = "cloudbasectl";
	const char *path = cb_config_default_path();
	int c, r;

	/* messages in the admin's language (LANG, LC_MESSAGES); log lines
	 * from lib/ stay English */
	setlocale(LC_ALL, "");
#ifdef ENABLE_NLS
	bindtextdomain(PACKAGE, LOCALEDIR);
	textdomain(PACKAGE);
#endif
	argv[0] = prog; /* getopt's messages: the name, not the path it was run by */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK_;
		default:
			return option_error();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error(_("a command is needed"));
	if (strcmp(argv[0], "status") == 0)
		return cmd_status(path, argc);
	if (strcmp(argv[0], "user") != 0)
		return usage_error(_("unknown command"));
	config_path = path;
	r = cmd_user(argc, argv);
	if (tool_cfg_loaded)
		cb_config_free(&tool_cfg);
	return r;
}
