/*
 * tocsinctl.c — the command-line client of tocsind's HTTP API.
 *
 * One request per command (libcurl easy, blocking: this is a CLI), the
 * reply printed as a table for people or, with --json, as the API's JSON
 * for scripts.  It knows the API only through docs/api.md's contract and
 * prints what it does not know (forecast, report, oncall: owned by other
 * modules) generically, so a richer reply never breaks it.
 *
 * Where the server and token come from, first found wins:
 *   URL:   -s URL, $TOCSIN_URL, api.listen of the config file, 127.0.0.1:8470
 *   token: -t TOKEN, $TOCSIN_TOKEN, the file api.token_file of the config
 *          (default state_dir/api.token), if readable
 * The config file is -c FILE or, if it exists, the installed default; only
 * the api { } and daemon { } sections of that one file are read (not its
 * includes), with a small scanner rather than libconfuse: tocsinctl must
 * not need the plugins that define the check sections.
 *
 * Exit status: 0 success, 1 an error (network, HTTP — printed with the
 * API's message — or a file), 2 a usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl/migrate_store.h"

#define CTL_DEFAULT_URL		"http://127.0.0.1:8470"
#define CTL_MAX_REPLY		(64 * 1024 * 1024)
#define CTL_CONF_MAX		(1024 * 1024)

/* Options, each allowed only with the commands that take it. */
enum {
	OPT_ALL = 0x1, OPT_BY = 0x2, OPT_COMMENT = 0x4, OPT_SINCE = 0x8,
	OPT_OUT = 0x10, OPT_HORIZON = 0x20, OPT_TARGET = 0x40, OPT_MONTH = 0x80,
};

struct ctl {
	char *url;			/* no trailing '/' */
	char *token;			/* may be NULL */
	bool json;
	bool color;
	unsigned opts;			/* OPT_* given */
	bool all;
	json_t *target;			/* change: {"groups":[…],…} */
	const char *by, *comment, *since, *out, *horizon, *month;
};

struct reply {
	long status;
	char *body;			/* NUL-terminated */
	size_t len;
	bool too_big;
};

static const char *progname = "tocsinctl";

/* After a usage error: the short form on stderr, exit 2. */
static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: tocsinctl [-s URL] [-t TOKEN] [-c FILE] "
	    "[--json] COMMAND [ARGS]\n"
	    "       tocsinctl --help lists the commands\n");
	exit(2);
}

/* --help: everything, on stdout, exit 0. */
static __attribute__((noreturn)) void
help(void)
{
	printf(
	    "usage: tocsinctl [-s URL] [-t TOKEN] [-c FILE] [--json] COMMAND\n"
	    "commands:\n"
	    "  status                      version, uptime, checks by state\n"
	    "  checks                      every check\n"
	    "  check NAME                  one check with its metrics\n"
	    "  incidents [--all]           open (or all) incidents\n"
	    "  incident ID                 one incident with its timeline\n"
	    "  ack ID [--by WHO] [--comment TEXT]\n"
	    "  resolve ID [--by WHO] [--comment TEXT]\n"
	    "  comment ID TEXT [--by WHO]\n"
	    "  run NAME                    run a check now\n"
	    "  push-url NAME               a heartbeat check's push URL\n"
	    "  traps                       trap listeners: counts, last "
	    "unmatched traps\n"
	    "  reload                      reload the configuration\n"
	    "  graph CHECK METRIC [--since 1d] -o FILE.png|FILE.svg|-\n"
	    "  forecast CHECK METRIC\n"
	    "  report [--since 30d | --month 2026-11]\n"
	    "  capacity [--horizon 90d] [--all]  what runs out first, and "
	    "when\n"
	    "  oncall\n"
	    "  cluster                     the nodes of a cluster: leader, "
	    "alive, checks\n"
	    "  change TITLE --group G|--host H|--check C [--by WHO]\n"
	    "                              record a change (a deploy, a "
	    "config push)\n"
	    "  changes [--since 7d]        the changes recorded\n"
	    "  problems [--all]            open problems and known errors\n"
	    "  problem ID                  one problem, its workaround and "
	    "incidents\n"
	    "  slos                        service-level objectives: budget "
	    "left, burn rates\n"
	    "  migrate-store --to CONNINFO [--from FILE]\n"
	    "                              copy incidents.db (default "
	    "state_dir's)\n"
	    "                              into an empty PostgreSQL "
	    "database\n"
	    "options:\n"
	    "  -s URL     the API (default: $TOCSIN_URL, api.listen, %s)\n"
	    "  -t TOKEN   the API token (default: $TOCSIN_TOKEN, the token "
	    "file)\n"
	    "  -c FILE    tocsind's configuration, for listen and token_file\n"
	    "             (default %s)\n"
	    "  --json     print the API's JSON\n"
	    "exit status: 0 success, 1 error, 2 usage error\n",
	    CTL_DEFAULT_URL, TOCSIN_CONF_FILE);
	exit(0);
}

/*
 * The command's state, for ctl_exit(): an error path frees what it holds
 * and leaves through here, so that nothing is left allocated at exit
 * (the sanitizer build checks that).
 */
static struct ctl *ctl_g;

static void
ctl_free(struct ctl *ctl)
{
	free(ctl->url);
	ctl->url = NULL;
	json_decref(ctl->target);
	ctl->target = NULL;
	if (ctl->token != NULL) {
		explicit_bzero(ctl->token, strlen(ctl->token));
		free(ctl->token);
		ctl->token = NULL;
	}
}

static __attribute__((noreturn)) void
ctl_exit(int rc)
{
	if (ctl_g != NULL)
		ctl_free(ctl_g);
	curl_global_cleanup();
	exit(rc);
}

static void
warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static __attribute__((noreturn)) void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_exit(1);
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		die("out of memory");
	return p;
}

/* ---- the config file: api.listen, api.token_file, daemon.state_dir ----- */

/* Reads a whole small file; a new string, or NULL (errno set). */
static char *
read_file(const char *path, size_t max)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	n = fread(buf, 1, max, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/*
 * Blanks comments (#, //, and C comments) outside strings, so that the
 * scanner below sees only keys, values and braces.
 */
static void
strip_comments(char *s)
{
	bool str = false;
	char *p;

	for (p = s; *p != '\0'; p++) {
		if (str) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				str = false;
			continue;
		}
		if (*p == '"')
			str = true;
		else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				*p++ = ' ';
			if (*p == '\0')
				break;
		} else if (*p == '/' && p[1] == '*') {
			while (*p != '\0' && !(*p == '*' && p[1] == '/'))
				*p++ = ' ';
			if (*p == '\0')
				break;
			*p++ = ' ';
			*p = ' ';
		}
	}
}

/*
 * The value of key inside the top-level section sect of text (comments
 * stripped): a quoted string, unescaped.  A new string, or NULL.
 */
