/*
 * plugins/exec/exec.c — the "exec" check type: runs a Nagios-compatible
 * plugin and turns its exit code and output into a tocsin result.
 *
 * A run spawns the command (argv, no shell) in its own process group with
 * default signal dispositions, an empty signal mask, /dev/null on stdin and
 * stdout+stderr merged into one pipe, as Nagios does.  The pipe is read
 * non-blocking through an event on the daemon's loop; the exit comes from
 * the core's child watch (the core reaps every child, this file never calls
 * waitpid()).  The run ends when the child has exited AND its output
 * reached EOF, with one exception: a plugin that forks and exits leaves a
 * grandchild holding the pipe, so after the exit we wait at most
 * EXEC_LINGER_MS for EOF, then kill the process group and finish with what
 * was read.
 *
 * Never blocks and never trusts the output: every byte is bounded by
 * max_output, bytes beyond it are drained and dropped so the child never
 * stalls on a full pipe, and the text is cut at its first NUL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* sigabbrev_np */
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include <tocsin/plugin.h>

#include "lib/spawn.h"
#include "lib/strv.h"

extern char **environ;

/* glibc extensions, used when the C library has them. */
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 32)
#define EXEC_HAVE_SIGABBREV 1
#endif
#endif

#define EXEC_BUF_START	4096		/* first output buffer, grown x2 */
#define EXEC_READS_MAX	16		/* per wakeup: a flood can't starve the loop */
#define EXEC_LINGER_MS	1000		/* wait for EOF after the exit */
#define EXEC_OUT_MIN	256
#define EXEC_OUT_MAX	16777216
#define EXEC_PATH_DEF	"/usr/local/bin:/usr/bin:/bin"

static const struct tocsin_option exec_options[] = {
	{ "command", TOCSIN_OPT_STR_LIST, NULL, TOCSIN_OPT_REQUIRED,
	  "argv of the plugin, no shell; argv[0] absolute or found in PATH" },
	{ "env", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "\"NAME=value\" entries added to the plugin's environment" },
	{ "max_output", TOCSIN_OPT_INT, "65536", 0,
	  "bytes of plugin output kept (256..16777216); the rest is dropped" },
	{ "workdir", TOCSIN_OPT_STR, "/", 0,
	  "working directory of the plugin (absolute)" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* What configure() built for one check; freed by exec_free(). */
struct exec_conf {
	char	 *path;		/* absolute path given to posix_spawn */
	char	**argv;		/* NULL-terminated, argv[0] as written */
	char	**env;		/* NULL-terminated "NAME=value" */
	size_t	  nenv;
	size_t	  max_output;
	char	 *workdir;
};

/* One run in flight; freed by exec_run_free(). */
struct exec_run {
	struct tocsin_run	*run;
	const struct exec_conf	*conf;
	pid_t			 pid;	/* also the process group id */
	int			 fd;	/* read end of the output pipe, or -1 */
	struct event		*ev_read;
	struct event		*ev_linger;
	char			*buf;	/* output, NUL-terminated */
	size_t			 len;
	size_t			 size;	/* allocated, includes the NUL */
	size_t			 dropped; /* bytes read beyond max_output */
	int			 exited;
	int			 status; /* from waitpid, valid once exited */
};

static void	exec_free(void *);

/* Returns a new NULL-terminated copy of list `key`; the caller frees it. */
static char **
exec_conf_strv(struct tocsin_conf *cf, const char *key, size_t *np)
{
	unsigned n = tocsin_conf_list_size(cf, key), i;
	char **v;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *s = tocsin_conf_list_str(cf, key, i);

		if ((v[i] = strdup(s != NULL ? s : "")) == NULL)
			goto err;
	}
	if (np != NULL)
		*np = n;
	return v;
err:
	while (i > 0)
		free(v[--i]);
	free(v);
	return NULL;
}

/*
 * 0 if path names an executable regular file; else -1 with errno set
 * (EISDIR, EACCES, ENOENT, …).  AT_EACCESS: the effective ids decide, as
 * they will for the exec.
 */
static int
exec_check_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS);
}

