/*
 * notify_conf.c — the notifier's config sections (channel, contact,
 * schedule, escalation with its steps, route) and the on-call rotation.
 *
 * Each kind is a list in file order (routes are tried in that order).
 * Cross-references (a contact's channels, a schedule's members, a step's
 * targets, a route's policy) are checked in the finish() hooks, which run
 * in registration order: channel, contact, schedule, escalation, route —
 * so each kind only refers to kinds already complete.
 *
 * Rotations are computed from local wall time in the schedule's time
 * zone: shift k starts at the anchor (the first handoff on or after
 * 2024-01-01, local) plus k periods, counted in local seconds, so a
 * weekly Monday 09:00 handoff stays at 09:00 across DST changes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <tocsin/plugin.h>

#include "core/conf.h"
#include "core/log.h"
#include "notify/notify_int.h"
#include "core/util.h"
#include "lib/strv.h"

/* Positions kept for finish() (valid during conf_load only). */
struct npos {
	const char *file;
	int line;
};

/* ---- helpers ---------------------------------------------------------- */

static char **
strv_dup(struct tocsin_conf *sec, const char *key, unsigned *n)
{
	char **v;
	unsigned i;

	*n = tocsin_conf_list_size(sec, key);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < *n; i++)
		v[i] = xstrdup(tocsin_conf_list_str(sec, key, i));
	return v;
}

static int
nlist_add(void **state, void *item)
{
	struct nlist *l = *state;
	void **v;

	if (l == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			return -1;
		*state = l;
	}
	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL)
		return -1;
	l->v = v;
	v[l->n++] = item;
	return 0;
}

static const char *
str_or_null(struct tocsin_conf *sec, const char *key)
{
	const char *s = tocsin_conf_str(sec, key);

	return s != NULL && *s != '\0' ? s : NULL;
}

/*
 * An address as it goes into SMTP commands and headers: one @, no
 * spaces, controls, brackets or quotes (a stray CR/LF would inject).
 */
static bool
addr_ok(const char *a)
{
	const char *at = strchr(a, '@'), *p;

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@'))
		return false;
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == '"' || *p == ',' || *p == ';' ||
		    *p == '(' || *p == ')' || *p == '\\')
			return false;
	return true;
}

/* A header value: no control bytes (a CR/LF would inject headers). */
static bool
header_value_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

/* A shipped format's name: [a-z0-9_-], 1..64. */
static bool
fmt_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return false;
	return i > 0 && i <= 64;
}

/* s for an error message: control bytes shown as '?', cut at 120. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len && i < 120; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	buf[i] = '\0';
	return buf;
}

/* ---- channel ---------------------------------------------------------- */

