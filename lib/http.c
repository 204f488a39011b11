/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "http.h"
#include "secure.h"

/* The default CA location: a hashed directory, not the one-file bundle,
 * which costs ~25 ms to load on every login. */
#define DEFAULT_CA_PATH "/etc/ssl/certs"

struct body_buf {
	char *data;
	size_t len, cap;
	bool oversized;
};

struct cb_http {
	CURL *curl;
	const struct cb_log *log;
	char *base_url;
	CURLU *url; /* base_url as libcurl parsed it; each request sets its path */
	char *base_path; /* its path without trailing slashes: "/auth/v1" */
	char *basic; /* "Authorization: Basic base64(id:secret)", wiped on free */
	char device_hdr[80];
	struct timespec deadline;
	unsigned timeout_s; /* the budget, for cb_http_restart_budget */
	unsigned connect_timeout_ms;
	/* of the request being performed: how often libcurl started to send
	 * it, and whether a second time is forbidden (anything but GET) */
	unsigned attempts;
	bool send_once;
	char last_id[CB_UUID_LEN];
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail of the last failure */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static bool curl_wipes; /* our allocator is libcurl's (global_init) */
static bool tls_cleanses; /* SSL_OP_CLEANSE_PLAINTEXT can be set (global_init) */
static _Atomic unsigned long wipe_frees;

/* ---- libcurl's memory, wiped when freed -----------------------------------
 *
 * libcurl keeps the request it sends (headers with the Basic credential or
 * a Bearer token, and a small body such as the password, in one buffer)
 * and the answer it receives (tokens) in buffers of its own, and frees them
 * without wiping: after pam_end they stay in the heap of sshd, sudo or su.
 * curl_global_init_mem gives libcurl these functions instead: glibc's own
 * malloc, with every block wiped (its whole usable size) before it is freed
 * and before realloc moves it.
 *
 * Why this is safe inside a host process: the functions are thin layers over
 * the process's malloc, so a block allocated by either side can be freed by
 * the other (another library initialising libcurl before or after us,
 * libcurl freeing memory it allocated before); they keep no state; they are
 * thread-safe; the module is linked -z nodelete, so they stay mapped after
 * pam_end's dlclose. Another user of libcurl in the same process gets them
 * too, which only costs it the wipes. libcurl takes them only if the module
 * is the first to initialise libcurl in the process (sshd, sudo, su and
 * login do not use libcurl); otherwise it keeps its allocator, the module
 * logs that once, and libcurl's buffers are not wiped
 * (pam_cloudbase(8), SECURITY NOTES). */

static void wipe_free(void *p)
{
	if (p == NULL)
		return;
	wipe_frees++;
	cb_wipe(p, malloc_usable_size(p));
	free(p);
}

static void *wipe_malloc(size_t n)
{
	return malloc(n);
}

static void *wipe_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

static char *wipe_strdup(const char *s)
{
	return strdup(s);
}

/* realloc would leave the old block unwiped when it moves the data */
static void *wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	old = malloc_usable_size(p);
	if (n != 0 && n <= old)
		return p;
	q = malloc(n != 0 ? n : 1);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wipe_free(p);
	return q;
}

/* Does libcurl allocate through wipe_*? curl_easy_escape allocates and
 * curl_free frees with libcurl's current functions (the handle is unused). */
static bool curl_uses_wipe_free(void)
{
	unsigned long before = wipe_frees;
	char *s = curl_easy_escape(NULL, "pam_cloudbase", 0);

	curl_free(s);
	return s != NULL && wipe_frees != before;
}

/* SSL_OP_CLEANSE_PLAINTEXT is set on libcurl's SSL_CTX by this module's
 * libssl: only when libcurl's TLS backend is that very OpenSSL (the same
 * version string; another backend's context is not an SSL_CTX). */
static bool tls_backend_is_our_openssl(void)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	const char *ours = OpenSSL_version(OPENSSL_VERSION_STRING);

	return vi->ssl_version != NULL && strncmp(vi->ssl_version, "OpenSSL/", 8) == 0 &&
	       ours != NULL && strcmp(vi->ssl_version + 8, ours) == 0;
}

/* libcurl (Debian's build included) opens the file named by SSLKEYLOGFILE
 * at global init and appends every TLS session key to it. In su or sudo
 * that variable comes from the invoking user: root would write to a path of
 * their choosing and the keys would expose the password in flight. Hide it
 * for the moment of the init. */
