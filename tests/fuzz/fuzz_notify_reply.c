/*
 * fuzz_notify_reply.c — libFuzzer harness for what a webhook or SMTP
 * server answers, as the notifier sees it: the input is the raw byte
 * stream a loopback server (a thread of this process) writes back to one
 * delivery attempt of notify_send.c, which runs through libcurl multi on
 * a libevent loop exactly as in tocsind.  The first byte picks the
 * channel (even: webhook POST, odd: SMTP).  Every input must end in
 * exactly one done callback with OK, RETRY or FAIL and a one-line reason,
 * without a crash, a leak or a sanitizer report.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       -iquote src -include BUILDDIR/config.h \
 *       tests/fuzz/fuzz_notify_reply.c \
 *       src/notify_send.c -lcurl -levent -lpthread
 *   ./a.out -max_len=4096 -timeout=10 tests/fuzz/corpus/notify_reply
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include <tocsin/plugin.h>

#include "notify/notify_int.h"

/* The command channel is not fuzzed here; notify_send.c links to these. */
int
tocsin_child_watch(pid_t pid, tocsin_child_cb cb, void *arg)
{
	(void)pid;
	(void)cb;
	(void)arg;
	return -1;
}

void
tocsin_child_unwatch(pid_t pid)
{
	(void)pid;
}

static struct {
	int lfd;
	int port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *data;		/* the reply for the next connection */
	size_t size;
	bool ready;
} srv = { -1, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	NULL, 0, false };

/* Accepts one connection per input, writes the input, closes. */
static void *
serve(void *arg)
{
	char buf[4096];
	int fd;

	(void)arg;
	for (;;) {
		if ((fd = accept(srv.lfd, NULL, NULL)) == -1)
			continue;
		pthread_mutex_lock(&srv.mu);
		while (!srv.ready)
			pthread_cond_wait(&srv.cv, &srv.mu);
		/* the client may be gone already: no SIGPIPE, no check */
		if (srv.size > 0)
			(void)!send(fd, srv.data, srv.size, MSG_NOSIGNAL);
		pthread_mutex_unlock(&srv.mu);
		shutdown(fd, SHUT_WR);
		/* drain what the client still sends, until it closes */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	return NULL;
}

static void
server_start(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	pthread_t t;
	int one = 1;

	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(srv.lfd, 16) == -1 ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &len) == -1)
		abort();
	srv.port = ntohs(sa.sin_port);
	pthread_create(&t, NULL, serve, NULL);
	pthread_detach(t);
}

static struct event_base *base;
static int ndone;

static void
done(void *arg, enum nsend_result r, const char *why)
{
	(void)arg;
	if ((r != NSEND_OK && r != NSEND_RETRY && r != NSEND_FAIL) ||
	    why == NULL || strchr(why, '\n') != NULL)
		abort();
	ndone++;
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "result %d: %s\n", (int)r, why);
	event_base_loopbreak(base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char url[64], smtp[64];
	struct nchannel ch;
	const char *why;
	struct nsend *s;

	if (base == NULL) {
		server_start();
		if ((base = event_base_new()) == NULL ||
		    nsend_init(base) == -1)
			abort();
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook",
		    srv.port);
		snprintf(smtp, sizeof(smtp), "smtp://127.0.0.1:%d", srv.port);
	}
	if (size == 0)
		return 0;
	pthread_mutex_lock(&srv.mu);
	srv.data = data + 1;
	srv.size = size - 1;
	srv.ready = true;
	pthread_mutex_unlock(&srv.mu);
	pthread_cond_broadcast(&srv.cv);

	memset(&ch, 0, sizeof(ch));
	ch.name = "fuzz";
	ch.url = url;
	ch.smtp = smtp;
	ch.from = "tocsin@example.com";
	ch.starttls = 0;
	ch.timeout_ms = 2000;
	ndone = 0;
	if (data[0] & 1)
		s = nsend_smtp(&ch, "alice@example.com",
		    "Subject: x\r\n\r\nhi\r\n",
		    done, NULL, &why);
	else
		s = nsend_http(&ch, "{\"event\":\"incident.opened\"}", "k/1",
		    done, NULL, &why);
	if (s != NULL)
		event_base_dispatch(base);
	if (s != NULL && ndone != 1)
		abort();
	pthread_mutex_lock(&srv.mu);
	srv.ready = false;
	pthread_mutex_unlock(&srv.mu);
	return 0;
}
