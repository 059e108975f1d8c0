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
/*
 * The leader's incident log has changes not in PostgreSQL yet: replies
 * and pages wait (what a client or a receiver is told is in PostgreSQL,
 * where the next leader reads it).  False on a single node.
 */
bool cnode_unmirrored(void);
/*
 * A reply waits: the log is unmirrored, or events this node's checks made
 * are not durable yet (in PostgreSQL or the local spool).  fn runs when
 * that may have ended (cnode_on_release).
 */
bool cnode_reply_waits(void);
void cnode_on_release(void (*fn)(void));

#endif
