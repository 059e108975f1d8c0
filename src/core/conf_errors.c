/*
 * conf_errors.c — the error list of conf_errors.h.  Never fails loudly:
 * a message that cannot be stored (out of memory) is dropped, and the
 * load that produced it fails on its own out-of-memory path.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/conf_errors.h"

void
conf_errorf(struct conf_errors *errs, const char *fmt, ...)
{
	va_list ap;
	char *msg, **n;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if ((n = reallocarray(errs->msgs, errs->n + 1, sizeof(*n))) == NULL) {
		free(msg);
		return;
	}
	errs->msgs = n;
	errs->msgs[errs->n++] = msg;
}

void
conf_errors_free(struct conf_errors *errs)
{
	unsigned i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}
