/*
 * test_spool.c — the bounded durable spool (src/incident/spool.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "incident/spool.h"
#include "tap.h"

static char path[64];

struct seen {
	int n;
	char last[64];
	int in_order;
};

static int
collect(void *arg, const void *data, size_t len)
{
	struct seen *s = arg;
	char want[64];

	snprintf(want, sizeof(want), "event %d", s->n);
	if (len != strlen(want) || memcmp(data, want, len) != 0)
		s->in_order = 0;
	s->n++;
	return 0;
}

static void
add(struct spool *sp, int from, int to)
{
	char rec[64];
	int i;

	for (i = from; i < to; i++) {
		snprintf(rec, sizeof(rec), "event %d", i);
		CHECK_NUM(spool_append(sp, rec, strlen(rec)), 0);
	}
}

/* Records come back in order, across a close and reopen. */
static void
kept_in_order_across_reopen(void)
{
	struct seen s = { 0, "", 1 };
	struct spool *sp;

	unlink(path);
	CHECK((sp = spool_open(path, 1 << 20)) != NULL);
	add(sp, 0, 500);
	CHECK_NUM(spool_sync(sp), 0);
	spool_close(sp);
	CHECK((sp = spool_open(path, 1 << 20)) != NULL);
	CHECK_NUM((long)spool_records(sp), 500);
	add(sp, 500, 600);
	CHECK_NUM(spool_replay(sp, collect, &s), 600);
	CHECK_NUM(s.n, 600);
	CHECK(s.in_order);
	CHECK_NUM(spool_clear(sp), 0);
	CHECK_NUM((long)spool_records(sp), 0);
	CHECK_NUM((long)spool_bytes(sp), 0);
	spool_close(sp);
}

/* A torn last record (a crash mid-append) is cut off, the rest kept. */
static void
torn_tail_is_cut(void)
{
	struct seen s = { 0, "", 1 };
	struct spool *sp;
	int fd;

	unlink(path);
	CHECK((sp = spool_open(path, 1 << 20)) != NULL);
	add(sp, 0, 10);
	spool_close(sp);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK(write(fd, "\x20\0\0\0\1\2\3\4half", 12) == 12);
	close(fd);
	CHECK((sp = spool_open(path, 1 << 20)) != NULL);
	CHECK_NUM((long)spool_records(sp), 10);
	add(sp, 10, 12);		/* after the cut, not after the tear */
	CHECK_NUM(spool_replay(sp, collect, &s), 12);
	CHECK(s.in_order);
	spool_close(sp);

	/* a flipped byte in the last record: its checksum fails */
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, "X", 1, lseek(fd, 0, SEEK_END) - 1) == 1);
	close(fd);
	CHECK((sp = spool_open(path, 1 << 20)) != NULL);
	CHECK_NUM((long)spool_records(sp), 11);
	spool_close(sp);
}

/* Full: an append past the bound is refused and changes nothing. */
static void
bound_refuses_and_keeps(void)
{
	struct seen s = { 0, "", 1 };
	struct spool *sp;
	char big[200];
	uint64_t before;

	unlink(path);
	CHECK((sp = spool_open(path, 900)) != NULL);
	add(sp, 0, 50);		/* 10 x (8 + 7) + 40 x (8 + 8) = 790 bytes */
	before = spool_bytes(sp);
	memset(big, 'x', sizeof(big));
	errno = 0;
	CHECK_NUM(spool_append(sp, big, sizeof(big)), -1);
	CHECK_NUM(errno, ENOSPC);
	CHECK(spool_bytes(sp) == before);
	CHECK(before == 790);
	CHECK_NUM(spool_replay(sp, collect, &s), 50);
	CHECK(s.in_order);
	errno = 0;
	CHECK_NUM(spool_append(sp, big, SPOOL_MAX_RECORD + 1), -1);
	CHECK_NUM(errno, EMSGSIZE);
	spool_close(sp);
	unlink(path);
}

int
main(void)
{
	snprintf(path, sizeof(path), "/tmp/test_spool.%d", (int)getpid());
	RUN(kept_in_order_across_reopen);
	RUN(torn_tail_is_cut);
	RUN(bound_refuses_and_keeps);
	unlink(path);
	return TAP_END();
}
