/*
 * tap.h — a minimal TAP producer for unit tests.  Each TEST() function
 * is one test case; CHECK() records a failure with file:line and goes on.
 * Output: "ok N - name" / "not ok N - name", then "1..N".  tests/run
 * counts these lines.
 */
#ifndef TOCSIN_TAP_H
#define TOCSIN_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed_cases, tap_case_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		tap_case_failed = 1;					\
		printf("#   %s:%d: CHECK(%s) failed\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if ((_a == NULL) != (_b == NULL) ||				\
	    (_a != NULL && strcmp(_a, _b) != 0)) {			\
		tap_case_failed = 1;					\
		printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__,	\
		    __LINE__, _a ? _a : "(null)", _b ? _b : "(null)");	\
	}								\
} while (0)

#define CHECK_NUM(a, b) do {						\
	double _a = (a), _b = (b);					\
	if (!((isnan(_a) && isnan(_b)) || fabs(_a - _b) < 1e-9)) {	\
		tap_case_failed = 1;					\
		printf("#   %s:%d: %s = %g, expected %g\n",		\
		    __FILE__, __LINE__, #a, _a, _b);			\
	}								\
} while (0)

#define RUN(fn) do {							\
	tap_case_failed = 0;						\
	fn();								\
	tap_n++;							\
	if (tap_case_failed)						\
		tap_failed_cases++;					\
	printf("%s %d - %s\n", tap_case_failed ? "not ok" : "ok",	\
	    tap_n, #fn);						\
	fflush(stdout);							\
} while (0)

#define TAP_END() (printf("1..%d\n", tap_n), tap_failed_cases ? 1 : 0)

#endif