static char *
conf_value(const char *text, const char *sect, const char *key)
{
	const char *p = text, *q;
	size_t sl = strlen(sect), kl = strlen(key);
	int depth = 0;
	bool in = false, str = false;
	char *out, *o;

	for (; *p != '\0'; p++) {
		if (str) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				str = false;
			continue;
		}
		if (*p == '"') {
			str = true;
			continue;
		}
		if (*p == '{') {
			depth++;
			continue;
		}
		if (*p == '}') {
			if (--depth == 0)
				in = false;
			continue;
		}
		if (p != text && (isalnum((unsigned char)p[-1]) ||
		    p[-1] == '_'))
			continue;
		if (depth == 0 && strncmp(p, sect, sl) == 0) {
			for (q = p + sl; isspace((unsigned char)*q); q++)
				;
			if (*q == '{') {
				in = true;
				p = q - 1;
			}
			continue;
		}
		if (!in || depth != 1 || strncmp(p, key, kl) != 0)
			continue;
		for (q = p + kl; isspace((unsigned char)*q); q++)
			;
		if (*q != '=')
			continue;
		for (q++; isspace((unsigned char)*q); q++)
			;
		if (*q != '"')
			return NULL;
		if ((out = malloc(strlen(q))) == NULL)
			return NULL;
		for (q++, o = out; *q != '\0' && *q != '"'; q++) {
			if (*q == '\\' && q[1] != '\0')
				q++;
			*o++ = *q;
		}
		*o = '\0';
		return out;
	}
	return NULL;
}

/* path made relative to the directory of file, as tocsind does (c). */
static char *
conf_rel(const char *file, char *path)
{
	const char *slash;
	char *out;

	if (path == NULL || path[0] == '/' ||
	    (slash = strrchr(file, '/')) == NULL)
		return path;
	if (asprintf(&out, "%.*s/%s", (int)(slash - file), file, path) < 0)
		die("out of memory");
	free(path);
	return out;
}

/*
 * "HOST:PORT" of listen as a URL a client can reach: a wildcard address
 * becomes loopback.  A new string, or NULL.
 */
static char *
listen_url(const char *listen)
{
	const char *colon = strrchr(listen, ':'), *host = listen;
	int hl;
	char *url;

	if (colon == NULL)
		return NULL;
	hl = (int)(colon - listen);
	if (hl == 7 && strncmp(listen, "0.0.0.0", 7) == 0) {
		host = "127.0.0.1";
		hl = 9;
	} else if (hl == 4 && strncmp(listen, "[::]", 4) == 0) {
		host = "[::1]";
		hl = 5;
	}
	if (asprintf(&url, "http://%.*s:%s", hl, host, colon + 1) < 0)
		die("out of memory");
	return url;
}

/*
 * Fills what the flags and environment left open from the config file
 * conf (given: complain if unreadable; else the default, if present).
 */
static void
ctl_from_config(struct ctl *ctl, const char *conf, bool given)
{
	char *text, *listen, *tf, *sd, *tok, *url;
	size_t n;

	if ((text = read_file(conf, CTL_CONF_MAX)) == NULL) {
		if (given)
			die("cannot read %s: %s", conf, strerror(errno));
		return;
	}
	strip_comments(text);
	if (ctl->url == NULL &&
	    (listen = conf_value(text, "api", "listen")) != NULL) {
		if ((url = listen_url(listen)) != NULL)
			ctl->url = url;
		free(listen);
	}
	if (ctl->token == NULL) {
		tf = conf_rel(conf, conf_value(text, "api", "token_file"));
		if (tf == NULL) {
			sd = conf_rel(conf, conf_value(text, "daemon",
			    "state_dir"));
			if (asprintf(&tf, "%s/api.token", sd != NULL ? sd :
			    TOCSIN_STATE_DIR) < 0)
				die("out of memory");
			free(sd);
		}
		if ((tok = read_file(tf, 4096)) != NULL) {
			n = strlen(tok);
			while (n > 0 && isspace((unsigned char)tok[n - 1]))
				tok[--n] = '\0';
			if (n > 0)
				ctl->token = tok;
			else
				free(tok);
		}
		free(tf);
	}
	free(text);
}

