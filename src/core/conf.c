/*
 * conf.c — reads tocsin.conf with libconfuse and turns it into checks and
 * hosts.
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
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <regex.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/util.h"

#define OPEN_HOOK	"\001open"	/* cannot be written in a file */
#define MAX_INCLUDE	16

/* Where a key (or a section, name OPEN_HOOK) was written. */
struct pos {
	const cfg_t *sec;
	const char *name;	/* the option's name (owned by libconfuse) */
	const char *file;	/* interned */
	int line;
};

/* A check or host name seen, for duplicate detection. */
struct seen {
	const char *name;	/* owned */
	const char *file;
	int line;
};

struct parse_ctx {
	struct conf_errors *errs;
	void *positions;	/* tsearch tree of struct pos */
	void *check_names;	/* tsearch tree of struct seen */
	void *host_names;
	void *mod_names;	/* "SECTION TITLE" of module sections */
	struct tocsin_conf **subs;	/* from conf_sub(), freed at the end */
	unsigned nsubs;
	char **files;		/* interned file names */
	unsigned nfiles;
	int include_depth;
	cfg_t *root;		/* the parse's root section */
	bool partial;		/* parsing stopped at a syntax error */
	cfg_value_t **taken;	/* check and host sections, in file order */
	unsigned ntaken;
	/* libconfuse's callbacks carry no user pointer: one parse at a time */
};

static struct parse_ctx *pctx;

struct tocsin_conf {
	cfg_t *sec;
	struct check *chk;
	struct parse_ctx *ctx;
	int nerrors;
};

static void opts_free(cfg_opt_t *v);
static void required_keys(cfg_t *sec, const struct tocsin_option *opts);

/* ---- sections owned by core modules (conf_section_register) -------- */

static const struct conf_section *mod_secs[CONF_MAX_SECTIONS];
static unsigned nmod_secs;

int
conf_section_register(const struct conf_section *s)
{
	unsigned i;

	for (i = 0; i < nmod_secs; i++)
		if (strcmp(mod_secs[i]->name, s->name) == 0)
			return mod_secs[i] == s ? 0 : -1;
	if (nmod_secs == CONF_MAX_SECTIONS)
		return -1;
	mod_secs[nmod_secs++] = s;
	return 0;
}

static const struct conf_section *
mod_section(const char *name)
{
	unsigned i;

	for (i = 0; i < nmod_secs; i++)
		if (strcmp(mod_secs[i]->name, name) == 0)
			return mod_secs[i];
	return NULL;
}

void *
conf_section_state(const struct config *cf, const char *name)
{
	unsigned i;

	for (i = 0; cf != NULL && i < nmod_secs; i++)
		if (strcmp(mod_secs[i]->name, name) == 0)
			return cf->mod_state[i];
	return NULL;
}

/* ---- positions and errors ----------------------------------------- */

static const char *
intern_file(const char *f)
{
	unsigned i;
	char **n;

	if (f == NULL)
		return "?";
	for (i = 0; i < pctx->nfiles; i++)
		if (strcmp(pctx->files[i], f) == 0)
			return pctx->files[i];
	if ((n = reallocarray(pctx->files, pctx->nfiles + 1,
	    sizeof(*n))) == NULL)
		return "?";
	pctx->files = n;
	if ((n[pctx->nfiles] = strdup(f)) == NULL)
		return "?";
	return n[pctx->nfiles++];
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
	return pctx->root != NULL ? pctx->root->filename : NULL;
}

/* Remember that key `name` of section `sec` is at the parser's position. */
static void
pos_record(cfg_t *sec, const char *name)
{
	struct pos key, *p, **found;

	key.sec = sec;
	key.name = name;
	found = tfind(&key, &pctx->positions, pos_cmp);
	if (found != NULL) {
		/* the key was written again: the later one counts */
		(*found)->file = intern_file(sec_file(sec));
		(*found)->line = sec->line;
		return;
	}
	if ((p = malloc(sizeof(*p))) == NULL)
		return;
	p->sec = sec;
	p->name = name;
	p->file = intern_file(sec_file(sec));
	p->line = sec->line;
	if (tsearch(p, &pctx->positions, pos_cmp) == NULL)
		free(p);
}

/* Position of a key, falling back to the section's opening line. */
static void
pos_get(const cfg_t *sec, const char *name, const char **file, int *line)
{
	struct pos key, **found = NULL;

	key.sec = sec;
	if (name != NULL) {
		key.name = name;
		found = tfind(&key, &pctx->positions, pos_cmp);
	}
	if (found == NULL) {
		key.name = OPEN_HOOK;
		found = tfind(&key, &pctx->positions, pos_cmp);
	}
	if (found != NULL) {
		*file = (*found)->file;
		*line = (*found)->line;
	} else {
		*file = sec->filename ? sec->filename : "?";
		*line = sec->line;
	}
}

static void sec_label(const cfg_t *sec, char *buf, size_t len);

/* Error at the parser's current position in section sec. */
static void
conf_err_here(cfg_t *sec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
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
	sec_label(sec, label, sizeof(label));
	conf_errorf(pctx->errs, "%s:%d: %s%s%s", sec_file(sec) ?
	    sec_file(sec) : "?", sec->line, strcmp(sec->name, "root") ?
	    label : "", strcmp(sec->name, "root") ? ": " : "", msg);
	free(msg);
}

/* Error at the recorded line of key (or the section line). */
static void
conf_err_at(const cfg_t *sec, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
conf_err_at(const cfg_t *sec, const char *key, const char *fmt, ...)
{
	va_list ap;
	const char *file;
	int line;
	char label[256], *msg;

	pos_get(sec, key, &file, &line);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	sec_label(sec, label, sizeof(label));
	conf_errorf(pctx->errs, "%s:%d: %s: %s", file, line, label, msg);
	free(msg);
}

/* "check "x"", "host "x"", "daemon" — how messages name a section. */
static void
sec_label(const cfg_t *sec, char *buf, size_t len)
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
static void
conf_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[512], label[256];
	const char *file = cfg && cfg->filename ? cfg->filename : "?";
	int line = cfg ? cfg->line : 0;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pctx == NULL)
		return;
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
			conf_errorf(pctx->errs, "%s:%d: unknown section or check "
			    "type \"%s\" (no loaded plugin provides it); "
			    "parsing stops here", file, line, key);
			return;
		}
		sec_label(cfg, label, sizeof(label));
		conf_errorf(pctx->errs, "%s:%d: %s: unknown key \"%s\"", file,
		    line, label, key);
		cfg->flags |= CFGF_IGNORE_UNKNOWN;
		return;
	}
	conf_errorf(pctx->errs, "%s:%d: %s", file, line, msg);
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

