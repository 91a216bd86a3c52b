/* correlators/rule_topology.c: the topology rule (docs/topology.md). An alert on a CI of the
 * dependency graph joins the live candidate holding a failing dependency (nearest first, the
 * delay that fits best), else the same CI, else a direct dependent that fired a little earlier.
 * Learns the delay between causes and symptoms (topology_learn). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "common/ser.h"
#include "correlators/engine.h"
#include "correlators/topology.h"

#define DELAY_BINS 20          /* learned topology window: histogram resolution */
#define DELAY_MIN_TOTAL 30     /* delays seen before the histogram is trusted */
#define DELAY_MAX_TOTAL 4096   /* past it every bin is halved: old delays fade */

struct topo_state {
    struct ad_u64map by_ci; /* hash(member CI) -> slot of the candidate it last joined */
    /* topology_learn: how long after a failing dependency's alert new alerts on CIs that
     * depend on it arrived (the nearest such dependency within topology_window), in
     * DELAY_BINS bins of topology_window / DELAY_BINS, halved past DELAY_MAX_TOTAL. */
    uint32_t delay_hist[DELAY_BINS];
    uint32_t delay_total;
    int64_t delay_bin_ns;      /* the bin width the histogram was built with */
    int64_t learned_window_ns; /* 0: not learned yet (topology_window applies) */
};

static struct topo_state *state_of(const struct ad_svcwin *s)
{
    return s->rstate[AD_SW_TOPOLOGY];
}

static int topo_create(const struct ad_svcwin *s, void **ret)
{
    (void)s;
    struct topo_state *t = calloc(1, sizeof(*t));
    if (!t || ad_u64map_init(&t->by_ci, 1024) < 0) {
        free(t);
        return -ENOMEM;
    }
    *ret = t;
    return 0;
}

static void topo_destroy(void *state)
{
    struct topo_state *t = state;
    if (!t)
        return;
    ad_u64map_fini(&t->by_ci);
    free(t);
}

/* The window a symptom may follow its cause within: the learned one when topology_learn has
 * enough delays, else topology_window. */
int64_t ad_sw_topology_window(const struct ad_svcwin *s)
{
    const struct topo_state *t = state_of(s);
    return s->cfg.topology_learn && t->learned_window_ns > 0 ? t->learned_window_ns
                                                             : s->cfg.topology_window_ns;
}

/* Learns one delay. The delays of alerts that are not caused by the dependency fall anywhere
 * in [0, topology_window] (a flat background); real symptoms gather where propagation and
 * alerting delays put them. The background level is the 5th smallest bin; the learned window
 * ends one bin after the last bin whose count is above it beyond Poisson chance (3 sigma). */
static void learn_delay(struct ad_svcwin *s, struct topo_state *t, int64_t d)
{
    int64_t bin_ns = s->cfg.topology_window_ns / DELAY_BINS;
    if (bin_ns <= 0)
        return;
    if (bin_ns != t->delay_bin_ns) { /* topology_window changed: start again */
        memset(t->delay_hist, 0, sizeof(t->delay_hist));
        t->delay_total = 0;
        t->delay_bin_ns = bin_ns;
        t->learned_window_ns = 0;
    }
    int64_t b = d / bin_ns;
    t->delay_hist[b >= DELAY_BINS ? DELAY_BINS - 1 : b < 0 ? 0 : b]++;
    if (++t->delay_total > DELAY_MAX_TOTAL) {
        t->delay_total = 0;
        for (int i = 0; i < DELAY_BINS; i++)
            t->delay_total += t->delay_hist[i] /= 2;
    }
    if (t->delay_total < DELAY_MIN_TOTAL)
        return;
    uint32_t sorted[DELAY_BINS];
    memcpy(sorted, t->delay_hist, sizeof(sorted));
    for (int i = 1; i < DELAY_BINS; i++) /* insertion sort: 20 values */
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            uint32_t x = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = x;
        }
    double bg = sorted[4], thr = bg + 3 * sqrt(bg) + 1;
    int last = -1;
    for (int i = 0; i < DELAY_BINS; i++)
        if (t->delay_hist[i] > thr)
            last = i;
    /* Nothing stands out: the delays look like chance, keep the configured window. */
    int64_t w = last < 0 ? s->cfg.topology_window_ns : (int64_t)(last + 2) * bin_ns;
    t->learned_window_ns = w > s->cfg.topology_window_ns ? s->cfg.topology_window_ns : w;
}

/* Whether the candidate has a firing alert on ci that fits in time as the cause (down: the new
 * alert depends on ci, so ci failed first, at most the down window earlier; *delay gets the
 * smallest delay within topology_window, for learning) or as a symptom (up: ci depends on the
 * new alert's CI, which cannot have failed much later than its symptom: at most topology_lag,
 * for monitoring that notices the cause late). */
