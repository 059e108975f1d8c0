/*
 * conf_errors.h — the list of "FILE:LINE: message" problems that loading
 * plugins and the config collect, so that `tocsind -t` shows them all.
 * Its own module so that the plugin loader and the config parser both
 * report into it without including each other.
 */
#ifndef TOCSIN_CONF_ERRORS_H
#define TOCSIN_CONF_ERRORS_H

struct conf_errors {
	char **msgs;		/* owned */
	unsigned n;
};

/* Append a formatted message to errs (and never fail loudly). */
void conf_errorf(struct conf_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees the messages; errs is empty and reusable afterwards. */
void conf_errors_free(struct conf_errors *errs);

#endif
