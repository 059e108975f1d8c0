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
#include <stdbool.h>
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

/*
 * ---- a check of the text libconfuse's grammar cannot give ----------
 *
 * Two mistakes make libconfuse report something far from the cause:
 *  - a value with a space (`interval = 30 s`): it reads `30`, then `s`
 *    as the next key ("unknown key "s"", then a syntax error at the next
 *    "=");
 *  - a missing closing quote: its strings may span lines, so the string
 *    runs on to the next quote, lines later, and what follows no longer
 *    fits ("unknown key" with swallowed text, or "premature end of file").
 * So the text is tokenised as libconfuse does (comments skipped) and walked
 * with its grammar (KEY = VALUE, KEY = { LIST }, NAME [TITLE] { … },
 * NAME(ARGS)).  Where a value is followed on its line by words that
 * cannot start the next statement, the value and those words are quoted
 * together, so the key's own parser reports the whole value ("30 s" is
 * not a duration); conf_quoted() tells a string key's parser to report
 * it too.  Where what follows a string that spans lines (or the end of
 * the file inside one) does not fit, the string is reported at the line
 * it began and closed at the end of that line, so the rest of the file
 * is still checked.  At the end of a file with sections left open, the
 * last string that spans lines is blamed only if what it holds looks
 * like config (text_swallowed()); a missing "}" is libconfuse's to say.  Anything else that does not fit is left to
 * libconfuse.  A multi-line string that fits stays legal.
 * Cost: one pass over the text per file, plus one per repair (at most
 * TEXT_MAX_FIXES per file).
 */
enum tok_type { TK_EOF, TK_WORD, TK_STR, TK_EQ, TK_PLUSEQ, TK_OPEN,
    TK_CLOSE, TK_LPAREN, TK_RPAREN, TK_COMMA, TK_UNTERMINATED };

struct tok {
	enum tok_type type;
	size_t start, end;	/* offsets in the text: [start, end) */
	int line, end_line;	/* first and last line */
};

#define TEXT_MAX_FIXES	64
#define TEXT_MAX_DEPTH	32

/* libconfuse's unquoted-string characters (lexer.l) */
#define TEXT_WORD_STOP	" #\"'\t\n\r={}()+,*"

/* Tokenise text; returns a new array the caller frees, NULL if OOM. */
static struct tok *
text_tokens(const char *text, size_t *ntok)
{
	struct tok *v = NULL, *nv;
	size_t n = 0, cap = 0, i = 0;
	int line = 1;

	for (;;) {
		struct tok t;
		char q;

		for (;;) {
			if (text[i] == ' ' || text[i] == '\t' ||
			    text[i] == '\r' || text[i] == '\n' ||
			    text[i] == '*' || (text[i] == '+' &&
			    text[i + 1] != '='))
				line += text[i++] == '\n';
			else if (text[i] == '#' || (text[i] == '/' &&
			    text[i + 1] == '/'))
				i += strcspn(text + i, "\n");
			else if (text[i] == '/' && text[i + 1] == '*') {
				for (i += 2; text[i] != '\0' &&
				    !(text[i] == '*' && text[i + 1] == '/'); i++)
					line += text[i] == '\n';
				if (text[i] != '\0')
					i += 2;
			} else
				break;
		}
		t.start = i;
		t.line = line;
		switch (text[i]) {
		case '\0':
			t.type = TK_EOF;
			break;
		case '"':
		case '\'':
			q = text[i++];
			while (text[i] != '\0' && text[i] != q) {
				if (text[i] == '\\' && text[i + 1] != '\0')
					line += text[++i] == '\n';
				else
					line += text[i] == '\n';
				i++;
			}
			t.type = text[i] == q ? TK_STR : TK_UNTERMINATED;
			if (text[i] == q)
				i++;
			break;
		case '=':
			t.type = TK_EQ;
			i++;
			break;
		case '+':
			t.type = TK_PLUSEQ;
			i += 2;
			break;
		case '{':
			t.type = TK_OPEN;
			i++;
			break;
		case '}':
			t.type = TK_CLOSE;
			i++;
			break;
		case '(':
			t.type = TK_LPAREN;
			i++;
			break;
		case ')':
			t.type = TK_RPAREN;
			i++;
			break;
		case ',':
			t.type = TK_COMMA;
			i++;
			break;
		default:
			t.type = TK_WORD;
			if (text[i] == '$' && text[i + 1] == '{' &&
			    strchr(text + i, '}') != NULL)
				i = (size_t)(strchr(text + i, '}') - text) + 1;
			else
				/* up to a stop, or a "/" that starts a comment */
				while (text[i] != '\0' &&
				    strchr(TEXT_WORD_STOP, text[i]) == NULL &&
				    !(text[i] == '/' && (text[i + 1] == '/' ||
				    text[i + 1] == '*')))
					i++;
			if (i == t.start) {	/* cannot happen; never loop */
				i++;
				continue;
			}
			break;
		}
		t.end = i;
		t.end_line = line;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[n++] = t;
		if (t.type == TK_EOF || t.type == TK_UNTERMINATED)
			break;
	}
	*ntok = n;
	return v;
}