/* ---- HTTP ------------------------------------------------------------ */

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->len + len > CTL_MAX_REPLY) {
		r->too_big = true;
		return 0;
	}
	if ((nb = realloc(r->body, r->len + len + 1)) == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/*
 * One request: method on path (already escaped) with body (a JSON text,
 * or NULL).  Dies on a network error; returns the reply otherwise, with
 * any HTTP status.
 */
static struct reply
ctl_request(const struct ctl *ctl, const char *method, const char *path,
    const char *body)
{
	struct curl_slist *h = NULL;
	struct reply r = { 0, NULL, 0, false };
	char *url, *auth = NULL, err[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;

	if ((c = curl_easy_init()) == NULL)
		die("cannot initialise libcurl");
	if (asprintf(&url, "%s%s", ctl->url, path) < 0)
		die("out of memory");
	h = curl_slist_append(h, "Accept: application/json");
	if (ctl->token != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", ctl->token) < 0)
			die("out of memory");
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0 && body == NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tocsinctl/" PACKAGE_VERSION);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	else if (err[0] == '\0')
		snprintf(err, sizeof(err), "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(r.body == NULL || rc != CURLE_OK ? r.body : NULL);
	if (rc != CURLE_OK) {
		/* everything freed: die() leaves nothing behind */
		if (r.too_big)
			warnx_("%s %s: the reply is over %d MiB", method, url,
			    CTL_MAX_REPLY >> 20);
		else
			warnx_("cannot reach tocsind at %s: %s", ctl->url, err);
		free(url);
		ctl_exit(1);
	}
	free(url);
	if (r.body == NULL)
		r.body = xstrdup("");
	return r;
}

/* Dies with the API's error message unless r is a 2xx. */
static void
ctl_check(const struct ctl *ctl, const struct reply *r, const char *what)
{
	json_t *o;
	const char *msg = NULL;

	if (r->status >= 200 && r->status < 300)
		return;
	o = json_loads(r->body, 0, NULL);
	if (o != NULL && json_is_string(json_object_get(o, "error")))
		msg = json_string_value(json_object_get(o, "error"));
	if (r->status == 401 && ctl->token == NULL)
		warnx_("no token: give -t TOKEN, $TOCSIN_TOKEN or -c with a "
		    "readable token_file");
	warnx_("%s: HTTP %ld: %s", what, r->status, msg != NULL ? msg :
	    (r->len > 0 && r->len < 200 && o == NULL ? r->body :
	    "(no message)"));
	json_decref(o);
	free(r->body);
	ctl_exit(1);
}

/* The reply as JSON (dies if it is not). */
static json_t *
ctl_json(const struct reply *r, const char *what)
{
	json_error_t e;
	json_t *o;

	if ((o = json_loadb(r->body, r->len, 0, &e)) == NULL) {
		warnx_("%s: the reply is not JSON: %s", what, e.text);
		free(r->body);
		ctl_exit(1);
	}
	return o;
}

/* GET path and return the JSON, dying on any error. */
static json_t *
ctl_get(const struct ctl *ctl, const char *path, struct reply *keep)
{
	struct reply r = ctl_request(ctl, "GET", path, NULL);
	json_t *o;

	ctl_check(ctl, &r, path);
	o = ctl_json(&r, path);
	if (keep != NULL)
		*keep = r;
	else
		free(r.body);
	return o;
}

static char *
esc(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	if (e == NULL)
		die("out of memory");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/* ---- output ---------------------------------------------------------- */

static const char *
state_color(const struct ctl *ctl, const char *state)
{
	if (!ctl->color || state == NULL)
		return "";
	if (strcmp(state, "OK") == 0)
		return "\033[32m";
	if (strcmp(state, "WARNING") == 0)
		return "\033[33m";
	if (strcmp(state, "CRITICAL") == 0 || strcmp(state, "P1") == 0 ||
	    strcmp(state, "P2") == 0)
		return "\033[31m";
	if (strcmp(state, "UNKNOWN") == 0)
		return "\033[35m";
	if (strcmp(state, "UNREACHABLE") == 0)
		return "\033[36m";
	return "";
}

static const char *
reset(const struct ctl *ctl, const char *color)
{
	return ctl->color && color[0] != '\0' ? "\033[0m" : "";
}

/* Display width of UTF-8 text: code points (good enough for names). */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A JSON value as short text ("-" for null). */
static char *
text_of(json_t *v)
{
	char *s;

	if (v == NULL || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v)) {
		if (asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0)
			die("out of memory");
		return s;
	}
	if (json_is_real(v)) {
		if (asprintf(&s, "%g", json_real_value(v)) < 0)
			die("out of memory");
		return s;
	}
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "yes" : "no");
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		die("out of memory");
	return s;
}

/* How long ago an RFC 3339 time was: "5m 3s", or "-". */
static char *
ago(json_t *v)
{
	struct tm tm;
	time_t t, d;
	char *s;
	int rc;

	memset(&tm, 0, sizeof(tm));
	if (!json_is_string(v) ||
	    strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return xstrdup("-");
	t = timegm(&tm);
	d = time(NULL) - t;
	if (d < 0)
		d = 0;
	if (d >= 86400)
		rc = asprintf(&s, "%lldd %lldh", (long long)d / 86400,
		    (long long)d % 86400 / 3600);
	else if (d >= 3600)
		rc = asprintf(&s, "%lldh %lldm", (long long)d / 3600,
		    (long long)d % 3600 / 60);
	else if (d >= 60)
		rc = asprintf(&s, "%lldm %llds", (long long)d / 60,
		    (long long)d % 60);
	else
		rc = asprintf(&s, "%llds", (long long)d);
	if (rc < 0)
		die("out of memory");
	return s;
}

/*
 * A table: ncol columns, rows of strings (owned, freed here).  Column 0
 * may be coloured by colorcol's text.  The last column is not padded.
 */
struct table {
	unsigned ncol, nrow;
	char **cell;			/* nrow * ncol */
	int colorcol;			/* -1: none */
};

static void
table_row(struct table *t, ...)
{
	va_list ap;
	unsigned i;

	if ((t->cell = reallocarray(t->cell, (t->nrow + 1) * t->ncol,
	    sizeof(char *))) == NULL)
		die("out of memory");
	va_start(ap, t);
	for (i = 0; i < t->ncol; i++)
		t->cell[t->nrow * t->ncol + i] = va_arg(ap, char *);
	va_end(ap);
	t->nrow++;
}

static void
table_print(const struct ctl *ctl, struct table *t)
{
	size_t w[16] = { 0 }, n;
	unsigned r, c;
	const char *col, *s;

	for (r = 0; r < t->nrow; r++)
		for (c = 0; c < t->ncol; c++)
			if ((n = width(t->cell[r * t->ncol + c])) > w[c])
				w[c] = n;
	for (r = 0; r < t->nrow; r++) {
		for (c = 0; c < t->ncol; c++) {
			s = t->cell[r * t->ncol + c];
			col = r > 0 && (int)c == t->colorcol ?
			    state_color(ctl, s) : "";
			if (r == 0 && ctl->color)
				col = "\033[1m";
			printf("%s%s%s", col, s, reset(ctl, col));
			if (c + 1 < t->ncol)
				printf("%*s", (int)(w[c] - width(s) + 2), "");
			free(t->cell[r * t->ncol + c]);
		}
		putchar('\n');
	}
	free(t->cell);
	t->cell = NULL;
	t->nrow = 0;
}

/* The table, or none (a line saying so) when it has only its header. */
static void
table_or_none(struct ctl *ctl, struct table *t, const char *none)
{
	unsigned i;

	if (t->nrow > 1) {
		table_print(ctl, t);
		return;
	}
	printf("%s\n", none);
	for (i = 0; i < t->nrow * t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->nrow = 0;
}

static char *
field(json_t *o, const char *key)
{
	return text_of(json_object_get(o, key));
}

static void
print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	putchar('\n');
}

/* ---- commands -------------------------------------------------------- */

static int
cmd_status(struct ctl *ctl, char **argv)
{
	static const char *const states[] = { "OK", "WARNING", "CRITICAL",
	    "UNKNOWN", "UNREACHABLE", "PENDING" };
	json_t *o, *checks;
	const char *col;
	char *s;
	unsigned i;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/status", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	s = field(o, "version");
	printf("tocsind %s at %s, up %llds\n", s, ctl->url,
	    (long long)json_integer_value(json_object_get(o, "uptime")));
	free(s);
	checks = json_object_get(o, "checks");
	s = field(checks, "total");
	printf("checks: %s", s);
	free(s);
	for (i = 0; i < 6; i++) {
		/* a tocsind before PENDING has no such count */
		if (json_object_get(checks, states[i]) == NULL)
			continue;
		s = field(checks, states[i]);
		col = strcmp(s, "0") != 0 ? state_color(ctl, states[i]) : "";
		printf("  %s%s %s%s", col, states[i], s, reset(ctl, col));
		free(s);
	}
	putchar('\n');
	s = field(o, "open_incidents");
	printf("open incidents: %s\n", s);
	free(s);
	s = field(o, "flapping");
	printf("flapping: %s\n", s);
	free(s);
	json_decref(o);
	return 0;
}

static char *
state_text(json_t *c)
{
	char *s;

	if (asprintf(&s, "%s%s", json_string_value(json_object_get(c,
	    "state")) ? json_string_value(json_object_get(c, "state")) : "?",
	    json_is_string(json_object_get(c, "state_type")) &&
	    strcmp(json_string_value(json_object_get(c, "state_type")),
	    "soft") == 0 ? " (soft)" : "") < 0)
		die("out of memory");
	return s;
}

static int
cmd_checks(struct ctl *ctl, char **argv)
{
	struct table t = { 5, 0, NULL, 1 };
	json_t *o, *c;
	size_t i;
	char *att;
	bool rules = false;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/checks", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	/* a RULE column when an apply rule made any of them */
	json_array_foreach(json_object_get(o, "checks"), i, c)
		if (json_is_string(json_object_get(c, "rule")))
			rules = true;
	if (rules) {
		t.ncol = 6;
		table_row(&t, xstrdup("NAME"), xstrdup("STATE"),
		    xstrdup("ATTEMPT"), xstrdup("LAST CHECK"), xstrdup("RULE"),
		    xstrdup("SUMMARY"));
	} else
		table_row(&t, xstrdup("NAME"), xstrdup("STATE"),
		    xstrdup("ATTEMPT"), xstrdup("LAST CHECK"),
		    xstrdup("SUMMARY"));
	json_array_foreach(json_object_get(o, "checks"), i, c) {
		if (asprintf(&att, "%lld/%lld",
		    (long long)json_integer_value(json_object_get(c,
		    "attempt")), (long long)json_integer_value(
		    json_object_get(c, "max_attempts"))) < 0)
			die("out of memory");
		if (rules)
			table_row(&t, field(c, "name"), state_text(c), att,
			    ago(json_object_get(c, "last_check")),
			    json_is_string(json_object_get(c, "rule")) ?
			    field(c, "rule") : xstrdup("-"), field(c,
			    "summary"));
		else
			table_row(&t, field(c, "name"), state_text(c), att,
			    ago(json_object_get(c, "last_check")), field(c,
			    "summary"));
	}
	table_print(ctl, &t);
	json_decref(o);
	return 0;
}

static int
cmd_check(struct ctl *ctl, char **argv)
{
	static const char *const keys[] = { "name", "type", "host", "group",
	    "rule", "state", "state_type", "attempt", "max_attempts", "last_check",
	    "next_check", "last_state_change", "flapping", "summary", NULL };
	struct table t = { 7, 0, NULL, -1 };
	json_t *o, *m;
	char *path, *e, *s;
	size_t i;

	e = esc(argv[0]);
	if (asprintf(&path, "/api/v1/checks/%s", e) < 0)
		die("out of memory");
	free(e);
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	for (i = 0; keys[i] != NULL; i++) {
		s = field(o, keys[i]);
		if (strcmp(keys[i], "state") == 0)
			printf("%-18s %s%s%s\n", keys[i], state_color(ctl, s),
			    s, reset(ctl, state_color(ctl, s)));
		else
			printf("%-18s %s\n", keys[i], s);
		free(s);
	}
	if (json_array_size(json_object_get(o, "metrics")) > 0) {
		putchar('\n');
		table_row(&t, xstrdup("METRIC"), xstrdup("VALUE"),
		    xstrdup("UNIT"), xstrdup("WARN"), xstrdup("CRIT"),
		    xstrdup("MIN"), xstrdup("MAX"));
		json_array_foreach(json_object_get(o, "metrics"), i, m)
			table_row(&t, field(m, "name"), field(m, "value"),
			    field(m, "unit"), field(m, "warn"), field(m,
			    "crit"), field(m, "min"), field(m, "max"));
		table_print(ctl, &t);
	}
	json_decref(o);
	return 0;
}

/* A positive incident id, or a usage error. */
static long long
incident_id(const char *s)
{
	char *end;
	long long id;

	errno = 0;
	id = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || id <= 0) {
		warnx_("\"%s\" is not an incident id (a positive number)", s);
		usage();
	}
	return id;
}

static int
cmd_incidents(struct ctl *ctl, char **argv)
{
	struct table t = { 6, 0, NULL, 1 };
	json_t *o, *inc;
	size_t i;

	(void)argv;
	o = ctl_get(ctl, ctl->all ? "/api/v1/incidents?status=all" :
	    "/api/v1/incidents", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	table_row(&t, xstrdup("ID"), xstrdup("PRIO"), xstrdup("STATUS"),
	    xstrdup("AGE"), xstrdup("ROOT CAUSE"), xstrdup("TITLE"));
	json_array_foreach(json_object_get(o, "incidents"), i, inc)
		table_row(&t, field(inc, "id"), field(inc, "priority"),
		    field(inc, "status"), ago(json_object_get(inc,
		    "opened_at")), field(inc, "root_cause"), field(inc,
		    "title"));
	table_or_none(ctl, &t, ctl->all ? "no incidents" : "no open incidents");
	json_decref(o);
	return 0;
}

static int
cmd_incident(struct ctl *ctl, char **argv)
{
	static const char *const keys[] = { "id", "title", "status",
	    "priority", "impact", "urgency", "root_cause", "flapping",
	    "opened_at", "acknowledged_at", "acknowledged_by", "resolved_at",
	    NULL };
	struct table t = { 3, 0, NULL, 1 };
	char *path, *s;
	json_t *o, *x;
	size_t i;

	if (asprintf(&path, "/api/v1/incidents/%lld",
	    incident_id(argv[0])) < 0)
		die("out of memory");
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	for (i = 0; keys[i] != NULL; i++) {
		s = field(o, keys[i]);
		printf("%-16s %s\n", keys[i], s);
		free(s);
	}
	if (json_array_size(json_object_get(o, "checks")) > 0) {
		printf("\n");
		table_row(&t, xstrdup("CHECK"), xstrdup("STATE"),
		    xstrdup("ROLE"));
		json_array_foreach(json_object_get(o, "checks"), i, x)
			table_row(&t, field(x, "name"), field(x, "state"),
			    field(x, "role"));
		table_print(ctl, &t);
	}
	if (json_array_size(json_object_get(o, "timeline")) > 0) {
		printf("\n");
		t.colorcol = -1;
		table_row(&t, xstrdup("AT"), xstrdup("KIND"), xstrdup("TEXT"));
		json_array_foreach(json_object_get(o, "timeline"), i, x)
			table_row(&t, field(x, "at"), field(x, "kind"),
			    field(x, "text"));
		table_print(ctl, &t);
	}
	json_decref(o);
	return 0;
}

/* POST path with body (stolen, may be NULL); prints done or the JSON. */
static int
ctl_post(struct ctl *ctl, const char *path, json_t *body, const char *done)
{
	struct reply r;
	char *text = NULL;
	json_t *o;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		die("out of memory");
	json_decref(body);
	r = ctl_request(ctl, "POST", path, text);
	free(text);
	ctl_check(ctl, &r, path);
	if (ctl->json) {
		o = ctl_json(&r, path);
		print_json(o);
		json_decref(o);
	} else
		printf("%s\n", done);
	free(r.body);
	return 0;
}

static json_t *
by_body(struct ctl *ctl, const char *comment)
{
	const char *by = ctl->by;
	json_t *o;

	struct passwd *pw;

	/*
	 * Who acts: --by, else the login name.  $USER is unset under cron,
	 * su -c, docker exec and systemd units, and getlogin() needs a
	 * terminal; the password entry of the real uid is always there.
	 */
	if (by == NULL && (by = getenv("USER")) == NULL &&
	    (by = getenv("LOGNAME")) == NULL && (by = getlogin()) == NULL &&
	    (pw = getpwuid(getuid())) != NULL)
		by = pw->pw_name;
	if ((o = json_object()) == NULL)
		die("out of memory");
	if (by != NULL)
		json_object_set_new(o, "by", json_string(by));
	if (comment != NULL)
		json_object_set_new(o, "comment", json_string(comment));
	return o;
}

static int
incident_action(struct ctl *ctl, const char *id_text, const char *action,
    const char *comment, const char *done)
{
	long long id = incident_id(id_text);
	char *path, *msg;
	int rc;

	if (asprintf(&path, "/api/v1/incidents/%lld/%s", id, action) < 0 ||
	    asprintf(&msg, "incident %lld %s", id, done) < 0)
		die("out of memory");
	rc = ctl_post(ctl, path, by_body(ctl, comment), msg);
	free(path);
	free(msg);
	return rc;
}

static int
cmd_ack(struct ctl *ctl, char **argv)
{
	return incident_action(ctl, argv[0], "ack", ctl->comment,
	    "acknowledged");
}

static int
cmd_resolve(struct ctl *ctl, char **argv)
{
	return incident_action(ctl, argv[0], "resolve", ctl->comment,
	    "resolved");
}

static int
cmd_comment(struct ctl *ctl, char **argv)
{
	if (argv[1][0] == '\0') {
		warnx_("the comment is empty");
		usage();
	}
	return incident_action(ctl, argv[0], "comment", argv[1],
	    "commented");
}

static int
cmd_run(struct ctl *ctl, char **argv)
{
	char *path, *e, *msg;
	int rc;

	e = esc(argv[0]);
	if (asprintf(&path, "/api/v1/checks/%s/run", e) < 0 ||
	    asprintf(&msg, "check %s: run requested", argv[0]) < 0)
		die("out of memory");
	free(e);
	rc = ctl_post(ctl, path, NULL, msg);
	free(path);
	free(msg);
	return rc;
}

/* The secret push URL of heartbeat check NAME (read with the token). */
static int
cmd_push_url(struct ctl *ctl, char **argv)
{
	char *path, *e, *s;
	json_t *o;

	e = esc(argv[0]);
	if (asprintf(&path, "/api/v1/checks/%s/push", e) < 0)
		die("out of memory");
	free(e);
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json)
		print_json(o);
	else {
		s = field(o, "url");
		printf("%s\n", s);
		free(s);
	}
	json_decref(o);
	return 0;
}

/*
 * The trap_listener checks: what each received, matched, left unmatched
 * and rejected, and the last unmatched traps (its long output).
 */
static int
cmd_traps(struct ctl *ctl, char **argv)
{
	json_t *o, *c, *one;
	size_t i;
	char *name, *sum, *path, *e, *lo;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/checks?type=trap_listener", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	if (json_array_size(json_object_get(o, "checks")) == 0)
		printf("no trap_listener checks in the configuration\n");
	json_array_foreach(json_object_get(o, "checks"), i, c) {
		name = field(c, "name");
		sum = field(c, "summary");
		printf("%s%s: %s\n", i > 0 ? "\n" : "", name, sum);
		free(sum);
		e = esc(name);
		if (asprintf(&path, "/api/v1/checks/%s", e) < 0)
			die("out of memory");
		free(e);
		one = ctl_get(ctl, path, NULL);
		free(path);
		if (json_is_string(json_object_get(one, "long_output"))) {
			lo = field(one, "long_output");
			printf("%s%s", lo, lo[0] != '\0' &&
			    lo[strlen(lo) - 1] != '\n' ? "\n" : "");
			free(lo);
		}
		json_decref(one);
		free(name);
	}
	json_decref(o);
	return 0;
}

static int
cmd_reload(struct ctl *ctl, char **argv)
{
	(void)argv;
	return ctl_post(ctl, "/api/v1/reload", NULL, "reload requested "
	    "(tocsind's log says whether the new configuration was taken)");
}

static int
cmd_graph(struct ctl *ctl, char **argv)
{
	const char *ext;
	struct reply r;
	char *path, *c, *m, *s;
	FILE *fp;
	bool ok;

	if (ctl->out == NULL) {
		warnx_("graph needs -o FILE.png (or .svg, or - for stdout)");
		usage();
	}
	ext = strlen(ctl->out) > 4 &&
	    strcmp(ctl->out + strlen(ctl->out) - 4, ".svg") == 0 ?
	    "svg" : "png";
	c = esc(argv[0]);
	m = esc(argv[1]);
	s = esc(ctl->since != NULL ? ctl->since : "1d");
	if (asprintf(&path, "/api/v1/graph/%s/%s.%s?since=%s", c, m, ext,
	    s) < 0)
		die("out of memory");
	free(c);
	free(m);
	free(s);
	r = ctl_request(ctl, "GET", path, NULL);
	ctl_check(ctl, &r, path);
	free(path);
	if (strcmp(ctl->out, "-") == 0)
		fp = stdout;
	else if ((fp = fopen(ctl->out, "we")) == NULL) {
		free(r.body);
		die("cannot write %s: %s", ctl->out, strerror(errno));
	}
	ok = fwrite(r.body, 1, r.len, fp) == r.len;
	ok = (fp != stdout ? fclose(fp) : fflush(fp)) == 0 && ok;
	free(r.body);
	if (!ok)
		die("cannot write %s: %s", ctl->out, strerror(errno));
	if (fp != stdout && !ctl->json)
		fprintf(stderr, "wrote %s\n", ctl->out);
	return 0;
}

/* A number of seconds as "1d 4h", "3h 5m", "12m 3s", "40s"; "-" for null. */
static char *
duration_text(json_t *v)
{
	long long d;
	char *s;
	int rc;

	if (!json_is_number(v))
		return xstrdup("-");
	d = (long long)(json_number_value(v) + 0.5);
	if (d >= 86400)
		rc = asprintf(&s, "%lldd %lldh", d / 86400, d % 86400 / 3600);
	else if (d >= 3600)
		rc = asprintf(&s, "%lldh %lldm", d / 3600, d % 3600 / 60);
	else if (d >= 60)
		rc = asprintf(&s, "%lldm %llds", d / 60, d % 60);
	else
		rc = asprintf(&s, "%llds", d);
	if (rc < 0)
		die("out of memory");
	return s;
}

/* A percentage with 3 decimals ("99.981 %"), "-" for null. */
static char *
percent_text(json_t *v)
{
	char *s;

	if (!json_is_number(v))
		return xstrdup("-");
	if (asprintf(&s, "%.3f %%", json_number_value(v)) < 0)
		die("out of memory");
	return s;
}

/* v as 4 significant digits (or a percentage with 3 decimals), "-"
 * when it is not a number. */
static char *
num_fmt(json_t *v, bool percent)
{
	char *s;
	int rc;

	if (!json_is_number(v))
		return xstrdup("-");
	rc = percent ? asprintf(&s, "%.3f%%", json_number_value(v)) :
	    asprintf(&s, "%.4g", json_number_value(v));
	if (rc < 0)
		die("out of memory");
	return s;
}

static char *
num_text(json_t *v)
{
	return num_fmt(v, false);
}

/*
 * The forecast as the forecast check says it: no trend before
 * min_history (the API then gives no numbers and a reason), else the
 * value now, the trend, and when it reaches the threshold.
 */
static int
cmd_forecast(struct ctl *ctl, char **argv)
{
	char *path, *c, *m, *a, *b, *d, *w;
	const char *reason, *dir;
	json_t *o;

	c = esc(argv[0]);
	m = esc(argv[1]);
	if (asprintf(&path, "/api/v1/forecast/%s/%s", c, m) < 0)
		die("out of memory");
	free(c);
	free(m);
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	w = duration_text(json_object_get(o, "window_s"));
	a = duration_text(json_object_get(o, "span_s"));
	printf("%s:%s: %lld values over %s (window %s)\n", argv[0], argv[1],
	    (long long)json_integer_value(json_object_get(o, "points")), a, w);
	free(a);
	free(w);
	reason = json_string_value(json_object_get(o, "reason"));
	if (reason != NULL || !json_is_number(json_object_get(o,
	    "slope_per_day"))) {
		printf("%s\n", reason != NULL ? reason : "no trend yet");
		json_decref(o);
		return 0;
	}
	a = num_text(json_object_get(o, "value_now"));
	b = num_text(json_object_get(o, "slope_per_day"));
	printf("now %s, trend %s%s per day\n", a, json_number_value(
	    json_object_get(o, "slope_per_day")) >= 0 ? "+" : "", b);
	free(a);
	free(b);
	a = num_text(json_object_get(o, "threshold"));
	dir = json_string_value(json_object_get(o, "direction"));
	if (!json_is_number(json_object_get(o, "threshold")))
		printf("no threshold (give one with the forecast check or "
		    "?threshold=)\n");
	else if (!json_is_number(json_object_get(o, "days_until")))
		printf("never %s %s at this trend\n", dir != NULL &&
		    strcmp(dir, "down") == 0 ? "falls to" : "reaches", a);
	else {
		b = num_text(json_object_get(o, "days_until"));
		d = field(o, "crosses_at");
		printf("reaches %s in %s days (%s)\n", a, b, d);
		free(b);
		free(d);
	}
	free(a);
	json_decref(o);
	return 0;
}

/*
 * The capacity report as a table, soonest first: days left, the date,
 * the metric, its value now (the trend's), its limit, the growth per
 * week and the fit's R².  --all adds the metrics that do not reach their
 * limit within the horizon, or have no trend.
 */
static int
cmd_capacity(struct ctl *ctl, char **argv)
{
	struct table t = { 9, 0, NULL, -1 };
	char *path, *s;
	json_t *o, *x;
	size_t i;

	(void)argv;
	s = esc(ctl->horizon != NULL ? ctl->horizon : "90d");
	if (asprintf(&path, "/api/v1/capacity?horizon=%s%s", s,
	    ctl->all ? "&all=1" : "") < 0)
		die("out of memory");
	free(s);
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	s = field(o, "computed_at");
	printf("%lld metrics with a limit (computed %s); beyond the horizon "
	    "%lld, never reached %lld, no trend %lld\n",
	    (long long)json_integer_value(json_object_get(o, "metrics")), s,
	    (long long)json_integer_value(json_object_get(o,
	    "beyond_horizon")),
	    (long long)json_integer_value(json_object_get(o, "never")),
	    (long long)json_integer_value(json_object_get(o, "no_trend")));
	free(s);
	if (json_array_size(json_object_get(o, "rows")) == 0) {
		printf("nothing reaches its limit within the horizon\n");
		json_decref(o);
		return 0;
	}
	putchar('\n');
	table_row(&t, xstrdup("DAYS"), xstrdup("DATE"), xstrdup("CHECK"),
	    xstrdup("METRIC"), xstrdup("NOW"), xstrdup("LIMIT"),
	    xstrdup("PER WEEK"), xstrdup("R2"), xstrdup("HOST"));
	json_array_foreach(json_object_get(o, "rows"), i, x) {
		const char *tr = json_string_value(json_object_get(x,
		    "trend"));
		char *date, *unit = field(x, "unit"), *lim, *now, *gw, *l;

		if (json_is_string(json_object_get(x, "crosses_at"))) {
			date = field(x, "crosses_at");
			date[strcspn(date, "T")] = '\0';
		} else
			date = xstrdup(tr != NULL && strcmp(tr, "never") == 0 ?
			    "never" : "no trend");
		if (strcmp(unit, "-") == 0)
			unit[0] = '\0';
		now = num_text(json_object_get(x, "value_now"));
		l = num_text(json_object_get(x, "limit"));
		if (asprintf(&lim, "%s%s", l, unit) < 0)
			die("out of memory");
		free(l);
		l = num_text(json_object_get(x, "growth_per_week"));
		if (asprintf(&gw, "%s%s%s", json_number_value(json_object_get(x,
		    "growth_per_week")) > 0 ? "+" : "", l, unit) < 0)
			die("out of memory");
		free(l);
		table_row(&t, num_text(json_object_get(x, "days_left")), date,
		    field(x, "check"), field(x, "metric"), now, lim, gw,
		    num_text(json_object_get(x, "r2")), field(x, "host"));
		free(unit);
	}
	table_print(ctl, &t);
	json_decref(o);
	return 0;
}

static int
cmd_report(struct ctl *ctl, char **argv)
{
	struct table t = { 4, 0, NULL, -1 };
	char *path, *s, *a, *b;
	json_t *o, *x;
	size_t i;

	(void)argv;
	if (ctl->month != NULL && ctl->since != NULL) {
		warnx_("report: give --month or --since, not both");
		usage();
	}
	s = esc(ctl->month != NULL ? ctl->month : ctl->since != NULL ?
	    ctl->since : "30d");
	if (asprintf(&path, "/api/v1/report?%s=%s", ctl->month != NULL ?
	    "month" : "since", s) < 0)
		die("out of memory");
	free(s);
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	a = field(o, "since");
	b = field(o, "until");
	printf("from %s to %s\n", a, b);
	free(a);
	free(b);
	a = duration_text(json_object_get(o, "mtta_s"));
	b = duration_text(json_object_get(o, "mttr_s"));
	printf("incidents: %lld opened, %lld acknowledged, %lld resolved; "
	    "MTTA %s, MTTR %s\n",
	    (long long)json_integer_value(json_object_get(o, "incidents")),
	    (long long)json_integer_value(json_object_get(o, "acknowledged")),
	    (long long)json_integer_value(json_object_get(o, "resolved")),
	    a, b);
	free(a);
	free(b);
	if (json_array_size(json_object_get(o, "groups")) > 0) {
		putchar('\n');
		table_row(&t, xstrdup("GROUP"), xstrdup("CHECKS"),
		    xstrdup("AVAILABILITY"), xstrdup(""));
		json_array_foreach(json_object_get(o, "groups"), i, x)
			table_row(&t, field(x, "name"), field(x, "checks"),
			    percent_text(json_object_get(x, "availability")),
			    xstrdup(""));
		table_print(ctl, &t);
	}
	if (json_array_size(json_object_get(o, "checks")) > 0) {
		putchar('\n');
		table_row(&t, xstrdup("CHECK"), xstrdup("GROUP"),
		    xstrdup("AVAILABILITY"), xstrdup("DOWNTIME"));
		json_array_foreach(json_object_get(o, "checks"), i, x)
			table_row(&t, field(x, "name"), field(x, "group"),
			    percent_text(json_object_get(x, "availability")),
			    duration_text(json_object_get(x, "downtime_s")));
		table_print(ctl, &t);
	}
	if (json_array_size(json_object_get(o, "problems")) > 0) {
		putchar('\n');
		table_row(&t, xstrdup("PROBLEM"), xstrdup("STATUS"),
		    xstrdup("INCIDENTS"), xstrdup("TIME LOST"));
		json_array_foreach(json_object_get(o, "problems"), i, x) {
			char *name;

			if (asprintf(&name, "#%lld %s", (long long)
			    json_integer_value(json_object_get(x, "id")),
			    json_string_value(json_object_get(x, "title"))) < 0)
				die("out of memory");
			table_row(&t, name, field(x, "status"),
			    field(x, "incidents"),
			    duration_text(json_object_get(x, "lost_s")));
		}
		table_print(ctl, &t);
	}
	json_decref(o);
	return 0;
}

static int
cmd_oncall(struct ctl *ctl, char **argv)
{
	struct table t = { 5, 0, NULL, -1 };
	json_t *o, *x;
	size_t i;
	char *who;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/oncall", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	if (json_array_size(json_object_get(o, "oncall")) == 0) {
		printf("no schedules\n");
		json_decref(o);
		return 0;
	}
	table_row(&t, xstrdup("SCHEDULE"), xstrdup("ON CALL"),
	    xstrdup("SINCE"), xstrdup("UNTIL"), xstrdup("EMAIL"));
	json_array_foreach(json_object_get(o, "oncall"), i, x) {
		who = field(x, "contact");
		if (json_is_true(json_object_get(x, "override"))) {
			char *w;

			if (asprintf(&w, "%s (override)", who) < 0)
				die("out of memory");
			free(who);
			who = w;
		}
		table_row(&t, field(x, "schedule"), who, field(x, "since"),
		    field(x, "until"), field(x, "email"));
	}
	table_print(ctl, &t);
	json_decref(o);
	return 0;
}

/* The nodes of a cluster: who leads, who is alive, who runs how much. */
static int
cmd_cluster(struct ctl *ctl, char **argv)
{
	struct table t = { 7, 0, NULL, -1 };
	json_t *o, *x;
	size_t i;
	char *checks, *flags;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/cluster", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	table_row(&t, xstrdup("NODE"), xstrdup("LOCATION"), xstrdup("ALIVE"),
	    xstrdup("ROLE"), xstrdup("CHECKS"), xstrdup("LAST SEEN"),
	    xstrdup("API"));
	json_array_foreach(json_object_get(o, "nodes"), i, x) {
		if (asprintf(&checks, "%lld", (long long)json_integer_value(
		    json_object_get(x, "checks"))) < 0 ||
		    asprintf(&flags, "%s%s",
		    json_is_true(json_object_get(x, "leader")) ? "leader" :
		    "follower", json_is_true(json_object_get(x,
		    "config_differs")) ? ", config differs" : "") < 0)
			die("out of memory");
		table_row(&t, field(x, "name"),
		    json_is_string(json_object_get(x, "location")) ?
		    field(x, "location") : xstrdup("-"),
		    xstrdup(json_is_true(json_object_get(x, "alive")) ? "yes" :
		    "no"), flags, checks, ago(json_object_get(x, "last_seen")),
		    json_is_string(json_object_get(x, "api")) ?
		    field(x, "api") : xstrdup("-"));
	}
	table_print(ctl, &t);
	if (!json_is_true(json_object_get(o, "connected")))
		printf("(node %s cannot reach PostgreSQL now: this is what it "
		    "last read)\n", json_string_value(json_object_get(o,
		    "node")) != NULL ? json_string_value(json_object_get(o,
		    "node")) : "?");
	json_decref(o);
	return 0;
}

/* change TITLE --group G|--host H|--check C … [--by WHO] */
static int
cmd_change(struct ctl *ctl, char **argv)
{
	json_t *body = by_body(ctl, NULL);
	char *msg;
	int rc;

	if (argv[0][0] == '\0') {
		warnx_("the title is empty");
		usage();
	}
	if (ctl->target == NULL) {
		warnx_("change needs --group, --host or --check");
		usage();
	}
	json_object_set_new(body, "title", json_string(argv[0]));
	json_object_update(body, ctl->target);
	if (asprintf(&msg, "change recorded: %s", argv[0]) < 0)
		die("out of memory");
	rc = ctl_post(ctl, "/api/v1/changes", body, msg);
	free(msg);
	return rc;
}

/* changes [--since 7d] */
static int
cmd_changes(struct ctl *ctl, char **argv)
{
	struct table t = { 5, 0, NULL, -1 };
	char *path, *s, *a;
	json_t *o, *x;
	size_t i;

	(void)argv;
	s = esc(ctl->since != NULL ? ctl->since : "7d");
	if (asprintf(&path, "/api/v1/changes?since=%s", s) < 0)
		die("out of memory");
	free(s);
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	if (json_array_size(json_object_get(o, "changes")) == 0) {
		printf("no changes\n");
		json_decref(o);
		return 0;
	}
	table_row(&t, xstrdup("ID"), xstrdup("STARTED"), xstrdup("BY"),
	    xstrdup("TOUCHES"), xstrdup("TITLE"));
	json_array_foreach(json_object_get(o, "changes"), i, x) {
		json_t *all = json_array(), *e;
		size_t j;
		static const char *const keys[] = { "groups", "hosts",
		    "checks" };
		unsigned k;

		for (k = 0; k < 3; k++)
			json_array_foreach(json_object_get(x, keys[k]), j, e)
				json_array_append(all, e);
		a = json_dumps(all, JSON_COMPACT);
		json_decref(all);
		table_row(&t, field(x, "id"), field(x, "started_at"),
		    field(x, "by"), a != NULL ? a : xstrdup(""),
		    field(x, "title"));
	}
	table_print(ctl, &t);
	json_decref(o);
	return 0;
}

/* problems [--all]: open and known errors (or all) */
static int
cmd_problems(struct ctl *ctl, char **argv)
{
	struct table t = { 5, 0, NULL, -1 };
	json_t *o, *x;
	size_t i;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/problems", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	table_row(&t, xstrdup("ID"), xstrdup("STATUS"), xstrdup("INCIDENTS"),
	    xstrdup("ROOT CAUSE"), xstrdup("TITLE"));
	json_array_foreach(json_object_get(o, "problems"), i, x) {
		char *n;

		if (!ctl->all && strcmp(json_string_value(json_object_get(x,
		    "status")) ? json_string_value(json_object_get(x,
		    "status")) : "", "resolved") == 0)
			continue;
		if (asprintf(&n, "%zu", json_array_size(json_object_get(x,
		    "incidents"))) < 0)
			die("out of memory");
		table_row(&t, field(x, "id"), field(x, "status"), n,
		    field(x, "root_cause"), field(x, "title"));
	}
	table_or_none(ctl, &t, ctl->all ? "no problems" : "no open problems");
	json_decref(o);
	return 0;
}

