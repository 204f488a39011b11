/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the configuration parser and the trusted-file checks. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/types.h>

#include "conf.h"
#include "fileutil.h"
#include "secure.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_rmtree(dir);
	free(dir);
	return 0;
}

static cb_status parse(struct cb_config *cfg, const char *text, unsigned flags,
		       struct captured_log *cap)
{
	struct cb_log log = capture_log(cap);

	cb_config_init(cfg);
	return cb_config_parse(cfg, text, "test.conf", flags, &log);
}

static void test_defaults(void **state)
{
	struct cb_config cfg;

	(void)state;
	cb_config_init(&cfg);
	assert_int_equal(cfg.timeout, 10);
	assert_int_equal(cfg.connect_timeout, 5);
	assert_int_equal(cfg.method, CB_METHOD_PASSWORD);
	assert_int_equal(cfg.otp_retries, 3);
	assert_int_equal(cfg.uid_min, 200000);
	assert_int_equal(cfg.uid_max, 2000199999);
	assert_false(cfg.debug);
	assert_null(cfg.ca_file);
	assert_false(cfg.acct_without_auth);
	assert_int_equal(cfg.account_check_interval, 300);
	assert_int_equal(cfg.account_offline_grace, 0);
	assert_null(cfg.state_dir);
	cb_config_free(&cfg);
}

static void test_every_key(void **state)
{
	struct captured_log cap;
	struct cb_config cfg;
	const char *text = "# comment\n"
			   "\n"
			   "env = prod-1a2b\n"
			   "region=ap-guangzhou\n"
			   "  base_url = https://gw.example.com/auth/v1/  \n"
			   "client_id = cid\n"
			   "client_secret_file = /etc/cloudbase/secret\n"
			   "ca_file = /etc/ca.pem\n"
			   "ca_path = /etc/ssl/certs\n"
			   "proxy = http://proxy.internal:3128\n"
			   "connect_timeout = 3\n"
			   "timeout = 20\n"
			   "method = password+sms\n"
			   "require_groups = admin, ops dev\n"
			   "ignore_unknown_user = yes\n"
			   "acct_without_auth = true\n"
			   "account_check_interval = 60\n"
			   "account_offline_grace = 3600\n"
			   "state_dir = /var/lib/x-state\n"
			   "otp_retries = 5\n"
			   "otp_echo = on\n"
			   "sms_prompt_phone = 1\n"
			   "debug = yes\n"
			   "accounts_db = /var/lib/x.db\n"
			   "uid_min = 300000\n"
			   "uid_max = 400000\n"
			   "group_map = admin:sudo, ops:adm\n"
			   "default_shell = /bin/sh\n"
			   "home_base = /srv/home\n";
	char *url;

	(void)state;
	assert_int_equal(parse(&cfg, text, CB_CONF_STRICT, &cap), CB_OK);
	assert_string_equal(cfg.env, "prod-1a2b");
	assert_string_equal(cfg.region, "ap-guangzhou");
	assert_string_equal(cfg.client_id, "cid");
	assert_string_equal(cfg.client_secret_file, "/etc/cloudbase/secret");
	assert_string_equal(cfg.ca_file, "/etc/ca.pem");
	assert_string_equal(cfg.ca_path, "/etc/ssl/certs");
	assert_string_equal(cfg.proxy, "http://proxy.internal:3128");
	assert_int_equal(cfg.connect_timeout, 3);
	assert_int_equal(cfg.timeout, 20);
	assert_int_equal(cfg.method, CB_METHOD_PASSWORD_SMS);
	assert_int_equal(cfg.n_require_groups, 3);
	assert_string_equal(cfg.require_groups[2], "dev");
	assert_true(cfg.ignore_unknown_user);
	assert_true(cfg.acct_without_auth);
	assert_int_equal(cfg.account_check_interval, 60);
	assert_int_equal(cfg.account_offline_grace, 3600);
	assert_string_equal(cfg.state_dir, "/var/lib/x-state");
	assert_int_equal(cfg.otp_retries, 5);
	assert_true(cfg.otp_echo);
	assert_true(cfg.sms_prompt_phone);
	assert_true(cfg.debug);
	assert_string_equal(cfg.accounts_db, "/var/lib/x.db");
	assert_int_equal(cfg.uid_min, 300000);
	assert_int_equal(cfg.uid_max, 400000);
	assert_int_equal(cfg.n_group_map, 2);
	assert_string_equal(cb_config_map_group(&cfg, "ops"), "adm");
	assert_null(cb_config_map_group(&cfg, "user"));
	assert_string_equal(cfg.default_shell, "/bin/sh");
	assert_string_equal(cfg.home_base, "/srv/home");
	url = cb_config_api_url(&cfg);
	assert_string_equal(url, "https://gw.example.com/auth/v1");
	free(url);
	cb_config_free(&cfg);
}

