/*
 * api.c — the HTTP API server: evhttp on api.listen, the route table,
 * access (the bearer token) and dispatch.  The conventions every reply
 * shares are api_json.c's; this file uses them, as every handler does.
 *
 * Owns the evhttp server, its listening socket, the route table and the
 * bearer token, and nothing else: the routes themselves belong to the
 * modules that own the state they show (api_checks.c for the checks,
 * api_metrics.c for /metrics, api_dashboard.c for the page, the incident
 * log, the metric store, the notifier), each of which adds its routes
 * with api_route_add() at start-up.  This file calls none of them.
 *
 * Never blocks: evhttp reads and writes on the daemon's event_base, and a
 * handler only walks memory and fills an evbuffer.  The possibly slow
 * calls are the getaddrinfo() of api_new() when listen names a host
 * instead of an address (once, at start-up) and reading the small token
 * file (at start-up, and again only when it changed).
 *
 * Access: a route that changes state (API_MUTATES) needs
 * "Authorization: Bearer TOKEN" from every client; reads are open to
 * clients on loopback and need the token from elsewhere unless
 * api.allow_remote_reads is set, or from everyone with
 * api.read_requires_token (api_authorized()).  The token is checked in
 * constant time; a missing or wrong one gets 401 with WWW-Authenticate.
 *
 * Limits, so that a client cannot exhaust memory, descriptors or the
 * loop: headers 8 KiB, body 1 MiB (413); a cap on connections, a
 * deadline for a whole request and accept paused at EMFILE (api_conn.c);
 * big replies made in slices, a bounded time per loop turn, only as fast
 * as the client reads (api_stream.c); graphs and forecasts on worker
 * threads (src/metric/pool.c).
 *
 * Routing: one generic callback looks the path up in the route table.
 * Every reply (api_json.c), errors included, is JSON with Content-Type:
 * application/json (except what a module sends as PNG, SVG, HTML or
 * text) and Cache-Control: no-store; errors are {"error":"message"}.  A
 * few errors are evhttp's own, with an HTML body, since libevent 2.1 has
 * no hook to shape them: a request line or headers it cannot parse (400,
 * an unknown method among them) and headers or body over the limits
 * (413).  Any method evhttp knows that no route has for a path is a JSON
 * 405 with Allow.
 *
 * Host: only IP literals, localhost and api.allowed_hosts are served
 * (api_host_ok(), against DNS rebinding); any other is a JSON 403.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_conf.h"
#include "api/api_conn.h"
#include "api/api_forward.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"

#define API_MAX_HEADERS	(8 * 1024)
#define API_MAX_BODY	(1024 * 1024)
#define API_TIMEOUT_S	10	/* without a config (unit tests) */

/* libevent 2.1 does not name it */
#ifndef HTTP_UNAUTHORIZED
#define HTTP_UNAUTHORIZED	401
#endif
#ifndef HTTP_FORBIDDEN
#define HTTP_FORBIDDEN		403
#endif

struct api {
	struct evhttp *http;
	bool public_only;		/* api.public_listen: API_OUTSIDE only */
	struct api_listen *conns;	/* api_conn.c's watch */
};

/* The bearer token (see "the token" below). */
#define API_TOKEN_MAX	256
#define API_TOKEN_MIN	16

static char api_token[API_TOKEN_MAX + 1];
static size_t api_token_len;
static char *api_token_path;			/* the file it came from */
static struct stat api_token_sb;		/* and that file's identity */

static api_handler api_get_routes;

/*
 * The routes, tried in the order they were added (api_route_add()).  A
 * path ending in '/' (other than "/" itself, the dashboard's page) is a
 * prefix: it matches longer paths only, and the
 * handler gets the rest of the path still percent-encoded (it decodes
 * what it takes as a name).  Otherwise the path must match exactly.  A
 * GET route also answers HEAD (api_reply() drops the body).  A path that
 * some route knows, but not with the request's method, gets 405 with an
 * Allow header listing the methods that do exist for it.  Modules add
 * their routes once, at start-up; the table outlives reloads and api
 * instances.
 */
struct api_route {
	enum evhttp_cmd_type method;
	char *path;
	unsigned flags;
	api_handler *handler;
	void *arg;
};
static struct api_route *api_routes;
static unsigned api_nroutes;
static void (*api_presync)(void);
static int (*api_sync_fn)(void);
static const char *(*api_fwd_target)(void);
static bool api_core_added;

