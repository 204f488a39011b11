/* SPDX-License-Identifier: BSD-3-Clause */
/* Offline login (offline_login): the password checked against a verifier
 * kept from the last online password sign-in, only while the service
 * cannot be reached.
 *
 * Decisions (pam_cloudbase(8), OFFLINE LOGIN, says the same to admins):
 *
 * - The verifier is yescrypt through libcrypt (crypt_gensalt_rn "$y$",
 *   crypt_rn), Debian's own password hash, in the user's root-only state
 *   record; never the password. Every online password sign-in replaces it
 *   (a fresh salt); with offline_login off it removes it.
 * - Unreachable means cb_api_unreachable(): no connection, DNS, the time
 *   budget, a 5xx, an answer that is not the service's (a redirect, one
 *   not declared JSON: a captive page), the service's "internal" or
 *   "unavailable". A TLS failure is not: a host whose CA store broke, or a
 *   network that intercepts TLS, must show up as the error it is, not turn
 *   every login into an offline one. A decision of the service (wrong
 *   password, blocked, pending, locked, rate limited) is never overridden,
 *   nor is an answer declared JSON that cannot be read (it may be a
 *   decision in a shape the module does not know).
 * - The service's "blocked", and its "wrong password" for the very
 *   password the verifier holds (changed at CloudBase), remove the
 *   verifier, for the rest of the call too; one that another process
 *   removed or replaced after this one read the record lets nobody in.
 * - Only when every sign-in of the call met the outage: after the
 *   service answered one (try_first_pass), the next is never offline.
 * - Bounded: offline_max_days after the online sign-in that set it (an
 *   older one is refused and removed); offline_max_failures wrong offline
 *   passwords since that sign-in, then none is tried until the next online
 *   one. A live check of the account phase that found the account refused
 *   removes it too.
 * - A right and a wrong password cost the same: one yescrypt computation
 *   and one write of the state record.
 */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "i18n.h"
#include "module.h"
#include "secure.h"

/* What the user is told before the result (PAM_TEXT_INFO). */
#define MSG_OFFLINE                                                                                \
	N_("The CloudBase service cannot be reached: signed in with the password cached on this "  \
	   "host.")

/* A setting of the same cost to hash against when there is no verifier, so
 * that "no verifier" takes as long as a wrong password. */
static cb_status setting_for(const struct cb_config *cfg, char *out, size_t outsz)
{
	if (crypt_gensalt_rn("$y$", cfg->offline_hash_cost, NULL, 0, out, (int)outsz) == NULL ||
	    out[0] == '*')
		return CB_ERR_SYSTEM;
	return CB_OK;
}

cb_status cb_pam_offline_hash(const struct cb_config *cfg, const char *password, char **out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	cb_status st;

	*out = NULL;
	st = setting_for(cfg, setting, sizeof(setting));
	if (st != CB_OK)
		return st;
	data = calloc(1, sizeof(*data));
	if (data == NULL)
		return CB_ERR_NOMEM;
	if (crypt_rn(password, setting, data, (int)sizeof(*data)) == NULL || data->output[0] != '$')
		st = CB_ERR_SYSTEM;
	else if ((*out = strdup(data->output)) == NULL)
		st = CB_ERR_NOMEM;
	cb_wipe(data, sizeof(*data));
	free(data);
	return st;
}

/* Is password the one verifier holds? One yescrypt computation whatever
 * the answer (against a fresh setting when verifier is NULL). */
static bool matches(const struct cb_config *cfg, const char *password, const char *verifier)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data = calloc(1, sizeof(*data));
	bool ok = false;
	size_t n;

	if (data == NULL)
		return false;
	if (verifier == NULL && setting_for(cfg, setting, sizeof(setting)) != CB_OK)
		setting[0] = '\0';
	if (crypt_rn(password, verifier != NULL ? verifier : setting, data, (int)sizeof(*data)) !=
		    NULL &&
	    verifier != NULL) {
		n = strlen(verifier);
		ok = strlen(data->output) == n && CRYPTO_memcmp(data->output, verifier, n) == 0;
	}
	cb_wipe(data, sizeof(*data));
	free(data);
	return ok;
}

static cb_status edit_forget(struct cb_state *st, void *arg, bool *write)
{
	(void)arg;
	*write = st->verifier != NULL;
	cb_state_forget_verifier(st);
	return CB_OK;
}

void cb_pam_offline_forget(struct cb_pam *ctx, const char *why)
{
	/* and the copy read at the start of the call, which a retry of the
	 * same call (try_first_pass) would otherwise check against */
	cb_state_forget_verifier(&ctx->st);
	if (cb_state_update(&ctx->cfg, ctx->user, edit_forget, NULL, &ctx->log) == CB_OK)
		cb_log(&ctx->log, LOG_NOTICE, "offline: the cached password of %s removed: %s",
		       ctx->user, why);
	else
		cb_log(&ctx->log, LOG_ERR,
		       "offline: the cached password of %s could not be removed (%s)", ctx->user,
		       why);
}

