/*
 * shortage.c — the ledger of tocsind's own resource shortages
 * (shortage.h): runs and connections lost because tocsind was out of
 * file descriptors, memory or processes.  The scheduler and the API
 * write it; the `self` check type (selfcheck.c) reads it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/shortage.h"
#include "core/util.h"

#define SHORTAGE_LOG_MS	10000		/* at most one log line per 10 s */

static struct {
	unsigned long total;		/* runs lost since start */
	unsigned long logged;		/* total at the last log line */
	int64_t log_ms;			/* monotonic time of that line */
	int last_err;
	char last_check[128];
} short_g;

const char *
shortage_resource(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
		return "file descriptors";
	case EAGAIN:
		return "processes";
	case ENOBUFS:
		return "buffer space";
	default:
		return "memory";
	}
}

unsigned long
shortage_total(void)
{
	return short_g.total;
}

void
shortage_note(int err, const char *check)
{
	int64_t now = mono_ms();

	short_g.total++;
	short_g.last_err = err;
	snprintf(short_g.last_check, sizeof(short_g.last_check), "%s",
	    check != NULL ? check : "(API connection)");
	if (short_g.log_ms != 0 && now - short_g.log_ms < SHORTAGE_LOG_MS)
		return;
	log_warnx("tocsind is out of %s (%s): %lu check run%s or "
	    "connection%s lost since the last report, the latest %s; such "
	    "checks are UNKNOWN, not failed", shortage_resource(err),
	    strerror(err), short_g.total - short_g.logged,
	    short_g.total - short_g.logged == 1 ? "" : "s",
	    short_g.total - short_g.logged == 1 ? "" : "s", short_g.last_check);
	short_g.logged = short_g.total;
	short_g.log_ms = now;
}

int
shortage_last(char *check, size_t len)
{
	if (check != NULL && len > 0)
		snprintf(check, len, "%s", short_g.last_check);
	return short_g.last_err;
}
