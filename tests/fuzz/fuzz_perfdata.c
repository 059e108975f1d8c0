/*
 * fuzz_perfdata.c — libFuzzer harness for plugin output and perfdata
 * parsing: the bytes are what a plugin could print, so every input must
 * come back without a crash, a leak or a sanitizer report.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *       tests/fuzz/fuzz_perfdata.c src/perfdata.c src/range.c -lm
 *   ./a.out -max_len=4096 tests/fuzz/corpus/perfdata
 */
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tocsin/plugin.h>

#include "core/perfdata.h"

/* Touch every field so a bad pointer shows up here, not later. */
static int
fuzz_metric(const struct tocsin_metric *m, void *arg)
{
	struct tocsin_range r;
	size_t *sum = arg;
	const char *p;

	/* The grammar promises a clean, non-empty name, finite numbers. */
	if (m->name[0] == '\0' || !isfinite(m->value) ||
	    (!isnan(m->min) && !isfinite(m->min)) ||
	    (!isnan(m->max) && !isfinite(m->max)))
		abort();
	for (p = m->name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
		*sum += (unsigned char)*p;
	}
	if (m->unit != NULL)
		*sum += m->unit[0];
	/* The parser promises warn and crit are valid ranges. */
	if (m->warn != NULL) {
		if (tocsin_range_parse(m->warn, &r) != 0)
			abort();
		*sum += tocsin_range_alert(&r, m->value);
	}
	if (m->crit != NULL && tocsin_range_parse(m->crit, &r) != 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plugin_output po;
	size_t sum = 0;

	if (plugin_output_parse((const char *)data, size, &po) != 0)
		return 0;
	if (po.summary == NULL || po.long_output == NULL ||
	    po.perfdata == NULL)
		abort();
	/* One line each: the summary by definition, perfdata by joining. */
	if (strchr(po.summary, '\n') != NULL ||
	    strchr(po.perfdata, '\n') != NULL)
		abort();
	perfdata_parse(po.perfdata, fuzz_metric, &sum);
	/* The long output may hold perfdata-like text too: parse it raw. */
	perfdata_parse(po.long_output, fuzz_metric, &sum);
	plugin_output_free(&po);
	return 0;
}