void cb_pam_offline_after(struct cb_pam *ctx, const char *password, cb_status st)
{
	if (ctx->st.verifier == NULL)
		return;
	if (st == CB_ERR_USER_BLOCKED)
		cb_pam_offline_forget(ctx, "the service says the account is blocked");
	else if (st == CB_ERR_AUTH && password != NULL &&
		 matches(&ctx->cfg, password, ctx->st.verifier))
		cb_pam_offline_forget(ctx, "the service refused the password it holds (changed "
					   "at CloudBase)");
}

struct use_edit {
	const char *verifier; /* the one checked */
	bool right;
	int64_t now;
	bool gone; /* out: the record no longer holds it */
};

/* Count the attempt on the verifier that was checked, if the record still
 * holds it: one another process has removed since (a "blocked" answer) or
 * replaced (an online sign-in) neither counts the attempt nor lets it in. */
static cb_status edit_use(struct cb_state *st, void *arg, bool *write)
{
	struct use_edit *u = arg;

	u->gone = st->verifier == NULL || strcmp(st->verifier, u->verifier) != 0;
	if (u->gone)
		return CB_OK;
	if (u->right)
		st->offline_used = u->now;
	else if (st->offline_failures < CB_STATE_MAX_FAILURES)
		st->offline_failures++;
	*write = true;
	return CB_OK;
}

/* Why the verifier cannot be used now, or NULL. */
static const char *unusable(struct cb_pam *ctx, int64_t now, bool *forget)
{
	const struct cb_state *st = &ctx->st;

	*forget = false;
	/* a retry of the same call (try_first_pass): the service that decided
	 * on the first password is there, whatever the second one meets */
	if (ctx->signin_answered)
		return "it answered an earlier sign-in of this login";
	if (st->verifier == NULL)
		return "no password is cached on this host (no online password sign-in since "
		       "offline_login was turned on)";
	if (now - st->verifier_set >= (int64_t)ctx->cfg.offline_max_days * 86400 ||
	    now < st->verifier_set) {
		*forget = true;
		return "the cached password is older than offline_max_days";
	}
	if (st->offline_failures >= ctx->cfg.offline_max_failures)
		return "offline_max_failures wrong passwords since the last online sign-in";
	if (!st->checked_ok && st->checked > st->verifier_set) {
		*forget = true;
		return "a live check refused the account since the password was cached";
	}
	if (ctx->bound_sub == NULL)
		return "the account is not bound to a CloudBase sub";
	return NULL;
}

cb_status cb_pam_offline_signin(struct cb_pam *ctx, const char *password, cb_status online)
{
	int64_t now = (int64_t)time(NULL);
	struct use_edit u = {NULL, false, now, false};
	bool forget;
	const char *why = unusable(ctx, now, &forget);
	cb_status st;

	if (why != NULL) {
		/* the same cost as a check, whatever the reason */
		matches(&ctx->cfg, password, NULL);
		cb_log(&ctx->log, LOG_NOTICE,
		       "offline: user=%s service=%s: the service is unreachable (%s) and %s: "
		       "refused",
		       ctx->user, ctx->service, cb_status_name(online), why);
		if (forget)
			cb_pam_offline_forget(ctx, why);
		return online;
	}
	u.verifier = ctx->st.verifier;
	u.right = matches(&ctx->cfg, password, ctx->st.verifier);
	st = cb_state_update(&ctx->cfg, ctx->user, edit_use, &u, &ctx->log);
	if (st == CB_OK && u.gone) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "offline: user=%s service=%s: the service is unreachable (%s) and the "
		       "cached password was removed or replaced meanwhile: refused",
		       ctx->user, ctx->service, cb_status_name(online));
		return online;
	}
	if (!u.right) {
		cb_log(&ctx->log, LOG_NOTICE,
		       "offline: user=%s service=%s: the service is unreachable (%s); wrong "
		       "password (%u of offline_max_failures=%u)",
		       ctx->user, ctx->service, cb_status_name(online),
		       ctx->st.offline_failures + 1, ctx->cfg.offline_max_failures);
		return CB_ERR_AUTH;
	}
	/* an attempt that could not be counted does not let anyone in */
	if (st != CB_OK)
		return st;
	cb_log(&ctx->log, LOG_WARNING,
	       "offline: user=%s service=%s rhost=%s signed in with the cached password: the "
	       "service is unreachable (%s); cached %lld s ago",
	       ctx->user, ctx->service, ctx->rhost, cb_status_name(online),
	       (long long)(now - ctx->st.verifier_set));
	cb_pam_tell(ctx, false, _(MSG_OFFLINE));
	return CB_OK;
}
