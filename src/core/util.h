/*
 * util.h — small helpers shared by the core modules.
 */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <stdint.h>
#include <time.h>

/* Monotonic clock in milliseconds. */
int64_t mono_ms(void);
int64_t mono_us(void);
/* Wall clock as RFC 3339 UTC ("2026-11-25T10:00:00Z") into buf. */
void rfc3339(time_t t, char *buf, size_t len);
/* strdup that returns NULL for NULL. */
char *xstrdup(const char *s);
/* 32-bit FNV-1a hash of a string, stable across runs and builds. */
uint32_t hash_str(const char *s);

#endif