static void global_init(void)
{
	const char *keylog = getenv("SSLKEYLOGFILE");
	char *saved = keylog != NULL ? strdup(keylog) : NULL;

	if (keylog != NULL)
		unsetenv("SSLKEYLOGFILE");
	global_rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free, wipe_realloc,
					 wipe_strdup, wipe_calloc);
	if (saved != NULL) {
		setenv("SSLKEYLOGFILE", saved, 1);
		free(saved);
	}
	if (global_rc == CURLE_OK) {
		curl_wipes = curl_uses_wipe_free();
		tls_cleanses = tls_backend_is_our_openssl();
	}
}

/* Once a process: what of the wiping could not be had here. */
static void note_wiping(const struct cb_log *log)
{
	static _Atomic bool told;

	if ((curl_wipes && tls_cleanses) || told)
		return;
	told = true;
	if (!curl_wipes)
		cb_log(log, LOG_NOTICE,
		       "libcurl was initialised in this process before pam_cloudbase: its buffers "
		       "(requests with credentials, answers with tokens) are freed without being "
		       "wiped");
	if (!tls_cleanses)
		cb_log(log, LOG_NOTICE,
		       "libcurl's TLS library is not the OpenSSL pam_cloudbase was built with: "
		       "decrypted answers are not cleansed from its record buffers");
}

/* Each new TLS context libcurl makes: OpenSSL cleanses the plaintext of a
 * record once libcurl has read it (the tokens of an answer), and its read
 * buffer when it frees it, instead of leaving both in the heap. */
static CURLcode on_ssl_ctx(CURL *c, void *ssl_ctx, void *arg)
{
	(void)c;
	(void)arg;
	SSL_CTX_set_options(ssl_ctx, SSL_OP_CLEANSE_PLAINTEXT);
	return CURLE_OK;
}

cb_status cb_uuid4(char out[CB_UUID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t o = 0;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return CB_ERR_SYSTEM;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0xf];
	}
	out[o] = '\0';
	return CB_OK;
}

static bool read_id_file(const char *path, char *out, size_t outsz)
{
	char buf[64];
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	while (len < (size_t)n && isxdigit((unsigned char)buf[len]))
		len++;
	/* the service wants 16-48 characters; machine-id has 32 hex digits */
	if (len < 16 || len > 48 || len >= outsz)
		return false;
	memcpy(out, buf, len);
	out[len] = '\0';
	return true;
}

bool cb_device_id(char *out, size_t outsz)
{
	return read_id_file("/etc/machine-id", out, outsz) ||
	       read_id_file("/var/lib/dbus/machine-id", out, outsz);
}

static char *base64(const unsigned char *in, size_t len)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = tbl[(v >> 18) & 63];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* a followed by b in one buffer of exactly that size: asprintf grows its
 * buffer as it goes and leaves the smaller copies unwiped in the heap */
static char *concat_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *out = malloc(la + lb + 1);

	if (out == NULL)
		return NULL;
	/* b and its NUL follow */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
	return out;
}

/* The Basic header is built here rather than with CURLOPT_USERPWD so the
 * only copies of the secret are buffers this file owns and wipes. */
static char *basic_header(const char *id, const char *secret)
{
	size_t idlen = strlen(id), slen = strlen(secret);
	char *pair = malloc(idlen + slen + 2), *enc, *hdr = NULL;

	if (pair == NULL)
		return NULL;
	/* ':', the secret and its NUL follow */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(pair, id, idlen);
	pair[idlen] = ':';
	memcpy(pair + idlen + 1, secret, slen + 1);
	enc = base64((unsigned char *)pair, idlen + slen + 1);
	cb_free_secret(pair);
	if (enc == NULL)
		return NULL;
	hdr = concat_secret("Authorization: Basic ", enc);
	cb_free_secret(enc);
	return hdr;
}

static void deadline_set(struct timespec *d, unsigned seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += (time_t)seconds;
}

