/*
 * conf_int.h — what the parts of the config parser in src/core share and
 * nothing outside them may use: the parse context, recorded positions,
 * error helpers on libconfuse sections, option-table building.
 *
 *   conf.c          the driver: files, includes, libconfuse callbacks,
 *                   positions and errors, the section registry, conf_load
 *   conf_file.c     reading files: comments, function calls, include(),
 *                   the plugin_dir pre-scan
 *   conf_objects.c  checks and hosts: their keys, building, references,
 *                   dependency cycles, plugins' configure()
 *   conf_plugin.c   the tocsin_conf_* functions plugins and module
 *                   sections read their options with
 *   conf_daemon.c   the daemon { } section
 *
 * Other modules' sections (api { }, incidents { }, channel "x" { }, …)
 * live with their modules and go through conf.h only.
 */
#ifndef TOCSIN_CONF_INT_H
#define TOCSIN_CONF_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <confuse.h>

#include "core/conf.h"

#define OPEN_HOOK	"\001open"	/* cannot be written in a file */

/* Where a key (or a section, name OPEN_HOOK) was written. */
struct pos {
	const cfg_t *sec;
	const char *name;	/* the option's name (owned by libconfuse) */
	const char *file;	/* interned */
	int line;
	bool shared;		/* from a template or a rule (conf_pos_get) */
};

/* A check or host name seen, for duplicate detection. */
struct seen {
	const char *name;	/* owned */
	const char *file;
	int line;
};

struct parse_ctx {
	struct conf_errors *errs;
	const char *path;	/* the main file (borrowed) */
	void *positions;	/* tsearch tree of struct pos */
	void *check_names;	/* tsearch tree of struct seen */
	void *host_names;
	void *mod_names;	/* "SECTION TITLE" of module sections */
	struct tocsin_conf **subs;	/* from conf_sub(), freed at the end */
	unsigned nsubs;
	char **files;		/* interned file names */
	unsigned nfiles;
	int include_depth;
	struct config *cf;	/* the config being built */
	cfg_t *root;		/* the parse's root section */
	bool partial;		/* parsing stopped at a syntax error */
	cfg_value_t **taken;	/* check and host sections, in file order */
	unsigned ntaken;
	struct quoted *quoted;	/* values conf_file.c quoted (conf_quoted) */
	unsigned nquoted;
	/* while conf_templates.c copies a key: where it was written */
	const char *at_file;	/* interned, or NULL */
	int at_line;
	void *once;		/* tsearch tree of strings (conf_once) */
	void *made;		/* tsearch tree of struct conf_made */
	/* libconfuse's callbacks carry no user pointer: one parse at a time */
};

/* A value with spaces that conf_file.c quoted, at FILE:LINE of key. */
struct quoted {
	const char *file;	/* interned */
	int line;
	char *key;		/* owned */
};

/* libconfuse's callbacks carry no user pointer: the parse under way */
extern struct parse_ctx *conf_pctx;

struct tocsin_conf {
	cfg_t *sec;
	struct check *chk;
	struct parse_ctx *ctx;
	int nerrors;
};

/* ---- conf.c ---- */

/* The registered section kind name, or NULL. */
const struct conf_section *conf_mod_section(const char *name);
/* f kept for the parse's lifetime ("?" for NULL or out of memory). */
const char *conf_intern_file(const char *f);
/*
 * Position of a key, falling back to the section's opening line.  True if
 * it came from a template or a rule, which many sections share.
 */
bool conf_pos_get(const cfg_t *sec, const char *name, const char **file,
    int *line);
/* True the first time this formatted key is seen in the parse. */
bool conf_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Key tokey of section to is said to be where fromkey of from is. */
void conf_pos_alias(const cfg_t *to, const char *tokey, const cfg_t *from,
    const char *fromkey);
