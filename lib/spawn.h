/*
 * lib/spawn.h — start a child process with posix_spawn, its output on a
 * pipe or discarded.  Part of the internal library (lib/) that the core
 * and the plugins both link, each its own copy with hidden visibility
 * (see lib/curlev.h).
 *
 * Never waits for the child: the core reaps every child
 * (tocsin_child_watch() tells the caller of its exit).
 */
#ifndef TOCSIN_LIB_SPAWN_H
#define TOCSIN_LIB_SPAWN_H

#include <sys/types.h>

/* Can spawn_start() change the child's directory (glibc >= 2.29)? */
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 29)
#define SPAWN_HAVE_CHDIR 1
#endif
#endif

#pragma GCC visibility push(hidden)

/*
 * spawn_start — run path with argv and envp (both NULL-terminated, no
 * shell) in a process group of its own (a kill of -pid reaches all it
 * starts), with default signal dispositions, an empty signal mask, stdin
 * on /dev/null and no descriptor of the caller's above 2 (where the C
 * library can close them: glibc >= 2.34).
 * out: NULL, and stdout and stderr go to /dev/null; else both go to one
 * new pipe, whose read end (non-blocking, close-on-exec) is put in *out
 * for the caller to read and close.
 * workdir: NULL, or the child's working directory (only with
 * SPAWN_HAVE_CHDIR; without it, a workdir is ENOTSUP).
 * RETURN VALUE: 0 with *pid set, or an errno value (nothing started).
 */
int spawn_start(const char *path, char *const argv[], char *const envp[],
    const char *workdir, pid_t *pid, int *out);

#pragma GCC visibility pop

#endif
