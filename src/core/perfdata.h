/*
 * perfdata.h — Nagios plugin output: the first line, long output and the
 * perfdata grammar, turned into tocsin metrics.  Pure functions: no I/O,
 * no allocation that outlives a call except what the caller is told to free.
 */
#ifndef TOCSIN_PERFDATA_H
#define TOCSIN_PERFDATA_H

#include <stddef.h>
#include <tocsin/plugin.h>

/*
 * Called once per well-formed perfdata item.  The strings in m point into
 * a scratch buffer valid only during the call (copy what you keep).
 * Return 0 to go on, non-zero to stop parsing.
 */
typedef int (*perfdata_cb)(const struct tocsin_metric *m, void *arg);

/*
 * perfdata_parse — parse "label=value[UOM];[warn];[crit];[min];[max]"
 * items separated by spaces.  Labels may be quoted with single quotes
 * ('label with space'=1; a quote inside is written ''), UOM is one of
 * s ms us % B KB MB GB TB c (or empty); warn/crit are ranges
 * (tocsin_range_parse) kept as text; min/max are numbers or empty (NAN).
 * A value of "U" (undetermined) skips the item.  Unit "c" sets
 * TOCSIN_METRIC_COUNTER.  Malformed items are skipped, never fatal.
 * RETURN VALUE: the number of items skipped as malformed.
 */
int perfdata_parse(const char *text, perfdata_cb cb, void *arg);

/*
 * Output of a Nagios plugin split in its parts:
 *   TEXT [| PERFDATA]\n
 *   LONG TEXT …\n
 *   [LONG TEXT | PERFDATA\n MORE PERFDATA …]
 * summary: first line text before '|', trimmed.  long_output: the later
 * lines before the first '|' among them, trimmed of trailing newlines.
 * perfdata: first-line perfdata and the perfdata after the '|' in the long
 * part, joined with a space.  NUL bytes in buf end the text.
 * The three strings are new; the caller frees them (never NULL on 0).
 * RETURN VALUE: 0, or -1 on allocation failure.
 */
struct plugin_output {
	char *summary;
	char *long_output;
	char *perfdata;
};
int plugin_output_parse(const char *buf, size_t len, struct plugin_output *out);
void plugin_output_free(struct plugin_output *out);

/*
 * The number grammar of perfdata and ranges: [+-]digits[.digits]
 * [e[+-]digits] with a digit on at least one side of the point; no inf,
 * nan, hex or blanks (which strtod() alone would take).  number_len:
 * length of such a number at the start of s, 0 if none.  number_parse:
 * s[0..len) as a whole finite number; 0, or -1.  (src/range.c)
 */
size_t number_len(const char *s);
int number_parse(const char *s, size_t len, double *d);

#endif
