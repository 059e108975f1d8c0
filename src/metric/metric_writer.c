/*
 * metric_writer.c — the metric store's writer thread: the only code that
 * creates, extends and updates RRD files (directly with librrd's *_r
 * functions, or through rrdcached).
 *
 * Why a thread: a single rrd_update_r() of a warm file was measured at up
 * to 100 ms on a loaded disk (bench/rrd, max_stall_ms of the bare librrd
 * loop), because librrd maps the file and the kernel may have to read or
 * write back its pages.  On the loop that is a stalled daemon; here it is
 * only a longer queue.  The loop thread never waits for the writer except
 * when a reader (graph, forecast) asks for one file to be complete
 * (writer_run_now) or at exit.
 *
 * New files are paced (daemon.rrd_create_rate a second, a token bucket of
 * one second's worth): creating one writes its whole size (430 KB at a
 * 60 s step, 3.4 MB for 8 metrics at 1 s), and 10 000 new checks at once
 * would otherwise keep this thread and the disk busy for minutes while
 * every other file waits.  A job whose file is still to be made waits in
 * wk.later (later jobs of that file merge into it, older first) while
 * the writer goes on with files that exist; a reader's job and a stop
 * create at once.
 *
 * Thread rules: the writer owns the file states (struct fstate, below) and
 * the rrdcached connection; it shares with the loop only the job queue and
 * counters under wk.mu.  librrd keeps its error text per thread; the one
 * non-reentrant librrd call used here, rrd_tune, runs under metric_lock(),
 * which graph.c takes around rrd_graph_v.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <search.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include "core/log.h"
#include "metric/metric_int.h"
#include "metric/rrdio.h"
#include "core/util.h"

/* What the writer knows of one file. */
struct fstate {
	char *path;
	unsigned long step;
	char (*names)[METRIC_DS_MAX + 1];	/* the file's DS, in order */
	bool *counter;		/* and which of them are DERIVE */
	unsigned nfile;
	time_t flast;		/* last update in the file */
	bool ready;		/* names/flast are what the file holds */
	struct mjob *later;	/* waiting for its creation (in wk.later) */
};

/* Updates a file waiting for its creation keeps at most (the oldest go). */
#define LATER_MAX	1024

#define STOP_GRACE_S	5

static struct {
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t work;	/* a job was queued, or stop */
	pthread_cond_t done;	/* a waited-for job is done */
	struct mjob_list jobs;
	const struct mjob *cur;	/* the job being written */
	bool stop;
	struct timespec stop_by;	/* at stop: what is left by then is dropped */
	uint64_t dropped;
	char *addr;		/* rrdcached wanted (under mu) */
	size_t queued;		/* updates in jobs */
	uint64_t written, errors, created;
	unsigned create_rate;	/* files a second; 0: no limit */
	size_t nlater;		/* jobs in later */
	/* writer thread only */
	struct mjob_list later;	/* waiting for their file's creation */
	double tokens;		/* creations allowed now */
	int64_t tokens_at;	/* mono us of the last refill */
	uint64_t later_dropped;
	void *files;		/* tsearch tree of struct fstate by path */
	char *conn;		/* rrdcached connected to, or NULL */
	time_t retry;
	bool warned;
	bool unreachable;	/* the stop dropped for want of rrdcached */
} wk = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static pthread_mutex_t rrd_lock = PTHREAD_MUTEX_INITIALIZER;

void
metric_lock(void)
{
	pthread_mutex_lock(&rrd_lock);
}

void
metric_unlock(void)
{
	pthread_mutex_unlock(&rrd_lock);
}

void
mjob_free(struct mjob *j)
{
	unsigned i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nq; i++)
		free(j->q[i].v);
	free(j->q);
	free(j->ds);
	free(j->path);
	free(j->check);
	free(j);
}

static int
fs_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fstate *)a)->path,
	    ((const struct fstate *)b)->path);
}

static void
fs_free(void *p)
{
	struct fstate *fs = p;

	free(fs->path);
	free(fs->names);
	free(fs->counter);
	free(fs);
}

static const char *
rrd_err(void)
{
	const char *e = rrd_get_error();

	return e != NULL && *e != '\0' ? e : "unknown error";
}

/*
 * Connected to rrdcached addr?  false: write directly.  A failed connect
 * is tried again at most every 10 s; librrd's rrdc_* functions keep one
 * connection per process (this librrd exports no rrd_client_t API), and
 * only this thread uses them.
 */
static bool
cached(const char *addr)
{
	time_t now;

	if (addr == NULL) {
		if (wk.conn != NULL) {
			rrdc_disconnect();
			free(wk.conn);
			wk.conn = NULL;
		}
		return false;
	}
	if (wk.conn != NULL && strcmp(wk.conn, addr) == 0 &&
	    rrdc_is_connected(addr))
		return true;
	now = time(NULL);
	if (now < wk.retry)
		return false;
	wk.retry = now + 10;
	if (wk.conn != NULL) {
		rrdc_disconnect();
		free(wk.conn);
		wk.conn = NULL;
	}
	rrd_clear_error();
	if (rrdc_connect(addr) != 0 || !rrdc_is_connected(addr)) {
		if (!wk.warned)
			log_warnx("metrics: cannot connect to rrdcached at "
			    "%s: %s; %s until it is back", addr, rrd_err(),
			    rrdio_remote() != NULL ? "updates wait (up to "
			    "1024 a file)" : "writing the files directly");
		wk.warned = true;
		return false;
	}
	log_info("metrics: connected to rrdcached at %s", addr);
	wk.warned = false;
	wk.conn = strdup(addr);
	return wk.conn != NULL;
}

