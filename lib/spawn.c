/*
 * lib/spawn.c — posix_spawn with the setup every child of tocsind gets
 * (the exec check type's plugins, the notifier's commands): its own
 * process group, default signals, an empty mask, /dev/null for stdin,
 * stdout+stderr merged into one pipe (as Nagios does) or discarded, and
 * none of the daemon's descriptors.
 *
 * Never blocks: posix_spawn returns once the child exists (glibc uses
 * clone(CLONE_VM|CLONE_VFORK), so the exec errors come back here), and
 * the pipe's read end is non-blocking.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* posix_spawn_file_actions_addchdir_np, pipe2 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "lib/spawn.h"

#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
#define SPAWN_HAVE_CLOSEFROM 1
#endif
#endif

/* The child's attributes and descriptors.  RETURN VALUE: 0 or errno. */
static int
spawn_setup(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa,
    int wfd, const char *workdir)
{
	sigset_t all, none;
	int err;

	sigfillset(&all);
	sigemptyset(&none);
	if ((err = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (err = posix_spawnattr_setpgroup(attr, 0)) != 0 ||
	    (err = posix_spawnattr_setsigmask(attr, &none)) != 0 ||
	    (err = posix_spawnattr_setsigdefault(attr, &all)) != 0)
		return err;
	if ((err = posix_spawn_file_actions_addopen(fa, STDIN_FILENO,
	    "/dev/null", O_RDONLY, 0)) != 0)
		return err;
	if (wfd != -1)
		err = posix_spawn_file_actions_adddup2(fa, wfd, STDOUT_FILENO);
	else
		err = posix_spawn_file_actions_addopen(fa, STDOUT_FILENO,
		    "/dev/null", O_WRONLY, 0);
	if (err != 0 || (err = posix_spawn_file_actions_adddup2(fa,
	    STDOUT_FILENO, STDERR_FILENO)) != 0)
		return err;
#ifdef SPAWN_HAVE_CLOSEFROM
	/*
	 * A daemon fd without O_CLOEXEC (a library's socket, a database)
	 * would otherwise stay open as long as the slowest child runs.
	 */
	if ((err = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0)
		return err;
#endif
	if (workdir != NULL) {
#ifdef SPAWN_HAVE_CHDIR
		if ((err = posix_spawn_file_actions_addchdir_np(fa,
		    workdir)) != 0)
			return err;
#else
		return ENOTSUP;
#endif
	}
	return 0;
}

int
spawn_start(const char *path, char *const argv[], char *const envp[],
    const char *workdir, pid_t *pid, int *out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int p[2] = { -1, -1 }, err, fl;

	if (out != NULL) {
		if (pipe2(p, O_CLOEXEC) == -1)
			return errno;
		/*
		 * Non-blocking on our end only: O_NONBLOCK belongs to the open
		 * file, and a child writing to a non-blocking stdout would get
		 * EAGAIN.
		 */
		if ((fl = fcntl(p[0], F_GETFL)) == -1 ||
		    fcntl(p[0], F_SETFL, fl | O_NONBLOCK) == -1) {
			err = errno;
			close(p[0]);
			close(p[1]);
			return err;
		}
	}
	if ((err = posix_spawnattr_init(&attr)) != 0)
		goto out;
	if ((err = posix_spawn_file_actions_init(&fa)) != 0) {
		posix_spawnattr_destroy(&attr);
		goto out;
	}
	if ((err = spawn_setup(&attr, &fa, p[1], workdir)) == 0)
		err = posix_spawn(pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
out:
	if (p[1] != -1)
		close(p[1]);
	if (err != 0) {
		if (p[0] != -1)
			close(p[0]);
		return err;
	}
	if (out != NULL)
		*out = p[0];
	return 0;
}