static int api_core_routes(void);

int
api_route_add(enum evhttp_cmd_type method, const char *path, unsigned flags,
    api_handler *handler, void *arg)
{
	struct api_route *v, *r;

	if (!api_core_added && api_core_routes() == -1)
		return -1;
	v = reallocarray(api_routes, api_nroutes + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	api_routes = v;
	r = &api_routes[api_nroutes];
	if ((r->path = strdup(path)) == NULL)
		return -1;
	r->method = method;
	/*
	 * docs/api.md: changes need a token.  Anything but a GET is taken to
	 * change something, so a module that forgets the flag on a POST
	 * fails closed, not open.
	 */
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD &&
	    !(flags & API_SIGNED))
		flags = (flags | API_MUTATES) & ~API_PUBLIC;
	r->flags = flags;
	r->handler = handler;
	r->arg = arg;
	api_nroutes++;
	return 0;
}

unsigned
api_route_count(void)
{
	return api_nroutes;
}

void
api_routes_mark_leader(unsigned from)
{
	unsigned i;

	for (i = from; i < api_nroutes; i++)
		api_routes[i].flags |= API_LEADER;
}

int
api_routes_mark_leader_path(const char *path)
{
	unsigned i, n = 0;

	for (i = 0; i < api_nroutes; i++)
		if (strcmp(api_routes[i].path, path) == 0) {
			api_routes[i].flags |= API_LEADER;
			n++;
		}
	return n > 0 ? 0 : -1;
}

void
api_set_forward(const char *(*target)(void))
{
	api_fwd_target = target;
}

void
api_set_presync(void (*fn)(void))
{
	api_presync = fn;
}

void
api_set_sync(int (*fn)(void))
{
	api_sync_fn = fn;
}

int
api_sync(void)
{
	return api_sync_fn != NULL ? api_sync_fn() : 0;
}

void
api_routes_clear(void)
{
	unsigned i;

	for (i = 0; i < api_nroutes; i++)
		free(api_routes[i].path);
	free(api_routes);
	api_routes = NULL;
	api_nroutes = 0;
	api_core_added = false;
	explicit_bzero(api_token, sizeof(api_token));
	api_token_len = 0;
	free(api_token_path);
	api_token_path = NULL;
}

/* The server's own route, added before any module's. */
static int
api_core_routes(void)
{
	if (api_core_added)
		return 0;
	api_core_added = true;
	return api_route_add(EVHTTP_REQ_GET, "/api/v1/routes", 0,
	    api_get_routes, NULL);
}

/* ---- routing -------------------------------------------------------- */

static const char *
api_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_TRACE:		return "TRACE";
	case EVHTTP_REQ_CONNECT:	return "CONNECT";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	}
	return "?";
}

/*
 * GET /api/v1/routes — every route: method, path (a trailing '/' is a
 * prefix) and whether it needs the token.  Clients and tests use it to
 * know which endpoints this build has (a module may be absent).
 */
