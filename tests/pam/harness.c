/* SPDX-License-Identifier: BSD-3-Clause */
/* See harness.h. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "accountdb.h"
#include "state.h"
#include "conf.h"
#include "harness.h"
#include "testutil.h"

struct harness g;

int read_int_file(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	int v = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL || fscanf(f, "%d", &v) != 1)
		v = 0;
	if (f != NULL)
		fclose(f);
	return v;
}

/* ---- the conversation ---------------------------------------------------- */

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void no_delay(int retval, unsigned usec_delay, void *arg)
{
	(void)retval;
	(void)arg;
	g.last_delay = usec_delay;
}

static void note(char *buf, size_t cap, const char *prefix, const char *text)
{
	size_t l = strlen(buf);

	snprintf(buf + l, cap - l, "%s%s|", prefix, text);
}

/* The reply to an '@' answer (see struct conv); malloc'd. */
static char *code_answer(const char *contact, const char *a)
{
	char code[8], buf[32], *sent;

	if (strcmp(a, "@expire") == 0)
		ctl("POST", "/clock", "{\"advance\": 601}");
	if (strcmp(a, "@slow") == 0)
		usleep(1500 * 1000);
	sent = outbox_code(contact);
	snprintf(code, sizeof(code), "%s", sent != NULL ? sent : "");
	free(sent);
	if (code[0] != '\0' && g.n_codes < (int)(sizeof(g.codes) / sizeof(g.codes[0])))
		memcpy(g.codes[g.n_codes++], code, sizeof(code));
	if (code[0] == '\0')
		snprintf(code, sizeof(code), "123456"); /* nothing was sent */
	if (strcmp(a, "@wrong") == 0)
		for (int i = 0; code[i] != '\0'; i++)
			code[i] = (char)('0' + (code[i] - '0' + 1) % 10);
	if (strcmp(a, "@spaced") == 0) {
		snprintf(buf, sizeof(buf), " %.2s %.2s %.2s ", code, code + 2, code + 4);
		return strdup(buf);
	}
	return strdup(code);
}

/* The reply to answers[i]; NULL when it cannot be made (an allocation
 * failed: failure injection makes that happen). */
static char *reply_to(struct conv *c, int i)
{
	const char *a = c->answers[i];
	size_t len;
	char *s;

	if (c->contact != NULL && a[0] == '@')
		return code_answer(c->contact, a);
	/* answer_len: the matrix sends bytes past a NUL and 1 MiB answers */
	len = i == 0 && c->answer_len != 0 ? c->answer_len : strlen(a);
	s = malloc(len + 1);
	if (s != NULL) {
		memcpy(s, a, len);
		s[len] = '\0';
	}
	return s;
}

/* Which answer a prompt gets: its index, or -1 for PAM_CONV_ERR. */
static int answer_index(struct conv *c, int style)
{
	switch (c->mode) {
	case CONV_IN_ORDER:
		if (c->next >= CONV_MAX_ANSWERS || c->answers[c->next] == NULL)
			return -1;
		return c->next++;
	case CONV_SSHD:
		return style == PAM_PROMPT_ECHO_OFF && c->answers[0] != NULL ? 0 : -1;
	case CONV_SAME:
		return c->answers[0] != NULL ? 0 : -1;
	default:
		return -1;
	}
}

static void free_replies(struct pam_response *r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
}

int harness_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct conv *c = arg;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;
		int a;

		if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON) {
			note(c->messages, sizeof(c->messages), "", msg[i]->msg);
			note(c->transcript, sizeof(c->transcript),
			     style == PAM_ERROR_MSG ? "E:" : "I:", msg[i]->msg);
			continue;
		}
		note(c->prompts, sizeof(c->prompts), style == PAM_PROMPT_ECHO_OFF ? "*" : "",
		     msg[i]->msg);
		note(c->transcript, sizeof(c->transcript), style == PAM_PROMPT_ECHO_OFF ? "*" : "",
		     msg[i]->msg);
		if (c->n_asked <= CONV_MAX_ANSWERS)
			c->asked[c->n_asked++] = now_s();
		if (c->mode == CONV_NO_REPLY) {
			free_replies(r, i);
			*resp = NULL;
			return PAM_SUCCESS;
		}
		if (c->mode == CONV_NULL_REPLY)
			continue;
		a = answer_index(c, style);
		if (a < 0) {
			free_replies(r, i);
			return PAM_CONV_ERR;
		}
		if (c->delay_ms > 0)
			usleep(c->delay_ms * 1000);
		r[i].resp = reply_to(c, a);
	}
	*resp = r;
	return PAM_SUCCESS;
}

