/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the state store (state.h, state_format.h): round trip,
 * the modes it creates whatever the umask, records it refuses (foreign
 * owner, loose mode, symlink, every kind of malformed text), concurrent
 * writers, a writer killed at each stage, the shielded writer of a
 * set-uid caller, sessions and their owners, notes for the account
 * database.
 *
 * Kill points are system calls wrapped at link time (local.mk). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "accountdb.h"
#include "state.h"
#include "accountdb_testutil.h"
#include "killpoints.h"

/* a string literal as an edit function's argument */
#define ARG(s) ((void *)(uintptr_t)(s))

static struct dbfix fx;

static int setup(void **state)
{
	(void)state;
	dbfix_init(&fx);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dbfix_done(&fx);
	return 0;
}

static char *path_of(const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/db/state/%s", fx.dir, rel) > 0);
	return p;
}

struct fill {
	const char *sub;
	int sessions;
};

static cb_status edit_fill(struct cb_state *st, void *arg, bool *write)
{
	const struct fill *f = arg;
	const char *groups[] = {"admin", "user with space"};
	cb_status rc = CB_OK;

	free(st->sub);
	st->sub = strdup(f->sub);
	for (size_t i = 0; i < st->n_sessions; i++)
		cb_state_session_free(&st->sessions[i]);
	st->n_sessions = 0;
	st->last_login = 1764500000;
	free(st->last_service);
	st->last_service = strdup("sshd");
	free(st->last_rhost);
	st->last_rhost = strdup("192.0.2.7");
	if (cb_state_set_groups(st, groups, 2, NULL) != CB_OK)
		return CB_ERR_NOMEM;
	for (int i = 0; rc == CB_OK && i < f->sessions; i++) {
		struct cb_state_session s, ev;
		char at[32];

		snprintf(at, sizeof(at), "at.%d", i);
		rc = cb_state_session_new(&s, at, i % 2 ? NULL : "rt.x", 7200, 1764500000 + i);
		if (rc == CB_OK)
			cb_state_session_add(st, &s, &ev);
		cb_state_session_free(&ev);
	}
	*write = true;
	return rc;
}

static void fill(const char *user, const char *sub, int sessions)
{
	struct fill f = {sub, sessions};

	assert_int_equal(cb_state_update(&fx.cfg, user, edit_fill, &f, &fx.log), CB_OK);
}

static void test_round_trip(void **state)
{
	struct cb_state st;
	struct stat sb;
	char *p;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_ERR_NOT_FOUND);
	fill("alice", "sub-a", 3);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_int_equal(st.generation, 1);
	assert_string_equal(st.sub, "sub-a");
	assert_int_equal(st.n_groups, 2);
	assert_string_equal(st.groups[1], "user with space");
	assert_int_equal(st.last_login, 1764500000);
	assert_string_equal(st.last_service, "sshd");
	assert_string_equal(st.last_rhost, "192.0.2.7");
	assert_int_equal(st.n_sessions, 3);
	assert_string_equal(st.sessions[0].access_token, "at.0");
	assert_string_equal(st.sessions[0].refresh_token, "rt.x");
	assert_null(st.sessions[1].refresh_token);
	assert_int_equal(st.sessions[2].access_expires, 1764500002 + 7200);
	assert_int_equal(st.sessions[0].pid, getpid());
	assert_true(cb_state_session_owner_alive(&st.sessions[0], 1764500000));
	assert_true(cb_state_session_owned_by(&st.sessions[0], getpid()));
	assert_false(st.sessions[0].closed);
	cb_state_free(&st);
	/* a second write bumps the generation */
	fill("alice", "sub-a", 0);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_int_equal(st.generation, 2);
	cb_state_free(&st);
	/* root's, 0600, in 0700 directories */
	p = path_of("users/alice");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, 0);
	free(p);
	p = path_of("");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	free(p);
	assert_int_equal(cb_state_remove(&fx.cfg, "alice", &fx.log), CB_OK);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_ERR_NOT_FOUND);
	assert_int_equal(cb_state_remove(&fx.cfg, "alice", &fx.log), CB_ERR_NOT_FOUND);
}

/* The directories get their modes explicitly: under umask 077 the
 * database's directory is still 0755 (non-root NSS lookups traverse it),
 * under umask 0 the state store is still 0700. */