static const struct tocsin_option chan_options[] = {
	{ "type", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	    "webhook, email or command" },
	{ "url", TOCSIN_OPT_STR, NULL, 0, "webhook: where to POST" },
	{ "format", TOCSIN_OPT_STR, "generic", 0,
	    "webhook: generic, slack, pagerduty, a shipped format's NAME "
	    "(paging.formats_dir/NAME.jq) or /path/to/FILE.jq" },
	{ "jq", TOCSIN_OPT_STR, NULL, 0,
	    "webhook: a jq program; the body is its output on the generic "
	    "payload" },
	{ "content_type", TOCSIN_OPT_STR, NULL, 0,
	    "webhook: Content-Type of the body (application/json)" },
	{ "vars", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "webhook: { \"NAME=VALUE\" }, $NAME and $vars.NAME in jq" },
	{ "routing_key", TOCSIN_OPT_STR, NULL, 0,
	    "webhook, format pagerduty: the integration's routing key" },
	{ "webhook_secret", TOCSIN_OPT_STR, NULL, 0,
	    "format pagerduty: the secret of a v3 webhook subscription "
	    "posting to /api/v1/inbound/pagerduty" },
	{ "signing_secret", TOCSIN_OPT_STR, NULL, 0,
	    "format slack: the Slack app's signing secret; buttons become "
	    "interactive (/api/v1/inbound/slack)" },
	{ "headers", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "webhook: extra request headers, { \"Name: value\" }" },
	{ "smtp", TOCSIN_OPT_STR, NULL, 0,
	    "email: smtp://HOST:PORT or smtps://HOST:PORT" },
	{ "from", TOCSIN_OPT_STR, NULL, 0, "email: the sender address" },
	{ "to", TOCSIN_OPT_STR, NULL, 0,
	    "email: the address when a step names the channel itself" },
	{ "username", TOCSIN_OPT_STR, NULL, 0, "email: SMTP AUTH user" },
	{ "password", TOCSIN_OPT_STR, NULL, 0, "email: SMTP AUTH password" },
	{ "starttls", TOCSIN_OPT_STR, NULL, 0,
	    "email: never, try or always (default: always when a password "
	    "is set, else try)" },
	{ "command", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "command: argv, no shell; incident in TOCSIN_* variables" },
	{ "timeout", TOCSIN_OPT_DURATION, "10s", 0, "one attempt's limit" },
	{ "max_attempts", TOCSIN_OPT_INT, "10", 0,
	    "attempts before a notification is dead" },
	{ "retry_min", TOCSIN_OPT_DURATION, "5s", 0,
	    "first retry delay (doubles, with jitter)" },
	{ "retry_max", TOCSIN_OPT_DURATION, "10m", 0,
	    "longest retry delay" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static void
chan_free(struct nchannel *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->url);
	free(c->routing_key);
	strv_free(c->headers, c->nheaders);
	njq_free(c->jq);
	njq_free(c->fmt);
	free(c->fmt_path);
	free(c->content_type);
	free(c->webhook_secret);
	free(c->signing_secret);
	strv_free(c->vars, c->nvars);
	free(c->smtp);
	free(c->from);
	free(c->to);
	free(c->username);
	free(c->password);
	strv_free(c->argv, c->argc);
	free(c);
}

static int
chan_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct nchannel *c;
	const char *type, *fmt, *tls;
	char buf[128];
	unsigned i;
	int rc = 0;

	(void)cf;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	if (nlist_add(state, c) == -1) {
		free(c);
		return -1;
	}
	c->name = xstrdup(conf_title(sec));
	type = tocsin_conf_str(sec, "type");
	fmt = tocsin_conf_str(sec, "format");
	tls = tocsin_conf_str(sec, "starttls");
	c->url = xstrdup(str_or_null(sec, "url"));
	c->routing_key = xstrdup(str_or_null(sec, "routing_key"));
	c->smtp = xstrdup(str_or_null(sec, "smtp"));
	c->from = xstrdup(str_or_null(sec, "from"));
	c->to = xstrdup(str_or_null(sec, "to"));
	c->username = xstrdup(str_or_null(sec, "username"));
	c->password = xstrdup(str_or_null(sec, "password"));
	c->argv = strv_dup(sec, "command", &c->argc);
	c->headers = strv_dup(sec, "headers", &c->nheaders);
	c->vars = strv_dup(sec, "vars", &c->nvars);
	c->content_type = xstrdup(str_or_null(sec, "content_type"));
	c->webhook_secret = xstrdup(str_or_null(sec, "webhook_secret"));
	c->signing_secret = xstrdup(str_or_null(sec, "signing_secret"));
	if (c->content_type != NULL && !header_value_ok(c->content_type)) {
		tocsin_conf_error(sec, "content_type", "\"%s\" is not a "
		    "header value on one line", shown(c->content_type, buf,
		    sizeof(buf)));
		rc = -1;
	}
	if (str_or_null(sec, "jq") != NULL) {
		char err[512];

		if ((c->jq = njq_compile(tocsin_conf_str(sec, "jq"), c->vars,
		    c->nvars, err, sizeof(err))) == NULL) {
			tocsin_conf_error(sec, "jq", "%s", err);
			rc = -1;
		}
	}
	for (i = 0; c->headers != NULL && i < c->nheaders; i++) {
		const char *h = c->headers[i], *colon = strchr(h, ':'), *p;
		bool ok = colon != NULL && colon != h;

		for (p = h; ok && *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f ||
			    (p < colon && (*p == ' ' || *p == '\t')))
				ok = false;
		if (!ok) {
			tocsin_conf_error(sec, "headers", "\"%s\" is not "
			    "\"Name: value\" on one line",
			    shown(h, buf, sizeof(buf)));
			rc = -1;
		}
	}
	c->timeout_ms = tocsin_conf_duration_ms(sec, "timeout");
	c->max_attempts = (int)tocsin_conf_int(sec, "max_attempts");
	c->retry_min_ms = tocsin_conf_duration_ms(sec, "retry_min");
	c->retry_max_ms = tocsin_conf_duration_ms(sec, "retry_max");

	if (strcmp(type, "webhook") == 0) {
		c->type = NCH_WEBHOOK;
		if (c->url == NULL) {
			tocsin_conf_error(sec, NULL, "type webhook needs url");
			rc = -1;
		} else if (strncmp(c->url, "http://", 7) != 0 &&
		    strncmp(c->url, "https://", 8) != 0) {
			tocsin_conf_error(sec, "url", "\"%s\" is not an "
			    "http:// or https:// URL",
			    shown(c->url, buf, sizeof(buf)));
			rc = -1;
		}
	} else if (strcmp(type, "email") == 0) {
		c->type = NCH_EMAIL;
		if (c->smtp == NULL || c->from == NULL) {
			tocsin_conf_error(sec, NULL, "type email needs smtp "
			    "and from");
			rc = -1;
		} else if (!addr_ok(c->from)) {
			tocsin_conf_error(sec, "from", "\"%s\" is not an email "
			    "address", shown(c->from, buf, sizeof(buf)));
			rc = -1;
		} else if (c->to != NULL && !addr_ok(c->to)) {
			tocsin_conf_error(sec, "to", "\"%s\" is not an email "
			    "address", shown(c->to, buf, sizeof(buf)));
			rc = -1;
		} else if (strncmp(c->smtp, "smtp://", 7) != 0 &&
		    strncmp(c->smtp, "smtps://", 8) != 0) {
			tocsin_conf_error(sec, "smtp", "\"%s\" is not an "
			    "smtp:// or smtps:// URL", shown(c->smtp,
			    buf, sizeof(buf)));
			rc = -1;
		}
	} else if (strcmp(type, "command") == 0) {
		c->type = NCH_COMMAND;
		if (c->argc == 0 || c->argv[0][0] != '/') {
			tocsin_conf_error(sec, c->argc ? "command" : NULL,
			    "type command needs command = { \"/absolute/path\""
			    ", args… }");
			rc = -1;
		}
	} else {
		tocsin_conf_error(sec, "type", "\"%s\" is not webhook, email "
		    "or command", shown(type, buf, sizeof(buf)));
		rc = -1;
	}
	if (c->type != NCH_WEBHOOK && (c->jq != NULL ||
	    c->content_type != NULL || strcmp(fmt, "generic") != 0)) {
		tocsin_conf_error(sec, c->jq != NULL ? "jq" : c->content_type ?
		    "content_type" : "format", "only a webhook channel has "
		    "jq, content_type or format");
		rc = -1;
	} else if (c->jq != NULL && strcmp(fmt, "generic") != 0) {
		tocsin_conf_error(sec, "format", "a channel has jq or format, "
		    "not both");
		rc = -1;
	}
	if (c->webhook_secret != NULL && strcmp(fmt, "pagerduty") != 0) {
		tocsin_conf_error(sec, "webhook_secret", "only a channel of "
		    "format pagerduty has one");
		rc = -1;
	}
	if (c->signing_secret != NULL && strcmp(fmt, "slack") != 0) {
		tocsin_conf_error(sec, "signing_secret", "only a channel of "
		    "format slack has one");
		rc = -1;
	}
	if (strcmp(fmt, "generic") == 0)
		c->format = NFMT_GENERIC;
	else if (strcmp(fmt, "slack") == 0)
		c->format = NFMT_SLACK;
	else if (strcmp(fmt, "pagerduty") == 0) {
		c->format = NFMT_PAGERDUTY;
		if (c->routing_key == NULL && c->type == NCH_WEBHOOK) {
			tocsin_conf_error(sec, "format", "pagerduty needs "
			    "routing_key");
			rc = -1;
		}
	} else if (fmt_name_ok(fmt) || fmt[0] == '/') {
		/* the file is read in chan_finish, once paging { } is known */
		c->format = NFMT_FILE;
		c->fmt_path = xstrdup(fmt);
		conf_where(sec, "format", &c->fmt_file, &c->fmt_line);
	} else {
		tocsin_conf_error(sec, "format", "\"%s\" is not generic, "
		    "slack, pagerduty, a format's name or an absolute path",
		    shown(fmt, buf, sizeof(buf)));
		rc = -1;
	}
	/*
	 * With a password, plain text is not a fallback: "try" would send
	 * it in clear to a server (or a man in the middle) that does not
	 * offer STARTTLS.  smtps:// is TLS from the start anyway.
	 */
	if (tls == NULL)
		c->starttls = c->password != NULL ? 2 : 1;
	else if (strcmp(tls, "never") == 0)
		c->starttls = 0;
	else if (strcmp(tls, "try") == 0)
		c->starttls = 1;
	else if (strcmp(tls, "always") == 0)
		c->starttls = 2;
	else {
		tocsin_conf_error(sec, "starttls", "\"%s\" is not never, try "
		    "or always", shown(tls, buf, sizeof(buf)));
		rc = -1;
	}
	if (tls != NULL && c->starttls < 2 && c->password != NULL &&
	    c->type == NCH_EMAIL && c->smtp != NULL &&
	    strncmp(c->smtp, "smtps://", 8) != 0) {
		const char *file = NULL;
		int line = 0;

		conf_where(sec, "starttls", &file, &line);
		log_warnx("%s:%d: starttls: \"%s\" with a password: the "
		    "password may cross the network in clear", file != NULL ?
		    file : "?", line, tls);
	}
	if (c->max_attempts < 1 || c->max_attempts > 1000) {
		tocsin_conf_error(sec, "max_attempts", "%d is not in 1..1000",
		    c->max_attempts);
		rc = -1;
	}
	if (c->timeout_ms <= 0) {
		tocsin_conf_error(sec, "timeout", "must be positive");
		rc = -1;
	}
	if (c->retry_min_ms <= 0 || c->retry_max_ms < c->retry_min_ms) {
		tocsin_conf_error(sec, "retry_min", "retry_min must be "
		    "positive and not above retry_max");
		rc = -1;
	}
	return rc;
}

