/*
 * log.h — one place for log output: stderr in the foreground, syslog
 * (and so the journal) otherwise.  log_warn appends strerror(errno).
 */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

#include <stdarg.h>
#include <stdbool.h>

void log_init(bool foreground, int level);
void log_set_level(int level);
int log_level_from_name(const char *name);	/* -1 if unknown */
int log_get_level(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* error: something lost or not done, e.g. a refusal to start */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vlog(int pri, const char *fmt, va_list ap);
void log_vlog_str(int pri, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