/*
 * Resolves name through PATH, as execvp() would but once, at configure
 * time, so a run never searches.  Relative PATH elements are skipped: the
 * plugin runs in workdir, not in the daemon's directory.
 * Returns a new string; the caller frees it.  NULL if not found.
 */
static char *
exec_path_search(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char buf[PATH_MAX];
	int n;

	if (path == NULL)
		path = EXEC_PATH_DEF;
	for (p = path; ; p = e + 1) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		if (e > p && *p == '/') {
			n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p),
			    p, name);
			if (n > 0 && (size_t)n < sizeof(buf) &&
			    exec_check_file(buf) == 0)
				return strdup(buf);
		}
		if (*e == '\0')
			return NULL;
	}
}

static int
exec_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	struct exec_conf *ec;
	const char *arg0, *wd;
	long max;
	size_t i;
	int bad = 0;

	if ((ec = calloc(1, sizeof(*ec))) == NULL) {
		tocsin_conf_error(cf, NULL, "out of memory");
		return -1;
	}
	if ((ec->argv = exec_conf_strv(cf, "command", NULL)) == NULL)
		goto err;
	arg0 = ec->argv[0];
	if (arg0 == NULL || *arg0 == '\0') {
		tocsin_conf_error(cf, "command", "must name a program");
		bad = 1;
	} else if (arg0[0] == '/') {
		if (exec_check_file(arg0) == -1) {
			tocsin_conf_error(cf, "command", "\"%s\": %s", arg0,
			    strerror(errno));
			bad = 1;
		} else if ((ec->path = strdup(arg0)) == NULL)
			goto err;
	} else if (strchr(arg0, '/') != NULL) {
		tocsin_conf_error(cf, "command", "\"%s\": must be an absolute "
		    "path or a program name found in PATH", arg0);
		bad = 1;
	} else if ((ec->path = exec_path_search(arg0)) == NULL) {
		tocsin_conf_error(cf, "command", "\"%s\": not found in PATH "
		    "(%s)", arg0, getenv("PATH") != NULL ? getenv("PATH") :
		    EXEC_PATH_DEF);
		bad = 1;
	}

	if ((ec->env = exec_conf_strv(cf, "env", &ec->nenv)) == NULL)
		goto err;
	for (i = 0; i < ec->nenv; i++) {
		const char *eq = strchr(ec->env[i], '=');

		if (eq == NULL || eq == ec->env[i]) {
			tocsin_conf_error(cf, "env", "\"%s\": not NAME=value",
			    ec->env[i]);
			bad = 1;
		}
	}

	max = tocsin_conf_int(cf, "max_output");
	if (max < EXEC_OUT_MIN || max > EXEC_OUT_MAX) {
		tocsin_conf_error(cf, "max_output", "%ld: not within %d..%d",
		    max, EXEC_OUT_MIN, EXEC_OUT_MAX);
		bad = 1;
	}
	ec->max_output = (size_t)max;

	wd = tocsin_conf_str(cf, "workdir");
	if (wd == NULL || *wd == '\0')
		wd = "/";
	if ((ec->workdir = strdup(wd)) == NULL)
		goto err;
	if (wd[0] != '/') {
		tocsin_conf_error(cf, "workdir", "\"%s\": not an absolute path",
		    wd);
		bad = 1;
	} else {
		struct stat st;
		int err = 0;

		if (stat(wd, &st) == -1)
			err = errno;
		else if (!S_ISDIR(st.st_mode))
			err = ENOTDIR;
		if (err != 0) {
			tocsin_conf_error(cf, "workdir", "\"%s\": %s", wd,
			    strerror(err));
			bad = 1;
		}
#ifndef SPAWN_HAVE_CHDIR
		else if (strcmp(wd, "/") != 0) {
			tocsin_conf_error(cf, "workdir", "\"%s\": not supported "
			    "by this C library", wd);
			bad = 1;
		}
#endif
	}

	if (bad) {
		exec_free(ec);
		return -1;
	}
	tocsin_log(TOCSIN_LOG_DEBUG, "exec: check %s: runs %s",
	    tocsin_check_name(chk), ec->path);
	*priv = ec;
	return 0;