/* "FILE:LINE: SECTION: message" at the recorded line of key. */
void conf_err_at(const cfg_t *sec, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "FILE:LINE: SECTION: message" at the parser's current position. */
void conf_err_here(cfg_t *sec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A path from the config, relative to cfgfile's directory; new string. */
char *conf_path(const char *cfgfile, const char *p);
/* "check "x"", "host "x"", "daemon" — how messages name a section. */
void conf_sec_label(const cfg_t *sec, char *buf, size_t len);
/* Was key written (not only defaulted)? */
bool conf_opt_set(cfg_t *sec, const char *key);
/* A string list's values; returns a new array the caller frees with
 * conf_strlist_free(). */
char **conf_strlist(cfg_t *sec, const char *key, unsigned *n);
void conf_strlist_free(char **v, unsigned n);
/* Remember that the value of key at FILE:LINE was quoted by us. */
int conf_quoted_add(const char *file, int line, const char *key,
    size_t keylen);
/* "missing required key" for each TOCSIN_OPT_REQUIRED key not written. */
void conf_required_keys(cfg_t *sec, const struct tocsin_option *opts);
/* Warn of each secret of sec set in a file others can read. */
void conf_secret_keys(cfg_t *sec, const struct tocsin_option *opts);

/*
 * Option tables are built at run time because check types come from
 * plugins: a growable array of cfg_opt_t, freed after cfg_init() (which
 * copies it) with conf_opts_free().
 */
struct conf_optv {
	cfg_opt_t *v;
	unsigned n;
	unsigned cap;		/* room in v, the CFG_END included */
	bool oom;
};
cfg_opt_t *conf_optv_add(struct conf_optv *o, const char *name,
    cfg_type_t type, unsigned flags);
/* One option of our own kind (see tocsin_opt_type). */
void conf_optv_typed(struct conf_optv *o, const char *name,
    enum tocsin_opt_type t, const char *def, unsigned tflags);
/* The hidden option that records a section's opening line. */
void conf_optv_hook(struct conf_optv *o);
void conf_opts_free(cfg_opt_t *v);

/* ---- conf_file.c ---- */

/* Parse one file into cfg: cfg_parse() of its text, comments stripped. */
int conf_parse_path(cfg_t *cfg, const char *path);
/* include("pattern"), libconfuse's function callback. */
int conf_include(cfg_t *cfg, cfg_opt_t *opt, int argc, const char **argv);

/* ---- conf_objects.c ---- */

/* Options of one check type's section; NULL when out of memory. */
cfg_opt_t *conf_type_options(const struct tocsin_check_type *t,
    struct conf_errors *errs);
/* Options of host "NAME" { }. */
void conf_host_options(struct conf_optv *h);
/* Keys every check has, whatever its type; ends with name NULL. */
extern const struct tocsin_option conf_common_options[];
/* Checks and hosts of the parse, sorted, automatic host checks made. */
void conf_load_objects(struct config *cf, cfg_t *root);
void conf_resolve_refs(struct config *cf);
void conf_host_cycles(struct config *cf);
void conf_check_cycles(struct config *cf);
/* Each check type's configure() on each check. */
void conf_configure_checks(struct config *cf);
void conf_check_free(struct check *c);
void conf_host_free(struct host *h);

/* ---- conf_templates.c ---- */

/* Options of template "NAME" { } (rule: of apply "NAME" { }). */
cfg_opt_t *conf_template_options(bool rule);
/*
 * Templates into the checks and hosts that use them, then each apply
 * rule's checks made (as sections of root), before the objects are built.
 */
void conf_expand(struct config *cf, cfg_t *root);
/* The apply rule that made check section sec, or NULL. */
const struct conf_rule *conf_made_by(const struct config *cf,
    const cfg_t *sec);
void conf_made_free(void *tree);

/* ---- conf_daemon.c ---- */

/* daemon { }: always registered, first, loaded before the objects. */
extern const struct conf_section conf_daemon_section;

/* ---- the section registry (conf.c), walked by the driver (conf_load.c) */

/* Put daemon { } in slot 0 (conf_load() does, each time). */
void conf_mod_set_core(const struct conf_section *s);
/* Slots in use (slot 0 included), and slot i (early: loaded before the
 * checks); NULL past the end or before conf_mod_set_core(). */
unsigned conf_mod_count(void);
const struct conf_section *conf_mod_at(unsigned i, bool *early);
/* libconfuse's error function for every parse (conf.c). */
void conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap);
/* Frees a name-tree entry of struct parse_ctx (check, host, module names). */
void conf_seen_free(void *p);

#endif
