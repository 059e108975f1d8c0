/*
 * api_dashboard.h — GET / and /dashboard/NAME: the dashboard's HTML, CSS
 * and JavaScript, embedded into tocsind at build time (dashboard/ in the
 * source tree; the generated table is dashboard_assets.c in the build
 * directory).  Internal to the API.
 */
#ifndef TOCSIN_API_DASHBOARD_H
#define TOCSIN_API_DASHBOARD_H

#include <stddef.h>

struct api_asset {
	const char *path;		/* "/", "/dashboard/app.js", … */
	const char *type;		/* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The generated table, ending with path NULL (dashboard_assets.c). */
extern const struct api_asset api_assets[];

/* Adds a public GET route per asset (once, at start-up).
 * RETURN VALUE: 0 or -1. */
int api_dashboard_init(void);

#endif