static void
ds_def(char *buf, size_t len, const struct mds *d, unsigned long step)
{
	snprintf(buf, len, "DS:%s:%s:%lu:%s:U", d->name,
	    d->counter ? "DERIVE" : "GAUGE", 2 * step, d->counter ? "0" : "U");
}

/* Keep a file that holds something else: NAME.rrd.TIME.old. */
static int
move_aside(const struct mjob *j, bool cache, const char *why)
{
	char *old;
	int rc;

	if (asprintf(&old, "%s.%lld.old", j->path, (long long)time(NULL)) < 0)
		return -1;
	if (cache)
		rrdc_forget(j->path);
	rc = rename(j->path, old);
	if (rc == 0)
		log_notice("metrics: check %s: %s; kept the old file as %s and "
		    "started a new one", j->check, why, old);
	else
		log_warn("metrics: check %s: %s, and cannot rename %s",
		    j->check, why, j->path);
	free(old);
	return rc;
}

/*
 * Create j's file with j's DS.  source: remake it from that file (on a
 * remote rrdcached, where no file can be renamed: CREATE with -r, which
 * carries the values of every DS and archive that still fits, written to
 * a temporary file and renamed by rrdcached).
 */
static int
fs_create(struct fstate *fs, const struct mjob *j, const char *source)
{
	const char *sources[2] = { source, NULL };
	char rra[13][64], (*dsv)[64];
	const char **argv;
	int nrra, argc = 0, rc;
	unsigned i;

	nrra = metric_rra_args(j->step, rra, 12);
	if (j->hw)
		nrra += metric_hw_rra(j->step, rra[nrra]);
	dsv = calloc(j->nds, sizeof(*dsv));
	argv = calloc(j->nds + (unsigned)nrra, sizeof(*argv));
	free(fs->names);
	free(fs->counter);
	fs->names = calloc(j->nds, sizeof(*fs->names));
	fs->counter = calloc(j->nds, sizeof(*fs->counter));
	fs->nfile = 0;
	if (dsv == NULL || argv == NULL || fs->names == NULL ||
	    fs->counter == NULL) {
		free(dsv);
		free(argv);
		return -1;
	}
	for (i = 0; i < j->nds; i++) {
		ds_def(dsv[i], sizeof(dsv[i]), &j->ds[i], j->step);
		argv[argc++] = dsv[i];
		memcpy(fs->names[i], j->ds[i].name, sizeof(fs->names[i]));
		fs->counter[i] = j->ds[i].counter;
	}
	for (i = 0; i < (unsigned)nrra; i++)
		argv[argc++] = rra[i];
	/* one step before the first value, so its whole step is known */
	if (source == NULL)
		fs->flast = j->nq > 0 ? j->q[0].t - (time_t)j->step :
		    time(NULL) - 10;
	rrd_clear_error();
	if (rrdio_remote() != NULL)
		rc = rrdc_create_r2(j->path, j->step, fs->flast,
		    source == NULL, source != NULL ? sources : NULL, NULL,
		    argc, argv);
	else
		rc = rrd_create_r(j->path, j->step, fs->flast, argc, argv);
	if (rc != 0)
		log_warnx("metrics: cannot %s %s%s%s: %s", source != NULL ?
		    "remake" : "create", j->path, rrdio_remote() != NULL ?
		    " on rrdcached at " : "", rrdio_remote() != NULL ?
		    rrdio_remote() : "", rrd_err());
	else {
		/* librrd 1.7 makes it 0644 whatever the umask: not for
		 * every local user (issue 14) */
		if (rrdio_remote() == NULL && chmod(j->path, 0640) != 0)
			log_warn("metrics: chmod 0640 %s", j->path);
		fs->nfile = j->nds;
		fs->step = j->step;
		pthread_mutex_lock(&wk.mu);
		wk.created++;
		pthread_mutex_unlock(&wk.mu);
		log_info("metrics: %s %s%s%s (%u data source%s, step %lus)",
		    source != NULL ? "remade" : "created", j->path,
		    rrdio_remote() != NULL ? " on rrdcached at " : "",
		    rrdio_remote() != NULL ? rrdio_remote() : "", j->nds,
		    j->nds == 1 ? "" : "s", j->step);
	}
	free(dsv);
	free(argv);
	return rc == 0 ? 0 : -1;
}

/*
 * Does the file at path begin as an RRD file does ("RRD\0" and a version
 * "00NN\0")?  RETURN VALUE: 1 yes, 0 it definitely does not (it could be
 * read and holds something else, or is shorter than a header), -1 it
 * could not be read (EMFILE, EIO, ENOMEM…: nothing is known).
 */
