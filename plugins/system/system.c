/*
 * plugins/system/system.c — the "system" check type: the machine tocsind
 * runs on, measured from /proc and statvfs(), so that the bundled config
 * graphs the machine from its first minute.
 *
 * What a run reads (each part can be switched off with `measure`):
 *   load    /proc/loadavg                        load1 load5 load15
 *   cpu     /proc/stat, the delta since the last run (the first run of a
 *           check takes two samples CPU_FIRST_MS apart on a loop timer)
 *   memory  /proc/meminfo                        mem_used_pct mem_available
 *   swap    /proc/meminfo                        swap_used_pct swap_free
 *   disk    statvfs() of each real file system in /proc/self/mounts, or
 *           of the configured `mounts`           disk_NAME_used_pct …
 *   net     /proc/net/dev                        net_IF_rx_bytes … (counters)
 *
 * Never forks and never blocks: /proc reads are served from kernel memory,
 * and statvfs() is only called on local block-device file systems (an
 * allow-list, local_fstypes) unless the operator lists another mount in
 * `mounts` (a hung NFS server or FUSE process would stall it).
 *
 * Disk metric names: "/" is "root"; any other mount point loses its
 * leading "/" and every character outside [A-Za-z0-9] becomes "_"
 * ("/var/lib" → disk_var_lib_used_pct).  Thresholds follow Nagios ranges:
 * a value strictly above the threshold alerts.
 */
#include <errno.h>
#include <math.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include <tocsin/plugin.h>

#include "lib/strv.h"

#define CPU_FIRST_MS	1000	/* first run: CPU sampled over this long */
#define AUTO_MAX	64	/* mounts / interfaces picked automatically */
#define SUMMARY_MAX	1024

enum {
	M_LOAD = 1 << 0,
	M_CPU = 1 << 1,
	M_MEMORY = 1 << 2,
	M_SWAP = 1 << 3,
	M_DISK = 1 << 4,
	M_NET = 1 << 5,
};

static const char *const measure_names[] = { "load", "cpu", "memory",
    "swap", "disk", "net", NULL };

