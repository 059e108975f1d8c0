/*
 * fuzz_notify_request.c — libFuzzer harness for what the notifier makes
 * of data from outside on its way to a chat or paging tool: the input is
 * a JSON document standing for the generic payload (an incident's title,
 * checks and timeline come from check output).  Each shipped format
 * (the .jq files in formats/, compiled once with the vars they need) runs on it, and
 * its output, and the input itself, go through njq_request() as a
 * format's request and as a jq channel's body.  Every input must end in
 * a request whose method is POST, PUT or PATCH, whose path starts with
 * / ? or & and whose path and headers hold no control byte (no header
 * injection), or in a one-line error — without a crash, a leak or a
 * sanitizer report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "notify/notify_int.h"

static const char *const formats[] = {
	"teams", "discord", "telegram", "ntfy", "matrix", "opsgenie",
	"googlechat", "mattermost", "twilio",
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))
static struct njq *progs[NFORMATS];

static bool
line_clean(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void
check_request(json_t *v, bool envelope)
{
	struct nreq rq;
	char why[512];
	unsigned i;

	if (njq_request(v, envelope, &rq, why, sizeof(why)) == -1) {
		if (strchr(why, '\n') != NULL)
			abort();
		return;
	}
	if (strcmp(rq.method, "POST") != 0 && strcmp(rq.method, "PUT") != 0 &&
	    strcmp(rq.method, "PATCH") != 0)
		abort();
	if (rq.path != NULL && ((rq.path[0] != '/' && rq.path[0] != '?' &&
	    rq.path[0] != '&') || !line_clean(rq.path) ||
	    strchr(rq.path, ' ') != NULL))
		abort();
	if (!line_clean(rq.ctype))
		abort();
	for (i = 0; i < rq.nhdrs; i++)
		if (!line_clean(rq.hdrs[i]) || strchr(rq.hdrs[i], ':') == NULL)
			abort();
	if (rq.body == NULL || rq.body[rq.len] != '\0')
		abort();
	nreq_free(&rq);
}

static void
load_formats(void)
{
	static char *vars[] = {
		"chat_id=-1001234567890", "topic=ops", "account_sid=AC1",
		"auth_token=t", "from=+15550001111",
	};
	char dir[4096], path[4200], err[512], *slash, *text;
	unsigned i;
	FILE *fp;
	long n;

	/* formats/ next to tests/fuzz/ in the source tree */
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	for (i = 0; i < NFORMATS; i++) {
		snprintf(path, sizeof(path), "%s/../../formats/%s.jq", dir,
		    formats[i]);
		if ((fp = fopen(path, "r")) == NULL)
			continue;	/* run from elsewhere: fewer formats */
		text = calloc(1, 256 * 1024 + 1);
		n = text != NULL ? (long)fread(text, 1, 256 * 1024, fp) : 0;
		fclose(fp);
		if (text != NULL && n > 0 && (progs[i] = njq_compile(text, vars,
		    5, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s: %s\n", path, err);
			abort();	/* a shipped format must compile */
		}
		free(text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool loaded;
	json_t *in, *out;
	char err[512];
	unsigned i;

	if (!loaded) {
		load_formats();
		loaded = true;
	}
	if ((in = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    NULL)) == NULL)
		return 0;
	check_request(in, true);
	check_request(in, false);
	for (i = 0; i < NFORMATS; i++) {
		if (progs[i] == NULL)
			continue;
		out = NULL;
		if (njq_run(progs[i], in, &out, err, sizeof(err)) == -1) {
			if (strchr(err, '\n') != NULL)
				abort();
			continue;
		}
		if (out != NULL)
			check_request(out, true);
		json_decref(out);
	}
	json_decref(in);
	return 0;
}