static bool
tok_keylike(const struct tok *t)
{
	return t->type == TK_WORD || t->type == TK_STR;
}

/* Can the tokens at t start a statement, or end the section? */
static bool
tok_fits_next(const struct tok *t)
{
	if (t[0].type == TK_CLOSE || t[0].type == TK_EOF)
		return true;
	if (!tok_keylike(&t[0]) || t[1].type == TK_UNTERMINATED)
		return false;
	if (t[1].type == TK_EQ || t[1].type == TK_PLUSEQ ||
	    t[1].type == TK_OPEN || t[1].type == TK_LPAREN)
		return true;
	return tok_keylike(&t[1]) && t[2].type == TK_OPEN;
}

/* What the walk found: nothing, or one repair to make and rescan. */
struct text_fix {
	size_t at, end;		/* replace [at, end) … */
	const char *with;	/* … by this (NULL: insert a quote at at) */
	char quote;
};

/* "dummy "a": " for messages: the innermost section's label. */
static void
text_label(const char *text, const struct tok *name, const struct tok *title,
    char *buf, size_t len)
{
	if (name == NULL)
		buf[0] = '\0';
	else if (title == NULL)
		snprintf(buf, len, "%.*s: ", (int)(name->end - name->start),
		    text + name->start);
	else if (title->type == TK_STR)
		snprintf(buf, len, "%.*s \"%.*s\": ", (int)(name->end -
		    name->start), text + name->start, (int)(title->end -
		    title->start - 2), text + title->start + 1);
	else
		snprintf(buf, len, "%.*s \"%.*s\": ", (int)(name->end -
		    name->start), text + name->start, (int)(title->end -
		    title->start), text + title->start);
}

/* Offset of the end of the line that holds offset at (its '\n' or NUL). */
static size_t
text_eol(const char *text, size_t at)
{
	return at + strcspn(text + at, "\n");
}

/*
 * A string that began at s and does not end where it should: report it at
 * its first line and close it there.
 */
static void
text_open_string(const char *path, const char *text, const struct tok *s,
    const struct tok *key, const char *label, bool at_eof,
    struct text_fix *fix)
{
	size_t eol = text_eol(text, s->start), at;
	char where[64];

	if (at_eof)
		snprintf(where, sizeof(where), "the end of the file");
	else
		snprintf(where, sizeof(where), "line %d", s->end_line);
	conf_errorf(conf_pctx->errs, "%s:%d: %s%.*s%smissing closing quote: "
	    "the string that begins here runs on to %s", path, s->line,
	    label, key != NULL ? (int)(key->end - key->start) : 0,
	    key != NULL ? text + key->start : "", key != NULL ? ": " : "",
	    where);
	/*
	 * Close it at the end of its line, but before the line's closing
	 * braces (`url = "http://x/ }`) and trailing blanks or \r, so that a
	 * one-line section stays one.
	 */
	at = eol;
	while (at > s->start + 1 && strchr(" \t\r}", text[at - 1]) != NULL)
		at--;
	if (at == s->start + 1)		/* nothing but braces: keep them */
		at = eol > s->start + 1 && text[eol - 1] == '\r' ? eol - 1 :
		    eol;
	eol = at;
	fix->at = eol;
	fix->end = eol;
	fix->with = NULL;
	fix->quote = text[s->start];
}

