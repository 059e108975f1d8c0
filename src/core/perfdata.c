/*
 * perfdata.c — Nagios plugin output and perfdata, parsed into tocsin
 * metrics.  The text comes from any program an operator configures, so
 * every byte sequence must be survivable: a bad item is counted and
 * skipped, never fatal, and nothing here reads past the text it was
 * given.  No I/O; the only allocations are the scratch copy freed before
 * perfdata_parse() returns and the strings plugin_output_parse() hands
 * over.  Sizes are the caller's business: nothing is capped here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tocsin/plugin.h>

#include "core/perfdata.h"

/* value[UOM];warn;crit;min;max */
#define PD_NFIELDS	5

static const char *const pd_units[] = {
	"s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c",
};

/* The C locale's isspace(), without the locale. */
static int
pd_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/*
 * Labels become metric names in the API, in JSON and in file names:
 * control characters there only cause trouble further on.
 */
static int
pd_control(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

/* min or max: a whole number, or empty for unknown (NAN). */
static int
pd_bound(const char *s, double *d)
{
	size_t len;

	if (*s == '\0') {
		*d = NAN;
		return 0;
	}
	len = number_len(s);
	if (len == 0 || s[len] != '\0')
		return -1;
	return number_parse(s, len, d);
}

/* warn or crit: a valid range kept as text, or empty (NULL). */
static int
pd_range(const char *s, const char **out)
{
	struct tocsin_range r;

	if (*s == '\0') {
		*out = NULL;
		return 0;
	}
	if (tocsin_range_parse(s, &r) == -1)
		return -1;
	*out = s;
	return 0;
}

/* Returns the unit from the list, NULL for none; *ok is 0 if unknown. */
static const char *
pd_unit(const char *s, int *ok)
{
	size_t i;

	*ok = 1;
	if (*s == '\0')
		return NULL;
	for (i = 0; i < sizeof(pd_units) / sizeof(pd_units[0]); i++)
		if (strcmp(s, pd_units[i]) == 0)
			return s;
	*ok = 0;
	return NULL;
}

/*
 * Fill m from the NUL-terminated value text of an item (everything after
 * '=').  The ';' are overwritten.  RETURN VALUE: 1 for a metric, 0 for an
 * undetermined value ("U"), -1 if malformed.
 */
static int
pd_fields(char *val, struct tocsin_metric *m)
{
	char *f[PD_NFIELDS], *s, *semi;
	size_t len;
	int n, ok;

	s = val;
	n = 0;
	for (;;) {
		semi = strchr(s, ';');
		if (semi != NULL)
			*semi = '\0';
		/* Past max only empty fields (trailing ';') are allowed. */
		if (n < PD_NFIELDS)
			f[n++] = s;
		else if (*s != '\0')
			return -1;
		if (semi == NULL)
			break;
		s = semi + 1;
	}
	/* Missing fields are empty: point them at val's terminating NUL. */
	for (; n < PD_NFIELDS; n++)
		f[n] = s + strlen(s);

	/* "U" may still carry a unit; the rest of the item does not matter. */
	if (f[0][0] == 'U') {
		pd_unit(f[0] + 1, &ok);
		return ok ? 0 : -1;
	}
	len = number_len(f[0]);
	if (len == 0)
		return -1;
	m->unit = pd_unit(f[0] + len, &ok);
	if (!ok || number_parse(f[0], len, &m->value) == -1)
		return -1;
	m->flags = 0;
	if (m->unit != NULL && strcmp(m->unit, "c") == 0)
		m->flags |= TOCSIN_METRIC_COUNTER;
	if (pd_range(f[1], &m->warn) == -1 || pd_range(f[2], &m->crit) == -1 ||
	    pd_bound(f[3], &m->min) == -1 || pd_bound(f[4], &m->max) == -1)
		return -1;
	return 1;
}

/*
 * Parse the item at *pp (not at a blank, not at the end) in place and
 * move *pp past it.  RETURN VALUE: as pd_fields().
 */
static int
pd_item(char **pp, struct tocsin_metric *m)
{
	char *p = *pp, *name, *w;
	int bad = 0;

	if (*p == '\'') {
		name = w = ++p;
		for (;;) {
			if (*p == '\0') {
				/*
				 * Unterminated: where the label was meant to
				 * end is unknowable, and a guess would invent
				 * metrics out of its words.  Drop the rest.
				 */
				*pp = p;
				return -1;
			}
			if (*p == '\'') {
				if (p[1] != '\'')
					break;
				p++;		/* '' is one quote */
			} else if (pd_control(*p))
				bad = 1;
			*w++ = *p++;
		}
		p++;			/* the closing quote */
		*w = '\0';		/* w is at most the closing quote */
		if (*p != '=')
			bad = 1;
	} else {
		name = p;
		while (*p != '=' && *p != '\0' && !pd_space(*p)) {
			/* Only a quoted label may hold a quote. */
			if (*p == '\'' || pd_control(*p))
				bad = 1;
			p++;
		}
		w = p;
		if (*p != '=')
			bad = 1;
	}
	if (bad || w == name) {
		while (*p != '\0' && !pd_space(*p))
			p++;
		*pp = p;
		return -1;
	}
	*w = '\0';
	p++;			/* the '=' */
	m->name = name;
	w = p;
	while (*p != '\0' && !pd_space(*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return pd_fields(w, m);
}

/*
 * The header's contract plus one case it does not name: -1 when the
 * scratch copy cannot be allocated (nothing was parsed).
 */
int
perfdata_parse(const char *text, perfdata_cb cb, void *arg)
{
	struct tocsin_metric m;
	char *buf, *p;
	size_t len;
	int skipped = 0, rc;

	if (text == NULL)
		return 0;
	len = strlen(text);
	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	memcpy(buf, text, len + 1);

	p = buf;
	for (;;) {
		while (pd_space(*p))
			p++;
		if (*p == '\0')
			break;
		memset(&m, 0, sizeof(m));
		rc = pd_item(&p, &m);
		if (rc == -1)
			skipped++;
		else if (rc == 1 && cb != NULL && cb(&m, arg) != 0)
			break;
	}
	free(buf);
	return skipped;
}

/* Narrow [*s, *e) to leave out blanks on the given sides. */
static void
po_trim(const char **s, const char **e, int lead)
{
	while (lead && *s < *e && pd_space(**s))
		(*s)++;
	while (*e > *s && pd_space((*e)[-1]))
		(*e)--;
}

/* Returns a new string of [s, e); the caller frees it. */
static char *
po_dup(const char *s, const char *e)
{
	char *d;

	if ((d = malloc(e - s + 1)) == NULL)
		return NULL;
	memcpy(d, s, e - s);
	d[e - s] = '\0';
	return d;
}

/*
 * Returns a new string of both parts joined with a space, line breaks
 * made spaces so the perfdata reads as one line; the caller frees it.
 */
static char *
po_join(const char *s1, const char *e1, const char *s2, const char *e2)
{
	char *d, *w;

	if ((d = malloc((e1 - s1) + (e2 - s2) + 2)) == NULL)
		return NULL;
	w = d;
	memcpy(w, s1, e1 - s1);
	w += e1 - s1;
	if (e1 > s1 && e2 > s2)
		*w++ = ' ';
	memcpy(w, s2, e2 - s2);
	w += e2 - s2;
	*w = '\0';
	for (w = d; *w != '\0'; w++)
		if (*w == '\n' || *w == '\r')
			*w = ' ';
	return d;
}

int
plugin_output_parse(const char *buf, size_t len, struct plugin_output *out)
{
	const char *end, *nl, *bar, *s, *e, *p1, *e1, *p2, *e2;

	memset(out, 0, sizeof(*out));
	if (buf == NULL) {
		buf = "";
		len = 0;
	}
	if ((e = memchr(buf, '\0', len)) != NULL)
		len = e - buf;
	end = buf + len;

	/* First line: summary [| perfdata]. */
	if ((nl = memchr(buf, '\n', len)) == NULL)
		nl = end;
	bar = memchr(buf, '|', nl - buf);
	s = buf;
	e = bar != NULL ? bar : nl;
	po_trim(&s, &e, 1);
	if ((out->summary = po_dup(s, e)) == NULL)
		goto err;
	p1 = e1 = nl;
	if (bar != NULL) {
		p1 = bar + 1;
		po_trim(&p1, &e1, 1);
	}

	/* Later lines: long output up to the first '|', perfdata after. */
	s = nl < end ? nl + 1 : end;
	bar = memchr(s, '|', end - s);
	e = bar != NULL ? bar : end;
	po_trim(&s, &e, 0);
	if ((out->long_output = po_dup(s, e)) == NULL)
		goto err;
	p2 = e2 = end;
	if (bar != NULL) {
		p2 = bar + 1;
		po_trim(&p2, &e2, 1);
	}

	if ((out->perfdata = po_join(p1, e1, p2, e2)) == NULL)
		goto err;
	return 0;
err:
	plugin_output_free(out);
	return -1;
}

void
plugin_output_free(struct plugin_output *out)
{
	if (out == NULL)
		return;
	free(out->summary);
	free(out->long_output);
	free(out->perfdata);
	out->summary = out->long_output = out->perfdata = NULL;
}