static int
rrd_looks_like(const char *path)
{
	char head[10];
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got < sizeof(head)) {
		n = read(fd, head + got, sizeof(head) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got == sizeof(head) && memcmp(head, "RRD\0", 4) == 0 &&
	    head[4] == '0' && head[5] == '0' && head[8] == '\0';
}

/*
 * Reads an existing file's step, DS names (in order) and last update.
 * RETURN VALUE: 1 if it holds something else than j wants (another step,
 * or a DS of j with another type), 2 if it is not an RRD file at all (its
 * header was read and is not one), 0 if it fits, -1 if it could not be
 * read this time (rrd_info_r failed on a file with an RRD header: out of
 * file descriptors or memory, an I/O error, a file being replaced): only
 * 1 and 2 may move the file aside; -1 is tried again at the next job.
 */
static int
fs_read(struct fstate *fs, const struct mjob *j)
{
	rrd_info_t *info, *i;
	unsigned long step = 0;
	unsigned k, n = 0, idx;
	int rc = 0;

	rrd_clear_error();
	if ((info = rrdio_info(j->path)) == NULL) {
		int save = errno;

		/* why?  librrd says so only in text; look at the header */
		if (rrdio_remote() == NULL && rrd_looks_like(j->path) == 0)
			return 2;
		errno = save;
		return -1;
	}
	for (i = info; i != NULL; i = i->next)
		if (strncmp(i->key, "ds[", 3) == 0 &&
		    strstr(i->key, "].index") != NULL)
			n++;
	free(fs->names);
	free(fs->counter);
	fs->counter = calloc(n + 1, sizeof(*fs->counter));
	if ((fs->names = calloc(n + 1, sizeof(*fs->names))) == NULL ||
	    fs->counter == NULL) {
		rrd_info_free(info);
		return -1;
	}
	fs->nfile = n;
	for (i = info; i != NULL; i = i->next) {
		const char *key = i->key, *end;
		size_t len;

		if (strcmp(key, "step") == 0)
			step = i->value.u_cnt;
		else if (strcmp(key, "last_update") == 0)
			fs->flast = (time_t)i->value.u_cnt;
		if (strncmp(key, "ds[", 3) != 0 ||
		    (end = strchr(key, ']')) == NULL ||
		    (len = (size_t)(end - key - 3)) > METRIC_DS_MAX)
			continue;
		if (strcmp(end, "].index") == 0 &&
		    (idx = (unsigned)i->value.u_cnt) < n) {
			memcpy(fs->names[idx], key + 3, len);
			fs->names[idx][len] = '\0';
		}
		if (strcmp(end, "].type") == 0 && i->type == RD_I_STR &&
		    strcmp(i->value.u_str, "DERIVE") == 0)
			for (k = 0; k < n; k++)	/* .index came before */
				if (strlen(fs->names[k]) == len &&
				    strncmp(fs->names[k], key + 3, len) == 0)
					fs->counter[k] = true;
		if (strcmp(end, "].type") == 0 && i->type == RD_I_STR)
			for (k = 0; k < j->nds; k++)
				if (strlen(j->ds[k].name) == len &&
				    strncmp(j->ds[k].name, key + 3, len) == 0 &&
				    strcmp(i->value.u_str, j->ds[k].counter ?
				    "DERIVE" : "GAUGE") != 0)
					rc = 1;
	}
	rrd_info_free(info);
	fs->step = step;
	if (step != j->step)
		rc = 1;
	return rc;
}

/* At most one "cannot read" line per this many seconds. */
#define UNREADABLE_LOG_S	60

static void
unreadable(const struct mjob *j)
{
	static time_t next;	/* writer thread only */
	static unsigned long quiet;
	time_t now = time(NULL);

	if (now < next) {
		quiet++;
		return;
	}
	next = now + UNREADABLE_LOG_S;
	log_warnx("metrics: check %s: cannot read %s now (%s); %u update%s "
	    "dropped, the file kept and read again with the next result%s",
	    j->check, j->path, rrd_err(), j->nq, j->nq == 1 ? "" : "s",
	    quiet > 0 ? " (more such failures since the last line)" : "");
	quiet = 0;
}

static int
fs_index(const struct fstate *fs, const char *name)
{
	unsigned f;

	for (f = 0; f < fs->nfile; f++)
		if (strcmp(fs->names[f], name) == 0)
			return (int)f;
	return -1;
}

/*
 * fs_prepare on a remote rrdcached: no file to stat, rename or tune.  A
 * file that holds another step or DS type, or lacks a DS of j, is remade
 * from itself (fs_create's source): the values that fit are carried over
 * rather than the old file kept aside.
 */
static int
fs_prepare_remote(struct fstate *fs, const struct mjob *j)
{
	struct mjob want = *j;
	struct mds *ds;
	unsigned k, f, n;
	int rc;

	if ((rc = rrdio_exists(j->path)) == 0)
		return fs_create(fs, j, NULL);
	if (rc == 1)
		rc = fs_read(fs, j);
	else
		rc = -1;
	if (rc == -1) {
		unreadable(j);
		return -2;
	}
	if (rc != 0) {
		log_notice("metrics: check %s: its file has another step or "
		    "data-source type (interval or metric kind changed); "
		    "remaking it on rrdcached with the values that fit",
		    j->check);
		return fs_create(fs, j, j->path);
	}
	for (k = 0, n = 0; k < j->nds; k++)
		if (fs_index(fs, j->ds[k].name) < 0)
			n++;
	if (n == 0)
		return 0;
	/* metrics that appeared later: the file's DS, then the new ones */
	if ((ds = calloc(fs->nfile + n, sizeof(*ds))) == NULL)
		return -1;
	for (f = 0; f < fs->nfile; f++) {
		memcpy(ds[f].name, fs->names[f], sizeof(ds[f].name));
		ds[f].counter = fs->counter[f];
	}
	for (k = 0; k < j->nds; k++)
		if (fs_index(fs, j->ds[k].name) < 0)
			ds[f++] = j->ds[k];
	want.ds = ds;
	want.nds = f;
	rc = fs_create(fs, &want, j->path);
	free(ds);
	if (rc != 0)
		return -1;
	return fs_read(fs, j) == 0 ? 0 : -1;
}

/*
 * Make the file hold every DS of j.  RETURN VALUE: 0, -1, or -2 when the
 * file could not be read this time (logged, rate-limited).
 */
static int
fs_prepare(struct fstate *fs, const struct mjob *j, bool cache)
{
	struct stat sb;
	char (*dsv)[64] = NULL;
	const char **argv = NULL;
	unsigned k, nnew = 0;
	int rc, argc = 0;

	if (rrdio_remote() != NULL)
		return fs_prepare_remote(fs, j);
	if (stat(j->path, &sb) != 0) {
		if (errno != ENOENT) {
			log_warn("metrics: %s", j->path);
			return -1;
		}
		return fs_create(fs, j, NULL);
	}
	if (cache)	/* what rrdcached holds, before we look or change */
		rrdc_flush(j->path);
	rc = fs_read(fs, j);
	if (rc == -1) {
		/*
		 * A transient failure (issue 14: EMFILE under an fd
		 * exhaustion attack renamed good files .old): the file and
		 * its history stay; the next job looks again.
		 */
		unreadable(j);
		return -2;
	}
	if (rc == 2) {
		if (move_aside(j, cache, "its file is not an RRD file") != 0)
			return -1;
		return fs_create(fs, j, NULL);
	}
	if (rc == 1) {
		if (move_aside(j, cache, "its file has another step or "
		    "data-source type (interval or metric kind changed)") != 0)
			return -1;
		return fs_create(fs, j, NULL);
	}
	for (k = 0; k < j->nds; k++)
		if (fs_index(fs, j->ds[k].name) < 0)
			nnew++;
	if (nnew == 0)
		return 0;
	/* metrics that appeared later: add their DS, keeping every row */
	if ((dsv = calloc(nnew, sizeof(*dsv))) == NULL ||
	    (argv = calloc(nnew + 2, sizeof(*argv))) == NULL) {
		free(dsv);
		return -1;
	}
	argv[argc++] = "tune";
	argv[argc++] = j->path;
	for (k = 0, nnew = 0; k < j->nds; k++)
		if (fs_index(fs, j->ds[k].name) < 0) {
			ds_def(dsv[nnew], sizeof(dsv[nnew]), &j->ds[k], j->step);
			argv[argc++] = dsv[nnew++];
		}
	metric_lock();
	rrd_clear_error();
	rc = rrd_tune(argc, (char **)argv);
	if (rc != 0)
		log_warnx("metrics: cannot add %u data source%s to %s: %s",
		    nnew, nnew == 1 ? "" : "s", j->path, rrd_err());
	metric_unlock();
	if (rc == 0)
		log_info("metrics: added %u data source%s to %s", nnew,
		    nnew == 1 ? "" : "s", j->path);
	free(dsv);
	free(argv);
	if (rc != 0)
		return -1;
	return fs_read(fs, j) == 0 ? 0 : -1;
}

/*
 * The largest magnitude a DERIVE data source is given: 2^64, what a 64-bit
 * counter can hold.  Beyond it a "counter" is not one (a plugin printing
 * 1e300c): doubles there have no integer digits to speak of, librrd keeps
 * a DERIVE's last value in a 30-byte field, and "%.0f" of 1e300 is 301
 * characters.  Such a value is stored as unknown.
 */
#define DERIVE_MAX	18446744073709551616.0

/* At most one "absurd counter" line per this many seconds (a thread-only
 * count of the others goes into the next line). */
#define ABSURD_LOG_S	60

static void
absurd_counter(const struct mjob *j, const char *ds, double v)
{
	static time_t next;	/* writer thread only */
	static unsigned long quiet;
	time_t now = time(NULL);

	if (now < next) {
		quiet++;
		return;
	}
	next = now + ABSURD_LOG_S;
	if (quiet > 0)
		log_warnx("metrics: check %s: counter %s = %g is beyond a "
		    "64-bit counter; stored as unknown (and %lu more such "
		    "value%s since the last line)", j->check, ds, v, quiet,
		    quiet == 1 ? "" : "s");
	else
		log_warnx("metrics: check %s: counter %s = %g is beyond a "
		    "64-bit counter; stored as unknown", j->check, ds, v);
	quiet = 0;
}

/*
 * Append piece to the text s (len bytes used, *cap allocated), growing it
 * as needed.  RETURN VALUE: 0, or -1 out of memory (s is kept).
 */
static int
text_add(char **s, size_t *len, size_t *cap, const char *piece)
{
	size_t n = strlen(piece);
	char *ns;

	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;

		if ((ns = realloc(*s, want)) == NULL)
			return -1;
		*s = ns;
		*cap = want;
	}
	memcpy(*s + *len, piece, n + 1);
	*len += n;
	return 0;
}