void conv_answers(struct conv *c, const char *const *list)
{
	for (int i = 0; list != NULL && list[i] != NULL && i < CONV_MAX_ANSWERS; i++)
		c->answers[i] = list[i];
}

/* ---- a transaction ------------------------------------------------------- */

pam_handle_t *harness_start(const char *service, const char *user, struct conv *c,
			    const char *rhost)
{
	/* libpam keeps a copy of the struct, not this pointer */
	const struct pam_conv conv = {harness_conv, c};
	pam_handle_t *pamh = NULL;
	char confdir[600];

	/* from g.dir, not g.confdir: a --login-once child is only handed that */
	snprintf(confdir, sizeof(confdir), "%s/pam.d", g.dir);
	assert_int_equal(pam_start_confdir(service, user, &conv, confdir, &pamh), PAM_SUCCESS);
	if (rhost != NULL)
		pam_set_item(pamh, PAM_RHOST, rhost);
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	return pamh;
}

int harness_login(const char *service, const char *user, const char *rhost, unsigned flags,
		  struct login_result *l)
{
	pam_handle_t *pamh = harness_start(service, user, &l->conv, rhost);
	double t0 = now_s();

	l->auth = pam_authenticate(pamh, 0);
	l->seconds = now_s() - t0;
	l->acct = -1;
	if ((flags & LOGIN_ACCT) && l->auth == PAM_SUCCESS)
		l->acct = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, l->auth);
	drain_log();
	return l->auth;
}

/* ---- syslog capture ------------------------------------------------------ */

static void open_devlog(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};

	unlink("/dev/log");
	g.logfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g.logfd < 0 || bind(g.logfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "# cannot bind /dev/log (run under tests/ns-run)\n");
		exit(99);
	}
}

static void append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n + 2 < cap) {
		memcpy(buf + *len, s, n);
		*len += n;
		buf[(*len)++] = '\n';
		buf[*len] = '\0';
	}
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int code_run(const char *service, const char *user, const char *contact, struct login_result *r,
	     const char *const *answers)
{
	memset(r, 0, sizeof(*r));
	r->conv.contact = contact;
	conv_answers(&r->conv, answers);
	return harness_login(service, user, "203.0.113.9", LOGIN_ACCT, r);
}

int code_login(const char *user, const char *contact, struct login_result *r,
	       const char *const *answers)
{
	return code_run("cb", user, contact, r, answers);
}

void write_method(const char *m, const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text), "method = %s\n%s", m, extra != NULL ? extra : "");
	write_config(text);
}