static void test_classic_url(void **state)
{
	struct captured_log cap;
	struct cb_config cfg;
	char *url;

	(void)state;
	assert_int_equal(parse(&cfg, "env = e1\n", 0, &cap), CB_OK);
	url = cb_config_api_url(&cfg);
	assert_string_equal(url, "https://e1.ap-shanghai.tcb-api.tencentcloudapi.com/auth/v1");
	free(url);
	cb_config_free(&cfg);
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {
		"timeout = 0\n",
		"timeout = 301\n",
		"timeout = -1\n",
		"timeout = 1x\n",
		"timeout = \n",
		"timeout =  +5\n",
		"timeout = 99999999999999999999999\n",
		"connect_timeout = 61\n",
		"otp_retries = 0\n",
		"account_check_interval = 86401\n",
		"account_check_interval = -1\n",
		"account_offline_grace = 2592001\n",
		"state_dir = var/lib/state\n",
		"uid_min = 999\n",
		"uid_max = 4294967295\n",
		"debug = maybe\n",
		"method = otp\n",
		"method = PASSWORD\n",
		"method = password|password\n",
		"method = sms|\n",
		"method = |sms\n",
		"method = password|sms|email|sms\n",
		"method = password+sms|email\n",
		"method = password||sms\n",
		"base_url = http://example.com/auth/v1\n",
		"base_url = http://127.0.0.1.evil.com/auth/v1\n",
		"base_url = ftp://127.0.0.1/\n",
		"base_url = https://\n",
		/* no host: the trailing slashes cut would leave "https:" (fuzz_conf) */
		"base_url = https:////\n",
		"base_url = https://:443/auth/v1\n",
		"proxy = http:///\n",
		"env = a/b\n",
		"env = \n",
		"env = a b\n",
		"ca_file = relative.pem\n",
		"require_groups = ad:min\n",
		"group_map = admin\n",
		"group_map = admin:\n",
		"group_map = :sudo\n",
		"group_map = -x:sudo\n",
		"env = abc\nenv = def\n",
		"no equals sign\n",
		"use_first_pass = yes\n",
		"env = a\x01\n",
	};
	struct captured_log cap;
	struct cb_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cb_status rc = parse(&cfg, bad[i], 0, &cap);

		if (rc != CB_ERR_CONFIG)
			fail_msg("accepted: %s", bad[i]);
		assert_true(cap.len > 0); /* every refusal says why */
		assert_non_null(strstr(cap.text, "test.conf:"));
		cb_config_free(&cfg);
	}
}

static void test_loopback_http_allowed(void **state)
{
	static const char *const good[] = {
		"base_url = http://127.0.0.1:8443/auth/v1\n",
		"base_url = http://[::1]:8443/auth/v1\n",
		"base_url = http://localhost/auth/v1\n",
	};
	struct captured_log cap;
	struct cb_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse(&cfg, good[i], CB_CONF_STRICT, &cap), CB_OK);
		cb_config_free(&cfg);
	}
	/* the config's check on the text; the HTTP client decides on the URL
	 * as libcurl parses it (unit/test_base_url) */
	assert_true(cb_url_is_loopback_http("http://127.0.0.1:8443/auth/v1"));
	assert_true(cb_url_is_loopback_http("http://localhost"));
	assert_false(cb_url_is_loopback_http("http://127.0.0.1.evil.com/auth/v1"));
	assert_false(cb_url_is_loopback_http("http://localhost@evil.com/"));
	assert_false(cb_url_is_loopback_http("http://127.0.0.1:1@192.0.2.2:18080/auth/v1"));
	assert_false(cb_url_is_loopback_http("https://127.0.0.1/auth/v1"));
	assert_false(cb_url_is_loopback_http("http://10.0.0.1/auth/v1"));
}

