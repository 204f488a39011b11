/* SPDX-License-Identifier: BSD-3-Clause */
/* The per-user state store: see state.h; the format is state_format.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "hash.h"
#include "names.h"
#include "secure.h"
#include "shield.h"
#include "state.h"
#include "text.h"

#define LOCK_WAIT_MS 5000 /* holders are root's short-lived writers only */
#define UPDATE_TRIES 8

/* ---- paths ---- */

char *cb_state_dir(const struct cb_config *cfg)
{
	return cb_config_state_dir(cfg);
}

static char *state_path(const struct cb_config *cfg, const char *sub, const char *name)
{
	char *dir = cb_state_dir(cfg), *p = NULL;

	if (dir == NULL)
		return NULL;
	if (asprintf(&p, "%s%s%s%s%s", dir, sub != NULL ? "/" : "", sub != NULL ? sub : "",
		     name != NULL ? "/" : "", name != NULL ? name : "") < 0)
		p = NULL;
	free(dir);
	return p;
}

/* Is dir root's and closed to everyone else? CB_ERR_NOT_FOUND if absent. */
static cb_status check_private_dir(const char *dir, const struct cb_log *log)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return CB_ERR_NOT_FOUND;
		cb_log(log, LOG_ERR, "%s: %s", dir, cb_strerror(errno));
		return errno == EACCES ? CB_ERR_SYSTEM : CB_ERR_UNSAFE_FILE;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0) {
		cb_log(log, LOG_ERR, "%s: not a directory of root's with mode 0700, refused", dir);
		return CB_ERR_UNSAFE_FILE;
	}
	return CB_OK;
}

/* ---- records in memory ---- */

void cb_state_session_free(struct cb_state_session *s)
{
	cb_free_secret(s->access_token);
	cb_free_secret(s->refresh_token);
	cb_wipe(s, sizeof(*s));
}

static void free_groups(struct cb_state *st)
{
	for (size_t i = 0; i < st->n_groups; i++)
		free(st->groups[i]);
	free(st->groups);
	st->groups = NULL;
	st->n_groups = 0;
}

void cb_state_free(struct cb_state *st)
{
	if (st == NULL)
		return;
	free(st->sub);
	free_groups(st);
	free(st->last_service);
	free(st->last_rhost);
	for (size_t i = 0; i < st->n_sessions; i++)
		cb_state_session_free(&st->sessions[i]);
	cb_state_forget_verifier(st);
	memset(st, 0, sizeof(*st));
}

void cb_state_forget_verifier(struct cb_state *st)
{
	if (st->verifier != NULL) {
		cb_wipe(st->verifier, strlen(st->verifier));
		free(st->verifier);
	}
	st->verifier = NULL;
	st->verifier_set = 0;
	st->offline_failures = 0;
	st->offline_used = 0;
}

/* What crypt(3) writes: "$id$...$..." in its own alphabet. */
static bool verifier_ok(const char *v)
{
	size_t n = strnlen(v, CB_STATE_MAX_VERIFIER + 1);

	if (n < 4 || n > CB_STATE_MAX_VERIFIER || v[0] != '$')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= 'A' && v[i] <= 'Z') || v[i] == '.' || v[i] == '/' || v[i] == '$'))
			return false;
	return true;
}

static bool group_ok(const char *g)
{
	return g[0] != '\0' && cb_text_str_ok(g, CB_STATE_MAX_GROUP, CB_TEXT_ANY);
}

cb_status cb_state_set_groups(struct cb_state *st, const char *const *groups, size_t n,
			      size_t *skipped)
{
	char **g = NULL;
	size_t k = 0, skip = 0;

	if (n > 0 &&
	    (g = calloc(n < CB_STATE_MAX_GROUPS ? n : CB_STATE_MAX_GROUPS, sizeof(*g))) == NULL)
		return CB_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (k == CB_STATE_MAX_GROUPS || !group_ok(groups[i])) {
			skip++;
			continue;
		}
		if ((g[k] = strdup(groups[i])) == NULL) {
			for (size_t j = 0; j < k; j++)
				free(g[j]);
			free(g);
			return CB_ERR_NOMEM;
		}
		k++;
	}
	free_groups(st);
	st->groups = g;
	st->n_groups = k;
	if (skipped != NULL)
		*skipped = skip;
	return CB_OK;
}