static const struct tocsin_option system_options[] = {
	{ "measure", TOCSIN_OPT_STR_LIST,
	  "{\"load\", \"cpu\", \"memory\", \"swap\", \"disk\", \"net\"}", 0,
	  "what to measure: load, cpu, memory, swap, disk, net" },
	{ "mounts", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "mount points to measure (default: every local real file system)" },
	{ "interfaces", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "network interfaces to measure (default: all but lo)" },
	{ "load_per_cpu", TOCSIN_OPT_BOOL, "true", 0,
	  "compare load thresholds with the load divided by the CPU count" },
	{ "load_warn", TOCSIN_OPT_FLOAT, NULL, 0,
	  "WARNING when load1, load5 or load15 is above this" },
	{ "load_crit", TOCSIN_OPT_FLOAT, NULL, 0,
	  "CRITICAL when load1, load5 or load15 is above this" },
	{ "cpu_warn", TOCSIN_OPT_FLOAT, NULL, 0,
	  "WARNING when cpu_used_pct is above this" },
	{ "cpu_crit", TOCSIN_OPT_FLOAT, NULL, 0,
	  "CRITICAL when cpu_used_pct is above this" },
	{ "iowait_warn", TOCSIN_OPT_FLOAT, NULL, 0,
	  "WARNING when cpu_iowait_pct is above this" },
	{ "iowait_crit", TOCSIN_OPT_FLOAT, NULL, 0,
	  "CRITICAL when cpu_iowait_pct is above this" },
	{ "mem_warn", TOCSIN_OPT_FLOAT, NULL, 0,
	  "WARNING when mem_used_pct is above this" },
	{ "mem_crit", TOCSIN_OPT_FLOAT, NULL, 0,
	  "CRITICAL when mem_used_pct is above this" },
	{ "swap_warn", TOCSIN_OPT_FLOAT, NULL, 0,
	  "WARNING when swap_used_pct is above this" },
	{ "swap_crit", TOCSIN_OPT_FLOAT, NULL, 0,
	  "CRITICAL when swap_used_pct is above this" },
	{ "disk_warn", TOCSIN_OPT_FLOAT, "90", 0,
	  "WARNING when a disk's used % is above this" },
	{ "disk_crit", TOCSIN_OPT_FLOAT, "95", 0,
	  "CRITICAL when a disk's used % is above this" },
	{ "inode_warn", TOCSIN_OPT_FLOAT, "90", 0,
	  "WARNING when a disk's inodes used % is above this" },
	{ "inode_crit", TOCSIN_OPT_FLOAT, "95", 0,
	  "CRITICAL when a disk's inodes used % is above this" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* A warn/crit pair; set = 0 means no alert. */
struct thr {
	int wset, cset;
	double warn, crit;
};

struct cpu_sample {
	unsigned long long user, system, idle, iowait, steal, total;
};

/* What configure() built; also the CPU sample of the previous run. */
struct sys {
	unsigned what;
	char **mounts;		/* NULL: automatic */
	unsigned nmounts;
	char **ifaces;		/* NULL: all but lo */
	unsigned nifaces;
	int load_per_cpu;
	struct thr load, cpu, iowait, mem, swap, disk, inode;
	struct cpu_sample prev;
	int have_prev;
};

/* One run in progress: the state so far and the summary parts. */
struct sysrun {
	struct tocsin_run *run;
	struct sys *s;
	struct event *ev;	/* first-sample CPU timer */
	enum tocsin_state state;
	char alerts[SUMMARY_MAX];
	char overview[SUMMARY_MAX];
	char notes[SUMMARY_MAX];	/* UNKNOWN parts (unreadable file) */
	unsigned dropped;		/* metrics the core refused */
};

/* ---- helpers ----------------------------------------------------------- */

static void
appendf(char *buf, size_t size, const char *sep, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
appendf(char *buf, size_t size, const char *sep, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len > 0 && len + strlen(sep) < size) {
		memcpy(buf + len, sep, strlen(sep) + 1);
		len += strlen(sep);
	}
	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

static void
worsen(struct sysrun *r, enum tocsin_state st)
{
	static const int rank[] = { 0, 2, 3, 1 };  /* OK WARN CRIT UNKNOWN */

	if (rank[st] > rank[r->state])
		r->state = st;
}

static void
put(struct sysrun *r, const char *name, double value, const char *unit,
    const struct thr *t, double scale, unsigned flags, double max)
{
	struct tocsin_metric m;
	char w[32], c[32];

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.value = value;
	m.unit = unit;
	m.min = 0;
	m.max = max;
	m.flags = flags;
	if (t != NULL && t->wset) {
		snprintf(w, sizeof(w), "%g", t->warn * scale);
		m.warn = w;
	}
	if (t != NULL && t->cset) {
		snprintf(c, sizeof(c), "%g", t->crit * scale);
		m.crit = c;
	}
	if (tocsin_run_metric(r->run, &m) != 0)
		r->dropped++;
}

/*
 * Checks value against t and notes an alert as "what VALUE (warn W)".
 * RETURN VALUE: the state it gives.
 */
static enum tocsin_state
judge(struct sysrun *r, const struct thr *t, double value, const char *what,
    const char *fmt_unit)
{
	enum tocsin_state st = TOCSIN_OK;
	const char *lv = NULL;
	double lim = 0;

	if (t->cset && value > t->crit) {
		st = TOCSIN_CRITICAL;
		lv = "crit";
		lim = t->crit;
	} else if (t->wset && value > t->warn) {
		st = TOCSIN_WARNING;
		lv = "warn";
		lim = t->warn;
	}
	if (st != TOCSIN_OK) {
		appendf(r->alerts, sizeof(r->alerts), ", ",
		    "%s %.1f%s > %s %g", what, value, fmt_unit, lv, lim);
		worsen(r, st);
	}
	return st;
}

static void
unknown(struct sysrun *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
unknown(struct sysrun *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	appendf(r->notes, sizeof(r->notes), ", ", "%s", msg);
	worsen(r, TOCSIN_UNKNOWN);
}

/* "/" → "root", "/var/lib" → "var_lib"; out has room for 64 bytes. */
static void
metric_part(const char *in, char *out, size_t size)
{
	size_t i = 0;

	while (*in == '/')
		in++;
	if (*in == '\0') {
		snprintf(out, size, "root");
		return;
	}
	for (; *in != '\0' && i + 1 < size; in++)
		out[i++] = ((*in >= 'a' && *in <= 'z') ||
		    (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9')) ?
		    *in : '_';
	out[i] = '\0';
}

/* ---- load -------------------------------------------------------------- */

static void
measure_load(struct sysrun *r)
{
	struct sys *s = r->s;
	double l[3], scale = 1;
	static const char *const names[3] = { "load1", "load5", "load15" };
	long ncpu;
	FILE *fp;
	int i, n;

	if ((fp = fopen("/proc/loadavg", "re")) == NULL) {
		unknown(r, "load: /proc/loadavg: %s", strerror(errno));
		return;
	}
	n = fscanf(fp, "%lf %lf %lf", &l[0], &l[1], &l[2]);
	fclose(fp);
	if (n != 3) {
		unknown(r, "load: /proc/loadavg: unexpected format");
		return;
	}
	if (s->load_per_cpu && (ncpu = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
		scale = (double)ncpu;
	for (i = 0; i < 3; i++) {
		put(r, names[i], l[i], NULL, &s->load, scale, 0, NAN);
		judge(r, &s->load, l[i] / scale, names[i],
		    s->load_per_cpu ? " per CPU" : "");
	}
	appendf(r->overview, sizeof(r->overview), ", ", "load %.2f %.2f %.2f",
	    l[0], l[1], l[2]);
}

/* ---- cpu --------------------------------------------------------------- */

static int
cpu_read(struct cpu_sample *c)
{
	unsigned long long v[8] = { 0 };
	char line[512];
	FILE *fp;
	int n;

	if ((fp = fopen("/proc/stat", "re")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), fp) == NULL) {
		fclose(fp);
		errno = EINVAL;
		return -1;
	}
	fclose(fp);
	/* user nice system idle iowait irq softirq steal (guest is in user) */
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4) {
		errno = EINVAL;
		return -1;
	}
	c->user = v[0] + v[1];
	c->system = v[2] + v[5] + v[6];
	c->idle = v[3];
	c->iowait = v[4];
	c->steal = v[7];
	c->total = c->user + c->system + c->idle + c->iowait + c->steal;
	return 0;
}

static double
pct(unsigned long long now, unsigned long long then, double total)
{
	return now >= then ? 100.0 * (double)(now - then) / total : 0;
}

static void
measure_cpu(struct sysrun *r)
{
	struct sys *s = r->s;
	struct cpu_sample c, *p = &s->prev;
	double total, user, sys, idle, iow, used;

	if (cpu_read(&c) != 0) {
		unknown(r, "cpu: /proc/stat: %s", strerror(errno));
		return;
	}
	if (!s->have_prev || c.total <= p->total) {
		/* no time passed (or a counter went back): next run */
		s->prev = c;
		s->have_prev = 1;
		return;
	}
	total = (double)(c.total - p->total);
	user = pct(c.user, p->user, total);
	sys = pct(c.system, p->system, total);
	idle = pct(c.idle, p->idle, total);
	iow = pct(c.iowait, p->iowait, total);
	used = 100.0 - idle - iow;
	if (used < 0)
		used = 0;
	s->prev = c;
	put(r, "cpu_user_pct", user, "%", NULL, 1, 0, 100);
	put(r, "cpu_system_pct", sys, "%", NULL, 1, 0, 100);
	put(r, "cpu_iowait_pct", iow, "%", &s->iowait, 1, 0, 100);
	put(r, "cpu_idle_pct", idle, "%", NULL, 1, 0, 100);
	put(r, "cpu_used_pct", used, "%", &s->cpu, 1, 0, 100);
	judge(r, &s->cpu, used, "cpu", "% used");
	judge(r, &s->iowait, iow, "cpu", "% iowait");
	appendf(r->overview, sizeof(r->overview), ", ", "cpu %.0f%% used",
	    used);
}

/* ---- memory and swap --------------------------------------------------- */

static void
measure_mem(struct sysrun *r)
{
	struct sys *s = r->s;
	unsigned long long total = 0, avail = 0, freem = 0, buffers = 0,
	    cached = 0, stotal = 0, sfree = 0, v;
	int have_avail = 0;
	char line[256], key[64];
	double used, sused;
	FILE *fp;

	if ((fp = fopen("/proc/meminfo", "re")) == NULL) {
		unknown(r, "memory: /proc/meminfo: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%63[^:]: %llu", key, &v) != 2)
			continue;
		v *= 1024;	/* kB */
		if (strcmp(key, "MemTotal") == 0)
			total = v;
		else if (strcmp(key, "MemAvailable") == 0) {
			avail = v;
			have_avail = 1;
		} else if (strcmp(key, "MemFree") == 0)
			freem = v;
		else if (strcmp(key, "Buffers") == 0)
			buffers = v;
		else if (strcmp(key, "Cached") == 0)
			cached = v;
		else if (strcmp(key, "SwapTotal") == 0)
			stotal = v;
		else if (strcmp(key, "SwapFree") == 0)
			sfree = v;
	}
	fclose(fp);
	if (total == 0) {
		unknown(r, "memory: no MemTotal in /proc/meminfo");
		return;
	}
	if (!have_avail)	/* kernels before 3.14 */
		avail = freem + buffers + cached;
	if (avail > total)
		avail = total;
	if (r->s->what & M_MEMORY) {
		used = 100.0 * (double)(total - avail) / (double)total;
		put(r, "mem_used_pct", used, "%", &s->mem, 1, 0, 100);
		put(r, "mem_available", (double)avail, "B", NULL, 1, 0,
		    (double)total);
		judge(r, &s->mem, used, "memory", "% used");
		appendf(r->overview, sizeof(r->overview), ", ",
		    "memory %.0f%% used", used);
	}
	if (r->s->what & M_SWAP) {
		if (sfree > stotal)
			sfree = stotal;
		/* no swap at all is 0 % used: nothing to alert on */
		sused = stotal > 0 ?
		    100.0 * (double)(stotal - sfree) / (double)stotal : 0;
		put(r, "swap_used_pct", sused, "%", &s->swap, 1, 0, 100);
		put(r, "swap_free", (double)sfree, "B", NULL, 1, 0,
		    (double)stotal);
		judge(r, &s->swap, sused, "swap", "% used");
		appendf(r->overview, sizeof(r->overview), ", ",
		    "swap %.0f%% used", sused);
	}
}

/* ---- disks ------------------------------------------------------------- */

/*
 * The automatic choice takes only these: local file systems on a block
 * device, whose statvfs() the kernel answers from memory.  An allow-list,
 * not a deny-list: a FUSE file system (fuse.*, fuseblk) is answered by a
 * user process, a network one by a server, and either may never answer
 * (issue 14: one hung FUSE mount stalled the whole loop in statvfs()).
 * `mounts` may still name any mount point; the operator then owns the
 * risk.
 */
static const char *const local_fstypes[] = {
	"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs",
	"reiserfs", "bcachefs", "nilfs2", "vfat", "msdos", "exfat", "ntfs3",
	"hfs", "hfsplus", "ufs", "udf",
	"overlay",	/* a container's root: answered by its upper layer */
	NULL,
};

static int
skip_fstype(const char *t)
{
	int i;

	for (i = 0; local_fstypes[i] != NULL; i++)
		if (strcmp(t, local_fstypes[i]) == 0)
			return 0;
	return 1;
}

static void
disk_one(struct sysrun *r, const char *dir)
{
	struct sys *s = r->s;
	struct statvfs v;
	char part[64], name[128];
	double used, avail, upct, ipct = -1, freeb;

	if (statvfs(dir, &v) != 0) {
		unknown(r, "disk %s: %s", dir, strerror(errno));
		return;
	}
	if (v.f_blocks == 0)
		return;		/* nothing to fill */
	metric_part(dir, part, sizeof(part));
	/* as df: reserved blocks count neither as used nor as available */
	used = (double)(v.f_blocks - v.f_bfree);
	avail = (double)v.f_bavail;
	upct = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
	freeb = (double)v.f_bavail * (double)v.f_frsize;
	snprintf(name, sizeof(name), "disk_%s_used_pct", part);
	put(r, name, upct, "%", &s->disk, 1, 0, 100);
	snprintf(name, sizeof(name), "disk_%s_free", part);
	put(r, name, freeb, "B", NULL, 1, 0,
	    (double)v.f_blocks * (double)v.f_frsize);
	if (v.f_files > 0) {
		ipct = 100.0 * (double)(v.f_files - v.f_ffree) /
		    (double)v.f_files;
		snprintf(name, sizeof(name), "disk_%s_inodes_pct", part);
		put(r, name, ipct, "%", &s->inode, 1, 0, 100);
	}
	snprintf(name, sizeof(name), "disk %s", dir);
	judge(r, &s->disk, upct, name, "% used");
	if (ipct >= 0)
		judge(r, &s->inode, ipct, name, "% inodes used");
	appendf(r->overview, sizeof(r->overview), ", ", "%s %.0f%% used",
	    dir, upct);
}

/* Mount points picked automatically; a bind mount counts once. */
struct mnt {
	char *dir, *src;
};

static void
measure_disk(struct sysrun *r)
{
	struct sys *s = r->s;
	struct mnt auto_m[AUTO_MAX];
	struct mntent ent, *e;
	char buf[4096], *p;
	unsigned i, n = 0, found;
	FILE *fp;

	if ((fp = setmntent("/proc/self/mounts", "re")) == NULL) {
		unknown(r, "disk: /proc/self/mounts: %s", strerror(errno));
		return;
	}
	if (s->mounts != NULL) {
		found = 0;
		while ((e = getmntent_r(fp, &ent, buf, sizeof(buf))) != NULL)
			for (i = 0; i < s->nmounts; i++)
				if (strcmp(e->mnt_dir, s->mounts[i]) == 0)
					found |= 1u << i;
		endmntent(fp);
		for (i = 0; i < s->nmounts; i++) {
			if (found & (1u << i))
				disk_one(r, s->mounts[i]);
			else {
				appendf(r->alerts, sizeof(r->alerts), ", ",
				    "disk %s not mounted", s->mounts[i]);
				worsen(r, TOCSIN_CRITICAL);
			}
		}
		return;
	}
	while ((e = getmntent_r(fp, &ent, buf, sizeof(buf))) != NULL) {
		if (skip_fstype(e->mnt_type) || e->mnt_dir[0] != '/')
			continue;
		/* the same device mounted twice: keep the shorter path */
		for (i = 0; i < n; i++)
			if (e->mnt_fsname[0] == '/' &&
			    strcmp(auto_m[i].src, e->mnt_fsname) == 0)
				break;
		if (i < n) {
			if (strlen(e->mnt_dir) < strlen(auto_m[i].dir) &&
			    (p = strdup(e->mnt_dir)) != NULL) {
				free(auto_m[i].dir);
				auto_m[i].dir = p;
			}
			continue;
		}
		/* a later mount on the same point hides the earlier one */
		for (i = 0; i < n; i++)
			if (strcmp(auto_m[i].dir, e->mnt_dir) == 0)
				break;
		if (i < n) {
			if ((p = strdup(e->mnt_fsname)) != NULL) {
				free(auto_m[i].src);
				auto_m[i].src = p;
			}
			continue;
		}
		if (n == AUTO_MAX)
			continue;
		auto_m[n].dir = strdup(e->mnt_dir);
		auto_m[n].src = strdup(e->mnt_fsname);
		if (auto_m[n].dir == NULL || auto_m[n].src == NULL) {
			free(auto_m[n].dir);
			free(auto_m[n].src);
			continue;
		}
		n++;
	}
	endmntent(fp);
	for (i = 0; i < n; i++) {
		disk_one(r, auto_m[i].dir);
		free(auto_m[i].dir);
		free(auto_m[i].src);
	}
}

/* ---- network ----------------------------------------------------------- */

static int
iface_wanted(const struct sys *s, const char *name, unsigned *idx)
{
	unsigned i;

	if (s->ifaces == NULL)
		return strcmp(name, "lo") != 0;
	for (i = 0; i < s->nifaces; i++)
		if (strcmp(s->ifaces[i], name) == 0) {
			*idx = i;
			return 1;
		}
	return 0;
}

static void
measure_net(struct sysrun *r)
{
	static const char *const sfx[6] = { "rx_bytes", "rx_packets",
	    "rx_errors", "tx_bytes", "tx_packets", "tx_errors" };
	struct sys *s = r->s;
	unsigned long long v[16];
	char line[512], ifname[64], part[64], name[128], *colon, *p;
	unsigned idx, seen = 0, n = 0, k;
	double vals[6];
	FILE *fp;

	if ((fp = fopen("/proc/net/dev", "re")) == NULL) {
		unknown(r, "net: /proc/net/dev: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((colon = strchr(line, ':')) == NULL)
			continue;	/* the two header lines */
		*colon = '\0';
		for (p = line; *p == ' '; p++)
			;
		if (strlen(p) >= sizeof(ifname))
			continue;	/* IFNAMSIZ is 16: not an interface */
		memcpy(ifname, p, strlen(p) + 1);
		idx = 0;
		if (!iface_wanted(s, ifname, &idx))
			continue;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu "
		    "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		    &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
		    &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) != 16)
			continue;
		if (s->ifaces == NULL && n++ >= AUTO_MAX)
			continue;
		if (s->ifaces != NULL && idx < 32)
			seen |= 1u << idx;
		vals[0] = (double)v[0];
		vals[1] = (double)v[1];
		vals[2] = (double)v[2];
		vals[3] = (double)v[8];
		vals[4] = (double)v[9];
		vals[5] = (double)v[10];
		metric_part(ifname, part, sizeof(part));
		for (k = 0; k < 6; k++) {
			snprintf(name, sizeof(name), "net_%s_%s", part, sfx[k]);
			put(r, name, vals[k], k % 3 == 0 ? "B" : "c", NULL, 1,
			    TOCSIN_METRIC_COUNTER, NAN);
		}
	}
	fclose(fp);
	for (idx = 0; s->ifaces != NULL && idx < s->nifaces && idx < 32; idx++)
		if (!(seen & (1u << idx)))
			unknown(r, "net: no interface %s", s->ifaces[idx]);
}

/* ---- runs -------------------------------------------------------------- */

static void
sysrun_finish(struct sysrun *r)
{
	struct sys *s = r->s;
	char summary[3 * SUMMARY_MAX + 64], lo[64];
	struct tocsin_run *run = r->run;
	enum tocsin_state st;

	if (s->what & M_LOAD)
		measure_load(r);
	if (s->what & M_CPU)
		measure_cpu(r);
	if (s->what & (M_MEMORY | M_SWAP))
		measure_mem(r);
	if (s->what & M_DISK)
		measure_disk(r);
	if (s->what & M_NET)
		measure_net(r);
	summary[0] = '\0';
	if (r->alerts[0] != '\0')
		appendf(summary, sizeof(summary), "; ", "%s", r->alerts);
	if (r->notes[0] != '\0')
		appendf(summary, sizeof(summary), "; ", "%s", r->notes);
	appendf(summary, sizeof(summary), "; ", "%s",
	    r->overview[0] != '\0' ? r->overview : "nothing measured");
	if (r->dropped > 0) {
		snprintf(lo, sizeof(lo), "%u metrics over the core's limit "
		    "were dropped", r->dropped);
		tocsin_run_long_output(run, lo);
	}
	st = r->state;
	free(r);
	tocsin_run_finish(run, st, summary);
}

static void
system_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sysrun *r = arg;

	(void)fd;
	(void)what;
	event_free(r->ev);
	r->ev = NULL;
	sysrun_finish(r);
}

static void
system_start(struct tocsin_run *run, void *priv)
{
	struct sys *s = priv;
	struct sysrun *r;
	struct timeval tv;
	int64_t ms = CPU_FIRST_MS, t;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "system: out of memory");
		return;
	}
	r->run = run;
	r->s = s;
	if (!(s->what & M_CPU) || s->have_prev) {
		sysrun_finish(r);
		return;
	}
	/* first run: a CPU sample now, the rest a little later */
	if (cpu_read(&s->prev) == 0)
		s->have_prev = 1;
	else {
		sysrun_finish(r);
		return;
	}
	if ((t = tocsin_run_timeout_ms(run) / 2) < ms)
		ms = t;
	if ((r->ev = evtimer_new(tocsin_event_base(), system_timer,
	    r)) == NULL) {
		sysrun_finish(r);
		return;
	}
	tocsin_run_set_data(run, r);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->ev, &tv);
}

