/*
 * conf.c — the config parser's parse context: the registry of sections
 * (conf_section_register(): api { } in src/api, incidents { } and
 * maintenance in src/incident, the notifier's in src/notify; daemon { }
 * in slot 0), every key's FILE:LINE, errors, option tables and reading
 * values.  The driver (conf_load.c) parses tocsin.conf and its includes
 * with libconfuse and hands each section to its owner — checks and hosts
 * to conf_objects.c, daemon { } to conf_daemon.c, every other section to
 * the module that registered it; everything here is below them all.
 *
 * What this module adds to libconfuse, and why:
 *  - Every error is "FILE:LINE: message" and parsing goes on after most of
 *    them, so `tocsind -t` lists all problems at once.  libconfuse stops at
 *    the first unknown key or bad value; we give every option our own parse
 *    callback (which reports and returns a harmless value instead of
 *    failing) and turn "no such option" into a report followed by a skip.
 *    Syntax errors (braces, quotes) still end the parse: there is no
 *    sensible way to go on.
 *  - libconfuse keeps no line per option.  The parse callbacks record
 *    (section, key) → (file, line) so that checks done after parsing
 *    (unknown host, cycles, plugin validation) point at the right line.
 *    A section's opening line is caught by a hidden list option whose
 *    default is parsed when the section is created.
 *  - include("conf.d/NAME.conf" patterns) glob, relative to the including
 *    file.
 *
 * Never called on the loop's hot path: only at start-up, reload and -t.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/util.h"

struct parse_ctx *conf_pctx;

/* ---- sections owned by core modules (conf_section_register) -------- */

/*
 * daemon { } is the core's own, always there and always first: slot 0,
 * filled by the driver (conf_load.c) with conf_mod_set_core(), so that
 * this file does not depend on the sections it serves.
 */
static const struct conf_section *mod_secs[CONF_MAX_SECTIONS];
static unsigned nmod_secs = 1;
static bool mod_early[CONF_MAX_SECTIONS] = { true };

void
conf_mod_set_core(const struct conf_section *s)
{
	mod_secs[0] = s;
}

unsigned
conf_mod_count(void)
{
	return nmod_secs;
}

const struct conf_section *
conf_mod_at(unsigned i, bool *early)
{
	if (early != NULL)
		*early = i < nmod_secs && mod_early[i];
	return i < nmod_secs ? mod_secs[i] : NULL;
}

static int
section_register(const struct conf_section *s, bool early)
{
	unsigned i;

	for (i = 0; i < nmod_secs; i++)
		if (mod_secs[i] != NULL && strcmp(mod_secs[i]->name,
		    s->name) == 0)
			return mod_secs[i] == s && mod_early[i] == early ? 0 : -1;
	if (nmod_secs == CONF_MAX_SECTIONS)
		return -1;
	mod_early[nmod_secs] = early;
	mod_secs[nmod_secs++] = s;
	return 0;
}

int
conf_section_register(const struct conf_section *s)
{
	return section_register(s, false);
}

int
conf_section_register_early(const struct conf_section *s)
{
	return section_register(s, true);
}

const struct conf_section *
conf_mod_section(const char *name)
{
	unsigned i;

	for (i = 0; i < nmod_secs; i++)
		if (mod_secs[i] != NULL && strcmp(mod_secs[i]->name, name) == 0)
			return mod_secs[i];
	return NULL;
}

void *
conf_section_state(const struct config *cf, const char *name)
{
	unsigned i;

	for (i = 0; cf != NULL && i < nmod_secs; i++)
		if (mod_secs[i] != NULL && strcmp(mod_secs[i]->name, name) == 0)
			return cf->mod_state[i];
	return NULL;
}

/* ---- positions and errors ----------------------------------------- */