static void test_umask(void **state)
{
	char *db_dir = NULL, *p;
	struct stat sb;
	mode_t old;

	(void)state;
	SKIP_UNLESS_ROOT();
	old = umask(077);
	fill("alice", "s", 0);
	umask(old);
	assert_true(asprintf(&db_dir, "%s/db", fx.dir) > 0);
	assert_int_equal(stat(db_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	free(db_dir);
	test_rmtree(fx.dir);
	assert_int_equal(mkdir(fx.dir, 0755), 0);
	old = umask(0);
	fill("alice", "s", 0);
	umask(old);
	p = path_of("users");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	free(p);
	p = path_of("users/alice");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	free(p);
}

static int owned_by_root(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	if (sb->st_uid != 0 || sb->st_gid != 0)
		fail_msg("%s is %d:%d, not root:root", path, (int)sb->st_uid, (int)sb->st_gid);
	return 0;
}

/* su and sudo are set-uid, not set-gid: the module runs with the invoking
 * user's group as its effective group, and what it creates is root's all
 * the same. */
static void test_caller_group(void **state)
{
	char *db_dir = NULL;

	(void)state;
	SKIP_UNLESS_ROOT();
	test_rmtree(fx.dir);
	assert_int_equal(mkdir(fx.dir, 0755), 0);
	assert_int_equal(setegid(65534), 0);
	fill("alice", "s", 1);
	fill("alice", "s2", 1);
	assert_int_equal(setegid(0), 0);
	assert_true(asprintf(&db_dir, "%s/db", fx.dir) > 0);
	assert_int_equal(nftw(db_dir, owned_by_root, 16, FTW_PHYS), 0);
	free(db_dir);
}

static void write_record(const char *text, mode_t mode)
{
	char *p = path_of("users/mallory");
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

#define HEAD "cloudbase-state 1\ngeneration 4\n"
#define SESSION_OK "session 0123456789abcdef0123456789abcdef 1 2 3 4 5 6 7 open at rt\n"

/* Refused, with a log line; never half-read. */
static void test_refused_records(void **state)
{
	static const char *const bad[] = {
		"", "cloudbase-state 2\ngeneration 1\nend\n", HEAD "sub a\n", /* no end line */
		HEAD "end", /* no final newline */
		HEAD "end\nsub b\n", /* after the end */
		"cloudbase-state 1\nsub a\nend\n", /* no generation */
		HEAD "generation 5\nend\n", /* twice */
		HEAD "sub a\nsub b\nend\n", /* twice */
		HEAD "color blue\nend\n", /* unknown key */
		HEAD "sub\nend\n", /* no value */
		HEAD "sub a\tb\nend\n", /* a control byte */
		HEAD "sub a\rb\nend\n", /* a control byte */
		HEAD "last_login 12x\nend\n", /* not a number */
		HEAD "last_login 99999999999999999999\nend\n", /* out of range */
		HEAD "last_service two words\nend\n", /* a WORD */
		HEAD "session 0123 1 2 3 4 5 6 7 open at rt\nend\n",
		HEAD "session 0123456789abcdef0123456789abcdeX 1 2 3 4 5 6 7 open at rt\nend\n",
		HEAD "session 0123456789abcdef0123456789abcdef 1 2 3 4 5 6 7 maybe at rt\nend\n",
		HEAD "session 0123456789abcdef0123456789abcdef 1 2 3 4 5 6 7 open - rt\nend\n",
		HEAD "session 0123456789abcdef0123456789abcdef 1 2 3 4 5 6 7 open at\nend\n",
		HEAD "session 0123456789abcdef0123456789abcdef 1 2 3 4 5 6 7 open at rt x\nend\n",
		HEAD "session 0123456789abcdef0123456789abcdef 1 -2 3 4 5 6 7 open at rt\nend\n",
		HEAD "checked 12 maybe\nend\n", HEAD "checked 0 ok\nend\n",
		HEAD "checked 12 ok\nchecked 13 ok\nend\n", HEAD "claim 1 2\nend\n",
		HEAD "claim 1 2 3 4\nend\n", HEAD "claim 1 x 3\nend\n",
		/* offline login's verifier */
		HEAD "offline 12 0 0\nend\n", /* no hash */
		HEAD "offline 0 0 0 $y$j9T$salt$hash\nend\n", /* never set */
		HEAD "offline 12 1001 0 $y$j9T$salt$hash\nend\n", /* too many failures */
		HEAD "offline 12 0 -1 $y$j9T$salt$hash\nend\n",
		HEAD "offline 12 0 0 y$j9T$salt$hash\nend\n", /* not a crypt string */
		HEAD "offline 12 0 0 $y$j9T$sa:lt$hash\nend\n", /* outside its alphabet */
		HEAD "offline 12 0 0 $y$a\noffline 13 0 0 $y$b\nend\n", /* twice */
	};
	struct cb_state st;
	char big[CB_STATE_MAX_SIZE + 64];

	(void)state;
	SKIP_UNLESS_ROOT();
	fill("alice", "s", 0); /* the directories */
	/* a positive control of the same shape first */
	write_record(HEAD "sub a\n" SESSION_OK "checked 12 denied\nclaim 13 14 15\n"
			  "offline 16 2 17 $y$j9T$salt$hash/.09\nend\n",
		     0600);
	assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log), CB_OK);
	assert_string_equal(st.verifier, "$y$j9T$salt$hash/.09");
	assert_int_equal(st.verifier_set, 16);
	assert_int_equal(st.offline_failures, 2);
	assert_int_equal(st.offline_used, 17);
	assert_int_equal(st.n_sessions, 1);
	assert_int_equal(st.checked, 12);
	assert_false(st.checked_ok);
	assert_int_equal(st.claim, 13);
	assert_int_equal(st.claim_pid, 14);
	assert_int_equal(st.claim_pid_start, 15);
	cb_state_free(&st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx.cap.len = 0;
		fx.cap.text[0] = '\0';
		write_record(bad[i], 0600);
		if (cb_state_load(&fx.cfg, "mallory", &st, &fx.log) != CB_ERR_CORRUPT) {
			print_message("# record %zu accepted: %s\n", i, bad[i]);
			fail();
		}
		if (strstr(fx.cap.text, "corrupt state record") == NULL) {
			print_message("# record %zu refused without its log line: %s\n", i,
				      fx.cap.text);
			fail();
		}
	}
	/* the empty record's line names no line 0 */
	fx.cap.len = 0;
	fx.cap.text[0] = '\0';
	write_record("", 0600);
	assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log), CB_ERR_CORRUPT);
	assert_non_null(strstr(fx.cap.text, "corrupt state record (not a whole record)"));
	/* a NUL byte: corrupt, as every other broken record */
	{
		static const char nul[] = HEAD "sub a\0b\nend\n";
		char *p = path_of("users/mallory");
		int fd;

		unlink(p);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, nul, sizeof(nul) - 1), (ssize_t)(sizeof(nul) - 1));
		close(fd);
		free(p);
		assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log), CB_ERR_CORRUPT);
	}
	/* too many sessions, too large */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		fputs(HEAD, f);
		for (int i = 0; i <= CB_STATE_MAX_SESSIONS; i++)
			fputs(SESSION_OK, f);
		fputs("end\n", f);
		fclose(f);
		write_record(text, 0600);
		assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log), CB_ERR_CORRUPT);
		free(text);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_record(big, 0600);
	assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log), CB_ERR_UNSAFE_FILE);
	/* untrusted files: loose mode, another owner, a symlink */
	write_record(HEAD "end\n", 0640);
	assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log), CB_ERR_UNSAFE_FILE);
	write_record(HEAD "end\n", 0600);
	{
		char *p = path_of("users/mallory"), *q = path_of("users/link");

		assert_int_equal(chown(p, 1, 1), 0);
		assert_int_equal(cb_state_load(&fx.cfg, "mallory", &st, &fx.log),
				 CB_ERR_UNSAFE_FILE);
		assert_int_equal(chown(p, 0, 0), 0);
		assert_int_equal(symlink(p, q), 0);
		assert_int_equal(cb_state_load(&fx.cfg, "link", &st, &fx.log), CB_ERR_UNSAFE_FILE);
		free(p);
		free(q);
	}
	/* a writer does not edit a record it cannot trust */
	write_record(HEAD "sub a\nsub b\nend\n", 0600);
	{
		struct fill f = {"new", 0};

		assert_int_equal(cb_state_update(&fx.cfg, "mallory", edit_fill, &f, &fx.log),
				 CB_ERR_CORRUPT);
	}
	/* a loose state directory makes every record untrusted */
	{
		char *p = path_of("");

		assert_int_equal(chmod(p, 0755), 0);
		assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_ERR_UNSAFE_FILE);
		assert_int_equal(chmod(p, 0700), 0);
		assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
		cb_state_free(&st);
		free(p);
	}
}