static int
cb_duration(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	int64_t ms;

	conf_known(cfg, opt);
	if (conf_parse_duration(value, &ms) != 0) {
		conf_err_here(cfg, "%s: \"%s\" is not a duration (use e.g. "
		    "500ms, 30s, 5m, 1h, 2d, 1w)", opt->name, value);
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

	if (pctx->root == NULL ||
	    (popt = cfg_getopt(pctx->root, sec->name)) == NULL ||
	    popt->nvalues == 0 ||
	    popt->values[popt->nvalues - 1]->section != sec)
		return;
	v = popt->values[popt->nvalues - 1];
	if ((n = reallocarray(pctx->taken, pctx->ntaken + 1,
	    sizeof(*n))) == NULL)
		return;	/* left with libconfuse: slower, still correct */
	pctx->taken = n;
	n[pctx->ntaken++] = v;
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
	if (mod_section(cfg->name) != NULL) {
		/* a module's titled section: names are per section kind */
		char *k;

		if (asprintf(&k, "%s %s", cfg->name, cfg->title) < 0)
			return 0;
		key.name = k;
		found = tfind(&key, &pctx->mod_names, seen_cmp);
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
		s->file = intern_file(cfg->filename);
		s->line = cfg->line;
		if (tsearch(s, &pctx->mod_names, seen_cmp) == NULL) {
			free(k);
			free(s);
		}
		return 0;
	}
	if (strcmp(cfg->name, "host") == 0) {
		tree = &pctx->host_names;
		what = "host";
	} else {
		tree = &pctx->check_names;
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
		s->file = intern_file(cfg->filename);
		s->line = cfg->line;
		if (s->name == NULL || tsearch(s, tree, seen_cmp) == NULL) {
			free((char *)s->name);
			free(s);
		}
	}
	take_section(cfg);
	return 0;
}

static void
seen_free(void *p)
{
	struct seen *s = p;

	free((char *)s->name);
	free(s);
}

/*
 * libconfuse's lexer miscounts lines after comments (each one-line
 * comment counts its newline twice, a block comment one line more), so
 * errors would point below their line.  Comments are therefore blanked
 * out here, newlines kept, with libconfuse's own rules: outside quoted
 * strings, "#", "//" and "/" "*" start a comment.
 */
static void
strip_comments(char *p)
{
	enum { CODE, DQ, SQ, LINE, BLOCK } st = CODE;

	for (; *p != '\0'; p++) {
		switch (st) {
		case CODE:
			if (*p == '"')
				st = DQ;
			else if (*p == '\'')
				st = SQ;
			else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
				st = LINE;
				*p = ' ';
			} else if (p[0] == '/' && p[1] == '*') {
				st = BLOCK;
				*p++ = ' ';
				*p = ' ';
			}
			break;
		case DQ:
		case SQ:
			if (*p == '\\' && p[1] != '\0')
				p++;	/* an escaped quote does not end it */
			else if (*p == (st == DQ ? '"' : '\''))
				st = CODE;
			break;
		case LINE:
			if (*p == '\n')
				st = CODE;
			else
				*p = ' ';
			break;
		case BLOCK:
			if (p[0] == '*' && p[1] == '/') {
				*p++ = ' ';
				*p = ' ';
				st = CODE;
			} else if (*p != '\n')
				*p = ' ';
			break;
		}
	}
}

/*
 * libconfuse leaks the arguments of a function call that a syntax error
 * cuts short (`include("a" }`, `include(a b)`: found by
 * tests/fuzz/fuzz_conf), which every failed reload would repeat.  So each
 * "(" outside quotes is checked here first, on the comment-free text:
 * words or quoted strings separated by ",", then ")".
 * RETURN VALUE: 0, or the line of the first malformed call.
 */
#define CONF_WORD_STOP	"#= \t\r\n{}(),+*\"'"

static const char *
call_arg_end(const char *p)
{
	char q;

	if (*p == '"' || *p == '\'') {
		for (q = *p++; *p != '\0' && *p != q; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		return *p == q ? p + 1 : NULL;
	}
	if (p[0] == '$' && p[1] == '{')		/* ${ENV} */
		return strchr(p, '}') != NULL ? strchr(p, '}') + 1 : NULL;
	return strchr(CONF_WORD_STOP, *p) == NULL ? p + strcspn(p,
	    CONF_WORD_STOP) : NULL;
}

static int
bad_call_line(const char *p)
{
	const char *call;
	int line = 1, at;

	for (; *p != '\0'; p++) {
		if (*p == '\n')
			line++;
		else if (*p == '"' || *p == '\'') {
			call = call_arg_end(p);
			if (call == NULL)
				return 0;	/* libconfuse reports it */
			for (; p < call - 1; p++)
				line += *p == '\n';
		} else if (*p == '(') {
			at = line;
			call = p + 1 + strspn(p + 1, " \t\r\n");
			if (*call != ')') {
				for (;;) {
					if ((call = call_arg_end(call)) == NULL)
						return at;
					call += strspn(call, " \t\r\n");
					if (*call == ')')
						break;
					if (*call != ',')
						return at;
					call++;
					call += strspn(call, " \t\r\n");
				}
			}
			for (; p < call; p++)
				line += *p == '\n';
		}
	}
	return 0;
}

#define CONF_FILE_MAX	(64 * 1024 * 1024)

/* Parse one file into cfg (cfg_parse(), with comments stripped first). */
static int
parse_path(cfg_t *cfg, const char *path)
{
	FILE *fp;
	char *buf;
	long len;
	int rc, bad;

	if ((fp = fopen(path, "r")) == NULL)
		return CFG_FILE_ERROR;
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
	    len > CONF_FILE_MAX || fseek(fp, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)len + 1)) == NULL) {
		if (errno == 0)
			errno = EFBIG;
		fclose(fp);
		return CFG_FILE_ERROR;
	}
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		free(buf);
		fclose(fp);
		return CFG_FILE_ERROR;
	}
	fclose(fp);
	buf[len] = '\0';
	strip_comments(buf);
	if ((bad = bad_call_line(buf)) != 0) {
		conf_errorf(pctx->errs, "%s:%d: malformed function call: "
		    "expected words or quoted strings separated by ',' and "
		    "closed by ')' (quote a pattern: include(\"conf.d/*.conf\"))",
		    path, bad);
		free(buf);
		return CFG_PARSE_ERROR;
	}
	free(cfg->filename);
	cfg->filename = strdup(path);
	/* fmemopen() of an empty buffer fails on some C libraries */
	if (buf[strspn(buf, " \t\r\n")] == '\0') {
		free(buf);
		return CFG_SUCCESS;
	}
	/* cfg_parse_fp, unlike cfg_parse_buf, keeps our file name */
	if ((fp = fmemopen(buf, strlen(buf), "r")) == NULL) {
		free(buf);
		return CFG_FILE_ERROR;
	}
	rc = cfg_parse_fp(cfg, fp);
	fclose(fp);
	free(buf);
	return rc;
}

/* include("pattern"): every file matching pattern, in sorted order,
 * parsed into the top level as if written here.  A pattern without
 * wildcards must name an existing file; one with wildcards may match
 * nothing (an empty conf.d).
 */
static int
cf_include(cfg_t *cfg, cfg_opt_t *opt, int argc, const char **argv)
{
	char *dirbuf, *pattern, *saved_file;
	glob_t g;
	size_t i;
	int saved_line, rc = 0, grc;

	(void)opt;
	if (argc != 1) {
		conf_err_here(cfg, "include: takes one file name or pattern");
		return 0;
	}
	if (++pctx->include_depth > MAX_INCLUDE) {
		conf_err_here(cfg, "include: nested more than %d deep "
		    "(an include loop?)", MAX_INCLUDE);
		pctx->include_depth--;
		return 1;
	}
	if (argv[0][0] == '/')
		pattern = strdup(argv[0]);
	else {
		dirbuf = strdup(cfg->filename ? cfg->filename : ".");
		if (dirbuf == NULL ||
		    asprintf(&pattern, "%s/%s", dirname(dirbuf), argv[0]) < 0)
			pattern = NULL;
		free(dirbuf);
	}
	if (pattern == NULL) {
		pctx->include_depth--;
		return 1;
	}
	grc = glob(pattern, 0, NULL, &g);
	if (grc == GLOB_NOMATCH) {
		if (strpbrk(argv[0], "*?[") == NULL)
			conf_err_here(cfg, "include: %s: no such file",
			    pattern);
		free(pattern);
		pctx->include_depth--;
		return 0;
	}
	if (grc != 0) {
		conf_err_here(cfg, "include: %s: cannot read: %s", pattern,
		    strerror(errno));
		free(pattern);
		pctx->include_depth--;
		return 0;
	}
	free(pattern);
	saved_file = cfg->filename;
	saved_line = cfg->line;
	for (i = 0; i < g.gl_pathc && rc == 0; i++) {
		/* parse_path() replaces (and frees) cfg->filename: keep ours */
		cfg->filename = NULL;
		switch (parse_path(cfg, g.gl_pathv[i])) {
		case CFG_SUCCESS:
			break;
		case CFG_FILE_ERROR:
			conf_errorf(pctx->errs, "%s:%d: include: %s: %s",
			    saved_file, saved_line, g.gl_pathv[i],
			    strerror(errno));
			break;
		default:
			rc = 1;	/* syntax error, already reported */
			break;
		}
		free(cfg->filename);
	}
	cfg->filename = saved_file;
	cfg->line = saved_line;
	globfree(&g);
	pctx->include_depth--;
	return rc;
}