const char *
conf_intern_file(const char *f)
{
	unsigned i;
	char **n;

	if (f == NULL)
		return "?";
	for (i = 0; i < conf_pctx->nfiles; i++)
		if (strcmp(conf_pctx->files[i], f) == 0)
			return conf_pctx->files[i];
	if ((n = reallocarray(conf_pctx->files, conf_pctx->nfiles + 1,
	    sizeof(*n))) == NULL)
		return "?";
	conf_pctx->files = n;
	if ((n[conf_pctx->nfiles] = strdup(f)) == NULL)
		return "?";
	return n[conf_pctx->nfiles++];
}

static int
pos_cmp(const void *a, const void *b)
{
	const struct pos *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->name,
	    ((const struct seen *)b)->name);
}

/*
 * The file being read in section sec.  daemon { } and api { } are created
 * by cfg_init() before any file is open and keep no name: for them it is
 * the root's, which include() switches as it reads each file.
 */
static const char *
sec_file(const cfg_t *sec)
{
	if (sec->filename != NULL)
		return sec->filename;
	return conf_pctx->root != NULL ? conf_pctx->root->filename : NULL;
}

/*
 * Where the parser is in section sec: the file and line being read, or,
 * while conf_templates.c copies a template's or a rule's key into sec,
 * where that key was written.
 */
static const char *
here_file(const cfg_t *sec)
{
	if (conf_pctx->at_file != NULL)
		return conf_pctx->at_file;
	return conf_intern_file(sec_file(sec));
}

static int
here_line(const cfg_t *sec)
{
	return conf_pctx->at_file != NULL ? conf_pctx->at_line : sec->line;
}

/* Remember that key `name` of section `sec` is at the parser's position. */
static void
pos_record(cfg_t *sec, const char *name)
{
	struct pos key, *p, **found;

	key.sec = sec;
	key.name = name;
	found = tfind(&key, &conf_pctx->positions, pos_cmp);
	if (found != NULL) {
		/* the key was written again: the later one counts */
		(*found)->file = here_file(sec);
		(*found)->line = here_line(sec);
		(*found)->shared = conf_pctx->at_file != NULL;
		return;
	}
	if ((p = malloc(sizeof(*p))) == NULL)
		return;
	p->sec = sec;
	p->name = name;
	p->file = here_file(sec);
	p->line = here_line(sec);
	p->shared = conf_pctx->at_file != NULL;
	if (tsearch(p, &conf_pctx->positions, pos_cmp) == NULL)
		free(p);
}

static int
once_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

bool
conf_once(const char *fmt, ...)
{
	va_list ap;
	char *k;

	va_start(ap, fmt);
	if (vasprintf(&k, fmt, ap) < 0)
		k = NULL;
	va_end(ap);
	if (k == NULL)
		return true;
	if (tfind(k, &conf_pctx->once, once_cmp) != NULL) {
		free(k);
		return false;
	}
	if (tsearch(k, &conf_pctx->once, once_cmp) == NULL)
		free(k);
	return true;
}

/*
 * Position of a key, falling back to the section's opening line.
 * RETURN VALUE: true if the key came from a template or a rule, which
 * many sections share (report its problems once: conf_once()).
 */
bool
conf_pos_get(const cfg_t *sec, const char *name, const char **file,
    int *line)
{
	struct pos key, **found = NULL;

	key.sec = sec;
	if (name != NULL) {
		key.name = name;
		found = tfind(&key, &conf_pctx->positions, pos_cmp);
	}
	if (found == NULL) {
		key.name = OPEN_HOOK;
		found = tfind(&key, &conf_pctx->positions, pos_cmp);
	}
	if (found != NULL) {
		*file = (*found)->file;
		*line = (*found)->line;
		return (*found)->shared;
	}
	*file = sec->filename ? sec->filename : "?";
	*line = sec->line;
	return false;
}

/* Error at the parser's current position in section sec. */
void
conf_err_here(cfg_t *sec, const char *fmt, ...)
{
	va_list ap;
	char label[256], *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	/* a template's key is reported once, not for each check using it */
	if (conf_pctx->at_file != NULL && !conf_once("%s:%d:%s",
	    conf_pctx->at_file, conf_pctx->at_line, msg)) {
		free(msg);
		return;
	}
	conf_sec_label(sec, label, sizeof(label));
	conf_errorf(conf_pctx->errs, "%s:%d: %s%s%s", here_file(sec),
	    here_line(sec), strcmp(sec->name, "root") ? label : "",
	    strcmp(sec->name, "root") ? ": " : "", msg);
	free(msg);
}