/* Values the format cannot hold are never written. */
static cb_status edit_bad(struct cb_state *st, void *arg, bool *write)
{
	free(st->sub);
	st->sub = strdup(arg);
	*write = true;
	return CB_OK;
}

static void test_unwritable_values(void **state)
{
	struct cb_state st;

	(void)state;
	SKIP_UNLESS_ROOT();
	fill("alice", "s", 0);
	assert_int_equal(cb_state_update(&fx.cfg, "alice", edit_bad, ARG("a\nsub b"), &fx.log),
			 CB_ERR_INPUT);
	assert_int_equal(cb_state_update(&fx.cfg, "alice", edit_bad, ARG(""), &fx.log),
			 CB_ERR_INPUT);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_string_equal(st.sub, "s");
	cb_state_free(&st);
	assert_int_equal(cb_state_update(&fx.cfg, "../alice", edit_bad, ARG("x"), &fx.log),
			 CB_ERR_INPUT);
}

static cb_status edit_count(struct cb_state *st, void *arg, bool *write)
{
	char buf[32];

	(void)arg;
	snprintf(buf, sizeof(buf), "%d", st->sub != NULL ? atoi(st->sub) + 1 : 1);
	free(st->sub);
	st->sub = strdup(buf);
	*write = true;
	return CB_OK;
}

