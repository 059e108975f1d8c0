/*
 * notify_int.h — what the notifier's files share (config objects,
 * on-call computation, the channel senders) and the unit tests use; not
 * for other modules.
 */
#ifndef TOCSIN_NOTIFY_INT_H
#define TOCSIN_NOTIFY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct config;
struct event_base;

enum nchan_type { NCH_WEBHOOK = 0, NCH_EMAIL, NCH_COMMAND };
enum nchan_format {
	NFMT_GENERIC = 0, NFMT_SLACK, NFMT_PAGERDUTY,
	NFMT_FILE,		/* format = NAME: a jq file giving the request */
};

struct njq;

/* channel "NAME" { } */
struct nchannel {
	char *name;
	enum nchan_type type;
	enum nchan_format format;
	char *url;			/* webhook */
	char *routing_key;		/* webhook, format pagerduty */
	char **headers;			/* webhook: extra "Name: value" */
	unsigned nheaders;
	struct njq *jq;			/* webhook: jq = (owned), the body */
	struct njq *fmt;		/* format = NAME (owned), the request */
	char *fmt_path;			/* its file */
	const char *fmt_file;		/* borrowed: the format key's place, */
	int fmt_line;			/* valid during conf_load only */
	char *content_type;		/* webhook: of the body */
	char *webhook_secret;		/* format pagerduty: inbound v3 */
	char *signing_secret;		/* format slack: interactive buttons */
	char **vars;			/* "NAME=VALUE": $NAME, $vars */
	unsigned nvars;
	char *smtp, *from, *to;		/* email; to: without a contact */
	char *username, *password;
	int starttls;			/* 0 never, 1 try, 2 always */
	char **argv;			/* command */
	unsigned argc;
	int64_t timeout_ms;
	int max_attempts;
	int64_t retry_min_ms, retry_max_ms;
};

/* contact "NAME" { } */
struct ncontact {
	char *name;
	char *email;
	char *phone;			/* for SMS formats, or NULL */
	char **channels;
	unsigned nchannels;
};

struct noverride {
	int64_t from, to;		/* local seconds (see nsched_local) */
	char *who;
};

/* schedule "NAME" { }: a rotation of members, one on call at a time. */
struct nschedule {
	char *name;
	char **members;
	unsigned nmembers;
	int wday;			/* handoff day 0 (sun)..6, -1 daily */
	int hm;				/* handoff: seconds after midnight */
	int64_t period_s;
	char *tz;
	struct noverride *overrides;
	unsigned noverrides;
};

struct nstep {
	int64_t after_ms;		/* after the round started */
	char **targets;			/* "schedule:x", "contact:x", … */
	unsigned ntargets;
};

/* escalation "NAME" { step { } … repeat = N } */
struct nescalation {
	char *name;
	struct nstep *steps;
	unsigned nsteps;
	int repeat;
	int64_t repeat_interval_ms;
};

/* route "NAME" { }: the first that matches picks the policy. */
struct nroute {
	char *name;
	char *group, *check;
	unsigned prio_mask;		/* bit p set: matches Pp; 0: any */
	char *escalation;
	struct njq *text;		/* text = "jq": the one-line message */
};

/* The parsed sections of one config (each kind is a list). */
struct nlist {
	void **v;
	unsigned n;
};

/* Lookups in the config in force (NULL if absent). */
const struct nchannel *nconf_channel(const struct config *cf,
    const char *name);
const struct ncontact *nconf_contact(const struct config *cf,
    const char *name);
const struct nschedule *nconf_schedule(const struct config *cf,
    const char *name);
const struct nescalation *nconf_escalation(const struct config *cf,
    const char *name);
/* The policy for an incident, by route; NULL if no route matches. */
const struct nroute *nconf_route(const struct config *cf, const char *group,
    int priority, const char *root_cause);
/* paging { snooze }: how long a snooze link acknowledges. */
int64_t nconf_snooze_ms(const struct config *cf);
/* The channels of cf, in file order. */
const struct nlist *nconf_channels(const struct config *cf);
/* The schedules of cf, in file order. */
const struct nlist *nconf_schedules(const struct config *cf);
int nconf_register(void);

/*
 * Schedules.  nsched_setup fills the handoff fields from the config text
 * ("mon 09:00", "09:00") and checks tz; *why: static text on failure.
 * nsched_oncall: who is on call at t (a member or an override's who),
 * with the shift's bounds in *since and *until (may be NULL); NULL if the
 * schedule has no members.
 */
int nsched_setup(struct nschedule *s, const char *handoff, int64_t period_ms,
    const char *tz, const char **why);
const char *nsched_oncall(const struct nschedule *s, time_t t,
    time_t *since, time_t *until, bool *overridden);
/* "2026-12-24 09:00" in tz → local seconds.  RETURN VALUE: 0 or -1. */
int nsched_parse_local(const char *text, int64_t *ls);

/* ---- notify.c, notify_links.c: action links ---------------------------- */