/* Error at the recorded line of key (or the section line). */
void
conf_err_at(const cfg_t *sec, const char *key, const char *fmt, ...)
{
	va_list ap;
	const char *file;
	int line;
	bool shared;
	char label[256], *msg;

	shared = conf_pos_get(sec, key, &file, &line);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if (shared && !conf_once("%s:%d:%s", file, line, msg)) {
		free(msg);
		return;
	}
	conf_sec_label(sec, label, sizeof(label));
	conf_errorf(conf_pctx->errs, "%s:%d: %s: %s", file, line, label, msg);
	free(msg);
}

/* "check "x"", "host "x"", "daemon" — how messages name a section. */
void
conf_sec_label(const cfg_t *sec, char *buf, size_t len)
{
	if (sec->title != NULL)
		snprintf(buf, len, "%s \"%s\"", sec->name, sec->title);
	else
		snprintf(buf, len, "%s", sec->name);
}

/*
 * libconfuse's own errors: syntax errors, and "no such option", which we
 * report and then skip by letting the section ignore unknown keys until
 * the next key we do know (see conf_known()).
 */
void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[512], label[256];
	const char *file;
	int line = cfg ? cfg->line : 0;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (conf_pctx == NULL)
		return;
	/* sections made before a file was open (api { }) have no name */
	file = cfg != NULL && sec_file(cfg) != NULL ? sec_file(cfg) : "?";
	if (cfg != NULL && strncmp(fmt, "no such option", 14) == 0) {
		const char *q = strchr(msg, '\'');
		char key[512];
		size_t kl;

		q = q ? q + 1 : msg;
		kl = strcspn(q, "'");
		if (kl >= sizeof(key))
			kl = sizeof(key) - 1;
		memcpy(key, q, kl);
		key[kl] = '\0';
		if (strcmp(cfg->name, "root") == 0) {
			/*
			 * libconfuse cannot skip an unknown section (it loses
			 * the token after "{"), so parsing ends here.
			 */
			conf_errorf(conf_pctx->errs, "%s:%d: unknown section or check "
			    "type \"%s\" (no loaded plugin provides it); "
			    "parsing stops here", file, line, key);
			return;
		}
		conf_sec_label(cfg, label, sizeof(label));
		conf_errorf(conf_pctx->errs, "%s:%d: %s: unknown key \"%s\"", file,
		    line, label, key);
		cfg->flags |= CFGF_IGNORE_UNKNOWN;
		return;
	}
	conf_errorf(conf_pctx->errs, "%s:%d: %s", file, line, msg);
}

/* A known key was parsed: unknown keys are errors again. */
static void
conf_known(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg->flags &= ~CFGF_IGNORE_UNKNOWN;
	pos_record(cfg, opt->name);
}

/* ---- value parsers (libconfuse parse callbacks) ------------------- */