long cb_http_remaining_ms(const struct cb_http *h)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(h->deadline.tv_sec - now.tv_sec) * 1000 +
	     (h->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

void cb_http_restart_budget(struct cb_http *h)
{
	if (h != NULL)
		deadline_set(&h->deadline, h->timeout_s);
}

const char *cb_http_last_request_id(const struct cb_http *h)
{
	return h != NULL && h->last_id[0] != '\0' ? h->last_id : "-";
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body_buf *b = arg;
	size_t n = size * nmemb;

	if (n > CB_HTTP_MAX_BODY - b->len) {
		/* abort the transfer: a partial body is never parsed */
		b->oversized = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (p == NULL)
			return 0;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			cb_wipe(b->data, b->cap); /* may hold tokens */
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Called by libcurl right before it sends a request, again for each
 * resend. libcurl resends on its own when a reused connection dies before
 * any byte of the answer (7.88: Curl_retry_request, up to 5 times), but the
 * server may have read and acted on the first copy: a second /verification
 * is a second SMS (and then a 429), a second /signin a second wrong
 * password for the lockout, a second verify a second try of the code. Only
 * a GET may go again; anything else ends the transfer, and the login fails
 * cleanly. */
static int on_prereq(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
		     int conn_local_port)
{
	struct cb_http *h = arg;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	h->attempts++;
	return h->attempts > 1 && h->send_once ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

static void warn_resolver(const struct cb_log *log)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);

	if (!(vi->features & CURL_VERSION_ASYNCHDNS))
		cb_log(log, LOG_WARNING,
		       "libcurl has no asynchronous resolver: a DNS lookup may outlast the "
		       "timeout");
}

static CURLcode set_tls_and_proxy(CURL *c, const struct cb_config *cfg)
{
	CURLcode rc = CURLE_OK;

	/* Both set explicitly: libcurl or OpenSSL would otherwise fall back to
	 * compiled-in or environment locations (SSL_CERT_FILE, SSL_CERT_DIR). */
	if (cfg->ca_file != NULL) {
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
		rc |= curl_easy_setopt(c, CURLOPT_CAPATH, cfg->ca_path);
	} else {
		rc |= curl_easy_setopt(c, CURLOPT_CAINFO, (char *)NULL);
		rc |= curl_easy_setopt(c, CURLOPT_CAPATH,
				       cfg->ca_path != NULL ? cfg->ca_path : DEFAULT_CA_PATH);
	}
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	rc |= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (tls_cleanses)
		rc |= curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	/* An empty proxy disables the http_proxy/HTTPS_PROXY/ALL_PROXY lookup;
	 * an explicit NOPROXY keeps NO_PROXY from the environment out too. */
	rc |= curl_easy_setopt(c, CURLOPT_PROXY, cfg->proxy != NULL ? cfg->proxy : "");
	rc |= curl_easy_setopt(c, CURLOPT_NOPROXY, "");
	return rc;
}

static bool loopback_host(const char *host)
{
	return strcasecmp(host, "127.0.0.1") == 0 || strcasecmp(host, "[::1]") == 0 ||
	       strcasecmp(host, "localhost") == 0;
}

/* One part of a parsed URL: CB_OK with *out (curl_free it), CB_ERR_NOT_FOUND
 * when the URL has none. */
static cb_status url_part(CURLU *u, CURLUPart part, char **out)
{
	CURLUcode rc = curl_url_get(u, part, out, 0);

	if (rc == CURLUE_OK)
		return CB_OK;
	*out = NULL;
	switch (rc) {
	case CURLUE_OUT_OF_MEMORY:
		return CB_ERR_NOMEM;
	case CURLUE_NO_USER:
	case CURLUE_NO_PASSWORD:
	case CURLUE_NO_OPTIONS:
	case CURLUE_NO_QUERY:
	case CURLUE_NO_FRAGMENT:
	case CURLUE_NO_HOST:
		return CB_ERR_NOT_FOUND;
	default:
		return CB_ERR_CONFIG;
	}
}

static bool url_has(CURLU *u, CURLUPart part, cb_status *st)
{
	char *v = NULL;
	cb_status rc = url_part(u, part, &v);

	curl_free(v);
	if (rc != CB_OK && rc != CB_ERR_NOT_FOUND)
		*st = rc;
	return rc != CB_ERR_NOT_FOUND;
}

/* The judgement of cb_http_check_base_url on a parsed URL. */
static cb_status judge_url(CURLU *u, bool *plain_http, const char **why)
{
	char *scheme = NULL, *host = NULL;
	cb_status st = CB_OK;

	if (url_has(u, CURLUPART_USER, &st) || url_has(u, CURLUPART_PASSWORD, &st) ||
	    url_has(u, CURLUPART_OPTIONS, &st)) {
		*why = "a user name or password (userinfo) in the URL: the host is what follows "
		       "the '@'";
		return st != CB_OK ? st : CB_ERR_CONFIG;
	}
	if (url_has(u, CURLUPART_QUERY, &st) || url_has(u, CURLUPART_FRAGMENT, &st)) {
		*why = "a query or fragment in the URL";
		return st != CB_OK ? st : CB_ERR_CONFIG;
	}
	if (st == CB_OK)
		st = url_part(u, CURLUPART_SCHEME, &scheme);
	if (st == CB_OK)
		st = url_part(u, CURLUPART_HOST, &host);
	if (st == CB_OK && host[0] == '\0')
		st = CB_ERR_NOT_FOUND;
	if (st == CB_OK) {
		*plain_http = strcmp(scheme, "http") == 0;
		if (*plain_http && !loopback_host(host)) {
			*why = "plain http:// to a host that is not 127.0.0.1, [::1] or localhost";
			st = CB_ERR_CONFIG;
		} else if (!*plain_http && strcmp(scheme, "https") != 0) {
			*why = "neither https:// nor http:// to loopback";
			st = CB_ERR_CONFIG;
		}
	} else if (st != CB_ERR_NOMEM) {
		*why = "no scheme or no host";
		st = CB_ERR_CONFIG;
	}
	curl_free(scheme);
	curl_free(host);
	return st;
}

cb_status cb_http_check_base_url(const char *url, bool *plain_http, const char **why)
{
	CURLU *u = curl_url();
	CURLUcode rc;
	cb_status st;

	*plain_http = false;
	*why = "";
	if (u == NULL)
		return CB_ERR_NOMEM;
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_OK) {
		st = judge_url(u, plain_http, why);
	} else {
		*why = "not a URL libcurl can parse";
		st = rc == CURLUE_OUT_OF_MEMORY ? CB_ERR_NOMEM : CB_ERR_CONFIG;
	}
	curl_url_cleanup(u);
	return st;
}

/* base_url into h->url and h->base_path, judged as libcurl reads it: every
 * request then goes to exactly the host judged here (CURLOPT_CURLU), never
 * to one a second parse of a string could find. */
static cb_status parse_base_url(struct cb_http *h, bool *plain_http)
{
	const char *why = "";
	char *path = NULL;
	cb_status st = cb_http_check_base_url(h->base_url, plain_http, &why);
	size_t len;

	if (st == CB_ERR_CONFIG)
		cb_log(h->log, LOG_ERR, "base_url %s refused: %s", h->base_url, why);
	if (st != CB_OK)
		return st;
	h->url = curl_url();
	if (h->url == NULL || curl_url_set(h->url, CURLUPART_URL, h->base_url, 0) != CURLUE_OK ||
	    url_part(h->url, CURLUPART_PATH, &path) != CB_OK)
		return CB_ERR_NOMEM;
	len = strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	h->base_path = strndup(path, len);
	curl_free(path);
	return h->base_path != NULL ? CB_OK : CB_ERR_NOMEM;
}

static CURLcode set_common(CURL *c, const struct cb_config *cfg, struct cb_http *h, bool plain_http)
{
	const char *protos = plain_http ? "http,https" : "https";
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos);
	rc |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	rc |= curl_easy_setopt(c, CURLOPT_USERAGENT, "pam_cloudbase/" PACKAGE_VERSION);
	/* no .netrc, no cookies, no compression surprises */
	rc |= curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	/* a connection idle longer than servers keep one is not reused: the
	 * race of our request with the server's close is what makes libcurl
	 * resend (on_prereq). libcurl compares whole seconds strictly (idle
	 * 2.9 s passes a maximum of 2), hence the - 1. */
	rc |= curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, (long)CB_HTTP_MAX_IDLE_S - 1);
	rc |= curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
	rc |= curl_easy_setopt(c, CURLOPT_PREREQDATA, h);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* When the budget runs out while a name is being resolved, libcurl
	 * (threaded resolver) otherwise joins the resolver thread, which sits
	 * in getaddrinfo until the system resolver gives up (5 s x 2 attempts
	 * per server by default): the login would outlast its timeout. With
	 * QUICK_EXIT the thread is left to finish on its own. */
	rc |= curl_easy_setopt(c, CURLOPT_QUICK_EXIT, 1L);
