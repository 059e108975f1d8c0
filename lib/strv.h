/*
 * lib/strv.h — arrays of owned strings.  Part of the internal library
 * (lib/) that the core and the plugins both link, each its own copy with
 * hidden visibility (see lib/curlev.h).
 */
#ifndef TOCSIN_LIB_STRV_H
#define TOCSIN_LIB_STRV_H

#include <stddef.h>
#include <stdint.h>

/* strv_free()'s n for an array that ends with a NULL entry. */
#define STRV_NULL_END	SIZE_MAX

#pragma GCC visibility push(hidden)

/*
 * strv_free — free v[0..n) (NULL entries are skipped) and v; with n
 * STRV_NULL_END, every string up to the NULL that ends v.  Accepts NULL.
 */
void strv_free(char **v, size_t n);

#pragma GCC visibility pop

#endif
