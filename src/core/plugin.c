/*
 * plugin.c — loads check plugins and keeps the registry of check types.
 *
 * A plugin is trusted code in the daemon's address space: the loader's job
 * is to refuse what was built for another ABI (with a message that names
 * the file and both versions) before any of its code runs, and to keep
 * the registry consistent when a plugin's init fails halfway.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tocsin/plugin.h>

#include "core/conf_errors.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/util.h"

struct plugin {
	char *path;
	void *handle;
	const struct tocsin_plugin *def;
};

static struct plugin **plugins;
static unsigned nplugins;
static struct ctype **ctypes;
static unsigned nctypes;
static struct plugin *loading;	/* plugin whose init is running */

struct ctype *
ctype_find(const char *name)
{
	unsigned i;

	for (i = 0; i < nctypes; i++)
		if (strcmp(ctypes[i]->def->name, name) == 0)
			return ctypes[i];
	return NULL;
}

unsigned
ctype_count(void)
{
	return nctypes;
}

struct ctype *
ctype_at(unsigned i)
{
	return i < nctypes ? ctypes[i] : NULL;
}

const char *
ctype_name(const struct ctype *ct)
{
	return ct != NULL && ct->def != NULL ? ct->def->name : NULL;
}

uint64_t
ctype_runs_total(const struct ctype *ct)
{
	return ct != NULL ? ct->runs_total : 0;
}

int
tocsin_register_type(const struct tocsin_check_type *type)
{
	struct ctype *ct, **n;

	if (type == NULL || type->name == NULL || type->start == NULL ||
	    type->configure == NULL) {
		log_warnx("%s: check type without name, configure or start",
		    loading ? loading->path : "built-in");
		return -1;
	}
	if (ctype_find(type->name) != NULL) {
		log_warnx("%s: check type \"%s\" is already registered",
		    loading ? loading->path : "built-in", type->name);
		return -1;
	}
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return -1;
	if ((n = reallocarray(ctypes, nctypes + 1, sizeof(*n))) == NULL) {
		free(ct);
		return -1;
	}
	ctypes = n;
	ct->def = type;
	ct->plugin = loading;
	ct->max_concurrent = type->max_concurrent;
	TAILQ_INIT(&ct->waiting);
	ctypes[nctypes++] = ct;
	return 0;
}

/* Drop the types a plugin registered (its init failed). */
static void
ctypes_drop(struct plugin *p)
{
	unsigned i, j;

	for (i = j = 0; i < nctypes; i++) {
		if (ctypes[i]->plugin == p)
			free(ctypes[i]);
		else
			ctypes[j++] = ctypes[i];
	}
	nctypes = j;
}

static int
so_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 3 &&
	    strcmp(d->d_name + n - 3, ".so") == 0;
}

/*
 * Started as root, tocsind runs a plugin's code as root (plugins load
 * before the switch to daemon { user }): a plugin_dir or a plugin file
 * that another user owns or may write is a way to root (issue 14).
 * Symbolic links are followed: the file that would be mapped is judged.
 * RETURN VALUE: 0 safe (or not there: the loader says so), -1 refused.
 */
static int
plugin_path_safe(const char *path, const char *what,
    struct conf_errors *errs)
{
	struct stat sb;

	if (geteuid() != 0 || stat(path, &sb) != 0)
		return 0;
	if (sb.st_uid != 0) {
		conf_errorf(errs, "%s: %s owned by uid %lu, not root: tocsind "
		    "runs as root and loads no plugin another user could have "
		    "written (chown root)", path, what,
		    (unsigned long)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		conf_errorf(errs, "%s: %s writable by %s (mode %04o): tocsind "
		    "runs as root and loads no plugin another user could have "
		    "written (chmod go-w)", path, what,
		    (sb.st_mode & S_IWOTH) != 0 ? "every user" : "its group",
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
plugin_load_one(const char *path, struct conf_errors *errs)
{
	struct plugin *p, **np;
	void *h;
	const struct tocsin_plugin *def;

	if (plugin_path_safe(path, "plugin", errs) != 0)
		return -1;
	/* RTLD_LOCAL: plugins do not see each other's symbols. */
	/*
	 * RTLD_NODELETE: a plugin stays mapped after plugins_unload(). The
	 * libraries plugins pull in (libcurl, net-snmp) register atexit and
	 * thread-exit handlers; unmapping them at shutdown crashed the exit
	 * path now and then (seen under LeakSanitizer with the http plugin).
	 */
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
		conf_errorf(errs, "%s: cannot load plugin: %s", path,
		    dlerror());
		return -1;
	}
	def = dlsym(h, "tocsin_plugin");
	if (def == NULL) {
		conf_errorf(errs, "%s: not a tocsin plugin (no tocsin_plugin "
		    "symbol)", path);
		dlclose(h);
		return -1;
	}
	if (def->abi_version != TOCSIN_ABI_VERSION) {
		conf_errorf(errs, "%s: plugin ABI version %u, tocsind %s "
		    "needs version %u: rebuild the plugin against this "
		    "tocsin/plugin.h", path, def->abi_version, PACKAGE_VERSION,
		    TOCSIN_ABI_VERSION);
		dlclose(h);
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->path = strdup(path)) == NULL ||
	    (np = reallocarray(plugins, nplugins + 1, sizeof(*np))) == NULL) {
		if (p != NULL)
			free(p->path);
		free(p);
		dlclose(h);
		conf_errorf(errs, "%s: out of memory", path);
		return -1;
	}
	plugins = np;
	p->handle = h;
	p->def = def;
	loading = p;
	if (def->init != NULL && def->init() != 0) {
		loading = NULL;
		ctypes_drop(p);
		conf_errorf(errs, "%s: plugin \"%s\" failed to initialise "
		    "(see the log)", path, def->name ? def->name : "?");
		dlclose(h);
		free(p->path);
		free(p);
		return -1;
	}
	loading = NULL;
	plugins[nplugins++] = p;
	log_debug("loaded plugin %s from %s", def->name ? def->name : "?",
	    path);
	return 0;
}

int
plugins_load(const char *dir, struct conf_errors *errs)
{
	struct dirent **ents;
	char path[4096];
	int n, i, rc = 0;

	if (plugin_path_safe(dir, "plugin_dir", errs) != 0)
		return -1;
	if ((n = scandir(dir, &ents, so_filter, alphasort)) < 0) {
		conf_errorf(errs, "%s: cannot read plugin_dir: %s", dir,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (plugin_load_one(path, errs) != 0)
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

void
plugins_unload(void)
{
	unsigned i;

	for (i = nplugins; i-- > 0;) {
		if (plugins[i]->def->fini != NULL)
			plugins[i]->def->fini();
		ctypes_drop(plugins[i]);
		dlclose(plugins[i]->handle);
		free(plugins[i]->path);
		free(plugins[i]);
	}
	free(plugins);
	plugins = NULL;
	nplugins = 0;
	for (i = 0; i < nctypes; i++)
		free(ctypes[i]);
	free(ctypes);
	ctypes = NULL;
	nctypes = 0;
}
