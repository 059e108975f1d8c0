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
#include <unistd.h>

#include "core/log.h"
#include "core/priv.h"

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
	log_warnx("%s", msg);
	if (!priv_fg)		/* the log is syslog: say it where it was run */
		fprintf(stderr, "tocsind: %s\n", msg);
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

int
priv_drop(const struct config *cf, bool foreground)
{
	struct passwd *pw;
	uid_t uid = geteuid();
	int have_raw;

	priv_fg = foreground;
	if (uid != 0) {
		if (cf->user != NULL && ((pw = getpwnam(cf->user)) == NULL ||
		    pw->pw_uid != uid))
			log_notice("daemon: user = \"%s\" ignored: tocsind was "
			    "not started as root (running as uid %u)",
			    cf->user, (unsigned)uid);
		return 0;
	}
	if (cf->user == NULL) {
		if (cf->allow_root) {
			log_notice("running as root (daemon { allow_root = "
			    "true })");
			return 0;
		}
		priv_err("refusing to run as root: set daemon { user = "
		    "\"tocsin\" } (a user made for tocsind) to drop "
		    "privileges after start-up, or daemon { allow_root = "
		    "true } to run as root anyway");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(cf->user)) == NULL) {
		priv_err("daemon: user \"%s\": %s", cf->user, errno != 0 ?
		    strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		if (cf->allow_root)
			return 0;
		priv_err("daemon: user \"%s\" is root (uid 0): set "
		    "daemon { allow_root = true } to run as root", cf->user);
		return -1;
	}
	/* pw points into a buffer that initgroups() may reuse */
	priv_uid = pw->pw_uid;
	priv_gid = pw->pw_gid;
	/* a container may have taken CAP_NET_RAW away already */
	have_raw = prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 1;
	if (nftw(cf->state_dir, chown_one, 16, FTW_PHYS | FTW_MOUNT) != 0) {
		priv_err("state_dir: cannot give %s to user %s: %s",
		    priv_chown_path[0] != '\0' ? priv_chown_path :
		    cf->state_dir, cf->user, strerror(priv_chown_errno != 0 ?
		    priv_chown_errno : errno));
		return -1;
	}
	if (caps_bound() != 0) {
		priv_err("cannot drop capabilities: %s", strerror(errno));
		return -1;
	}
	/* keep the permitted set across setuid, then narrow it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
	    initgroups(cf->user, priv_gid) != 0 ||
	    setresgid(priv_gid, priv_gid, priv_gid) != 0 ||
	    setresuid(priv_uid, priv_uid, priv_uid) != 0) {
		priv_err("cannot become user %s (uid %u, gid %u): %s",
		    cf->user, (unsigned)priv_uid, (unsigned)priv_gid,
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
	/* a parent directory closed to the user shows here, not later */
	if (access(cf->state_dir, R_OK | W_OK | X_OK) != 0) {
		priv_err("state_dir %s: %s for user %s (are its parent "
		    "directories open to it?)", cf->state_dir,
		    strerror(errno), cf->user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u), capabilities: %s",
	    cf->user, (unsigned)priv_uid, (unsigned)priv_gid,
	    have_raw ? "cap_net_raw" : "none (CAP_NET_RAW was not in the "
	    "bounding set: ICMP needs unprivileged ping sockets)");
	return 0;
}
