/*
 * api_dashboard.c — the dashboard: one HTML page, a style sheet and a
 * script, served from memory.  They are embedded at build time
 * (dashboard/embed.sh turns the files of dashboard/ into dashboard_assets.c), so an
 * installed tocsind has no data files to find and the page always matches
 * the daemon that serves it.
 *
 * The assets hold no data and are public (API_PUBLIC): everything the
 * page shows it fetches from the API with the operator's token, so a
 * browser on another machine can load the page, and reads then need the
 * token as for any other client (api.allow_remote_reads).
 */
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api.h"
#include "api/api_dashboard.h"

static void
api_get_asset(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct api_asset *a = arg;
	struct evbuffer *b;

	(void)rest;
	if ((b = evbuffer_new()) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* the data is static: no copy */
	if (evbuffer_add_reference(b, a->data, a->len, NULL, NULL) == -1) {
		evbuffer_free(b);
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Content-Type-Options", "nosniff");
	api_send_type(req, HTTP_OK, a->type, b);
	evbuffer_free(b);
}

int
api_dashboard_init(void)
{
	const struct api_asset *a;

	for (a = api_assets; a->path != NULL; a++)
		if (api_route_add(EVHTTP_REQ_GET, a->path, API_PUBLIC,
		    api_get_asset, (void *)a) == -1)
			return -1;
	return 0;
}
