/*
 * plugins/dummy/dummy.c — a check type whose result comes from its config.
 * Useful for trying routing and incidents without a real failure, and the
 * in-process check type of bench/scheduler (no I/O at all).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <tocsin/plugin.h>

struct dummy {
	enum tocsin_state state;
	char *text;
	int64_t delay_ms;
	double value;
	int has_value;
};

static const struct tocsin_option dummy_options[] = {
	{ "state", TOCSIN_OPT_STR, "ok", 0,
	    "result: ok, warning, critical or unknown" },
	{ "text", TOCSIN_OPT_STR, "dummy result", 0, "the summary line" },
	{ "delay", TOCSIN_OPT_DURATION, "0ms", 0,
	    "finish the run after this long (on a loop timer)" },
	{ "value", TOCSIN_OPT_FLOAT, NULL, 0,
	    "if set, a metric named \"value\" with this value" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static int
dummy_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	static const char *const names[] = { "ok", "warning", "critical",
	    "unknown" };
	const char *s = tocsin_conf_str(cf, "state");
	struct dummy *d;
	int i;

	(void)chk;
	for (i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			break;
	if (i == 4) {
		tocsin_conf_error(cf, "state", "\"%s\" is not ok, warning, "
		    "critical or unknown", s);
		return -1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->state = (enum tocsin_state)i;
	d->text = strdup(tocsin_conf_str(cf, "text"));
	d->delay_ms = tocsin_conf_duration_ms(cf, "delay");
	d->has_value = tocsin_conf_is_set(cf, "value");
	d->value = tocsin_conf_float(cf, "value");
	*priv = d;
	return 0;
}

static void
dummy_finish(struct tocsin_run *run, struct dummy *d)
{
	struct tocsin_metric m;

	if (d->has_value) {
		memset(&m, 0, sizeof(m));
		m.name = "value";
		m.value = d->value;
		m.min = m.max = __builtin_nan("");
		tocsin_run_metric(run, &m);
	}
	tocsin_run_finish(run, d->state, d->text);
}

/* A delayed run: its timer and what to answer. */
struct pending {
	struct event *ev;
	struct dummy *d;
};

static void
dummy_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tocsin_run *run = arg;
	struct pending *p = tocsin_run_data(run);
	struct dummy *d = p->d;

	(void)fd;
	(void)what;
	event_free(p->ev);
	free(p);
	dummy_finish(run, d);
}

static void
dummy_start(struct tocsin_run *run, void *priv)
{
	struct dummy *d = priv;
	struct pending *p;
	struct timeval tv;

	if (d->delay_ms == 0) {
		dummy_finish(run, d);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->ev = evtimer_new(tocsin_event_base(), dummy_timer,
	    run)) == NULL) {
		free(p);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "dummy: out of memory");
		return;
	}
	p->d = d;
	tocsin_run_set_data(run, p);
	tv.tv_sec = d->delay_ms / 1000;
	tv.tv_usec = (d->delay_ms % 1000) * 1000;
	evtimer_add(p->ev, &tv);
}

static void
dummy_cancel(struct tocsin_run *run, void *priv)
{
	struct pending *p = tocsin_run_data(run);

	(void)priv;
	if (p != NULL) {
		event_free(p->ev);
		free(p);
	}
}

static void
dummy_free(void *priv)
{
	struct dummy *d = priv;

	free(d->text);
	free(d);
}

static const struct tocsin_check_type dummy_type = {
	.name = "dummy",
	.options = dummy_options,
	.configure = dummy_configure,
	.start = dummy_start,
	.cancel = dummy_cancel,
	.free = dummy_free,
};

static int
dummy_init(void)
{
	return tocsin_register_type(&dummy_type);
}

TOCSIN_PLUGIN("dummy", dummy_init, NULL);