void drain_log(void)
{
	char buf[4096];
	ssize_t n;

	if (g.logfd < 0)
		return;
	pthread_mutex_lock(&log_lock);
	while ((n = recv(g.logfd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		append(g.log, sizeof(g.log), &g.loglen, buf, (size_t)n);
		append(g.testlog, sizeof(g.testlog), &g.testloglen, buf, (size_t)n);
	}
	pthread_mutex_unlock(&log_lock);
}

/* A datagram socket queues only a few messages (net.unix.max_dgram_qlen,
 * 10 by default) and syslog(3) blocks when it is full: one SMS login logs
 * more than that, so a thread keeps reading. */
static void *log_reader(void *arg)
{
	struct pollfd p = {.fd = g.logfd, .events = POLLIN};

	(void)arg;
	for (;;) {
		if (poll(&p, 1, 200) > 0)
			drain_log();
	}
	return NULL;
}

/* A test that forks (concurrent logins) may do so while the reader holds
 * log_lock: the child would wait for it forever. The child gets the lock
 * free and leaves /dev/log to the parent's reader (what it logs still
 * arrives there), so no line a test looks for is read by a child. */
static void log_before_fork(void)
{
	pthread_mutex_lock(&log_lock);
}

static void log_after_fork_parent(void)
{
	pthread_mutex_unlock(&log_lock);
}

static void log_after_fork_child(void)
{
	pthread_mutex_unlock(&log_lock);
	g.logfd = -1;
}

void log_reset(void)
{
	drain_log();
	pthread_mutex_lock(&log_lock);
	g.testloglen = 0;
	g.testlog[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

bool log_has(const char *s)
{
	drain_log();
	return strstr(g.testlog, s) != NULL;
}

/* ---- the emulator's control port ---------------------------------------- */

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
	(void)arg;
	if (g.ctl_len + sz * n < sizeof(g.ctl_body)) {
		memcpy(g.ctl_body + g.ctl_len, p, sz * n);
		g.ctl_len += sz * n;
		g.ctl_body[g.ctl_len] = '\0';
	}
	return sz * n;
}

long ctl_call(const char *method, const char *path, const char *json)
{
	return ctl_port_call(g.ctl_port, method, path, json);
}

long ctl_port_call(int port, const char *method, const char *path, const char *json)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[512];
	long status = 0;

	g.ctl_body[0] = '\0';
	g.ctl_len = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	if (json != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

void ctl(const char *method, const char *path, const char *json)
{
	long st = ctl_call(method, path, json);

	if (st != 200) {
		fprintf(stderr, "# control %s %s -> %ld %s\n", method, path, st, g.ctl_body);
		fail();
	}
}

void fault(const char *json)
{
	ctl("POST", "/faults", json);
}

long stat_of(const char *name)
{
	struct json_object *o, *v;
	long n = -1;

	ctl("GET", "/stats", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, name, &v))
		n = (long)json_object_get_int64(v);
	json_object_put(o);
	return n;
}

long path_count(const char *path)
{
	struct json_object *o, *bp, *v;
	long n = 0;

	ctl("GET", "/stats", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, "by_path", &bp) &&
	    json_object_object_get_ex(bp, path, &v))
		n = (long)json_object_get_int64(v);
	json_object_put(o);
	return n;
}

char *ctl_get_string(const char *path, const char *key)
{
	struct json_object *o, *v;
	char *s = NULL;

	if (ctl_call("GET", path, NULL) != 200)
		return NULL;
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		s = strdup(json_object_get_string(v));
	json_object_put(o);
	return s;
}

void raw_answer(const char *path, const char *body)
{
	struct json_object *rule = json_object_new_object(), *h = json_object_new_object();

	json_object_object_add(rule, "fault", json_object_new_string("raw"));
	json_object_object_add(rule, "status", json_object_new_int(200));
	json_object_object_add(rule, "count", json_object_new_int(1));
	json_object_object_add(rule, "path", json_object_new_string(path));
	json_object_object_add(h, "Content-Type", json_object_new_string("application/json"));
	json_object_object_add(rule, "headers", h);
	json_object_object_add(rule, "body", json_object_new_string(body));
	fault(json_object_to_json_string_ext(rule, JSON_C_TO_STRING_PLAIN));
	json_object_put(rule);
}

char *outbox_code(const char *contact)
{
	char path[400];
	size_t n =
		(size_t)snprintf(path, sizeof(path),
				 "/outbox?%s=", strchr(contact, '@') != NULL ? "email" : "phone");

	for (const char *p = contact; *p != '\0' && n + 4 < sizeof(path); p++)
		n += (size_t)snprintf(path + n, sizeof(path) - n,
				      *p == '+'	  ? "%%2B"
				      : *p == ' ' ? "%%20"
						  : "%c",
				      *p);
	return ctl_get_string(path, "code");
}

long outbox_count(const char *contact)
{
	struct json_object *o, *e, *c;
	long n = 0;

	ctl("GET", strchr(contact, '@') != NULL ? "/email-outbox" : "/outbox", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, contact, &e) &&
	    json_object_object_get_ex(e, "count", &c))
		n = (long)json_object_get_int64(c);
	json_object_put(o);
	return n;
}

/* One entry of the request log: path, and @letter of its connection. */
static void log_request(struct json_object *e, char *out, size_t outsz, bool connections,
			long *conns, int *n_conns)
{
	struct json_object *v;
	const char *path = "";
	long conn = -1;
	int c = 0;
	size_t l = strlen(out);

	if (json_object_object_get_ex(e, "path", &v))
		path = json_object_get_string(v);
	if (strncmp(path, "/auth/v1/", 9) == 0)
		path += 9;
	if (json_object_object_get_ex(e, "connection", &v))
		conn = (long)json_object_get_int64(v);
	while (c < *n_conns && conns[c] != conn)
		c++;
	if (c == *n_conns && *n_conns < 26)
		conns[(*n_conns)++] = conn;
	snprintf(out + l, outsz - l, "%s%s", l > 0 ? "," : "", path);
	if (connections) {
		l = strlen(out);
		snprintf(out + l, outsz - l, "@%c", 'a' + c);
	}
}

int request_log(char *out, size_t outsz, bool connections)
{
	struct json_object *o, *list;
	long conns[26];
	int n_conns = 0;

	out[0] = '\0';
	ctl("GET", "/requests", NULL);
	o = json_tokener_parse(g.ctl_body);
	if (o != NULL && json_object_object_get_ex(o, "requests", &list))
		for (size_t i = 0; i < json_object_array_length(list); i++)
			log_request(json_object_array_get_idx(list, i), out, outsz, connections,
				    conns, &n_conns);
	json_object_put(o);
	return n_conns;
}

/* ---- a login in a child process ------------------------------------------ */

int login_once_in_valgrind(const char *self, ...)
{
	char cmd[2048];
	size_t n;
	va_list ap;
	int rc;

	if (system("command -v valgrind >/dev/null") != 0) {
		fprintf(stderr, "# valgrind is missing (scripts/install-deps installs it)\n");
		fail();
	}
	n = (size_t)snprintf(cmd, sizeof(cmd),
			     "valgrind -q --error-exitcode=42 --leak-check=full "
			     "--errors-for-leak-kinds=definite,indirect "
			     "--show-leak-kinds=definite,indirect '%s' --login-once '%s'",
			     self, g.dir);
	va_start(ap, self);
	for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *))
		if (n < sizeof(cmd))
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " '%s'", a);
	va_end(ap);
	if (n + 4 >= sizeof(cmd))
		fail_msg("the valgrind command is too long");
	strcat(cmd, " >&2");
	rc = system(cmd);
	drain_log();
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* ---- fixtures ------------------------------------------------------------ */

