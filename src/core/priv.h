/*
 * priv.h — privileges: tocsind started as root becomes daemon { user }
 * and keeps only CAP_NET_RAW, or refuses to run as root at all unless
 * daemon { allow_root = true } says so.
 */
#ifndef TOCSIN_PRIV_H
#define TOCSIN_PRIV_H

#include <stdbool.h>

#include "core/conf.h"

/*
 * priv_drop — called once at start-up, after the plugins are loaded and
 * the state directory exists, before any state file is opened.
 * As root with `user` set: state_dir (and everything in it) is given to
 * that user and its primary group, the process takes the user's uid, gid
 * and groups, and keeps CAP_NET_RAW (permitted, effective, inheritable
 * and ambient, so ICMP checks and the plugins exec runs still work) and
 * nothing else, bounding set included.
 * As root without `user`: refused unless allow_root.
 * Not as root: `user` other than the current one is only logged.
 * RETURN VALUE: 0, or -1 after logging why (also on stderr when the log
 * is syslog, i.e. not foreground).
 */
int priv_drop(const struct config *cf, bool foreground);

#endif