static void
system_cancel(struct tocsin_run *run, void *priv)
{
	struct sysrun *r = tocsin_run_data(run);

	(void)priv;
	if (r != NULL) {
		if (r->ev != NULL)
			event_free(r->ev);
		free(r);
	}
}

/* ---- configuration ----------------------------------------------------- */

static char **
strv_get(struct tocsin_conf *cf, const char *key, unsigned *n)
{
	char **v;
	unsigned i;

	*n = tocsin_conf_list_size(cf, key);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < *n; i++)
		if ((v[i] = strdup(tocsin_conf_list_str(cf, key, i))) == NULL) {
			strv_free(v, i);
			return NULL;
		}
	return v;
}

/* Reads NAME_warn and NAME_crit.  RETURN VALUE: 0 or -1 (reported). */
static int
thr_get(struct tocsin_conf *cf, const char *base, int pct, struct thr *t)
{
	char wk[32], ck[32];
	int rc = 0;

	snprintf(wk, sizeof(wk), "%s_warn", base);
	snprintf(ck, sizeof(ck), "%s_crit", base);
	/* a default ("90") counts as set: only keys without one are unset */
	t->warn = tocsin_conf_float(cf, wk);
	t->crit = tocsin_conf_float(cf, ck);
	t->wset = tocsin_conf_is_set(cf, wk) || t->warn != 0;
	t->cset = tocsin_conf_is_set(cf, ck) || t->crit != 0;
	if (t->wset && (t->warn < 0 || (pct && t->warn > 100) ||
	    !isfinite(t->warn))) {
		tocsin_conf_error(cf, wk, "%g is not %s", t->warn,
		    pct ? "a percentage (0..100)" : "a number >= 0");
		rc = -1;
	}
	if (t->cset && (t->crit < 0 || (pct && t->crit > 100) ||
	    !isfinite(t->crit))) {
		tocsin_conf_error(cf, ck, "%g is not %s", t->crit,
		    pct ? "a percentage (0..100)" : "a number >= 0");
		rc = -1;
	}
	if (rc == 0 && t->wset && t->cset && t->warn > t->crit) {
		tocsin_conf_error(cf, wk, "%g is above %s (%g)", t->warn, ck,
		    t->crit);
		rc = -1;
	}
	return rc;
}

