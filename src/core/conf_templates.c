/*
 * conf_templates.c — templates and apply rules, for configs of thousands
 * of checks (part of the config parser, conf_int.h).
 *
 *   template "web" { interval = 30s  max_attempts = 3  group = "web" }
 *   http "shop" { use = "web"  url = "https://shop.example/" }
 *   host "web1" { use = { "linux", "dc1" }  tags = { "web" } … }
 *
 *   apply "health" {
 *     type = "http"                  the check type it makes
 *     assign_tags = { "web" }        hosts with any of these tags …
 *     assign_hosts = { "web*" }      … or whose name matches a pattern
 *     ignore_tags = { "staging" }    but none of these
 *     name = "{host}-health"         the default is "{host}-{rule}"
 *     use = "web"
 *     url = "https://{address}/health"
 *   }
 *
 * libconfuse needs every key declared before parsing, and a template does
 * not know which check type it will be used by: so template and apply
 * sections declare every key any check type or host has, all as lists of
 * strings, and keep the values as text.  conf_expand() then, before the
 * objects are built, copies that text into the sections that use it with
 * cfg_setopt() — through the same parse callbacks as text in the file,
 * so a bad value is reported as it would be, at the template's line
 * (conf.c's at_file/at_line), once however many checks use it.
 *
 * Precedence: a section's own keys win; then its templates, the later in
 * `use` over the earlier (applied last first, a key once set stays).  A
 * rule's checks take the rule's keys first, then the rule's templates.
 * In a rule's values (and its templates' values) {host}, {address} and
 * {rule} stand for the host's name and address and the rule's name.
 * Templates do not use other templates.
 *
 * Cost: a rule is matched against every host: rules × hosts tag
 * comparisons, and one section made per check (libconfuse's
 * cfg_addtsec(), linear thanks to conf.c's take_section()).
 */
#include <fnmatch.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"
#include "core/plugin.h"
#include "core/util.h"

/* Keys of apply "NAME" { } that are the rule's own, not its checks'. */
static const char *const rule_keys[] = { "type", "assign_tags",
    "assign_hosts", "ignore_tags", "name", "use", NULL };

#define RULE_DEFAULT_NAME	"{host}-{rule}"

/* A check section an apply rule made: conf_made_by(). */
struct conf_made {
	const cfg_t *sec;
	unsigned rule;		/* index in config->rules */
};

/*
 * A template's or a rule's section with the options it sets, found once:
 * it declares every key of every type (hundreds), and is applied to
 * thousands of sections.
 */
struct tmpl {
	const char *name;	/* borrowed from libconfuse */
	cfg_t *sec;
	cfg_opt_t **set;	/* owned array of borrowed options */
	unsigned nset;
};

/* What a rule's values may refer to. */
struct subst {
	const char *host;
	const char *address;	/* NULL if the host has none */
	const char *rule;
};

static bool
is_rule_key(const char *k)
{
	unsigned i;

	for (i = 0; rule_keys[i] != NULL; i++)
		if (strcmp(rule_keys[i], k) == 0)
			return true;
	return false;
}

/* ---- option tables ------------------------------------------------ */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Add name once (*seen: a tsearch tree of the names added so far). */
static void
union_add(struct conf_optv *o, void **seen, const char *name)
{
	if (name[0] == '\001' ||	/* hidden options (OPEN_HOOK) */
	    tfind(name, seen, name_cmp) != NULL)
		return;
	if (tsearch(name, seen, name_cmp) == NULL) {
		o->oom = true;
		return;
	}
	conf_optv_typed(o, name, TOCSIN_OPT_STR_LIST, NULL, 0);
}

static void
name_nofree(void *p)
{
	(void)p;	/* the names are the option tables' own */
}

cfg_opt_t *
conf_template_options(bool rule)
{
	struct conf_optv o = { NULL, 0, 0, false }, h = { NULL, 0, 0, false };
	const struct tocsin_option *p;
	void *seen = NULL;
	unsigned i;

	conf_optv_hook(&o);
	for (p = conf_common_options; p->name != NULL; p++)
		if (rule || strcmp(p->name, "use") != 0)
			union_add(&o, &seen, p->name);
	conf_host_options(&h);
	for (i = 0; i < h.n; i++)
		if (rule || strcmp(h.v[i].name, "use") != 0)
			union_add(&o, &seen, h.v[i].name);
	for (i = 0; i < ctype_count(); i++)
		for (p = ctype_at(i)->def->options; p != NULL &&
		    p->name != NULL; p++)
			union_add(&o, &seen, p->name);
	for (i = 0; rule && rule_keys[i] != NULL; i++)
		union_add(&o, &seen, rule_keys[i]);
	tdestroy(seen, name_nofree);
	conf_opts_free(h.v);		/* after the tree: it held h's names */
	if (o.oom || h.oom) {
		conf_opts_free(o.v);
		return NULL;
	}
	return o.v;
}