/* ---- building the option tables ----------------------------------- */

/*
 * Options are built at run time because check types come from plugins.
 * A growable array of cfg_opt_t, freed after cfg_init() (which copies).
 */
struct optv {
	cfg_opt_t *v;
	unsigned n;
	bool oom;
};

static cfg_opt_t *
optv_add(struct optv *o, const char *name, cfg_type_t type, unsigned flags)
{
	cfg_opt_t *n, *opt;

	if ((n = reallocarray(o->v, o->n + 2, sizeof(*n))) == NULL) {
		o->oom = true;
		return NULL;
	}
	o->v = n;
	opt = &o->v[o->n++];
	memset(opt, 0, 2 * sizeof(*opt));	/* also the CFG_END after it */
	opt->name = name;
	opt->type = type;
	opt->flags = flags;
	return opt;
}

/* Add one option of our own kind (see tocsin_opt_type). */
static void
optv_typed(struct optv *o, const char *name, enum tocsin_opt_type t,
    const char *def, unsigned tflags)
{
	cfg_opt_t *opt;
	unsigned fl = (tflags & TOCSIN_OPT_REQUIRED) || def == NULL ?
	    CFGF_NODEFAULT : CFGF_NONE;
	int64_t ms;

	switch (t) {
	case TOCSIN_OPT_STR:
		if ((opt = optv_add(o, name, CFGT_STR, fl)) == NULL)
			return;
		opt->def.string = def;
		opt->parsecb = cb_str;
		break;
	case TOCSIN_OPT_INT:
		if ((opt = optv_add(o, name, CFGT_INT, fl)) == NULL)
			return;
		opt->def.number = def ? strtol(def, NULL, 10) : 0;
		opt->parsecb = cb_int;
		break;
	case TOCSIN_OPT_FLOAT:
		if ((opt = optv_add(o, name, CFGT_FLOAT, fl)) == NULL)
			return;
		opt->def.fpnumber = def ? strtod(def, NULL) : 0;
		opt->parsecb = cb_float;
		break;
	case TOCSIN_OPT_BOOL:
		if ((opt = optv_add(o, name, CFGT_BOOL, fl)) == NULL)
			return;
		opt->def.boolean = def && cfg_parse_boolean(def) == 1;
		opt->parsecb = cb_bool;
		break;
	case TOCSIN_OPT_DURATION:
		if ((opt = optv_add(o, name, CFGT_INT, fl)) == NULL)
			return;
		opt->def.number = def && conf_parse_duration(def, &ms) == 0 ?
		    (long)ms : 0;
		opt->parsecb = cb_duration;
		break;
	case TOCSIN_OPT_STR_LIST:
		if ((opt = optv_add(o, name, CFGT_STR, fl | CFGF_LIST)) == NULL)
			return;
		opt->def.parsed = (char *)def;
		opt->parsecb = cb_str;
		break;
	case TOCSIN_OPT_INT_LIST:
		if ((opt = optv_add(o, name, CFGT_INT, fl | CFGF_LIST)) == NULL)
			return;
		opt->def.parsed = (char *)def;
		opt->parsecb = cb_int;
		break;
	case TOCSIN_OPT_END:
		break;
	}
}

static void
optv_hook(struct optv *o)
{
	cfg_opt_t *opt;

	if ((opt = optv_add(o, OPEN_HOOK, CFGT_INT, CFGF_LIST)) == NULL)
		return;
	opt->def.parsed = "{0}";
	opt->parsecb = cb_open;
}

