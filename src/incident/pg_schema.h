/*
 * pg_schema.h — the incident log's schema on PostgreSQL (issue 19),
 * shared by `tocsinctl migrate-store` and the PostgreSQL store to come.
 *
 * The tables, columns and meanings are incidents.db's (idb.c) at its
 * schema version PG_SCHEMA_FROM_SQLITE, in PostgreSQL's types: times and
 * ids BIGINT (ids are given by the store, never by the database, as on
 * SQLite), booleans kept as 0/1 integers so rows copy unchanged.
 * Versions live in the one-row table tocsin_schema; pg_migrations[i]
 * takes a database from version i to i + 1, each in its own
 * transaction, and a database newer than PG_SCHEMA_VERSION is refused.
 */
#ifndef TOCSIN_PG_SCHEMA_H
#define TOCSIN_PG_SCHEMA_H

/* incidents.db's schema version the PostgreSQL schema mirrors. */
#define PG_SCHEMA_FROM_SQLITE	5

extern const char *const pg_migrations[];
extern const int pg_schema_version;	/* entries of pg_migrations */

/* The tables a copy fills, parents before children (NULL-terminated). */
extern const char *const pg_tables[];

#endif