int
conf_parse_duration(const char *text, int64_t *ms)
{
	char *end;
	double v, mult;

	if (text == NULL || *text == '\0')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (end == text || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60e3;
	else if (strcmp(end, "h") == 0)
		mult = 3600e3;
	else if (strcmp(end, "d") == 0)
		mult = 86400e3;
	else if (strcmp(end, "w") == 0)
		mult = 604800e3;
	else
		return -1;
	if (v * mult > 1e15)	/* > 30000 years: a typo, not a duration */
		return -1;
	*ms = (int64_t)llround(v * mult);
	return 0;
}

/* Did conf_file.c quote the value of key being parsed in sec? */
static bool
quoted(cfg_t *sec, const char *key)
{
	const char *file = here_file(sec);
	int line = here_line(sec);
	unsigned i;

	for (i = 0; file != NULL && i < conf_pctx->nquoted; i++)
		if (conf_pctx->quoted[i].line == line &&
		    strcmp(conf_pctx->quoted[i].key, key) == 0 &&
		    strcmp(conf_pctx->quoted[i].file, file) == 0)
			return true;
	return false;
}

int
conf_quoted_add(const char *file, int line, const char *key, size_t keylen)
{
	struct quoted *n;

	if ((n = reallocarray(conf_pctx->quoted, conf_pctx->nquoted + 1,
	    sizeof(*n))) == NULL)
		return -1;
	conf_pctx->quoted = n;
	n += conf_pctx->nquoted;
	if ((n->key = strndup(key, keylen)) == NULL)
		return -1;
	n->file = conf_intern_file(file);
	n->line = line;
	conf_pctx->nquoted++;
	return 0;
}

static int
cb_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char nospace[64];
	int64_t ms;
	size_t i, k;

	conf_known(cfg, opt);
	if (conf_parse_duration(value, &ms) != 0) {
		/* "30 s": say that the space is what is wrong */
		for (i = k = 0; value[i] != '\0' && k + 1 < sizeof(nospace);
		    i++)
			if (value[i] != ' ' && value[i] != '\t')
				nospace[k++] = value[i];
		nospace[k] = '\0';
		if (strpbrk(value, " \t") != NULL && value[i] == '\0' &&
		    conf_parse_duration(nospace, &ms) == 0)
			conf_err_here(cfg, "%s: \"%s\" is not a duration (no "
			    "space between the number and the unit: %s)",
			    opt->name, value, nospace);
		else
			conf_err_here(cfg, "%s: \"%s\" is not a duration (use "
			    "e.g. 500ms, 30s, 5m, 1h, 2d, 1w)", opt->name,
			    value);
		ms = -1;	/* marks "invalid, already reported" */
	}
	*(long *)result = (long)ms;
	return 0;
}

static int
cb_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char *end;
	long v;

	conf_known(cfg, opt);
	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || *end != '\0' || errno != 0) {
		conf_err_here(cfg, "%s: \"%s\" is not an integer", opt->name,
		    value);
		v = LONG_MIN;
	}
	*(long *)result = v;
	return 0;
}

static int
cb_float(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char *end;
	double v;

	conf_known(cfg, opt);
	errno = 0;
	v = strtod(value, &end);
	if (end == value || *end != '\0' || errno != 0 || !isfinite(v)) {
		conf_err_here(cfg, "%s: \"%s\" is not a number", opt->name,
		    value);
		v = NAN;
	}
	*(double *)result = v;
	return 0;
}

static int
cb_bool(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	int b;

	conf_known(cfg, opt);
	if ((b = cfg_parse_boolean(value)) < 0) {
		conf_err_here(cfg, "%s: \"%s\" is not a boolean (use true or "
		    "false)", opt->name, value);
		b = 0;
	}
	*(int *)result = b;
	return 0;
}

static int
cb_str(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	conf_known(cfg, opt);
	/*
	 * Template and rule values are all strings until they are copied
	 * into a check: a duration's space is reported then, by its parser.
	 */
	if (strcmp(cfg->name, "template") != 0 &&
	    strcmp(cfg->name, "apply") != 0 && quoted(cfg, opt->name))
		conf_err_here(cfg, "%s: \"%s\" has spaces: quote a value "
		    "that has them", opt->name, value);
	*(const char **)result = value;
	return 0;
}

/*
 * Take a just-created titled section out of libconfuse's list into ours.
 * libconfuse looks for a section of the same title by a linear scan of
 * that list each time one is created, which makes 100 000 checks of one
 * type cost 5e9 string compares; with the list kept empty the parse is
 * linear.  The parser holds the value by pointer, not by index, so
 * removing it from the array is safe; we free it (conf_load).
 */
