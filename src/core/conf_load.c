/*
 * conf_load.c — the config parser's driver: conf_load() builds the option
 * tables (every check type, host, template, apply rule and registered
 * section), parses the file and its includes, then hands the parsed tree
 * to each part in order (early sections, templates and apply rules,
 * checks and hosts, references, cycles, each type's configure(), the
 * other sections); conf_free() undoes it.  The parts (conf_file.c,
 * conf_options.c, conf_objects.c, conf_templates.c, conf_daemon.c) and
 * the parse context below them (conf.c) never call back up here.
 */
#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"
#include "core/plugin.h"

/* Options of a module section, its nested sections included. */
static cfg_opt_t *
mod_options(const struct conf_section *ms)
{
	struct conf_optv o = { NULL, 0, 0, false };
	const struct tocsin_option *p;
	const struct conf_section *sub;
	cfg_opt_t *opt;

	conf_optv_hook(&o);
	for (p = ms->options; p != NULL && p->name != NULL; p++)
		conf_optv_typed(&o, p->name, p->type, p->def, p->flags);
	for (sub = ms->subsections; sub != NULL && sub->name != NULL; sub++)
		if ((opt = conf_optv_add(&o, sub->name, CFGT_SEC, CFGF_MULTI |
		    (sub->titled ? CFGF_TITLE : 0))) != NULL &&
		    (opt->subopts = mod_options(sub)) == NULL)
			o.oom = true;
	if (o.oom) {
		conf_opts_free(o.v);
		return NULL;
	}
	return o.v;
}

/* Root options: hosts, include(), each check type, each module section. */
static cfg_opt_t *
root_options(struct conf_errors *errs)
{
	struct conf_optv root = { NULL, 0, 0, false }, h = { NULL, 0, 0, false };
	cfg_opt_t *opt;
	unsigned i;

	conf_host_options(&h);
	if ((opt = conf_optv_add(&root, "host", CFGT_SEC,
	    CFGF_MULTI | CFGF_TITLE)) != NULL)
		opt->subopts = h.v;
	if ((opt = conf_optv_add(&root, "template", CFGT_SEC,
	    CFGF_MULTI | CFGF_TITLE)) != NULL &&
	    (opt->subopts = conf_template_options(false)) == NULL)
		root.oom = true;
	if ((opt = conf_optv_add(&root, "apply", CFGT_SEC,
	    CFGF_MULTI | CFGF_TITLE)) != NULL &&
	    (opt->subopts = conf_template_options(true)) == NULL)
		root.oom = true;
	if ((opt = conf_optv_add(&root, "include", CFGT_FUNC, CFGF_NONE)) != NULL)
		opt->func = conf_include;
	for (i = 0; i < ctype_count(); i++) {
		const struct tocsin_check_type *t = ctype_at(i)->def;

		if (strcmp(t->name, "daemon") == 0 ||
		    strcmp(t->name, "api") == 0 ||
		    strcmp(t->name, "host") == 0 ||
		    strcmp(t->name, "template") == 0 ||
		    strcmp(t->name, "apply") == 0 ||
		    strcmp(t->name, "include") == 0) {
			conf_errorf(errs, "check type \"%s\": name is reserved",
			    t->name);
			continue;
		}
		if (conf_mod_section(t->name) != NULL) {
			conf_errorf(errs, "check type \"%s\": name is used by "
			    "a section of the core", t->name);
			continue;
		}
		if ((opt = conf_optv_add(&root, t->name, CFGT_SEC,
		    CFGF_MULTI | CFGF_TITLE)) != NULL)
			opt->subopts = conf_type_options(t, errs);
	}
	for (i = 0; i < conf_mod_count(); i++) {
		const struct conf_section *ms = conf_mod_at(i, NULL);

		if ((opt = conf_optv_add(&root, ms->name, CFGT_SEC, ms->titled ?
		    CFGF_MULTI | CFGF_TITLE : CFGF_NONE)) != NULL &&
		    (opt->subopts = mod_options(ms)) == NULL)
			root.oom = true;
	}
	if (root.oom || h.oom) {
		conf_opts_free(root.v);
		return NULL;
	}
	return root.v;
}

static void
ctx_free(struct parse_ctx *ctx)
{
	unsigned i;

	tdestroy(ctx->positions, free);
	tdestroy(ctx->check_names, conf_seen_free);
	tdestroy(ctx->host_names, conf_seen_free);
	tdestroy(ctx->mod_names, conf_seen_free);
	tdestroy(ctx->once, free);
	conf_made_free(ctx->made);
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
	for (i = 0; i < ctx->nquoted; i++)
		free(ctx->quoted[i].key);
	free(ctx->quoted);
}

