/*
 * priv.c — dropping root at start-up (see priv.h for the contract).
 *
 * Why CAP_NET_RAW is always kept, not only when a ping check is
 * configured: a reload may add one later, and a process that has given a
 * capability away cannot take it back.  It is also made ambient, so that
 * ICMP plugins run by exec checks (check_icmp, fping) work as they do
 * under the systemd unit's AmbientCapabilities=CAP_NET_RAW.
 *
 * No libcap: the two system calls it would wrap (capset, prctl) are used
 * directly, which keeps the build's dependencies as they were.
 *
 * Runs once, before the event loop exists; it may block (getpwnam, a walk
 * of state_dir).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* setresuid, setresgid */
#endif

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/priv.h"

#define PRIV_USER		"tocsin"	/* made by the package */
#define PRIV_FALLBACK_USER	"nobody"

static uid_t priv_uid;
static gid_t priv_gid;
static bool priv_fg;
static int priv_chown_errno;
static char priv_chown_path[512];

/* To stderr (start-up runs before daemon()) and to the log. */
static void
priv_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
priv_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_errx("%s", msg);
	if (!priv_fg)		/* the log is syslog: say it where it was run */
		fprintf(stderr, "tocsind: error: %s\n", msg);
}

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (st->st_uid == priv_uid && st->st_gid == priv_gid)
		return 0;
	/* never through a symlink: the link itself, if anything */
	if (lchown(path, priv_uid, priv_gid) != 0) {
		priv_chown_errno = errno;
		snprintf(priv_chown_path, sizeof(priv_chown_path), "%s", path);
		return 1;
	}
	return 0;
}

/* Narrows the sets to CAP_NET_RAW, or to nothing when have_raw is 0. */
static int
caps_keep_net_raw(int have_raw)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (have_raw)
		data[0].effective = data[0].permitted = data[0].inheritable =
		    1u << CAP_NET_RAW;	/* CAP_NET_RAW is 13: word 0 */
	if (syscall(SYS_capset, &hdr, data) != 0)
		return -1;
	if (have_raw && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
	    CAP_NET_RAW, 0, 0) != 0)
		return -1;
	return 0;
}

/* Drops every capability but CAP_NET_RAW from the bounding set. */
static int
caps_bound(void)
{
	unsigned long c;

	for (c = 0; c <= 63; c++) {
		if (c == CAP_NET_RAW)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 &&
		    errno != EINVAL)	/* EINVAL: beyond the kernel's last */
			return -1;
	}
	return 0;
}

/* "drwx------ root:root", for a message about a directory in the way. */
static void
priv_describe(const char *path, char *buf, size_t len)
{
	struct stat st;
	struct passwd *pw;
	struct group *gr;
	char own[64], grp[64];
	static const char rwx[] = "rwxrwxrwx";
	char mode[11];
	int i;

	if (stat(path, &st) != 0) {
		snprintf(buf, len, "%s", strerror(errno));
		return;
	}
	mode[0] = S_ISDIR(st.st_mode) ? 'd' : '-';
	for (i = 0; i < 9; i++)
		mode[i + 1] = (st.st_mode & (0400 >> i)) ? rwx[i] : '-';
	mode[10] = '\0';
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(own, sizeof(own), "%s", pw->pw_name);
	else
		snprintf(own, sizeof(own), "%u", (unsigned)st.st_uid);
	if ((gr = getgrgid(st.st_gid)) != NULL)
		snprintf(grp, sizeof(grp), "%s", gr->gr_name);
	else
		snprintf(grp, sizeof(grp), "%u", (unsigned)st.st_gid);
	snprintf(buf, len, "%s %s:%s", mode, own, grp);
}

/*
 * Can user (uid, gid and its groups) get through every directory above
 * path, and read (want R_OK) or use (R_OK|W_OK|X_OK) path itself?  Asked
 * of the kernel, ACLs included: a child takes the user's ids and tries.
 * The first path it cannot get through goes to blocker.
 * RETURN VALUE: 0 (it can), 1 (blocked: blocker and *err set), -1 (could
 * not find out, logged).
 */