/* Keys every check has, whatever its type (DESIGN.md "Config"). */
static const struct tocsin_option common_options[] = {
	{ "interval", TOCSIN_OPT_DURATION, "1m", 0,
	    "time between runs while OK or hard non-OK" },
	{ "retry_interval", TOCSIN_OPT_DURATION, NULL, 0,
	    "time between runs while soft non-OK (default: interval, at "
	    "most 30s)" },
	{ "max_attempts", TOCSIN_OPT_INT, "3", 0,
	    "non-OK results in a row before the state is hard" },
	{ "timeout", TOCSIN_OPT_DURATION, "10s", 0,
	    "a run taking longer is cancelled" },
	{ "timeout_state", TOCSIN_OPT_STR, "critical", 0,
	    "result of a run that timed out: critical or unknown" },
	{ "host", TOCSIN_OPT_STR, NULL, 0, "the host this check runs on" },
	{ "group", TOCSIN_OPT_STR, NULL, 0, "a group name, for correlation" },
	{ "depends_on", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "checks this one needs: while one is hard non-OK this one is "
	    "UNREACHABLE" },
	{ "impact", TOCSIN_OPT_STR, "medium", 0, "low, medium or high" },
	{ "urgency", TOCSIN_OPT_STR, "medium", 0, "low, medium or high" },
	{ "flap_detection", TOCSIN_OPT_BOOL, "true", 0,
	    "detect flapping over the last 21 results" },
	{ "flap_low", TOCSIN_OPT_FLOAT, "25", 0,
	    "flapping stops below this percent state change" },
	{ "flap_high", TOCSIN_OPT_FLOAT, "50", 0,
	    "flapping starts above this percent state change" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static bool
is_common_option(const char *name)
{
	const struct tocsin_option *o;

	for (o = common_options; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return true;
	return false;
}

/* Options of one check type's section. */
static cfg_opt_t *
type_options(const struct tocsin_check_type *t, struct conf_errors *errs)
{
	struct optv o = { NULL, 0, false };
	const struct tocsin_option *p;

	optv_hook(&o);
	for (p = common_options; p->name != NULL; p++)
		optv_typed(&o, p->name, p->type, p->def, p->flags);
	for (p = t->options; p != NULL && p->name != NULL; p++) {
		if (is_common_option(p->name)) {
			conf_errorf(errs, "check type \"%s\": option \"%s\" "
			    "clashes with a common check key", t->name,
			    p->name);
			continue;
		}
		optv_typed(&o, p->name, p->type, p->def, p->flags);
	}
	if (o.oom) {
		free(o.v);
		return NULL;
	}
	return o.v;
}

/* Options of a module section, its nested sections included. */
static cfg_opt_t *
mod_options(const struct conf_section *ms)
{
	struct optv o = { NULL, 0, false };
	const struct tocsin_option *p;
	const struct conf_section *sub;
	cfg_opt_t *opt;

	optv_hook(&o);
	for (p = ms->options; p != NULL && p->name != NULL; p++)
		optv_typed(&o, p->name, p->type, p->def, p->flags);
	for (sub = ms->subsections; sub != NULL && sub->name != NULL; sub++)
		if ((opt = optv_add(&o, sub->name, CFGT_SEC, CFGF_MULTI |
		    (sub->titled ? CFGF_TITLE : 0))) != NULL &&
		    (opt->subopts = mod_options(sub)) == NULL)
			o.oom = true;
	if (o.oom) {
		opts_free(o.v);
		return NULL;
	}
	return o.v;
}

/* ---- reading values ----------------------------------------------- */

static bool
opt_set(cfg_t *sec, const char *key)
{
	cfg_opt_t *opt = cfg_getopt(sec, key);

	return opt != NULL && (opt->flags & CFGF_MODIFIED) && opt->nvalues > 0;
}

static char **
strlist(cfg_t *sec, const char *key, unsigned *n)
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

static void
strlist_free(char **v, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
level3(const cfg_t *sec, const char *key, const char *v, enum level3 *out)
{
	if (strcasecmp(v, "low") == 0)
		*out = LEVEL_LOW;
	else if (strcasecmp(v, "medium") == 0)
		*out = LEVEL_MEDIUM;
	else if (strcasecmp(v, "high") == 0)
		*out = LEVEL_HIGH;
	else {
		conf_err_at(sec, key, "%s: \"%s\" is not low, medium or high",
		    key, v);
		return -1;
	}
	return 0;
}

/* A duration option that must be at least min_ms; -1 if invalid. */
static int64_t
duration_min(cfg_t *sec, const char *key, int64_t min_ms)
{
	long v = cfg_getint(sec, key);

	if (v < 0)
		return -1;	/* reported by the parser */
	if (v < min_ms) {
		conf_err_at(sec, key, "%s: must be at least %lldms", key,
		    (long long)min_ms);
		return -1;
	}
	return v;
}

/* ---- the plugin ABI's configure() helpers -------------------------- */

const char *
tocsin_conf_str(struct tocsin_conf *cf, const char *key)
{
	return cfg_getstr(cf->sec, key);
}

long
tocsin_conf_int(struct tocsin_conf *cf, const char *key)
{
	return cfg_getint(cf->sec, key);
}

double
tocsin_conf_float(struct tocsin_conf *cf, const char *key)
{
	return cfg_getfloat(cf->sec, key);
}

int
tocsin_conf_bool(struct tocsin_conf *cf, const char *key)
{
	return cfg_getbool(cf->sec, key) ? 1 : 0;
}

int64_t
tocsin_conf_duration_ms(struct tocsin_conf *cf, const char *key)
{
	return cfg_getint(cf->sec, key);
}

unsigned
tocsin_conf_list_size(struct tocsin_conf *cf, const char *key)
{
	return cfg_size(cf->sec, key);
}

const char *
tocsin_conf_list_str(struct tocsin_conf *cf, const char *key, unsigned i)
{
	return cfg_getnstr(cf->sec, key, i);
}

long
tocsin_conf_list_int(struct tocsin_conf *cf, const char *key, unsigned i)
{
	return cfg_getnint(cf->sec, key, i);
}

int
tocsin_conf_is_set(struct tocsin_conf *cf, const char *key)
{
	return opt_set(cf->sec, key) ? 1 : 0;
}

void
tocsin_conf_error(struct tocsin_conf *cf, const char *key, const char *fmt,
    ...)
{
	va_list ap;
	char *msg, label[256];
	const char *file;
	int line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pos_get(cf->sec, key, &file, &line);
	sec_label(cf->sec, label, sizeof(label));
	if (key != NULL)
		conf_errorf(cf->ctx->errs, "%s:%d: %s: %s: %s", file, line,
		    label, key, msg ? msg : "?");
	else
		conf_errorf(cf->ctx->errs, "%s:%d: %s: %s", file, line, label,
		    msg ? msg : "?");
	free(msg);
	cf->nerrors++;
}

void
conf_where(struct tocsin_conf *cf, const char *key, const char **file,
    int *line)
{
	pos_get(cf->sec, key, file, line);
}

const char *
conf_title(struct tocsin_conf *cf)
{
	return cf->sec->title;
}

unsigned
conf_sub_count(struct tocsin_conf *cf, const char *name)
{
	return cfg_size(cf->sec, name);
}

struct tocsin_conf *
conf_sub(struct tocsin_conf *cf, const char *name, unsigned i)
{
	struct tocsin_conf *sub, **v;
	const struct conf_section *ms, *s;
	cfg_t *sec;

	if ((sec = cfg_getnsec(cf->sec, name, i)) == NULL)
		return NULL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return NULL;
	if ((v = reallocarray(cf->ctx->subs, cf->ctx->nsubs + 1,
	    sizeof(*v))) == NULL) {
		free(sub);
		return NULL;
	}
	cf->ctx->subs = v;
	v[cf->ctx->nsubs++] = sub;
	sub->sec = sec;
	sub->ctx = cf->ctx;
	/* the nested section's own required keys */
	for (ms = mod_section(cf->sec->name), s = ms ? ms->subsections : NULL;
	    s != NULL && s->name != NULL; s++)
		if (strcmp(s->name, name) == 0) {
			unsigned before = cf->ctx->errs->n;

			required_keys(sec, s->options);
			sub->nerrors += cf->ctx->errs->n - before;
		}
	return sub;
}

int
conf_nerrors(struct tocsin_conf *cf)
{
	return cf->nerrors;
}

const char *
tocsin_check_name(const struct tocsin_check *chk)
{
	return ((const struct check *)chk)->name;
}

/* ---- objects -------------------------------------------------------- */

static void
check_free(struct check *c)
{
	if (c == NULL)
		return;
	if (c->priv != NULL && c->type != NULL && c->type->def->free != NULL)
		c->type->def->free(c->priv);
	free(c->name);
	free(c->host_name);
	free(c->group);
	strlist_free(c->depends_on, c->ndepends);
	free(c->deps);
	free(c->file);
	result_clear(&c->last);
	free(c);
}

static void
host_free(struct host *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->address);
	free(h->check_name);
	strlist_free(h->parents, h->nparents);
	free(h->parent_hosts);
	free(h->file);
	free(h);
}

static int
check_cmp(const void *a, const void *b)
{
	return strcmp((*(struct check *const *)a)->name,
	    (*(struct check *const *)b)->name);
}

static int
host_cmp(const void *a, const void *b)
{
	return strcmp((*(struct host *const *)a)->name,
	    (*(struct host *const *)b)->name);
}

struct check *
conf_check(const struct config *cf, const char *name)
{
	struct check key, *kp = &key, **found;

	if (cf == NULL || cf->nchecks == 0)
		return NULL;
	key.name = (char *)name;
	found = bsearch(&kp, cf->checks, cf->nchecks, sizeof(*cf->checks),
	    check_cmp);
	return found ? *found : NULL;
}

struct host *
conf_host(const struct config *cf, const char *name)
{
	struct host key, *kp = &key, **found;

	if (cf == NULL || cf->nhosts == 0)
		return NULL;
	key.name = (char *)name;
	found = bsearch(&kp, cf->hosts, cf->nhosts, sizeof(*cf->hosts),
	    host_cmp);
	return found ? *found : NULL;
}

static struct check *
check_build(struct ctype *ct, cfg_t *sec)
{
	struct check *c;
	const char *file, *v;
	int line, bad = 0;
	int64_t retry;
	long n;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->name = strdup(sec->title);
	c->type = ct;
	pos_get(sec, NULL, &file, &line);
	c->file = strdup(file);
	c->line = line;
	c->host_name = xstrdup(cfg_getstr(sec, "host"));
	c->group = xstrdup(cfg_getstr(sec, "group"));
	c->depends_on = strlist(sec, "depends_on", &c->ndepends);

	if ((c->interval_ms = duration_min(sec, "interval", 10)) < 0)
		bad = 1;
	if ((c->timeout_ms = duration_min(sec, "timeout", 10)) < 0)
		bad = 1;
	if (opt_set(sec, "retry_interval")) {
		if ((retry = duration_min(sec, "retry_interval", 10)) < 0)
			bad = 1;
		c->retry_ms = retry;
	} else
		c->retry_ms = c->interval_ms < 30000 ? c->interval_ms : 30000;
	n = cfg_getint(sec, "max_attempts");
	if (n != LONG_MIN && (n < 1 || n > 100)) {
		conf_err_at(sec, "max_attempts", "max_attempts: %ld is not "
		    "between 1 and 100", n);
		bad = 1;
	}
	c->max_attempts = n == LONG_MIN ? 1 : (int)n;
	v = cfg_getstr(sec, "timeout_state");
	if (strcasecmp(v, "critical") == 0)
		c->timeout_state = STATE_CRITICAL;
	else if (strcasecmp(v, "unknown") == 0)
		c->timeout_state = STATE_UNKNOWN;
	else {
		conf_err_at(sec, "timeout_state", "timeout_state: \"%s\" is "
		    "not critical or unknown", v);
		bad = 1;
	}
	if (level3(sec, "impact", cfg_getstr(sec, "impact"), &c->impact) ||
	    level3(sec, "urgency", cfg_getstr(sec, "urgency"), &c->urgency))
		bad = 1;
	c->flap.enabled = cfg_getbool(sec, "flap_detection");
	c->flap.low = cfg_getfloat(sec, "flap_low");
	c->flap.high = cfg_getfloat(sec, "flap_high");
	if (!(c->flap.low >= 0 && c->flap.low <= c->flap.high &&
	    c->flap.high <= 100)) {
		conf_err_at(sec, "flap_high", "flap_low (%g) and flap_high "
		    "(%g) must satisfy 0 <= flap_low <= flap_high <= 100",
		    c->flap.low, c->flap.high);
		bad = 1;
	}
	state_init(&c->st);
	c->last.state = STATE_OK;
	(void)bad;	/* every problem is in the error list already */
	return c;
}

static struct host *
host_build(cfg_t *sec)
{
	struct host *h;
	const char *file;
	int line;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->name = strdup(sec->title);
	pos_get(sec, NULL, &file, &line);
	h->file = strdup(file);
	h->line = line;
	h->address = xstrdup(cfg_getstr(sec, "address"));
	h->check_name = xstrdup(cfg_getstr(sec, "check"));
	h->parents = strlist(sec, "parents", &h->nparents);
	return h;
}

/* ---- references and cycles ----------------------------------------- */

/*
 * The "needs" graph: check C needs D when D being hard non-OK makes C
 * UNREACHABLE — D in C's depends_on, D the check of C's host, or (for a
 * host's own check) D the check of a parent host.  A cycle in it would
 * make a set of checks UNREACHABLE because of each other.
 */
struct edge_iter {
	const struct check *c;
	unsigned i;		/* position over deps, then host, then parents */
};

/* Next check that c needs, or NULL; *key is the config key it came from. */
static struct check *
needs_next(struct edge_iter *it, const char **key)
{
	const struct check *c = it->c;
	struct host *h = c->host;
	unsigned k;

	while (it->i < c->ndepends) {
		struct check *d = c->deps[it->i++];

		if (d != NULL) {
			*key = "depends_on";
			return d;
		}
	}
	k = it->i - c->ndepends;
	if (k == 0) {
		it->i++;
		if (h != NULL && h->check != NULL && h->check != c) {
			*key = "host";
			return h->check;
		}
		k++;
	}
	/* the host check of a host needs its parents' host checks */
	for (; h != NULL && h->check == c && k - 1 < h->nparents; k++) {
		struct host *p = h->parent_hosts[k - 1];

		it->i++;
		if (p != NULL && p->check != NULL) {
			*key = "parents";
			return p->check;
		}
	}
	return NULL;
}

/* Iterative DFS (a long chain must not overflow the stack). */
static void
check_cycles(struct config *cf)
{
	enum { WHITE, GREY, BLACK } *color;
	struct edge_iter *stack;
	unsigned i, sp, j;
	size_t idx;

	color = calloc(cf->nchecks, sizeof(*color));
	stack = calloc(cf->nchecks + 1, sizeof(*stack));
	if (color == NULL || stack == NULL)
		goto out;
	for (i = 0; i < cf->nchecks; i++) {
		if (color[i] != WHITE)
			continue;
		sp = 0;
		stack[sp].c = cf->checks[i];
		stack[sp].i = 0;
		color[i] = GREY;
		while (1) {
			const char *key = NULL;
			struct check *d = needs_next(&stack[sp], &key);

			if (d == NULL) {
				idx = stack[sp].c->idx;
				color[idx] = BLACK;
				if (sp == 0)
					break;
				sp--;
				continue;
			}
			idx = d->idx;
			if (color[idx] == GREY) {
				/* report at the edge that closes the cycle */
				char path[1024] = "";
				size_t off = 0;
				const struct check *from = stack[sp].c;

				for (j = 0; j <= sp; j++)
					if (stack[j].c == d)
						break;
				for (; j <= sp && off < sizeof(path); j++)
					off += snprintf(path + off,
					    sizeof(path) - off, "%s -> ",
					    stack[j].c->name);
				if (off < sizeof(path))
					snprintf(path + off, sizeof(path) - off,
					    "%s", d->name);
				if (strcmp(key, "parents") == 0 &&
				    from->host != NULL)
					conf_err_at(from->host->sec, "parents",
					    "parents: dependency cycle: %s",
					    path);
				else
					conf_err_at(from->sec, key, "%s: "
					    "dependency cycle: %s", key, path);
				continue;
			}
			if (color[idx] == BLACK)
				continue;
			color[idx] = GREY;
			sp++;
			stack[sp].c = d;
			stack[sp].i = 0;
		}
	}
out:
	free(color);
	free(stack);
}

static void
host_cycles(struct config *cf)
{
	unsigned char *color;	/* 0 white, 1 grey, 2 black */
	struct { struct host *h; unsigned i; } *stack;
	unsigned i, sp;

	color = calloc(cf->nhosts, 1);
	stack = calloc(cf->nhosts + 1, sizeof(*stack));
	if (color == NULL || stack == NULL)
		goto out;
	for (i = 0; i < cf->nhosts; i++) {
		if (color[i] != 0)
			continue;
		sp = 0;
		stack[0].h = cf->hosts[i];
		stack[0].i = 0;
		color[i] = 1;
		while (1) {
			struct host *h = stack[sp].h, *p = NULL;

			while (stack[sp].i < h->nparents && p == NULL)
				p = h->parent_hosts[stack[sp].i++];
			if (p == NULL) {
				color[h->idx] = 2;
				if (sp == 0)
					break;
				sp--;
				continue;
			}
			if (color[p->idx] == 1) {
				conf_err_at(h->sec, "parents", "parents: "
				    "dependency cycle through host \"%s\"",
				    p->name);
				continue;
			}
			if (color[p->idx] == 2)
				continue;
			color[p->idx] = 1;
			stack[++sp].h = p;
			stack[sp].i = 0;
		}
	}
out:
	free(color);
	free(stack);
}

/* After a syntax error the name may be defined in what was not parsed. */
#define PARTIAL_HINT (pctx->partial ? " (or it is defined after the " \
	"point where parsing stopped)" : "")

static void
resolve_refs(struct config *cf)
{
	unsigned i, j;

	for (i = 0; i < cf->nhosts; i++) {
		struct host *h = cf->hosts[i];

		if (h->check_name != NULL &&
		    (h->check = conf_check(cf, h->check_name)) == NULL)
			conf_err_at(h->sec, "check", "check: no check is named "
			    "\"%s\"%s", h->check_name, PARTIAL_HINT);
		h->parent_hosts = calloc(h->nparents ? h->nparents : 1,
		    sizeof(*h->parent_hosts));
		for (j = 0; h->parent_hosts && j < h->nparents; j++) {
			h->parent_hosts[j] = conf_host(cf, h->parents[j]);
			if (h->parent_hosts[j] == NULL)
				conf_err_at(h->sec, "parents", "parents: no "
				    "host is named \"%s\"%s", h->parents[j],
				    PARTIAL_HINT);
			else if (h->parent_hosts[j] == h) {
				conf_err_at(h->sec, "parents", "parents: "
				    "dependency cycle: a host cannot be its "
				    "own parent");
				h->parent_hosts[j] = NULL;
			}
		}
	}
	for (i = 0; i < cf->nchecks; i++) {
		struct check *c = cf->checks[i];

		if (c->host_name != NULL &&
		    (c->host = conf_host(cf, c->host_name)) == NULL)
			conf_err_at(c->sec, "host", "host: no host is "
			    "named \"%s\"%s", c->host_name, PARTIAL_HINT);
		c->deps = calloc(c->ndepends ? c->ndepends : 1,
		    sizeof(*c->deps));
		for (j = 0; c->deps && j < c->ndepends; j++) {
			c->deps[j] = conf_check(cf, c->depends_on[j]);
			if (c->deps[j] == NULL)
				conf_err_at(c->sec, "depends_on", "depends_on: "
				    "no check is named \"%s\"%s",
				    c->depends_on[j], PARTIAL_HINT);
			else if (c->deps[j] == c) {
				conf_err_at(c->sec, "depends_on", "depends_on: "
				    "dependency cycle: a check cannot depend on "
				    "itself");
				c->deps[j] = NULL;
			}
		}
	}
}

/* ---- the whole file ------------------------------------------------- */

static void
opts_free(cfg_opt_t *v)
{
	unsigned i;

	for (i = 0; v != NULL && v[i].name != NULL; i++)
		if (v[i].type == CFGT_SEC)
			opts_free(v[i].subopts);
	free(v);
}

/*
 * Root options.  With types == false only what the pre-parse needs
 * (daemon { plugin_dir } before plugins are loaded).
 */
static cfg_opt_t *
root_options(bool types, struct conf_errors *errs)
{
	struct optv root = { NULL, 0, false }, d = { NULL, 0, false },
	    a = { NULL, 0, false }, h = { NULL, 0, false };
	cfg_opt_t *opt;
	unsigned i;

	optv_typed(&d, "state_dir", TOCSIN_OPT_STR, TOCSIN_STATE_DIR, 0);
	optv_typed(&d, "plugin_dir", TOCSIN_OPT_STR, TOCSIN_PLUGIN_DIR, 0);
	optv_typed(&d, "log_level", TOCSIN_OPT_STR, "info", 0);
	optv_typed(&d, "user", TOCSIN_OPT_STR, NULL, 0);
	optv_typed(&d, "allow_root", TOCSIN_OPT_BOOL, "false", 0);
	optv_typed(&d, "concurrency", TOCSIN_OPT_STR_LIST, NULL, 0);
	optv_typed(&d, "rrdcached", TOCSIN_OPT_STR, NULL, 0);
	optv_typed(&a, "listen", TOCSIN_OPT_STR, "127.0.0.1:8470", 0);
	optv_typed(&a, "token_file", TOCSIN_OPT_STR, NULL, 0);
	optv_typed(&a, "read_requires_token", TOCSIN_OPT_BOOL, "false", 0);
	optv_typed(&a, "allow_remote_reads", TOCSIN_OPT_BOOL, "false", 0);
	optv_hook(&h);
	optv_typed(&h, "address", TOCSIN_OPT_STR, NULL, 0);
	optv_typed(&h, "check", TOCSIN_OPT_STR, NULL, 0);
	optv_typed(&h, "parents", TOCSIN_OPT_STR_LIST, NULL, 0);
	/* for the automatic host check (check = ping), see auto_host_checks */
	optv_typed(&h, "interval", TOCSIN_OPT_DURATION, NULL, 0);
	optv_typed(&h, "retry_interval", TOCSIN_OPT_DURATION, NULL, 0);
	optv_typed(&h, "max_attempts", TOCSIN_OPT_INT, NULL, 0);
	optv_typed(&h, "timeout", TOCSIN_OPT_DURATION, NULL, 0);

	if ((opt = optv_add(&root, "daemon", CFGT_SEC, CFGF_NONE)) != NULL)
		opt->subopts = d.v;
	if ((opt = optv_add(&root, "api", CFGT_SEC, CFGF_NONE)) != NULL)
		opt->subopts = a.v;
	if ((opt = optv_add(&root, "host", CFGT_SEC,
	    CFGF_MULTI | CFGF_TITLE)) != NULL)
		opt->subopts = h.v;
	if ((opt = optv_add(&root, "include", CFGT_FUNC, CFGF_NONE)) != NULL)
		opt->func = cf_include;
	for (i = 0; types && i < ctype_count(); i++) {
		const struct tocsin_check_type *t = ctype_at(i)->def;

		if (strcmp(t->name, "daemon") == 0 ||
		    strcmp(t->name, "api") == 0 ||
		    strcmp(t->name, "host") == 0 ||
		    strcmp(t->name, "include") == 0) {
			conf_errorf(errs, "check type \"%s\": name is reserved",
			    t->name);
			continue;
		}
		if (mod_section(t->name) != NULL) {
			conf_errorf(errs, "check type \"%s\": name is used by "
			    "a section of the core", t->name);
			continue;
		}
		if ((opt = optv_add(&root, t->name, CFGT_SEC,
		    CFGF_MULTI | CFGF_TITLE)) != NULL)
			opt->subopts = type_options(t, errs);
	}
	for (i = 0; types && i < nmod_secs; i++) {
		const struct conf_section *ms = mod_secs[i];

		if ((opt = optv_add(&root, ms->name, CFGT_SEC, ms->titled ?
		    CFGF_MULTI | CFGF_TITLE : CFGF_NONE)) != NULL &&
		    (opt->subopts = mod_options(ms)) == NULL)
			root.oom = true;
	}
	if (root.oom || d.oom || a.oom || h.oom) {
		opts_free(root.v);
		return NULL;
	}
	return root.v;
}

/* A path from the config, relative to the config file's directory. */
static char *
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

static void
ctx_free(struct parse_ctx *ctx)
{
	unsigned i;

	tdestroy(ctx->positions, free);
	tdestroy(ctx->check_names, seen_free);
	tdestroy(ctx->host_names, seen_free);
	tdestroy(ctx->mod_names, seen_free);
	for (i = 0; i < ctx->nsubs; i++)
		free(ctx->subs[i]);
	free(ctx->subs);
	for (i = 0; i < ctx->nfiles; i++)
		free(ctx->files[i]);
	free(ctx->files);
	for (i = 0; i < ctx->ntaken; i++) {
		ctx->taken[i]->section->path = NULL;	/* the root's */
		cfg_free(ctx->taken[i]->section);
		free(ctx->taken[i]);
	}
	free(ctx->taken);
}

/* The file a key was written in (relative paths start there), or dflt. */
static const char *
key_file(const cfg_t *sec, const char *key, const char *dflt)
{
	struct pos k, **found;

	k.sec = sec;
	k.name = key;
	found = tfind(&k, &pctx->positions, pos_cmp);
	return found != NULL ? (*found)->file : dflt;
}

static void
load_daemon(struct config *cf, cfg_t *root)
{
	cfg_t *d = cfg_getsec(root, "daemon"), *a = cfg_getsec(root, "api");
	const char *lv = cfg_getstr(d, "log_level");
	unsigned i;

	cf->state_dir = conf_path(key_file(d, "state_dir", cf->path),
	    cfg_getstr(d, "state_dir"));
	cf->plugin_dir = conf_path(key_file(d, "plugin_dir", cf->path),
	    cfg_getstr(d, "plugin_dir"));
	cf->user = xstrdup(cfg_getstr(d, "user"));
	cf->allow_root = cfg_getbool(d, "allow_root");
	/* at -t and reload time, not only when root switches to it */
	if (cf->user != NULL && getpwnam(cf->user) == NULL)
		conf_err_at(d, "user", "user: no such user \"%s\" (create "
		    "it: useradd --system --home-dir %s --no-create-home "
		    "--shell /usr/sbin/nologin %s)", cf->user,
		    cf->state_dir != NULL ? cf->state_dir : "/var/lib/tocsin",
		    cf->user);
	cf->rrdcached = xstrdup(cfg_getstr(d, "rrdcached"));
	if (cf->rrdcached != NULL && cf->rrdcached[0] == '\0')
		conf_err_at(d, "rrdcached", "rrdcached: must be "
		    "\"unix:/path\" or \"host:port\"");
	if ((cf->log_level = log_level_from_name(lv)) < 0)
		conf_err_at(d, "log_level", "log_level: \"%s\" is not "
		    "one of error, warning, notice, info, debug", lv);
	cf->concurrency = strlist(d, "concurrency", &cf->nconcurrency);
	for (i = 0; i < cf->nconcurrency; i++) {
		char *eq = strchr(cf->concurrency[i], '='), *end;
		long n;

		if (eq == NULL) {
			conf_err_at(d, "concurrency", "concurrency: "
			    "\"%s\" is not TYPE=N", cf->concurrency[i]);
			continue;
		}
		*eq = '\0';
		n = strtol(eq + 1, &end, 10);
		if (ctype_find(cf->concurrency[i]) == NULL)
			conf_err_at(d, "concurrency", "concurrency: no "
			    "check type \"%s\"", cf->concurrency[i]);
		if (end == eq + 1 || *end != '\0' || n < 0 || n > 1000000)
			conf_err_at(d, "concurrency", "concurrency: "
			    "\"%s\" is not a number of runs", eq + 1);
		*eq = '=';
	}
	cf->api_listen = xstrdup(cfg_getstr(a, "listen"));
	if (cfg_getstr(a, "token_file") != NULL)
		cf->api_token_file = conf_path(key_file(a, "token_file",
		    cf->path), cfg_getstr(a, "token_file"));
	else if (cf->state_dir != NULL &&
	    asprintf(&cf->api_token_file, "%s/api.token", cf->state_dir) < 0)
		cf->api_token_file = NULL;
	cf->api_read_requires_token = cfg_getbool(a, "read_requires_token");
	cf->api_allow_remote_reads = cfg_getbool(a, "allow_remote_reads");
}

static int
add_ptr(void ***v, unsigned *n, void *p)
{
	void **nv;

	if ((nv = reallocarray(*v, *n + 1, sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	nv[(*n)++] = p;
	return 0;
}

static void
load_section(struct config *cf, cfg_t *sec)
{
	struct ctype *ct;

	if (strcmp(sec->name, "host") == 0) {
		struct host *h = host_build(sec);

		if (h == NULL ||
		    add_ptr((void ***)&cf->hosts, &cf->nhosts, h) != 0) {
			host_free(h);
			conf_errorf(pctx->errs, "out of memory");
			return;
		}
		h->sec = sec;
	} else if ((ct = ctype_find(sec->name)) != NULL) {
		struct check *c = check_build(ct, sec);

		if (c == NULL ||
		    add_ptr((void ***)&cf->checks, &cf->nchecks, c) != 0) {
			check_free(c);
			conf_errorf(pctx->errs, "out of memory");
			return;
		}
		c->sec = sec;
	}
}

/* Key tokey of section to is said to be where fromkey of from is. */
static void
pos_alias(const cfg_t *to, const char *tokey, const cfg_t *from,
    const char *fromkey)
{
	struct pos key, *p, **found;
	const char *file;
	int line;

	pos_get(from, fromkey, &file, &line);
	key.sec = to;
	key.name = tokey;
	if ((found = tfind(&key, &pctx->positions, pos_cmp)) != NULL) {
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
	if (tsearch(p, &pctx->positions, pos_cmp) == NULL)
		free(p);
}

/*
 * host "H" { address = "A"  check = "ping" } makes a ping check named
 * H-ping (address A, host H, so H's parents decide its reachability) and
 * makes it H's check, as a Nagios host check.  The host's interval,
 * retry_interval, max_attempts and timeout keys are that check's.  A
 * check the config itself names "ping" keeps its meaning.  Messages
 * about the made check point at the host's `check` line.
 */
static const char *const host_check_keys[] = { "interval",
    "retry_interval", "max_attempts", "timeout", NULL };

static void
auto_host_checks(struct config *cf, cfg_t *root)
{
	struct ctype *ct = ctype_find("ping");
	bool named_ping = false;
	unsigned i, j, k;
	char *name;
	cfg_t *sec;

	for (j = 0; j < cf->nchecks; j++)
		if (strcmp(cf->checks[j]->name, "ping") == 0)
			named_ping = true;
	for (i = 0; i < cf->nhosts; i++) {
		struct host *h = cf->hosts[i];
		cfg_t *hs = h->sec;
		bool autoc = h->check_name != NULL && !named_ping &&
		    strcmp(h->check_name, "ping") == 0;

		for (k = 0; host_check_keys[k] != NULL; k++)
			if (!autoc && opt_set(hs, host_check_keys[k]))
				conf_err_at(hs, host_check_keys[k], "%s: only "
				    "for the automatic host check (check = "
				    "ping)", host_check_keys[k]);
		if (!autoc)
			continue;
		if (ct == NULL) {
			conf_err_at(hs, "check", "check: \"ping\" needs the "
			    "ping plugin, which is not loaded");
			goto skip;
		}
		if (h->address == NULL) {
			conf_err_at(hs, NULL, "check = ping needs the host's "
			    "address");
			goto skip;
		}
		if (asprintf(&name, "%s-ping", h->name) < 0)
			continue;
		for (j = 0; j < cf->nchecks; j++)
			if (strcmp(cf->checks[j]->name, name) == 0)
				break;
		if (j < cf->nchecks) {
			conf_err_at(hs, "check", "check: the automatic host "
			    "check \"%s\" clashes with the check of that name "
			    "at %s:%d", name, cf->checks[j]->file,
			    cf->checks[j]->line);
			free(name);
			goto skip;
		}
		if ((sec = cfg_addtsec(root, "ping", name)) == NULL) {
			conf_errorf(pctx->errs, "out of memory");
			free(name);
			continue;
		}
		pos_alias(sec, OPEN_HOOK, hs, "check");
		cfg_setstr(sec, "address", h->address);
		cfg_setstr(sec, "host", h->name);
		pos_alias(sec, "address", hs, "address");
		for (k = 0; host_check_keys[k] != NULL; k++) {
			cfg_opt_t *opt;

			if (!opt_set(hs, host_check_keys[k]))
				continue;
			cfg_setint(sec, host_check_keys[k],
			    cfg_getint(hs, host_check_keys[k]));
			if ((opt = cfg_getopt(sec, host_check_keys[k])) != NULL)
				opt->flags |= CFGF_MODIFIED;
			pos_alias(sec, host_check_keys[k], hs,
			    host_check_keys[k]);
		}
		free(h->check_name);
		h->check_name = name;
		load_section(cf, sec);
		continue;
skip:
		/* reported: no second "no check is named" for it */
		free(h->check_name);
		h->check_name = NULL;
	}
}

static void
load_objects(struct config *cf, cfg_t *root)
{
	unsigned i, j, n;

	for (i = 0; i < pctx->ntaken; i++)
		load_section(cf, pctx->taken[i]->section);
	/* sections take_section() could not take are still in libconfuse */
	n = cfg_size(root, "host");
	for (i = 0; i < n; i++)
		load_section(cf, cfg_getnsec(root, "host", i));
	for (j = 0; j < ctype_count(); j++) {
		const char *name = ctype_at(j)->def->name;

		n = cfg_size(root, name);
		for (i = 0; i < n; i++)
			load_section(cf, cfg_getnsec(root, name, i));
	}
	auto_host_checks(cf, root);
	if (cf->nhosts)
		qsort(cf->hosts, cf->nhosts, sizeof(*cf->hosts), host_cmp);
	if (cf->nchecks)
		qsort(cf->checks, cf->nchecks, sizeof(*cf->checks), check_cmp);
	for (i = 0; i < cf->nhosts; i++)
		cf->hosts[i]->idx = i;
	for (i = 0; i < cf->nchecks; i++)
		cf->checks[i]->idx = i;
}

static void
required_keys(cfg_t *sec, const struct tocsin_option *opts)
{
	const struct tocsin_option *o;

	for (o = opts; o != NULL && o->name != NULL; o++)
		if ((o->flags & TOCSIN_OPT_REQUIRED) &&
		    cfg_size(sec, o->name) == 0)
			conf_err_at(sec, NULL, "missing required key "
			    "\"%s\"", o->name);
}

static void
configure_checks(struct config *cf)
{
	struct tocsin_conf tc;
	unsigned i;

	for (i = 0; i < cf->nchecks; i++) {
		struct check *c = cf->checks[i];
		unsigned before = pctx->errs->n;

		required_keys(c->sec, c->type->def->options);
		if (pctx->errs->n != before)
			continue;	/* configure() may rely on required keys */
		tc.sec = c->sec;
		tc.chk = c;
		tc.ctx = pctx;
		tc.nerrors = 0;
		c->priv = NULL;
		if (c->type->def->configure((struct tocsin_check *)c, &tc,
		    &c->priv) != 0) {
			if (pctx->errs->n == before)
				conf_err_at(c->sec, NULL, "the %s plugin "
				    "refused this check", c->type->def->name);
			c->priv = NULL;	/* configure() frees on failure */
		}
	}
}

/*
 * Sections of core modules, in registration order and then file order;
 * each module's finish() runs after all of its sections are loaded, when
 * the checks and hosts are known, to check its cross-references.
 */
static void
load_modules(struct config *cf, cfg_t *root)
{
	struct tocsin_conf tc;
	unsigned i, j, n;

	for (i = 0; i < nmod_secs; i++) {
		const struct conf_section *ms = mod_secs[i];

		n = cfg_size(root, ms->name);
		for (j = 0; j < n; j++) {
			cfg_t *sec = cfg_getnsec(root, ms->name, j);
			unsigned before = pctx->errs->n;

			required_keys(sec, ms->options);
			if (pctx->errs->n != before)
				continue;
			tc.sec = sec;
			tc.chk = NULL;
			tc.ctx = pctx;
			tc.nerrors = 0;
			if (ms->load(cf, &tc, &cf->mod_state[i]) != 0 &&
			    pctx->errs->n == before)
				conf_err_at(sec, NULL, "invalid section");
		}
		if (ms->finish != NULL)
			ms->finish(cf, &cf->mod_state[i], pctx->errs);
	}
}

static cfg_t *
parse_file(const char *path, cfg_opt_t *opts, unsigned flags)
{
	cfg_t *cfg;
	int rc;

	if ((cfg = cfg_init(opts, flags)) == NULL)
		return NULL;
	cfg_set_error_function(cfg, conf_errfunc);
	pctx->root = cfg;
	rc = parse_path(cfg, path);
	if (rc == CFG_FILE_ERROR) {
		conf_errorf(pctx->errs, "%s: cannot read: %s", path,
		    strerror(errno));
		cfg_free(cfg);
		pctx->root = NULL;
		return NULL;
	}
	if (rc != CFG_SUCCESS) {
		if (pctx->errs->n == 0)
			conf_errorf(pctx->errs, "%s: syntax error", path);
		/*
		 * Keep what was parsed: checking it finds more mistakes for
		 * the same run of -t.  The config is refused anyway.
		 */
		pctx->partial = true;
	}
	return cfg;
}

struct config *
conf_load(const char *path, struct conf_errors *errs)
{
	struct parse_ctx ctx;
	struct config *cf = NULL;
	cfg_opt_t *opts;
	cfg_t *root = NULL;
	unsigned i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.errs = errs;
	pctx = &ctx;
	if ((opts = root_options(true, errs)) == NULL) {
		conf_errorf(errs, "%s: out of memory", path);
		goto out;
	}
	root = parse_file(path, opts, CFGF_NONE);
	opts_free(opts);
	if (root == NULL)
		goto out;
	if ((cf = calloc(1, sizeof(*cf))) == NULL ||
	    (cf->path = strdup(path)) == NULL) {
		conf_errorf(errs, "%s: out of memory", path);
		goto out;
	}
	load_daemon(cf, root);
	load_objects(cf, root);
	resolve_refs(cf);
	host_cycles(cf);
	check_cycles(cf);
	configure_checks(cf);
	load_modules(cf, root);
out:
	if (cf != NULL) {
		for (i = 0; i < cf->nchecks; i++)
			cf->checks[i]->sec = NULL;
		for (i = 0; i < cf->nhosts; i++)
			cf->hosts[i]->sec = NULL;
	}
	if (root != NULL)
		cfg_free(root);
	ctx_free(&ctx);
	pctx = NULL;
	if (errs->n > 0) {
		conf_free(cf);
		return NULL;
	}
	return cf;
}

/*
 * plugin_dir is needed before the config can be parsed (plugins define
 * its sections), and libconfuse cannot skip sections it does not know
 * (CFGF_IGNORE_UNKNOWN loses a token after an unknown "{").  So the main
 * file is scanned for the key, comments aside; conf_load() later checks
 * the value in its context.  plugin_dir must therefore be in the main file.
 */
char *
conf_plugin_dir(const char *path)
{
	regex_t re;
	regmatch_t m[4];
	FILE *fp;
	char *line = NULL, *dir = NULL, *hash;
	size_t cap = 0;
	ssize_t n;

	if (regcomp(&re, "^[ \t]*plugin_dir[ \t]*=[ \t]*(\"([^\"]*)\"|"
	    "([^ \t\r\n#\"}]+))", REG_EXTENDED) != 0)
		return strdup(TOCSIN_PLUGIN_DIR);
	if ((fp = fopen(path, "r")) != NULL) {
		while (dir == NULL && (n = getline(&line, &cap, fp)) > 0) {
			char *p = line;

			if ((hash = strstr(line, "//")) != NULL)
				*hash = '\0';
			if ((hash = strchr(line, '#')) != NULL)
				*hash = '\0';
			/* the key may follow "daemon {" on the same line */
			if ((hash = strstr(p, "daemon")) != NULL &&
			    strchr(hash, '{') != NULL)
				p = strchr(hash, '{') + 1;
			for (; p != NULL && dir == NULL;) {
				if (regexec(&re, p, 4, m, 0) == 0) {
					int g = m[2].rm_so >= 0 ? 2 : 3;

					p[m[g].rm_eo] = '\0';
					dir = conf_path(path, p + m[g].rm_so);
					break;
				}
				/* keys may share a line: try after the next space */
				p = strpbrk(p, " \t");
				if (p != NULL)
					p++;
			}
		}
		fclose(fp);
	}
	free(line);
	regfree(&re);
	return dir != NULL ? dir : strdup(TOCSIN_PLUGIN_DIR);
}

void
conf_free(struct config *cf)
{
	unsigned i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nchecks; i++)
		check_free(cf->checks[i]);
	free(cf->checks);
	for (i = 0; i < cf->nhosts; i++)
		host_free(cf->hosts[i]);
	free(cf->hosts);
	strlist_free(cf->concurrency, cf->nconcurrency);
	for (i = 0; i < nmod_secs; i++)
		if (cf->mod_state[i] != NULL && mod_secs[i]->free != NULL)
			mod_secs[i]->free(cf->mod_state[i]);
	free(cf->path);
	free(cf->state_dir);
	free(cf->plugin_dir);
	free(cf->user);
	free(cf->rrdcached);
	free(cf->api_listen);
	free(cf->api_token_file);
	free(cf);
}