#endif
	rc |= set_tls_and_proxy(c, cfg);
	h->connect_timeout_ms = cfg->connect_timeout * 1000U;
	return rc;
}

cb_status cb_http_new(const struct cb_config *cfg, const char *client_id, const char *client_secret,
		      const struct cb_log *log, struct cb_http **out)
{
	struct cb_http *h;
	char devid[49];
	bool plain_http = false;
	cb_status st;

	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return CB_ERR_SYSTEM;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return CB_ERR_NOMEM;
	h->log = log;
	h->timeout_s = cfg->timeout;
	deadline_set(&h->deadline, cfg->timeout);
	h->base_url = cb_config_api_url(cfg);
	h->basic = basic_header(client_id != NULL ? client_id : "",
				client_secret != NULL ? client_secret : "");
	h->curl = curl_easy_init();
	if (h->base_url == NULL || h->basic == NULL || h->curl == NULL) {
		cb_http_free(h);
		return CB_ERR_NOMEM;
	}
	st = parse_base_url(h, &plain_http);
	if (st != CB_OK) {
		cb_http_free(h);
		return st;
	}
	if (cb_device_id(devid, sizeof(devid)))
		snprintf(h->device_hdr, sizeof(h->device_hdr), "x-device-id: %s", devid);
	if (set_common(h->curl, cfg, h, plain_http) != CURLE_OK) {
		cb_log(log, LOG_ERR, "libcurl refused an option (too old? needs 7.85)");
		cb_http_free(h);
		return CB_ERR_SYSTEM;
	}
	warn_resolver(log);
	note_wiping(log);
	*out = h;
	return CB_OK;
}

