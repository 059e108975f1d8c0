/*
 * api_push.h — push URLs of heartbeat checks (api_push.c): the secret
 * URL a job reports in to without the API token, and what it reported,
 * for the heartbeat plugin (tocsin_check_push() in the plugin ABI).
 */
#ifndef TOCSIN_API_PUSH_H
#define TOCSIN_API_PUSH_H

#include <event2/http.h>

struct check;

/* Adds GET and POST /api/v1/push/SECRET.  RETURN VALUE: 0 or -1. */
int api_push_init(void);
/* Frees what pushes left and forgets the key (at exit). */
void api_push_shutdown(void);
/*
 * GET /api/v1/checks/NAME/push (api_checks.c hands it here): with the
 * token, {"check", "url", "path"} of heartbeat check c; else 401.
 */
void api_push_url(struct evhttp_request *req, const struct check *c);

#endif
