/* correlators/topology.h: the configuration-item graph the topology linking walks ("A depends on
 * B"), read from a small text file (docs/topology.md):
 *
 *   # comments and blank lines are ignored
 *   node db-1 service=orders criticality=high
 *   app-1 -> db-1 cache-1          # app-1 depends on db-1 and on cache-1
 *
 * Immutable once loaded; a reload builds a new graph. Pure but for reading the file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

struct ad_err;

enum ad_criticality { AD_CRIT_LOW = 0, AD_CRIT_MEDIUM, AD_CRIT_HIGH, AD_CRIT_CRITICAL };

#define AD_TOPO_MAX_NODES (1u << 20)
#define AD_TOPO_MAX_EDGES (1u << 23)
#define AD_TOPO_MAX_FILE (64u << 20) /* bytes */
#define AD_TOPO_NONE UINT32_MAX

struct ad_topology;

/* Reads path. Errors name the file, line and column and what was expected:
 * "topo.txt:3:9: unknown CI 'db-9' (declare it with a node line first)". A node may be declared
 * once; an edge needs both ends declared; a cycle is allowed (heights then stop at the cycle).
 * Returns 0 or -errno. */
int ad_topology_load(const char *path, struct ad_topology **ret, struct ad_err *reterr);
/* The same from memory (name is used in error messages). */
int ad_topology_parse(const char *name, const char *text, size_t len, struct ad_topology **ret,
                      struct ad_err *reterr);
void ad_topology_free(struct ad_topology *t); /* NULL-safe */

uint32_t ad_topology_nodes(const struct ad_topology *t);
uint32_t ad_topology_edges(const struct ad_topology *t);
/* The node of a CI name, or AD_TOPO_NONE. NULL t: AD_TOPO_NONE. */
uint32_t ad_topology_find(const struct ad_topology *t, struct ad_str ci);
const char *ad_topology_name(const struct ad_topology *t, uint32_t node);
const char *ad_topology_service(const struct ad_topology *t, uint32_t node); /* "" when none */
enum ad_criticality ad_topology_criticality(const struct ad_topology *t, uint32_t node);
/* Longest chain of dependencies below the node (0: depends on nothing). Lower is deeper in the
 * stack: a database under an application under a load balancer has height 0 < 1 < 2. */
uint32_t ad_topology_height(const struct ad_topology *t, uint32_t node);

/* Breadth-first over "depends on" and "depended on by" edges from node, up to depth hops and
 * at most max_visit nodes, nearest first, in file order within a distance. visit(ctx, node,
 * hops, down) is called for every node reached (not the start); down = reached by following
 * dependencies only. Return true from visit to stop. Returns true when visit stopped it. */
bool ad_topology_walk(const struct ad_topology *t, uint32_t node, uint32_t depth,
                      uint32_t max_visit,
                      bool (*visit)(void *ctx, uint32_t node, uint32_t hops, bool down),
                      void *ctx);
/* The same along one kind of edge only: what node depends on (transitively), or, with
 * dependents, what depends on node. down is true for dependencies. */
bool ad_topology_walk_deps(const struct ad_topology *t, uint32_t node, bool dependents,
                           uint32_t depth, uint32_t max_visit,
                           bool (*visit)(void *ctx, uint32_t node, uint32_t hops, bool down),
                           void *ctx);
/* Whether a (transitively, within depth hops) depends on b. */
bool ad_topology_depends(const struct ad_topology *t, uint32_t a, uint32_t b, uint32_t depth);
const char *ad_criticality_name(enum ad_criticality c);