/* ---- copying keys ------------------------------------------------- */

/* The option of sec named name, or NULL (cfg_getopt() would complain). */
static cfg_opt_t *
sec_opt(cfg_t *sec, const char *name)
{
	unsigned i;

	for (i = 0; sec->opts[i].name != NULL; i++)
		if (strcmp(sec->opts[i].name, name) == 0)
			return &sec->opts[i];
	return NULL;
}

/*
 * v with {host}, {address} and {rule} replaced.  Returns a new string
 * the caller frees; NULL when out of memory or when v has {address} and
 * the host has none (*noaddr set).
 */
static char *
subst_value(const char *v, const struct subst *sb, bool *noaddr)
{
	static const char *const names[] = { "{host}", "{address}",
	    "{rule}" };
	const char *with[3];
	size_t len = 0, k, l;
	const char *p;
	char *out, *o;
	int pass;

	with[0] = sb->host;
	with[1] = sb->address;
	with[2] = sb->rule;
	*noaddr = false;
	for (pass = 0, out = NULL; pass < 2; pass++) {
		for (p = v, o = out; *p != '\0';) {
			for (k = 0; k < 3; k++)
				if (strncmp(p, names[k], strlen(names[k])) == 0)
					break;
			if (k == 3) {
				if (pass)
					*o++ = *p;
				else
					len++;
				p++;
				continue;
			}
			if (with[k] == NULL) {
				*noaddr = true;
				free(out);
				return NULL;
			}
			l = strlen(with[k]);
			if (pass) {
				memcpy(o, with[k], l);
				o += l;
			} else
				len += l;
			p += strlen(names[k]);
		}
		if (pass)
			*o = '\0';
		else if ((out = malloc(len + 1)) == NULL)
			return NULL;
	}
	return out;
}

/*
 * Set dst's option dopt to the values of src's option sopt (a template's
 * or a rule's), as if they had been written in dst at src's line.
 */
static void
copy_key(cfg_t *dst, cfg_opt_t *dopt, cfg_t *src, cfg_opt_t *sopt,
    const struct subst *sb)
{
	unsigned i, n = cfg_opt_size(sopt);
	const char *file, *v;
	char *s = NULL;
	bool noaddr;
	int line;

	conf_pos_get(src, sopt->name, &file, &line);
	if (n > 1 && !(dopt->flags & CFGF_LIST)) {
		if (conf_once("%s:%d:one", file, line))
			conf_err_at(src, sopt->name, "%s: a list, where %s "
			    "takes one value", sopt->name, dst->name);
		return;
	}
	conf_pctx->at_file = file;
	conf_pctx->at_line = line;
	dopt->flags |= CFGF_RESET;	/* replace the default, as "=" does */
	for (i = 0; i < n; i++) {
		v = cfg_opt_getnstr(sopt, i);
		if (sb != NULL && v != NULL && strchr(v, '{') != NULL &&
		    (v = s = subst_value(v, sb, &noaddr)) == NULL) {
			if (noaddr && conf_once("%s:%d:addr", file, line))
				conf_err_at(src, sopt->name, "%s: host \"%s\" "
				    "has no address to put in {address}",
				    sopt->name, sb->host);
			break;
		}
		cfg_setopt(dst, dopt, v);
		free(s);
		s = NULL;
	}
	dopt->flags &= ~CFGF_RESET;
	dopt->flags |= CFGF_MODIFIED;
	conf_pctx->at_file = NULL;
}

/* "http checks", "hosts": what dst is, for messages. */
static void
kind_of(const cfg_t *dst, char *buf, size_t len)
{
	if (strcmp(dst->name, "host") == 0)
		snprintf(buf, len, "hosts");
	else
		snprintf(buf, len, "%s checks", dst->name);
}

/* The options t->sec sets (for a rule: the keys its checks take). */
static int
tmpl_init(struct tmpl *t, cfg_t *sec)
{
	bool rule = strcmp(sec->name, "apply") == 0;
	cfg_opt_t *o;
	unsigned i, n = 0;

	t->sec = sec;
	t->name = sec->title;
	for (i = 0; sec->opts[i].name != NULL; i++)
		n++;
	if ((t->set = calloc(n + 1, sizeof(*t->set))) == NULL)
		return -1;
	for (i = 0; sec->opts[i].name != NULL; i++) {
		o = &sec->opts[i];
		if (o->type != CFGT_STR || cfg_opt_size(o) == 0)
			continue;
		if (rule && (is_rule_key(o->name) ||
		    strcmp(o->name, "host") == 0))
			continue;
		t->set[t->nset++] = o;
	}
	return 0;
}