/* Whether a line of the config text extra sets key. */
static bool sets(const char *extra, const char *key)
{
	size_t kl = strlen(key);

	for (const char *line = extra; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, key, kl) == 0 && line[kl + strspn(line + kl, " \t")] == '=')
			return true;
		line = nl != NULL ? nl + 1 : NULL;
	}
	return false;
}

/* Trusting the CA of the emulator in emu, with a 2 s connect_timeout and a
 * 5 s timeout, unless extra sets them. */
static void write_config_text(const char *url, const char *emu, const char *extra)
{
	char text[4096], ca[600];
	char *p;

	snprintf(ca, sizeof(ca), "ca_path = %s/capath\n", emu);
	snprintf(text, sizeof(text),
		 "# written by the pam tests\n"
		 "base_url = %s\n"
		 "client_id = test-env\n"
		 "client_secret_file = %s/secret\n"
		 "%s"
		 "accounts_db = %s/accounts.db\n"
		 "%s%s%s",
		 url, g.dir, sets(extra, "ca_path") ? "" : ca, g.dir,
		 sets(extra, "connect_timeout") ? "" : "connect_timeout = 2\n",
		 sets(extra, "timeout") ? "" : "timeout = 5\n", extra);
	p = test_write(g.dir, "cloudbase.conf", text, 0644);
	snprintf(g.conf_path, sizeof(g.conf_path), "%s", p);
	free(p);
}

void write_config_for(const char *emu, int port, const char *extra)
{
	char url[128];

	snprintf(url, sizeof(url), "https://127.0.0.1:%d/auth/v1", port);
	write_config_text(url, emu, extra);
}

void write_config_url(const char *url, const char *extra)
{
	write_config_text(url, g.emu, extra);
}

void write_config(const char *extra)
{
	write_config_for(g.emu, g.port, extra);
}

void write_service_text(const char *name, const char *text)
{
	char file[128];
	char *p;

	snprintf(file, sizeof(file), "pam.d/%s", name);
	p = test_write(g.dir, file, text, 0644);
	free(p);
}

void write_service(const char *name, const char *args)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "auth     required %s conf=%s %s\n"
		 "account  required %s conf=%s %s\n"
		 "password required %s conf=%s %s\n"
		 "session  required %s conf=%s %s\n",
		 g.so, g.conf_path, args, g.so, g.conf_path, args, g.so, g.conf_path, args, g.so,
		 g.conf_path, args);
	write_service_text(name, text);
}

/* The stores of the harness: g.dir/accounts.db and g.dir/state. */
static void stores_config(struct cb_config *cfg)
{
	char dbpath[512];

	cb_config_init(cfg);
	snprintf(dbpath, sizeof(dbpath), "%s/accounts.db", g.dir);
	cfg->accounts_db = strdup(dbpath);
}