/* A percentage with 3 decimals, or "-" (null: no member yet). */
static char *
pct(json_t *v)
{
	return num_fmt(v, true);
}

/* slos: each SLO's availability, budget left, burn rates, status */
static int
cmd_slos(struct ctl *ctl, char **argv)
{
	struct table t = { 7, 0, NULL, -1 };
	json_t *o, *x, *v;
	const char *k;
	size_t i;

	(void)argv;
	o = ctl_get(ctl, "/api/v1/slos", NULL);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	table_row(&t, xstrdup("NAME"), xstrdup("OBJECTIVE"), xstrdup("WINDOW"),
	    xstrdup("AVAILABILITY"), xstrdup("BUDGET LEFT"), xstrdup("BURN"),
	    xstrdup("STATUS"));
	json_array_foreach(json_object_get(o, "slos"), i, x) {
		char *burn = xstrdup(""), *b;

		json_object_foreach(json_object_get(x, "burn_rates"), k, v) {
			if (asprintf(&b, "%s%s%s=%.2fx", burn, *burn ? " " : "",
			    k, json_number_value(v)) < 0)
				die("out of memory");
			free(burn);
			burn = b;
		}
		table_row(&t, field(x, "name"), pct(json_object_get(x,
		    "objective")), field(x, "window"), pct(json_object_get(x,
		    "availability")), pct(json_object_get(x,
		    "error_budget_remaining")), burn, field(x, "status"));
	}
	table_or_none(ctl, &t, "no SLOs configured");
	json_decref(o);
	return 0;
}

