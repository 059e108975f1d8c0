/*
 * conf_objects.c — checks and hosts out of the parsed config: the keys
 * every check has, building struct check and struct host, automatic host
 * checks, resolving names (host, depends_on, parents, check), dependency
 * cycles, and each check type's configure().  Part of the config parser
 * (conf_int.h); errors point at the key's FILE:LINE.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"
#include "core/plugin.h"
#include "core/util.h"

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

/* ---- objects -------------------------------------------------------- */

void
conf_check_free(struct check *c)
{
	if (c == NULL)
		return;
	if (c->priv != NULL && c->type != NULL && c->type->def->free != NULL)
		c->type->def->free(c->priv);
	free(c->name);
	free(c->host_name);
	free(c->group);
	conf_strlist_free(c->depends_on, c->ndepends);
	conf_strlist_free(c->locations, c->nlocations);
	free(c->deps);
	free(c->rule);
	result_clear(&c->last);
	free(c);
}

void
conf_host_free(struct host *h)
{
	if (h == NULL)
		return;
	free(h->name);
	free(h->address);
	free(h->check_name);
	conf_strlist_free(h->parents, h->nparents);
	free(h->parent_hosts);
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

/*
 * The name of a config file, kept for the life of the process: every
 * check and host of a file points at one copy (at 100 000 checks a copy
 * each was 6 MB).  There are as many as distinct files ever loaded.
 */
static const char *
file_kept(const char *f)
{
	static char **kept;
	static unsigned nkept;
	char **n;
	unsigned i;

	if (f == NULL)
		return "?";
	for (i = nkept; i > 0; i--)	/* the newest first: the usual hit */
		if (strcmp(kept[i - 1], f) == 0)
			return kept[i - 1];
	if ((n = reallocarray(kept, nkept + 1, sizeof(*n))) == NULL)
		return "?";
	kept = n;
	if ((kept[nkept] = strdup(f)) == NULL)
		return "?";
	return kept[nkept++];
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
	conf_pos_get(sec, NULL, &file, &line);
	c->file = file_kept(file);
	c->line = line;
	c->host_name = xstrdup(cfg_getstr(sec, "host"));
	c->group = xstrdup(cfg_getstr(sec, "group"));
	c->depends_on = conf_strlist(sec, "depends_on", &c->ndepends);
	c->locations = conf_strlist(sec, "locations", &c->nlocations);
	n = conf_opt_set(sec, "quorum") ? cfg_getint(sec, "quorum") : LONG_MIN;
	if (c->nlocations == 0 && n != LONG_MIN) {
		conf_err_at(sec, "quorum", "quorum: only with locations");
		bad = 1;
	} else if (c->nlocations > 0) {
		unsigned i, j;

		c->quorum = n == LONG_MIN ? (int)(c->nlocations / 2 + 1) :
		    (int)n;
		if (n != LONG_MIN && (n < 1 || n > (long)c->nlocations)) {
			conf_err_at(sec, "quorum", "quorum: %ld is not between "
			    "1 and the %u locations", n, c->nlocations);
			bad = 1;
		}
		for (i = 0; i < c->nlocations; i++)
			for (j = 0; j < i; j++)
				if (strcmp(c->locations[i],
				    c->locations[j]) == 0) {
					conf_err_at(sec, "locations",
					    "locations: \"%s\" twice",
					    c->locations[i]);
					bad = 1;
				}
	}

	if ((c->interval_ms = duration_min(sec, "interval", 10)) < 0)
		bad = 1;
	if ((c->timeout_ms = duration_min(sec, "timeout", 10)) < 0)
		bad = 1;
	if (conf_opt_set(sec, "retry_interval")) {
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
	c->aberration = cfg_getbool(sec, "aberration");
	c->aberration_set = conf_opt_set(sec, "aberration");
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
	conf_pos_get(sec, NULL, &file, &line);
	h->file = file_kept(file);
	h->line = line;
	h->address = xstrdup(cfg_getstr(sec, "address"));
	h->check_name = xstrdup(cfg_getstr(sec, "check"));
	h->parents = conf_strlist(sec, "parents", &h->nparents);
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
void
conf_check_cycles(struct config *cf)
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

void
conf_host_cycles(struct config *cf)
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
#define PARTIAL_HINT (conf_pctx->partial ? " (or it is defined after the " \
	"point where parsing stopped)" : "")

void
conf_resolve_refs(struct config *cf)
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
			conf_host_free(h);
			conf_errorf(conf_pctx->errs, "out of memory");
			return;
		}
		h->sec = sec;
	} else if ((ct = ctype_find(sec->name)) != NULL) {
		struct check *c = check_build(ct, sec);
		const struct conf_rule *r = conf_made_by(cf, sec);

		if (c != NULL && r != NULL && (c->rule = strdup(r->name)) ==
		    NULL) {
			conf_check_free(c);
			c = NULL;
		}
		if (c == NULL ||
		    add_ptr((void ***)&cf->checks, &cf->nchecks, c) != 0) {
			conf_check_free(c);
			conf_errorf(conf_pctx->errs, "out of memory");
			return;
		}
		c->sec = sec;
	}
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
			if (!autoc && conf_opt_set(hs, host_check_keys[k]))
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
			conf_errorf(conf_pctx->errs, "out of memory");
			free(name);
			continue;
		}
		conf_pos_alias(sec, OPEN_HOOK, hs, "check");
		cfg_setstr(sec, "address", h->address);
		cfg_setstr(sec, "host", h->name);
		conf_pos_alias(sec, "address", hs, "address");
		for (k = 0; host_check_keys[k] != NULL; k++) {
			cfg_opt_t *opt;

			if (!conf_opt_set(hs, host_check_keys[k]))
				continue;
			cfg_setint(sec, host_check_keys[k],
			    cfg_getint(hs, host_check_keys[k]));
			if ((opt = cfg_getopt(sec, host_check_keys[k])) != NULL)
				opt->flags |= CFGF_MODIFIED;
			conf_pos_alias(sec, host_check_keys[k], hs,
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

void
conf_load_objects(struct config *cf, cfg_t *root)
{
	unsigned i, j, n;

	for (i = 0; i < conf_pctx->ntaken; i++)
		load_section(cf, conf_pctx->taken[i]->section);
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

void
conf_configure_checks(struct config *cf)
{
	struct tocsin_conf tc;
	unsigned i;

	for (i = 0; i < cf->nchecks; i++) {
		struct check *c = cf->checks[i];
		unsigned before = conf_pctx->errs->n;

		conf_required_keys(c->sec, c->type->def->options);
		conf_secret_keys(c->sec, c->type->def->options);
		if (conf_pctx->errs->n != before)
			continue;	/* configure() may rely on required keys */
		tc.sec = c->sec;
		tc.chk = c;
		tc.ctx = conf_pctx;
		tc.nerrors = 0;
		c->priv = NULL;
		if (c->type->def->configure((struct tocsin_check *)c, &tc,
		    &c->priv) != 0) {
			/* nerrors counts what a template's once hid too */
			if (conf_pctx->errs->n == before && tc.nerrors == 0)
				conf_err_at(c->sec, NULL, "the %s plugin "
				    "refused this check", c->type->def->name);
			c->priv = NULL;	/* configure() frees on failure */
		}
	}
}