/*
 * Every key src (a template, or a rule) sets that dst has not set yet.
 * A key dst's kind does not have is reported at msgsec's `use` (the
 * section that named the template) and at the key's own line.
 */
static void
apply_section(cfg_t *dst, const struct tmpl *t, const struct subst *sb,
    cfg_t *msgsec)
{
	cfg_t *src = t->sec;
	const char *file, *tname = t->name;
	cfg_opt_t *sopt, *dopt;
	char kind[128];
	unsigned i;
	int line;
	bool rule = strcmp(src->name, "apply") == 0;

	for (i = 0; i < t->nset; i++) {
		sopt = t->set[i];
		if ((dopt = sec_opt(dst, sopt->name)) == NULL ||
		    dopt->name[0] == '\001') {
			if (rule)
				continue;	/* reported by check_rule() */
			conf_pos_get(src, sopt->name, &file, &line);
			kind_of(dst, kind, sizeof(kind));
			/* once per naming section: a rule's checks share it */
			if (msgsec != dst && !conf_once("%p:%s:%s", (void *)msgsec,
			    tname, sopt->name))
				continue;
			conf_err_at(msgsec, "use", "use: template \"%s\" sets "
			    "\"%s\" (%s:%d), which %s do not have", tname,
			    sopt->name, file, line, kind);
			continue;
		}
		if (conf_opt_set(dst, sopt->name))
			continue;	/* dst's own, or a later template's */
		copy_key(dst, dopt, src, sopt, sb);
	}
}

static int
tmpl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tmpl *)a)->name,
	    ((const struct tmpl *)b)->name);
}

/* The templates usesrc names in `use`, into dst, the last one first. */
static void
apply_templates(cfg_t *dst, cfg_t *usesrc, const struct subst *sb,
    const struct tmpl *tv, unsigned nt)
{
	unsigned k, n = cfg_size(usesrc, "use");
	struct tmpl key, *t;

	for (k = n; k-- > 0;) {
		key.name = cfg_getnstr(usesrc, "use", k);
		t = nt ? bsearch(&key, tv, nt, sizeof(*tv), tmpl_cmp) : NULL;
		if (t == NULL) {
			if (usesrc != dst && !conf_once("%p:%s", (void *)usesrc,
			    key.name))
				continue;	/* a rule's: said once */
			conf_err_at(usesrc, "use", "use: no template is named "
			    "\"%s\"%s", key.name, conf_pctx->partial ? " (or "
			    "it is defined after the point where parsing "
			    "stopped)" : "");
			continue;
		}
		apply_section(dst, t, sb, usesrc);
	}
}

/* ---- apply rules -------------------------------------------------- */

/* A rule's options looked up once (cfg_getopt() is a linear search). */
struct rule_opts {
	cfg_opt_t *assign_tags, *assign_hosts, *ignore_tags, *name;
};

static bool
list_has(cfg_opt_t *o, const char *v)
{
	unsigned i, n = o != NULL ? cfg_opt_size(o) : 0;

	for (i = 0; i < n; i++)
		if (strcmp(cfg_opt_getnstr(o, i), v) == 0)
			return true;
	return false;
}

/* Does the rule make a check for host section h (tags: its option)? */
static bool
rule_matches(const struct rule_opts *ro, cfg_t *h, cfg_opt_t *tags)
{
	unsigned i, n = tags != NULL ? cfg_opt_size(tags) : 0;
	bool in = false;

	for (i = 0; i < n; i++)
		if (list_has(ro->ignore_tags, cfg_opt_getnstr(tags, i)))
			return false;
	for (i = 0; !in && i < n; i++)
		in = list_has(ro->assign_tags, cfg_opt_getnstr(tags, i));
	n = cfg_opt_size(ro->assign_hosts);
	for (i = 0; !in && i < n; i++)
		in = fnmatch(cfg_opt_getnstr(ro->assign_hosts, i), h->title,
		    0) == 0;
	return in;
}

/*
 * A rule's own keys: a type that exists, hosts to assign to, and only
 * keys its checks have.  RETURN VALUE: the check type, or NULL (reported).
 */
