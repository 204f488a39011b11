/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_sm_open_session / pam_sm_close_session.
 *
 * The session of a login is its sign-in's CloudBase session, found in this
 * transaction (pam_set_data) or, when the sign-in ran in another process,
 * in the state store: sshd runs keyboard-interactive authentication in a
 * child and the session phases in that child's parent, which the state
 * store's entry names. Closing revokes the CloudBase session unless it is
 * the newest one of the user on this host, which is kept (marked closed)
 * for the account phase's checks of the account's standing; the next
 * sign-in revokes it (pam/state.c). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_modules.h>

#include "module.h"
#include "secure.h"

/* The index of this login's session in ctx->st, or -1. */
static long find_session(struct cb_pam *ctx)
{
	const struct cb_pam_state *mine = cb_pam_get_state(ctx);
	pid_t me = getpid();

	if (mine != NULL)
		return cb_state_session_find(&ctx->st, mine->session_id);
	/* the newest one signed in by this process or by a child of it */
	for (size_t i = ctx->st.n_sessions; i-- > 0;)
		if (!ctx->st.sessions[i].closed &&
		    cb_state_session_owned_by(&ctx->st.sessions[i], me))
			return (long)i;
	return -1;
}

struct own_edit {
	char id[CB_STATE_ID_LEN + 1];
	pid_t pid;
	uint64_t start;
};

static cb_status edit_own(struct cb_state *st, void *arg, bool *write)
{
	const struct own_edit *o = arg;
	long i = cb_state_session_find(st, o->id);

	if (i < 0)
		return CB_OK; /* revoked meanwhile by a newer sign-in */
	st->sessions[i].pid = (int32_t)o->pid;
	st->sessions[i].pid_start = o->start;
	st->sessions[i].ppid = 0;
	st->sessions[i].ppid_start = 0;
	*write = true;
	return CB_OK;
}

/* The process that opens the session holds the login from now on (sshd's
 * monitor after its keyboard-interactive child signed in): it alone says
 * whether the login is still running. A failure is logged; the entry's
 * parent then counts for CB_STATE_PARENT_GRACE seconds only. */
static void take_over(struct cb_pam *ctx, long i)
{
	const struct cb_state_session *s = &ctx->st.sessions[i];
	struct own_edit o;

	o.pid = getpid();
	o.start = cb_proc_start_time(o.pid);
	if (s->pid == (int32_t)o.pid && s->pid_start == o.start && s->ppid == 0)
		return;
	memcpy(o.id, s->id, sizeof(o.id));
	if (o.start == 0 || cb_state_update(&ctx->cfg, ctx->user, edit_own, &o, &ctx->log) != CB_OK)
		cb_log(&ctx->log, LOG_WARNING,
		       "session: the entry of %s could not be taken over by the process that "
		       "holds the login",
		       ctx->user);
}

void cb_pam_open_session(struct cb_pam *ctx, struct cb_outcome *out)
{
	long i = find_session(ctx);

	if (i < 0) {
		/* not signed in through us (e.g. a public key) */
		out->not_ours = true;
		out->detail = "no sign-in of this module to open a session for";
		return;
	}
	take_over(ctx, i);
	cb_log(&ctx->log, LOG_INFO, "session: user=%s service=%s rhost=%s session=%.8s opened",
	       ctx->user, ctx->service, ctx->rhost, ctx->st.sessions[i].id);
	out->quiet = true;
}

struct close_edit {
	char id[CB_STATE_ID_LEN + 1];
	struct cb_state_session taken; /* to revoke */
	bool kept;
};

static cb_status edit_close(struct cb_state *st, void *arg, bool *write)
{
	struct close_edit *c = arg;
	long i = cb_state_session_find(st, c->id);

	cb_state_session_free(&c->taken);
	c->kept = false;
	if (i < 0)
		return CB_OK; /* revoked meanwhile by a newer sign-in */
	*write = true;
	if ((size_t)i + 1 == st->n_sessions) {
		st->sessions[i].closed = true;
		c->kept = true;
		return CB_OK;
	}
	cb_state_session_take(st, (size_t)i, &c->taken);
	return CB_OK;
}

void cb_pam_close_session(struct cb_pam *ctx, struct cb_outcome *out)
{
	struct close_edit c;
	struct cb_api *api = NULL;
	long i = find_session(ctx);
	cb_status st;

	if (i < 0) {
		out->not_ours = true;
		out->detail = "no sign-in of this module to close a session for";
		return;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.id, ctx->st.sessions[i].id, sizeof(c.id));
	st = cb_state_update(&ctx->cfg, ctx->user, edit_close, &c, &ctx->log);
	if (st == CB_OK && c.taken.access_token != NULL) {
		st = cb_pam_api_open(ctx, &api);
		if (st == CB_OK) {
			st = cb_pam_revoke(ctx, api, &c.taken);
			cb_pam_api_close(ctx, api);
		}
	}
	cb_state_session_free(&c.taken);
	/* the session is over whatever the service said: a failed revoke is
	 * logged (the token expires on its own) but does not fail the logout
	 * (E_NEVER_FAILS) */
	out->st = st;
	out->detail = st != CB_OK ? "revoke failed"
		      : c.kept	  ? "session kept for account checks"
				  : "session revoked";
}
