/*
 * bench/http_bare.c — the reference for bench/http: a bare libcurl multi
 * client doing what one http check does (a fresh connection per request,
 * "Connection: close", body counted and dropped), with no daemon around.
 *
 *   http_bare URL TOTAL CONCURRENCY [RATE]
 *
 * With RATE (requests a second), a request starts only when the elapsed
 * time allows it (at most CONCURRENCY at once), as a scheduler would
 * start checks: CPU per request measured at a given rate, not only at
 * the client's own ceiling.  Prints "requests=N errors=N seconds=S cpu=S" on one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += size * n;
	return size * n;
}

static size_t body;
static struct timespec t0;

static double
elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

/* May another request start now? (always, without a rate) */
static int
may_start(double rate, long started)
{
	return rate <= 0 || started < rate * elapsed();
}

static struct curl_slist *hdrs;

static CURL *
easy(const char *url)
{
	CURL *e = curl_easy_init();

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	return e;
}

int
main(int argc, char **argv)
{
	long total, conc, started = 0, done = 0, errors = 0, i;
	struct timespec t1;
	double rate = 0;
	long inflight = 0;
	struct rusage ru;
	CURLMsg *m;
	CURLM *multi;
	int running, left;

	if (argc != 4 && argc != 5) {
		fprintf(stderr,
		    "usage: http_bare URL TOTAL CONCURRENCY [RATE]\n");
		return 2;
	}
	total = atol(argv[2]);
	conc = atol(argv[3]);
	if (argc == 5)
		rate = atof(argv[4]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hdrs = curl_slist_append(NULL, "Connection: close");
	multi = curl_multi_init();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < total) {
		for (i = inflight; i < conc && started < total &&
		    may_start(rate, started); i++, started++, inflight++)
			curl_multi_add_handle(multi, easy(argv[1]));
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left)) != NULL) {
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
			    &code);
			if (m->data.result != CURLE_OK || code != 200)
				errors++;
			curl_multi_remove_handle(multi, m->easy_handle);
			curl_easy_cleanup(m->easy_handle);
			done++;
			inflight--;
			if (started < total && inflight < conc &&
			    may_start(rate, started)) {
				curl_multi_add_handle(multi, easy(argv[1]));
				started++;
				inflight++;
			}
		}
		if (done < total) {
			int ms = 100;

			/* wake up for the next start when paced */
			if (rate > 0 && started < total && inflight < conc) {
				double due = started / rate - elapsed();

				ms = due <= 0 ? 0 : (int)(due * 1000) + 1;
				if (ms > 100)
					ms = 100;
			}
			curl_multi_poll(multi, NULL, 0, ms, NULL);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("requests=%ld errors=%ld seconds=%.3f cpu=%.3f\n", done, errors,
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdrs);
	curl_global_cleanup();
	return 0;
}
