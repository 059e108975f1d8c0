/*
 * spool.h — a bounded, durable, ordered spool of records on local disk
 * (issue 19): where a node keeps its writes while PostgreSQL cannot be
 * reached, to send them in order when it can again.
 *
 * One append-only file.  A record is its length (4 bytes, little-endian),
 * an FNV-1a checksum of its bytes (4 bytes) and the bytes; spool_sync()
 * makes what was appended durable (fdatasync: one per batch, not one per
 * record).  At open, the records of an earlier run are found again; a
 * torn last record (a crash in the middle of an append) fails its length
 * or checksum and is cut off, with every record before it kept.
 *
 * The bound: max_bytes of file.  An append that would pass it is refused
 * (-1, errno ENOSPC) and changes nothing: the caller decides what a full
 * spool costs, and must say so (the PostgreSQL store will count and log
 * what it could not keep).  spool_clear() empties the file once its
 * records are safely elsewhere.
 */
#ifndef TOCSIN_SPOOL_H
#define TOCSIN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Largest record. */
#define SPOOL_MAX_RECORD	(1024 * 1024)

/* Open (create) the spool at path.  NULL (errno set) on failure. */
struct spool *spool_open(const char *path, uint64_t max_bytes);
void spool_close(struct spool *sp);
/* Append one record.  RETURN VALUE: 0, or -1 (errno; ENOSPC: full). */
int spool_append(struct spool *sp, const void *data, size_t len);
/* Make every appended record durable.  RETURN VALUE: 0 or -1 (errno). */
int spool_sync(struct spool *sp);
/*
 * fn(arg, data, len) for each record, oldest first, until it returns
 * non-zero.  RETURN VALUE: records read, or -1 (errno) on an I/O error.
 */
long spool_replay(struct spool *sp, int (*fn)(void *arg, const void *data,
    size_t len), void *arg);
/* Drop every record (durably).  RETURN VALUE: 0 or -1 (errno). */
int spool_clear(struct spool *sp);
/* Records and bytes held. */
uint64_t spool_records(const struct spool *sp);
uint64_t spool_bytes(const struct spool *sp);

#endif