static void
take_section(cfg_t *sec)
{
	cfg_opt_t *popt;
	cfg_value_t **n, *v;

	if (conf_pctx->root == NULL ||
	    (popt = cfg_getopt(conf_pctx->root, sec->name)) == NULL ||
	    popt->nvalues == 0 ||
	    popt->values[popt->nvalues - 1]->section != sec)
		return;
	v = popt->values[popt->nvalues - 1];
	if ((n = reallocarray(conf_pctx->taken, conf_pctx->ntaken + 1,
	    sizeof(*n))) == NULL)
		return;	/* left with libconfuse: slower, still correct */
	conf_pctx->taken = n;
	n[conf_pctx->ntaken++] = v;
	popt->nvalues--;
	popt->values[popt->nvalues] = NULL;
}

/*
 * The hidden OPEN_HOOK option of every check and host section: its default
 * is parsed when libconfuse creates the section, at the opening line.
 * That is where we catch duplicate names, before libconfuse replaces the
 * first section of that title with the second.
 */
static int
cb_open(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct seen key, *s, **found;
	void **tree;
	const char *what;

	(void)value;
	*(long *)result = 0;
	cfg->flags &= ~CFGF_IGNORE_UNKNOWN;
	pos_record(cfg, opt->name);
	if (cfg->title == NULL)
		return 0;
	if (conf_mod_section(cfg->name) != NULL ||
	    strcmp(cfg->name, "template") == 0 ||
	    strcmp(cfg->name, "apply") == 0) {
		/* a module's titled section: names are per section kind */
		char *k;

		if (asprintf(&k, "%s %s", cfg->name, cfg->title) < 0)
			return 0;
		key.name = k;
		found = tfind(&key, &conf_pctx->mod_names, seen_cmp);
		if (found != NULL) {
			conf_err_here(cfg, "duplicate %s name \"%s\" (first "
			    "defined at %s:%d)", cfg->name, cfg->title,
			    (*found)->file, (*found)->line);
			free(k);
			return 0;
		}
		if ((s = malloc(sizeof(*s))) == NULL) {
			free(k);
			return 0;
		}
		s->name = k;
		s->file = here_file(cfg);
		s->line = here_line(cfg);
		if (tsearch(s, &conf_pctx->mod_names, seen_cmp) == NULL) {
			free(k);
			free(s);
		}
		return 0;
	}
	if (strcmp(cfg->name, "host") == 0) {
		tree = &conf_pctx->host_names;
		what = "host";
	} else {
		tree = &conf_pctx->check_names;
		what = "check";
	}
	key.name = cfg->title;
	if ((found = tfind(&key, tree, seen_cmp)) != NULL) {
		conf_err_here(cfg, "duplicate %s name \"%s\" (first defined "
		    "at %s:%d)", what, cfg->title, (*found)->file,
		    (*found)->line);
		return 0;
	}
	if ((s = malloc(sizeof(*s))) != NULL) {
		s->name = strdup(cfg->title);
		s->file = here_file(cfg);
		s->line = here_line(cfg);
		if (s->name == NULL || tsearch(s, tree, seen_cmp) == NULL) {
			free((char *)s->name);
			free(s);
		}
	}
	take_section(cfg);
	return 0;
}

void
conf_seen_free(void *p)
{
	struct seen *s = p;

	free((char *)s->name);
	free(s);
}

/* ---- building the option tables ----------------------------------- */

cfg_opt_t *
conf_optv_add(struct conf_optv *o, const char *name, cfg_type_t type,
    unsigned flags)
{
	cfg_opt_t *n, *opt;
	unsigned cap;

	/* doubling: a template's table has every type's keys (hundreds) */
	if (o->n + 2 > o->cap) {
		cap = o->cap ? o->cap * 2 : 16;
		if ((n = reallocarray(o->v, cap, sizeof(*n))) == NULL) {
			o->oom = true;
			return NULL;
		}
		o->v = n;
		o->cap = cap;
	}
	opt = &o->v[o->n++];
	memset(opt, 0, 2 * sizeof(*opt));	/* also the CFG_END after it */
	opt->name = name;
	opt->type = type;
	opt->flags = flags;
	return opt;
}