/* ---- sessions ---- */

uint64_t cb_proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long start;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces and ')': fields follow its last ')' */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	/* the space before field n is the (n - 2)th after ')': state is field
	 * 3, starttime field 22 */
	for (int field = 3; field <= 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || p[1] < '0' || p[1] > '9')
		return 0;
	errno = 0;
	start = strtoull(p + 1, &end, 10);
	return errno == 0 && (*end == ' ' || *end == '\n' || *end == '\0') ? start : 0;
}

cb_status cb_state_session_new(struct cb_state_session *s, const char *access_token,
			       const char *refresh_token, long expires_in, int64_t now)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[CB_STATE_ID_LEN / 2];

	memset(s, 0, sizeof(*s));
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return CB_ERR_SYSTEM;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		s->id[2 * i] = hex[rnd[i] >> 4];
		s->id[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	s->created = now;
	s->pid = (int32_t)getpid();
	s->ppid = (int32_t)getppid();
	s->pid_start = cb_proc_start_time(s->pid);
	s->ppid_start = cb_proc_start_time(s->ppid);
	s->access_expires = expires_in > 0 ? now + expires_in : 0;
	s->access_token = strdup(access_token);
	s->refresh_token = refresh_token != NULL ? strdup(refresh_token) : NULL;
	if (s->access_token == NULL || (refresh_token != NULL && s->refresh_token == NULL)) {
		cb_state_session_free(s);
		return CB_ERR_NOMEM;
	}
	return CB_OK;
}

void cb_state_session_take(struct cb_state *st, size_t i, struct cb_state_session *out)
{
	*out = st->sessions[i];
	memmove(&st->sessions[i], &st->sessions[i + 1],
		(st->n_sessions - i - 1) * sizeof(st->sessions[0]));
	st->n_sessions--;
	memset(&st->sessions[st->n_sessions], 0, sizeof(st->sessions[0]));
}

void cb_state_session_add(struct cb_state *st, struct cb_state_session *s,
			  struct cb_state_session *evicted)
{
	memset(evicted, 0, sizeof(*evicted));
	if (st->n_sessions == CB_STATE_MAX_SESSIONS)
		cb_state_session_take(st, 0, evicted);
	st->sessions[st->n_sessions++] = *s;
	memset(s, 0, sizeof(*s));
}

static bool process_is(int32_t pid, uint64_t start)
{
	return pid > 0 && start != 0 && cb_proc_start_time(pid) == start;
}

bool cb_state_session_owner_alive(const struct cb_state_session *s, int64_t now)
{
	/* init adopts orphans: pid 1 says nothing of the sign-in */
	return process_is(s->pid, s->pid_start) ||
	       (s->ppid > 1 && now - s->created < CB_STATE_PARENT_GRACE &&
		process_is(s->ppid, s->ppid_start));
}

bool cb_state_claim_alive(const struct cb_state *st, int64_t now, int64_t max_age)
{
	return st->claim != 0 && now - st->claim < max_age && now >= st->claim &&
	       process_is(st->claim_pid, st->claim_pid_start);
}

bool cb_state_session_owned_by(const struct cb_state_session *s, pid_t pid)
{
	uint64_t start = cb_proc_start_time(pid);

	return start != 0 && ((s->pid == pid && s->pid_start == start) ||
			      (s->ppid == pid && s->ppid_start == start));
}

