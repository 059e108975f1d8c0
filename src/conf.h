/*
 * conf.h — the configuration: files in (libconfuse, include() globs),
 * validated objects out.  Every error is collected as "FILE:LINE: message"
 * so that `tocsind -t` shows them all; a config with errors is never
 * applied.
 */
#ifndef TOCSIN_CONF_H
#define TOCSIN_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"

struct conf_errors {
	char **msgs;
	unsigned n;
};

struct config {
	char *path;			/* main file */
	/* daemon { } */
	char *state_dir;
	char *plugin_dir;
	int log_level;
	char *user;
	/* api { } */
	char *api_listen;		/* "127.0.0.1:8470" */
	char *api_token_file;
	/* objects */
	struct check **checks;		/* sorted by name */
	unsigned nchecks;
	struct host **hosts;		/* sorted by name */
	unsigned nhosts;
	/* daemon { concurrency = {"type=N"} } overrides */
	char **concurrency;
	unsigned nconcurrency;
};

/*
 * conf_load — read and validate path.  Plugins must be loaded (types
 * registered) before.  On success returns a config; on failure NULL with
 * every problem in errs (caller frees with conf_errors_free).  Each
 * check's type configure() has run.
 */
struct config *conf_load(const char *path, struct conf_errors *errs);
/*
 * conf_plugin_dir — daemon.plugin_dir of the file at path, read before
 * plugins are loaded (errors are left to conf_load).  Returns a new
 * string; the caller frees it.
 */
char *conf_plugin_dir(const char *path);
/* Frees the config, its checks (calling each type's free) and hosts. */
void conf_free(struct config *cf);
void conf_errors_free(struct conf_errors *errs);

/* Lookup by name (binary search).  NULL if absent. */
struct check *conf_check(const struct config *cf, const char *name);
struct host *conf_host(const struct config *cf, const char *name);

/*
 * Durations: "500ms", "30s", "5m", "1h", "2d", "1w", a bare number is
 * seconds.  RETURN VALUE: 0 and *ms set, or -1.
 */
int conf_parse_duration(const char *text, int64_t *ms);

#endif
