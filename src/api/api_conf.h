/*
 * api_conf.h — the api { } section: where the HTTP API listens, where
 * its token is, who may read without it.  Registered by the API module
 * (api_register_config()) before the first conf_load().
 */
#ifndef TOCSIN_API_CONF_H
#define TOCSIN_API_CONF_H

#include <stdbool.h>
#include <stdint.h>

struct config;

#define API_DEFAULT_LISTEN	"127.0.0.1:8470"

struct api_conf {
	char *listen;			/* owned: "127.0.0.1:8470" */
	char *token_file;		/* owned; state_dir/api.token by default */
	bool read_requires_token;	/* GETs need the token, even local */
	bool allow_remote_reads;	/* GETs from non-loopback: no token */
	unsigned max_connections;	/* cap; the oldest idle one goes */
	int64_t request_timeout_ms;	/* a whole request, from accept */
	unsigned graph_workers;		/* threads drawing graphs (pool.h) */
	unsigned graph_queue;		/* graph requests waiting, then 503 */
	char **allowed_hosts;		/* owned: Host names served, besides
					 * IP literals and localhost */
	unsigned nallowed_hosts;
	/* paging from the phone (notify_links.c, notify_inbound.c) */
	char *public_url;		/* owned: "https://mon.example.com", no
					   trailing '/'; NULL: no action links */
	char *public_listen;		/* owned: a listener serving only the
					   API_SIGNED routes, or NULL */
	int64_t action_link_ttl_ms;	/* how long a link in a page works */
};

/* RETURN VALUE: 0, or -1 (the section registry refused it). */
int api_register_config(void);
/*
 * api_conf — cf's api { } values; NULL when cf is NULL or the section
 * was not registered (unit tests that link the API without serving it).
 * Borrowed: valid as long as cf.
 */
struct api_conf *api_conf(const struct config *cf);
/* cf's listen address, API_DEFAULT_LISTEN without an api { } section. */
const char *api_conf_listen(const struct config *cf);

#endif
