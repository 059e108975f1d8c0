/*
 * notify.c — the notifier: escalation and the durable outbox.
 *
 * Owns two tables of the incident database (schema version 2):
 *  - notify_esc: one row per incident being escalated — its policy,
 *    which step runs next and when (wall-clock milliseconds, so a
 *    restart resumes the same schedule).
 *  - notify_outbox: one row per notification due.  A row is written in
 *    the transaction of the incident change that made it due (we are
 *    called inside it), committed before any send starts, and marked
 *    sent only after the channel confirmed — so a crash between send
 *    and mark sends it again (at-least-once; receivers get the row's
 *    idem_key to drop a duplicate).  Failures retry with exponential
 *    backoff and ±20 % jitter up to the channel's max_attempts, then the
 *    row is "dead"; a permanent failure (webhook 4xx, SMTP 5xx) is dead
 *    at once.  Every send and failure goes on the incident's timeline.
 *
 * Per recipient and incident, notifications go out in the order they
 * were made due: a "resolved" never overtakes an "opened" that is still
 * retrying.
 *
 * Never blocks: sends run in notify_send.c on the loop; database work is
 * the incident log's batch (store.h), never SQL here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_conf.h"
#include "api/api_metrics.h"
#include "core/conf.h"
#include "incident/change.h"
#include "incident/incident.h"
#include "incident/problem.h"
#include "incident/store.h"
#include "core/log.h"
#include "notify/notify.h"
#include "notify/notify_int.h"
#include "core/util.h"
#include "lib/strv.h"

#define NT_MAX_INFLIGHT	32	/* sends at once */
#define NT_BATCH	64	/* rows read per dispatch */

/* A send in flight: what notify_done needs to record its outcome. */
struct nt_flight {
	int64_t id, incident;
	char *event, *channel, *contact;
	int attempts;			/* before this one */
	int max_attempts;
	int64_t retry_min_ms, retry_max_ms;
	struct nsend *h;
	struct nt_flight *next;
};

static struct {
	struct event_base *base;
	const struct config *cf;	/* borrowed: the config in force */
	struct event *out_ev;		/* dispatch the outbox */
	struct event *esc_ev;		/* next escalation step */
	struct nt_flight *flights;
	unsigned inflight;
	bool up;
} nt_g;

/*
 * Due times (escalation steps, retries, created/sent stamps) are on the
 * steady clock (util.h): a step of the wall clock must neither page the
 * next step at once nor put it off by hours (issue 14).  Shown to people
 * through ms_time(), which maps them to the wall clock of now.
 */
static int64_t
now_ms(void)
{
	return steady_ms();
}

