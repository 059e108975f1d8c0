/*
 * tests/plugins/badabi.c — a plugin built for another ABI version; the
 * loader must refuse it without running any of its code.
 */
#include <stdlib.h>

#include <tocsin/plugin.h>

static int
badabi_init(void)
{
	abort();	/* must never run */
}

__attribute__((visibility("default")))
const struct tocsin_plugin tocsin_plugin = {
	TOCSIN_ABI_VERSION + 998, "badabi", badabi_init, NULL
};