static void
list_free(void *state, void (*fn)(void *))
{
	struct nlist *l = state;
	unsigned i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		fn(l->v[i]);
	free(l->v);
	free(l);
}

static void
chan_free_v(void *p)
{
	chan_free(p);
}

static void
chan_list_free(void *state)
{
	list_free(state, chan_free_v);
}

/* ---- paging { }: settings of the notifier as a whole ------------------ */

static const struct tocsin_option paging_options[] = {
	{ "formats_dir", TOCSIN_OPT_STR, TOCSIN_FORMATS_DIR, 0,
	    "where format = NAME finds NAME.jq" },
	{ "snooze", TOCSIN_OPT_DURATION, "1h", 0,
	    "how long a snooze link acknowledges before paging again" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct npaging {
	char *formats_dir;
	int64_t snooze_ms;
};

static int
paging_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct npaging *p;

	(void)cf;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	*state = p;
	p->formats_dir = xstrdup(tocsin_conf_str(sec, "formats_dir"));
	p->snooze_ms = tocsin_conf_duration_ms(sec, "snooze");
	if (p->snooze_ms < 1000 || p->snooze_ms > 7 * 86400000LL) {
		tocsin_conf_error(sec, "snooze", "not in 1s..7d");
		return -1;
	}
	return 0;
}

static void
paging_free(void *state)
{
	struct npaging *p = state;

	if (p == NULL)
		return;
	free(p->formats_dir);
	free(p);
}

static const struct conf_section paging_section = {
	"paging", false, paging_options, NULL, paging_load, NULL, paging_free,
};

/* A format file: at most 256 KiB.  Returns a new string or NULL. */
static char *
read_small(const char *path, const char **why)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL) {
		*why = strerror(errno);
		return NULL;
	}
	if ((buf = malloc(256 * 1024 + 1)) == NULL) {
		fclose(fp);
		*why = "out of memory";
		return NULL;
	}
	n = fread(buf, 1, 256 * 1024 + 1, fp);
	fclose(fp);
	if (n > 256 * 1024) {
		free(buf);
		*why = "over 256 KiB";
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* format = NAME: read and compile the file (paging { } is loaded now). */
static void
chan_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	struct nlist *l = *state;
	const struct npaging *pg = conf_section_state(cf, "paging");
	const char *why;
	char *path, *text, err[512];
	unsigned i;

	for (i = 0; l != NULL && i < l->n; i++) {
		struct nchannel *c = l->v[i];

		if (c->format != NFMT_FILE || c->fmt_path == NULL)
			continue;
		if (c->fmt_path[0] != '/') {
			if (asprintf(&path, "%s/%s.jq", pg != NULL &&
			    pg->formats_dir != NULL ? pg->formats_dir :
			    TOCSIN_FORMATS_DIR, c->fmt_path) < 0)
				continue;
			free(c->fmt_path);
			c->fmt_path = path;
		}
		if ((text = read_small(c->fmt_path, &why)) == NULL) {
			conf_errorf(errs, "%s:%d: channel \"%s\": format: "
			    "cannot read %s: %s", c->fmt_file, c->fmt_line,
			    c->name, c->fmt_path, why);
			continue;
		}
		c->fmt = njq_compile(text, c->vars, c->nvars, err,
		    sizeof(err));
		free(text);
		if (c->fmt == NULL)
			conf_errorf(errs, "%s:%d: channel \"%s\": format %s: "
			    "%s%s", c->fmt_file, c->fmt_line, c->name,
			    c->fmt_path, err, strstr(err, "is not defined") ?
			    " (give it with vars = { \"NAME=VALUE\" })" : "");
	}
}