err:
	tocsin_conf_error(cf, NULL, "out of memory");
	exec_free(ec);
	return -1;
}

static void
exec_free(void *priv)
{
	struct exec_conf *ec = priv;

	if (ec == NULL)
		return;
	free(ec->path);
	strv_free(ec->argv, STRV_NULL_END);
	strv_free(ec->env, STRV_NULL_END);
	free(ec->workdir);
	free(ec);
}

/* Length of the NAME part of "NAME=value" (the whole string without '='). */
static size_t
exec_env_namelen(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq != NULL ? (size_t)(eq - s) : strlen(s);
}

/*
 * The child's environment: the daemon's, then the check's `env`, then
 * TOCSIN_CHECK; a later entry replaces an earlier one of the same name
 * (getenv() returns the first match, so duplicates must not be left).
 * Returns a new array whose strings are borrowed, except the last one
 * (*own, "TOCSIN_CHECK=…"); the caller frees both.
 */
static char **
exec_environ(const struct exec_conf *ec, const char *check, char **own)
{
	size_t n = 0, k = 0, i, j, len;
	char **envp, *tc;

	*own = NULL;
	if (asprintf(&tc, "TOCSIN_CHECK=%s", check) == -1)
		return NULL;
	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((envp = calloc(n + ec->nenv + 2, sizeof(*envp))) == NULL) {
		free(tc);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		len = exec_env_namelen(environ[i]);
		if (len == sizeof("TOCSIN_CHECK") - 1 &&
		    strncmp(environ[i], tc, len + 1) == 0)
			continue;
		for (j = 0; j < ec->nenv; j++)
			if (strncmp(environ[i], ec->env[j], len + 1) == 0)
				break;
		if (j == ec->nenv)
			envp[k++] = environ[i];
	}
	for (j = 0; j < ec->nenv; j++) {
		/* A name given twice in `env`: the last one wins. */
		len = exec_env_namelen(ec->env[j]);
		for (i = j + 1; i < ec->nenv; i++)
			if (strncmp(ec->env[j], ec->env[i], len + 1) == 0)
				break;
		if (i == ec->nenv && strncmp(ec->env[j], tc, len + 1) != 0)
			envp[k++] = ec->env[j];
	}
	envp[k] = tc;
	*own = tc;
	return envp;
}

/* Releases everything of a run except the tocsin_run itself. */
static void
exec_run_free(struct exec_run *er)
{
	if (er->ev_read != NULL)
		event_free(er->ev_read);
	if (er->ev_linger != NULL)
		event_free(er->ev_linger);
	if (er->fd != -1)
		close(er->fd);
	free(er->buf);
	free(er);
}

/* Stops reading: the output is complete (EOF) or abandoned. */
static void
exec_close_pipe(struct exec_run *er)
{
	if (er->ev_read != NULL) {
		event_free(er->ev_read);
		er->ev_read = NULL;
	}
	if (er->fd != -1) {
		close(er->fd);
		er->fd = -1;
	}
}

/*
 * Reads what the pipe holds now, at most EXEC_READS_MAX times (the event
 * is level-triggered: a busy pipe wakes us again next loop).
 * RETURN VALUE: 1 once the pipe is closed (EOF or error), else 0.
 */