/*
 * A snooze of incident id (just acknowledged): page again at until_ms
 * (on the steady clock, steady_ms(): escalation due times are) if it is
 * still acknowledged then.  RETURN VALUE: 0, or -1 (no route pages it).
 * notify.c owns the escalations and hands its snooze to the links and
 * the inbound webhooks at init (they do not call back into notify.c).
 */
typedef int nt_snooze_fn(int64_t id, int64_t until_ms);
/* Load or create the link key, add the /api/v1/act/ routes. */
int nlink_init(nt_snooze_fn *snooze);
void nlink_shutdown(void);
/* notify_inbound.c: POST /api/v1/inbound/{pagerduty,slack}. */
int ninbound_init(nt_snooze_fn *snooze);
void ninbound_shutdown(void);
/* "1h", "30m": paging.snooze as people read it (a static buffer). */
const char *nl_snooze_text(void);
/*
 * The links of a notification of event about incident id (its status
 * now, may be NULL) to who (a contact's or channel's name):
 * {"acknowledge": URL, "resolve": URL, "snooze": URL} (only resolve once
 * acknowledged), or NULL (no api.public_url, no key, resolved).  A new
 * reference.
 */
json_t *nlink_actions(int64_t id, const char *event, const char *status,
    const char *who);

/* ---- notify_jq.c: jq programs ----------------------------------------- */

#define NJQ_MAX_OUT	(1024 * 1024)	/* bytes of one program's output */

/*
 * Compile text; vars ("NAME=VALUE") are bound as $NAME each and as the
 * object $vars.  RETURN VALUE: a program (njq_free), or NULL with the
 * reason in err (one line).
 */
struct njq *njq_compile(const char *text, char *const *vars, unsigned nvars,
    char *err, size_t errlen);
void njq_free(struct njq *p);
/*
 * Run p on in; *out: its first output (a new reference), or NULL when it
 * gives none (empty, halt).  RETURN VALUE: 0, or -1 with the jq error in
 * err (one line): a runtime error, halt_error, output over NJQ_MAX_OUT.
 */
int njq_run(struct njq *p, json_t *in, json_t **out, char *err,
    size_t errlen);

/* What one webhook send is: set by njq_request, freed by nreq_free. */
struct nreq {
	const char *method;		/* static: POST, PUT, PATCH */
	char *path, *ctype;		/* owned, may be NULL */
	char **hdrs;			/* owned "Name: value", one line each */
	unsigned nhdrs;
	char *body;			/* owned, len bytes (+ a NUL) */
	size_t len;
};
/*
 * v as a request: the body itself (a string as it is, anything else as
 * compact JSON), or with envelope a format's {body, method, path,
 * headers, content_type}, each checked (no CR/LF or controls in a path
 * or header, a path starting with / ? or &).  RETURN VALUE: 0 (*rq
 * filled: nreq_free it), or -1 with why (rq empty).
 */
int njq_request(json_t *v, bool envelope, struct nreq *rq, char *why,
    size_t len);
void nreq_free(struct nreq *rq);

/* ---- notify_send.c: one delivery attempt ----------------------------- */

enum nsend_result {
	NSEND_OK = 0,
	NSEND_RETRY,		/* transient: try again later */
	NSEND_FAIL,		/* permanent: dead letter */
};

/*
 * A finished attempt: result, a one-line reason (static or in a buffer
 * valid during the call).  Called on the loop, never from inside
 * nsend_*().
 */
typedef void nsend_done(void *arg, enum nsend_result r, const char *why);

struct nsend;

int nsend_init(struct event_base *base);
void nsend_shutdown(void);
/*
 * Start an HTTP POST of body (a JSON text, copied) to the channel's url
 * with an Idempotency-Key header, or an SMTP send of msg (an RFC 5322
 * message) from the channel's from to rcpt,
 * or run argv with env (NULL-terminated "K=V" list, copied).
 * RETURN VALUE: a handle (for nsend_cancel), or NULL: done is not called
 * and the reason is in *why (static text).
 */
struct nsend *nsend_http(const struct nchannel *ch, const char *body,
    const char *idem_key, nsend_done *done, void *arg, const char **why);
/*
 * The same with what a jq format chose: method ("POST", "PUT"), path
 * appended to the channel's url (NULL: none), content type (NULL: the
 * channel's), extra headers ("Name: value", after the channel's), and a
 * body of len bytes.
 */
struct nsend *nsend_request(const struct nchannel *ch, const char *method,
    const char *path, const char *ctype, char *const *hdrs, unsigned nhdrs,
    const char *body, size_t len, const char *idem_key, nsend_done *done,
    void *arg, const char **why);
struct nsend *nsend_smtp(const struct nchannel *ch, const char *rcpt,
    const char *msg, nsend_done *done, void *arg, const char **why);
struct nsend *nsend_command(const struct nchannel *ch, char *const *env,
    nsend_done *done, void *arg, const char **why);
/* Abandon an attempt: done is not called. */
void nsend_cancel(struct nsend *s);
/* Classify an HTTP status of a webhook reply (also for the fuzzer). */
enum nsend_result nsend_http_status(long code);
/* Classify an SMTP reply code after a failed transfer. */
enum nsend_result nsend_smtp_status(long code);

#endif