static void
system_free(void *priv)
{
	struct sys *s = priv;

	strv_free(s->mounts, s->nmounts);
	strv_free(s->ifaces, s->nifaces);
	free(s);
}

static int
system_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	struct sys *s;
	unsigned i, j, n;
	int rc = 0;
	const char *m;

	(void)chk;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	n = tocsin_conf_list_size(cf, "measure");
	for (i = 0; i < n; i++) {
		m = tocsin_conf_list_str(cf, "measure", i);
		for (j = 0; measure_names[j] != NULL; j++)
			if (strcmp(m, measure_names[j]) == 0)
				break;
		if (measure_names[j] == NULL) {
			tocsin_conf_error(cf, "measure", "\"%s\" is not one of "
			    "load, cpu, memory, swap, disk, net", m);
			rc = -1;
		} else
			s->what |= 1u << j;
	}
	if (n == 0) {
		tocsin_conf_error(cf, "measure", "the list is empty: nothing "
		    "to measure");
		rc = -1;
	}
	if (tocsin_conf_is_set(cf, "mounts")) {
		if ((s->mounts = strv_get(cf, "mounts", &s->nmounts)) == NULL)
			goto oom;
		if (s->nmounts == 0 || s->nmounts > 32) {
			tocsin_conf_error(cf, "mounts", "give 1 to 32 mount "
			    "points (or leave it out for every local one)");
			rc = -1;
		}
		for (i = 0; i < s->nmounts; i++)
			if (s->mounts[i][0] != '/') {
				tocsin_conf_error(cf, "mounts", "\"%s\" is not an "
				    "absolute path", s->mounts[i]);
				rc = -1;
			}
	}
	if (tocsin_conf_is_set(cf, "interfaces")) {
		if ((s->ifaces = strv_get(cf, "interfaces",
		    &s->nifaces)) == NULL)
			goto oom;
		if (s->nifaces == 0 || s->nifaces > 32) {
			tocsin_conf_error(cf, "interfaces", "give 1 to 32 "
			    "interfaces (or leave it out for all but lo)");
			rc = -1;
		}
		for (i = 0; i < s->nifaces; i++)
			if (s->ifaces[i][0] == '\0' ||
			    strlen(s->ifaces[i]) >= 16 ||
			    strpbrk(s->ifaces[i], "/: \t") != NULL) {
				tocsin_conf_error(cf, "interfaces", "\"%s\" is "
				    "not an interface name", s->ifaces[i]);
				rc = -1;
			}
	}
	s->load_per_cpu = tocsin_conf_bool(cf, "load_per_cpu");
	/* every pair is read, so that every bad one is reported */
	rc |= thr_get(cf, "load", 0, &s->load);
	rc |= thr_get(cf, "cpu", 1, &s->cpu);
	rc |= thr_get(cf, "iowait", 1, &s->iowait);
	rc |= thr_get(cf, "mem", 1, &s->mem);
	rc |= thr_get(cf, "swap", 1, &s->swap);
	rc |= thr_get(cf, "disk", 1, &s->disk);
	rc |= thr_get(cf, "inode", 1, &s->inode);
	if (rc != 0) {
		system_free(s);
		return -1;
	}
	*priv = s;
	return 0;
oom:
	system_free(s);
	return -1;
}

static const struct tocsin_check_type system_type = {
	.name = "system",
	.options = system_options,
	.configure = system_configure,
	.start = system_start,
	.cancel = system_cancel,
	.free = system_free,
};

static int
system_init(void)
{
	return tocsin_register_type(&system_type);
}

TOCSIN_PLUGIN("system", system_init, NULL);