static int
exec_drain(struct exec_run *er)
{
	static char discard[65536];
	size_t room, nsize;
	ssize_t n;
	char *nbuf;
	int i;

	for (i = 0; er->fd != -1 && i < EXEC_READS_MAX; i++) {
		/* Grow x2 up to max_output; if realloc fails, keep what fits. */
		if (er->len == er->size - 1 && er->len < er->conf->max_output) {
			nsize = er->size * 2;
			if (nsize > er->conf->max_output + 1)
				nsize = er->conf->max_output + 1;
			if ((nbuf = realloc(er->buf, nsize)) != NULL) {
				er->buf = nbuf;
				er->size = nsize;
			}
		}
		room = er->size - 1 - er->len;
		if (room > 0)
			n = read(er->fd, er->buf + er->len, room);
		else
			n = read(er->fd, discard, sizeof(discard));
		if (n > 0) {
			if (room > 0)
				er->len += (size_t)n;
			else
				er->dropped += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			tocsin_log(TOCSIN_LOG_WARNING, "exec: check %s: reading "
			    "output: %s", tocsin_check_name(
			    tocsin_run_check(er->run)), strerror(errno));
		exec_close_pipe(er);
	}
	return er->fd == -1;
}

/* Cuts trailing blanks and newlines of s, in place. */
static char *
exec_rtrim(char *s)
{
	char *e = s + strlen(s);

	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Trims blanks at both ends of s, in place. */
static char *
exec_trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return exec_rtrim(s);
}

/* Makes perfdata one line: items spread over lines become space-separated. */
static char *
exec_oneline(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return s;
}

/*
 * Splits Nagios plugin output in place (text must be NUL-terminated; a NUL
 * inside ends it):
 *   SUMMARY [| PERFDATA]
 *   LONG OUTPUT …
 *   [LONG OUTPUT | PERFDATA
 *    MORE PERFDATA …]
 * summary and perfdata are trimmed, long output loses trailing blank
 * lines only.  Each result points into text, never NULL (possibly "").
 */
static void
exec_split(char *text, char **summary, char **perf1, char **longout,
    char **perf2)
{
	char *nl, *bar, *rest, *end = text + strlen(text);

	*perf1 = *perf2 = end;		/* "" inside text, never a literal */
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		rest = nl + 1;
	} else
		rest = end;
	if ((bar = strchr(text, '|')) != NULL) {
		*bar = '\0';
		*perf1 = exec_oneline(exec_trim(bar + 1));
	}
	*summary = exec_trim(text);
	if ((bar = strchr(rest, '|')) != NULL) {
		*bar = '\0';
		*perf2 = exec_oneline(exec_trim(bar + 1));
	}
	*longout = exec_rtrim(rest);	/* indentation may mean something */
}

static const char *
exec_signame(int sig, char *buf, size_t size)
{
#ifdef EXEC_HAVE_SIGABBREV
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL) {
		snprintf(buf, size, "SIG%s", abbrev);
		return buf;
	}
#endif
	snprintf(buf, size, "%d", sig);
	return buf;
}

static void
exec_perfdata(struct exec_run *er, const char *perf)
{
	int skipped;

	if (*perf == '\0')
		return;
	if ((skipped = tocsin_run_perfdata(er->run, perf)) > 0)
		tocsin_log(TOCSIN_LOG_DEBUG, "exec: check %s: %d malformed "
		    "perfdata item(s) skipped in \"%s\"", tocsin_check_name(
		    tocsin_run_check(er->run)), skipped, perf);
}

/*
 * Ends the run from the exit status and the output read so far, and frees
 * er.  Output beyond max_output was dropped; a line in the long output
 * says so.
 */