static struct ctype *
check_rule(cfg_t *r)
{
	const struct tocsin_option *p;
	struct ctype *ct = NULL;
	cfg_opt_t *o;
	const char *type;
	unsigned i, before = conf_pctx->errs->n;

	if (cfg_size(r, "type") != 1)
		conf_err_at(r, cfg_size(r, "type") ? "type" : NULL, "%s",
		    cfg_size(r, "type") ? "type: takes one check type" :
		    "missing required key \"type\" (the check type it makes)");
	else if ((ct = ctype_find(type = cfg_getnstr(r, "type", 0))) == NULL)
		conf_err_at(r, "type", "type: no check type \"%s\" (no loaded "
		    "plugin provides it)", type);
	if (cfg_size(r, "assign_tags") == 0 && cfg_size(r, "assign_hosts") == 0)
		conf_err_at(r, NULL, "needs assign_tags or assign_hosts (the "
		    "hosts it makes a check for)");
	if (cfg_size(r, "name") > 1)
		conf_err_at(r, "name", "name: takes one name pattern");
	if (cfg_size(r, "host") > 0)
		conf_err_at(r, "host", "host: each check's host is the host "
		    "it is made for");
	for (i = 0; ct != NULL && r->opts[i].name != NULL; i++) {
		o = &r->opts[i];
		if (o->type != CFGT_STR || cfg_opt_size(o) == 0 ||
		    is_rule_key(o->name) || strcmp(o->name, "host") == 0)
			continue;
		for (p = conf_common_options; p->name != NULL; p++)
			if (strcmp(p->name, o->name) == 0)
				break;
		if (p->name != NULL)
			continue;
		for (p = ct->def->options; p != NULL && p->name != NULL; p++)
			if (strcmp(p->name, o->name) == 0)
				break;
		if (p == NULL || p->name == NULL)
			conf_err_at(r, o->name, "%s: %s checks have no such key",
			    o->name, ct->def->name);
	}
	return conf_pctx->errs->n == before ? ct : NULL;
}

static int
made_cmp(const void *a, const void *b)
{
	const struct conf_made *x = a, *y = b;

	return x->sec == y->sec ? 0 : x->sec < y->sec ? -1 : 1;
}

/* Make rule j's check for host section h. */
static void
make_check(struct config *cf, cfg_t *root, unsigned j, const struct tmpl *rt,
    const struct rule_opts *ro, struct ctype *ct, cfg_t *h,
    const struct tmpl *tv, unsigned nt)
{
	cfg_t *r = rt->sec;
	struct conf_made *m;
	struct subst sb;
	cfg_opt_t *o;
	cfg_t *sec;
	const char *file, *pattern;
	char *name;
	bool noaddr;
	int line;

	sb.host = h->title;
	sb.address = cfg_getstr(h, "address");
	sb.rule = r->title;
	pattern = cfg_opt_size(ro->name) ? cfg_opt_getnstr(ro->name, 0) :
	    RULE_DEFAULT_NAME;
	if ((name = subst_value(pattern, &sb, &noaddr)) == NULL) {
		if (noaddr && conf_once("rule %u:name", j))
			conf_err_at(r, "name", "name: host \"%s\" has no "
			    "address to put in {address}", sb.host);
		return;
	}
	/* the check's opening line (and a duplicate name) is the rule's */
	conf_pos_get(r, cfg_opt_size(ro->name) ? "name" : NULL, &file, &line);
	conf_pctx->at_file = file;
	conf_pctx->at_line = line;
	sec = cfg_addtsec(root, ct->def->name, name);
	conf_pctx->at_file = NULL;
	free(name);
	if (sec == NULL || (m = malloc(sizeof(*m))) == NULL) {
		conf_errorf(conf_pctx->errs, "out of memory");
		return;
	}
	m->sec = sec;
	m->rule = j;
	if (tsearch(m, &conf_pctx->made, made_cmp) == NULL) {
		free(m);
		conf_errorf(conf_pctx->errs, "out of memory");
		return;
	}
	if ((o = sec_opt(sec, "host")) != NULL) {
		conf_pos_get(r, NULL, &file, &line);
		conf_pctx->at_file = file;
		conf_pctx->at_line = line;
		cfg_setopt(sec, o, h->title);
		o->flags |= CFGF_MODIFIED;
		conf_pctx->at_file = NULL;
	}
	apply_section(sec, rt, &sb, r);
	apply_templates(sec, r, &sb, tv, nt);
	cf->rules[j].nchecks++;
}