static void test_unknown_key(void **state)
{
	struct captured_log cap;
	struct cb_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "env = a\nfrobnicate = 1\n", CB_CONF_STRICT, &cap),
			 CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "unknown option \"frobnicate\""));
	cb_config_free(&cfg);

	assert_int_equal(parse(&cfg, "env = a\nfrobnicate = 1\n", 0, &cap), CB_OK);
	assert_non_null(strstr(cap.text, "ignored"));
	assert_string_equal(cfg.env, "a");
	cb_config_free(&cfg);

	assert_int_equal(parse(&cfg, "frobnicate = 1\n", CB_CONF_QUIET, &cap), CB_OK);
	assert_int_equal(cap.len, 0);
	cb_config_free(&cfg);
}

static void test_line_numbers(void **state)
{
	struct captured_log cap;
	struct cb_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "env = a\n\n# x\ntimeout = zero\n", 0, &cap), CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "test.conf:4: timeout"));
	cb_config_free(&cfg);
}

static void test_validate(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	struct cb_config cfg;

	(void)state;
	cb_config_init(&cfg);
	assert_int_equal(cb_config_validate(&cfg, &log), CB_ERR_CONFIG);
	assert_int_equal(parse(&cfg, "env = a\nuid_min = 5000\nuid_max = 5000\n", 0, &cap), CB_OK);
	assert_int_equal(cb_config_validate(&cfg, &log), CB_ERR_CONFIG);
	cb_config_free(&cfg);
	assert_int_equal(parse(&cfg, "base_url = https://x/auth/v1\n", 0, &cap), CB_OK);
	assert_int_equal(cb_config_validate(&cfg, &log), CB_OK);
	cb_config_free(&cfg);
}

static void skip_unless_root(void)
{
	if (geteuid() != 0)
		skip(); /* trusted files must be root-owned */
}

/* Every method and menu: its enum, its menu set and its name back. */
static void test_methods(void **state)
{
	static const struct {
		const char *text, *name;
		enum cb_method m;
		unsigned choices;
	} cases[] = {
		{"password", "password", CB_METHOD_PASSWORD, 0},
		{"sms", "sms", CB_METHOD_SMS, 0},
		{"email", "email", CB_METHOD_EMAIL, 0},
		{"password+sms", "password+sms", CB_METHOD_PASSWORD_SMS, 0},
		{"password+email", "password+email", CB_METHOD_PASSWORD_EMAIL, 0},
		{"password|sms", "password|sms", CB_METHOD_CHOICE,
		 CB_CHOICE_PASSWORD | CB_CHOICE_SMS},
		{"sms|password", "password|sms", CB_METHOD_CHOICE,
		 CB_CHOICE_PASSWORD | CB_CHOICE_SMS},
		{"email|sms", "sms|email", CB_METHOD_CHOICE, CB_CHOICE_SMS | CB_CHOICE_EMAIL},
		{"password|email", "password|email", CB_METHOD_CHOICE,
		 CB_CHOICE_PASSWORD | CB_CHOICE_EMAIL},
		{"email|password|sms", "password|sms|email", CB_METHOD_CHOICE,
		 CB_CHOICE_PASSWORD | CB_CHOICE_SMS | CB_CHOICE_EMAIL},
	};
	struct cb_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cb_config_init(&cfg);
		assert_int_equal(cb_config_set(&cfg, "method", cases[i].text, 0, "test", NULL),
				 CB_OK);
		assert_int_equal(cfg.method, cases[i].m);
		assert_int_equal(cfg.choices, cases[i].choices);
		assert_string_equal(cb_config_method_name(&cfg), cases[i].name);
		cb_config_free(&cfg);
	}
}