static void
exec_done(struct exec_run *er)
{
	struct tocsin_run *run = er->run;
	enum tocsin_state state = TOCSIN_UNKNOWN;
	char *first, *perf1, *longout, *perf2, *msg = NULL, *lo = NULL;
	const char *summary;
	char sig[32];
	int st = er->status, code = -1, n = 0;

	er->buf[er->len] = '\0';
	exec_split(er->buf, &first, &perf1, &longout, &perf2);
	summary = *first != '\0' ? first : "(no output)";

	/* Our own summary when the plugin did not end as a plugin should. */
	if (WIFEXITED(st)) {
		code = WEXITSTATUS(st);
		if (code <= 3)
			state = (enum tocsin_state)code;
		else
			n = asprintf(&msg, "exec: plugin exited with code %d: "
			    "%s", code, summary);
	} else if (WIFSIGNALED(st))
		n = asprintf(&msg, "exec: plugin killed by signal %s%s",
		    exec_signame(WTERMSIG(st), sig, sizeof(sig)),
		    WCOREDUMP(st) ? " (core dumped)" : "");
	else
		n = asprintf(&msg, "exec: plugin ended with wait status 0x%x",
		    (unsigned)st);
	if (n == -1)	/* asprintf() leaves msg undefined */
		msg = NULL;
	if (state == TOCSIN_UNKNOWN && code != 3)
		summary = msg != NULL ? msg :
		    "exec: plugin failed (out of memory)";

	/* Metrics only from a plugin that ended as Nagios plugins do. */
	if (code >= 0 && code <= 3) {
		exec_perfdata(er, perf1);
		exec_perfdata(er, perf2);
	}
	if (er->dropped > 0) {
		tocsin_log(TOCSIN_LOG_DEBUG, "exec: check %s: %zu output bytes "
		    "beyond max_output dropped", tocsin_check_name(
		    tocsin_run_check(run)), er->dropped);
		if (asprintf(&lo, "%s%s[output truncated at %zu bytes]",
		    longout, *longout != '\0' ? "\n" : "",
		    er->conf->max_output) == -1)
			lo = NULL;
		else
			longout = lo;
	}
	if (*longout != '\0')
		tocsin_run_long_output(run, longout);

	tocsin_run_finish(run, state, summary);
	free(msg);
	free(lo);
	exec_run_free(er);
}

/* The grace period after the exit is over: the pipe is held by others. */
static void
exec_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_run *er = arg;

	(void)fd;
	(void)what;
	if (!exec_drain(er)) {
		tocsin_log(TOCSIN_LOG_INFO, "exec: check %s: output still open "
		    "%d ms after the plugin exited; killing process group %ld",
		    tocsin_check_name(tocsin_run_check(er->run)),
		    EXEC_LINGER_MS, (long)er->pid);
		/*
		 * Safe although the leader is reaped: Linux does not reuse a
		 * pid while a process group of that id has members.
		 */
		kill(-er->pid, SIGKILL);
		exec_close_pipe(er);
	}
	exec_done(er);
}

static void
exec_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_run *er = arg;

	(void)fd;
	(void)what;
	if (exec_drain(er) && er->exited)
		exec_done(er);
}

static void
exec_child_cb(pid_t pid, int status, void *arg)
{
	struct exec_run *er = arg;
	struct timeval tv = { EXEC_LINGER_MS / 1000,
	    (EXEC_LINGER_MS % 1000) * 1000 };

	(void)pid;
	er->exited = 1;
	er->status = status;
	/* The output usually sits in the pipe already, EOF included. */
	if (exec_drain(er)) {
		exec_done(er);
		return;
	}
	evtimer_add(er->ev_linger, &tv);
}

/*
 * Spawns the plugin with its output on a new pipe (lib/spawn.c: own
 * process group, default signals, /dev/null on stdin, stdout and stderr
 * on the pipe, none of the daemon's descriptors, workdir).
 * RETURN VALUE: 0 with er->pid and er->fd set, or an errno value.
 */
static int
exec_spawn(struct exec_run *er, const char *check)
{
	const struct exec_conf *ec = er->conf;
	char **envp, *own;
	int err;

	if ((envp = exec_environ(ec, check, &own)) == NULL)
		return ENOMEM;
	err = spawn_start(ec->path, ec->argv, envp,
#ifdef SPAWN_HAVE_CHDIR
	    ec->workdir,
#else
	    NULL,		/* only "/" passes exec_configure() */
#endif
	    &er->pid, &er->fd);
	free(envp);
	free(own);
	return err;
}

