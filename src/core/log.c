/*
 * log.c — log output for the daemon and its plugins.  In the foreground
 * (tocsind -f, tests) lines go to stderr with a timestamp and level; as a
 * service they go to syslog, which the journal collects.  Never blocks on
 * anything but the write itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <tocsin/plugin.h>

#include "core/log.h"

static bool log_foreground = true;
static int log_max = LOG_INFO;

static const char *const log_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void
log_init(bool foreground, int level)
{
	log_foreground = foreground;
	log_max = level;
	if (!foreground)
		openlog("tocsind", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_max = level;
}

int
log_get_level(void)
{
	return log_max;
}

int
log_level_from_name(const char *name)
{
	int i;

	for (i = 0; i < (int)(sizeof(log_names) / sizeof(log_names[0])); i++)
		if (strcasecmp(name, log_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warn") == 0)
		return LOG_WARNING;
	if (strcasecmp(name, "err") == 0)
		return LOG_ERR;
	return -1;
}

void
log_vlog(int pri, const char *fmt, va_list ap)
{
	char ts[32];
	struct timespec now;
	struct tm tm;

	if (pri > log_max)
		return;
	if (!log_foreground) {
		vsyslog(pri, fmt, ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ld %s: ", ts, now.tv_nsec / 1000000,
	    log_names[pri & 7]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void
log_with_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_vlog_str(pri, "%s: %s", buf, strerror(saved));
}

void
log_vlog_str(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(pri, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_with_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

#define LOG_FN(NAME, PRI)						\
void									\
NAME(const char *fmt, ...)						\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	log_vlog(PRI, fmt, ap);						\
	va_end(ap);							\
}
LOG_FN(log_errx, LOG_ERR)
LOG_FN(log_warnx, LOG_WARNING)
LOG_FN(log_notice, LOG_NOTICE)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_with_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

/* The plugin ABI's logger. */
void
tocsin_log(enum tocsin_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog((int)level, fmt, ap);
	va_end(ap);
}
