/*
 * api_conf.c — the api { } section (api_conf.h).  Loaded early, after
 * daemon { } (the token file defaults to state_dir/api.token), so main.c
 * can bind the listener before the checks start.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tocsin/plugin.h>

#include "api/api_conf.h"
#include "core/conf.h"
#include "core/util.h"

static const struct tocsin_option api_options[] = {
	{ "listen", TOCSIN_OPT_STR, API_DEFAULT_LISTEN, 0, NULL },
	{ "token_file", TOCSIN_OPT_STR, NULL, 0, NULL },
	{ "read_requires_token", TOCSIN_OPT_BOOL, "false", 0, NULL },
	{ "allow_remote_reads", TOCSIN_OPT_BOOL, "false", 0, NULL },
	{ "max_connections", TOCSIN_OPT_INT, "512", 0, NULL },
	{ "request_timeout", TOCSIN_OPT_DURATION, "10s", 0, NULL },
	{ "graph_workers", TOCSIN_OPT_INT, "2", 0, NULL },
	{ "graph_queue", TOCSIN_OPT_INT, "8", 0, NULL },
	{ "allowed_hosts", TOCSIN_OPT_STR_LIST, NULL, 0, NULL },
	{ "public_url", TOCSIN_OPT_STR, NULL, 0,
	    "the address people reach tocsind by (through a reverse proxy): "
	    "pages carry signed action links to it" },
	{ "public_listen", TOCSIN_OPT_STR, NULL, 0,
	    "HOST:PORT serving only the action links and inbound webhooks" },
	{ "action_link_ttl", TOCSIN_OPT_DURATION, "24h", 0,
	    "how long an action link in a page works" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static void
api_conf_free(void *p)
{
	struct api_conf *ac = p;

	if (ac == NULL)
		return;
	free(ac->listen);
	free(ac->token_file);
	while (ac->nallowed_hosts > 0)
		free(ac->allowed_hosts[--ac->nallowed_hosts]);
	free(ac->allowed_hosts);
	free(ac->public_url);
	free(ac->public_listen);
	free(ac);
}

/*
 * allowed_hosts = { "monitor.example.com", … }: the names clients may
 * put in Host (besides IP literals and localhost), so that a page whose
 * name was rebound to 127.0.0.1 cannot read the API.  A name, no port,
 * no scheme.  RETURN VALUE: 0, or -1 after reporting each bad one.
 */
static int
api_conf_hosts(struct api_conf *ac, struct tocsin_conf *sec)
{
	unsigned i, n = tocsin_conf_list_size(sec, "allowed_hosts");
	int rc = 0;

	if (n == 0)
		return 0;
	if ((ac->allowed_hosts = calloc(n, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *h = tocsin_conf_list_str(sec, "allowed_hosts", i);
		size_t k, len = strlen(h);
		bool ok = len > 0 && len <= 253 && h[0] != '.' && h[0] != '-';

		for (k = 0; ok && k < len; k++)
			ok = isalnum((unsigned char)h[k]) || h[k] == '.' ||
			    h[k] == '-';
		if (!ok) {
			tocsin_conf_error(sec, "allowed_hosts", "\"%.64s\" "
			    "is not a host name (letters, digits, '.', '-'; "
			    "no port)", h);
			rc = -1;
			continue;
		}
		ac->allowed_hosts[ac->nallowed_hosts++] = xstrdup(h);
	}
	return rc;
}

static int
api_conf_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct api_conf *ac;
	long v;
	const char *u;
	int rc = 0;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return -1;
	*state = ac;		/* freed with the config, even on errors */
	ac->listen = xstrdup(tocsin_conf_str(sec, "listen"));
	if (tocsin_conf_str(sec, "token_file") != NULL)
		ac->token_file = conf_key_path(sec, "token_file");
	else if (cf->state_dir != NULL &&
	    asprintf(&ac->token_file, "%s/api.token", cf->state_dir) < 0)
		ac->token_file = NULL;
	ac->read_requires_token = tocsin_conf_bool(sec, "read_requires_token");
	ac->allow_remote_reads = tocsin_conf_bool(sec, "allow_remote_reads");
	v = tocsin_conf_int(sec, "max_connections");
	if (v < 8 || v > 1000000)
		tocsin_conf_error(sec, "max_connections", "%ld is not between "
		    "8 and 1000000", v);
	ac->max_connections = (unsigned)v;
	ac->request_timeout_ms = tocsin_conf_duration_ms(sec,
	    "request_timeout");
	if (ac->request_timeout_ms < 100 ||
	    ac->request_timeout_ms > 3600000) {
		tocsin_conf_error(sec, "request_timeout", "must be between "
		    "100ms and 1h");
		ac->request_timeout_ms = 10000;
	}
	v = tocsin_conf_int(sec, "graph_workers");
	if (v < 1 || v > 64)
		tocsin_conf_error(sec, "graph_workers", "%ld is not between 1 "
		    "and 64", v);
	ac->graph_workers = (unsigned)v;
	v = tocsin_conf_int(sec, "graph_queue");
	if (v < 0 || v > 10000)
		tocsin_conf_error(sec, "graph_queue", "%ld is not between 0 "
		    "and 10000", v);
	ac->graph_queue = (unsigned)v;
	ac->action_link_ttl_ms = tocsin_conf_duration_ms(sec,
	    "action_link_ttl");
	if (ac->action_link_ttl_ms < 60000 ||
	    ac->action_link_ttl_ms > 30LL * 86400000) {
		tocsin_conf_error(sec, "action_link_ttl", "not in 1m..30d");
		rc = -1;
	}
	if ((u = tocsin_conf_str(sec, "public_url")) != NULL && *u != '\0') {
		size_t n = strlen(u);
		const char *p;
		bool ok = strncmp(u, "https://", 8) == 0 ||
		    strncmp(u, "http://", 7) == 0;

		for (p = u; *p != '\0'; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' ||
			    *p == '<' || *p == '>' || *p == '?' || *p == '#')
				ok = false;
		if (!ok) {
			tocsin_conf_error(sec, "public_url", "\"%.100s\" is not "
			    "an http:// or https:// URL without query, "
			    "fragment or spaces", u);
			rc = -1;
		}
		while (n > 0 && u[n - 1] == '/')
			n--;
		ac->public_url = strndup(u, n);
	}
	if ((u = tocsin_conf_str(sec, "public_listen")) != NULL && *u != '\0')
		ac->public_listen = xstrdup(u);
	if (api_conf_hosts(ac, sec) == -1)
		rc = -1;
	return rc;
}

static const struct conf_section api_section = {
	"api", false, api_options, NULL, api_conf_load, NULL, api_conf_free,
};

int
api_register_config(void)
{
	return conf_section_register_early(&api_section);
}

struct api_conf *
api_conf(const struct config *cf)
{
	return conf_section_state(cf, "api");
}

const char *
api_conf_listen(const struct config *cf)
{
	const struct api_conf *ac = api_conf(cf);

	return ac != NULL && ac->listen != NULL ? ac->listen :
	    API_DEFAULT_LISTEN;
}