void cb_http_free(struct cb_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_url_cleanup(h->url);
	free(h->base_path);
	free(h->base_url);
	cb_free_secret(h->basic);
	free(h);
}

/* curl_slist_free_all does not wipe; headers carry credentials */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l != NULL; l = l->next)
		cb_wipe(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static struct curl_slist *add_header(struct curl_slist *list, const char *h, bool *ok)
{
	struct curl_slist *n;

	if (!*ok)
		return list;
	n = curl_slist_append(list, h);
	if (n == NULL) {
		*ok = false;
		return list;
	}
	return n;
}

static struct curl_slist *build_headers(struct cb_http *h, const struct cb_http_request *req,
					const char *reqid)
{
	struct curl_slist *list = NULL;
	char idhdr[64];
	char *bearer = NULL;
	bool ok = true;

	snprintf(idhdr, sizeof(idhdr), "x-request-id: %s", reqid);
	list = add_header(list, "Accept: application/json", &ok);
	list = add_header(
		list, req->body != NULL ? "Content-Type: application/json" : "Content-Type:", &ok);
	list = add_header(list, "Expect:", &ok); /* no 100-continue round trip */
	list = add_header(list, idhdr, &ok);
	if (h->device_hdr[0] != '\0')
		list = add_header(list, h->device_hdr, &ok);
	if (req->auth == CB_HTTP_AUTH_BASIC)
		list = add_header(list, h->basic, &ok);
	if (req->auth == CB_HTTP_AUTH_BEARER) {
		bearer = req->bearer != NULL ? concat_secret("Authorization: Bearer ", req->bearer)
					     : NULL;
		if (bearer == NULL)
			ok = false;
		list = add_header(list, bearer, &ok);
		cb_free_secret(bearer);
	}
	if (!ok) {
		free_headers(list);
		return NULL;
	}
	return list;
}

static cb_status map_curl(CURLcode rc, bool oversized)
{
	switch (rc) {
	case CURLE_OK:
		return CB_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return CB_ERR_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return CB_ERR_NOMEM;
	case CURLE_WRITE_ERROR:
		return oversized ? CB_ERR_PROTOCOL : CB_ERR_NOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return CB_ERR_TLS;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return CB_ERR_CONFIG;
#if LIBCURL_VERSION_NUM >= 0x080600
	case CURLE_TOO_LARGE:
#endif
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return CB_ERR_PROTOCOL;
	default:
		return CB_ERR_TRANSPORT;
	}
}

/* Some libcurl codes mean "our side" in general but are also what a
 * hostile answer produces: a header line over libcurl's 100 KiB limit is
 * CURLE_OUT_OF_MEMORY (CURLE_TOO_LARGE since 8.6), a bogus status line
 * CURLE_UNSUPPORTED_PROTOCOL. Once the server has sent header lines and no
 * body yet, they are the answer's fault: malformed, not a local error. */
static cb_status blame_server(struct cb_http *h, CURLcode rc, cb_status st, size_t body_len)
{
	long header_bytes = 0;

	if (rc != CURLE_OUT_OF_MEMORY && st != CB_ERR_CONFIG)
		return st;
	if (curl_easy_getinfo(h->curl, CURLINFO_HEADER_SIZE, &header_bytes) != CURLE_OK)
		return st;
	return header_bytes > 0 && body_len == 0 ? CB_ERR_PROTOCOL : st;
}

static const char *method_name(enum cb_http_method m)
{
	return m == CB_HTTP_GET ? "GET" : m == CB_HTTP_POST ? "POST" : "PATCH";
}

static CURLcode set_request(struct cb_http *h, const struct cb_http_request *req, const char *path,
			    struct curl_slist *hdrs, struct body_buf *b, long remaining)
{
	CURL *c = h->curl;
	long conn =
		(long)h->connect_timeout_ms < remaining ? (long)h->connect_timeout_ms : remaining;
	CURLcode rc = CURLE_OK;

	/* only the path changes: scheme, host and port stay as judged */
	if (curl_url_set(h->url, CURLUPART_PATH, path, 0) != CURLUE_OK)
		return CURLE_URL_MALFORMAT;
	rc |= curl_easy_setopt(c, CURLOPT_CURLU, h->url);
	rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	/* the budget is per login: each request gets what is left of it */
	rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, remaining);
	rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn);
	rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	if (req->method == CB_HTTP_GET) {
		rc |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		/* POSTFIELDS, not COPYPOSTFIELDS: the only copy of a password is
		 * the caller's buffer, which it wipes */
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
		rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		if (req->method == CB_HTTP_PATCH)
			rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
	}
	return rc;
}