/* 20 writers each add one to a counter in one record: no update is lost
 * (each re-reads and redoes its change when the record moved on). */
static void test_concurrent_updates(void **state)
{
	enum { N = 20 };
	pid_t pids[N];
	struct cb_state st;

	(void)state;
	SKIP_UNLESS_ROOT();
	fill("alice", "0", 0);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(cb_state_update(&fx.cfg, "alice", edit_count, NULL, NULL) == CB_OK
				      ? 0
				      : 1);
	}
	for (int i = 0; i < N; i++) {
		int ws;

		assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_string_equal(st.sub, "20");
	cb_state_free(&st);
}

/* ---- kill points (killpoints.h) ---- */

static size_t temps(void)
{
	char *p = path_of("tmp"), *cmd = NULL;
	size_t n;
	FILE *f;

	assert_true(asprintf(&cmd, "ls -A '%s' | wc -l", p) > 0);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%zu", &n), 1);
	pclose(f);
	free(cmd);
	free(p);
	return n;
}

static void test_killed_writer(void **state)
{
	static const enum kill_stage stages[] = {KILL_LOCKED, KILL_PARTIAL, KILL_BEFORE_RENAME,
						 KILL_RENAMED};
	static const char *const expect[] = {"old", "old", "old", "new"};
	struct cb_state st;

	(void)state;
	SKIP_UNLESS_ROOT();
	for (size_t s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
		int ws;
		pid_t pid;

		fill("alice", "old", 1);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			kill_stage = stages[s];
			fill("alice", "new", 1);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &ws, 0), pid);
		if (!WIFSIGNALED(ws) || WTERMSIG(ws) != SIGKILL)
			fail_msg("writer not killed at stage %d", (int)stages[s]);
		/* old or new, whole either way */
		assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
		assert_string_equal(st.sub, expect[s]);
		assert_int_equal(st.n_sessions, 1);
		cb_state_free(&st);
		/* the lock died with the writer; the next write clears its temp file */
		fill("alice", "after", 0);
		assert_int_equal(temps(), 0);
	}
}

/* A set-uid caller (real uid a user's) writes through a child with every
 * uid 0, which the user cannot signal. */
static cb_status edit_report(struct cb_state *st, void *arg, bool *write)
{
	uid_t r, e, s;
	char buf[64];

	(void)arg;
	getresuid(&r, &e, &s);
	snprintf(buf, sizeof(buf), "pid=%d ruid=%u suid=%u", (int)getpid(), (unsigned)r,
		 (unsigned)s);
	free(st->sub);
	st->sub = strdup(buf);
	*write = true;
	return CB_OK;
}

/* One shielded write in a child with su's uids and a file size limit of
 * 0 (soft, or hard as well): the exit status, 100 + a signal. */
