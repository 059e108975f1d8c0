/*
 * child.h — reaping of child processes on the loop (SIGCHLD through
 * libevent).  Implements tocsin_child_watch/unwatch of the plugin ABI.
 */
#ifndef TOCSIN_CHILD_H
#define TOCSIN_CHILD_H

struct event_base;

/* Also makes tocsind a child subreaper (see child.c). */
int child_init(struct event_base *base);
void child_shutdown(void);

#endif
