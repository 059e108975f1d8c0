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
/*
 * steady_ms — the wall clock as it read at the first call, advanced by
 * the monotonic clock since: milliseconds in the wall clock's epoch that
 * a step of the wall clock (date -s, NTP's first sync, a resumed VM) does
 * not move.  For times that are both stored and waited for (escalation
 * and retry due times): a step neither makes them due early nor puts
 * them off.  Cost: after a step, such times are off from the wall clock
 * by the step until the next start; steady_to_wall_ms() converts one
 * for display (0 stays 0).
 */
int64_t steady_ms(void);
int64_t steady_to_wall_ms(int64_t steady);
/* Wall clock as RFC 3339 UTC ("2026-11-25T10:00:00Z") into buf. */
void rfc3339(time_t t, char *buf, size_t len);
/*
 * thread_yield_to_loop — called by a helper thread (metric writer, graph
 * workers) on itself: 5 nice levels below the loop, so that on a busy
 * machine the loop that schedules checks and pages runs first.  Waking a
 * helper of equal weight let it preempt the loop: with the machine at a
 * load of 12 on 2 CPUs the 100 ms tick came 30-115 ms late with nothing
 * else to do (bench/api-abuse, baseline).  Best effort, never fails.
 */
void thread_yield_to_loop(void);
/* strdup that returns NULL for NULL. */
char *xstrdup(const char *s);
/*
 * How much of s fits in max bytes without cutting a UTF-8 character: the
 * whole length if it fits, else the last character start at or before max.
 */
size_t utf8_prefix(const char *s, size_t max);
/* 32-bit FNV-1a hash of a string, stable across runs and builds. */
uint32_t hash_str(const char *s);

#endif