static bool content_type_json(CURL *c)
{
	char *ct = NULL;

	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK || ct == NULL)
		return false;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

cb_status cb_http_perform(struct cb_http *h, const struct cb_http_request *req,
			  struct cb_http_response *resp)
{
	struct body_buf b = {0};
	struct curl_slist *hdrs = NULL;
	char *path = NULL;
	long remaining = cb_http_remaining_ms(h);
	CURLcode crc;
	cb_status st;

	memset(resp, 0, sizeof(*resp));
	st = cb_uuid4(resp->request_id);
	if (st != CB_OK)
		return st;
	memcpy(h->last_id, resp->request_id, CB_UUID_LEN);
	if (remaining <= 0) {
		cb_log(h->log, LOG_ERR, "%s %s request_id=%s: time budget spent, not sent",
		       method_name(req->method), req->path, resp->request_id);
		return CB_ERR_TIMEOUT;
	}
	if (asprintf(&path, "%s%s", h->base_path, req->path) < 0)
		return CB_ERR_NOMEM;
	hdrs = build_headers(h, req, resp->request_id);
	if (hdrs == NULL) {
		free(path);
		return CB_ERR_NOMEM;
	}
	h->errbuf[0] = '\0';
	h->attempts = 0;
	h->send_once = req->method != CB_HTTP_GET;
	crc = set_request(h, req, path, hdrs, &b, remaining);
	if (crc == CURLE_OK)
		crc = curl_easy_perform(h->curl);
	/* unhook every pointer into buffers that die here */
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (char *)NULL);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, (void *)NULL);
	free_headers(hdrs);
	free(path);
	st = map_curl(crc, b.oversized);
	if (st != CB_OK)
		st = blame_server(h, crc, st, b.len);
	if (h->attempts > 1)
		cb_log(h->log, h->send_once ? LOG_ERR : LOG_INFO,
		       "%s %s request_id=%s: the connection closed before an answer; %s",
		       method_name(req->method), req->path, resp->request_id,
		       h->send_once ? "not sent again (the service may have acted on it)"
				    : "sent again on a new connection (a GET changes nothing)");
	if (st == CB_OK) {
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->json = content_type_json(h->curl);
		resp->body = b.data != NULL ? b.data : strdup("");
		resp->len = b.len;
		if (resp->body == NULL)
			st = CB_ERR_NOMEM;
		cb_log(h->log, LOG_DEBUG, "%s %s request_id=%s status=%ld bytes=%zu",
		       method_name(req->method), req->path, resp->request_id, resp->status,
		       resp->len);
		return st;
	}
	if (b.data != NULL) {
		cb_wipe(b.data, b.cap);
		free(b.data);
	}
	cb_log(h->log, LOG_ERR, "%s %s request_id=%s failed: %s (%s%s%s)", method_name(req->method),
	       req->path, resp->request_id, cb_status_name(st),
	       b.oversized ? "answer larger than 64 KiB" : curl_easy_strerror(crc),
	       !b.oversized && h->errbuf[0] != '\0' ? ": " : "", b.oversized ? "" : h->errbuf);
	return st;
}

void cb_http_response_free(struct cb_http_response *resp)
{
	if (resp->body != NULL) {
		cb_wipe(resp->body, resp->len);
		free(resp->body);
	}
	resp->body = NULL;
	resp->len = 0;
}