static int shielded_child(bool hard)
{
	struct cb_state st;
	int ws;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		char buf[64];

		/* su's situation: real uid the user's; and the user set a file
		 * size limit that would kill a writer with SIGXFSZ */
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = 0;
		if (hard)
			rl.rlim_max = 0;
		if (setresuid(65534, 0, 65534) != 0 || setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(3);
		if (cb_state_update(&fx.cfg, "alice", edit_report, NULL, NULL) != CB_OK)
			_exit(1);
		/* the edit ran here: the write in another process, as root */
		if (cb_state_load(&fx.cfg, "alice", &st, NULL) != CB_OK)
			_exit(2);
		snprintf(buf, sizeof(buf), "pid=%d ruid=65534 suid=65534", (int)getpid());
		_exit(strcmp(st.sub, buf) == 0 ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	return WIFSIGNALED(ws) ? 100 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

static void test_shielded_writer(void **state)
{
	struct cb_state st;
	int rc;

	(void)state;
	SKIP_UNLESS_ROOT();
	fill("alice", "s", 0);
	assert_int_equal(shielded_child(false), 0);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_int_equal(st.generation, 2);
	cb_state_free(&st);
	/* a hard limit: undone where root has CAP_SYS_RESOURCE, else a clean
	 * refusal; never a writer killed half-way, never a damaged record */
	rc = shielded_child(true);
	assert_true(rc == 0 || rc == 1);
	assert_int_equal(cb_state_load(&fx.cfg, "alice", &st, &fx.log), CB_OK);
	assert_int_equal(st.generation, rc == 0 ? 3 : 2);
	cb_state_free(&st);
}

/* Sessions: their owner, and what a dead one looks like. */
static void test_session_owner(void **state)
{
	struct cb_state_session s;
	int ws;
	pid_t child;

	(void)state;
	assert_int_equal(cb_state_session_new(&s, "at", "rt", 0, 1), CB_OK);
	assert_true(cb_state_session_owned_by(&s, getpid()));
	assert_true(cb_state_session_owner_alive(&s, 1));
	assert_int_equal(s.access_expires, 0);
	/* made by a child: its parent (this process) owns it too */
	child = fork();
	if (child == 0) {
		struct cb_state_session c;

		if (cb_state_session_new(&c, "at", NULL, 10, 1) != CB_OK)
			_exit(1);
		_exit(c.ppid == getppid() && c.access_expires == 11 ? 0 : 2);
	}
	assert_int_equal(waitpid(child, &ws, 0), child);
	assert_int_equal(WEXITSTATUS(ws), 0);
	/* a pid reused by another process is not the owner */
	s.pid_start += 1;
	/* the parent counts only within the grace after the sign-in */
	s.ppid = getppid();
	s.ppid_start = cb_proc_start_time(s.ppid);
	assert_true(cb_state_session_owner_alive(&s, s.created + CB_STATE_PARENT_GRACE - 1));
	assert_false(cb_state_session_owner_alive(&s, s.created + CB_STATE_PARENT_GRACE));
	s.ppid = 0;
	assert_false(cb_state_session_owned_by(&s, getpid()));
	assert_false(cb_state_session_owner_alive(&s, 1));
	cb_state_session_free(&s);
}

static void test_pending_notes(void **state)
{
	struct cb_state_pending p;

	(void)state;
	SKIP_UNLESS_ROOT();
	assert_int_equal(cb_state_pending_list(&fx.cfg, &p, &fx.log), CB_OK);
	assert_int_equal(p.n, 0);
	cb_state_pending_done(&fx.cfg, &p, true);
	assert_int_equal(cb_state_pending_add(&fx.cfg, "alice", &fx.log), CB_OK);
	assert_int_equal(cb_state_pending_add(&fx.cfg, "alice", &fx.log), CB_OK);
	assert_int_equal(cb_state_pending_add(&fx.cfg, "bob.x", &fx.log), CB_OK);
	assert_int_equal(cb_state_pending_add(&fx.cfg, "../x", &fx.log), CB_ERR_INPUT);
	assert_int_equal(cb_state_pending_list(&fx.cfg, &p, &fx.log), CB_OK);
	assert_int_equal(p.n, 3);
	cb_state_pending_done(&fx.cfg, &p, true);
	assert_int_equal(cb_state_pending_list(&fx.cfg, &p, &fx.log), CB_OK);
	assert_int_equal(p.n, 0);
	cb_state_pending_done(&fx.cfg, &p, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_umask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shielded_writer, setup, teardown),
		cmocka_unit_test(test_session_owner),
		cmocka_unit_test_setup_teardown(test_pending_notes, setup, teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
