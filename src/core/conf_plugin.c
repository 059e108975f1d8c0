/*
 * conf_plugin.c — the tocsin_conf_* functions of the plugin ABI, with
 * which a check type's configure() and a module section's load() read
 * their options and report problems at the key's FILE:LINE.  Valid only
 * during conf_load() (conf_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"

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
	return conf_opt_set(cf->sec, key) ? 1 : 0;
}

void
tocsin_conf_error(struct tocsin_conf *cf, const char *key, const char *fmt,
    ...)
{
	va_list ap;
	char *msg, label[256];
	const char *file;
	int line;
	bool shared;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	shared = conf_pos_get(cf->sec, key, &file, &line);
	/* a key from a template: once, not for each check using it */
	if (shared && !conf_once("%s:%d:%s:%s", file, line, key ? key : "",
	    msg ? msg : "?")) {
		free(msg);
		cf->nerrors++;
		return;
	}
	conf_sec_label(cf->sec, label, sizeof(label));
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
	conf_pos_get(cf->sec, key, file, line);
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
	for (ms = conf_mod_section(cf->sec->name), s = ms ? ms->subsections : NULL;
	    s != NULL && s->name != NULL; s++)
		if (strcmp(s->name, name) == 0) {
			unsigned before = cf->ctx->errs->n;

			conf_required_keys(sec, s->options);
			conf_secret_keys(sec, s->options);
			sub->nerrors += cf->ctx->errs->n - before;
		}
	return sub;
}

int
conf_nerrors(struct tocsin_conf *cf)
{
	return cf->nerrors;
}

const struct config *
conf_of(struct tocsin_conf *sec)
{
	return sec != NULL && sec->ctx != NULL ? sec->ctx->cf : NULL;
}

const char *
tocsin_check_name(const struct tocsin_check *chk)
{
	return ((const struct check *)chk)->name;
}