static cb_status bind_edit(struct cb_state *st, void *arg, bool *write)
{
	free(st->sub);
	st->sub = strdup(arg);
	*write = true;
	return st->sub != NULL ? CB_OK : CB_ERR_NOMEM;
}

void bind_sub(const char *name, const char *sub)
{
	struct cb_config cfg;

	stores_config(&cfg);
	assert_int_equal(cb_state_update(&cfg, name, bind_edit, (void *)(uintptr_t)sub, NULL),
			 CB_OK);
	cb_config_free(&cfg);
}

void edit_state(const char *name, cb_state_edit_fn edit, void *arg)
{
	struct cb_config cfg;

	stores_config(&cfg);
	assert_int_equal(cb_state_update(&cfg, name, edit, arg, NULL), CB_OK);
	cb_config_free(&cfg);
}

cb_status load_state(const char *name, struct cb_state *st)
{
	struct cb_config cfg;
	cb_status rc;

	stores_config(&cfg);
	rc = cb_state_load(&cfg, name, st, NULL);
	cb_config_free(&cfg);
	return rc;
}

void state_path(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/state/users/%s", g.dir, name);
}

void add_record(const char *name, const char *login, const char *phone, const char *sub)
{
	add_record_email(name, login, phone, NULL, sub);
}

void add_record_email(const char *name, const char *login, const char *phone, const char *email,
		      const char *sub)
{
	struct cb_config cfg;
	struct cb_account a = {0};

	stores_config(&cfg);
	a.name = strdup(name);
	a.login = strdup(login);
	a.phone = phone != NULL ? strdup(phone) : NULL;
	a.email = email != NULL ? strdup(email) : NULL;
	assert_int_equal(cb_accountdb_add(&cfg, &a, sub, NULL), CB_OK);
	/* a record of an earlier run of the same name is not this account's */
	cb_state_remove(&cfg, name, NULL);
	if (sub != NULL)
		bind_sub(name, sub);
	cb_account_free(&a);
	cb_config_free(&cfg);
}

char *account_sub(const char *name)
{
	struct cb_config cfg;
	struct cb_state st;
	char *sub = NULL;

	stores_config(&cfg);
	if (cb_state_load(&cfg, name, &st, NULL) == CB_OK && st.sub != NULL)
		sub = strdup(st.sub);
	cb_state_free(&st);
	cb_config_free(&cfg);
	return sub;
}

void remove_accounts(void)
{
	char path[600];
	int rc;

	snprintf(path, sizeof(path), "rm -rf '%s/accounts.db' '%s/accounts.db.delta' '%s/state'",
		 g.dir, g.dir, g.dir);
	rc = system(path);
	(void)rc;
}

bool harness_init(bool no_log)
{
	char *p;

	g.logfd = -1;
	g.emu = getenv("EMU_DIR");
	g.so = getenv("PAM_CLOUDBASE_SO");
	g.helper_so = getenv("PAM_CBTEST_SO");
	if (g.emu == NULL || g.so == NULL)
		return false;
	g.port = read_int_file(g.emu, "port");
	g.ctl_port = read_int_file(g.emu, "control-port");
	if (no_log)
		return true;
	g.dir = test_tmpdir();
	snprintf(g.confdir, sizeof(g.confdir), "%s/pam.d", g.dir);
	snprintf(g.db, sizeof(g.db), "%s/accounts.db", g.dir);
	p = test_write(g.dir, "secret", "test-secret\n", 0600);
	free(p);
	mkdir(g.confdir, 0755);
	write_service_text("other", "auth required pam_deny.so\naccount required pam_deny.so\n");
	open_devlog();
	{
		pthread_t t;

		if (pthread_atfork(log_before_fork, log_after_fork_parent, log_after_fork_child) !=
			    0 ||
		    pthread_create(&t, NULL, log_reader, NULL) != 0)
			abort();
		pthread_detach(t);
	}
	return true;
}

void harness_done(void)
{
	if (g.dir != NULL)
		test_rmtree(g.dir);
	free(g.dir);
	g.dir = NULL;
}

int harness_run_group(const char *group, const struct CMUnitTest *tests, size_t n,
		      CMFixtureFunction group_setup)
{
	int rc;

	if (!harness_init(false)) {
		fprintf(stderr, "# run through %s_tests.sh\n", group);
		return 99;
	}
	rc = _cmocka_run_group_tests(group, tests, n, group_setup, NULL);
	harness_done();
	return rc;
}