static int
priv_reach(const char *user, uid_t uid, gid_t gid, const char *path,
    int want, char *blocker, size_t blen, int *err)
{
	char buf[4096], *p;
	int fds[2], st, e, rc;
	ssize_t n;
	pid_t pid;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return 0;	/* too long to walk: the checks after the drop */
	if (pipe(fds) != 0) {
		log_warn("%s: pipe", __func__);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("%s: fork", __func__);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* start-up runs before any thread or event loop exists */
		close(fds[0]);
		if (initgroups(user, gid) != 0 ||
		    setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			_exit(2);
		for (p = buf + 1; *p != '\0'; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (buf[0] != '\0' && access(buf, X_OK) != 0)
				goto blocked;
			*p = '/';
		}
		if (access(buf, want) != 0 && errno != ENOENT)
			goto blocked;
		_exit(0);
blocked:
		e = errno;
		if (write(fds[1], &e, sizeof(e)) == (ssize_t)sizeof(e))
			(void)write(fds[1], buf, strlen(buf));
		_exit(1);
	}
	close(fds[1]);
	*err = 0;
	n = read(fds[0], err, sizeof(*err));
	blocker[0] = '\0';
	if (n == (ssize_t)sizeof(*err) &&
	    (n = read(fds[0], blocker, blen - 1)) > 0)
		blocker[n] = '\0';
	close(fds[0]);
	while ((rc = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (rc == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 2) {
		log_warnx("%s: cannot try %s as user %s", __func__, path, user);
		return -1;
	}
	if (WEXITSTATUS(st) == 0)
		return 0;
	if (blocker[0] == '\0')
		snprintf(blocker, blen, "%s", path);
	return 1;
}

/*
 * The files the user will need after the drop, by path: state_dir (its
 * parents: the directory itself is given to the user) and the config,
 * which every reload reads again.  On a blocked path, msg says which
 * directory is in the way and what it looks like.
 * RETURN VALUE: 0, 1 (blocked: msg set), -1 (could not find out).
 */
static int
priv_check_reach(const struct config *cf, const char *user, uid_t uid,
    gid_t gid, char *msg, size_t len)
{
	char blocker[4096], desc[160], parent[4096], *slash;
	const char *what;
	int err, rc;

	snprintf(parent, sizeof(parent), "%s", cf->state_dir);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
		*slash = '\0';
	what = "state_dir";
	rc = priv_reach(user, uid, gid, parent, X_OK, blocker,
	    sizeof(blocker), &err);
	if (rc == 0 && cf->path != NULL) {
		what = "config";
		rc = priv_reach(user, uid, gid, cf->path, R_OK, blocker,
		    sizeof(blocker), &err);
	}
	if (rc != 1)
		return rc;
	priv_describe(blocker, desc, sizeof(desc));
	snprintf(msg, len, "%s %s: %s for user %s: %s (%s) is in the way",
	    what, strcmp(what, "config") == 0 ? cf->path : cf->state_dir,
	    strerror(err), user, blocker, desc);
	return 1;
}

int
priv_drop(const struct config *cf, bool foreground)
{
	struct passwd *pw;
	uid_t uid = geteuid();
	char user[256], msg[8192];
	bool chosen = false;
	int have_raw, rc;

	priv_fg = foreground;
	if (uid != 0) {
		if (cf->user != NULL && ((pw = getpwnam(cf->user)) == NULL ||
		    pw->pw_uid != uid))
			log_notice("daemon: user = \"%s\" ignored: tocsind was "
			    "not started as root (running as uid %u)",
			    cf->user, (unsigned)uid);
		return 0;
	}
	if (cf->user == NULL && cf->allow_root) {
		log_notice("running as root (daemon { allow_root = true })");
		return 0;
	}
	if (cf->user != NULL)
		snprintf(user, sizeof(user), "%s", cf->user);
	else {
		/*
		 * No user set: do as nginx does and become an account with
		 * no rights of its own: tocsin, made for tocsind (the
		 * package makes it), else nobody.
		 */
		chosen = true;
		errno = 0;
		snprintf(user, sizeof(user), "%s", getpwnam(PRIV_USER) != NULL ?
		    PRIV_USER : PRIV_FALLBACK_USER);
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		priv_err("daemon: user \"%s\": %s; create it with `useradd "
		    "--system --home-dir %s --no-create-home --shell "
		    "/usr/sbin/nologin %s`", user, errno != 0 ?
		    strerror(errno) : "no such user", cf->state_dir, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		if (cf->allow_root)
			return 0;
		priv_err("daemon: user \"%s\" is root (uid 0): set "
		    "daemon { allow_root = true } to run as root", user);
		return -1;
	}
	/* pw points into a buffer that initgroups() may reuse */
	priv_uid = pw->pw_uid;
	priv_gid = pw->pw_gid;
	if ((rc = priv_check_reach(cf, user, priv_uid, priv_gid, msg,
	    sizeof(msg))) < 0)
		return -1;
	if (rc == 1 && chosen) {
		/*
		 * Nobody asked for a user, and the one we would pick cannot
		 * get at the state (a build in /root, mode 0700): refusing
		 * would stop the first run of a fresh container, so stay
		 * root and say how to get the drop.
		 */
		log_warnx("running as root: %s; daemon { user = \"NAME\" } "
		    "with a state_dir and config that user can reach, or "
		    "allow_root = true, silences this", msg);
		if (!priv_fg)
			fprintf(stderr, "tocsind: warning: running as root: "
			    "%s\n", msg);
		return 0;
	}
	if (rc == 1) {
		priv_err("%s (chmod o+x it, or choose a state_dir the user "
		    "can reach)", msg);
		return -1;
	}
	if (chosen)
		log_notice("started as root without daemon { user }: "
		    "becoming %s%s", user, strcmp(user, PRIV_USER) == 0 ? "" :
		    " (no user " PRIV_USER "; `useradd --system --shell "
		    "/usr/sbin/nologin " PRIV_USER "` makes one for "
		    "tocsind alone)");
	/* a container may have taken CAP_NET_RAW away already */
	have_raw = prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 1;
	if (nftw(cf->state_dir, chown_one, 16, FTW_PHYS | FTW_MOUNT) != 0) {
		priv_err("state_dir: cannot give %s to user %s: %s",
		    priv_chown_path[0] != '\0' ? priv_chown_path :
		    cf->state_dir, user, strerror(priv_chown_errno != 0 ?
		    priv_chown_errno : errno));
		return -1;
	}
	if (caps_bound() != 0) {
		priv_err("cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	/* keep the permitted set across setuid, then narrow it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
	    initgroups(user, priv_gid) != 0 ||
	    setresgid(priv_gid, priv_gid, priv_gid) != 0 ||
	    setresuid(priv_uid, priv_uid, priv_uid) != 0) {
		priv_err("cannot become user %s (uid %u, gid %u): %s",
		    user, (unsigned)priv_uid, (unsigned)priv_gid,
		    strerror(errno));
		return -1;
	}
	if (caps_keep_net_raw(have_raw) != 0) {
		priv_err("cannot keep CAP_NET_RAW: %s", strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/*
	 * setuid() made the process non-dumpable: no core file of a crash,
	 * and LeakSanitizer cannot stop its threads at exit.  Started
	 * unprivileged under systemd it would be dumpable, and the kernel
	 * still refuses a ptrace by the user while we hold a capability it
	 * lacks.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	/* paranoia: the way back must be closed */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		priv_err("still able to become root after dropping "
		    "privileges; not starting");
		return -1;
	}
	/* what the walk above could not see (a path too long to walk) */
	if (access(cf->state_dir, R_OK | W_OK | X_OK) != 0) {
		priv_err("state_dir %s: %s for user %s (are its parent "
		    "directories open to it?)", cf->state_dir,
		    strerror(errno), user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u), capabilities: %s",
	    user, (unsigned)priv_uid, (unsigned)priv_gid,
	    have_raw ? "cap_net_raw" : "none (CAP_NET_RAW was not in the "
	    "bounding set: ICMP needs unprivileged ping sockets)");
	return 0;
}
