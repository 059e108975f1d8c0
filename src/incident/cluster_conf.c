/*
 * cluster_conf.c — the cluster { } section: the PostgreSQL database the
 * nodes of a cluster share, this node's name and location, and the lease
 * after which a silent node counts as dead (issue 19).
 *
 * Only the section's syntax is here: its keys are read and checked with
 * FILE:LINE errors; cluster_node.c runs the node.  Without cluster { }
 * (or with an empty one) nothing changes.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <tocsin/plugin.h>

#include "core/conf.h"
#include "incident/incident_int.h"

static const struct tocsin_option cluster_options[] = {
	{ "database", TOCSIN_OPT_STR, NULL, 0,
	    "libpq URI (postgresql://…) or conninfo (\"host=… dbname=…\") "
	    "of the database the nodes share; no password in it: libpq "
	    "reads it from PGPASSFILE or ~/.pgpass" },
	{ "node", TOCSIN_OPT_STR, NULL, 0,
	    "this node's name, unique in the cluster; default: the host "
	    "name" },
	{ "location", TOCSIN_OPT_STR, NULL, 0,
	    "where this node runs (\"eu-1\"); optional" },
	{ "api", TOCSIN_OPT_STR, NULL, 0,
	    "HOST:PORT where the other nodes reach this node's API (a "
	    "follower forwards the leader's routes there); default: "
	    "api { listen }, which must then not be a wildcard address" },
	{ "lease", TOCSIN_OPT_DURATION, "10s", 0,
	    "a node whose heartbeat is older than this is dead" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

void
cluster_conf_free(void *p)
{
	struct cluster_conf *cc = p;

	if (cc == NULL)
		return;
	free(cc->database);
	free(cc->node);
	free(cc->location);
	free(cc->api);
	free(cc);
}

/* A node or location name: 1..63 of [A-Za-z0-9._-]. */
static bool
cluster_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 63)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* Does the connection string carry a password?  (It must not.) */
static bool
has_password(const char *db)
{
	const char *at, *colon, *p;

	if (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0) {
		p = strchr(db, '/') + 2;
		at = strchr(p, '@');
		colon = strchr(p, ':');
		if (at != NULL && colon != NULL && colon < at &&
		    strcspn(p, "/") > (size_t)(at - p))
			return true;
		return strstr(db, "password=") != NULL;
	}
	for (p = db; (p = strstr(p, "password")) != NULL; p += 8)
		if ((p == db || isspace((unsigned char)p[-1])) &&
		    p[8 + strspn(p + 8, " \t")] == '=')
			return true;
	return false;
}

bool
cluster_api_ok(const char *a)
{
	const char *colon = strrchr(a, ':');
	char host[64];
	unsigned char buf[16];
	size_t n;
	long port;
	char *end;

	if (colon == NULL || colon == a)
		return false;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		return false;
	n = (size_t)(colon - a);
	if (a[0] == '[' && colon[-1] == ']') {
		if (n - 2 >= sizeof(host))
			return false;
		memcpy(host, a + 1, n - 2);
		host[n - 2] = '\0';
		return inet_pton(AF_INET6, host, buf) == 1;
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, a, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, buf) == 1;
}

static int
cluster_conf_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct cluster_conf *cc;
	const char *db, *node, *loc;
	char host[HOST_NAME_MAX + 1];
	int rc = 0;

	(void)cf;
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return -1;
	*state = cc;
	cc->lease_ms = tocsin_conf_duration_ms(sec, "lease");
	if (!tocsin_conf_is_set(sec, "database") &&
	    !tocsin_conf_is_set(sec, "node") &&
	    !tocsin_conf_is_set(sec, "location") &&
	    !tocsin_conf_is_set(sec, "lease"))
		return 0;	/* no cluster { }: one node on SQLite */
	cc->enabled = true;
	db = tocsin_conf_str(sec, "database");
	node = tocsin_conf_str(sec, "node");
	loc = tocsin_conf_str(sec, "location");
	if (db == NULL || db[0] == '\0') {
		/* reported on a key written (an unset one has no line) */
		tocsin_conf_error(sec, tocsin_conf_is_set(sec, "node") ?
		    "node" : tocsin_conf_is_set(sec, "location") ?
		    "location" : "lease", "database is required in cluster "
		    "{ } (a postgresql:// URI or a conninfo string)");
		rc = -1;
	} else if (has_password(db)) {
		tocsin_conf_error(sec, "database", "holds a password; put it "
		    "in a passfile (PGPASSFILE or ~/.pgpass) instead");
		rc = -1;
	} else if ((cc->database = strdup(db)) == NULL)
		return -1;
	if (node == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';	/* short name */
		node = host;
	}
	if (!cluster_name_ok(node)) {
		tocsin_conf_error(sec, "node", "\"%.80s\" is not a node name "
		    "(1 to 63 letters, digits, '.', '_', '-')", node);
		rc = -1;
	} else if ((cc->node = strdup(node)) == NULL)
		return -1;
	if (loc != NULL) {
		if (!cluster_name_ok(loc)) {
			tocsin_conf_error(sec, "location", "\"%.80s\" is not "
			    "a location name (1 to 63 letters, digits, '.', "
			    "'_', '-')", loc);
			rc = -1;
		} else if ((cc->location = strdup(loc)) == NULL)
			return -1;
	}
	if (cc->lease_ms < 1000) {
		tocsin_conf_error(sec, "lease", "must be at least 1s");
		rc = -1;
	}
	if (tocsin_conf_is_set(sec, "api") &&
	    (cc->api = strdup(tocsin_conf_str(sec, "api"))) == NULL)
		return -1;
	if (cc->api != NULL && !cluster_api_ok(cc->api)) {
		tocsin_conf_error(sec, "api", "\"%.80s\" is not ADDRESS:PORT "
		    "(an IP address: \"10.0.0.1:8080\", \"[2001:db8::1]:8080\")",
		    cc->api);
		rc = -1;
	}
	return rc;
}

static const struct conf_section cluster_section = {
	"cluster", false, cluster_options, NULL, cluster_conf_load, NULL,
	cluster_conf_free,
};

int
cluster_register_config(void)
{
	return conf_section_register(&cluster_section);
}