static bool fits_in_time(const struct ad_svcwin *s, const struct ad_candidate *c, const char *ci,
                         int64_t now_ns, bool down, int64_t *delay)
{
    int64_t best = -1;
    for (uint32_t i = 0; i < c->n_members; i++) {
        const struct ad_cand_member *m = &c->members[i];
        if (m->status != AD_STATUS_FIRING || strcmp(m->resource, ci) != 0)
            continue;
        int64_t d = now_ns - m->first_seen_ns;
        if (!down && d <= s->cfg.topology_lag_ns)
            return true;
        if (down && d >= 0 && d <= s->cfg.topology_window_ns && (best < 0 || d < best))
            best = d;
    }
    *delay = best;
    return down && best >= 0 && best <= ad_sw_topology_window(s);
}

/* How well a delay fits what symptoms here usually take: the learned histogram's count at it
 * (more is likelier); before anything is learned, a shorter delay is likelier. */
static double delay_fit(const struct ad_svcwin *s, int64_t delay)
{
    const struct topo_state *t = state_of(s);
    if (s->cfg.topology_learn && t->learned_window_ns > 0 && t->delay_bin_ns > 0) {
        int64_t b = delay / t->delay_bin_ns;
        return t->delay_hist[b >= DELAY_BINS ? DELAY_BINS - 1 : b];
    }
    return -(double)delay;
}

struct topo_probe {
    const struct ad_svcwin *s;
    int64_t now_ns;
    uint32_t found, hops;
    uint32_t node;
    bool down;
    int64_t first_delay_ns; /* down: the delay to the first fitting dependency found; -1 none */
    int64_t delay_ns;       /* down: the delay to the dependency found */
};

/* Down (dependencies): of the failing dependencies at the nearest distance, the one whose
 * alert time best explains the new alert's (delay_fit). Up (dependents): the first found. */
static bool topo_visit(void *ctx, uint32_t node, uint32_t hops, bool down)
{
    struct topo_probe *p = ctx;
    if (down && p->found != AD_SW_NIL && hops > p->hops)
        return true; /* nearest first: nothing nearer is left */
    uint32_t idx;
    int64_t delay = -1;
    const char *ci = ad_topology_name(p->s->rules.topo, node);
    if (!ad_u64map_get(&state_of(p->s)->by_ci, ad_sw_ci_key_c(ci), &idx) ||
        !ad_sw_live(p->s, idx, p->now_ns))
        return false;
    bool fits = fits_in_time(p->s, &p->s->slots[idx].c, ci, p->now_ns, down, &delay);
    if (down && delay >= 0 && p->first_delay_ns < 0)
        p->first_delay_ns = delay;
    if (!fits)
        return false;
    if (down && p->found != AD_SW_NIL && delay_fit(p->s, delay) <= delay_fit(p->s, p->delay_ns))
        return false;
    p->found = idx;
    p->hops = hops;
    p->node = node;
    p->down = down;
    p->delay_ns = delay;
    return !down;
}

/* The live candidate holding a failing dependency of the alert's CI, else the CI itself, else a
 * direct dependent (within topology_depth hops); AD_SW_NIL when none. */
static uint32_t topo_match(struct ad_svcwin *s, void *state, const struct ad_event *ev, char *why,
                           size_t n)
{
    struct topo_state *ts = state;
    const struct ad_topology *t = s->rules.topo;
    uint32_t node = t ? ad_topology_find(t, ev->resource) : AD_TOPO_NONE;
    if (node == AD_TOPO_NONE)
        return AD_SW_NIL;
    int cl = (int)(ev->resource.len > 120 ? 120 : ev->resource.len);
    uint32_t idx;
    /* First what the CI depends on (the alert is a symptom of a failure below): that explains
     * it better than another alert on the same CI, which may be unrelated (a CPU alert before
     * the database under it failed). Then the CI itself, then what depends on it (the alert is
     * the cause of failures above). Along dependency chains only, never sideways through a
     * shared dependency: a network switch or a storage array that everything uses must not
     * merge whatever fails near it. */
    struct topo_probe p = {s, ev->time_ns, AD_SW_NIL, 0, 0, false, -1, -1};
    ad_topology_walk_deps(t, node, false, s->rules.depth, AD_SW_TOPO_MAX_VISIT, topo_visit, &p);
    bool found = p.found != AD_SW_NIL;
    if (p.first_delay_ns >= 0) {
        if (!found)
            s->st.topology_late++;
        if (s->cfg.topology_learn)
            learn_delay(s, ts, p.first_delay_ns);
    }
    if (!found && ad_u64map_get(&ts->by_ci, ad_sw_ci_key(ev->resource), &idx) &&
        ad_sw_live(s, idx, ev->time_ns)) {
        snprintf(why, n, "same CI '%.*s'", cl, ev->resource.p);
        return idx;
    }
    /* A symptom seen before its cause: only on a CI that depends on the alert's CI directly (a
     * monitoring delay between the two); further up, the failure would have had to pass CIs
     * that had not failed yet. */
    if (!found)
        found = ad_topology_walk_deps(t, node, true, 1, AD_SW_TOPO_MAX_VISIT, topo_visit, &p);
    if (!found)
        return AD_SW_NIL;
    const char *other = ad_topology_name(t, p.node);
    if (p.down)
        snprintf(why, n, "'%.*s' depends on '%.120s' (%u hop%s)", cl, ev->resource.p, other, p.hops,
                 p.hops == 1 ? "" : "s");
    else
        snprintf(why, n, "'%.120s' depends on '%.*s' (%u hop%s)", other, cl, ev->resource.p, p.hops,
                 p.hops == 1 ? "" : "s");
    return p.found;
}

