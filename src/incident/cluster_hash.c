/*
 * cluster_hash.c — rendezvous hashing of checks over nodes
 * (cluster_hash.h).
 */
#include <string.h>

#include "incident/cluster_hash.h"

uint64_t
cluster_weight(const char *node, const char *check)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a offset basis */
	const unsigned char *p;

	for (p = (const unsigned char *)node; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0) * 0x100000001b3ULL;		/* between the names */
	for (p = (const unsigned char *)check; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	/* splitmix64's finalizer: every input bit moves every output bit */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

long
cluster_owner_at(const char *check, const char *loc,
    const char *const *nodes, const char *const *node_locs, size_t n)
{
	uint64_t best = 0, w;
	long owner = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (loc != NULL && (node_locs[i] == NULL ||
		    strcmp(node_locs[i], loc) != 0))
			continue;
		w = cluster_weight(nodes[i], check);
		if (owner < 0 || w > best || (w == best &&
		    strcmp(nodes[i], nodes[owner]) < 0)) {
			best = w;
			owner = (long)i;
		}
	}
	return owner;
}

long
cluster_owner(const char *check, const char *const *nodes, size_t n)
{
	return cluster_owner_at(check, NULL, nodes, NULL, n);
}
