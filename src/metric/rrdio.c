/*
 * rrdio.c — the metric store's files, read where they are: with librrd on
 * this machine, or through an rrdcached reached over the network.  See
 * rrdio.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include "metric/rrdio.h"

static char *remote;	/* set before the threads start, then read only */

bool
rrdio_is_network(const char *addr)
{
	return addr != NULL && *addr != '\0' && *addr != '/' &&
	    strncmp(addr, "unix:", 5) != 0;
}

void
rrdio_set_remote(const char *addr)
{
	free(remote);
	remote = rrdio_is_network(addr) ? strdup(addr) : NULL;
}

const char *
rrdio_remote(void)
{
	return remote;
}

/* Connected to the remote rrdcached (librrd keeps the connection)? */
static bool
connected(void)
{
	if (rrdc_is_connected(remote))
		return true;
	rrd_clear_error();
	if (rrdc_connect(remote) != 0 || !rrdc_is_connected(remote)) {
		if (rrd_get_error()[0] == '\0')
			rrd_set_error("cannot connect to rrdcached at %s",
			    remote);
		return false;
	}
	return true;
}

/*
 * After a failed request: was it the connection (rrdcached restarted, the
 * connection librrd kept is dead, and librrd has closed it)?  Then it is
 * worth one more try on a new one.
 */
static bool
again(void)
{
	return !rrdc_is_connected(remote) && connected();
}

/* One row of cf over the known values of v[0..n) (NAN: none). */
static double
consolidate(const char *cf, const rrd_value_t *v, unsigned long n,
    unsigned long stride)
{
	double acc = NAN;
	unsigned long i, k = 0;

	for (i = 0; i < n; i++) {
		double x = v[i * stride];

		if (isnan(x))
			continue;
		if (isnan(acc))
			acc = x;
		else if (strcmp(cf, "AVERAGE") == 0)
			acc += x;
		else if (strcmp(cf, "MAX") == 0)
			acc = x > acc ? x : acc;
		else if (strcmp(cf, "MIN") == 0)
			acc = x < acc ? x : acc;
		else
			acc = x;	/* LAST, and the HW ones: the latest */
		k++;
	}
	if (k > 0 && strcmp(cf, "AVERAGE") == 0)
		acc /= (double)k;
	return acc;
}

/*
 * Rows of *step seconds (start, start + step] … consolidated into rows of
 * want seconds, aligned on want as librrd aligns its own archives.
 */
static int
reduce(const char *cf, time_t *start, time_t *end, unsigned long *step,
    unsigned long nds, rrd_value_t **data, unsigned long want)
{
	unsigned long rows = (unsigned long)(*end - *start) / *step;
	time_t nstart = *start / (time_t)want * (time_t)want;
	time_t nend = (*end + (time_t)want - 1) / (time_t)want * (time_t)want;
	unsigned long nrows = (unsigned long)(nend - nstart) / want, r, b, d;
	rrd_value_t *out;

	if (nrows == 0)
		return 0;
	if ((out = calloc(nrows * nds, sizeof(*out))) == NULL)
		return -1;
	for (b = 0; b < nrows; b++) {
		time_t lo = nstart + (time_t)(b * want);
		/* source rows ending in (lo, lo + want] */
		unsigned long first, n = 0;

		first = lo >= *start ? (unsigned long)(lo - *start) / *step : 0;
		for (r = first; r < rows; r++) {
			time_t t = *start + (time_t)((r + 1) * *step);

			if (t <= lo)
				continue;
			if (t > lo + (time_t)want)
				break;
			n++;
		}
		for (d = 0; d < nds; d++)
			out[b * nds + d] = n == 0 ? NAN : consolidate(cf,
			    *data + (r - n) * nds + d, n, nds);
	}
	free(*data);
	*data = out;
	*start = nstart;
	*end = nend;
	*step = want;
	return 0;
}

int
rrdio_fetch(const char *path, const char *cf, time_t *start, time_t *end,
    unsigned long *step, unsigned long *nds, char ***names,
    rrd_value_t **data)
{
	unsigned long want = *step, i;

	if (remote == NULL)
		return rrd_fetch_r(path, cf, start, end, step, nds, names,
		    data);
	if (!connected())
		return -1;
	rrd_clear_error();
	if (rrdc_fetch(path, cf, start, end, step, nds, names, data) != 0 &&
	    (!again() || rrdc_fetch(path, cf, start, end, step, nds, names,
	    data) != 0))
		return -1;
	if (want > *step && *step > 0 && want % *step == 0 &&
	    reduce(cf, start, end, step, *nds, data, want) != 0) {
		for (i = 0; i < *nds; i++)
			free((*names)[i]);
		free(*names);
		free(*data);
		*names = NULL;
		*data = NULL;
		rrd_set_error("out of memory");
		return -1;
	}
	return 0;
}

rrd_info_t *
rrdio_info(const char *path)
{
	rrd_info_t *info;

	if (remote == NULL)
		return rrd_info_r(path);
	if (!connected())
		return NULL;
	rrd_clear_error();
	if ((info = rrdc_info(path)) == NULL && again())
		info = rrdc_info(path);
	return info;
}

int
rrdio_exists(const char *path)
{
	if (remote == NULL)
		return access(path, F_OK) == 0;
	if (!connected())
		return -1;
	rrd_clear_error();
	if (rrdc_last(path) != (time_t)-1 || (again() &&
	    rrdc_last(path) != (time_t)-1))
		return 1;
	/* rrdcached answers in text only: "opening 'F': No such file…" */
	return strstr(rrd_get_error(), "No such file") != NULL ? 0 : -1;
}
