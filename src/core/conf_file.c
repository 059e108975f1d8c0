/*
 * conf_file.c — reading config files for the parser (conf_int.h): the
 * text goes through two passes of our own before libconfuse sees it
 * (comments blanked, function calls checked), include() globs, and the
 * plugin_dir pre-scan that runs before plugins are loaded.
 */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"

#define MAX_INCLUDE	16

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
int
conf_parse_path(cfg_t *cfg, const char *path)
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
		conf_errorf(conf_pctx->errs, "%s:%d: malformed function call: "
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
int
conf_include(cfg_t *cfg, cfg_opt_t *opt, int argc, const char **argv)
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
	if (++conf_pctx->include_depth > MAX_INCLUDE) {
		conf_err_here(cfg, "include: nested more than %d deep "
		    "(an include loop?)", MAX_INCLUDE);
		conf_pctx->include_depth--;
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
		conf_pctx->include_depth--;
		return 1;
	}
	grc = glob(pattern, 0, NULL, &g);
	if (grc == GLOB_NOMATCH) {
		if (strpbrk(argv[0], "*?[") == NULL)
			conf_err_here(cfg, "include: %s: no such file",
			    pattern);
		free(pattern);
		conf_pctx->include_depth--;
		return 0;
	}
	if (grc != 0) {
		conf_err_here(cfg, "include: %s: cannot read: %s", pattern,
		    strerror(errno));
		free(pattern);
		conf_pctx->include_depth--;
		return 0;
	}
	free(pattern);
	saved_file = cfg->filename;
	saved_line = cfg->line;
	for (i = 0; i < g.gl_pathc && rc == 0; i++) {
		/* conf_parse_path() replaces (and frees) cfg->filename: keep ours */
		cfg->filename = NULL;
		switch (conf_parse_path(cfg, g.gl_pathv[i])) {
		case CFG_SUCCESS:
			break;
		case CFG_FILE_ERROR:
			conf_errorf(conf_pctx->errs, "%s:%d: include: %s: %s",
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
	conf_pctx->include_depth--;
	return rc;
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