/*
 * Sections of core modules, in registration order and then file order;
 * each module's finish() runs after all of its sections are loaded, when
 * the checks and hosts are known, to check its cross-references.  The
 * early ones (daemon { }, api { }) are loaded before the checks and
 * hosts, the others after.
 */
static void
load_modules(struct config *cf, cfg_t *root, bool early)
{
	struct tocsin_conf tc;
	unsigned i, j, n;

	for (i = 0; i < conf_mod_count(); i++) {
		bool is_early;
		const struct conf_section *ms = conf_mod_at(i, &is_early);

		if (is_early != early)
			continue;

		n = cfg_size(root, ms->name);
		for (j = 0; j < n; j++) {
			cfg_t *sec = cfg_getnsec(root, ms->name, j);
			unsigned before = conf_pctx->errs->n;

			conf_required_keys(sec, ms->options);
			conf_secret_keys(sec, ms->options);
			if (conf_pctx->errs->n != before)
				continue;
			tc.sec = sec;
			tc.chk = NULL;
			tc.ctx = conf_pctx;
			tc.nerrors = 0;
			if (ms->load(cf, &tc, &cf->mod_state[i]) != 0 &&
			    conf_pctx->errs->n == before)
				conf_err_at(sec, NULL, "invalid section");
		}
		if (ms->finish != NULL)
			ms->finish(cf, &cf->mod_state[i], conf_pctx->errs);
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
	conf_pctx->root = cfg;
	rc = conf_parse_path(cfg, path);
	if (rc == CFG_FILE_ERROR) {
		conf_errorf(conf_pctx->errs, "%s: cannot read: %s", path,
		    strerror(errno));
		cfg_free(cfg);
		conf_pctx->root = NULL;
		return NULL;
	}
	if (rc != CFG_SUCCESS) {
		if (conf_pctx->errs->n == 0)
			conf_errorf(conf_pctx->errs, "%s: syntax error", path);
		/*
		 * Keep what was parsed: checking it finds more mistakes for
		 * the same run of -t.  The config is refused anyway.
		 */
		conf_pctx->partial = true;
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

	conf_mod_set_core(&conf_daemon_section);
	memset(&ctx, 0, sizeof(ctx));
	ctx.errs = errs;
	ctx.path = path;
	conf_pctx = &ctx;
	if ((opts = root_options(errs)) == NULL) {
		conf_errorf(errs, "%s: out of memory", path);
		goto out;
	}
	root = parse_file(path, opts, CFGF_NONE);
	conf_opts_free(opts);
	if (root == NULL)
		goto out;
	if ((cf = calloc(1, sizeof(*cf))) == NULL ||
	    (cf->path = strdup(path)) == NULL) {
		conf_errorf(errs, "%s: out of memory", path);
		goto out;
	}
	ctx.cf = cf;
	load_modules(cf, root, true);
	conf_expand(cf, root);
	conf_load_objects(cf, root);
	conf_resolve_refs(cf);
	conf_host_cycles(cf);
	conf_check_cycles(cf);
	conf_configure_checks(cf);
	load_modules(cf, root, false);
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
	conf_pctx = NULL;
	if (errs->n > 0) {
		conf_free(cf);
		return NULL;
	}
	return cf;
}

void
conf_free(struct config *cf)
{
	unsigned i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nchecks; i++)
		conf_check_free(cf->checks[i]);
	free(cf->checks);
	for (i = 0; i < cf->nhosts; i++)
		conf_host_free(cf->hosts[i]);
	free(cf->hosts);
	conf_strlist_free(cf->concurrency, cf->nconcurrency);
	for (i = 0; i < conf_mod_count(); i++) {
		const struct conf_section *ms = conf_mod_at(i, NULL);

		if (cf->mod_state[i] != NULL && ms->free != NULL)
			ms->free(cf->mod_state[i]);
	}
	free(cf->path);
	free(cf->state_dir);
	free(cf->plugin_dir);
	free(cf->user);
	free(cf->rrdcached);
	for (i = 0; i < cf->nrules; i++) {
		free(cf->rules[i].name);
		free(cf->rules[i].type);
		free(cf->rules[i].file);
	}
	free(cf->rules);
	free(cf);
}