/*
 * "T:v:v:…" of u, in the order of the file's DS names[0..nfile).  Each
 * field is formatted into a bounded scratch buffer and appended to a
 * growing string: no value, however long its text, can write past the
 * end (issue 14: "%.0f" of 1e300 once overran a 26-bytes-per-DS buffer).
 * Returns a new string; the caller frees it.  NULL: out of memory.
 */
char *
writer_update_text(char (*names)[METRIC_DS_MAX + 1], unsigned nfile,
    const struct mjob *j, const struct upd *u)
{
	char piece[64], *s = NULL;
	size_t len = 0, cap = 0;
	unsigned f, k;
	int n;

	snprintf(piece, sizeof(piece), "%lld", (long long)u->t);
	if (text_add(&s, &len, &cap, piece) != 0)
		return NULL;
	for (f = 0; f < nfile; f++) {
		double v = NAN;
		bool counter = false;

		for (k = 0; k < j->nds && k < u->n; k++)
			if (strcmp(j->ds[k].name, names[f]) == 0) {
				v = u->v[k];
				counter = j->ds[k].counter;
				break;
			}
		if (counter && isfinite(v) && fabs(v) >= DERIVE_MAX) {
			absurd_counter(j, names[f], v);
			v = NAN;
		}
		if (isnan(v) || isinf(v))
			n = snprintf(piece, sizeof(piece), ":U");
		else if (counter)	/* DERIVE takes integers only */
			n = snprintf(piece, sizeof(piece), ":%.0f", v);
		else
			n = snprintf(piece, sizeof(piece), ":%.17g", v);
		/* cannot happen with the bounds above; never a cut number */
		if (n < 0 || (size_t)n >= sizeof(piece))
			snprintf(piece, sizeof(piece), ":U");
		if (text_add(&s, &len, &cap, piece) != 0) {
			free(s);
			return NULL;
		}
	}
	return s;
}

