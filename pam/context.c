/* SPDX-License-Identifier: BSD-3-Clause */
/* Setting up one entry point call: config, log sink, PAM items, the user. */
#include "config.h"

#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "i18n.h"
#include "localfiles.h"
#include "module.h"
#include "secure.h"

#ifdef ENABLE_NLS
/* The module's catalogues are where it was installed (LOCALEDIR), which
 * need not be where the application looks for its own: bound once per
 * process, as libpam binds its own domain in pam_start. Never
 * textdomain(): the application's default domain stays its own. */
static pthread_once_t textdomain_once = PTHREAD_ONCE_INIT;

static void bind_textdomain(void)
{
	bindtextdomain(PACKAGE, LOCALEDIR);
}
#endif

static void pam_sink(void *arg, int priority, const char *msg)
{
	pam_syslog((pam_handle_t *)arg, priority, "%s", msg);
}

static const char *item_or_dash(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL || *(const char *)v == '\0')
		return "-";
	return v;
}

cb_status cb_pam_begin(struct cb_pam *ctx, pam_handle_t *pamh, int flags, int argc,
		       const char **argv, const char *phase)
{
	cb_status st;

#ifdef ENABLE_NLS
	pthread_once(&textdomain_once, bind_textdomain);
#endif
	memset(ctx, 0, sizeof(*ctx));
	ctx->pamh = pamh;
	ctx->flags = flags;
	ctx->phase = phase;
	ctx->log.sink = pam_sink;
	ctx->log.arg = pamh;
	ctx->request_id = "-";
	ctx->service = item_or_dash(pamh, PAM_SERVICE);
	ctx->rhost = item_or_dash(pamh, PAM_RHOST);
	cb_config_init(&ctx->cfg);
	ctx->cfg_loaded = true;
	if (pam_get_user(pamh, &ctx->user, NULL) != PAM_SUCCESS || ctx->user == NULL) {
		ctx->user = NULL;
		return CB_ERR_CONV;
	}
	/* A local account is never the module's: with ignore_unknown_user as
	 * an argument it is left to the stack before the configuration is
	 * even read, so a broken or missing cloudbase.conf cannot lock root
	 * (or any local user) out of a stack that has the module in
	 * common-auth. */
	if (cb_config_arg_true(argc, argv, "ignore_unknown_user") &&
	    cb_valid_local_name(ctx->user) && cb_local_user_lookup(ctx->user) == CB_OK) {
		ctx->cfg.ignore_unknown_user = true;
		return CB_ERR_NOT_FOUND;
	}
	st = cb_config_from_args(&ctx->cfg, argc, argv, 0, &ctx->log);
	if (st != CB_OK)
		return st;
	ctx->log.debug = ctx->cfg.debug;
	/* a name no local account can have is never looked up or sent */
	if (!cb_valid_local_name(ctx->user))
		return CB_ERR_NOT_FOUND;
	return CB_OK;
}

void cb_pam_end(struct cb_pam *ctx)
{
	cb_clear_secret(&ctx->new_verifier);
	cb_state_free(&ctx->st);
	ctx->bound_sub = NULL;
	if (ctx->have_acct)
		cb_account_free(&ctx->acct);
	if (ctx->cfg_loaded)
		cb_config_free(&ctx->cfg);
	ctx->have_acct = false;
	ctx->cfg_loaded = false;
}

/* The user's state record: none yet is an unbound account (or one a
 * version 1 database binds); one that cannot be trusted refuses the user. */
static cb_status load_state(struct cb_pam *ctx)
{
	cb_status st = cb_state_load(&ctx->cfg, ctx->user, &ctx->st, &ctx->log);

	if (st == CB_ERR_NOT_FOUND)
		st = CB_OK;
	if (st != CB_OK) {
		cb_log(&ctx->log, LOG_ERR, "the state record of %s cannot be used: refused",
		       ctx->user);
		return st;
	}
	ctx->bound_sub = ctx->st.sub != NULL ? ctx->st.sub : ctx->acct.legacy_sub;
	return CB_OK;
}

cb_status cb_pam_lookup(struct cb_pam *ctx)
{
	cb_status st = cb_accountdb_get(&ctx->cfg, ctx->user, &ctx->acct, &ctx->log);
	cb_status local = st == CB_OK ? cb_local_user_lookup(ctx->user) : CB_ERR_NOT_FOUND;

	/* A record named like a local account (root, daemon, or an account
	 * created locally after the CloudBase one) would let a CloudBase
	 * password open that account: files come first in nsswitch.conf, so
	 * the login would be the local user's, uid 0 included. */
	if (local == CB_OK) {
		cb_log(&ctx->log, LOG_ERR,
		       "%s is a local account (/etc/passwd): its record in the account database is "
		       "ignored",
		       ctx->user);
		cb_account_free(&ctx->acct);
		return CB_ERR_NOT_FOUND;
	}
	/* unreadable /etc/passwd: a denial, never "not ours" (PAM_IGNORE with
	 * ignore_unknown_user would hand the decision to the rest of the stack) */
	if (local != CB_ERR_NOT_FOUND) {
		cb_log(&ctx->log, LOG_ERR, "cannot read /etc/passwd to check %s: refused",
		       ctx->user);
		cb_account_free(&ctx->acct);
		return local;
	}
	ctx->have_acct = st == CB_OK;
	if (st == CB_OK && (ctx->acct.login == NULL || ctx->acct.login[0] == '\0')) {
		cb_log(&ctx->log, LOG_ERR, "account record of %s has no CloudBase login",
		       ctx->user);
		return CB_ERR_CORRUPT;
	}
	return st == CB_OK ? load_state(ctx) : st;
}

/* pam_strerror in English: it speaks the application's language (libpam's
 * own catalogue, once su or sudo has set the locale from LANG), and admins
 * grep the decision line for "pam=Success". This thread alone is switched
 * to the C locale for the call. */
static const char *pam_text(pam_handle_t *pamh, int rc)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), old;
	const char *s;

	if (c == (locale_t)0)
		return pam_strerror(pamh, rc);
	old = uselocale(c);
	s = pam_strerror(pamh, rc);
	uselocale(old);
	freelocale(c);
	return s;
}

void cb_pam_decision(struct cb_pam *ctx, cb_status st, int pam_rc, const char *detail)
{
	/* people type passwords into the user name field: the name of a
	 * failed login for a user we do not know is logged only with debug */
	const char *user = ctx->user != NULL ? ctx->user : "-";

	if (!ctx->have_acct && st != CB_OK && !ctx->cfg.debug)
		user = "(unknown)";
	cb_log(&ctx->log, st == CB_OK ? LOG_INFO : LOG_NOTICE,
	       "%s: user=%s service=%s rhost=%s request_id=%s outcome=%s pam=%s%s%s", ctx->phase,
	       user, ctx->service, ctx->rhost, ctx->request_id,
	       st == CB_OK ? "ok" : cb_status_name(st), pam_text(ctx->pamh, pam_rc),
	       detail != NULL ? " " : "", detail != NULL ? detail : "");
}
