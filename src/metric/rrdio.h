/*
 * rrdio.h — where the metric store's files are and how they are read:
 * on this machine (librrd), or on an rrdcached reached over the network
 * (daemon.rrdcached = "host:port"), whose CREATE, INFO, LAST and FETCH
 * commands then stand in for the file system.  Used by the writer thread
 * and by the readers (graphs, series, forecasts) on the pool's workers:
 * librrd's rrdc_* functions keep one connection a process, each call
 * under librrd's own lock.
 */
#ifndef TOCSIN_RRDIO_H
#define TOCSIN_RRDIO_H

#include <stdbool.h>
#include <time.h>

#include <rrd.h>

/*
 * Is addr an rrdcached reached over the network ("host", "host:port",
 * "[v6]:port"), rather than a unix socket ("unix:/path" or "/path")?
 */
bool rrdio_is_network(const char *addr);

/*
 * The address the files are on (rrdio_is_network), or NULL: on this
 * machine.  Set once at start, before any thread reads it; a reload does
 * not move the files (metric.c says so in the log).
 */
void rrdio_set_remote(const char *addr);
const char *rrdio_remote(void);

/*
 * rrd_fetch_r, on the file wherever it is.  Over the network rrdcached
 * flushes the file first and chooses the finest archive covering the
 * window (FETCH has no resolution): when the caller asked for a longer
 * *step that is a multiple of it, the rows are consolidated here with cf.
 */
int rrdio_fetch(const char *path, const char *cf, time_t *start, time_t *end,
    unsigned long *step, unsigned long *nds, char ***names,
    rrd_value_t **data);

/* rrd_info_r, wherever the file is.  NULL: see rrd_get_error(). */
rrd_info_t *rrdio_info(const char *path);

/* Does the file exist?  1 yes, 0 no, -1 not known now (rrd_get_error). */
int rrdio_exists(const char *path);

#endif