static void
arm(struct event *ev, int64_t delay_ms)
{
	struct timeval tv;

	if (ev == NULL)
		return;
	if (delay_ms < 0)
		delay_ms = 0;
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void
timeline(int64_t id, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
timeline(int64_t id, const char *kind, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (text != NULL)
		incident_timeline_add(id, kind, text);
	free(text);
}

/* ---- the outbox: making notifications due ---------------------------- */

/*
 * One notification due: event to a channel (for contact, or the channel
 * itself when contact is NULL).  tag makes the key unique per step.
 */
static void
enqueue(int64_t id, const char *event, const char *tag,
    const struct nchannel *ch, const struct ncontact *who)
{
	const char *addr = NULL;
	char *key;
	int64_t now = now_ms();

	if (ch->type == NCH_EMAIL)
		addr = who != NULL ? who->email : ch->to;
	if (asprintf(&key, "%" PRId64 "/%s/%s/%s/%s", id, event, tag,
	    ch->name, who != NULL ? who->name : "-") < 0)
		return;
	store_outbox_add(id, event, ch->name, who != NULL ? who->name : NULL,
	    addr, key, now);
	free(key);
	arm(nt_g.out_ev, 0);
}

/* Every channel of a person. */
static void
enqueue_contact(int64_t id, const char *event, const char *tag,
    const struct ncontact *who)
{
	const struct nchannel *ch;
	unsigned i;

	for (i = 0; i < who->nchannels; i++)
		if ((ch = nconf_channel(nt_g.cf, who->channels[i])) != NULL)
			enqueue(id, event, tag, ch, who);
}

/* A step's target ("schedule:x", "contact:x", "channel:x"). */
static void
enqueue_target(int64_t id, const char *event, const char *tag,
    const char *target, time_t now)
{
	const char *name = strchr(target, ':');
	const struct nschedule *s;
	const struct ncontact *c = NULL;
	const struct nchannel *ch;
	const char *who;

	if (name == NULL)
		return;
	name++;
	if (strncmp(target, "schedule:", 9) == 0) {
		if ((s = nconf_schedule(nt_g.cf, name)) == NULL ||
		    (who = nsched_oncall(s, now, NULL, NULL, NULL)) == NULL)
			return;
		c = nconf_contact(nt_g.cf, who);
	} else if (strncmp(target, "contact:", 8) == 0)
		c = nconf_contact(nt_g.cf, name);
	else if (strncmp(target, "channel:", 8) == 0) {
		if ((ch = nconf_channel(nt_g.cf, name)) != NULL)
			enqueue(id, event, tag, ch, NULL);
		return;
	}
	if (c != NULL)
		enqueue_contact(id, event, tag, c);
}

/* Tell everyone this incident paged (in any epoch) about event. */
static void
tell_paged_tag(int64_t id, const char *event, const char *tag)
{
	struct store_recipient *v;
	size_t n, i;

	if (store_outbox_recipients(id, &v, &n) == -1)
		return;
	for (i = 0; i < n; i++) {
		const struct nchannel *ch = v[i].channel != NULL ?
		    nconf_channel(nt_g.cf, v[i].channel) : NULL;
		const struct ncontact *c = v[i].contact != NULL ?
		    nconf_contact(nt_g.cf, v[i].contact) : NULL;

		if (ch != NULL && (v[i].contact == NULL || c != NULL))
			enqueue(id, event, tag, ch, c);
	}
	store_recipients_free(v, n);
}

static void
tell_paged(int64_t id, const char *event, int64_t epoch)
{
	char tag[32];

	snprintf(tag, sizeof(tag), "e%" PRId64, epoch);
	tell_paged_tag(id, event, tag);
}

/* ---- escalation -------------------------------------------------------- */

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void esc_rearm(void);

/*
 * Run the steps of incident id's escalation that are due at now, and
 * store where it stands.  Bounded: a policy has at most 1000 rounds.
 */
static void
esc_advance(int64_t id, const char *policy, int64_t epoch, int64_t step,
    int64_t round, int64_t started, int64_t now, const char *first_event)
{
	const struct nescalation *e = nconf_escalation(nt_g.cf, policy);
	const struct nstep *s;
	struct store_esc row;
	bool active = true;
	char tag[64];
	unsigned i, guard;
	int64_t due = now;

	if (e == NULL) {
		timeline(id, "notify", "escalation \"%s\" is no longer "
		    "configured; escalation stopped", policy);
		store_esc_stop(id);
		return;
	}
	for (guard = 0; guard < 100000; guard++) {
		if (step >= (int64_t)e->nsteps) {
			if (round >= e->repeat) {
				active = false;
				break;
			}
			started += e->steps[e->nsteps - 1].after_ms +
			    e->repeat_interval_ms;
			round++;
			step = 0;
		}
		s = &e->steps[step];
		due = started + s->after_ms;
		if (due > now)
			break;
		snprintf(tag, sizeof(tag), "e%" PRId64 "s%" PRId64 "r%" PRId64,
		    epoch, step, round);
		if (step > 0 || round > 0)
			timeline(id, "escalated", "step %" PRId64 " of "
			    "escalation \"%s\"%s: %u target%s", step + 1,
			    e->name, round > 0 ? " (repeat)" : "",
			    s->ntargets, s->ntargets == 1 ? "" : "s");
		for (i = 0; i < s->ntargets; i++)
			enqueue_target(id, step == 0 && round == 0 ?
			    first_event : "incident.escalated", tag,
			    s->targets[i], (time_t)(now / 1000));
		step++;
	}
	memset(&row, 0, sizeof(row));
	row.incident_id = id;
	row.step = step;
	row.round = round;
	row.started_ms = started;
	row.next_ms = due;
	row.active = active;
	store_esc_update(&row);
}

/* first_event: what step 0 sends ("incident.opened", …unacknowledged). */
static void
esc_start(const struct incident_info *inc, const char *first_event)
{
	const struct nroute *r;
	const struct nescalation *e;
	int64_t epoch = 0, now = now_ms();

	r = nconf_route(nt_g.cf, inc->group, inc->priority,
	    inc->root_cause);
	if (r == NULL || (e = nconf_escalation(nt_g.cf,
	    r->escalation)) == NULL) {
		if (conf_section_state(nt_g.cf, "route") != NULL)
			timeline(inc->id, "notify", "no route matches; "
			    "nobody is paged");
		return;
	}
	if (store_esc_epoch(inc->id, &epoch) != 1)
		epoch = 0;
	epoch++;
	store_esc_start(inc->id, e->name, epoch, now,
	    now + e->steps[0].after_ms);
	timeline(inc->id, "notify", "route \"%s\": escalation \"%s\"",
	    r->name, e->name);
	esc_advance(inc->id, e->name, epoch, 0, 0, now, now, first_event);
	esc_rearm();
}

/*
 * A snooze: incident id was just acknowledged (its escalation stopped);
 * its escalation row becomes active again, due at until_ms.  When it is
 * due and the incident is still acknowledged, esc_due() makes it open
 * again, which restarts the escalation (incident.unacknowledged); a
 * resolve before then stops the row as it stops any escalation.  The row
 * is in the store, so a restart keeps the snooze.
 * RETURN VALUE: 0, or -1 (no route pages this incident).
 */
static int
nt_snooze(int64_t id, int64_t until_ms)
{
	json_t *inc = incident_json(id);
	const char *prio = jstr(inc, "priority");
	const struct nroute *r;
	int64_t epoch = 0;

	r = nconf_route(nt_g.cf, json_string_value(json_object_get(inc,
	    "group")), prio[0] == 'P' ? prio[1] - '0' : 0,
	    json_string_value(json_object_get(inc, "root_cause")));
	json_decref(inc);
	if (r == NULL || nconf_escalation(nt_g.cf, r->escalation) == NULL)
		return -1;
	if (store_esc_epoch(id, &epoch) != 1)
		epoch = 0;
	if (store_esc_start(id, r->escalation, epoch + 1, until_ms,
	    until_ms) == -1)
		return -1;
	esc_rearm();
	return 0;
}

/* Stop escalating; RETURN VALUE: the epoch (0 if never escalated). */
static int64_t
esc_stop(int64_t id)
{
	int64_t epoch = 0;

	if (store_esc_epoch(id, &epoch) != 1)
		epoch = 0;
	store_esc_stop(id);
	return epoch;
}

/* notify_set_active(false): a cluster node that does not lead */
static bool nt_paused;
/* notify_set_hold(): the leader's log is not in PostgreSQL yet */
static bool (*nt_hold)(void);

void
notify_set_hold(bool (*wait)(void))
{
	nt_hold = wait;
}

static void
esc_due(evutil_socket_t fd, short what, void *arg)
{
	struct store_esc *v = NULL;
	size_t n = 0, i;
	int64_t now = now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	if (nt_paused)
		return;		/* notify_set_active(true) re-arms */
	if (!store_ok()) {
		arm(nt_g.esc_ev, 1000);	/* the steps wait for the log */
		return;
	}
	store_esc_due(now, 1000, &v, &n);
	for (i = 0; i < n; i++) {
		json_t *inc;
		const char *why;
		bool acked;

		if (v[i].policy == NULL)
			continue;
		/* due while acknowledged: only a snooze does that */
		inc = incident_json(v[i].incident_id);
		acked = strcmp(jstr(inc, "status"), "acknowledged") == 0;
		json_decref(inc);
		if (acked && v[i].step == 0 && v[i].round == 0) {
			store_esc_stop(v[i].incident_id);
			/* restarts the escalation (notify_on_incident) */
			incident_unack(v[i].incident_id, "tocsind",
			    "the end of a snooze", &why);
			continue;
		}
		esc_advance(v[i].incident_id, v[i].policy, v[i].epoch,
		    v[i].step, v[i].round, v[i].started_ms, now,
		    "incident.opened");
	}
	store_escs_free(v, n);
	esc_rearm();
}

static void
esc_rearm(void)
{
	int64_t next;

	if (!nt_g.up)
		return;
	if (store_esc_next(&next) == 1)
		arm(nt_g.esc_ev, next - now_ms());
	else
		evtimer_del(nt_g.esc_ev);
}

void
notify_kick(void)
{
	if (nt_g.up && !nt_paused)
		arm(nt_g.out_ev, 0);
}

void
notify_set_active(bool on)
{
	if (nt_paused == !on)
		return;
	nt_paused = !on;
	if (on && nt_g.up) {
		arm(nt_g.out_ev, 0);
		arm(nt_g.esc_ev, 0);
	}
}

/* The incident log took its kept writes: send what waited. */
static void
notify_flushed(void)
{
	if (!nt_g.up)
		return;
	arm(nt_g.out_ev, 0);
	esc_rearm();
}

/* The incident log tells us each step, inside its transaction. */
static void
notify_on_incident(const struct incident_event *ev, void *arg)
{
	int64_t epoch;

	(void)arg;
	if (!nt_g.up)
		return;
	switch (ev->kind) {
	case INCIDENT_OPENED:
	case INCIDENT_REOPENED:
		esc_start(ev->inc, "incident.opened");
		break;
	case INCIDENT_UNACKNOWLEDGED:
		esc_stop(ev->inc->id);
		esc_start(ev->inc, "incident.unacknowledged");
		break;
	case INCIDENT_ACKNOWLEDGED:
		epoch = esc_stop(ev->inc->id);
		tell_paged(ev->inc->id, "incident.acknowledged", epoch);
		esc_rearm();
		break;
	case INCIDENT_RESOLVED:
		epoch = esc_stop(ev->inc->id);
		tell_paged(ev->inc->id, "incident.resolved", epoch);
		esc_rearm();
		break;
	case INCIDENT_CLOSED:
		store_esc_delete(ev->inc->id);
		break;
	case INCIDENT_UPDATED:
		/* checks joined; incident.c: one per group_window */
		if (ev->inc->status == INC_OPEN ||
		    ev->inc->status == INC_ACKNOWLEDGED) {
			char tag[32];

			snprintf(tag, sizeof(tag), "u%lld", (long long)ev->at);
			tell_paged_tag(ev->inc->id, "incident.updated", tag);
		}
		break;
	}
}

/* ---- rendering ----------------------------------------------------------- */


static const char *
event_verb(const char *event)
{
	const char *dot = strchr(event, '.');

	return dot != NULL ? dot + 1 : event;
}

/*
 * The one-line message: "[P1] incident #42 opened: title", or what the
 * matching route's text program makes of the payload o (which has the
 * default in .text).  A failing program is on the timeline and the
 * default stays: a page with plain wording beats no page.  Returns a new
 * string or NULL.
 */
static char *
message_text(const struct nt_flight *f, json_t *inc, json_t *o)
{
	const char *prio = jstr(inc, "priority");
	const struct nroute *r;
	json_t *out = NULL;
	char *text = NULL, err[512];
	int p = 0;

	if (asprintf(&text, "[%s] incident #%" PRId64 " %s: %s", prio,
	    f->incident, event_verb(f->event), jstr(inc, "title")) < 0)
		return NULL;
	if (prio[0] == 'P' && prio[1] >= '1' && prio[1] <= '5')
		p = prio[1] - '0';
	r = nconf_route(nt_g.cf, json_string_value(json_object_get(inc,
	    "group")), p, json_string_value(json_object_get(inc,
	    "root_cause")));
	if (r == NULL || r->text == NULL || o == NULL)
		return text;
	json_object_set_new(o, "text", json_string(text));
	if (njq_run(r->text, o, &out, err, sizeof(err)) == -1)
		timeline(f->incident, "notify_failed", "route \"%s\": text: "
		    "%s; the default text is used", r->name, err);
	else if (out != NULL && json_is_string(out)) {
		const char *t = json_string_value(out);

		free(text);		/* at most 4096 bytes */
		text = strndup(t, utf8_prefix(t, 4096));
	} else if (out != NULL)
		timeline(f->incident, "notify_failed", "route \"%s\": text: "
		    "the output is not a string; the default text is used",
		    r->name);
	json_decref(out);
	return text;
}

/*
 * The generic payload (the API reference's shape): event, incident,
 * sent_at, idempotency_key, text, recipient.  Returns a new reference
 * or NULL.
 */
static json_t *
payload_generic(const struct nchannel *ch, const struct nt_flight *f,
    const char *key, json_t *inc, time_t now)
{
	const struct ncontact *c = f->contact != NULL ?
	    nconf_contact(nt_g.cf, f->contact) : NULL;
	json_t *o = json_object(), *x;
	char *text;
	int err = o == NULL;

	if (err)
		return NULL;
	api_set(o, "event", json_string(f->event), &err);
	api_set(o, "incident", json_incref(inc), &err);
	api_set(o, "sent_at", api_time(now), &err);
	api_set(o, "idempotency_key", api_str(key), &err);
	if ((x = json_object()) != NULL) {
		api_set(x, "contact", api_str(c ? c->name : NULL), &err);
		api_set(x, "email", api_str(c ? c->email : NULL), &err);
		api_set(x, "phone", api_str(c ? c->phone : NULL), &err);
		api_set(x, "channel", api_str(ch->name), &err);
	}
	api_set(o, "recipient", x, &err);
	/* possible causes: changes shortly before it opened (change.c) */
	if ((x = change_recent_json(f->incident)) == NULL)
		x = json_array();
	api_set(o, "recent_changes", x, &err);
	/* the problem it recurs under, with its workaround (problem.c) */
	if ((x = problem_brief_json(f->incident)) == NULL)
		x = json_null();
	api_set(o, "problem", x, &err);
	if ((x = nlink_actions(f->incident, f->event, jstr(inc, "status"),
	    f->contact != NULL ? f->contact : f->channel)) != NULL)
		api_set(o, "actions", x, &err);
	text = message_text(f, inc, o);
	api_set(o, "text", api_str(text), &err);
	free(text);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *render_builtin(const struct nchannel *ch,
    const struct nt_flight *f, json_t *inc, json_t *generic, time_t now);

/*
 * The request of a webhook send.  RETURN VALUE: 0 (send rq), 1 (the
 * program gave no output: nothing to send), -1 (why: a dead letter).
 */
static int
render_webhook(const struct nchannel *ch, const struct nt_flight *f,
    const char *key, json_t *inc, struct nreq *rq, char *why, size_t len)
{
	time_t now = time(NULL);
	json_t *o, *out = NULL;
	int rc = -1;

	memset(rq, 0, sizeof(*rq));
	rq->method = "POST";
	snprintf(why, len, "out of memory");
	if ((o = payload_generic(ch, f, key, inc, now)) == NULL)
		return -1;
	if (ch->jq != NULL || ch->fmt != NULL) {
		if (njq_run(ch->jq != NULL ? ch->jq : ch->fmt, o, &out, why,
		    len) == -1)
			goto out;
		if (out == NULL || json_is_null(out)) {
			rc = 1;
			goto out;
		}
		rc = njq_request(out, ch->jq == NULL, rq, why, len);
	} else if (ch->format == NFMT_GENERIC)
		rc = njq_request(o, false, rq, why, len);
	else if ((rq->body = render_builtin(ch, f, inc, o, now)) != NULL) {
		rq->len = strlen(rq->body);
		rc = 0;
	}
out:
	json_decref(out);
	json_decref(o);
	if (rc == -1)
		nreq_free(rq);
	return rc;
}

/*
 * Slack Block Kit for a channel with a signing_secret: the text and
 * interactive buttons (action_id tocsin_ACTION, value the incident id),
 * which Slack posts to the app's interactivity URL,
 * /api/v1/inbound/slack.  Returns a new reference or NULL.
 */
static char *problem_text(int64_t id, const char *eol);

static json_t *
slack_blocks(int64_t id, const char *verb, const char *text)
{
	static const char *const acts[][2] = {
		{ "acknowledge", "Acknowledge" }, { "resolve", "Resolve" },
		{ "snooze", "Snooze" },
	};
	json_t *blocks = json_array(), *sec = json_object(), *t, *row, *els;
	char val[32], aid[32], label[48], *ptext;
	unsigned i;
	int err = blocks == NULL || sec == NULL;

	api_set(sec, "type", json_string("section"), &err);
	if ((t = json_object()) != NULL) {
		api_set(t, "type", json_string("mrkdwn"), &err);
		api_set(t, "text", api_str(text), &err);
	}
	api_set(sec, "text", t, &err);
	api_append(blocks, sec, &err);
	/* the known error and its workaround, under the message */
	if ((ptext = problem_text(id, "\n")) != NULL &&
	    (sec = json_object()) != NULL) {
		api_set(sec, "type", json_string("section"), &err);
		if ((t = json_object()) != NULL) {
			api_set(t, "type", json_string("mrkdwn"), &err);
			api_set(t, "text", api_str(ptext), &err);
		}
		api_set(sec, "text", t, &err);
		api_append(blocks, sec, &err);
	}
	free(ptext);
	snprintf(val, sizeof(val), "%" PRId64, id);
	row = json_object();
	els = json_array();
	for (i = 0; i < 3 && els != NULL; i++) {
		json_t *b = json_object(), *l = json_object();

		/* acknowledged: only resolve is left */
		if (strcmp(verb, "acknowledged") == 0 && i != 1) {
			json_decref(b);
			json_decref(l);
			continue;
		}
		snprintf(aid, sizeof(aid), "tocsin_%s", acts[i][0]);
		if (i == 2)
			snprintf(label, sizeof(label), "Snooze %s",
			    nl_snooze_text());
		else
			snprintf(label, sizeof(label), "%s", acts[i][1]);
		api_set(l, "type", json_string("plain_text"), &err);
		api_set(l, "text", json_string(label), &err);
		api_set(b, "type", json_string("button"), &err);
		api_set(b, "action_id", json_string(aid), &err);
		api_set(b, "text", l, &err);
		api_set(b, "value", json_string(val), &err);
		if (i == 0)
			api_set(b, "style", json_string("primary"), &err);
		api_append(els, b, &err);
	}
	api_set(row, "type", json_string("actions"), &err);
	snprintf(aid, sizeof(aid), "tocsin-%" PRId64, id);
	api_set(row, "block_id", json_string(aid), &err);
	api_set(row, "elements", els, &err);
	api_append(blocks, row, &err);
	if (err) {
		json_decref(blocks);
		return NULL;
	}
	return blocks;
}

/* slack and pagerduty.  Returns a new string (JSON text) or NULL. */
static char *
render_builtin(const struct nchannel *ch, const struct nt_flight *f,
    json_t *inc, json_t *generic, time_t now)
{
	json_t *o = json_object(), *x;
	const char *verb = event_verb(f->event), *prio = jstr(inc, "priority");
	const char *text = jstr(generic, "text");
	char *out;
	int err = o == NULL;

	if (err)
		return NULL;
	switch (ch->format) {
	case NFMT_GENERIC:
	case NFMT_FILE:
		break;
	case NFMT_SLACK: {
		json_t *att = json_object(), *fields = json_array(), *fd, *acts;
		char *ptext;
		const char *color = strcmp(verb, "resolved") == 0 ? "good" :
		    strcmp(verb, "acknowledged") == 0 ? "warning" : "danger";
		static const char *const keys[][2] = {
			{ "Priority", "priority" }, { "Status", "status" },
			{ "Root cause", "root_cause" },
			{ "Opened", "opened_at" },
		};
		unsigned i;

		api_set(o, "text", api_str(text), &err);
		for (i = 0; i < 4 && fields != NULL; i++) {
			if ((fd = json_object()) == NULL)
				break;
			api_set(fd, "title", json_string(keys[i][0]), &err);
			api_set(fd, "value", api_str(jstr(inc, keys[i][1])),
			    &err);
			api_set(fd, "short", json_true(), &err);
			api_append(fields, fd, &err);
		}
		/* a known error's workaround, in full width */
		if ((ptext = problem_text(f->incident, "\n")) != NULL &&
		    fields != NULL && (fd = json_object()) != NULL) {
			api_set(fd, "title", json_string("Problem"), &err);
			api_set(fd, "value", api_str(ptext), &err);
			api_set(fd, "short", json_false(), &err);
			api_append(fields, fd, &err);
		}
		free(ptext);
		api_set(att, "color", json_string(color), &err);
		api_set(att, "title", api_str(jstr(inc, "title")), &err);
		api_set(att, "fields", fields, &err);
		api_set(att, "footer", json_string("tocsin"), &err);
		api_set(att, "ts", json_integer(now), &err);
		if (ch->signing_secret != NULL &&
		    strcmp(verb, "resolved") != 0 &&
		    (x = slack_blocks(f->incident, verb, text)) != NULL)
			/* interactive: clicks go to /api/v1/inbound/slack */
			api_set(o, "blocks", x, &err);
		else if ((acts = json_object_get(generic, "actions")) != NULL &&
		    (x = json_array()) != NULL) {
			const char *name;
			json_t *u, *btn;

			/* link buttons (message attachments' "actions") */
			json_object_foreach(acts, name, u) {
				if ((btn = json_object()) == NULL)
					break;
				api_set(btn, "type", json_string("button"),
				    &err);
				char t[48];

				snprintf(t, sizeof(t), "Snooze %s",
				    nl_snooze_text());
				api_set(btn, "text", json_string(
				    strcmp(name, "acknowledge") == 0 ?
				    "Acknowledge" : strcmp(name, "resolve") ==
				    0 ? "Resolve" : t), &err);
				api_set(btn, "url", json_incref(u), &err);
				if (strcmp(name, "acknowledge") == 0)
					api_set(btn, "style",
					    json_string("primary"), &err);
				api_append(x, btn, &err);
			}
			api_set(att, "actions", x, &err);
		}
		if ((x = json_array()) != NULL)
			api_append(x, att, &err);
		api_set(o, "attachments", x, &err);
		break;
	}
	case NFMT_PAGERDUTY: {
		char dedup[32];
		const char *action = strcmp(verb, "resolved") == 0 ? "resolve" :
		    strcmp(verb, "acknowledged") == 0 ? "acknowledge" :
		    "trigger";
		static const char *const sev[] = {
			"critical", "critical", "error", "warning", "info",
			"info",
		};
		json_int_t p = 3;

		if (prio[0] == 'P' && prio[1] >= '1' && prio[1] <= '5')
			p = prio[1] - '0';
		snprintf(dedup, sizeof(dedup), "%" PRId64, f->incident);
		api_set(o, "routing_key", api_str(ch->routing_key), &err);
		api_set(o, "event_action", json_string(action), &err);
		api_set(o, "dedup_key", json_string(dedup), &err);
		api_set(o, "client", json_string("tocsin"), &err);
		if (strcmp(action, "trigger") == 0 &&
		    json_object_get(generic, "actions") != NULL &&
		    (x = json_array()) != NULL) {
			const char *name;
			json_t *u, *l;

			json_object_foreach(json_object_get(generic,
			    "actions"), name, u) {
				char t[64];

				if ((l = json_object()) == NULL)
					break;
				snprintf(t, sizeof(t), "%s in tocsin", name);
				t[0] = (char)(t[0] - 'a' + 'A');
				api_set(l, "href", json_incref(u), &err);
				api_set(l, "text", json_string(t), &err);
				api_append(x, l, &err);
			}
			api_set(o, "links", x, &err);
		}
		if (strcmp(action, "trigger") == 0 &&
		    (x = json_object()) != NULL) {
			api_set(x, "summary", api_str(text), &err);
			api_set(x, "source", api_str(jstr(inc, "root_cause")),
			    &err);
			api_set(x, "severity", json_string(sev[p]), &err);
			api_set(x, "timestamp", api_time(now), &err);
			api_set(x, "component", api_str(jstr(inc,
			    "root_cause")), &err);
			if (json_is_string(json_object_get(inc, "group")))
				api_set(x, "group", api_str(jstr(inc,
				    "group")), &err);
			api_set(x, "class", json_string("incident"), &err);
			api_set(x, "custom_details", json_incref(inc), &err);
			api_set(o, "payload", x, &err);
		}
		break;
	}
	}
	out = err ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

/*
 * RFC 2047 "B" encoding of a header text that is not plain ASCII: words
 * of at most 36 bytes (a 60-character word, so "Subject: " and a word
 * stay under 76), never splitting a UTF-8 sequence, folded onto
 * continuation lines.  Returns a
 * new string; the caller frees it.
 */
static char *
mime_word(const char *s)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i, j, o = 0, w;
	char *out;
	bool ascii = true;

	for (i = 0; i < n; i++)
		if (u[i] >= 0x80)
			ascii = false;
	if (ascii)
		return strdup(s);
	/* per word (>= 33 bytes but the last): 3 of fold, 12 of markers, 48 */
	if ((out = malloc((n / 33 + 1) * 64 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i += w) {
		w = n - i < 36 ? n - i : 36;
		while (w < n - i && w > 0 && (u[i + w] & 0xc0) == 0x80)
			w--;		/* end before a continuation byte */
		if (w == 0)
			w = n - i < 36 ? n - i : 36;
		if (i > 0) {
			memcpy(out + o, "\r\n ", 3);
			o += 3;
		}
		memcpy(out + o, "=?UTF-8?B?", 10);
		o += 10;
		for (j = i; j < i + w; j += 3) {
			unsigned v = (unsigned)u[j] << 16 |
			    (j + 1 < i + w ? (unsigned)u[j + 1] << 8 : 0) |
			    (j + 2 < i + w ? u[j + 2] : 0);

			out[o++] = b64[v >> 18 & 63];
			out[o++] = b64[v >> 12 & 63];
			out[o++] = j + 1 < i + w ? b64[v >> 6 & 63] : '=';
			out[o++] = j + 2 < i + w ? b64[v & 63] : '=';
		}
		memcpy(out + o, "?=", 2);
		o += 2;
	}
	out[o] = '\0';
	return out;
}

/* No CR/LF or control bytes in a header value (a title is input). */
static void
header_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/*
 * The problem incident id recurs under, as lines ending in eol ("Known
 * error #3: … / Workaround: …"), or NULL (none).  Returns a new string.
 */
static char *
problem_text(int64_t id, const char *eol)
{
	json_t *p = problem_brief_json(id);
	const char *st;
	char *s;

	if (p == NULL)
		return NULL;
	st = jstr(p, "status");
	if (asprintf(&s, "%s #%" PRId64 ": %s (%s)%s%s%s%s%s",
	    strcmp(st, "known_error") == 0 ? "Known error" : "Problem",
	    (int64_t)json_integer_value(json_object_get(p, "id")),
	    jstr(p, "title"), st, eol,
	    json_is_string(json_object_get(p, "workaround")) ?
	    "Workaround: " : "",
	    json_is_string(json_object_get(p, "workaround")) ?
	    jstr(p, "workaround") : "",
	    json_is_string(json_object_get(p, "workaround")) ? eol : "",
	    eol) < 0)
		s = NULL;
	json_decref(p);
	return s;
}

/* An RFC 5322 message, CRLF lines.  Returns a new string or NULL. */
static char *
render_email(const struct nchannel *ch, const struct nt_flight *f,
    const char *rcpt, json_t *inc)
{
	static const char *const wd[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char *const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec",
	};
	const char *verb = event_verb(f->event), *dom = strchr(ch->from, '@');
	char *subj = NULL, *esubj = NULL, *msg = NULL, *checks = NULL;
	char date[64], *p;
	time_t now = time(NULL);
	struct tm tm;
	size_t i, cl = 0;
	json_t *a = json_object_get(inc, "checks"), *c, *acts, *u;
	char *links = NULL, *prob;
	const char *name;
	size_t ll = 0;
	FILE *fp;

	gmtime_r(&now, &tm);
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (asprintf(&subj, "[tocsin] %s %s: #%" PRId64 " %s",
	    jstr(inc, "priority"), verb, f->incident, jstr(inc, "title")) < 0)
		return NULL;
	header_clean(subj);
	esubj = mime_word(subj);
	free(subj);
	if (esubj == NULL)
		return NULL;
	if ((fp = open_memstream(&checks, &cl)) == NULL) {
		free(esubj);
		return NULL;
	}
	json_array_foreach(a, i, c)
		fprintf(fp, "  - %s  %s  (%s)\r\n", jstr(c, "name"),
		    jstr(c, "state"), jstr(c, "role"));
	fclose(fp);
	/* the links, plain: they open a page with one button */
	acts = nlink_actions(f->incident, f->event, jstr(inc, "status"),
	    f->contact != NULL ? f->contact : f->channel);
	if (acts != NULL && (fp = open_memstream(&links, &ll)) != NULL) {
		fprintf(fp, "Act from this message (opens a page with one "
		    "button):\r\n");
		json_object_foreach(acts, name, u)
			fprintf(fp, "  %-12s %s\r\n", strcmp(name,
			    "snooze") == 0 ? "Snooze:" : strcmp(name,
			    "resolve") == 0 ? "Resolve:" : "Acknowledge:",
			    json_string_value(u));
		fprintf(fp, "\r\n");
		fclose(fp);
	}
	json_decref(acts);
	prob = problem_text(f->incident, "\r\n");
	if (asprintf(&msg,
	    "From: tocsin <%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <tocsin.%" PRId64 ".%" PRId64 "@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "X-Tocsin-Event: %s\r\n"
	    "\r\n"
	    "Incident #%" PRId64 " %s: %s\r\n"
	    "\r\n"
	    "Priority:    %s (impact %s, urgency %s)\r\n"
	    "Status:      %s\r\n"
	    "Root cause:  %s\r\n"
	    "Down since:  %s\r\n"
	    "%s%s%s"
	    "Checks:\r\n%s"
	    "\r\n"
	    "%s"
	    "%s"
	    "To acknowledge (stops the escalation):\r\n"
	    "  tocsinctl ack %" PRId64 " --by YOUR-NAME\r\n"
	    "  or POST http://%s/api/v1/incidents/%" PRId64 "/ack\r\n"
	    "\r\n-- \r\ntocsind, contact %s\r\n",
	    ch->from, rcpt, esubj, date, f->incident, f->id,
	    dom != NULL ? dom + 1 : "tocsin.invalid", f->event,
	    f->incident, verb, jstr(inc, "title"),
	    jstr(inc, "priority"), jstr(inc, "impact"), jstr(inc, "urgency"),
	    jstr(inc, "status"), jstr(inc, "root_cause"),
	    jstr(inc, "opened_at"),
	    json_is_string(json_object_get(inc, "resolved_at")) ?
	    "Resolved at: " : "",
	    json_is_string(json_object_get(inc, "resolved_at")) ?
	    jstr(inc, "resolved_at") : "",
	    json_is_string(json_object_get(inc, "resolved_at")) ? "\r\n" : "",
	    checks != NULL ? checks : "", prob != NULL ? prob : "",
	    links != NULL ? links : "",
	    f->incident, api_conf_listen(nt_g.cf), f->incident,
	    f->contact != NULL ? f->contact : rcpt) < 0)
		msg = NULL;
	free(esubj);
	free(checks);
	free(links);
	free(prob);
	/* a title's stray CR/LF must not end the body's lines early */
	for (p = msg; p != NULL && *p != '\0'; p++)
		if (*p == '\r' && p[1] != '\n')
			*p = ' ';
	return msg;
}

/* The environment of a command: a new NULL-terminated array. */
static char **
render_env(const struct nt_flight *f, const char *key, json_t *inc)
{
	const struct ncontact *c = f->contact != NULL ?
	    nconf_contact(nt_g.cf, f->contact) : NULL;
	char **env = calloc(16, sizeof(*env));
	unsigned n = 0;

	if (env == NULL)
		return NULL;
#define ENV(fmt, ...) do {						\
		if (asprintf(&env[n], fmt, __VA_ARGS__) >= 0) n++;	\
	} while (0)
	ENV("PATH=%s", "/usr/local/bin:/usr/bin:/bin");
	ENV("TOCSIN_EVENT=%s", f->event);
	ENV("TOCSIN_INCIDENT_ID=%" PRId64, f->incident);
	ENV("TOCSIN_INCIDENT_TITLE=%s", jstr(inc, "title"));
	ENV("TOCSIN_INCIDENT_STATUS=%s", jstr(inc, "status"));
	ENV("TOCSIN_INCIDENT_PRIORITY=%s", jstr(inc, "priority"));
	ENV("TOCSIN_ROOT_CAUSE=%s", jstr(inc, "root_cause"));
	ENV("TOCSIN_OPENED_AT=%s", jstr(inc, "opened_at"));
	ENV("TOCSIN_CONTACT=%s", c != NULL ? c->name : "");
	ENV("TOCSIN_CONTACT_EMAIL=%s", c != NULL && c->email ? c->email : "");
	ENV("TOCSIN_CHANNEL=%s", f->channel);
	ENV("TOCSIN_IDEMPOTENCY_KEY=%s", key);
#undef ENV
	return env;
}

/* ---- the outbox: sending ------------------------------------------------ */

static void
flight_free(struct nt_flight *f)
{
	free(f->event);
	free(f->channel);
	free(f->contact);
	free(f);
}

static void
flight_unlink(struct nt_flight *f)
{
	struct nt_flight **pp;

	for (pp = &nt_g.flights; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			nt_g.inflight--;
			return;
		}
}

static void
notify_done(void *arg, enum nsend_result r, const char *why)
{
	struct nt_flight *f = arg;
	const char *to = f->contact != NULL ? f->contact : f->channel;
	int64_t now = now_ms(), delay;
	int attempts = f->attempts + 1;

	flight_unlink(f);
	if (r == NSEND_OK) {
		store_outbox_sent(f->id, now, attempts);
		timeline(f->incident, "notified", "%s to %s via %s (%s)",
		    f->event, to, f->channel, why);
	} else if (r == NSEND_RETRY && attempts < f->max_attempts) {
		/* exponential, ±20 % jitter: a storm does not retry as one */
		delay = f->retry_min_ms;
		for (int i = 1; i < attempts && delay < f->retry_max_ms; i++)
			delay *= 2;
		if (delay > f->retry_max_ms)
			delay = f->retry_max_ms;
		delay = delay * (80 + random() % 41) / 100;
		store_outbox_retry(f->id, attempts, now + delay, why);
		timeline(f->incident, "notify_failed", "%s to %s via %s: %s; "
		    "attempt %d of %d, next in %.1fs", f->event, to,
		    f->channel, why, attempts, f->max_attempts, delay / 1e3);
	} else {
		store_outbox_dead(f->id, attempts, why);
		timeline(f->incident, "notify_failed", "%s to %s via %s: %s; "
		    "given up after %d attempt%s", f->event, to, f->channel,
		    why, attempts, attempts == 1 ? "" : "s");
		log_warnx("notify: incident %" PRId64 ": %s to %s via %s "
		    "failed for good: %s", f->incident, f->event, to,
		    f->channel, why);
	}
	flight_free(f);
	arm(nt_g.out_ev, 0);
}

/* Start one row's send (a failure to start is recorded at once). */
static void
send_row(struct nt_flight *f, const char *addr, const char *key)
{
	const struct nchannel *ch = nconf_channel(nt_g.cf, f->channel);
	const char *why = "out of memory";
	json_t *inc;
	char *body = NULL, **env = NULL;

	if (ch == NULL) {
		f->max_attempts = 0;
		notify_done(f, NSEND_FAIL, "channel no longer configured");
		return;
	}
	f->max_attempts = ch->max_attempts;
	f->retry_min_ms = ch->retry_min_ms;
	f->retry_max_ms = ch->retry_max_ms;
	if ((inc = incident_json(f->incident)) == NULL) {
		notify_done(f, NSEND_RETRY, "cannot read the incident");
		return;
	}
	store_outbox_sending(f->id);
	f->next = nt_g.flights;
	nt_g.flights = f;
	nt_g.inflight++;
	switch (ch->type) {
	case NCH_WEBHOOK: {
		struct nreq rq;
		char buf[512];
		int rc = render_webhook(ch, f, key, inc, &rq, buf,
		    sizeof(buf));

		if (rc != 0) {
			json_decref(inc);
			/* a program's error is not retried: it would fail
			   the same way; no output is a choice of the program */
			notify_done(f, rc == 1 ? NSEND_OK : NSEND_FAIL,
			    rc == 1 ? "skipped: the program gave no output" :
			    buf);
			return;
		}
		f->h = nsend_request(ch, rq.method, rq.path, rq.ctype,
		    rq.hdrs, rq.nhdrs, rq.body, rq.len, key, notify_done, f,
		    &why);
		nreq_free(&rq);
		break;
	}
	case NCH_EMAIL:
		if (addr == NULL)
			why = "no address";
		else if ((body = render_email(ch, f, addr, inc)) != NULL)
			f->h = nsend_smtp(ch, addr, body, notify_done, f, &why);
		break;
	case NCH_COMMAND:
		if ((env = render_env(f, key, inc)) != NULL)
			f->h = nsend_command(ch, env, notify_done, f, &why);
		break;
	}
	free(body);
	strv_free(env, STRV_NULL_END);
	json_decref(inc);
	if (f->h == NULL)
		notify_done(f, NSEND_RETRY, why);
}

static void
out_run(evutil_socket_t fd, short what, void *arg)
{
	struct store_outbox *v = NULL;
	size_t n = 0, i;
	int64_t now = now_ms(), next_at;
	bool sending;

	(void)fd;
	(void)what;
	(void)arg;
	if (!nt_g.up || nt_paused)
		return;
	if (nt_hold != NULL && nt_hold()) {
		arm(nt_g.out_ev, 20);	/* not in PostgreSQL yet */
		return;
	}
	/*
	 * What we are about to send is on disk first (a crash re-sends).
	 * While the incident log cannot be written, nothing is sent: the
	 * rows to send are among the writes it keeps, and a send's outcome
	 * could not be recorded (it would go out again).  notify_flushed()
	 * dispatches when the log takes writes again.
	 */
	if (incident_commit() == -1 || !store_ok())
		return;
	store_outbox_due(now, NT_BATCH, &v, &n);
	for (i = 0; i < n; i++) {
		struct nt_flight *f;

		if (nt_g.inflight >= NT_MAX_INFLIGHT || v[i].event == NULL ||
		    v[i].channel == NULL || v[i].idem_key == NULL)
			continue;
		/* keep the order per recipient: wait behind an older row */
		if (store_outbox_before(&v[i], &next_at, &sending) == 1) {
			int64_t blocker = sending ? now + 1000 : next_at;

			store_outbox_postpone(v[i].id, blocker > now ?
			    blocker : now + 100);
			continue;
		}
		if ((f = calloc(1, sizeof(*f))) == NULL)
			continue;
		f->id = v[i].id;
		f->incident = v[i].incident_id;
		f->attempts = v[i].attempts;
		f->event = v[i].event;
		f->channel = v[i].channel;
		f->contact = v[i].contact;
		v[i].event = v[i].channel = v[i].contact = NULL;
		send_row(f, v[i].address, v[i].idem_key);
	}
	store_outboxes_free(v, n);
	if (nt_g.inflight >= NT_MAX_INFLIGHT)
		return;		/* a finished send dispatches again */
	if (store_outbox_next(&next_at) == 1)
		arm(nt_g.out_ev, next_at - now_ms());
}

/* ---- API -------------------------------------------------------------- */

static double
outbox_pending(void)
{
	int64_t n = store_outbox_pending();

	return n < 0 ? 0 : (double)n;
}

/* "2026-12-02T09:00:00Z" or seconds since the epoch; -1 if neither. */
static time_t
parse_at(const char *s)
{
	struct tm tm;
	const char *end;
	char *e;
	long long v;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL &&
	    *end == '\0')
		return timegm(&tm);
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno == 0 && *e == '\0' && e != s && v >= 0)
		return (time_t)v;
	return -1;
}

/* GET /api/v1/oncall[?at=TIME]: who is on call for each schedule. */
static void
oncall_get(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct nlist *l = nconf_schedules(nt_g.cf);
	struct evkeyvalq q;
	const char *at_s;
	json_t *o, *a, *x;
	time_t at = time(NULL), since, until;
	unsigned i;
	int err = 0;
	bool ov;

	(void)rest;
	(void)arg;
	if (api_query(req, &q) == -1)
		return;
	if ((at_s = evhttp_find_header(&q, "at")) != NULL &&
	    (at = parse_at(at_s)) == (time_t)-1) {
		api_error(req, HTTP_BADREQUEST, "at: \"%s\" is not RFC 3339 "
		    "UTC (YYYY-MM-DDTHH:MM:SSZ) or epoch seconds", at_s);
		evhttp_clear_headers(&q);	/* at_s points into q */
		return;
	}
	evhttp_clear_headers(&q);
	o = json_object();
	a = json_array();
	err = o == NULL || a == NULL;
	for (i = 0; !err && l != NULL && i < l->n; i++) {
		const struct nschedule *s = l->v[i];
		const char *who = nsched_oncall(s, at, &since, &until, &ov);
		const struct ncontact *c = nconf_contact(nt_g.cf, who);

		if ((x = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(x, "schedule", api_str(s->name), &err);
		api_set(x, "contact", api_str(who), &err);
		api_set(x, "email", api_str(c ? c->email : NULL), &err);
		api_set(x, "since", api_time(since), &err);
		api_set(x, "until", api_time(until), &err);
		api_set(x, "override", json_boolean(ov), &err);
		api_set(x, "timezone", api_str(s->tz), &err);
		api_append(a, x, &err);
	}
	api_set(o, "at", api_time(at), &err);
	api_set(o, "oncall", a, &err);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
}

static json_t *
ms_time(int64_t ms)
{
	if (ms == 0)
		return json_null();
	return api_time((time_t)(steady_to_wall_ms(ms) / 1000));
}

/* GET /api/v1/notifications[?incident=ID&status=S&limit=N] */
static void
notifications_get(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evkeyvalq q;
	const char *s_inc, *s_status, *s_limit;
	int64_t inc = -1, limit = 100;
	struct store_outbox *v = NULL;
	size_t n = 0, i;
	json_t *o, *a, *x;
	int err = 0;
	char *e;

	(void)rest;
	(void)arg;
	if (api_query(req, &q) == -1)
		return;
	s_inc = evhttp_find_header(&q, "incident");
	s_status = evhttp_find_header(&q, "status");
	s_limit = evhttp_find_header(&q, "limit");
	if (s_inc != NULL && ((inc = strtoll(s_inc, &e, 10)) < 0 || *e ||
	    e == s_inc)) {
		api_error(req, HTTP_BADREQUEST, "incident: not an id");
		goto out;
	}
	if (s_limit != NULL && ((limit = strtoll(s_limit, &e, 10)) < 1 ||
	    *e || limit > 10000)) {
		api_error(req, HTTP_BADREQUEST, "limit: not in 1..10000");
		goto out;
	}
	if (s_status == NULL || strcmp(s_status, "all") == 0)
		s_status = NULL;
	else if (strcmp(s_status, "pending") != 0 &&
	    strcmp(s_status, "sent") != 0 && strcmp(s_status, "dead") != 0) {
		api_error(req, HTTP_BADREQUEST, "status: not pending, sent, "
		    "dead or all");
		goto out;
	}
	o = json_object();
	a = json_array();
	err = store_outbox_list(inc, s_status, limit, &v, &n) == -1 ||
	    o == NULL || a == NULL;
	for (i = 0; !err && i < n; i++) {
		const struct store_outbox *r = &v[i];
		bool pending = r->status != NULL &&
		    strcmp(r->status, "pending") == 0;

		if ((x = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(x, "id", json_integer(r->id), &err);
		api_set(x, "incident", json_integer(r->incident_id), &err);
		api_set(x, "event", api_str(r->event), &err);
		api_set(x, "channel", api_str(r->channel), &err);
		api_set(x, "contact", api_str(r->contact), &err);
		api_set(x, "address", api_str(r->address), &err);
		api_set(x, "idempotency_key", api_str(r->idem_key), &err);
		api_set(x, "status", api_str(r->status), &err);
		api_set(x, "attempts", json_integer(r->attempts), &err);
		api_set(x, "created_at", ms_time(r->created_ms), &err);
		api_set(x, "sent_at", ms_time(r->sent_ms), &err);
		api_set(x, "next_attempt_at", pending ? ms_time(r->next_ms) :
		    json_null(), &err);
		api_set(x, "last_error", api_str(r->last_error), &err);
		api_append(a, x, &err);
	}
	store_outboxes_free(v, n);
	api_set(o, "notifications", a, &err);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
out:
	evhttp_clear_headers(&q);
}

/* ---- life cycle ------------------------------------------------------- */

int
notify_register_config(void)
{
	return nconf_register();
}

void
notify_reconfigure(const struct config *cf)
{
	nt_g.cf = cf;
}

int
notify_init(struct event_base *base, const struct config *cf)
{
	struct timespec ts;

	memset(&nt_g, 0, sizeof(nt_g));
	nt_g.base = base;
	nt_g.cf = cf;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom((unsigned)(ts.tv_nsec ^ getpid()));
	if (nsend_init(base) == -1 ||
	    (nt_g.out_ev = evtimer_new(base, out_run, NULL)) == NULL ||
	    (nt_g.esc_ev = evtimer_new(base, esc_due, NULL)) == NULL ||
	    incident_subscribe(notify_on_incident, NULL) == -1 ||
	    store_on_flush(notify_flushed) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/oncall", 0, oncall_get,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/notifications", 0,
	    notifications_get, NULL) == -1 ||
	    api_gauge_register("tocsin_outbox_pending", "Notifications due "
	    "and not yet delivered (the durable outbox)", outbox_pending) ==
	    -1) {
		log_warnx("notify: cannot start (out of memory)");
		return -1;
	}
	/* sends that were in flight when we stopped are due again */
	if (store_outbox_unsend() == -1)
		return -1;
	if (nlink_init(nt_snooze) == -1 || ninbound_init(nt_snooze) == -1) {
		log_warnx("notify: cannot start (out of memory)");
		return -1;
	}
	nt_g.up = true;
	arm(nt_g.out_ev, 0);
	esc_rearm();
	log_info("notify: %.0f notification%s pending", outbox_pending(),
	    outbox_pending() == 1 ? "" : "s");
	return 0;
}

void
notify_shutdown(void)
{
	struct nt_flight *f;

	if (nt_g.base == NULL)
		return;		/* never started */
	nt_g.up = false;
	while ((f = nt_g.flights) != NULL) {
		nt_g.flights = f->next;
		if (f->h != NULL)
			nsend_cancel(f->h);
		flight_free(f);
	}
	/* abandoned sends are pending again at the next start */
	store_outbox_unsend();
	nsend_shutdown();
	nlink_shutdown();
	ninbound_shutdown();
	if (nt_g.out_ev != NULL)
		event_free(nt_g.out_ev);
	if (nt_g.esc_ev != NULL)
		event_free(nt_g.esc_ev);
	memset(&nt_g, 0, sizeof(nt_g));
}
