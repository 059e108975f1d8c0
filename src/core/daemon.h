/*
 * daemon.h — process-wide state that several modules read: the event
 * loop, the config in force, start time.  Written only by main.c.
 */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

#include <time.h>

struct event_base;
struct config;

struct daemon {
	struct event_base *base;
	struct config *cf;		/* the config in force */
	unsigned long cf_gen;		/* bumped each time cf is replaced */
	time_t started;			/* wall clock */
	const char *version;		/* PACKAGE_VERSION */
	unsigned long nofile;		/* RLIMIT_NOFILE soft limit in force */
};

extern struct daemon daemon_g;

#endif
