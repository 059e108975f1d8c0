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

#include "core/check.h"
#include "core/conf_errors.h"

#define CONF_MAX_SECTIONS 16

/* An apply rule: one check of type per matching host (conf_templates.c). */
struct conf_rule {
	char *name;			/* owned */
	char *type;			/* owned: the check type it makes */
	char *file;			/* owned */
	int line;
	unsigned nchecks;		/* checks it made */
};

struct config {
	char *path;			/* main file */
	/* daemon { } */
	char *state_dir;
	char *plugin_dir;
	int log_level;
	char *user;
	bool allow_root;		/* may keep running as root (priv.c) */
	char *rrdcached;		/* "unix:/path" or "host:port", or NULL */
	int64_t rrd_flush_delay_ms;	/* a file's updates wait this long */
	long rrd_cache_max;		/* updates held in the cache at most */
	long rrd_create_rate;		/* new RRD files a second at most */
	/* objects */
	struct check **checks;		/* sorted by name */
	unsigned nchecks;
	struct host **hosts;		/* sorted by name */
	unsigned nhosts;
	/* apply "NAME" { } rules, in file order */
	struct conf_rule *rules;
	unsigned nrules;
	/* daemon { concurrency = {"type=N"} } overrides */
	char **concurrency;
	unsigned nconcurrency;
	/* each core module's own config (conf_section_state()) */
	void *mod_state[CONF_MAX_SECTIONS];
};

/*
 * Top-level sections owned by core modules (incidents { }, channel "x"
 * { }, …).  A module registers its section before the first conf_load();
 * conf.c parses it with the same option table and FILE:LINE errors as a
 * plugin's check options, and hands each parsed section to load().
 *
 * titled: `NAME "TITLE" { }`, any number, duplicate titles reported;
 * else one untitled `NAME { }` that always exists (defaults apply), so
 * load() runs once even when the file does not mention it.
 * subsections: nested sections (`step { }`), read with conf_sub().
 * load(): read with tocsin_conf_*(), report with tocsin_conf_error();
 * *state is the module's own object for this config, NULL at first —
 * allocate it on the first call.  Positions (conf_where) and the
 * tocsin_conf are valid only during conf_load().  RETURN VALUE: 0, or -1
 * (after reporting why).
 * finish(): optional, after every section of this kind and every check
 * and host is loaded, for cross-references; report with conf_errorf()
 * as "FILE:LINE: message" (keep the positions load() saw).
 * free(): frees *state with the config.
 */
struct tocsin_conf;
struct conf_section {
	const char *name;
	bool titled;
	const struct tocsin_option *options;	/* ends with name NULL */
	const struct conf_section *subsections;	/* ends with name NULL */
	int (*load)(struct config *cf, struct tocsin_conf *sec, void **state);
	void (*finish)(struct config *cf, void **state,
	    struct conf_errors *errs);
	void (*free)(void *state);
};

/* RETURN VALUE: 0, or -1 (a different section has that name, or full). */
int conf_section_register(const struct conf_section *s);
/*
 * The same for a section whose load() runs before the checks and hosts
 * are built (it cannot look at them): one whose values the rest of the
 * config is read with (daemon { }, api { }).
 */
int conf_section_register_early(const struct conf_section *s);
/* The state load() made for section kind name in cf, or NULL. */
void *conf_section_state(const struct config *cf, const char *name);
/* During load(): the title (NULL if untitled), a key's FILE:LINE. */
const char *conf_title(struct tocsin_conf *sec);
void conf_where(struct tocsin_conf *sec, const char *key, const char **file,
    int *line);
/* Nested sections: how many named name, and the i-th (NULL if none). */
unsigned conf_sub_count(struct tocsin_conf *sec, const char *name);
struct tocsin_conf *conf_sub(struct tocsin_conf *sec, const char *name,
    unsigned i);
/*
 * During load(): key's value as a path, relative to the directory of the
 * file the key was written in (of the main file for a default).  Returns
 * a new string; the caller frees it.  NULL if the value is NULL.
 */
char *conf_key_path(struct tocsin_conf *sec, const char *key);
/* Errors reported so far through tocsin_conf_error() on sec. */
int conf_nerrors(struct tocsin_conf *sec);
/*
 * The config a section belongs to while it is loaded: in a check type's
 * configure(), every check of it is there (sorted, conf_check() finds
 * them) though not yet configured.  NULL outside a load.
 */
const struct config *conf_of(struct tocsin_conf *sec);

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

/* Lookup by name (binary search).  NULL if absent. */
struct check *conf_check(const struct config *cf, const char *name);
struct host *conf_host(const struct config *cf, const char *name);

/*
 * Durations: "500ms", "30s", "5m", "1h", "2d", "1w", a bare number is
 * seconds.  RETURN VALUE: 0 and *ms set, or -1.
 */
int conf_parse_duration(const char *text, int64_t *ms);

#endif