/* Add one option of our own kind (see tocsin_opt_type). */
void
conf_optv_typed(struct conf_optv *o, const char *name,
    enum tocsin_opt_type t, const char *def, unsigned tflags)
{
	cfg_opt_t *opt;
	unsigned fl = (tflags & TOCSIN_OPT_REQUIRED) || def == NULL ?
	    CFGF_NODEFAULT : CFGF_NONE;
	int64_t ms;

	switch (t) {
	case TOCSIN_OPT_STR:
		if ((opt = conf_optv_add(o, name, CFGT_STR, fl)) == NULL)
			return;
		opt->def.string = def;
		opt->parsecb = cb_str;
		break;
	case TOCSIN_OPT_INT:
		if ((opt = conf_optv_add(o, name, CFGT_INT, fl)) == NULL)
			return;
		opt->def.number = def ? strtol(def, NULL, 10) : 0;
		opt->parsecb = cb_int;
		break;
	case TOCSIN_OPT_FLOAT:
		if ((opt = conf_optv_add(o, name, CFGT_FLOAT, fl)) == NULL)
			return;
		opt->def.fpnumber = def ? strtod(def, NULL) : 0;
		opt->parsecb = cb_float;
		break;
	case TOCSIN_OPT_BOOL:
		if ((opt = conf_optv_add(o, name, CFGT_BOOL, fl)) == NULL)
			return;
		opt->def.boolean = def && cfg_parse_boolean(def) == 1;
		opt->parsecb = cb_bool;
		break;
	case TOCSIN_OPT_DURATION:
		if ((opt = conf_optv_add(o, name, CFGT_INT, fl)) == NULL)
			return;
		opt->def.number = def && conf_parse_duration(def, &ms) == 0 ?
		    (long)ms : 0;
		opt->parsecb = cb_duration;
		break;
	case TOCSIN_OPT_STR_LIST:
		if ((opt = conf_optv_add(o, name, CFGT_STR, fl | CFGF_LIST)) == NULL)
			return;
		opt->def.parsed = (char *)def;
		opt->parsecb = cb_str;
		break;
	case TOCSIN_OPT_INT_LIST:
		if ((opt = conf_optv_add(o, name, CFGT_INT, fl | CFGF_LIST)) == NULL)
			return;
		opt->def.parsed = (char *)def;
		opt->parsecb = cb_int;
		break;
	case TOCSIN_OPT_END:
		break;
	}
}

void
conf_optv_hook(struct conf_optv *o)
{
	cfg_opt_t *opt;

	if ((opt = conf_optv_add(o, OPEN_HOOK, CFGT_INT, CFGF_LIST)) == NULL)
		return;
	opt->def.parsed = "{0}";
	opt->parsecb = cb_open;
}

/* ---- reading values ----------------------------------------------- */

bool
conf_opt_set(cfg_t *sec, const char *key)
{
	cfg_opt_t *opt = cfg_getopt(sec, key);

	return opt != NULL && (opt->flags & CFGF_MODIFIED) && opt->nvalues > 0;
}