static void test_from_args(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	struct cb_config cfg;
	char *path, *conf_arg = NULL;

	(void)state;
	skip_unless_root();
	path = test_write(dir, "args.conf", "env = fromfile\ntimeout = 7\n", 0644);
	if (asprintf(&conf_arg, "conf=%s", path) < 0)
		abort();
	{
		const char *argv[] = {conf_arg, "timeout=9", "debug", "use_first_pass",
				      "method=sms"};

		cb_config_init(&cfg);
		assert_int_equal(cb_config_from_args(&cfg, 5, argv, CB_CONF_STRICT, &log), CB_OK);
		assert_string_equal(cfg.env, "fromfile");
		assert_int_equal(cfg.timeout, 9);
		assert_true(cfg.debug);
		assert_true(cfg.use_first_pass);
		assert_int_equal(cfg.method, CB_METHOD_SMS);
		assert_string_equal(cfg.path, path);
		cb_config_free(&cfg);
	}
	{
		const char *argv[] = {conf_arg, "timeout"}; /* a number needs a value */

		cb_config_init(&cfg);
		assert_int_equal(cb_config_from_args(&cfg, 2, argv, 0, &log), CB_ERR_CONFIG);
		cb_config_free(&cfg);
	}
	{
		const char *argv[] = {conf_arg, "use_first_pass", "try_first_pass"};

		cb_config_init(&cfg);
		assert_int_equal(cb_config_from_args(&cfg, 3, argv, 0, &log), CB_ERR_CONFIG);
		cb_config_free(&cfg);
	}
	{
		const char *argv[] = {"conf=relative.conf"};

		cb_config_init(&cfg);
		assert_int_equal(cb_config_from_args(&cfg, 1, argv, 0, &log), CB_ERR_CONFIG);
		cb_config_free(&cfg);
	}
	free(conf_arg);
	free(path);
}

static void test_untrusted_files(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	struct cb_config cfg;
	char *path, *link = NULL, *fifo = NULL, *big;

	(void)state;
	skip_unless_root();

	path = test_write(dir, "ok.conf", "env = a\n", 0644);
	cb_config_init(&cfg);
	assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_OK);
	cb_config_free(&cfg);

	/* group- or world-writable */
	assert_int_equal(chmod(path, 0664), 0);
	cb_config_init(&cfg);
	assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "too open"));
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);

	/* owned by someone else */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "not root"));

	/* its directory writable by others (not sticky), or not root's */
	assert_int_equal(chown(path, 0, 0), 0);
	{
		struct stat dst;

		assert_int_equal(stat(dir, &dst), 0);
		assert_int_equal(chmod(dir, 0777), 0);
		cap.len = 0;
		cap.text[0] = '\0';
		assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);
		assert_non_null(strstr(cap.text, "may be written by others than root"));
		assert_int_equal(chmod(dir, 0775), 0);
		assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);
		/* sticky, as /tmp: only root may rename or remove root's file */
		assert_int_equal(chmod(dir, 01777), 0);
		assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_OK);
		cb_config_free(&cfg);
		cb_config_init(&cfg);
		assert_int_equal(chmod(dir, dst.st_mode & 07777), 0);
		assert_int_equal(chown(dir, 65534, 0), 0);
		assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);
		assert_int_equal(chown(dir, 0, 0), 0);
		assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_OK);
		cb_config_free(&cfg);
		cb_config_init(&cfg);
	}

	/* a symlink to a good file */
	if (asprintf(&link, "%s/link.conf", dir) < 0)
		abort();
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(cb_config_load_file(&cfg, link, 0, &log), CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "symlinks are refused"));

	/* a FIFO must be refused without blocking */
	if (asprintf(&fifo, "%s/fifo.conf", dir) < 0)
		abort();
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(cb_config_load_file(&cfg, fifo, 0, &log), CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "not a regular file"));

	/* a directory, a missing file */
	assert_int_equal(cb_config_load_file(&cfg, dir, 0, &log), CB_ERR_CONFIG);
	assert_int_equal(cb_config_load_file(&cfg, "/nonexistent/x.conf", 0, &log), CB_ERR_CONFIG);

	/* too large */
	big = calloc(1, CB_CONFIG_MAX_SIZE + 2);
	assert_non_null(big);
	memset(big, '#', CB_CONFIG_MAX_SIZE + 1);
	free(path);
	path = test_write(dir, "big.conf", big, 0644);
	assert_int_equal(cb_config_load_file(&cfg, path, 0, &log), CB_ERR_CONFIG);
	assert_non_null(strstr(cap.text, "larger than"));
	free(big);
	cb_config_free(&cfg);

	free(path);
	free(link);
	free(fifo);
}

