/*
 * types.h — the incident log's vocabulary, shared by the correlator
 * (incident.h), the storage interface (store.h) and its implementations,
 * so that a store depends on these names and never on the correlator.
 */
#ifndef TOCSIN_INCIDENT_TYPES_H
#define TOCSIN_INCIDENT_TYPES_H

enum incident_status {
	INC_OPEN = 0,
	INC_ACKNOWLEDGED,
	INC_RESOLVED,
	INC_CLOSED,
};

/* A check's part in an incident. */
enum inc_role { ROLE_ROOT = 0, ROLE_MEMBER, ROLE_UNREACHABLE };

/* "open", "acknowledged", "resolved", "closed" (API, store, payloads). */
static inline const char *
incident_status_name(enum incident_status s)
{
	switch (s) {
	case INC_OPEN:		return "open";
	case INC_ACKNOWLEDGED:	return "acknowledged";
	case INC_RESOLVED:	return "resolved";
	case INC_CLOSED:	return "closed";
	}
	return "?";
}

#endif