long cb_state_session_find(const struct cb_state *st, const char *id)
{
	for (size_t i = 0; i < st->n_sessions; i++)
		if (strcmp(st->sessions[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* ---- parsing ---- */

struct parser {
	const char *path;
	const struct cb_log *log;
	const char *why;
};

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool parse_pid(const char *s, int32_t *out)
{
	int64_t v;

	if (!parse_i64(s, &v) || v < 0 || v > INT32_MAX)
		return false;
	*out = (int32_t)v;
	return true;
}

/* A token field: "-" for none, else a WORD of at most max bytes. */
static bool parse_token(const char *s, size_t max, char **out)
{
	*out = NULL;
	if (strcmp(s, "-") == 0)
		return true;
	if (s[0] == '\0' || !cb_text_str_ok(s, max, CB_TEXT_WORD))
		return false;
	*out = strdup(s);
	return *out != NULL;
}

static bool id_ok(const char *s)
{
	if (strlen(s) != CB_STATE_ID_LEN)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Split v in place into exactly n (>= 1) fields, one space apart. */
static bool split_fields(char *v, char **f, size_t n)
{
	char *p = v;

	for (size_t k = 0; k < n; k++) {
		char *sp = strchr(p, ' ');

		f[k] = p;
		if (k + 1 == n)
			return sp == NULL; /* the last field: nothing after it */
		if (sp == NULL)
			return false; /* too few */
		*sp = '\0';
		p = sp + 1;
	}
	return false;
}

static bool parse_session(char *v, struct cb_state *st)
{
	char *f[11];
	struct cb_state_session *s;

	if (st->n_sessions == CB_STATE_MAX_SESSIONS)
		return false;
	if (!split_fields(v, f, 11) || (strcmp(f[8], "open") != 0 && strcmp(f[8], "closed") != 0))
		return false;
	s = &st->sessions[st->n_sessions];
	memset(s, 0, sizeof(*s));
	if (!id_ok(f[0]) || !parse_i64(f[1], &s->created) || !parse_pid(f[2], &s->pid) ||
	    !parse_u64(f[3], &s->pid_start) || !parse_pid(f[4], &s->ppid) ||
	    !parse_u64(f[5], &s->ppid_start) || !parse_i64(f[6], &s->access_expires) ||
	    !parse_i64(f[7], &s->refresh_expires) ||
	    !parse_token(f[9], CB_STATE_MAX_ACCESS, &s->access_token) || s->access_token == NULL ||
	    !parse_token(f[10], CB_STATE_MAX_REFRESH, &s->refresh_token)) {
		cb_state_session_free(s);
		return false;
	}
	memcpy(s->id, f[0], CB_STATE_ID_LEN + 1);
	s->closed = strcmp(f[8], "closed") == 0;
	st->n_sessions++;
	return true;
}

/* "SECONDS ok|denied" */
static bool parse_checked(char *v, struct cb_state *st)
{
	char *sp = strchr(v, ' ');

	if (sp == NULL)
		return false;
	*sp++ = '\0';
	if (strcmp(sp, "ok") != 0 && strcmp(sp, "denied") != 0)
		return false;
	st->checked_ok = strcmp(sp, "ok") == 0;
	return parse_i64(v, &st->checked) && st->checked > 0;
}

/* "SECONDS PID PSTART" */
static bool parse_claim(char *v, struct cb_state *st)
{
	char *f[3];

	return split_fields(v, f, 3) && parse_i64(f[0], &st->claim) && st->claim > 0 &&
	       parse_pid(f[1], &st->claim_pid) && parse_u64(f[2], &st->claim_pid_start);
}

static bool set_once(char **slot, const char *v, size_t max, enum cb_text_kind kind)
{
	if (*slot != NULL || v[0] == '\0' || !cb_text_str_ok(v, max, kind))
		return false;
	*slot = strdup(v);
	return *slot != NULL;
}

static bool add_group(struct cb_state *st, const char *v)
{
	char **g;

	if (st->n_groups == CB_STATE_MAX_GROUPS || !group_ok(v))
		return false;
	g = realloc(st->groups, (st->n_groups + 1) * sizeof(*g));
	if (g == NULL)
		return false;
	st->groups = g;
	if ((g[st->n_groups] = strdup(v)) == NULL)
		return false;
	st->n_groups++;
	return true;
}

/* "SET FAILURES USED HASH" */
static bool parse_offline(char *v, struct cb_state *st)
{
	char *f[4];
	uint64_t failures;

	if (!split_fields(v, f, 4) || !parse_i64(f[0], &st->verifier_set) ||
	    st->verifier_set <= 0 || !parse_u64(f[1], &failures) ||
	    failures > CB_STATE_MAX_FAILURES || !parse_i64(f[2], &st->offline_used) ||
	    st->offline_used < 0 || !verifier_ok(f[3]))
		return false;
	st->offline_failures = (uint32_t)failures;
	st->verifier = strdup(f[3]);
	return st->verifier != NULL;
}

/* One "KEY VALUE" line; seen counts the single keys. */
static bool parse_line(char *line, struct cb_state *st, unsigned *seen)
{
	char *v = strchr(line, ' ');

	if (v == NULL)
		return false;
	*v++ = '\0';
	if (strcmp(line, "group") == 0)
		return add_group(st, v);
	if (strcmp(line, "session") == 0)
		return parse_session(v, st);
	if (strcmp(line, "generation") == 0 && !(*seen & 1u)) {
		*seen |= 1u;
		return parse_u64(v, &st->generation);
	}
	if (strcmp(line, "last_login") == 0 && !(*seen & 2u)) {
		*seen |= 2u;
		return parse_i64(v, &st->last_login);
	}
	if (strcmp(line, "checked") == 0 && !(*seen & 4u)) {
		*seen |= 4u;
		return parse_checked(v, st);
	}
	if (strcmp(line, "claim") == 0 && !(*seen & 8u)) {
		*seen |= 8u;
		return parse_claim(v, st);
	}
	if (strcmp(line, "offline") == 0 && !(*seen & 16u)) {
		*seen |= 16u;
		return parse_offline(v, st);
	}
	if (strcmp(line, "sub") == 0)
		return set_once(&st->sub, v, CB_STATE_MAX_SUB, CB_TEXT_ANY);
	if (strcmp(line, "last_service") == 0)
		return set_once(&st->last_service, v, CB_STATE_MAX_TEXT, CB_TEXT_WORD);
	if (strcmp(line, "last_rhost") == 0)
		return set_once(&st->last_rhost, v, CB_STATE_MAX_TEXT, CB_TEXT_ANY);
	return false;
}

/* Parse the text of a record (modified in place). */
static cb_status parse(char *text, size_t len, struct cb_state *st, struct parser *p)
{
	char *line = text, *nl;
	unsigned seen = 0, lineno = 0;
	bool ended = false;

	memset(st, 0, sizeof(*st));
	if (len == 0 || text[len - 1] != '\n')
		p->why = "not a whole record";
	for (; p->why == NULL && line < text + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		*nl = '\0';
		lineno++;
		if (ended) {
			p->why = "text after the end line";
		} else if (lineno == 1) {
			if (strcmp(line, CB_STATE_MAGIC) != 0)
				p->why = "not a state record of this version";
		} else if (strcmp(line, CB_STATE_END) == 0) {
			ended = true;
		} else if (!parse_line(line, st, &seen)) {
			p->why = "a line is malformed, unknown, repeated or too long";
		}
		if (p->why != NULL)
			break;
	}
	if (p->why == NULL && !ended)
		p->why = "no end line";
	if (p->why == NULL && !(seen & 1u))
		p->why = "no generation";
	if (p->why != NULL && lineno == 0) {
		cb_log(p->log, LOG_ERR, "%s: corrupt state record (%s), refused", p->path, p->why);
	} else if (p->why != NULL) {
		cb_log(p->log, LOG_ERR, "%s: corrupt state record (line %u: %s), refused", p->path,
		       lineno, p->why);
	}
	if (p->why != NULL) {
		cb_state_free(st);
		return CB_ERR_CORRUPT;
	}
	return CB_OK;
}

static cb_status load_path(const char *path, struct cb_state *st, const struct cb_log *log)
{
	struct parser p = {path, log, NULL};
	char *text = NULL;
	size_t len = 0;
	cb_status rc;

	memset(st, 0, sizeof(*st));
	rc = cb_read_trusted(path, CB_TRUST_SECRET | CB_TRUST_MAY_BE_ABSENT, CB_STATE_MAX_SIZE,
			     &text, &len, log);
	/* a NUL byte (cb_read_trusted's CB_ERR_CONFIG, named for the
	 * configuration): in a record, that is corruption */
	if (rc == CB_ERR_CONFIG)
		return CB_ERR_CORRUPT;
	if (rc != CB_OK)
		return rc;
	rc = parse(text, len, st, &p);
	cb_wipe(text, len);
	free(text);
	return rc;
}

cb_status cb_state_load(const struct cb_config *cfg, const char *user, struct cb_state *st,
			const struct cb_log *log)
{
	char *dir = cb_state_dir(cfg), *users = state_path(cfg, CB_STATE_USERS, NULL);
	char *path = state_path(cfg, CB_STATE_USERS, user);
	cb_status rc = dir != NULL && users != NULL && path != NULL ? CB_OK : CB_ERR_NOMEM;

	memset(st, 0, sizeof(*st));
	if (rc == CB_OK && !cb_valid_local_name(user))
		rc = CB_ERR_NOT_FOUND;
	if (rc == CB_OK)
		rc = check_private_dir(dir, log);
	if (rc == CB_OK)
		rc = check_private_dir(users, log);
	if (rc == CB_OK)
		rc = load_path(path, st, log);
	free(dir);
	free(users);
	free(path);
	return rc;
}

/* ---- writing ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *p = malloc(cap);

		if (p == NULL) {
			b->failed = true;
			return;
		}
		memcpy(p, b->p, b->len);
		cb_wipe(b->p, b->cap); /* it may hold tokens */
		free(b->p);
		b->p = p;
		b->cap = cap;
	}
}

static bool fields_ok(const struct cb_state *st)
{
	if ((st->sub != NULL &&
	     (st->sub[0] == '\0' || !cb_text_str_ok(st->sub, CB_STATE_MAX_SUB, CB_TEXT_ANY))) ||
	    (st->last_service != NULL &&
	     (st->last_service[0] == '\0' ||
	      !cb_text_str_ok(st->last_service, CB_STATE_MAX_TEXT, CB_TEXT_WORD))) ||
	    (st->last_rhost != NULL &&
	     (st->last_rhost[0] == '\0' ||
	      !cb_text_str_ok(st->last_rhost, CB_STATE_MAX_TEXT, CB_TEXT_ANY))) ||
	    st->n_groups > CB_STATE_MAX_GROUPS || st->n_sessions > CB_STATE_MAX_SESSIONS ||
	    (st->verifier != NULL &&
	     (!verifier_ok(st->verifier) || st->verifier_set <= 0 ||
	      st->offline_failures > CB_STATE_MAX_FAILURES || st->offline_used < 0)))
		return false;
	for (size_t i = 0; i < st->n_groups; i++)
		if (!group_ok(st->groups[i]))
			return false;
	for (size_t i = 0; i < st->n_sessions; i++) {
		const struct cb_state_session *s = &st->sessions[i];

		if (!id_ok(s->id) || s->access_token == NULL || s->access_token[0] == '\0' ||
		    !cb_text_str_ok(s->access_token, CB_STATE_MAX_ACCESS, CB_TEXT_WORD) ||
		    strcmp(s->access_token, "-") == 0 ||
		    (s->refresh_token != NULL &&
		     (s->refresh_token[0] == '\0' || strcmp(s->refresh_token, "-") == 0 ||
		      !cb_text_str_ok(s->refresh_token, CB_STATE_MAX_REFRESH, CB_TEXT_WORD))))
			return false;
	}
	return true;
}

/* The text of st with generation gen; wipe and free b.p after use. */
static cb_status serialise(const struct cb_state *st, uint64_t gen, struct buf *b)
{
	memset(b, 0, sizeof(*b));
	if (!fields_ok(st))
		return CB_ERR_INPUT;
	b->cap = 4096;
	b->p = malloc(b->cap);
	if (b->p == NULL)
		return CB_ERR_NOMEM;
	put(b, "%s\ngeneration %" PRIu64 "\n", CB_STATE_MAGIC, gen);
	if (st->sub != NULL)
		put(b, "sub %s\n", st->sub);
	for (size_t i = 0; i < st->n_groups; i++)
		put(b, "group %s\n", st->groups[i]);
	if (st->last_login != 0)
		put(b, "last_login %" PRId64 "\n", st->last_login);
	if (st->last_service != NULL)
		put(b, "last_service %s\n", st->last_service);
	if (st->last_rhost != NULL)
		put(b, "last_rhost %s\n", st->last_rhost);
	if (st->checked > 0)
		put(b, "checked %" PRId64 " %s\n", st->checked, st->checked_ok ? "ok" : "denied");
	if (st->claim > 0)
		put(b, "claim %" PRId64 " %" PRId32 " %" PRIu64 "\n", st->claim, st->claim_pid,
		    st->claim_pid_start);
	if (st->verifier != NULL)
		put(b, "offline %" PRId64 " %" PRIu32 " %" PRId64 " %s\n", st->verifier_set,
		    st->offline_failures, st->offline_used, st->verifier);
	for (size_t i = 0; i < st->n_sessions; i++) {
		const struct cb_state_session *s = &st->sessions[i];

		put(b,
		    "session %s %" PRId64 " %" PRId32 " %" PRIu64 " %" PRId32 " %" PRIu64
		    " %" PRId64 " %" PRId64 " %s %s %s\n",
		    s->id, s->created, s->pid, s->pid_start, s->ppid, s->ppid_start,
		    s->access_expires, s->refresh_expires, s->closed ? "closed" : "open",
		    s->access_token, s->refresh_token != NULL ? s->refresh_token : "-");
	}
	put(b, "%s\n", CB_STATE_END);
	if (b->failed) {
		cb_wipe(b->p, b->cap);
		free(b->p);
		b->p = NULL;
		return CB_ERR_NOMEM;
	}
	if (b->len > CB_STATE_MAX_SIZE) {
		cb_wipe(b->p, b->cap);
		free(b->p);
		b->p = NULL;
		return CB_ERR_INPUT;
	}
	return CB_OK;
}

static cb_status ensure_dirs(const struct cb_config *cfg, const struct cb_log *log)
{
	static const char *const subs[] = {NULL, CB_STATE_USERS, CB_STATE_LOCKS, CB_STATE_TMP,
					   CB_STATE_PENDING};
	char *acc = strdup(cb_config_accounts_db(cfg)), *top;
	cb_status rc = acc != NULL ? CB_OK : CB_ERR_NOMEM;

	/* the database's directory: every process reads accounts.db there */
	if (rc == CB_OK && cfg->state_dir == NULL)
		rc = cb_ensure_dir(dirname(acc), 0755, false, log);
	free(acc);
	for (size_t i = 0; rc == CB_OK && i < sizeof(subs) / sizeof(subs[0]); i++) {
		top = state_path(cfg, subs[i], NULL);
		rc = top != NULL ? cb_ensure_dir(top, 0700, true, log) : CB_ERR_NOMEM;
		free(top);
	}
	return rc;
}

static cb_status lock_user(const struct cb_config *cfg, const char *user, int *fd,
			   const struct cb_log *log)
{
	char name[16], *path;
	cb_status rc;

	snprintf(name, sizeof(name), "%02u",
		 (unsigned)(cb_fnv1a64(user, strlen(user)) % CB_STATE_LOCK_STRIPES));
	path = state_path(cfg, CB_STATE_LOCKS, name);
	if (path == NULL)
		return CB_ERR_NOMEM;
	rc = cb_lock_file(path, LOCK_WAIT_MS, fd, log);
	free(path);
	return rc;
}

/* Under the user's lock: a "tmp/USER.XXXXXX" is a killed writer's. */
static void remove_stale_temps(const struct cb_config *cfg, const char *user)
{
	char *dir = state_path(cfg, CB_STATE_TMP, NULL);
	size_t ulen = strlen(user);
	struct dirent *e;
	DIR *d;

	if (dir == NULL)
		return;
	d = opendir(dir);
	free(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, user, ulen) == 0 && e->d_name[ulen] == '.' &&
		    strlen(e->d_name + ulen + 1) == 6)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

struct cas {
	const struct cb_config *cfg;
	const char *user;
	uint64_t expect; /* generation read, 0: no record */
	const struct buf *text; /* NULL: remove the record */
};

static cb_status cas_locked(const struct cas *c, const struct cb_log *log)
{
	char *path = state_path(c->cfg, CB_STATE_USERS, c->user), *prefix = NULL;
	struct cb_state cur;
	cb_status rc = path != NULL ? CB_OK : CB_ERR_NOMEM;

	if (rc == CB_OK) {
		rc = load_path(path, &cur, log);
		if (rc == CB_OK && cur.generation != c->expect)
			rc = CB_ERR_CONFLICT;
		else if (rc == CB_ERR_NOT_FOUND)
			rc = c->expect == 0 ? CB_OK : CB_ERR_CONFLICT;
		cb_state_free(&cur);
	}
	if (rc == CB_OK && c->text == NULL) {
		if (unlink(path) != 0) {
			cb_log(log, LOG_ERR, "%s: %s", path, cb_strerror(errno));
			rc = CB_ERR_SYSTEM;
		}
		if (rc == CB_OK)
			rc = cb_fsync_dir(dirname(path), log);
	} else if (rc == CB_OK) {
		char *tmpdir = state_path(c->cfg, CB_STATE_TMP, NULL);

		if (tmpdir == NULL || asprintf(&prefix, "%s/%s.", tmpdir, c->user) < 0) {
			prefix = NULL;
			rc = CB_ERR_NOMEM;
		}
		free(tmpdir);
		if (rc == CB_OK)
			rc = cb_replace_file(path, prefix, (const unsigned char *)c->text->p,
					     c->text->len, 0600, log);
	}
	free(path);
	free(prefix);
	return rc;
}

/* In the shielded child (or here when we are wholly root). */
static cb_status cas_write(void *arg, const struct cb_log *log)
{
	const struct cas *c = arg;
	int fd = -1;
	cb_status rc = ensure_dirs(c->cfg, log);

	if (rc == CB_OK)
		rc = lock_user(c->cfg, c->user, &fd, log);
	if (rc == CB_OK) {
		remove_stale_temps(c->cfg, c->user);
		rc = cas_locked(c, log);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

cb_status cb_state_update(const struct cb_config *cfg, const char *user, cb_state_edit_fn edit,
			  void *arg, const struct cb_log *log)
{
	struct cb_state st;
	struct buf text;
	cb_status rc = CB_ERR_CONFLICT;

	if (!cb_valid_local_name(user))
		return CB_ERR_INPUT;
	for (int i = 0; i < UPDATE_TRIES && rc == CB_ERR_CONFLICT; i++) {
		struct cas c = {cfg, user, 0, &text};
		bool write = false;

		rc = cb_state_load(cfg, user, &st, log);
		if (rc == CB_ERR_NOT_FOUND) {
			memset(&st, 0, sizeof(st));
			rc = CB_OK;
		}
		if (rc == CB_OK)
			rc = edit(&st, arg, &write);
		c.expect = st.generation;
		if (rc == CB_OK && write)
			rc = serialise(&st, st.generation + 1, &text);
		cb_state_free(&st);
		if (rc != CB_OK || !write)
			break;
		rc = cb_shield_run(cas_write, &c, log);
		cb_wipe(text.p, text.cap);
		free(text.p);
	}
	if (rc == CB_ERR_CONFLICT)
		cb_log(log, LOG_ERR, "state record of %s kept changing: not written", user);
	if (rc == CB_ERR_INPUT)
		cb_log(log, LOG_ERR, "state record of %s: a value the format cannot hold", user);
	return rc;
}

struct removal {
	const struct cb_config *cfg;
	const char *user;
};

static cb_status remove_locked(void *arg, const struct cb_log *log)
{
	const struct removal *r = arg;
	char *path = state_path(r->cfg, CB_STATE_USERS, r->user);
	char *copy = path != NULL ? strdup(path) : NULL;
	int fd = -1;
	cb_status rc = copy != NULL ? CB_OK : CB_ERR_NOMEM;

	if (rc == CB_OK)
		rc = ensure_dirs(r->cfg, log);
	if (rc == CB_OK)
		rc = lock_user(r->cfg, r->user, &fd, log);
	if (rc == CB_OK && unlink(path) != 0)
		rc = errno == ENOENT ? CB_ERR_NOT_FOUND : CB_ERR_SYSTEM;
	if (rc == CB_OK)
		rc = cb_fsync_dir(dirname(copy), log);
	if (fd >= 0)
		close(fd);
	free(path);
	free(copy);
	return rc;
}

cb_status cb_state_remove(const struct cb_config *cfg, const char *user, const struct cb_log *log)
{
	struct removal r = {cfg, user};

	if (!cb_valid_local_name(user))
		return CB_ERR_NOT_FOUND;
	return cb_shield_run(remove_locked, &r, log);
}

/* ---- notes for the account database ---- */

struct pending_arg {
	const struct cb_config *cfg;
	const char *user;
};

static cb_status pending_write(void *arg, const struct cb_log *log)
{
	const struct pending_arg *p = arg;
	char *dir = state_path(p->cfg, CB_STATE_PENDING, NULL), *path = NULL;
	cb_status rc = dir != NULL ? ensure_dirs(p->cfg, log) : CB_ERR_NOMEM;
	int fd;

	if (rc == CB_OK && asprintf(&path, "%s/%s.XXXXXX", dir, p->user) < 0) {
		path = NULL;
		rc = CB_ERR_NOMEM;
	}
	if (rc == CB_OK) {
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0) {
			cb_log(log, LOG_ERR, "%s: %s", path, cb_strerror(errno));
			rc = CB_ERR_SYSTEM;
		}
		if (fd >= 0)
			close(fd);
	}
	if (rc == CB_OK)
		rc = cb_fsync_dir(dir, log);
	free(dir);
	free(path);
	return rc;
}

cb_status cb_state_pending_add(const struct cb_config *cfg, const char *user,
			       const struct cb_log *log)
{
	struct pending_arg p = {cfg, user};

	if (!cb_valid_local_name(user))
		return CB_ERR_INPUT;
	return cb_shield_run(pending_write, &p, log);
}

static cb_status pending_push(struct cb_state_pending *p, const char *file)
{
	const char *dot = strrchr(file, '.');
	char **f, **u;

	if (dot == NULL || dot == file || strlen(dot + 1) != 6)
		return CB_OK; /* not a note */
	f = realloc(p->files, (p->n + 1) * sizeof(*f));
	if (f != NULL)
		p->files = f;
	u = realloc(p->users, (p->n + 1) * sizeof(*u));
	if (u != NULL)
		p->users = u;
	if (f == NULL || u == NULL)
		return CB_ERR_NOMEM;
	f[p->n] = strdup(file);
	u[p->n] = strndup(file, (size_t)(dot - file));
	if (f[p->n] == NULL || u[p->n] == NULL) {
		free(f[p->n]);
		free(u[p->n]);
		return CB_ERR_NOMEM;
	}
	if (!cb_valid_local_name(u[p->n])) {
		free(f[p->n]);
		free(u[p->n]);
		return CB_OK;
	}
	p->n++;
	return CB_OK;
}

cb_status cb_state_pending_list(const struct cb_config *cfg, struct cb_state_pending *p,
				const struct cb_log *log)
{
	char *dir = state_path(cfg, CB_STATE_PENDING, NULL);
	struct dirent *e;
	cb_status rc = CB_OK;
	DIR *d;

	memset(p, 0, sizeof(*p));
	if (dir == NULL)
		return CB_ERR_NOMEM;
	d = opendir(dir);
	if (d == NULL) {
		rc = errno == ENOENT ? CB_OK : CB_ERR_SYSTEM;
		if (rc != CB_OK)
			cb_log(log, LOG_ERR, "%s: %s", dir, cb_strerror(errno));
		free(dir);
		return rc;
	}
	while (rc == CB_OK && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			rc = pending_push(p, e->d_name);
	closedir(d);
	free(dir);
	if (rc != CB_OK)
		cb_state_pending_done(cfg, p, false);
	return rc;
}

void cb_state_pending_done(const struct cb_config *cfg, struct cb_state_pending *p, bool remove)
{
	char *dir = remove ? state_path(cfg, CB_STATE_PENDING, NULL) : NULL;

	for (size_t i = 0; i < p->n; i++) {
		if (dir != NULL) {
			char *path = NULL;

			if (asprintf(&path, "%s/%s", dir, p->files[i]) >= 0) {
				unlink(path);
				free(path);
			}
		}
		free(p->files[i]);
		free(p->users[i]);
	}
	free(p->files);
	free(p->users);
	free(dir);
	memset(p, 0, sizeof(*p));
}
