/*
 * range.c — Nagios threshold ranges ("10", "10:", "~:10", "10:20",
 * "@10:20") as in the plugin development guidelines.  Pure functions:
 * no I/O, no allocation.  The text comes from plugins and configs, so
 * anything that is not exactly a range is refused, never guessed at.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tocsin/plugin.h>

#include "core/perfdata.h"

/*
 * Length of the decimal number at the start of s ([+-]digits[.digits]
 * [e[+-]digits], digits on at least one side of the point), 0 if none.
 * strtod() alone would also take "inf", "nan", hex and leading blanks.
 */
size_t
number_len(const char *s)
{
	size_t i = 0, digits = 0, e;

	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return 0;
	if (s[i] == 'e' || s[i] == 'E') {
		e = i + 1;
		if (s[e] == '+' || s[e] == '-')
			e++;
		if (s[e] >= '0' && s[e] <= '9') {
			while (s[e] >= '0' && s[e] <= '9')
				e++;
			i = e;
		}
	}
	return i;
}

/* Parse s[0..len) as a whole finite number; 0 or -1. */
int
number_parse(const char *s, size_t len, double *d)
{
	char *end;

	if (len == 0 || number_len(s) != len)
		return -1;
	*d = strtod(s, &end);
	/* A locale whose decimal point is not '.' stops strtod early. */
	if ((size_t)(end - s) != len || !isfinite(*d))
		return -1;
	return 0;
}

int
tocsin_range_parse(const char *text, struct tocsin_range *r)
{
	struct tocsin_range tmp;
	const char *colon;
	size_t slen;

	if (text == NULL || r == NULL)
		return -1;
	tmp.inside = 0;
	if (*text == '@') {
		tmp.inside = 1;
		text++;
	}
	if (*text == '\0')
		return -1;

	colon = strchr(text, ':');
	if (colon == NULL) {
		/* "10": the start is 0, as the guidelines say. */
		tmp.start = 0;
		if (number_parse(text, strlen(text), &tmp.end) == -1)
			return -1;
	} else {
		slen = colon - text;
		if (slen == 1 && text[0] == '~')
			tmp.start = -INFINITY;
		else if (slen == 0)
			tmp.start = 0;	/* ":10" means 0:10 */
		else if (number_parse(text, slen, &tmp.start) == -1)
			return -1;
		if (colon[1] == '\0') {
			/* ":" alone names no bound: a typo, not a range. */
			if (slen == 0)
				return -1;
			tmp.end = INFINITY;
		} else if (number_parse(colon + 1, strlen(colon + 1),
		    &tmp.end) == -1)
			return -1;
	}
	if (tmp.start > tmp.end)
		return -1;
	*r = tmp;
	return 0;
}

/* NaN compares false both ways: an unknown value never alerts. */
int
tocsin_range_alert(const struct tocsin_range *r, double value)
{
	if (r->inside)
		return value >= r->start && value <= r->end;
	return value < r->start || value > r->end;
}