static struct fstate *
fs_get(const char *path)
{
	struct fstate key, *fs, **found;

	key.path = (char *)path;
	if ((found = tfind(&key, &wk.files, fs_cmp)) != NULL)
		return *found;
	if ((fs = calloc(1, sizeof(*fs))) == NULL ||
	    (fs->path = strdup(path)) == NULL ||
	    tsearch(fs, &wk.files, fs_cmp) == NULL) {
		if (fs != NULL)
			free(fs->path);
		free(fs);
		return NULL;
	}
	return fs;
}

/*
 * A job whose files are on a remote rrdcached that cannot be reached now:
 * it waits in wk.later (park) instead of being dropped.
 */
#define WRITE_LATER	(-3)

/*
 * The remote rrdcached is not connected and not to be tried again before
 * *wait_us from now?  (Writer thread.)
 */
static bool
remote_down(int64_t *wait_us)
{
	time_t now;

	if (rrdio_remote() == NULL || wk.conn != NULL)
		return false;
	if ((now = time(NULL)) >= wk.retry)
		return false;
	*wait_us = (int64_t)(wk.retry - now) * 1000000;
	return true;
}

/* After a failure: did the remote rrdcached's connection go with it? */
static bool
remote_lost(const char *addr)
{
	if (rrdio_remote() == NULL || rrdc_is_connected(addr))
		return false;
	if (!wk.warned)
		log_warnx("metrics: lost rrdcached at %s (%s); updates wait "
		    "until it is back", addr, rrd_err());
	wk.warned = true;
	free(wk.conn);
	wk.conn = NULL;
	return true;
}

/*
 * Write j.  RETURN VALUE: updates written, -1 on an error, WRITE_LATER
 * when the remote rrdcached cannot be reached (nothing written).
 */
static int
job_write(const struct mjob *j, const char *addr)
{
	struct fstate *fs;
	const char **argv;
	bool cache = cached(addr);
	unsigned i, k, n = 0;
	int rc;

	if (j->path == NULL)
		return 0;
	if (j->nq == 0)
		goto flush;
	if (rrdio_remote() != NULL && !cache)
		return WRITE_LATER;
	if ((fs = fs_get(j->path)) == NULL)
		return -1;
	if (fs->ready && fs->step != j->step)
		fs->ready = false;
	for (k = 0; fs->ready && k < j->nds; k++)
		if (fs_index(fs, j->ds[k].name) < 0)
			fs->ready = false;
	if (!fs->ready) {
		if ((rc = fs_prepare(fs, j, cache)) != 0) {
			if (remote_lost(addr))
				return WRITE_LATER;
			if (rc == -1)
				log_warnx("metrics: check %s: dropped %u "
				    "update%s", j->check, j->nq,
				    j->nq == 1 ? "" : "s");
			return -1;
		}
		fs->ready = true;
	}
	if ((argv = calloc(j->nq, sizeof(*argv))) == NULL)
		return -1;
	/* what the file already has (a restart in the same step) is dropped */
	for (i = 0; i < j->nq; i++)
		if (j->q[i].t > fs->flast &&
		    (argv[n] = writer_update_text(fs->names, fs->nfile, j,
		    &j->q[i])) != NULL)
			n++;
	rc = 0;
	if (n > 0) {
		for (k = 0; k < 5; k++) {
			rrd_clear_error();
			rc = cache ? rrdc_update(j->path, (int)n, argv) :
			    rrd_update_r(j->path, NULL, (int)n, argv);
			/*
			 * librrd does not wait for a lock: a reader that holds
			 * the file (rrdtool fetch, a backup) makes it fail at
			 * once.  This thread may wait a little instead.
			 */
			if (rc == 0 || strstr(rrd_err(), "could not lock") ==
			    NULL)
				break;
			usleep(20000);
		}
		if (rc != 0 && remote_lost(addr))
			rc = WRITE_LATER;
		else if (rc != 0) {
			log_warnx("metrics: update of %s failed: %s", j->path,
			    rrd_err());
			fs->ready = false;	/* look at the file again */
		} else
			fs->flast = j->q[j->nq - 1].t;
	}
	for (i = 0; i < n; i++)
		free((char *)argv[i]);
	free(argv);
	if (rc != 0)
		return rc == WRITE_LATER ? WRITE_LATER : -1;
flush:
	if (j->flush && cache) {
		rrd_clear_error();
		rrdc_flush(j->path);	/* unknown file: the reader says so */
	}
	return (int)n;
}

/* With wk.mu held: stopping for longer than STOP_GRACE. */
static bool
stop_overdue(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > wk.stop_by.tv_sec || (now.tv_sec ==
	    wk.stop_by.tv_sec && now.tv_nsec >= wk.stop_by.tv_nsec);
}