char **
conf_strlist(cfg_t *sec, const char *key, unsigned *n)
{
	unsigned i, cnt = cfg_size(sec, key);
	char **v;

	*n = 0;
	if (cnt == 0)
		return NULL;
	if ((v = calloc(cnt, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < cnt; i++)
		v[i] = xstrdup(cfg_getnstr(sec, key, i));
	*n = cnt;
	return v;
}

void
conf_strlist_free(char **v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- the whole file ------------------------------------------------- */

void
conf_opts_free(cfg_opt_t *v)
{
	unsigned i;

	for (i = 0; v != NULL && v[i].name != NULL; i++)
		if (v[i].type == CFGT_SEC)
			conf_opts_free(v[i].subopts);
	free(v);
}

/* A path from the config, relative to the config file's directory. */
char *
conf_path(const char *cfgfile, const char *p)
{
	char *dirbuf, *out;

	if (p == NULL)
		return NULL;
	if (p[0] == '/')
		return strdup(p);
	if ((dirbuf = strdup(cfgfile)) == NULL)
		return NULL;
	if (asprintf(&out, "%s/%s", dirname(dirbuf), p) < 0)
		out = NULL;
	free(dirbuf);
	return out;
}

/* The file a key was written in (relative paths start there), or dflt. */
static const char *
key_file(const cfg_t *sec, const char *key, const char *dflt)
{
	struct pos k, **found;

	k.sec = sec;
	k.name = key;
	found = tfind(&k, &conf_pctx->positions, pos_cmp);
	return found != NULL ? (*found)->file : dflt;
}

char *
conf_key_path(struct tocsin_conf *sec, const char *key)
{
	return conf_path(key_file(sec->sec, key, conf_pctx->path),
	    cfg_getstr(sec->sec, key));
}

/* Key tokey of section to is said to be where fromkey of from is. */
void
conf_pos_alias(const cfg_t *to, const char *tokey, const cfg_t *from,
    const char *fromkey)
{
	struct pos key, *p, **found;
	const char *file;
	int line;

	conf_pos_get(from, fromkey, &file, &line);
	key.sec = to;
	key.name = tokey;
	if ((found = tfind(&key, &conf_pctx->positions, pos_cmp)) != NULL) {
		(*found)->file = file;
		(*found)->line = line;
		return;
	}
	if ((p = malloc(sizeof(*p))) == NULL)
		return;
	p->sec = to;
	p->name = tokey;
	p->file = file;
	p->line = line;
	if (tsearch(p, &conf_pctx->positions, pos_cmp) == NULL)
		free(p);
}

void
conf_required_keys(cfg_t *sec, const struct tocsin_option *opts)
{
	const struct tocsin_option *o;

	for (o = opts; o != NULL && o->name != NULL; o++)
		if ((o->flags & TOCSIN_OPT_REQUIRED) &&
		    cfg_size(sec, o->name) == 0)
			conf_err_at(sec, NULL, "missing required key "
			    "\"%s\"", o->name);
}

/* Does a key of this name hold a secret (a password, a key, a token)? */
static bool
conf_secret_name(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, "password") == 0 || (n > 9 &&
	    strcmp(name + n - 9, "_password") == 0) ||
	    strstr(name, "secret") != NULL || strcmp(name, "routing_key") == 0 ||
	    strcmp(name, "headers") == 0 || strcmp(name, "community") == 0 ||
	    strcmp(name, "v3_users") == 0;	/* trap_listener pass phrases */
}

/*
 * A secret set in a file that every local user may read: say so, with
 * FILE:LINE, never the secret (issue 14).  A warning, not an error: a
 * packaged 0644 config must still start.  A value equal to the option's
 * default (community "public") is no secret.
 */
void
conf_secret_keys(cfg_t *sec, const struct tocsin_option *opts)
{
	const struct tocsin_option *o;
	const char *file, *v;
	struct stat sb;
	int line;

	for (o = opts; o != NULL && o->name != NULL; o++) {
		if (!conf_secret_name(o->name) || cfg_size(sec, o->name) == 0)
			continue;
		if (o->type == TOCSIN_OPT_STR) {
			v = cfg_getstr(sec, o->name);
			if (v == NULL || *v == '\0' || (o->def != NULL &&
			    strcmp(v, o->def) == 0))
				continue;
		} else if (o->type != TOCSIN_OPT_STR_LIST || o->def != NULL)
			continue;
		/* from a template or a rule: once, not for every check */
		if (conf_pos_get(sec, o->name, &file, &line) &&
		    !conf_once("%s:%d:secret", file, line))
			continue;
		if (file == NULL || stat(file, &sb) != 0 ||
		    (sb.st_mode & S_IROTH) == 0)
			continue;
		log_warnx("%s:%d: %s: this file is readable by every local "
		    "user (mode %04o) and holds a secret; make it readable by "
		    "tocsind only (chmod o-r %s)", file, line, o->name,
		    (unsigned)(sb.st_mode & 07777), file);
	}
}