static void
api_get_routes(struct evhttp_request *req, const char *rest, void *arg)
{
	json_t *o, *a, *r;
	unsigned i;
	int err = 0;

	(void)rest;
	(void)arg;
	if ((o = json_object()) == NULL || (a = json_array()) == NULL) {
		json_decref(o);
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	for (i = 0; i < api_nroutes; i++) {
		if ((r = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(r, "method", json_string(api_method_name(
		    api_routes[i].method)), &err);
		api_set(r, "path", api_str(api_routes[i].path), &err);
		api_set(r, "mutates", json_boolean(api_routes[i].flags &
		    API_MUTATES), &err);
		/* no token: each request carries its own signature */
		api_set(r, "signed", json_boolean(api_routes[i].flags &
		    API_SIGNED), &err);
		api_append(a, r, &err);
	}
	api_set(o, "routes", a, &err);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
}

/* ---- the token -------------------------------------------------------- */

/*
 * The bearer token, read from api.token_file.  It is read at start-up
 * (and the file created if missing).  A request that needs it stat()s the
 * file (a cheap local call) and reads it again when token_file names
 * another file after a reload or the file was replaced or changed, so
 * rotating the token is just writing the file.  If the file cannot be
 * read then, the old token stays in force (and the log says why).
 * The token never goes to the log: logs are read by more people (the adm
 * group, a log shipper) than the file, which is 0600.
 */

/* Creates path with a new random token.  RETURN VALUE: 0 or -1 (logged). */
static int
api_token_create(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[32];
	char text[sizeof(rnd) * 2 + 1];
	size_t i;
	ssize_t n;
	int fd;

	for (i = 0; i < sizeof(rnd); i += (size_t)n)
		if ((n = getrandom(rnd + i, sizeof(rnd) - i, 0)) <= 0) {
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			log_warn("api: getrandom");
			return -1;
		}
	for (i = 0; i < sizeof(rnd); i++) {
		text[2 * i] = hex[rnd[i] >> 4];
		text[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	text[sizeof(text) - 1] = '\n';
	/* O_EXCL: never truncate a token another process just wrote */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		log_warn("api: cannot create the token file %s", path);
		return -1;
	}
	if (write(fd, text, sizeof(text)) != (ssize_t)sizeof(text) ||
	    fsync(fd) == -1) {
		log_warn("api: cannot write the token file %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	explicit_bzero(rnd, sizeof(rnd));
	explicit_bzero(text, sizeof(text));
	log_notice("api: created a new API token in %s (mode 0600); "
	    "clients that change something send it as \"Authorization: "
	    "Bearer TOKEN\" (tocsinctl -c reads it from there; or: cat %s)",
	    path, path);
	return 0;
}

/*
 * Reads the token from cf's token_file, creating the file if it does not
 * exist.  RETURN VALUE: 0, or -1 after logging why (the old token, if
 * any, stays in force).
 */
static int
api_token_load(const struct config *cf)
{
	char buf[API_TOKEN_MAX + 2];
	const char *path;
	struct stat sb;
	ssize_t n;
	size_t len;
	int fd;

	if (api_conf(cf) == NULL || (path = api_conf(cf)->token_file) == NULL) {
		log_warnx("api: no token_file (and no state_dir to put "
		    "api.token in)");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (api_token_create(path) == -1)
			return -1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1) {
		log_warn("api: cannot read the token file %s", path);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		log_warn("api: cannot read the token file %s", path);
		close(fd);
		return -1;
	}
	if ((sb.st_mode & 0077) != 0)
		log_warnx("api: the token file %s can be read by other users "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		log_warn("api: cannot read the token file %s", path);
		return -1;
	}
	len = (size_t)n;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (len < API_TOKEN_MIN || len > API_TOKEN_MAX ||
	    strcspn(buf, " \t\r\n") != len) {
		log_warnx("api: the token file %s must hold one token of %d "
		    "to %d characters without spaces", path, API_TOKEN_MIN,
		    API_TOKEN_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	if (api_token_path == NULL || strcmp(api_token_path, path) != 0) {
		free(api_token_path);
		if ((api_token_path = strdup(path)) == NULL) {
			log_warn("api: token file");
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
	}
	memcpy(api_token, buf, len + 1);
	api_token_len = len;
	api_token_sb = sb;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Has token_file changed (another path, file replaced or written)? */
static bool
api_token_stale(const struct config *cf)
{
	struct stat sb;

	if (api_conf(cf) == NULL || api_conf(cf)->token_file == NULL)
		return false;
	if (api_token_path == NULL ||
	    strcmp(api_token_path, api_conf(cf)->token_file) != 0)
		return true;
	if (stat(api_token_path, &sb) == -1)
		return errno == ENOENT;		/* deleted: make a new one */
	return sb.st_ino != api_token_sb.st_ino ||
	    sb.st_dev != api_token_sb.st_dev ||
	    sb.st_size != api_token_sb.st_size ||
	    sb.st_mtim.tv_sec != api_token_sb.st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != api_token_sb.st_mtim.tv_nsec;
}

/*
 * Does the request carry the token?  The comparison takes the same time
 * wherever the first difference is, so timing tells an attacker nothing
 * about the token's prefix; only its length could leak, and a generated
 * token's length is public anyway (64).
 */
static bool
api_token_ok(struct evhttp_request *req)
{
	const char *h;
	unsigned char diff;
	size_t i, n;

	if (api_token_stale(daemon_g.cf))
		(void)api_token_load(daemon_g.cf);
	if (api_token_len == 0)
		return false;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	for (h += 7; *h == ' '; h++)
		;
	n = strlen(h);
	while (n > 0 && h[n - 1] == ' ')
		n--;
	diff = n != api_token_len;
	for (i = 0; i < api_token_len; i++)
		diff |= (unsigned char)(api_token[i] ^ (i < n ? h[i] : 0));
	return diff == 0;
}

/* Is the client of req on this machine (127.0.0.0/8, ::1, v4-mapped)? */
static bool
api_peer_is_loopback(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *sa;
	const struct sockaddr_in6 *s6;
	const unsigned char *b;

	if (evcon == NULL || (sa = evhttp_connection_get_addr(evcon)) == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family != AF_INET6)
		return false;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return true;
	b = s6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127;
}

/*
 * May this request go to route r?  If not, replies 401 (with
 * WWW-Authenticate, RFC 6750) and returns false.
 */
static bool
api_authorized(struct evhttp_request *req, const struct api_route *r)
{
	const struct api_conf *ac = api_conf(daemon_g.cf);
	const char *h;
	bool need;

	if (r->flags & (API_PUBLIC | API_SIGNED))
		return true;
	if (r->flags & API_MUTATES)
		need = true;
	else
		need = ac == NULL || ac->read_requires_token ||
		    (!ac->allow_remote_reads && !api_peer_is_loopback(req));
	if (!need || api_token_ok(req))
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", h == NULL ? "Bearer realm=\"tocsin\"" :
	    "Bearer realm=\"tocsin\", error=\"invalid_token\"");
	if (h == NULL)
		api_error(req, HTTP_UNAUTHORIZED, "%s %s needs "
		    "\"Authorization: Bearer TOKEN\" (the token is in %s)",
		    api_method_name(evhttp_request_get_command(req)),
		    evhttp_request_get_uri(req), ac != NULL &&
		    ac->token_file != NULL ? ac->token_file :
		    "api.token_file");
	else
		api_error(req, HTTP_UNAUTHORIZED, "invalid token");
	return false;
}

bool
api_require_token(struct evhttp_request *req)
{
	static const struct api_route need = { EVHTTP_REQ_GET, NULL,
	    API_MUTATES, NULL, NULL };

	return api_authorized(req, &need);
}

/*
 * Does route r serve path?  RETURN VALUE: the rest of the path after a
 * prefix route ("" for an exact one), or NULL.
 */
static const char *
api_route_match(const struct api_route *r, const char *path)
{
	size_t n = strlen(r->path);

	if (n > 1 && r->path[n - 1] == '/') {
		if (strncmp(path, r->path, n) == 0 && path[n] != '\0')
			return path + n;
		return NULL;
	}
	return strcmp(path, r->path) == 0 ? path + n : NULL;
}

/*
 * Is the Host of req one this API answers to?  DNS rebinding (issue 14):
 * a web page on evil.example, its name then resolved to 127.0.0.1, makes
 * the browser of someone on this machine send loopback requests with
 * "Host: evil.example", and reads the answers as its own origin.  A
 * browser always sends the name it resolved, so serving only IP
 * literals, localhost (and *.localhost, which browsers never resolve
 * through DNS) and the configured allowed_hosts closes it.  No Host at
 * all (HTTP/1.0, a script) is no browser: served.
 */
static bool
api_host_ok(struct evhttp_request *req, char *shown, size_t len)
{
	const struct api_conf *ac = api_conf(daemon_g.cf);
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Host"), *colon;
	char host[256];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;
	unsigned i;

	if (h == NULL)
		return true;
	snprintf(shown, len, "%s", h);
	if (h[0] == '[') {		/* [v6]:port */
		const char *end = strchr(h, ']');

		if (end == NULL || (size_t)(end - h - 1) >= sizeof(host))
			return false;
		memcpy(host, h + 1, (size_t)(end - h - 1));
		host[end - h - 1] = '\0';
		return evutil_inet_pton(AF_INET6, host, &a6) == 1;
	}
	colon = strchr(h, ':');
	n = colon != NULL ? (size_t)(colon - h) : strlen(h);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (n > 1 && host[n - 1] == '.')	/* the root: "localhost." */
		host[--n] = '\0';
	if (evutil_inet_pton(AF_INET, host, &a4) == 1)
		return true;
	if (strcasecmp(host, "localhost") == 0 || (n > 10 &&
	    strcasecmp(host + n - 10, ".localhost") == 0))
		return true;
	for (i = 0; ac != NULL && i < ac->nallowed_hosts; i++)
		if (strcasecmp(host, ac->allowed_hosts[i]) == 0)
			return true;
	/* the name in public_url is this API's by definition (links) */
	if (ac != NULL && ac->public_url != NULL) {
		const char *u = strstr(ac->public_url, "://"), *e;

		if (u != NULL) {
			u += 3;
			e = u + strcspn(u, ":/");
			if ((size_t)(e - u) == n && strncasecmp(u, host, n) == 0)
				return true;
		}
	}
	return false;
}

/* evhttp's generic callback: every request comes here. */
static void
api_dispatch(struct evhttp_request *req, void *arg)
{
	static const enum evhttp_cmd_type order[] = {
		EVHTTP_REQ_GET, EVHTTP_REQ_HEAD, EVHTTP_REQ_POST,
		EVHTTP_REQ_PUT, EVHTTP_REQ_PATCH, EVHTTP_REQ_DELETE,
	};
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	enum evhttp_cmd_type want = cmd;
	const struct api *api = arg;
	const char *path, *rest;
	char allow[64];
	unsigned allowed = 0, i;
	size_t off;

	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL ||
	    path[0] != '/') {
		api_error(req, HTTP_BADREQUEST, "malformed request URI");
		return;
	}
	if (!api_host_ok(req, allow, sizeof(allow))) {
		api_error(req, HTTP_FORBIDDEN, "Host \"%s\" is not a name of "
		    "this API (IP addresses, localhost and api { allowed_hosts }"
		    " are)", allow);
		return;
	}
	if (want == EVHTTP_REQ_HEAD)
		want = EVHTTP_REQ_GET;
	api_conn_request(req);		/* busy until its reply is sent */
	for (i = 0; i < api_nroutes; i++) {
		if (api->public_only && (api_routes[i].flags &
		    (API_SIGNED | API_OUTSIDE)) != (API_SIGNED | API_OUTSIDE))
			continue;	/* the rest of the API is not here */
		if ((rest = api_route_match(&api_routes[i], path)) == NULL)
			continue;
		if (api_routes[i].method == want) {
			unsigned fl = api_routes[i].flags;
			const char *to;

			/* a follower's leader routes are the leader's */
			if ((fl & API_LEADER) && api_fwd_target != NULL &&
			    (to = api_fwd_target()) != NULL) {
				if (to[0] == '\0')
					api_error(req, 503, "the cluster has no "
					    "leader now; try again in a lease");
				else
					api_forward(req, to);
				return;
			}

			/* a change starts from a committed log (api.h) */
			if (api_presync != NULL && !(fl & API_BATCHED) &&
			    ((fl & API_MUTATES) || ((fl & API_SIGNED) &&
			    want != EVHTTP_REQ_GET)))
				api_presync();
			if (api_authorized(req, &api_routes[i]))
				api_routes[i].handler(req, rest,
				    api_routes[i].arg);
			return;
		}
		allowed |= api_routes[i].method;
	}
	if (allowed == 0) {
		api_error(req, HTTP_NOTFOUND, "not found: %s", path);
		return;
	}

	if (allowed & EVHTTP_REQ_GET)
		allowed |= EVHTTP_REQ_HEAD;
	allow[0] = '\0';
	for (i = 0, off = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((allowed & order[i]) && off < sizeof(allow))
			off += snprintf(allow + off, sizeof(allow) - off,
			    "%s%s", off ? ", " : "", api_method_name(order[i]));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	api_error(req, HTTP_BADMETHOD,
	    "method %s not allowed on %s (allowed: %s)",
	    api_method_name(cmd), path, allow);
}

/* ---- setup ---------------------------------------------------------- */

/*
 * Splits listen into host and port.  Only "HOST:PORT" and "[V6ADDR]:PORT"
 * are accepted: a bare IPv6 address with a port is ambiguous, so it must
 * be in brackets.  *host is new; the caller frees it.
 * RETURN VALUE: 0, or -1 after logging why.
 */
static int
api_parse_listen(const char *listen, char **host, uint16_t *port)
{
	struct in6_addr a6;
	const char *colon, *end, *p;
	unsigned long n;

	if (listen == NULL || listen[0] == '\0') {
		log_warnx("api: listen: empty address, expected HOST:PORT");
		return -1;
	}
	if (listen[0] == '[') {
		if ((end = strchr(listen, ']')) == NULL || end[1] != ':') {
			log_warnx("api: listen \"%s\": expected [IPV6]:PORT",
			    listen);
			return -1;
		}
		*host = strndup(listen + 1, end - listen - 1);
		colon = end + 1;
		if (*host != NULL &&
		    evutil_inet_pton(AF_INET6, *host, &a6) != 1) {
			log_warnx("api: listen \"%s\": \"%s\" is not an IPv6 "
			    "address", listen, *host);
			goto err;
		}
	} else {
		if ((colon = strrchr(listen, ':')) == NULL) {
			log_warnx("api: listen \"%s\": expected HOST:PORT",
			    listen);
			return -1;
		}
		if (strchr(listen, ':') != colon) {
			log_warnx("api: listen \"%s\": an IPv6 address goes in "
			    "brackets: [ADDR]:PORT", listen);
			return -1;
		}
		if (colon == listen) {
			log_warnx("api: listen \"%s\": missing host before the "
			    "port (0.0.0.0 means every address)", listen);
			return -1;
		}
		*host = strndup(listen, colon - listen);
	}
	if (*host == NULL) {
		log_warn("api: listen \"%s\"", listen);
		return -1;
	}

	for (p = colon + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			break;
	n = p - (colon + 1) <= 5 ? strtoul(colon + 1, NULL, 10) : 0;
	if (*p != '\0' || n == 0 || n > 65535) {
		log_warnx("api: listen \"%s\": port \"%s\" is not a number in "
		    "1..65535", listen, colon + 1);
		goto err;
	}
	*port = (uint16_t)n;
	return 0;
err:
	free(*host);
	*host = NULL;
	return -1;
}

static struct api *api_start(struct event_base *base, const char *listen,
    bool public_only);

struct api *
api_new(struct event_base *base, const char *listen)
{
	return api_start(base, listen, false);
}

struct api *
api_new_public(struct event_base *base, const char *listen)
{
	return api_start(base, listen, true);
}

static struct api *
api_start(struct event_base *base, const char *listen, bool public_only)
{
	struct api *api;
	struct evhttp_bound_socket *bound;
	struct timeval tv = { API_TIMEOUT_S, 0 };
	char *host = NULL;
	uint16_t port;

	if (api_core_routes() == -1) {
		log_warnx("api: out of memory");
		return NULL;
	}
	if (api_parse_listen(listen, &host, &port) == -1)
		return NULL;
	/* no token, no changes: better not to start than to be read-only */
	if ((api_token_len == 0 || api_token_stale(daemon_g.cf)) &&
	    api_token_load(daemon_g.cf) == -1) {
		free(host);
		return NULL;
	}
	if ((api = calloc(1, sizeof(*api))) == NULL) {
		log_warn("api: calloc");
		goto err;
	}
	api->public_only = public_only;
	if ((api->http = evhttp_new(base)) == NULL) {
		log_warnx("api: evhttp_new failed");
		goto err;
	}
	evhttp_set_max_headers_size(api->http, API_MAX_HEADERS);
	evhttp_set_max_body_size(api->http, API_MAX_BODY);
	/*
	 * evhttp's read and write timeouts: a client that stops sending or
	 * stops reading is dropped after api.request_timeout (api_conn.c
	 * bounds the whole request by it too).
	 */
	if (api_conf(daemon_g.cf) != NULL) {
		int64_t ms = api_conf(daemon_g.cf)->request_timeout_ms;

		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	}
	evhttp_set_timeout_tv(api->http, &tv);
	/*
	 * Every method evhttp parses reaches api_dispatch, which answers one
	 * no route has with a JSON 405 and Allow: left to evhttp, PUT and
	 * PATCH got 501 with an HTML body (issue 14).
	 */
	evhttp_set_allowed_methods(api->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(api->http, api_dispatch, api);

	/* errno is only meaningful if bind() or listen() failed. */
	errno = 0;
	if ((bound = evhttp_bind_socket_with_handle(api->http, host,
	    port)) == NULL) {
		if (errno != 0)
			log_warn("api: cannot listen on %s", listen);
		else
			log_warnx("api: cannot listen on %s: cannot resolve "
			    "\"%s\"", listen, host);
		goto err;
	}
	if ((api->conns = api_conn_serve(base, api->http,
	    evhttp_bound_socket_get_listener(bound))) == NULL)
		goto err;
	log_info("api: listening on %s%s", listen, public_only ?
	    " (action links and inbound webhooks only)" : "");
	free(host);
	return api;
err:
	api_free(api);
	free(host);
	return NULL;
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	/* replies still streaming end now, before their connections go */
	api_stream_abort_all();
	api_conn_unserve(api->conns);
	if (api->http != NULL)
		evhttp_free(api->http);
	free(api);
}
