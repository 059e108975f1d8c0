/*
 * util.c — small helpers shared by the core modules.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The offset between the two clocks, taken once: wall = mono + offset at
 * start.  pthread_once: the notifier and the incident log call it from
 * the loop, tests from anywhere.
 */
static int64_t steady_off;
static pthread_once_t steady_once = PTHREAD_ONCE_INIT;

static void
steady_init(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	steady_off = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
	    mono_ms();
}

int64_t
steady_ms(void)
{
	pthread_once(&steady_once, steady_init);
	return mono_ms() + steady_off;
}

int64_t
steady_to_wall_ms(int64_t steady)
{
	struct timespec ts;

	if (steady == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	return steady + ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
	    steady_ms());
}

void
rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *
xstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

uint32_t
hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void
thread_yield_to_loop(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)tid);
	if (prio == -1 && errno != 0)
		return;
	/* Linux: nice is per thread, and raising it needs no privilege */
	(void)setpriority(PRIO_PROCESS, (id_t)tid, prio + 5 > 19 ? 19 :
	    prio + 5);
}

size_t
utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	for (n = max; n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; n--)
		;
	return n;
}