static void topo_joined(struct ad_svcwin *s, void *state, uint32_t idx, const struct ad_event *ev,
                        uint32_t member)
{
    (void)member;
    struct topo_state *t = state;
    if (s->rules.topo && ad_u64map_put(&t->by_ci, ad_sw_ci_key(ev->resource), idx) < 0)
        s->st.oom++; /* this CI is not indexed: a later alert may not find it */
}

static uint64_t member_ci_key(const struct ad_cand_member *m)
{
    return ad_sw_ci_key_c(m->resource);
}

static void topo_forgot(struct ad_svcwin *s, void *state, uint32_t idx)
{
    struct topo_state *t = state;
    ad_sw_unindex_members(s, &t->by_ci, idx, member_ci_key);
}

/* The CI index rebuilt from the members (older snapshots, a new topology): in slot order, so a
 * CI in several candidates points to the last. */
static int topo_reconfigured(struct ad_svcwin *s, void *state)
{
    struct topo_state *t = state;
    if (!s->rules.topo)
        return 0;
    for (uint32_t i = 0; i < s->cap; i++)
        for (uint32_t k = 0; s->slots[i].used && k < s->slots[i].c.n_members; k++)
            if (ad_u64map_put(&t->by_ci, ad_sw_ci_key_c(s->slots[i].c.members[k].resource), i) < 0)
                return -ENOMEM;
    return 0;
}

/* The CIs of a merged candidate now point at the one it was merged into. */
static void topo_merged(struct ad_svcwin *s, void *state, uint32_t from, uint32_t into,
                        uint32_t base)
{
    (void)base;
    struct topo_state *t = state;
    const struct ad_candidate *c = &s->slots[from].c;
    uint32_t v;
    for (uint32_t i = 0; i < c->n_members; i++) {
        uint64_t k = ad_sw_ci_key_c(c->members[i].resource);
        if (ad_u64map_get(&t->by_ci, k, &v) && v == from && ad_u64map_put(&t->by_ci, k, into) < 0)
            ad_u64map_del(&t->by_ci, k);
    }
}

static void topo_stats(const struct ad_svcwin *s, const void *state, struct ad_svcwin_stats *st)
{
    (void)state;
    st->topology_window_learned_ns = ad_sw_topology_window(s);
    st->bytes += ad_u64map_bytes(&state_of(s)->by_ci);
}

static void save_learned(const struct topo_state *t, struct ad_wr *w)
{
    for (int i = 0; i < DELAY_BINS; i++)
        ad_wr_u32(w, t->delay_hist[i]);
    ad_wr_u32(w, t->delay_total);
    ad_wr_i64(w, t->delay_bin_ns);
    ad_wr_i64(w, t->learned_window_ns);
}

int ad_sw_topology_load_learned(struct ad_svcwin *s, struct ad_rd *r)
{
    struct topo_state *t = state_of(s);
    for (int i = 0; i < DELAY_BINS; i++)
        t->delay_hist[i] = ad_rd_u32(r);
    t->delay_total = ad_rd_u32(r);
    t->delay_bin_ns = ad_rd_i64(r);
    t->learned_window_ns = ad_rd_i64(r);
    return r->bad || t->delay_bin_ns < 0 || t->learned_window_ns < 0 ? -EINVAL : 0;
}

static void topo_save(const struct ad_svcwin *s, const void *state, struct ad_wr *w)
{
    (void)s;
    const struct topo_state *t = state;
    ad_sw_save_map(w, &t->by_ci);
    save_learned(t, w);
}

/* Snapshots 2-8 hold the CI index here and the learned delays at their end (engine.c reads
 * those); 1 has no index: it is rebuilt. */
static int topo_load(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version)
{
    struct topo_state *t = state;
    if (version < 2)
        return topo_reconfigured(s, t);
    int rc = ad_sw_load_map(s, r, &t->by_ci);
    if (rc == 0 && version >= 9)
        rc = ad_sw_topology_load_learned(s, r);
    return rc;
}

const struct ad_sw_rule ad_sw_rule_topology = {
    .name = "topology",
    .create = topo_create,
    .destroy = topo_destroy,
    .match = topo_match,
    .joined = topo_joined,
    .forgot = topo_forgot,
    .merged = topo_merged,
    .reconfigured = topo_reconfigured,
    .stats = topo_stats,
    .save = topo_save,
    .load = topo_load,
};