/* problem ID: one problem, its workaround and incidents */
static int
cmd_problem(struct ctl *ctl, char **argv)
{
	static const char *const keys[] = { "id", "title", "status",
	    "root_cause", "opened_at", "updated_at", "resolved_at",
	    "workaround", "root_cause_analysis", NULL };
	char *path, *s;
	json_t *o, *x;
	size_t i;

	if (asprintf(&path, "/api/v1/problems/%lld",
	    incident_id(argv[0])) < 0)
		die("out of memory");
	o = ctl_get(ctl, path, NULL);
	free(path);
	if (ctl->json) {
		print_json(o);
		json_decref(o);
		return 0;
	}
	for (i = 0; keys[i] != NULL; i++) {
		s = field(o, keys[i]);
		printf("%-20s %s\n", keys[i], s);
		free(s);
	}
	printf("%-20s", "incidents");
	json_array_foreach(json_object_get(o, "incidents"), i, x)
		printf(" #%lld", (long long)json_integer_value(x));
	printf("\n");
	json_decref(o);
	return 0;
}

/* --group/--host/--check NAME: appended to ctl->target's list. */
static void
target_add(struct ctl *ctl, const char *key, const char *name)
{
	json_t *a;

	if (ctl->target == NULL && (ctl->target = json_object()) == NULL)
		die("out of memory");
	if ((a = json_object_get(ctl->target, key)) == NULL) {
		a = json_array();
		json_object_set_new(ctl->target, key, a);
	}
	json_array_append_new(a, json_string(name));
	ctl->opts |= OPT_TARGET;
}