/*
 * Does string s hold, on a line after its first, what looks like config
 * rather than text: a lone "}", "KEY =", "NAME {" or "NAME "TITLE" {"?
 */
static bool
text_swallowed(const char *text, const struct tok *s)
{
	const char *p = text + s->start, *end = text + s->end;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p += 1 + strspn(p + 1, " \t\r");
		if (p >= end)
			break;
		if (*p == '}')
			return true;
		if (strchr(TEXT_WORD_STOP, *p) == NULL) {
			const char *q = p + strcspn(p, TEXT_WORD_STOP);

			q += strspn(q, " \t");
			if (q < end && (*q == '=' || *q == '{' || (*q == '"' &&
			    (q = memchr(q + 1, '"', (size_t)(end - q - 1))) !=
			    NULL && q[1 + strspn(q + 1, " \t")] == '{')))
				return true;
		}
	}
	return false;
}

/*
 * Walk the tokens with libconfuse's grammar.  RETURN VALUE: 1 and *fix
 * set when a repair is due, 0 when nothing more is to be done.
 */
static int
text_walk(const char *path, const char *text, const struct tok *t,
    size_t n, bool repaired, struct text_fix *fix)
{
	const struct tok *names[TEXT_MAX_DEPTH], *titles[TEXT_MAX_DEPTH];
	const struct tok *ml = NULL, *mlkey = NULL;	/* last multi-line */
	const struct tok *recent;	/* … if in the statement under way */
	char label[256], mllabel[256] = "";
	int depth = 0;
	bool at_end = false;
	size_t i = 0, j;

#define LABEL() text_label(text, depth ? names[depth - 1] : NULL, \
	depth ? titles[depth - 1] : NULL, label, sizeof(label))
#define MULTILINE(s, k) do { ml = recent = (s); mlkey = (k); LABEL(); \
	memcpy(mllabel, label, sizeof(label)); } while (0)
	while (i < n) {
		recent = NULL;
		if (t[i].type == TK_UNTERMINATED) {
			at_end = true;
			goto misfit;
		}
		if (t[i].type == TK_EOF)
			break;
		if (t[i].type == TK_CLOSE) {
			if (depth == 0)
				goto misfit;
			depth--;
			i++;
			continue;
		}
		if (!tok_keylike(&t[i]) || i + 1 >= n)
			goto misfit;
		if (t[i + 1].type == TK_EQ || t[i + 1].type == TK_PLUSEQ) {
			const struct tok *key = &t[i], *v = &t[i + 2];

			if (i + 2 >= n)
				goto misfit;
			if (v->type == TK_OPEN) {
				/* a list: values and commas up to "}" */
				for (j = i + 3; j < n && (tok_keylike(&t[j]) ||
				    t[j].type == TK_COMMA); j++)
					if (t[j].line != t[j].end_line)
						MULTILINE(&t[j], key);
				if (j >= n || t[j].type != TK_CLOSE)
					goto misfit;
				i = j + 1;
				continue;
			}
			if (v->type == TK_UNTERMINATED) {
				LABEL();
				text_open_string(path, text, v, key, label,
				    true, fix);
				return 1;
			}
			if (!tok_keylike(v))
				goto misfit;
			if (v->line != v->end_line)
				MULTILINE(v, key);
			i += 3;
			if (i < n && tok_fits_next(&t[i]))
				continue;
			if (recent != NULL)
				goto misfit;
			/* words after an unquoted value, on its line */
			if (v->type != TK_WORD || t[i].type != TK_WORD ||
			    t[i].line != v->end_line)
				goto misfit;
			for (j = i; j < n && t[j].type == TK_WORD &&
			    t[j].line == v->end_line && !tok_fits_next(&t[j]);
			    j++)
				;
			if (memchr(text + v->start, '\\', t[j - 1].end -
			    v->start) != NULL ||
			    memchr(text + v->start, '$', t[j - 1].end -
			    v->start) != NULL)
				goto misfit;	/* left as libconfuse reads it */
			if (conf_quoted_add(path, v->line, text + key->start,
			    key->end - key->start) != 0)
				return 0;
			fix->at = v->start;
			fix->end = t[j - 1].end;
			fix->with = "";	/* quote [at, end) */
			fix->quote = '"';
			return 1;
		}
		if (t[i + 1].type == TK_OPEN || (tok_keylike(&t[i + 1]) &&
		    i + 2 < n && t[i + 2].type == TK_OPEN)) {
			if (depth == TEXT_MAX_DEPTH)
				return 0;
			names[depth] = &t[i];
			titles[depth] = t[i + 1].type == TK_OPEN ? NULL :
			    &t[i + 1];
			depth++;
			i += titles[depth - 1] == NULL ? 2 : 3;
			continue;
		}
		if (t[i + 1].type == TK_LPAREN) {
			for (j = i + 2; j < n && t[j].type != TK_RPAREN &&
			    t[j].type != TK_EOF; j++)
				;
			if (j >= n || t[j].type != TK_RPAREN)
				goto misfit;
			i = j + 1;
			continue;
		}
		goto misfit;
	}
	if (depth == 0)
		return 0;
	at_end = true;		/* sections left open */