static const struct conf_section chan_section = {
	"channel", true, chan_options, NULL, chan_load, chan_finish,
	chan_list_free,
};

/* ---- contact ---------------------------------------------------------- */

static const struct tocsin_option contact_options[] = {
	{ "email", TOCSIN_OPT_STR, NULL, 0, "the address email channels use" },
	{ "phone", TOCSIN_OPT_STR, NULL, 0,
	    "a number in E.164 (+15550001111), for SMS formats" },
	{ "channels", TOCSIN_OPT_STR_LIST, NULL, TOCSIN_OPT_REQUIRED,
	    "channels that reach this person" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct ncontact_x {
	struct ncontact c;
	struct npos pos;
};

static int
contact_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct ncontact_x *x;
	char buf[128];

	(void)cf;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	if (nlist_add(state, x) == -1) {
		free(x);
		return -1;
	}
	x->c.name = xstrdup(conf_title(sec));
	x->c.email = xstrdup(str_or_null(sec, "email"));
	x->c.phone = xstrdup(str_or_null(sec, "phone"));
	if (x->c.phone != NULL && (x->c.phone[0] != '+' ||
	    strlen(x->c.phone) < 3 || strlen(x->c.phone) > 16 ||
	    strspn(x->c.phone + 1, "0123456789") !=
	    strlen(x->c.phone) - 1)) {
		tocsin_conf_error(sec, "phone", "\"%s\" is not a number in "
		    "E.164 (+ and up to 15 digits)", shown(x->c.phone, buf,
		    sizeof(buf)));
		return -1;
	}
	x->c.channels = strv_dup(sec, "channels", &x->c.nchannels);
	conf_where(sec, "channels", &x->pos.file, &x->pos.line);
	if (x->c.email != NULL && !addr_ok(x->c.email)) {
		tocsin_conf_error(sec, "email", "\"%s\" is not an email "
		    "address", shown(x->c.email, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

static void
contact_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	struct nlist *l = *state;
	const struct nchannel *ch;
	unsigned i, j;

	for (i = 0; l != NULL && i < l->n; i++) {
		struct ncontact_x *x = l->v[i];

		for (j = 0; j < x->c.nchannels; j++) {
			ch = nconf_channel(cf, x->c.channels[j]);
			if (ch == NULL)
				conf_errorf(errs, "%s:%d: contact \"%s\": "
				    "channels: no channel \"%s\"", x->pos.file,
				    x->pos.line, x->c.name, x->c.channels[j]);
			else if (ch->type == NCH_EMAIL && x->c.email == NULL)
				conf_errorf(errs, "%s:%d: contact \"%s\": "
				    "channels: \"%s\" is email but the contact "
				    "has no email", x->pos.file, x->pos.line,
				    x->c.name, ch->name);
		}
	}
}

static void
contact_free_v(void *p)
{
	struct ncontact_x *x = p;

	free(x->c.name);
	free(x->c.email);
	free(x->c.phone);
	strv_free(x->c.channels, x->c.nchannels);
	free(x);
}

static void
contact_list_free(void *state)
{
	list_free(state, contact_free_v);
}

static const struct conf_section contact_section = {
	"contact", true, contact_options, NULL, contact_load, contact_finish,
	contact_list_free,
};

/* ---- schedule: the rotation ------------------------------------------ */

static const struct tocsin_option sched_options[] = {
	{ "members", TOCSIN_OPT_STR_LIST, NULL, TOCSIN_OPT_REQUIRED,
	    "contacts, in rotation order" },
	{ "handoff", TOCSIN_OPT_STR, "mon 09:00", 0,
	    "when a shift starts: \"DAY HH:MM\" or \"HH:MM\"" },
	{ "period", TOCSIN_OPT_DURATION, "1w", 0, "length of a shift" },
	{ "timezone", TOCSIN_OPT_STR, "UTC", 0,
	    "zone of handoff and overrides (a tz database name)" },
	{ "overrides", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "\"FROM..TO=CONTACT\", times \"YYYY-MM-DD[ HH:MM]\" local" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * The process's TZ is switched around localtime_r/mktime: there is no
 * per-call zone in libc.  Only this loop thread reads the zone.
 */
static char *
tz_push(const char *tz)
{
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;

	setenv("TZ", tz, 1);
	tzset();
	return saved;
}

static void
tz_pop(char *saved)
{
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

/* Wall time t as seconds since 1970-01-01 00:00 of the local calendar. */
static int64_t
local_secs(const char *tz, time_t t)
{
	char *saved = tz_push(tz);
	struct tm tm;
	int64_t ls = 0;

	if (localtime_r(&t, &tm) != NULL)
		ls = days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
		    (unsigned)tm.tm_mday) * 86400 + tm.tm_hour * 3600 +
		    tm.tm_min * 60 + tm.tm_sec;
	tz_pop(saved);
	return ls;
}

static time_t
local_to_epoch(const char *tz, int64_t ls)
{
	char *saved = tz_push(tz);
	struct tm tm;
	int64_t days = floor_div(ls, 86400), rem = ls - days * 86400;
	int y, m, d;
	time_t t;

	civil_from_days(days, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = (int)(rem / 3600);
	tm.tm_min = (int)(rem % 3600 / 60);
	tm.tm_sec = (int)(rem % 60);
	tm.tm_isdst = -1;
	t = mktime(&tm);
	tz_pop(saved);
	return t;
}

int
nsched_parse_local(const char *text, int64_t *ls)
{
	int y, mo, d, h = 0, mi = 0, n = 0;

	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return -1;
	text += n;
	if (*text == ' ' || *text == 'T') {
		n = 0;
		if (sscanf(text + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		text += 1 + n;
	}
	if (*text != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || y < 1970 || y > 9999)
		return -1;
	*ls = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60;
	return 0;
}

int
nsched_setup(struct nschedule *s, const char *handoff, int64_t period_ms,
    const char *tz, const char **why)
{
	static const char *const days[] = {
		"sun", "mon", "tue", "wed", "thu", "fri", "sat",
	};
	const char *p = handoff;
	int h, m, n = 0, i;
	char path[512];

	s->wday = -1;
	if (isalpha((unsigned char)*p)) {
		for (i = 0; i < 7; i++)
			if (strncasecmp(p, days[i], 3) == 0)
				break;
		if (i == 7) {
			*why = "handoff: the day is not mon..sun";
			return -1;
		}
		s->wday = i;
		while (isalpha((unsigned char)*p))
			p++;
		while (*p == ' ')
			p++;
	}
	if (sscanf(p, "%2d:%2d%n", &h, &m, &n) != 2 || p[n] != '\0' ||
	    h < 0 || h > 23 || m < 0 || m > 59) {
		*why = "handoff: not \"DAY HH:MM\" or \"HH:MM\"";
		return -1;
	}
	s->hm = h * 3600 + m * 60;
	if (period_ms < 60000 || period_ms % 1000 != 0) {
		*why = "period: must be whole seconds, at least 1m";
		return -1;
	}
	s->period_s = period_ms / 1000;
	if (strcmp(tz, "UTC") != 0) {
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
		if (*tz == '\0' || *tz == '/' || strstr(tz, "..") != NULL ||
		    access(path, R_OK) != 0) {
			*why = "timezone: not a known time zone name";
			return -1;
		}
	}
	free(s->tz);
	s->tz = strdup(tz);
	return s->tz != NULL ? 0 : -1;
}

const char *
nsched_oncall(const struct nschedule *s, time_t t, time_t *since,
    time_t *until, bool *overridden)
{
	int64_t anchor, ls, k, idx, day = days_from_civil(2024, 1, 1);
	unsigned i;

	if (s->nmembers == 0)
		return NULL;
	ls = local_secs(s->tz, t);
	if (overridden != NULL)
		*overridden = false;
	for (i = 0; i < s->noverrides; i++)
		if (ls >= s->overrides[i].from && ls < s->overrides[i].to) {
			if (since != NULL)
				*since = local_to_epoch(s->tz,
				    s->overrides[i].from);
			if (until != NULL)
				*until = local_to_epoch(s->tz,
				    s->overrides[i].to);
			if (overridden != NULL)
				*overridden = true;
			return s->overrides[i].who;
		}
	/* 2024-01-01 was a Monday (weekday 1) */
	if (s->wday >= 0)
		day += (s->wday - 1 + 7) % 7;
	anchor = day * 86400 + s->hm;
	k = floor_div(ls - anchor, s->period_s);
	idx = k % (int64_t)s->nmembers;
	if (idx < 0)
		idx += s->nmembers;
	if (since != NULL)
		*since = local_to_epoch(s->tz, anchor + k * s->period_s);
	if (until != NULL)
		*until = local_to_epoch(s->tz, anchor + (k + 1) * s->period_s);
	return s->members[idx];
}

struct nschedule_x {
	struct nschedule s;
	struct npos pos;
};

static int
sched_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct nschedule_x *x;
	const char *why = NULL;
	unsigned i, n;
	int rc = 0;

	(void)cf;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	if (nlist_add(state, x) == -1) {
		free(x);
		return -1;
	}
	x->s.name = xstrdup(conf_title(sec));
	x->s.members = strv_dup(sec, "members", &x->s.nmembers);
	conf_where(sec, "members", &x->pos.file, &x->pos.line);
	if (x->s.nmembers == 0) {
		tocsin_conf_error(sec, "members", "needs at least one contact");
		rc = -1;
	}
	if (nsched_setup(&x->s, tocsin_conf_str(sec, "handoff"),
	    tocsin_conf_duration_ms(sec, "period"),
	    tocsin_conf_str(sec, "timezone"), &why) == -1) {
		const char *key = why && strncmp(why, "period", 6) == 0 ?
		    "period" : why && strncmp(why, "timezone", 8) == 0 ?
		    "timezone" : "handoff";

		tocsin_conf_error(sec, key, "%s",
		    why ? strchr(why, ' ') + 1 : "out of memory");
		rc = -1;
	}
	n = tocsin_conf_list_size(sec, "overrides");
	if (n > 0 && (x->s.overrides = calloc(n,
	    sizeof(*x->s.overrides))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *o = tocsin_conf_list_str(sec, "overrides", i);
		const char *dots = strstr(o, ".."), *eq = strrchr(o, '=');
		struct noverride *ov = &x->s.overrides[x->s.noverrides];
		char a[32], b[32];

		if (dots == NULL || eq == NULL || eq < dots ||
		    (size_t)(dots - o) >= sizeof(a) ||
		    (size_t)(eq - dots - 2) >= sizeof(b)) {
			tocsin_conf_error(sec, "overrides", "\"%s\" is not "
			    "FROM..TO=CONTACT", o);
			rc = -1;
			continue;
		}
		memcpy(a, o, (size_t)(dots - o));
		a[dots - o] = '\0';
		memcpy(b, dots + 2, (size_t)(eq - dots - 2));
		b[eq - dots - 2] = '\0';
		if (nsched_parse_local(a, &ov->from) == -1 ||
		    nsched_parse_local(b, &ov->to) == -1 ||
		    ov->to <= ov->from || eq[1] == '\0') {
			tocsin_conf_error(sec, "overrides", "\"%s\": times are "
			    "\"YYYY-MM-DD[ HH:MM]\", FROM before TO, then "
			    "=CONTACT", o);
			rc = -1;
			continue;
		}
		ov->who = xstrdup(eq + 1);
		x->s.noverrides++;
	}
	return rc;
}

static void
sched_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	struct nlist *l = *state;
	unsigned i, j;

	for (i = 0; l != NULL && i < l->n; i++) {
		struct nschedule_x *x = l->v[i];

		for (j = 0; j < x->s.nmembers; j++)
			if (nconf_contact(cf, x->s.members[j]) == NULL)
				conf_errorf(errs, "%s:%d: schedule \"%s\": "
				    "members: no contact \"%s\"", x->pos.file,
				    x->pos.line, x->s.name, x->s.members[j]);
		for (j = 0; j < x->s.noverrides; j++)
			if (nconf_contact(cf, x->s.overrides[j].who) == NULL)
				conf_errorf(errs, "%s:%d: schedule \"%s\": "
				    "overrides: no contact \"%s\"",
				    x->pos.file, x->pos.line, x->s.name,
				    x->s.overrides[j].who);
	}
}

static void
sched_free_v(void *p)
{
	struct nschedule_x *x = p;
	unsigned i;

	free(x->s.name);
	strv_free(x->s.members, x->s.nmembers);
	free(x->s.tz);
	for (i = 0; i < x->s.noverrides; i++)
		free(x->s.overrides[i].who);
	free(x->s.overrides);
	free(x);
}

static void
sched_list_free(void *state)
{
	list_free(state, sched_free_v);
}

static const struct conf_section sched_section = {
	"schedule", true, sched_options, NULL, sched_load, sched_finish,
	sched_list_free,
};

/* ---- escalation ------------------------------------------------------- */

static const struct tocsin_option step_options[] = {
	{ "after", TOCSIN_OPT_DURATION, "0s", 0,
	    "delay after the incident opened (or the round started)" },
	{ "notify", TOCSIN_OPT_STR_LIST, NULL, TOCSIN_OPT_REQUIRED,
	    "\"schedule:NAME\", \"contact:NAME\" or \"channel:NAME\"" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static const struct conf_section esc_subsections[] = {
	{ "step", false, step_options, NULL, NULL, NULL, NULL },
	{ NULL, false, NULL, NULL, NULL, NULL, NULL },
};

static const struct tocsin_option esc_options[] = {
	{ "repeat", TOCSIN_OPT_INT, "0", 0,
	    "rounds of all steps again while nobody acknowledges" },
	{ "repeat_interval", TOCSIN_OPT_DURATION, "30m", 0,
	    "from the last step of a round to the next round" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct nescalation_x {
	struct nescalation e;
	struct npos pos;		/* the section */
	struct npos *steppos;		/* each step's notify key */
};

static int
esc_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct nescalation_x *x;
	unsigned i, n;
	int rc = 0;

	(void)cf;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	if (nlist_add(state, x) == -1) {
		free(x);
		return -1;
	}
	x->e.name = xstrdup(conf_title(sec));
	x->e.repeat = (int)tocsin_conf_int(sec, "repeat");
	x->e.repeat_interval_ms = tocsin_conf_duration_ms(sec,
	    "repeat_interval");
	conf_where(sec, NULL, &x->pos.file, &x->pos.line);
	if (x->e.repeat < 0 || x->e.repeat > 1000) {
		tocsin_conf_error(sec, "repeat", "%d is not in 0..1000",
		    x->e.repeat);
		rc = -1;
	}
	if (x->e.repeat_interval_ms < 1000) {
		tocsin_conf_error(sec, "repeat_interval", "at least 1s");
		rc = -1;
	}
	n = conf_sub_count(sec, "step");
	if (n == 0) {
		tocsin_conf_error(sec, NULL, "needs at least one step { }");
		return -1;
	}
	if ((x->e.steps = calloc(n, sizeof(*x->e.steps))) == NULL ||
	    (x->steppos = calloc(n, sizeof(*x->steppos))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct tocsin_conf *st = conf_sub(sec, "step", i);
		struct nstep *s = &x->e.steps[i];

		if (st == NULL)
			return -1;
		x->e.nsteps++;
		if (conf_nerrors(st) > 0) {
			rc = -1;
			continue;
		}
		s->after_ms = tocsin_conf_duration_ms(st, "after");
		s->targets = strv_dup(st, "notify", &s->ntargets);
		conf_where(st, "notify", &x->steppos[i].file,
		    &x->steppos[i].line);
		if (i > 0 && s->after_ms < x->e.steps[i - 1].after_ms) {
			tocsin_conf_error(st, "after", "steps must be in "
			    "order of their delays");
			rc = -1;
		}
	}
	return rc;
}

static void
esc_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	struct nlist *l = *state;
	unsigned i, j, k;

	for (i = 0; l != NULL && i < l->n; i++) {
		struct nescalation_x *x = l->v[i];

		for (j = 0; j < x->e.nsteps; j++)
			for (k = 0; k < x->e.steps[j].ntargets; k++) {
				const char *t = x->e.steps[j].targets[k];
				const char *c = strchr(t, ':');
				bool ok = false;

				if (c == NULL)
					;
				else if (strncmp(t, "schedule:", 9) == 0)
					ok = nconf_schedule(cf, c + 1) != NULL;
				else if (strncmp(t, "contact:", 8) == 0)
					ok = nconf_contact(cf, c + 1) != NULL;
				else if (strncmp(t, "channel:", 8) == 0) {
					const struct nchannel *ch;

					ch = nconf_channel(cf, c + 1);
					ok = ch != NULL && (ch->type !=
					    NCH_EMAIL || ch->to != NULL);
				}
				if (!ok)
					conf_errorf(errs, "%s:%d: escalation "
					    "\"%s\": notify: \"%s\" is not "
					    "schedule:, contact: or channel: "
					    "of a defined name (an email "
					    "channel needs to = to be named "
					    "here)", x->steppos[j].file,
					    x->steppos[j].line, x->e.name, t);
			}
	}
}

static void
esc_free_v(void *p)
{
	struct nescalation_x *x = p;
	unsigned i;

	free(x->e.name);
	for (i = 0; i < x->e.nsteps; i++)
		strv_free(x->e.steps[i].targets, x->e.steps[i].ntargets);
	free(x->e.steps);
	free(x->steppos);
	free(x);
}

static void
esc_list_free(void *state)
{
	list_free(state, esc_free_v);
}

static const struct conf_section esc_section = {
	"escalation", true, esc_options, esc_subsections, esc_load,
	esc_finish, esc_list_free,
};

/* ---- route ------------------------------------------------------------ */

static const struct tocsin_option route_options[] = {
	{ "match_group", TOCSIN_OPT_STR, NULL, 0,
	    "the root cause's group" },
	{ "match_priority", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "priorities, { \"P1\", \"P2\" }" },
	{ "match_check", TOCSIN_OPT_STR, NULL, 0, "the root cause's name" },
	{ "escalation", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	    "the policy for what matches" },
	{ "text", TOCSIN_OPT_STR, NULL, 0,
	    "a jq program giving the one-line message (.text) of what "
	    "matches" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct nroute_x {
	struct nroute r;
	struct npos pos;
};

static int
route_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct nroute_x *x;
	unsigned i, n;
	int rc = 0;

	(void)cf;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	if (nlist_add(state, x) == -1) {
		free(x);
		return -1;
	}
	x->r.name = xstrdup(conf_title(sec));
	x->r.group = xstrdup(str_or_null(sec, "match_group"));
	x->r.check = xstrdup(str_or_null(sec, "match_check"));
	x->r.escalation = xstrdup(tocsin_conf_str(sec, "escalation"));
	conf_where(sec, "escalation", &x->pos.file, &x->pos.line);
	if (str_or_null(sec, "text") != NULL) {
		char err[512];

		if ((x->r.text = njq_compile(tocsin_conf_str(sec, "text"),
		    NULL, 0, err, sizeof(err))) == NULL) {
			tocsin_conf_error(sec, "text", "%s", err);
			rc = -1;
		}
	}
	n = tocsin_conf_list_size(sec, "match_priority");
	for (i = 0; i < n; i++) {
		const char *p = tocsin_conf_list_str(sec, "match_priority", i);

		if ((p[0] == 'P' || p[0] == 'p') && p[1] >= '1' &&
		    p[1] <= '5' && p[2] == '\0')
			x->r.prio_mask |= 1u << (p[1] - '0');
		else {
			tocsin_conf_error(sec, "match_priority", "\"%s\" is "
			    "not P1..P5", p);
			rc = -1;
		}
	}
	return rc;
}

static void
route_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	struct nlist *l = *state;
	unsigned i;

	for (i = 0; l != NULL && i < l->n; i++) {
		struct nroute_x *x = l->v[i];

		if (nconf_escalation(cf, x->r.escalation) == NULL)
			conf_errorf(errs, "%s:%d: route \"%s\": escalation: "
			    "no escalation \"%s\"", x->pos.file, x->pos.line,
			    x->r.name, x->r.escalation);
	}
}

static void
route_free_v(void *p)
{
	struct nroute_x *x = p;

	free(x->r.name);
	free(x->r.group);
	free(x->r.check);
	free(x->r.escalation);
	njq_free(x->r.text);
	free(x);
}

static void
route_list_free(void *state)
{
	list_free(state, route_free_v);
}

static const struct conf_section route_section = {
	"route", true, route_options, NULL, route_load, route_finish,
	route_list_free,
};

/* ---- lookups ---------------------------------------------------------- */

int
nconf_register(void)
{
	/* order matters: finish() of each kind sees the kinds before it */
	if (conf_section_register(&paging_section) == -1 ||
	    conf_section_register(&chan_section) == -1 ||
	    conf_section_register(&contact_section) == -1 ||
	    conf_section_register(&sched_section) == -1 ||
	    conf_section_register(&esc_section) == -1 ||
	    conf_section_register(&route_section) == -1)
		return -1;
	return 0;
}

/* Every item struct starts with its object, whose first field is name. */
static void *
find(const struct config *cf, const char *kind, const char *name)
{
	const struct nlist *l = conf_section_state(cf, kind);
	unsigned i;

	for (i = 0; l != NULL && name != NULL && i < l->n; i++)
		if (strcmp(*(char **)l->v[i], name) == 0)
			return l->v[i];
	return NULL;
}

const struct nchannel *
nconf_channel(const struct config *cf, const char *name)
{
	return find(cf, "channel", name);
}

const struct ncontact *
nconf_contact(const struct config *cf, const char *name)
{
	return find(cf, "contact", name);
}

const struct nschedule *
nconf_schedule(const struct config *cf, const char *name)
{
	return find(cf, "schedule", name);
}

const struct nescalation *
nconf_escalation(const struct config *cf, const char *name)
{
	return find(cf, "escalation", name);
}

int64_t
nconf_snooze_ms(const struct config *cf)
{
	const struct npaging *p = conf_section_state(cf, "paging");

	return p != NULL && p->snooze_ms > 0 ? p->snooze_ms : 3600000;
}

const struct nlist *
nconf_channels(const struct config *cf)
{
	return conf_section_state(cf, "channel");
}

const struct nlist *
nconf_schedules(const struct config *cf)
{
	return conf_section_state(cf, "schedule");
}

const struct nroute *
nconf_route(const struct config *cf, const char *group, int priority,
    const char *root_cause)
{
	const struct nlist *l = conf_section_state(cf, "route");
	unsigned i;

	for (i = 0; l != NULL && i < l->n; i++) {
		const struct nroute *r = l->v[i];

		if (r->group != NULL && (group == NULL ||
		    strcmp(r->group, group) != 0))
			continue;
		if (r->check != NULL && (root_cause == NULL ||
		    strcmp(r->check, root_cause) != 0))
			continue;
		if (r->prio_mask != 0 && (priority < 1 || priority > 5 ||
		    !(r->prio_mask & (1u << priority))))
			continue;
		return r;
	}
	return NULL;
}
