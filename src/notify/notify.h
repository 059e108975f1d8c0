/*
 * notify.h — the notifier: wakes whoever is on call when an incident
 * opens, escalates while nobody acknowledges, tells everyone paged when
 * it is acknowledged or resolved.
 *
 * It subscribes to the incident log (incident_subscribe) and keeps its
 * durable state in the same database: every notification due is a row of
 * notify_outbox written in the transaction of the incident change that
 * caused it, and is sent from there (at-least-once, retried with backoff,
 * dead after max_attempts).  Channels (webhook, email, command) run on
 * the daemon's loop; nothing here blocks it.
 */
#ifndef TOCSIN_NOTIFY_H
#define TOCSIN_NOTIFY_H

#include <stdbool.h>

struct event_base;
struct config;

/* Register channel/contact/schedule/escalation/route (before conf_load). */
int notify_register_config(void);
/*
 * After incident_init(): subscribe, add the API routes and the outbox
 * gauge, and send what was due before a restart.
 * RETURN VALUE: 0, or -1 after logging why.
 */
int notify_init(struct event_base *base, const struct config *cf);
/*
 * The config in force after a reload (borrowed until the next one): the
 * notifier reads its channels, contacts, schedules, escalations and
 * routes there.  Call it as soon as cf is in force, before anything that
 * may open or change an incident.
 */
void notify_reconfigure(const struct config *cf);
/* Abandons sends in flight (they stay pending in the outbox). */
void notify_shutdown(void);
/*
 * A cluster node pages only while it leads: notify_set_active(false)
 * stops sending and escalating (rows stay in the outbox), true starts
 * again at once.  Active by default.
 */
void notify_set_active(bool on);
/*
 * Nothing is sent while wait() is true (the cluster leader's incident log
 * is not in PostgreSQL yet: a page must not go out for a row the next
 * leader would not have).  NULL: never wait.
 */
void notify_set_hold(bool (*wait)(void));
/* What waited for notify_set_hold's wait() may go now: look at once. */
void notify_kick(void);

#endif
