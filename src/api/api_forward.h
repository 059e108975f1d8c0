/*
 * api_forward.h — pass a request on to another tocsind's API and relay
 * its answer (a cluster follower to the leader, api_forward.c).
 */
#ifndef TOCSIN_API_FORWARD_H
#define TOCSIN_API_FORWARD_H

struct event_base;
struct evhttp_request;

void api_forward_init(struct event_base *base);
/* Answer req with what target ("HOST:PORT") answers to it. */
void api_forward(struct evhttp_request *req, const char *target);

#endif