/* With wk.mu held: a stop that took too long gives up what is queued. */
static void
drop_all(void)
{
	struct mjob *j;

	TAILQ_CONCAT(&wk.jobs, &wk.later, link);
	wk.nlater = 0;
	while ((j = TAILQ_FIRST(&wk.jobs)) != NULL) {
		TAILQ_REMOVE(&wk.jobs, j, link);
		wk.queued -= j->nq;
		wk.dropped += j->nq;
		if (j->wait) {
			j->done = true;
			pthread_cond_broadcast(&wk.done);
		} else
			mjob_free(j);
	}
}

/* Append src's updates to dst (both of one file; src is emptied). */
static int
merge(struct mjob *dst, struct mjob *src)
{
	struct upd *q;

	if (src->nq == 0)
		return 0;
	if ((q = reallocarray(dst->q, dst->nq + src->nq, sizeof(*q))) == NULL)
		return -1;
	memcpy(q + dst->nq, src->q, src->nq * sizeof(*q));
	dst->q = q;
	dst->nq += src->nq;
	src->nq = 0;
	return 0;
}

/*
 * May a file be created now?  Takes a token when so.  With wk.mu held.
 * *wait_us: how long until one is there, when not.
 */
static bool
create_token(int64_t *wait_us)
{
	int64_t now = mono_us();
	double rate = wk.create_rate;

	if (wk.create_rate == 0 || wk.stop)
		return true;
	wk.tokens += (double)(now - wk.tokens_at) * rate / 1e6;
	wk.tokens_at = now;
	if (wk.tokens > rate)
		wk.tokens = rate;	/* a burst of one second's worth */
	if (wk.tokens >= 1) {
		wk.tokens -= 1;
		return true;
	}
	*wait_us = (int64_t)((1 - wk.tokens) * 1e6 / rate) + 1;
	return false;
}

/*
 * j (not waited for) waits in wk.later: as the file's job there, or merged
 * into it (newer updates after older; past LATER_MAX the oldest go).
 * Writer thread, without wk.mu.
 */
static void
later_join(struct fstate *fs, struct mjob *j)
{
	struct mjob *l = fs->later;

	pthread_mutex_lock(&wk.mu);
	if (l == NULL) {
		fs->later = j;
		TAILQ_INSERT_TAIL(&wk.later, j, link);
		wk.nlater++;
		pthread_mutex_unlock(&wk.mu);
		return;
	}
	if (j->nds >= l->nds) {		/* the newer DS list */
		struct mds *ds = l->ds;

		l->ds = j->ds;
		l->nds = j->nds;
		j->ds = ds;
	}
	l->step = j->step;
	l->hw = j->hw;
	if (merge(l, j) != 0)
		wk.queued -= j->nq;
	if (l->nq > LATER_MAX) {	/* the oldest go */
		unsigned drop = l->nq - LATER_MAX, i;

		for (i = 0; i < drop; i++)
			free(l->q[i].v);
		memmove(l->q, l->q + drop, LATER_MAX * sizeof(*l->q));
		l->nq = LATER_MAX;
		wk.queued -= drop;
		wk.later_dropped += drop;
	}
	pthread_mutex_unlock(&wk.mu);
	mjob_free(j);
}

/*
 * j could not be written for want of the remote rrdcached: its updates
 * wait in wk.later.  A job a reader waits for gives its updates to a new
 * job and stays (RETURN VALUE false, j->nq 0 — or its updates, when no
 * memory was left for the copy); else j itself waits (true).
 */
static bool
park(struct mjob *j)
{
	struct fstate *fs;
	struct mjob *c = j;
	bool own = !j->wait;

	if (j->wait) {
		if ((c = calloc(1, sizeof(*c))) == NULL ||
		    (c->path = strdup(j->path)) == NULL ||
		    (c->check = strdup(j->check)) == NULL ||
		    (c->ds = calloc(j->nds + 1, sizeof(*c->ds))) == NULL) {
			mjob_free(c);
			return false;
		}
		memcpy(c->ds, j->ds, j->nds * sizeof(*c->ds));
		c->nds = j->nds;
		c->step = j->step;
		c->hw = j->hw;
		c->q = j->q;
		c->nq = j->nq;
		j->q = NULL;
		j->nq = 0;
	}
	if ((fs = fs_get(c->path)) == NULL) {
		pthread_mutex_lock(&wk.mu);
		wk.queued -= c->nq;
		wk.dropped += c->nq;
		wk.errors++;
		pthread_mutex_unlock(&wk.mu);
		mjob_free(c);
		return own;
	}
	later_join(fs, c);
	return own;
}

/*
 * A job taken off the queue, before it is written: if its file waits for
 * its creation, j joins that job (RETURN VALUE NULL) or, when a reader
 * waits for j, that job's updates go in front of j's and j is written at
 * once.  If its file is still to be made and no creation is allowed now,
 * j waits in wk.later (NULL).  Else j, to be written now.  Without
 * wk.mu (stat may wait for the disk, and the loop takes wk.mu to queue);
 * the file states and wk.later are the writer's own.
 */
