/*
 * daemon.c — the process-wide state of daemon.h.  Here, not in main.c,
 * so that the core library (and its unit tests) link without main().
 */
#include "core/daemon.h"

struct daemon daemon_g;
