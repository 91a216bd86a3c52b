/* correlators/root_cause.c: the probable root cause of an incident candidate (docs/topology.md,
 * "Root cause"), and the title that names it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlators/engine.h"
#include "correlators/topology.h"

#define ROOT_MAX_MEMBERS 256 /* members weighed for the root cause (the first ones) */

struct root_walk {
    const uint32_t *nodes; /* member CI nodes, sorted */
    uint32_t n;
    uint32_t *explains;    /* per entry of nodes */
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool root_visit(void *ctx, uint32_t node, uint32_t hops, bool down)
{
    (void)hops;
    (void)down;
    struct root_walk *rw = ctx;
    const uint32_t *hit = bsearch(&node, rw->nodes, rw->n, sizeof(node), cmp_u32);
    if (hit)
        rw->explains[hit - rw->nodes]++;
    return false;
}

void ad_sw_set_title(struct ad_candidate *c)
{
    const struct ad_cand_member *m =
        &c->members[c->root_member < c->n_members ? c->root_member : 0];
    size_t n = strlen(m->check) + strlen(m->resource) + 64;
    char *t = malloc(n);
    if (!t)
        return; /* keep the previous title */
    if (c->alert_count > 1)
        snprintf(t, n, "%s on %s and %u more alert%s", m->check, m->resource, c->alert_count - 1,
                 c->alert_count == 2 ? "" : "s");
    else
        snprintf(t, n, "%s on %s", m->check, m->resource);
    free(c->title);
    c->title = t;
}

/* The probable root cause: the member CI that most other member CIs depend on (within
 * topology_depth: the failure that explains most of the candidate), then the lowest in the
 * dependency graph (a database under the applications that use it), then the earliest. A
 * cause that has recovered stays the cause. Without a topology, or when no member CI is in it:
 * the CI the other alerts name (the mentions rule), else the CI the others are learned to fail
 * after (the learned rule), else the first alert. Also makes it the candidate's ci and title. */
void ad_sw_set_root(const struct ad_svcwin *s, uint32_t idx)
{
    struct ad_candidate *c = &s->slots[idx].c;
    uint32_t best = AD_SW_NIL, best_h = 0, best_x = 0;
    uint32_t nodes[ROOT_MAX_MEMBERS], sorted[ROOT_MAX_MEMBERS], explains[ROOT_MAX_MEMBERS];
    uint32_t n = c->n_members < ROOT_MAX_MEMBERS ? c->n_members : ROOT_MAX_MEMBERS, ns = 0;
    const struct ad_topology *t = s->rules.topo;
    for (uint32_t i = 0; t && i < n; i++) {
        nodes[i] = ad_topology_find(t, ad_str_c(c->members[i].resource));
        if (nodes[i] != AD_TOPO_NONE && (ns == 0 || sorted[ns - 1] != nodes[i]))
            sorted[ns++] = nodes[i];
    }
    if (t && ns > 1) {
        qsort(sorted, ns, sizeof(sorted[0]), cmp_u32);
        uint32_t u = 0; /* unique */
        for (uint32_t i = 0; i < ns; i++)
            if (u == 0 || sorted[u - 1] != sorted[i])
                sorted[u++] = sorted[i];
        ns = u;
    }
    memset(explains, 0, sizeof(explains));
    struct root_walk rw = {sorted, ns, explains};
    /* Each member CI once: what it depends on gets one more member explained. */
    for (uint32_t i = 0; ns > 1 && i < ns; i++)
        ad_topology_walk_deps(t, sorted[i], false, s->rules.depth, AD_SW_TOPO_MAX_VISIT,
                              root_visit, &rw);
    for (uint32_t i = 0; t && i < n; i++) {
        if (nodes[i] == AD_TOPO_NONE)
            continue;
        const uint32_t *hit = bsearch(&nodes[i], sorted, ns, sizeof(uint32_t), cmp_u32);
        uint32_t x = hit ? explains[hit - sorted] : 0;
        uint32_t h = ad_topology_height(t, nodes[i]);
        if (best == AD_SW_NIL || x > best_x || (x == best_x && h < best_h) ||
            (x == best_x && h == best_h &&
             c->members[i].first_seen_ns < c->members[best].first_seen_ns)) {
            best = i;
            best_h = h;
            best_x = x;
        }
    }
    c->root_member = best == AD_SW_NIL ? 0 : best;
    c->root_reason = best == AD_SW_NIL ? NULL
                     : best_x > 0 ? "the CI most of the candidate's other CIs depend on"
                                  : "lowest in the dependency graph among the candidate's CIs";
    /* Without the graph: the CI the other alerts name (mentions rule). */
    if (best == AD_SW_NIL && ad_sw_mentions_root(s, idx, &best)) {
        c->root_member = best;
        c->root_reason = "the CI the candidate's other alerts name";
    }
    /* Else: the CI the others are learned to fail after (learned rule). */
    if (best == AD_SW_NIL && ad_sw_learned_root(s, c, &best)) {
        c->root_member = best;
        c->root_reason = "the CI the candidate's other CIs are learned to fail after";
    }
    if (c->n_members == 0)
        return;
    const char *root = c->members[c->root_member].resource;
    if (!c->ci || strcmp(c->ci, root) != 0) {
        char *ci = strdup(root);
        if (ci) {
            free(c->ci);
            c->ci = ci;
        }
    }
    ad_sw_set_title(c);
}
