/*
 * cluster_node.h — tocsind as a node of a cluster (cluster { }): which
 * checks it runs, its events to the leader, the leader's correlation and
 * paging, the API's forwarding (cluster_node.c).
 */
#ifndef TOCSIN_CLUSTER_NODE_H
#define TOCSIN_CLUSTER_NODE_H

#include <stdbool.h>

struct config;
struct event_base;

/* Does cf write cluster { }? */
bool cnode_enabled(const struct config *cf);
/*
 * Join the cluster of cf (nothing without cluster { }): before the
 * scheduler starts, after the API's and the incident module's routes.
 * listen: api.listen, the address the others forward to unless
 * cluster { api } says another.  RETURN VALUE: 0, or -1 (logged).
 */
int cnode_start(struct event_base *base, struct config *cf,
    const char *listen);
/* A reload: cf's checks (call before sched_start(cf)). */
void cnode_reconfigure(struct config *cf);
void cnode_stop(void);

#endif