misfit:
	/*
	 * The text does not fit the grammar here.  Right after a string that
	 * spans lines, or at the end of the file, the likely cause is a
	 * missing quote: the last string that spans lines, or the one still
	 * open at the end.  Anything else is libconfuse's to report.
	 */
	if (recent != NULL || (at_end && ml != NULL && !repaired &&
	    text_swallowed(text, ml))) {
		text_open_string(path, text, ml, mlkey, mllabel, false, fix);
		return 1;
	}
	if (t[n - 1].type == TK_UNTERMINATED) {
		LABEL();
		text_open_string(path, text, &t[n - 1], NULL, label, true,
		    fix);
		return 1;
	}
	return 0;
#undef MULTILINE
#undef LABEL
}

/*
 * Check *textp (as read, comments and all) and repair what is reported
 * (see above); comments are stripped after it.
 * May replace *textp with a new string (the old one is freed).
 * RETURN VALUE: 0, or -1 when out of memory.
 */
static int
text_check(const char *path, char **textp)
{
	struct text_fix fix;
	struct tok *t;
	size_t n, len;
	unsigned fixes;
	char *nt;

	for (fixes = 0; fixes < TEXT_MAX_FIXES; fixes++) {
		if ((t = text_tokens(*textp, &n)) == NULL)
			return -1;
		memset(&fix, 0, sizeof(fix));
		if (text_walk(path, *textp, t, n, fixes > 0, &fix) == 0) {
			free(t);
			return 0;
		}
		free(t);
		len = strlen(*textp);
		if ((nt = malloc(len + 3)) == NULL)
			return -1;
		memcpy(nt, *textp, fix.at);
		if (fix.with == NULL) {		/* insert a closing quote */
			nt[fix.at] = fix.quote;
			memcpy(nt + fix.at + 1, *textp + fix.at, len - fix.at + 1);
		} else {			/* quote [at, end) */
			nt[fix.at] = '"';
			memcpy(nt + fix.at + 1, *textp + fix.at, fix.end - fix.at);
			nt[fix.end + 1] = '"';
			memcpy(nt + fix.end + 2, *textp + fix.end,
			    len - fix.end + 1);
		}
		free(*textp);
		*textp = nt;
	}
	return 0;
}

#define CONF_FILE_MAX	(64 * 1024 * 1024)

/* Parse one file into cfg (cfg_parse(), with comments stripped first). */
int
conf_parse_path(cfg_t *cfg, const char *path)
{
	FILE *fp;
	cfg_t *sec;
	char *buf;
	long len;
	int rc, bad;
	unsigned i;

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
	/* before comments go: a repair may end a string a comment began in */
	if (text_check(path, &buf) != 0) {
		free(buf);
		errno = ENOMEM;
		return CFG_FILE_ERROR;
	}
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
	/*
	 * Untitled sections (api { }, incidents { }) live across files: one
	 * whose last key was unknown still skips unknown keys (conf_known()),
	 * which would hide the errors of its next block in this file.
	 */
	for (i = 0; cfg->opts[i].name != NULL; i++)
		if (cfg->opts[i].type == CFGT_SEC &&
		    !(cfg->opts[i].flags & CFGF_MULTI) &&
		    (sec = cfg_getsec(cfg, cfg->opts[i].name)) != NULL)
			sec->flags &= ~CFGF_IGNORE_UNKNOWN;
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