static struct mjob *
pace(struct mjob *j)
{
	struct fstate *fs;
	struct stat sb;
	struct mjob *l;
	int64_t wait;

	bool stop, ok;

	pthread_mutex_lock(&wk.mu);
	stop = wk.stop;
	pthread_mutex_unlock(&wk.mu);
	if (j->path == NULL || j->nq == 0 || (fs = fs_get(j->path)) == NULL)
		return j;
	if ((l = fs->later) != NULL) {
		if (j->wait || stop) {	/* older first, then j's */
			struct upd *q;

			TAILQ_REMOVE(&wk.later, l, link);
			fs->later = NULL;
			if (merge(l, j) == 0) {
				q = j->q;
				j->q = l->q;
				j->nq = l->nq;
				l->q = q;
				l->nq = 0;
			}
			pthread_mutex_lock(&wk.mu);
			wk.nlater--;
			wk.queued -= l->nq;	/* dropped if merge failed */
			pthread_mutex_unlock(&wk.mu);
			mjob_free(l);
			return j;
		}
		later_join(fs, j);
		return NULL;
	}
	if (fs->ready || j->wait || stop)
		return j;
	if (rrdio_remote() != NULL) {
		/* down: job_write parks it; else is the file there? */
		if (remote_down(&wait) || rrdio_exists(j->path) != 0)
			return j;
	} else if (stat(j->path, &sb) == 0 || errno != ENOENT)
		return j;
	pthread_mutex_lock(&wk.mu);
	if (!(ok = create_token(&wait))) {
		fs->later = j;
		TAILQ_INSERT_TAIL(&wk.later, j, link);
		wk.nlater++;
	}
	pthread_mutex_unlock(&wk.mu);
	return ok ? j : NULL;
}

/*
 * Is the first job waiting in wk.later for a file that exists (one parked
 * while the remote rrdcached was away)?  It takes no creation token.
 * Writer thread.
 */
static bool
later_head_exists(void)
{
	struct fstate key, **found;

	key.path = TAILQ_FIRST(&wk.later)->path;
	found = tfind(&key, &wk.files, fs_cmp);
	return found != NULL && (*found)->ready;
}

static void *
writer_main(void *arg)
{
	struct mjob *j;
	struct timespec until;
	char *addr;
	int64_t wait;
	int n;

	(void)arg;
	thread_yield_to_loop();
	pthread_mutex_lock(&wk.mu);
	for (;;) {
		struct mjob *head = TAILQ_FIRST(&wk.jobs);

		j = NULL;
		wait = 0;
		if (wk.stop && stop_overdue() && (head != NULL ||
		    !TAILQ_EMPTY(&wk.later))) {
			drop_all();
			break;
		}
		/* a stop with only updates for an unreachable rrdcached */
		if (wk.stop && head == NULL && !TAILQ_EMPTY(&wk.later) &&
		    remote_down(&wait)) {
			wk.unreachable = true;
			drop_all();
			break;
		}
		/*
		 * Files waiting for their creation first (they are older),
		 * as fast as allowed, or all before a barrier.
		 */
		if (!TAILQ_EMPTY(&wk.later) && !remote_down(&wait) &&
		    ((head != NULL && head->path == NULL) ||
		    later_head_exists() || create_token(&wait))) {
			struct fstate *fs;

			j = TAILQ_FIRST(&wk.later);
			TAILQ_REMOVE(&wk.later, j, link);
			wk.nlater--;
			if ((fs = fs_get(j->path)) != NULL)
				fs->later = NULL;
		} else if ((j = TAILQ_FIRST(&wk.jobs)) != NULL) {
			TAILQ_REMOVE(&wk.jobs, j, link);
			pthread_mutex_unlock(&wk.mu);
			j = pace(j);
			pthread_mutex_lock(&wk.mu);
			if (j == NULL)
				continue;
		} else if (wk.stop) {
			if (TAILQ_EMPTY(&wk.later))
				break;		/* stop, and nothing left */
			continue;		/* a stop creates at once */
		} else if (!TAILQ_EMPTY(&wk.later)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += wait / 1000000;
			until.tv_nsec += (long)(wait % 1000000) * 1000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&wk.work, &wk.mu, &until);
			continue;
		} else {
			pthread_cond_wait(&wk.work, &wk.mu);
			continue;
		}
		wk.cur = j;
		addr = xstrdup(wk.addr);
		pthread_mutex_unlock(&wk.mu);

		n = job_write(j, addr);
		free(addr);
		if (n == WRITE_LATER) {
			if (park(j)) {
				pthread_mutex_lock(&wk.mu);
				wk.cur = NULL;
				continue;
			}
			n = j->nq == 0 ? 0 : -1;
		}

		pthread_mutex_lock(&wk.mu);
		wk.cur = NULL;
		wk.queued -= j->nq;
		if (n < 0)
			wk.errors++;
		else
			wk.written += (uint64_t)n;
		if (j->wait) {
			j->done = true;
			pthread_cond_broadcast(&wk.done);
		} else
			mjob_free(j);
	}
	pthread_mutex_unlock(&wk.mu);
	if (wk.later_dropped > 0)
		log_warnx("metrics: %llu updates dropped: their files waited "
		    "longer than %d updates for their creation "
		    "(daemon.rrd_create_rate)",
		    (unsigned long long)wk.later_dropped, LATER_MAX);
	if (wk.conn != NULL) {
		rrdc_disconnect();
		free(wk.conn);
		wk.conn = NULL;
	}
	tdestroy(wk.files, fs_free);
	wk.files = NULL;
	return NULL;
}

