/*
 * lib/strv.c — arrays of owned strings: the one strv_free() of tocsind
 * and its plugins, for both counted and NULL-terminated arrays.
 */
#include <stdlib.h>

#include "lib/strv.h"

void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL && n == STRV_NULL_END)
			break;
		free(v[i]);
	}
	free(v);
}
