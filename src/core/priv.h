/*
 * priv.h — privileges: tocsind started as root becomes daemon { user }
 * (without one: the account "tocsin" if it exists, else "nobody") and
 * keeps only CAP_NET_RAW; it stays root only when allow_root says so, or
 * when no user was set and the one it would pick cannot reach the state
 * or the config (it says which directory is in the way).
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
 * As root without `user`: the same with "tocsin" if that account exists,
 * else "nobody"; stays root (with a warning naming the directory in the
 * way) if that account cannot get through the parents of state_dir or
 * read the config; allow_root keeps root without a word.
 * As root with `user`: a parent of state_dir or the config the user
 * cannot get through is an error that names it.
 * Not as root: `user` other than the current one is only logged.
 * RETURN VALUE: 0, or -1 after logging why at error level (also on
 * stderr when the log is syslog, i.e. not foreground).
 */
int priv_drop(const struct config *cf, bool foreground);

#endif
