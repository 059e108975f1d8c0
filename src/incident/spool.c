/*
 * spool.c — a bounded, durable, ordered spool of records (spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "incident/spool.h"

struct spool {
	int fd;
	uint64_t max_bytes, bytes, records;
};

static uint32_t
spool_sum(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Read exactly len bytes at off: 1, 0 at a short read (the end), -1. */
static int
read_at(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

long
spool_replay(struct spool *sp, int (*fn)(void *, const void *, size_t),
    void *arg)
{
	unsigned char hdr[8], *buf = NULL;
	uint64_t off = 0;
	uint32_t len;
	long n = 0;
	int r;

	while (off < sp->bytes) {
		if ((r = read_at(sp->fd, hdr, 8, (off_t)off)) != 1)
			break;
		len = get32(hdr);
		if (len > SPOOL_MAX_RECORD || off + 8 + len > sp->bytes)
			break;
		free(buf);
		if ((buf = malloc(len ? len : 1)) == NULL)
			return -1;
		if ((r = read_at(sp->fd, buf, len, (off_t)off + 8)) != 1) {
			free(buf);
			return r < 0 ? -1 : n;
		}
		if (spool_sum(buf, len) != get32(hdr + 4))
			break;
		n++;
		off += 8 + len;
		if (fn != NULL && fn(arg, buf, len) != 0)
			break;
	}
	free(buf);
	return n;
}

/* Count the whole records of the file; cut off a torn tail. */
static int
spool_scan(struct spool *sp)
{
	unsigned char hdr[8], *buf;
	uint64_t off = 0;
	uint32_t len;

	sp->records = 0;
	while (off < sp->bytes) {
		if (read_at(sp->fd, hdr, 8, (off_t)off) != 1)
			break;
		len = get32(hdr);
		if (len > SPOOL_MAX_RECORD || off + 8 + len > sp->bytes)
			break;
		if ((buf = malloc(len ? len : 1)) == NULL)
			return -1;
		if (read_at(sp->fd, buf, len, (off_t)off + 8) != 1 ||
		    spool_sum(buf, len) != get32(hdr + 4)) {
			free(buf);
			break;
		}
		free(buf);
		sp->records++;
		off += 8 + len;
	}
	if (off < sp->bytes) {		/* a torn record: cut it off */
		if (ftruncate(sp->fd, (off_t)off) != 0 ||
		    fdatasync(sp->fd) != 0)
			return -1;
		sp->bytes = off;
	}
	return 0;
}

struct spool *
spool_open(const char *path, uint64_t max_bytes)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	struct stat st;
	int e;

	if (sp == NULL)
		return NULL;
	sp->max_bytes = max_bytes;
	if ((sp->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0)
		goto fail;
	if (fstat(sp->fd, &st) != 0)
		goto fail;
	sp->bytes = (uint64_t)st.st_size;
	if (spool_scan(sp) != 0)
		goto fail;
	return sp;
fail:
	e = errno;
	spool_close(sp);
	errno = e;
	return NULL;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp);
}

int
spool_append(struct spool *sp, const void *data, size_t len)
{
	unsigned char hdr[8];
	size_t done = 0, total = 8 + len;
	ssize_t w;
	char *rec;

	if (len > SPOOL_MAX_RECORD) {
		errno = EMSGSIZE;
		return -1;
	}
	if (sp->bytes + total > sp->max_bytes) {
		errno = ENOSPC;
		return -1;
	}
	if ((rec = malloc(total)) == NULL)
		return -1;
	put32(hdr, (uint32_t)len);
	put32(hdr + 4, spool_sum(data, len));
	memcpy(rec, hdr, 8);
	memcpy(rec + 8, data, len);
	while (done < total) {
		w = pwrite(sp->fd, rec + done, total - done,
		    (off_t)(sp->bytes + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;

			/* nothing half-written stays: cut back */
			if (ftruncate(sp->fd, (off_t)sp->bytes) != 0) {
				/* the next open cuts the torn record */
			}
			free(rec);
			errno = e;
			return -1;
		}
		done += (size_t)w;
	}
	free(rec);
	sp->bytes += total;
	sp->records++;
	return 0;
}

int
spool_sync(struct spool *sp)
{
	return fdatasync(sp->fd);
}

int
spool_clear(struct spool *sp)
{
	if (ftruncate(sp->fd, 0) != 0 || fdatasync(sp->fd) != 0)
		return -1;
	sp->bytes = 0;
	sp->records = 0;
	return 0;
}

uint64_t
spool_records(const struct spool *sp)
{
	return sp->records;
}

uint64_t
spool_bytes(const struct spool *sp)
{
	return sp->bytes;
}
