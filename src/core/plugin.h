/*
 * plugin.h (core side) — the plugin loader and the registry of check
 * types.  Plugins are dlopen()ed from plugin_dir before the config is
 * parsed, because each check type brings its own config section.
 */
#ifndef TOCSIN_PLUGIN_LOADER_H
#define TOCSIN_PLUGIN_LOADER_H

#include "core/check.h"
#include "core/conf_errors.h"

/*
 * plugins_load — dlopen every *.so in dir (sorted), check its ABI version
 * and run its init.  Problems are added to errs as "FILE: message".
 * RETURN VALUE: 0, or -1 if any plugin was refused.
 */
int plugins_load(const char *dir, struct conf_errors *errs);
/* Run every plugin's fini and dlclose them.  No check may exist. */
void plugins_unload(void);

struct ctype *ctype_find(const char *name);
unsigned ctype_count(void);
struct ctype *ctype_at(unsigned i);

/*
 * What modules outside the core may know of a check type, without
 * reading struct ctype: its name ("http"; NULL for NULL) and the runs
 * of its checks that finished since start.
 */
const char *ctype_name(const struct ctype *ct);
uint64_t ctype_runs_total(const struct ctype *ct);

#endif