/*
 * After a failed spawn: non-zero if the workdir is what failed (it was
 * checked at configure time but may have gone since), *err set to why.
 */
static int
exec_workdir_gone(const char *wd, int *err)
{
	struct stat st;

	if (stat(wd, &st) == -1)
		*err = errno;
	else if (!S_ISDIR(st.st_mode))
		*err = ENOTDIR;
	else
		return 0;
	return 1;
}

static void
exec_start(struct tocsin_run *run, void *priv)
{
	const struct exec_conf *ec = priv;
	struct event_base *base = tocsin_event_base();
	const char *check = tocsin_check_name(tocsin_run_check(run));
	struct exec_run *er;
	char *msg;
	int err, werr, n;

	if ((er = calloc(1, sizeof(*er))) == NULL)
		goto nomem;
	er->run = run;
	er->conf = ec;
	er->fd = -1;
	er->size = EXEC_BUF_START < ec->max_output + 1 ? EXEC_BUF_START :
	    ec->max_output + 1;
	if ((er->buf = malloc(er->size)) == NULL ||
	    (er->ev_linger = evtimer_new(base, exec_linger_cb, er)) == NULL) {
		exec_run_free(er);
		goto nomem;
	}

	if ((err = exec_spawn(er, check)) != 0) {
		exec_run_free(er);
		/*
		 * No pipe or no process: tocsind's shortage, not the
		 * service's failure (UNKNOWN, no attempt, no incident).
		 */
		if (tocsin_errno_is_local(err)) {
			tocsin_run_fail_local(run, err, "spawning the plugin");
			return;
		}
		if (exec_workdir_gone(ec->workdir, &werr))
			n = asprintf(&msg, "exec: cannot run %s: workdir %s: %s",
			    ec->path, ec->workdir, strerror(werr));
		else
			n = asprintf(&msg, "exec: cannot run %s: %s", ec->path,
			    strerror(err));
		if (n == -1)
			msg = NULL;
		tocsin_run_finish(run, TOCSIN_UNKNOWN, msg != NULL ? msg :
		    "exec: cannot run the plugin");
		free(msg);
		return;
	}
	tocsin_log(TOCSIN_LOG_DEBUG, "exec: check %s: started %s as pid %ld",
	    check, ec->path, (long)er->pid);

	tocsin_run_set_data(run, er);
	if ((er->ev_read = event_new(base, er->fd, EV_READ | EV_PERSIST,
	    exec_read_cb, er)) == NULL || event_add(er->ev_read, NULL) == -1 ||
	    tocsin_child_watch(er->pid, exec_child_cb, er) == -1) {
		/* Unwatched, the child is still reaped by the core. */
		kill(-er->pid, SIGKILL);
		tocsin_run_set_data(run, NULL);
		exec_run_free(er);
		tocsin_run_fail_local(run, ENOMEM, "watching the plugin");
	}
	return;
nomem:
	tocsin_run_fail_local(run, ENOMEM, "starting the plugin");
}

static void
exec_cancel(struct tocsin_run *run, void *priv)
{
	struct exec_run *er = tocsin_run_data(run);

	(void)priv;
	if (er == NULL)
		return;
	/* The whole group: a plugin's own children go too. */
	kill(-er->pid, SIGKILL);
	if (!er->exited)
		tocsin_child_unwatch(er->pid);
	tocsin_run_set_data(run, NULL);
	exec_run_free(er);
}

static const struct tocsin_check_type exec_type = {
	.name = "exec",
	.options = exec_options,
	.max_concurrent = 64,
	.configure = exec_configure,
	.start = exec_start,
	.cancel = exec_cancel,
	.free = exec_free,
};

static int
exec_init(void)
{
	if (tocsin_register_type(&exec_type) == -1) {
		tocsin_log(TOCSIN_LOG_ERR, "exec: check type already registered");
		return -1;
	}
	return 0;
}

TOCSIN_PLUGIN("exec", exec_init, NULL);