static const struct command {
	const char *name;
	int nargs;
	unsigned opts;			/* OPT_* it takes */
	int (*fn)(struct ctl *, char **);
} commands[] = {
	{ "status", 0, 0, cmd_status },
	{ "checks", 0, 0, cmd_checks },
	{ "check", 1, 0, cmd_check },
	{ "incidents", 0, OPT_ALL, cmd_incidents },
	{ "incident", 1, 0, cmd_incident },
	{ "ack", 1, OPT_BY | OPT_COMMENT, cmd_ack },
	{ "resolve", 1, OPT_BY | OPT_COMMENT, cmd_resolve },
	{ "comment", 2, OPT_BY, cmd_comment },
	{ "run", 1, 0, cmd_run },
	{ "push-url", 1, 0, cmd_push_url },
	{ "traps", 0, 0, cmd_traps },
	{ "reload", 0, 0, cmd_reload },
	{ "graph", 2, OPT_SINCE | OPT_OUT, cmd_graph },
	{ "forecast", 2, 0, cmd_forecast },
	{ "report", 0, OPT_SINCE | OPT_MONTH, cmd_report },
	{ "capacity", 0, OPT_HORIZON | OPT_ALL, cmd_capacity },
	{ "oncall", 0, 0, cmd_oncall },
	{ "cluster", 0, 0, cmd_cluster },
	{ "change", 1, OPT_TARGET | OPT_BY, cmd_change },
	{ "changes", 0, OPT_SINCE, cmd_changes },
	{ "problems", 0, OPT_ALL, cmd_problems },
	{ "problem", 1, 0, cmd_problem },
	{ "slos", 0, 0, cmd_slos },
	{ NULL, 0, 0, NULL },
};

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "by", required_argument, NULL, 'b' },
		{ "comment", required_argument, NULL, 'm' },
		{ "since", required_argument, NULL, 'S' },
		{ "month", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "horizon", required_argument, NULL, 'H' },
		{ "group", required_argument, NULL, 'G' },
		{ "host", required_argument, NULL, 'O' },
		{ "check", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl;
	const struct command *cmd;
	const char *conf = NULL, *s, *nocolor;
	int ch, rc;

	/* not an API command: its own options, no server, no token */
	if (argc >= 2 && strcmp(argv[1], "migrate-store") == 0)
		return ctl_migrate_store(argc - 1, argv + 1,
		    TOCSIN_STATE_DIR "/incidents.db");
	memset(&ctl, 0, sizeof(ctl));
	ctl_g = &ctl;
	while ((ch = getopt_long(argc, argv, "s:t:c:o:jh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			ctl.url = xstrdup(optarg);
			break;
		case 't':
			ctl.token = xstrdup(optarg);
			break;
		case 'c':
			conf = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'a':
			ctl.opts |= OPT_ALL;
			ctl.all = true;
			break;
		case 'b':
			ctl.opts |= OPT_BY;
			ctl.by = optarg;
			break;
		case 'm':
			ctl.opts |= OPT_COMMENT;
			ctl.comment = optarg;
			break;
		case 'S':
			ctl.opts |= OPT_SINCE;
			ctl.since = optarg;
			break;
		case 'M':
			ctl.opts |= OPT_MONTH;
			ctl.month = optarg;
			break;
		case 'o':
			ctl.opts |= OPT_OUT;
			ctl.out = optarg;
			break;
		case 'H':
			ctl.opts |= OPT_HORIZON;
			ctl.horizon = optarg;
			break;
		case 'G':
			target_add(&ctl, "groups", optarg);
			break;
		case 'O':
			target_add(&ctl, "hosts", optarg);
			break;
		case 'C':
			target_add(&ctl, "checks", optarg);
			break;
		case 'h':
			help();
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[0]) == 0)
			break;
	if (cmd->name == NULL) {
		warnx_("unknown command \"%s\"", argv[0]);
		usage();
	}
	if (argc - 1 != cmd->nargs) {
		warnx_("%s takes %d argument%s", cmd->name, cmd->nargs,
		    cmd->nargs == 1 ? "" : "s");
		usage();
	}
	if ((ctl.opts & ~cmd->opts) != 0) {
		warnx_("an option given does not apply to %s", cmd->name);
		usage();
	}

	if (ctl.url == NULL && (s = getenv("TOCSIN_URL")) != NULL && *s)
		ctl.url = xstrdup(s);
	if (ctl.token == NULL && (s = getenv("TOCSIN_TOKEN")) != NULL && *s)
		ctl.token = xstrdup(s);
	if (ctl.url == NULL || ctl.token == NULL)
		ctl_from_config(&ctl, conf != NULL ? conf : TOCSIN_CONF_FILE,
		    conf != NULL);
	else if (conf != NULL && access(conf, R_OK) != 0)
		die("cannot read %s: %s", conf, strerror(errno));
	if (ctl.url == NULL)
		ctl.url = xstrdup(CTL_DEFAULT_URL);
	while (strlen(ctl.url) > 0 && ctl.url[strlen(ctl.url) - 1] == '/')
		ctl.url[strlen(ctl.url) - 1] = '\0';
	if (strstr(ctl.url, "://") == NULL) {	/* "host:port" is enough */
		char *u;

		if (asprintf(&u, "http://%s", ctl.url) < 0)
			die("out of memory");
		free(ctl.url);
		ctl.url = u;
	}
	nocolor = getenv("NO_COLOR");
	s = getenv("TERM");
	ctl.color = isatty(STDOUT_FILENO) && (nocolor == NULL ||
	    *nocolor == '\0') && (s == NULL || strcmp(s, "dumb") != 0);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		die("cannot initialise libcurl");
	rc = cmd->fn(&ctl, argv + 1);
	ctl_exit(rc);
}