static void test_nul_byte(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	char *path = NULL, *out = NULL;
	FILE *f;

	(void)state;
	skip_unless_root();
	if (asprintf(&path, "%s/nul.conf", dir) < 0)
		abort();
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite("env = a\0b\n", 1, 10, f);
	fclose(f);
	assert_int_equal(cb_read_trusted(path, 0, 1024, &out, NULL, &log), CB_ERR_CONFIG);
	assert_null(out);
	assert_non_null(strstr(cap.text, "NUL byte"));
	free(path);
}

static void test_secret_file(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	struct cb_config cfg;
	char *secret = NULL;

	(void)state;
	skip_unless_root();
	cb_config_init(&cfg);
	/* no file: an empty secret */
	assert_int_equal(cb_config_load_secret(&cfg, &secret, &log), CB_OK);
	assert_string_equal(secret, "");
	cb_free_secret(secret);

	cfg.client_secret_file = test_write(dir, "secret", "s3cr3t-value\n", 0600);
	assert_int_equal(cb_config_load_secret(&cfg, &secret, &log), CB_OK);
	assert_string_equal(secret, "s3cr3t-value");
	cb_free_secret(secret);

	assert_int_equal(chmod(cfg.client_secret_file, 0400), 0);
	assert_int_equal(cb_config_load_secret(&cfg, &secret, &log), CB_OK);
	cb_free_secret(secret);

	/* readable by group: refused like ssh refuses a loose private key */
	assert_int_equal(chmod(cfg.client_secret_file, 0640), 0);
	assert_int_equal(cb_config_load_secret(&cfg, &secret, &log), CB_ERR_CONFIG);
	assert_null(secret);
	assert_int_equal(chmod(cfg.client_secret_file, 0604), 0);
	assert_int_equal(cb_config_load_secret(&cfg, &secret, &log), CB_ERR_CONFIG);
	/* the secret itself never reaches the log */
	assert_null(strstr(cap.text, "s3cr3t"));
	cb_config_free(&cfg);
}

static void test_secure_helpers(void **state)
{
	char buf[8] = "abcdefg";
	char *s;

	(void)state;
	cb_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	s = cb_strndup_secret("12345", 5);
	assert_string_equal(s, "12345");
	cb_clear_secret(&s);
	assert_null(s);
	assert_null(cb_strndup_secret("123456", 5));
}

static void test_log_sanitises(void **state)
{
	struct captured_log cap;
	struct cb_log log = capture_log(&cap);
	char out[16];

	(void)state;
	cb_log(&log, LOG_ERR, "user %s", "eve\nFAKE: accepted\x1b[0m");
	assert_non_null(strstr(cap.text, "eve\\x0aFAKE: accepted\\x1b[0m"));
	assert_null(strstr(cap.text, "eve\nFAKE"));
	log.debug = false;
	cap.len = 0;
	cap.text[0] = '\0';
	cb_log(&log, LOG_DEBUG, "hidden");
	assert_int_equal(cap.len, 0);
	/* the escape buffer is bounded and always terminated */
	cb_sanitize(out, sizeof(out), "\x01\x02\x03\x04\x05\x06");
	assert_true(strlen(out) < sizeof(out));
	assert_string_equal(out, "\\x01\\x02\\x03");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_classic_url),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_loopback_http_allowed),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_from_args),
		cmocka_unit_test(test_untrusted_files),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_secure_helpers),
		cmocka_unit_test(test_log_sanitises),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