int
writer_start(const char *rrdcached)
{
	sigset_t all, old;
	int rc;

	if (wk.running)
		return 0;
	TAILQ_INIT(&wk.jobs);
	TAILQ_INIT(&wk.later);
	wk.nlater = 0;
	wk.later_dropped = 0;
	wk.tokens = 0;
	wk.tokens_at = mono_us();
	wk.stop = false;
	wk.queued = 0;
	wk.written = wk.errors = wk.created = 0;
	wk.retry = 0;
	wk.addr = xstrdup(rrdcached);
	/* signals stay with the loop thread (libevent's handlers) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&wk.th, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("metrics: cannot start the writer thread: %s",
		    strerror(rc));
		return -1;
	}
	wk.running = true;
	return 0;
}

void
writer_set_cached(const char *rrdcached)
{
	pthread_mutex_lock(&wk.mu);
	free(wk.addr);
	wk.addr = xstrdup(rrdcached);
	wk.retry = 0;
	pthread_mutex_unlock(&wk.mu);
}

void
writer_set_create_rate(unsigned per_s)
{
	pthread_mutex_lock(&wk.mu);
	wk.create_rate = per_s;
	pthread_cond_signal(&wk.work);
	pthread_mutex_unlock(&wk.mu);
}

uint64_t
writer_created(void)
{
	uint64_t n;

	pthread_mutex_lock(&wk.mu);
	n = wk.created;
	pthread_mutex_unlock(&wk.mu);
	return n;
}

size_t
writer_create_waiting(void)
{
	size_t n;

	pthread_mutex_lock(&wk.mu);
	n = wk.nlater;
	pthread_mutex_unlock(&wk.mu);
	return n;
}

void
writer_submit(struct mjob *j)
{
	pthread_mutex_lock(&wk.mu);
	TAILQ_INSERT_TAIL(&wk.jobs, j, link);
	wk.queued += j->nq;
	pthread_cond_signal(&wk.work);
	pthread_mutex_unlock(&wk.mu);
}

void
writer_submit_list(struct mjob_list *l)
{
	struct mjob *j;
	size_t n = 0;

	TAILQ_FOREACH(j, l, link)
		n += j->nq;
	pthread_mutex_lock(&wk.mu);
	TAILQ_CONCAT(&wk.jobs, l, link);
	wk.queued += n;
	pthread_cond_signal(&wk.work);
	pthread_mutex_unlock(&wk.mu);
}

void
writer_run_now(struct mjob *j)
{
	writer_wait(writer_run_first(j));
}

void
writer_wait(struct mjob *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&wk.mu);
	while (!j->done)
		pthread_cond_wait(&wk.done, &wk.mu);
	pthread_mutex_unlock(&wk.mu);
	mjob_free(j);
}

struct mjob *
writer_run_first(struct mjob *j)
{
	struct mjob *o, *next, *early;

	if ((early = calloc(1, sizeof(*early))) == NULL) {
		mjob_free(j);
		return NULL;
	}
	j->wait = true;
	pthread_mutex_lock(&wk.mu);
	wk.queued += j->nq;	/* subtracted when written, as any job's */
	/* this file's queued jobs come first: they are older than j */
	for (o = TAILQ_FIRST(&wk.jobs); o != NULL; o = next) {
		next = TAILQ_NEXT(o, link);
		if (o->path == NULL || strcmp(o->path, j->path) != 0)
			continue;
		if (merge(early, o) != 0)
			break;
		TAILQ_REMOVE(&wk.jobs, o, link);
		if (o->wait) {		/* someone waits for it: done now */
			o->done = true;
			pthread_cond_broadcast(&wk.done);
		} else
			mjob_free(o);
	}
	if (merge(early, j) == 0) {
		struct upd *q = j->q;	/* j takes early's (older first) */

		j->q = early->q;
		j->nq = early->nq;
		early->q = q;
		early->nq = 0;
	}
	mjob_free(early);
	TAILQ_INSERT_HEAD(&wk.jobs, j, link);
	pthread_cond_signal(&wk.work);
	pthread_mutex_unlock(&wk.mu);
	return j;
}

void
writer_barrier(void)
{
	struct mjob *j;

	if (!wk.running || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->wait = true;
	pthread_mutex_lock(&wk.mu);
	TAILQ_INSERT_TAIL(&wk.jobs, j, link);
	pthread_cond_signal(&wk.work);
	while (!j->done)
		pthread_cond_wait(&wk.done, &wk.mu);
	pthread_mutex_unlock(&wk.mu);
	mjob_free(j);
}

size_t
writer_queued(void)
{
	size_t n;

	pthread_mutex_lock(&wk.mu);
	n = wk.queued;
	pthread_mutex_unlock(&wk.mu);
	return n;
}

uint64_t
writer_written(void)
{
	uint64_t n;

	pthread_mutex_lock(&wk.mu);
	n = wk.written;
	pthread_mutex_unlock(&wk.mu);
	return n;
}

uint64_t
writer_errors(void)
{
	uint64_t n;

	pthread_mutex_lock(&wk.mu);
	n = wk.errors;
	pthread_mutex_unlock(&wk.mu);
	return n;
}

void
writer_stop(void)
{
	if (!wk.running)
		return;
	pthread_mutex_lock(&wk.mu);
	wk.stop = true;
	/*
	 * A stop writes what is queued, but not for ever: a slow disk with
	 * thousands of files to create must not hold up a restart (the
	 * service manager would kill us anyway).
	 */
	clock_gettime(CLOCK_MONOTONIC, &wk.stop_by);
	wk.stop_by.tv_sec += STOP_GRACE_S;
	wk.dropped = 0;
	pthread_cond_signal(&wk.work);
	pthread_mutex_unlock(&wk.mu);
	pthread_join(wk.th, NULL);
	wk.running = false;
	if (wk.dropped > 0 && wk.unreachable)
		log_warnx("metrics: %llu updates not written: rrdcached at "
		    "%s could not be reached at stop",
		    (unsigned long long)wk.dropped, rrdio_remote());
	else if (wk.dropped > 0)
		log_warnx("metrics: %llu updates not written: writing took "
		    "longer than %d s at stop", (unsigned long long)wk.dropped,
		    STOP_GRACE_S);
	wk.unreachable = false;
	free(wk.addr);
	wk.addr = NULL;
}