/* Every host section, in file order (conf.c took most of them). */
static cfg_t **
host_sections(cfg_t *root, unsigned *n)
{
	unsigned i, k = 0, left = cfg_size(root, "host");
	cfg_t **v;

	if ((v = calloc(conf_pctx->ntaken + left + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < conf_pctx->ntaken; i++)
		if (strcmp(conf_pctx->taken[i]->section->name, "host") == 0)
			v[k++] = conf_pctx->taken[i]->section;
	for (i = 0; i < left; i++)
		v[k++] = cfg_getnsec(root, "host", i);
	*n = k;
	return v;
}

static void
rules_expand(struct config *cf, cfg_t *root, const struct tmpl *tv,
    unsigned nt)
{
	unsigned j, i, nh, n = cfg_size(root, "apply");
	struct rule_opts ro;
	struct tmpl rt;
	struct ctype *ct;
	const char *file;
	cfg_t **hosts, *r;
	cfg_opt_t *tags;
	int line;

	if (n == 0)
		return;
	if ((cf->rules = calloc(n, sizeof(*cf->rules))) == NULL ||
	    (hosts = host_sections(root, &nh)) == NULL) {
		conf_errorf(conf_pctx->errs, "out of memory");
		return;
	}
	for (j = 0; j < n; j++) {
		r = cfg_getnsec(root, "apply", j);
		conf_pos_get(r, NULL, &file, &line);
		cf->rules[j].name = xstrdup(r->title);
		cf->rules[j].file = xstrdup(file);
		cf->rules[j].line = line;
		cf->nrules++;
		if ((ct = check_rule(r)) == NULL)
			continue;
		cf->rules[j].type = xstrdup(ct->def->name);
		ro.assign_tags = cfg_getopt(r, "assign_tags");
		ro.assign_hosts = cfg_getopt(r, "assign_hosts");
		ro.ignore_tags = cfg_getopt(r, "ignore_tags");
		ro.name = cfg_getopt(r, "name");
		memset(&rt, 0, sizeof(rt));
		if (tmpl_init(&rt, r) != 0) {
			conf_errorf(conf_pctx->errs, "out of memory");
			break;
		}
		for (i = 0; i < nh; i++) {
			tags = cfg_getopt(hosts[i], "tags");
			if (rule_matches(&ro, hosts[i], tags))
				make_check(cf, root, j, &rt, &ro, ct, hosts[i],
				    tv, nt);
		}
		free(rt.set);
	}
	free(hosts);
}

/* ---- the whole config --------------------------------------------- */

void
conf_expand(struct config *cf, cfg_t *root)
{
	unsigned i, j, nt = cfg_size(root, "template"), left;
	struct tmpl *tv = NULL;
	cfg_t *sec;

	if (nt > 0) {
		if ((tv = calloc(nt, sizeof(*tv))) == NULL) {
			conf_errorf(conf_pctx->errs, "out of memory");
			return;
		}
		for (i = 0; i < nt; i++)
			if (tmpl_init(&tv[i], cfg_getnsec(root, "template",
			    i)) != 0) {
				conf_errorf(conf_pctx->errs, "out of memory");
				nt = i;
				goto out;
			}
		qsort(tv, nt, sizeof(*tv), tmpl_cmp);
	}
	/*
	 * Every host and check that uses templates, before the rules, since
	 * a template may give a host the tags or the address a rule reads.
	 */
	for (i = 0; i < conf_pctx->ntaken; i++) {
		sec = conf_pctx->taken[i]->section;
		if (cfg_size(sec, "use") > 0)
			apply_templates(sec, sec, NULL, tv, nt);
	}
	left = cfg_size(root, "host");
	for (i = 0; i < left; i++)
		if (cfg_size(sec = cfg_getnsec(root, "host", i), "use") > 0)
			apply_templates(sec, sec, NULL, tv, nt);
	for (j = 0; j < ctype_count(); j++) {
		left = cfg_size(root, ctype_at(j)->def->name);
		for (i = 0; i < left; i++) {
			sec = cfg_getnsec(root, ctype_at(j)->def->name, i);
			if (cfg_size(sec, "use") > 0)
				apply_templates(sec, sec, NULL, tv, nt);
		}
	}
	rules_expand(cf, root, tv, nt);
out:
	for (i = 0; i < nt; i++)
		free(tv[i].set);
	free(tv);
}

const struct conf_rule *
conf_made_by(const struct config *cf, const cfg_t *sec)
{
	struct conf_made key, **found;

	if (conf_pctx->made == NULL)
		return NULL;
	key.sec = sec;
	found = tfind(&key, &conf_pctx->made, made_cmp);
	return found != NULL ? &cf->rules[(*found)->rule] : NULL;
}

void
conf_made_free(void *tree)
{
	tdestroy(tree, free);
}
