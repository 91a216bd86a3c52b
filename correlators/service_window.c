/* correlators/service_window.c: one incident candidate per service and window.
 * Candidates live in a slot array; a u64 map finds the live candidate of a service (by the hash
 * of its name) and another finds the candidate of each member fingerprint (for resolves).
 * Pure: no I/O, no clock. */
#include "correlators/service_window.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/time.h"
#include "common/ser.h"
#include "common/u64map.h"
#include "correlators/candidate.h"
#include "correlators/cooccur.h"
#include "correlators/topology.h"
#include "common/minhash.h"

#define DELAY_BINS 20          /* learned topology window: histogram resolution */
#define DELAY_MIN_TOTAL 30     /* delays seen before the histogram is trusted */
#define DELAY_MAX_TOTAL 4096   /* past it every bin is halved: old delays fade */
#define NIL UINT32_MAX

#define TEXT_SKETCHES 4 /* distinct alert texts kept per candidate for the text rule */

/* text rule: MinHash sketches of up to TEXT_SKETCHES distinct member texts (check and summary),
 * each with the member it came from. Apart from the slot, which every tick walks: kept small. */
struct slot_text {
    struct ad_minhash sk[TEXT_SKETCHES];
    uint32_t sk_member[TEXT_SKETCHES];
    uint8_t n_sk;
};

struct slot {
    bool used;           /* first, with the candidate's scan fields: every tick walks the slots */
    bool dirty;          /* changed since the last emitted version */
    struct ad_candidate c;
    uint64_t svc_key;    /* key in by_service while this slot is the service's live candidate */
    uint32_t next_free;
    struct slot_text *tx; /* text rule only (allocated on first use): see struct slot_text */
    /* priority: hashes of the distinct member services, the first SVC_MAX (enough for any
     * impact_services), kept as members join so that no event compares strings for it */
    uint32_t svc_h[16];
    uint8_t n_svc;
};
#define SVC_MAX 16

enum rule { RULE_TOPOLOGY = 0, RULE_GROUP_BY, RULE_TEXT, RULE_COOCCUR, RULE_COUNT };
static const char *const rule_names[RULE_COUNT] = {"topology", "group_by", "text", "cooccurrence"};

/* One group_by field: an event field, or a label (name owned). */
enum gfield_kind { GF_LABEL = 0, GF_SERVICE, GF_RESOURCE, GF_CHECK, GF_SOURCE };
struct gfield {
    enum gfield_kind kind;
    char *name;
};

/* What the linking options turn into; built whole before it replaces the running one. */
struct rules {
    enum rule order[RULE_COUNT];
    size_t n;
    struct gfield *group;
    size_t n_group;
    struct ad_topology *topo; /* NULL: no topology_file */
    uint32_t depth;
    int prio[3][3]; /* [impact][urgency], 1..5 */
};

#define TOPO_MAX_VISIT 512 /* CIs looked at per new alert, whatever the depth */
#define CAUSE_MAX_INCIDENTS 32 /* recent incidents kept per cause (for the problem's list) */

/* A cause signature (root CI + check) and its recent resolved incidents, oldest first. */
struct cause {
    uint64_t sig;      /* 0: free */
    char *ci, *check, *service;
    struct ad_cand_incident *inc; /* owned, cap_inc of them (most causes recur never) */
    uint32_t n_inc, cap_inc, total;
    uint32_t version;  /* of its problem candidate; 0: none raised yet */
    int64_t last_ns;
};

struct ad_svcwin {
    struct ad_svcwin_cfg cfg;   /* scalars only: the string options live in rules */
    struct rules rules;
    struct ad_u64map by_ci;     /* hash(member CI) -> slot of the candidate it last joined */
    struct cause *causes;       /* problems: one per cause signature, max_problems at most */
    uint32_t n_causes, cap_causes;
    struct ad_u64map by_sig;
    struct ad_u64map by_band;   /* text rule: MinHash band key -> slot that last registered it */
    bool active[RULE_COUNT];    /* the rules `link` lists */
    struct ad_cooccur *co;      /* kinds that fired together in resolved incidents */
    struct ad_u64map by_kind;   /* cooccurrence: hash(check) -> slot that last took that kind */
    struct slot *slots;
    uint32_t cap, n_used, free_head;
    struct ad_u64map by_service;     /* hash(service) -> slot */
    struct ad_u64map by_fp;          /* member fingerprint -> slot */
    /* topology_learn: how long after a failing dependency's alert new alerts on CIs that
     * depend on it arrived (the nearest such dependency within topology_window), in
     * DELAY_BINS bins of topology_window / DELAY_BINS, halved past DELAY_MAX_TOTAL. */
    uint32_t delay_hist[DELAY_BINS];
    uint32_t delay_total;
    int64_t delay_bin_ns;            /* the bin width the histogram was built with */
    int64_t learned_window_ns;       /* 0: not learned yet (topology_window applies) */
    struct ad_svcwin_stats st;
};

static const char *const NAME = "service_window";

static void note_resolved(struct ad_svcwin *s, const struct ad_candidate *c, int64_t now_ns,
                          const struct ad_cand_sink *sink);
static void rules_resolved(struct ad_svcwin *s, const struct ad_candidate *c);

static void rules_fini(struct rules *r)
{
    for (size_t i = 0; i < r->n_group; i++)
        free(r->group[i].name);
    free(r->group);
    ad_topology_free(r->topo);
    memset(r, 0, sizeof(*r));
}

static int rules_build(const struct ad_svcwin_cfg *cfg, struct rules *r, struct ad_err *reterr)
{
    static const char *const fields[] = {"", "service", "resource", "check", "source"};
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < cfg->link.n; i++) {
        int k = -1;
        for (int j = 0; j < RULE_COUNT; j++)
            if (strcmp(cfg->link.v[i], rule_names[j]) == 0)
                k = j;
        bool dup = false;
        for (size_t j = 0; k >= 0 && j < r->n; j++)
            dup = dup || r->order[j] == (enum rule)k;
        if (k < 0 || dup)
            return ad_err_set(reterr, EINVAL,
                              "correlators.service_window.link: %s '%s' (expected topology, "
                              "group_by, text and/or cooccurrence, each once)",
                              k < 0 ? "unknown rule" : "repeated rule", cfg->link.v[i]);
        r->order[r->n++] = (enum rule)k;
    }
    if (r->n == 0)
        return ad_err_set(reterr, EINVAL, "correlators.service_window.link: at least one rule");
    r->group = calloc(cfg->group_by.n ? cfg->group_by.n : 1, sizeof(*r->group));
    if (!r->group)
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    for (size_t i = 0; i < cfg->group_by.n; i++) {
        struct gfield *g = &r->group[r->n_group++];
        for (int j = 1; j < 5; j++)
            if (strcmp(cfg->group_by.v[i], fields[j]) == 0)
                g->kind = (enum gfield_kind)j;
        if (!(g->name = strdup(cfg->group_by.v[i]))) {
            rules_fini(r);
            return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
        }
    }
    r->depth = (uint32_t)cfg->topology_depth;
    static const int def_prio[9] = {1, 2, 3, 2, 3, 4, 3, 4, 5};
    if (cfg->priority_matrix.n != 0 && cfg->priority_matrix.n != 9) {
        rules_fini(r);
        return ad_err_set(reterr, EINVAL,
                          "correlators.service_window.priority_matrix: expected 9 priorities "
                          "(impact high, medium, low x urgency high, medium, low), got %zu",
                          cfg->priority_matrix.n);
    }
    for (int i = 0; i < 9; i++) {
        int p = def_prio[i];
        if (cfg->priority_matrix.n) {
            const char *v = cfg->priority_matrix.v[i];
            if ((v[0] == 'P' || v[0] == 'p') && v[1] >= '1' && v[1] <= '5' && v[2] == '\0') {
                p = v[1] - '0';
            } else {
                rules_fini(r);
                return ad_err_set(reterr, EINVAL,
                                  "correlators.service_window.priority_matrix: item %d: expected "
                                  "P1..P5, got \"%s\"",
                                  i + 1, v);
            }
        }
        r->prio[i / 3][i % 3] = p;
    }
    if (cfg->topology_file && cfg->topology_file[0]) {
        int rc = ad_topology_load(cfg->topology_file, &r->topo, reterr);
        if (rc < 0) {
            char msg[sizeof(reterr->msg)];
            snprintf(msg, sizeof(msg), "%s", reterr ? reterr->msg : "");
            rules_fini(r);
            return ad_err_set(reterr, -rc, "correlators.service_window.topology_file: %s", msg);
        }
    }
    return 0;
}

int ad_svcwin_create(const struct ad_svcwin_cfg *cfg, struct ad_svcwin **ret, struct ad_err *reterr)
{
    struct ad_svcwin *s = calloc(1, sizeof(*s));
    if (!s)
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    s->cfg = *cfg;
    s->cfg.link = s->cfg.group_by = (struct ad_strlist){0};
    s->cfg.topology_file = NULL;
    s->free_head = NIL;
    if (ad_u64map_init(&s->by_service, 256) < 0 || ad_u64map_init(&s->by_fp, 1024) < 0 ||
        ad_u64map_init(&s->by_ci, 1024) < 0 || ad_u64map_init(&s->by_sig, 64) < 0 ||
        ad_u64map_init(&s->by_band, 256) < 0 || ad_u64map_init(&s->by_kind, 256) < 0 ||
        ad_cooccur_create((uint32_t)cfg->cooccur_max_kinds, &s->co) < 0) {
        ad_svcwin_destroy(s);
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    }
    int r = rules_build(cfg, &s->rules, reterr);
    if (r < 0) {
        ad_svcwin_destroy(s);
        return r;
    }
    s->st.topology_nodes = ad_topology_nodes(s->rules.topo);
    s->st.topology_edges = ad_topology_edges(s->rules.topo);
    for (size_t i = 0; i < s->rules.n; i++)
        s->active[s->rules.order[i]] = true;
    *ret = s;
    return 0;
}

void ad_svcwin_destroy(struct ad_svcwin *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            ad_candidate_fini(&s->slots[i].c);
    for (uint32_t i = 0; i < s->cap; i++)
        free(s->slots[i].tx);
    free(s->slots);
    ad_u64map_fini(&s->by_service);
    ad_u64map_fini(&s->by_fp);
    ad_u64map_fini(&s->by_ci);
    for (uint32_t i = 0; i < s->n_causes; i++) {
        free(s->causes[i].inc);
        free(s->causes[i].ci);
        free(s->causes[i].check);
        free(s->causes[i].service);
    }
    free(s->causes);
    ad_u64map_fini(&s->by_sig);
    ad_u64map_fini(&s->by_band);
    ad_u64map_fini(&s->by_kind);
    ad_cooccur_destroy(s->co);
    rules_fini(&s->rules);
    free(s);
}

static struct ad_str label_value(const struct ad_event *ev, const char *name)
{
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (ad_str_eq_c(ev->labels[i].name, name))
            return ev->labels[i].value;
    return AD_STR_NULL;
}

static struct ad_str group_value(const struct gfield *g, const struct ad_event *ev)
{
    switch (g->kind) {
    case GF_SERVICE:
        return ev->service;
    case GF_RESOURCE:
        return ev->resource;
    case GF_CHECK:
        return ev->check;
    case GF_SOURCE:
        return ev->source;
    default:
        return label_value(ev, g->name);
    }
}

/* The key of the alert's group: its group_by values (a missing label counts as empty). The
 * default, group_by [service], gives the same keys as the backbone's per-service grouping. */
static uint64_t group_key(const struct ad_svcwin *s, const struct ad_event *ev)
{
    uint64_t h = 0x5e41ce;
    for (size_t i = 0; i < s->rules.n_group; i++) {
        struct ad_str v = group_value(&s->rules.group[i], ev);
        h = i == 0 ? ad_hash_field(h, v) : ad_hash_field(h ^ 0x9f, v);
    }
    return ad_u64map_key(h);
}

/* "same service 'checkout' within 600s", or "same cluster='eu-1', check='DiskFull' ...". */
static void group_reason(const struct ad_svcwin *s, const struct ad_event *ev, char *buf, size_t n)
{
    size_t off = 0;
    const struct rules *r = &s->rules;
    if (r->n_group == 1 && r->group[0].kind == GF_SERVICE) {
        off = (size_t)snprintf(buf, n, "same service '%.*s'", (int)(ev->service.len > 200 ? 200 : ev->service.len),
                               ev->service.p);
    } else {
        off = (size_t)snprintf(buf, n, "same ");
        for (size_t i = 0; i < r->n_group && off < n; i++) {
            struct ad_str v = group_value(&r->group[i], ev);
            off += (size_t)snprintf(buf + off, n - off, "%s%s='%.*s'", i ? ", " : "",
                                    r->group[i].name, (int)(v.len > 100 ? 100 : v.len),
                                    v.p ? v.p : "");
        }
    }
    if (off < n)
        snprintf(buf + off, n - off, " within %llds", (long long)(s->cfg.window_ns / 1000000000));
}

static uint64_t ci_key(struct ad_str ci)
{
    return ad_u64map_key(ad_hash_field(0xc1c1, ci));
}

static uint64_t ci_key_c(const char *ci)
{
    return ci_key((struct ad_str){ci, strlen(ci)});
}

static char *dup_str(struct ad_str s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* --- ITIL priority: impact x urgency (docs/priority.md) --------------------------------------- */

enum level { LVL_HIGH = 0, LVL_MEDIUM, LVL_LOW };
#define PRIO_REASON_LEN 200
static const char *const level_names[] = {"high", "medium", "low"};

/* Urgency of a severity alone: major and critical need action now. */
static enum level urgency_of_severity(enum ad_severity sev)
{
    return sev >= AD_SEV_MAJOR ? LVL_HIGH : sev >= AD_SEV_WARNING ? LVL_MEDIUM : LVL_LOW;
}

/* Distinct services of the members, counted up to limit (small: the threshold is a handful). */
/* Notes a member's service among the candidate's distinct ones (see struct slot). */
static void note_service(struct slot *sl, const char *svc)
{
    if (!svc || sl->n_svc == SVC_MAX)
        return;
    uint32_t h = (uint32_t)ad_hash64(svc, strlen(svc), 0x5e7);
    for (uint32_t i = 0; i < sl->n_svc; i++)
        if (sl->svc_h[i] == h)
            return;
    sl->svc_h[sl->n_svc++] = h;
}

/* Distinct services of the members (up to SVC_MAX), from the slot that holds c. */
static uint32_t count_services(const struct ad_candidate *c)
{
    const char *p = (const char *)c - offsetof(struct slot, c);
    return ((const struct slot *)(const void *)p)->n_svc;
}

/* Impact from the most critical CI involved and how many services are affected; urgency from
 * the highest firing severity and the rate new alerts join. Priority = matrix[impact][urgency],
 * and it never falls while the candidate lives: an incident is not downgraded because one of its
 * alerts cleared. Returns whether the priority changed. */
static bool recompute_priority(const struct ad_svcwin *s, struct ad_candidate *c, int64_t now_ns,
                               bool with_reason)
{
    /* Per event this runs on the candidate the event touched: the member loops are skipped
     * when they cannot matter (no topology: every CI has the default criticality; fewer
     * members than urgency_growth: it cannot be growing), and the reason is written only when
     * the candidate is emitted. */
    const struct ad_topology *t = s->rules.topo;
    int crit = -1;
    const char *crit_ci = NULL;
    for (uint32_t i = 0; t && i < c->n_members; i++) {
        uint32_t node = ad_topology_find(t, ad_str_c(c->members[i].resource));
        int k = node == AD_TOPO_NONE ? s->cfg.default_criticality
                                     : (int)ad_topology_criticality(t, node);
        if (k > crit) {
            crit = k;
            crit_ci = c->members[i].resource;
        }
    }
    if (crit < 0)
        crit = s->cfg.default_criticality;
    uint32_t services = count_services(c);
    int score = crit + (services >= s->cfg.impact_services ? 1 : 0);
    enum level impact = score >= 3 ? LVL_HIGH : score >= 1 ? LVL_MEDIUM : LVL_LOW;

    enum level urgency = urgency_of_severity(c->severity);
    /* Members are kept in the order they joined: urgency_growth of them joined within the
     * window when the urgency_growth-th newest did. */
    uint64_t g = s->cfg.urgency_growth;
    bool growing = c->n_members >= g &&
                   now_ns - c->members[c->n_members - g].first_seen_ns <= s->cfg.urgency_window_ns;
    if (growing && urgency > LVL_HIGH)
        urgency--;

    int prio = s->rules.prio[impact][urgency];
    c->impact = (uint8_t)impact;
    c->urgency = (uint8_t)urgency;
    /* Kept apart from the candidate (a pointer): every tick walks the candidates. */
    if (with_reason && (c->priority_reason || (c->priority_reason = malloc(PRIO_REASON_LEN))))
        snprintf(c->priority_reason, PRIO_REASON_LEN,
                 "impact %s: %s CI%s%.60s%s, %u service%s; urgency %s: %s severity%s",
                 level_names[impact], ad_criticality_name((enum ad_criticality)crit),
                 crit_ci ? " '" : "", crit_ci ? crit_ci : "", crit_ci ? "'" : "", services,
                 services == 1 ? "" : "s", level_names[urgency], ad_severity_name(c->severity),
                 growing ? ", growing" : "");
    if (c->priority != 0 && c->priority <= prio)
        return false;
    c->priority = prio;
    return true;
}

static void set_title(struct ad_candidate *c);

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

/* The probable root cause: the member CI that most other member CIs depend on (within
 * topology_depth: the failure that explains most of the candidate), then the lowest in the
 * dependency graph (a database under the applications that use it), then the earliest. A
 * cause that has recovered stays the cause. Without a topology, or when no member CI is in it:
 * the first alert. Also makes it the candidate's ci and title. */
static void set_root(const struct ad_svcwin *s, struct ad_candidate *c)
{
    uint32_t best = NIL, best_h = 0, best_x = 0;
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
        ad_topology_walk_deps(t, sorted[i], false, s->rules.depth, TOPO_MAX_VISIT, root_visit, &rw);
    for (uint32_t i = 0; t && i < n; i++) {
        if (nodes[i] == AD_TOPO_NONE)
            continue;
        const uint32_t *hit = bsearch(&nodes[i], sorted, ns, sizeof(uint32_t), cmp_u32);
        uint32_t x = hit ? explains[hit - sorted] : 0;
        uint32_t h = ad_topology_height(t, nodes[i]);
        if (best == NIL || x > best_x || (x == best_x && h < best_h) ||
            (x == best_x && h == best_h &&
             c->members[i].first_seen_ns < c->members[best].first_seen_ns)) {
            best = i;
            best_h = h;
            best_x = x;
        }
    }
    c->root_member = best == NIL ? 0 : best;
    c->root_reason = best == NIL ? NULL
                     : best_x > 0 ? "the CI most of the candidate's other CIs depend on"
                                  : "lowest in the dependency graph among the candidate's CIs";
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
    set_title(c);
}

static int emit(struct ad_svcwin *s, struct slot *sl, int64_t now_ns, const struct ad_cand_sink *sink)
{
    recompute_priority(s, &sl->c, now_ns, true); /* the reason as of now; it only ever rises */
    set_root(s, &sl->c);
    sl->c.version++;
    sl->c.updated_ns = now_ns;
    sl->dirty = false;
    if (sl->c.state != AD_CAND_OPEN || sl->c.version > 1)
        s->st.updates_emitted++;
    sl->c.max_listed = (uint32_t)s->cfg.max_listed;
    return sink->emit(sink->ctx, &sl->c);
}

/* A linking rule (docs/topology.md): how a new alert finds the live candidate to join, and what
 * the rule indexes as alerts join, candidates are forgotten and incidents resolve. A new rule is
 * one entry in link_rules[] (below the rules' functions) and its name in rule_names[]; the
 * config's `link` orders the active ones. */
struct link_rule {
    /* The live candidate for ev, or NIL; why gets the reason when the candidate has no link of
     * this rule yet (the first alert a rule joins gives it). */
    uint32_t (*match)(struct ad_svcwin *s, const struct ad_event *ev, char *why, size_t n);
    /* A member joined slot idx (index it); NULL when nothing is indexed. */
    void (*joined)(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev, uint32_t member);
    /* Slot idx is forgotten: drop what points at it. */
    void (*forgot)(struct ad_svcwin *s, uint32_t idx);
    /* An incident resolved (learn from it); NULL when nothing is learned. */
    void (*resolved)(struct ad_svcwin *s, const struct ad_candidate *c);
};
static const struct link_rule link_rules[RULE_COUNT];

static void forget(struct ad_svcwin *s, uint32_t idx)
{
    struct slot *sl = &s->slots[idx];
    uint32_t v;
    for (uint32_t i = 0; i < sl->c.n_members; i++)
        if (ad_u64map_get(&s->by_fp, sl->c.members[i].fingerprint, &v) && v == idx)
            ad_u64map_del(&s->by_fp, sl->c.members[i].fingerprint);
    /* Every rule's index, active or not: a rule switched off by a reload may still hold this
     * slot, which is about to be reused. */
    for (int r = 0; r < RULE_COUNT; r++)
        if (link_rules[r].forgot)
            link_rules[r].forgot(s, idx);
    ad_candidate_fini(&sl->c);
    sl->used = false;
    sl->dirty = false;
    sl->svc_key = 0;
    sl->next_free = s->free_head;
    s->free_head = idx;
    s->n_used--;
}

/* Evicts the candidate with the oldest last_seen (O(n) scan: only at the bound, which is rare and
 * counted). It is emitted first if it has unsent changes. */
static void evict_oldest(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink)
{
    uint32_t oldest = NIL;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used &&
            (oldest == NIL || s->slots[i].c.last_seen_ns < s->slots[oldest].c.last_seen_ns))
            oldest = i;
    if (oldest == NIL)
        return;
    if (s->slots[oldest].dirty) {
        s->slots[oldest].c.state = AD_CAND_UPDATED;
        emit(s, &s->slots[oldest], now_ns, sink);
    }
    forget(s, oldest);
    s->st.evicted++;
}

static int alloc_slot(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink,
                      uint32_t *ret)
{
    if (s->n_used >= s->cfg.max_open)
        evict_oldest(s, now_ns, sink);
    if (s->free_head == NIL) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        struct slot *slots = realloc(s->slots, (size_t)cap * sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        memset(slots + s->cap, 0, (size_t)(cap - s->cap) * sizeof(*slots));
        for (uint32_t i = cap; i-- > s->cap;) {
            slots[i].next_free = s->free_head;
            s->free_head = i;
        }
        s->slots = slots;
        s->cap = cap;
    }
    *ret = s->free_head;
    s->free_head = s->slots[*ret].next_free;
    s->n_used++;
    return 0;
}

static void set_title(struct ad_candidate *c)
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

/* Adds ev as a member; returns 0, or -ENOMEM. Past max_members the alert is only counted. */
/* --- text rule: MinHash of an alert's check and summary ------------------------------------ */

#define TEXT_MIN_TOKENS 2 /* fewer words say too little to compare */
#define TEXT_SAME 0.9     /* a text this close to one kept already adds no sketch */

static void alert_sketch(const struct ad_event *ev, struct ad_minhash *m)
{
    ad_minhash_init(m);
    ad_minhash_add_text(m, ev->check);
    ad_minhash_add_text(m, ev->summary);
}

/* Keeps the member's text sketch (when it differs from those kept) and registers its bands. */
static void text_register(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev,
                          uint32_t member)
{
    struct slot *sl = &s->slots[idx];
    struct ad_minhash m;
    alert_sketch(ev, &m);
    if (m.n_tokens < TEXT_MIN_TOKENS)
        return;
    if (!sl->tx && !(sl->tx = calloc(1, sizeof(*sl->tx)))) {
        s->st.oom++;
        return;
    }
    struct slot_text *tx = sl->tx;
    if (tx->n_sk == TEXT_SKETCHES)
        return;
    for (uint32_t k = 0; k < tx->n_sk; k++)
        if (ad_minhash_similarity(&tx->sk[k], &m) >= TEXT_SAME)
            return;
    tx->sk[tx->n_sk] = m;
    tx->sk_member[tx->n_sk++] = member;
    for (int b = 0; b < AD_MINHASH_BANDS; b++)
        if (ad_u64map_put(&s->by_band, ad_minhash_band(&m, b), idx) < 0)
            s->st.oom++; /* this band is not indexed: a lookup may miss it */
}

static bool live(const struct ad_svcwin *s, uint32_t idx, int64_t now_ns);

/* The live candidate holding a text most similar to the alert's (at least text_similarity),
 * found through the MinHash bands; NIL when none. */
static uint32_t text_match(const struct ad_svcwin *s, const struct ad_event *ev, char *why,
                           size_t n)
{
    struct ad_minhash m;
    alert_sketch(ev, &m);
    if (m.n_tokens < TEXT_MIN_TOKENS)
        return NIL;
    uint32_t best = NIL, best_k = 0;
    double best_sim = 0;
    for (int b = 0; b < AD_MINHASH_BANDS; b++) {
        uint32_t idx;
        if (!ad_u64map_get(&s->by_band, ad_minhash_band(&m, b), &idx) || !live(s, idx, ev->time_ns))
            continue;
        const struct slot_text *tx = s->slots[idx].tx;
        for (uint32_t k = 0; tx && k < tx->n_sk; k++) {
            double sim = ad_minhash_similarity(&tx->sk[k], &m);
            if (sim > best_sim) {
                best_sim = sim;
                best = idx;
                best_k = k;
            }
        }
    }
    if (best == NIL || best_sim < s->cfg.text_similarity)
        return NIL;
    const struct ad_candidate *c = &s->slots[best].c;
    uint32_t mi = s->slots[best].tx->sk_member[best_k];
    const struct ad_cand_member *other = mi < c->n_members ? &c->members[mi] : &c->members[0];
    snprintf(why, n, "text like '%.80s on %.80s' (similarity %.2f)", other->check, other->resource,
             best_sim);
    return best;
}

/* --- cooccurrence rule: kinds that fired together before ---------------------------------- */

/* The live candidate holding a kind that fired with the alert's kind in enough resolved
 * incidents (cooccur_min_support, cooccur_min_confidence), the most confident first. */
static uint32_t cooccur_match(const struct ad_svcwin *s, const struct ad_event *ev, char *why,
                              size_t n)
{
    struct ad_cooccur_link l[AD_COOCCUR_PARTNERS];
    size_t k = ad_cooccur_partners(s->co, ev->check, (uint32_t)s->cfg.cooccur_min_support,
                                   s->cfg.cooccur_min_confidence, l, AD_COOCCUR_PARTNERS);
    for (size_t i = 0; i < k; i++) {
        uint32_t idx;
        if (!ad_u64map_get(&s->by_kind, l[i].key, &idx) || !live(s, idx, ev->time_ns))
            continue;
        snprintf(why, n, "'%.*s' fired with '%.80s' in %u of %u incidents (confidence %.2f)",
                 (int)(ev->check.len > 80 ? 80 : ev->check.len), ev->check.p, l[i].name,
                 l[i].together, l[i].incidents, l[i].confidence);
        return idx;
    }
    return NIL;
}

/* A resolved incident teaches which kinds (checks) fired together. */
static void learn_kinds(struct ad_svcwin *s, const struct ad_candidate *c)
{
    struct ad_str kinds[AD_COOCCUR_MAX_LEARN];
    size_t n = 0;
    for (uint32_t i = 0; i < c->n_members && n < AD_COOCCUR_MAX_LEARN; i++) {
        struct ad_str k = ad_str_c(c->members[i].check);
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = ad_str_eq(kinds[j], k);
        if (!dup)
            kinds[n++] = k;
    }
    if (n >= 2)
        ad_cooccur_learn(s->co, kinds, n);
}

/* The log template an alert carries (models/templates), counted on the candidate. */
static void note_template(struct ad_candidate *c, const struct ad_event *ev)
{
    if (ev->template_id == 0)
        return;
    for (uint32_t i = 0; i < c->n_templates; i++)
        if (c->templates[i].id == ev->template_id) {
            c->templates[i].alerts++;
            return;
        }
    char *text = c->n_templates < AD_CAND_MAX_TEMPLATES ? dup_str(ev->template_text) : NULL;
    if (!text) {
        c->templates_omitted++;
        return;
    }
    c->templates[c->n_templates++] = (struct ad_cand_template){ev->template_id, text, 1};
}

static int add_member(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev)
{
    struct ad_candidate *c = &s->slots[idx].c;
    note_template(c, ev);
    c->alert_count++;
    c->alerts_firing++;
    if (c->n_members >= s->cfg.max_members) {
        c->members_omitted++;
        s->st.members_omitted++;
        return 0;
    }
    if (c->n_members == c->cap_members) {
        uint32_t cap = c->cap_members ? c->cap_members * 2 : 4;
        if (cap > s->cfg.max_members)
            cap = (uint32_t)s->cfg.max_members;
        struct ad_cand_member *m = realloc(c->members, (size_t)cap * sizeof(*m));
        if (!m)
            return -ENOMEM;
        c->members = m;
        c->cap_members = cap;
    }
    struct ad_cand_member *m = &c->members[c->n_members];
    memset(m, 0, sizeof(*m));
    m->resource = dup_str(ev->resource);
    m->check = dup_str(ev->check);
    m->service = dup_str(ev->service);
    if (!m->resource || !m->check || !m->service ||
        ad_u64map_put(&s->by_fp, ev->fingerprint, idx) < 0) {
        free(m->resource);
        free(m->check);
        free(m->service);
        return -ENOMEM;
    }
    m->fingerprint = ev->fingerprint;
    m->severity = ev->severity;
    m->status = AD_STATUS_FIRING;
    m->first_seen_ns = m->last_seen_ns = ev->time_ns;
    m->count = 1;
    c->n_members++;
    note_service(&s->slots[idx], m->service);
    for (size_t i = 0; i < s->rules.n; i++) {
        const struct link_rule *r = &link_rules[s->rules.order[i]];
        if (r->joined)
            r->joined(s, idx, ev, c->n_members - 1);
    }
    return 0;
}

static struct ad_cand_member *find_member(struct ad_candidate *c, uint64_t fp)
{
    for (uint32_t i = 0; i < c->n_members; i++)
        if (c->members[i].fingerprint == fp)
            return &c->members[i];
    return NULL;
}

static void touch(struct ad_candidate *c, const struct ad_event *ev)
{
    c->event_count++;
    if (ev->time_ns > c->last_seen_ns)
        c->last_seen_ns = ev->time_ns;
    if (ev->time_ns < c->first_seen_ns)
        c->first_seen_ns = ev->time_ns;
}

/* Highest severity among firing members (resolved members no longer weigh). */
static bool recompute_severity(const struct ad_svcwin *s, struct ad_candidate *c, int64_t now_ns)
{
    enum ad_severity sev = AD_SEV_INFO;
    bool any = false;
    for (uint32_t i = 0; i < c->n_members; i++)
        if (c->members[i].status == AD_STATUS_FIRING && c->members[i].severity >= sev) {
            sev = c->members[i].severity;
            any = true;
        }
    if (!any)
        sev = c->severity;
    c->severity = sev;
    return recompute_priority(s, c, now_ns, false);
}

static bool has_link(const struct ad_candidate *c, enum rule rule)
{
    for (uint32_t i = 0; i < c->n_links; i++)
        if (c->links[i].rule == rule_names[rule])
            return true;
    return false;
}

/* Counts an alert joined by rule; the first alert a rule joins gives its reason. */
static void add_link(struct ad_candidate *c, enum rule rule, const char *reason)
{
    for (uint32_t i = 0; i < c->n_links; i++)
        if (c->links[i].rule == rule_names[rule]) {
            c->links[i].alerts++;
            return;
        }
    if (c->n_links == AD_CAND_MAX_LINKS)
        return;
    struct ad_cand_link *l = &c->links[c->n_links];
    l->reason = strdup(reason);
    if (!l->reason)
        return; /* without its reason the link is not listed; the join itself stands */
    l->rule = rule_names[rule];
    l->alerts = 1;
    c->n_links++;
}

static bool live(const struct ad_svcwin *s, uint32_t idx, int64_t now_ns)
{
    return idx < s->cap && s->slots[idx].used &&
           now_ns - s->slots[idx].c.last_seen_ns <= s->cfg.window_ns;
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

/* The window a symptom may follow its cause within: the learned one when topology_learn has
 * enough delays, else topology_window. */
static int64_t down_window(const struct ad_svcwin *s)
{
    return s->cfg.topology_learn && s->learned_window_ns > 0 ? s->learned_window_ns
                                                              : s->cfg.topology_window_ns;
}

/* Learns one delay. The delays of alerts that are not caused by the dependency fall anywhere
 * in [0, topology_window] (a flat background); real symptoms gather where propagation and
 * alerting delays put them. The background level is the 5th smallest bin; the learned window
 * ends one bin after the last bin whose count is above it beyond Poisson chance (3 sigma). */
static void learn_delay(struct ad_svcwin *s, int64_t d)
{
    int64_t bin_ns = s->cfg.topology_window_ns / DELAY_BINS;
    if (bin_ns <= 0)
        return;
    if (bin_ns != s->delay_bin_ns) { /* topology_window changed: start again */
        memset(s->delay_hist, 0, sizeof(s->delay_hist));
        s->delay_total = 0;
        s->delay_bin_ns = bin_ns;
        s->learned_window_ns = 0;
    }
    int64_t b = d / bin_ns;
    s->delay_hist[b >= DELAY_BINS ? DELAY_BINS - 1 : b < 0 ? 0 : b]++;
    if (++s->delay_total > DELAY_MAX_TOTAL) {
        s->delay_total = 0;
        for (int i = 0; i < DELAY_BINS; i++)
            s->delay_total += s->delay_hist[i] /= 2;
    }
    if (s->delay_total < DELAY_MIN_TOTAL)
        return;
    uint32_t sorted[DELAY_BINS];
    memcpy(sorted, s->delay_hist, sizeof(sorted));
    for (int i = 1; i < DELAY_BINS; i++) /* insertion sort: 20 values */
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            uint32_t t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double bg = sorted[4], thr = bg + 3 * sqrt(bg) + 1;
    int last = -1;
    for (int i = 0; i < DELAY_BINS; i++)
        if (s->delay_hist[i] > thr)
            last = i;
    /* Nothing stands out: the delays look like chance, keep the configured window. */
    int64_t w = last < 0 ? s->cfg.topology_window_ns : (int64_t)(last + 2) * bin_ns;
    s->learned_window_ns = w > s->cfg.topology_window_ns ? s->cfg.topology_window_ns : w;
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
    return down && best >= 0 && best <= down_window(s);
}

/* How well a delay fits what symptoms here usually take: the learned histogram's count at it
 * (more is likelier); before anything is learned, a shorter delay is likelier. */
static double delay_fit(const struct ad_svcwin *s, int64_t delay)
{
    if (s->cfg.topology_learn && s->learned_window_ns > 0 && s->delay_bin_ns > 0) {
        int64_t b = delay / s->delay_bin_ns;
        return s->delay_hist[b >= DELAY_BINS ? DELAY_BINS - 1 : b];
    }
    return -(double)delay;
}

/* Down (dependencies): of the failing dependencies at the nearest distance, the one whose
 * alert time best explains the new alert's (delay_fit). Up (dependents): the first found. */
static bool topo_visit(void *ctx, uint32_t node, uint32_t hops, bool down)
{
    struct topo_probe *p = ctx;
    if (down && p->found != NIL && hops > p->hops)
        return true; /* nearest first: nothing nearer is left */
    uint32_t idx;
    int64_t delay = -1;
    const char *ci = ad_topology_name(p->s->rules.topo, node);
    if (!ad_u64map_get(&p->s->by_ci, ci_key_c(ci), &idx) || !live(p->s, idx, p->now_ns))
        return false;
    bool fits = fits_in_time(p->s, &p->s->slots[idx].c, ci, p->now_ns, down, &delay);
    if (down && delay >= 0 && p->first_delay_ns < 0)
        p->first_delay_ns = delay;
    if (!fits)
        return false;
    if (down && p->found != NIL && delay_fit(p->s, delay) <= delay_fit(p->s, p->delay_ns))
        return false;
    p->found = idx;
    p->hops = hops;
    p->node = node;
    p->down = down;
    p->delay_ns = delay;
    return !down;
}

/* The live candidate holding the alert's CI, else the nearest CI in the dependency graph (within
 * topology_depth hops) that a live candidate holds; NIL when none. */
static uint32_t topology_match(struct ad_svcwin *s, const struct ad_event *ev, char *why,
                               size_t n)
{
    const struct ad_topology *t = s->rules.topo;
    uint32_t node = ad_topology_find(t, ev->resource);
    if (node == AD_TOPO_NONE)
        return NIL;
    int cl = (int)(ev->resource.len > 120 ? 120 : ev->resource.len);
    uint32_t idx;
    /* First what the CI depends on (the alert is a symptom of a failure below): that explains
     * it better than another alert on the same CI, which may be unrelated (a CPU alert before
     * the database under it failed). Then the CI itself, then what depends on it (the alert is
     * the cause of failures above). Along dependency chains only, never sideways through a
     * shared dependency: a network switch or a storage array that everything uses must not
     * merge whatever fails near it. */
    struct topo_probe p = {s, ev->time_ns, NIL, 0, 0, false, -1, -1};
    ad_topology_walk_deps(t, node, false, s->rules.depth, TOPO_MAX_VISIT, topo_visit, &p);
    bool found = p.found != NIL;
    if (p.first_delay_ns >= 0) {
        if (!found)
            s->st.topology_late++;
        if (s->cfg.topology_learn)
            learn_delay(s, p.first_delay_ns);
    }
    if (!found && ad_u64map_get(&s->by_ci, ci_key(ev->resource), &idx) && live(s, idx, ev->time_ns)) {
        snprintf(why, n, "same CI '%.*s'", cl, ev->resource.p);
        return idx;
    }
    /* A symptom seen before its cause: only on a CI that depends on the alert's CI directly (a
     * monitoring delay between the two); further up, the failure would have had to pass CIs
     * that had not failed yet. */
    if (!found)
        found = ad_topology_walk_deps(t, node, true, 1, TOPO_MAX_VISIT, topo_visit, &p);
    if (!found)
        return NIL;
    const char *other = ad_topology_name(t, p.node);
    if (p.down)
        snprintf(why, n, "'%.*s' depends on '%.120s' (%u hop%s)", cl, ev->resource.p, other, p.hops,
                 p.hops == 1 ? "" : "s");
    else
        snprintf(why, n, "'%.120s' depends on '%.*s' (%u hop%s)", other, cl, ev->resource.p, p.hops,
                 p.hops == 1 ? "" : "s");
    return p.found;
}

static int open_candidate(struct ad_svcwin *s, const struct ad_event *ev,
                          const struct ad_cand_sink *sink)
{
    uint32_t idx;
    if (alloc_slot(s, ev->time_ns, sink, &idx) < 0) {
        s->st.oom++;
        return -ENOMEM;
    }
    struct slot *sl = &s->slots[idx];
    memset(sl, 0, sizeof(*sl));
    sl->used = true;
    struct ad_candidate *c = &sl->c;
    /* Deterministic id: the same event stream always yields the same ids (replay-safe). */
    uint64_t h = ad_hash_field(0x1cc1de47, ev->service);
    h = ad_hash64(&ev->fingerprint, sizeof(ev->fingerprint), h);
    h = ad_hash64(&ev->time_ns, sizeof(ev->time_ns), h);
    snprintf(c->id, sizeof(c->id), "inc-%016llx", (unsigned long long)h);
    c->state = AD_CAND_OPEN;
    c->service = dup_str(ev->service);
    c->ci = dup_str(ev->resource);
    c->correlator = NAME;
    c->first_seen_ns = c->last_seen_ns = ev->time_ns;
    c->severity = ev->severity;
    c->priority = 0; /* set by recompute_priority once the first member is in */
    char why[384];
    group_reason(s, ev, why, sizeof(why));
    c->reason = strdup(why);
    if (!c->service || !c->ci || !c->reason || add_member(s, idx, ev) < 0) {
        forget(s, idx);
        s->st.oom++;
        return -ENOMEM;
    }
    c->event_count = 1;
    recompute_priority(s, c, ev->time_ns, false);
    /* The opening alert counts for the first rule: the group when group_by is a rule. */
    bool grouped = false;
    for (size_t i = 0; i < s->rules.n; i++)
        grouped = grouped || s->rules.order[i] == RULE_GROUP_BY;
    if (!grouped) {
        snprintf(why, sizeof(why), "first alert on '%.*s'",
                 (int)(ev->resource.len > 200 ? 200 : ev->resource.len), ev->resource.p);
    }
    add_link(c, grouped ? RULE_GROUP_BY : RULE_TOPOLOGY, why);
    set_title(c);
    if (grouped) {
        sl->svc_key = group_key(s, ev);
        if (ad_u64map_put(&s->by_service, sl->svc_key, idx) < 0) {
            forget(s, idx);
            s->st.oom++;
            return -ENOMEM;
        }
    }
    s->st.opened++;
    return emit(s, sl, ev->time_ns, sink);
}

/* --- the rule table ------------------------------------------------------------------------ */

static uint32_t topology_rule_match(struct ad_svcwin *s, const struct ad_event *ev, char *why,
                                    size_t n)
{
    return s->rules.topo ? topology_match(s, ev, why, n) : NIL;
}

static void topology_joined(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev,
                            uint32_t member)
{
    (void)member;
    if (s->rules.topo && ad_u64map_put(&s->by_ci, ci_key(ev->resource), idx) < 0)
        s->st.oom++; /* this CI is not indexed: a later alert may not find it */
}

/* Drops the entries of a map that point at idx, for a key computed from each member. */
static void unindex_members(struct ad_svcwin *s, struct ad_u64map *m, uint32_t idx,
                            uint64_t (*key)(const struct ad_cand_member *))
{
    const struct ad_candidate *c = &s->slots[idx].c;
    uint32_t v;
    for (uint32_t i = 0; i < c->n_members; i++) {
        uint64_t k = key(&c->members[i]);
        if (ad_u64map_get(m, k, &v) && v == idx)
            ad_u64map_del(m, k);
    }
}

static uint64_t member_ci_key(const struct ad_cand_member *m) { return ci_key_c(m->resource); }

static uint64_t member_kind_key(const struct ad_cand_member *m)
{
    return ad_cooccur_key(ad_str_c(m->check));
}

static void topology_forgot(struct ad_svcwin *s, uint32_t idx)
{
    unindex_members(s, &s->by_ci, idx, member_ci_key);
}

static uint32_t group_match(struct ad_svcwin *s, const struct ad_event *ev, char *why, size_t n)
{
    uint32_t g;
    if (!ad_u64map_get(&s->by_service, group_key(s, ev), &g) || !live(s, g, ev->time_ns))
        return NIL;
    if (!has_link(&s->slots[g].c, RULE_GROUP_BY)) /* the reason only when it will be kept */
        group_reason(s, ev, why, n);
    return g;
}

static void group_forgot(struct ad_svcwin *s, uint32_t idx)
{
    struct slot *sl = &s->slots[idx];
    uint32_t v;
    if (sl->svc_key && ad_u64map_get(&s->by_service, sl->svc_key, &v) && v == idx)
        ad_u64map_del(&s->by_service, sl->svc_key);
}

static void text_joined(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev,
                        uint32_t member)
{
    text_register(s, idx, ev, member);
}

static void text_forgot(struct ad_svcwin *s, uint32_t idx)
{
    struct slot *sl = &s->slots[idx];
    uint32_t v;
    for (uint32_t k = 0; sl->tx && k < sl->tx->n_sk; k++)
        for (int b = 0; b < AD_MINHASH_BANDS; b++) {
            uint64_t bk = ad_minhash_band(&sl->tx->sk[k], b);
            if (ad_u64map_get(&s->by_band, bk, &v) && v == idx)
                ad_u64map_del(&s->by_band, bk);
        }
    free(sl->tx);
    sl->tx = NULL;
}

static uint32_t text_rule_match(struct ad_svcwin *s, const struct ad_event *ev, char *why, size_t n)
{
    return text_match(s, ev, why, n);
}

static uint32_t cooccur_rule_match(struct ad_svcwin *s, const struct ad_event *ev, char *why,
                                   size_t n)
{
    return cooccur_match(s, ev, why, n);
}

static void cooccur_joined(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev,
                           uint32_t member)
{
    (void)member;
    if (ad_u64map_put(&s->by_kind, ad_cooccur_key(ev->check), idx) < 0)
        s->st.oom++;
}

static void cooccur_forgot(struct ad_svcwin *s, uint32_t idx)
{
    unindex_members(s, &s->by_kind, idx, member_kind_key);
}

static const struct link_rule link_rules[RULE_COUNT] = {
    [RULE_TOPOLOGY] = {topology_rule_match, topology_joined, topology_forgot, NULL},
    [RULE_GROUP_BY] = {group_match, NULL, group_forgot, NULL},
    [RULE_TEXT] = {text_rule_match, text_joined, text_forgot, NULL},
    [RULE_COOCCUR] = {cooccur_rule_match, cooccur_joined, cooccur_forgot, learn_kinds},
};

/* The active rules learn from a resolved incident. */
static void rules_resolved(struct ad_svcwin *s, const struct ad_candidate *c)
{
    for (size_t i = 0; i < s->rules.n; i++) {
        const struct link_rule *r = &link_rules[s->rules.order[i]];
        if (r->resolved)
            r->resolved(s, c);
    }
}

static int on_new_alert(struct ad_svcwin *s, const struct ad_event *ev,
                        const struct ad_cand_sink *sink)
{
    if (ev->flags & AD_EVF_SILENCED) { /* models/silence: counted, but opens no incident */
        s->st.silenced++;
        return 0;
    }
    uint32_t idx = NIL;
    enum rule rule = RULE_GROUP_BY;
    char why[384] = "";
    for (size_t i = 0; i < s->rules.n && idx == NIL; i++) {
        rule = s->rules.order[i];
        idx = link_rules[rule].match(s, ev, why, sizeof(why));
    }
    if (idx == NIL)
        return open_candidate(s, ev, sink);

    struct slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    bool was_resolved = c->state == AD_CAND_RESOLVED;
    if (m) {
        /* The same alert fires again after its resolve. */
        if (m->status == AD_STATUS_RESOLVED)
            c->alerts_firing++;
        m->status = AD_STATUS_FIRING;
        m->flapping = false; /* settled */
        m->severity = ev->severity;
        m->last_seen_ns = ev->time_ns;
        m->count++;
    } else {
        uint32_t dummy;
        if (ad_u64map_get(&s->by_fp, ev->fingerprint, &dummy) && dummy != idx) {
            /* Still a member of an older candidate of this service: move its resolve routing. */
            ad_u64map_del(&s->by_fp, ev->fingerprint);
        }
        if (add_member(s, idx, ev) < 0) {
            s->st.oom++;
            return -ENOMEM;
        }
        add_link(c, rule, why);
        set_title(c);
        s->st.joined++;
        s->st.joined_by[rule]++;
    }
    touch(c, ev);
    bool prio_changed = recompute_severity(s, c, ev->time_ns);
    sl->dirty = true;
    if (was_resolved) {
        s->st.reopened++;
        c->state = AD_CAND_UPDATED;
        return emit(s, sl, ev->time_ns, sink);
    }
    c->state = AD_CAND_UPDATED;
    if (prio_changed || ev->time_ns - c->updated_ns >= s->cfg.update_interval_ns)
        return emit(s, sl, ev->time_ns, sink);
    return 0;
}

static int on_member_event(struct ad_svcwin *s, const struct ad_event *ev,
                           const struct ad_cand_sink *sink)
{
    uint32_t idx;
    if (!ad_u64map_get(&s->by_fp, ev->fingerprint, &idx)) {
        s->st.unknown_fingerprint++;
        return 0;
    }
    struct slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    if (!m)
        return 0;
    touch(c, ev);
    m->last_seen_ns = ev->time_ns > m->last_seen_ns ? ev->time_ns : m->last_seen_ns;
    m->count++;
    m->flapping = false; /* settled */
    if (ev->flags & AD_EVF_RESOLVED) {
        if (m->status == AD_STATUS_FIRING && c->alerts_firing > 0)
            c->alerts_firing--;
        m->status = AD_STATUS_RESOLVED;
    } else if (ev->flags & AD_EVF_ESCALATED) {
        m->severity = ev->severity;
    }
    bool prio_changed = recompute_severity(s, c, ev->time_ns);
    if (c->alerts_firing == 0 && c->members_omitted == 0 && c->state != AD_CAND_RESOLVED) {
        c->state = AD_CAND_RESOLVED;
        s->st.resolved++;
        c->resolved_because = "all alerts resolved";
        int r = emit(s, sl, ev->time_ns, sink);
        note_resolved(s, c, ev->time_ns, sink);
        rules_resolved(s, c);
        return r;
    }
    if (c->state == AD_CAND_RESOLVED)
        return 0;
    sl->dirty = true;
    c->state = AD_CAND_UPDATED;
    if (prio_changed || ev->time_ns - c->updated_ns >= s->cfg.update_interval_ns)
        return emit(s, sl, ev->time_ns, sink);
    return 0;
}

/* --- problems: recurring incidents of one cause (docs/problems.md) ---------------------------- */

static uint64_t cause_sig(const char *ci, const char *check)
{
    uint64_t h = ad_hash_field(0xca05e, ad_str_c(ci));
    return ad_u64map_key(ad_hash_field(h, ad_str_c(check)));
}

static void cause_free(struct cause *k)
{
    free(k->inc);
    free(k->ci);
    free(k->check);
    free(k->service);
    memset(k, 0, sizeof(*k));
}

/* The cause record of sig, created (the least recently active forgotten past max_problems);
 * NULL when out of memory. Records stay in a dense array, so indices move on removal. */
static struct cause *cause_get(struct ad_svcwin *s, uint64_t sig, const struct ad_cand_member *root,
                               int64_t now_ns)
{
    uint32_t i;
    if (ad_u64map_get(&s->by_sig, sig, &i))
        return &s->causes[i];
    if (s->n_causes >= s->cfg.max_problems && s->n_causes > 0) {
        /* The least recently seen of 64 records sampled at places the new signature decides:
         * bounded work at the bound, and the same choice in a replay or after a restore. */
        uint32_t old = (uint32_t)(sig % s->n_causes);
        for (uint32_t j = 1; j < 64 && j < s->n_causes; j++) {
            uint32_t k = (uint32_t)((sig + (uint64_t)j * 0x9E3779B1u) % s->n_causes);
            if (s->causes[k].last_ns < s->causes[old].last_ns)
                old = k;
        }
        ad_u64map_del(&s->by_sig, s->causes[old].sig);
        cause_free(&s->causes[old]);
        uint32_t last = --s->n_causes;
        if (old != last) {
            s->causes[old] = s->causes[last];
            ad_u64map_put(&s->by_sig, s->causes[old].sig, old); /* overwrite: no allocation */
        }
        memset(&s->causes[last], 0, sizeof(s->causes[last]));
        s->st.causes_forgotten++;
    }
    if (s->n_causes == s->cap_causes) {
        uint32_t cap = s->cap_causes ? s->cap_causes * 2 : 16;
        struct cause *v = realloc(s->causes, (size_t)cap * sizeof(*v));
        if (!v)
            return NULL;
        s->causes = v;
        s->cap_causes = cap;
    }
    struct cause *k = &s->causes[s->n_causes];
    memset(k, 0, sizeof(*k));
    k->sig = sig;
    k->ci = strdup(root->resource);
    k->check = strdup(root->check);
    k->service = strdup(root->service ? root->service : "");
    k->last_ns = now_ns;
    if (!k->ci || !k->check || !k->service || ad_u64map_put(&s->by_sig, sig, s->n_causes) < 0) {
        cause_free(k);
        return NULL;
    }
    return &s->causes[s->n_causes++];
}

/* Raises (version 1) or updates the problem candidate of a cause. */
static int emit_problem(struct ad_svcwin *s, struct cause *k, int64_t now_ns,
                        const struct ad_cand_sink *sink)
{
    struct ad_candidate p;
    char title[320], reason[256];
    memset(&p, 0, sizeof(p));
    p.type = AD_CAND_PROBLEM;
    snprintf(p.id, sizeof(p.id), "prb-%016llx", (unsigned long long)k->sig);
    p.version = ++k->version;
    p.state = p.version == 1 ? AD_CAND_OPEN : AD_CAND_UPDATED;
    p.priority = 5;
    for (uint32_t i = 0; i < k->n_inc; i++)
        if (k->inc[i].priority < p.priority)
            p.priority = k->inc[i].priority;
    snprintf(title, sizeof(title), "Recurring %.100s on %.100s: %u incidents within %llds",
             k->check, k->ci, k->n_inc, (long long)(s->cfg.problem_period_ns / AD_NS_PER_S));
    snprintf(reason, sizeof(reason),
             "%u incidents with root cause %.80s / %.80s within %llds (threshold %llu)", k->n_inc,
             k->ci, k->check, (long long)(s->cfg.problem_period_ns / AD_NS_PER_S),
             (unsigned long long)s->cfg.problem_threshold);
    p.title = title;
    p.reason = reason;
    p.service = k->service;
    p.ci = k->ci;
    p.cause_ci = k->ci;
    p.cause_check = k->check;
    p.incidents = k->inc;
    p.n_incidents = k->n_inc;
    p.incidents_total = k->total;
    p.period_ns = s->cfg.problem_period_ns;
    p.first_seen_ns = k->inc[0].first_seen_ns;
    p.last_seen_ns = k->inc[k->n_inc - 1].resolved_ns;
    p.updated_ns = now_ns;
    if (p.version == 1)
        s->st.problems_raised++;
    else
        s->st.problem_updates++;
    return sink->emit(sink->ctx, &p); /* p borrows everything: nothing to free */
}

/* A resolved incident counts for the cause of its root alert; problem_threshold of them within
 * problem_period raise (then update) that cause's problem candidate. A reopened incident that
 * resolves again is counted once. */
static void note_resolved(struct ad_svcwin *s, const struct ad_candidate *c, int64_t now_ns,
                          const struct ad_cand_sink *sink)
{
    if (s->cfg.problem_threshold == 0 || c->n_members == 0)
        return;
    const struct ad_cand_member *root = &c->members[c->root_member < c->n_members ? c->root_member : 0];
    struct cause *k = cause_get(s, cause_sig(root->resource, root->check), root, now_ns);
    if (!k) {
        s->st.oom++;
        return;
    }
    k->last_ns = now_ns;
    for (uint32_t i = 0; i < k->n_inc; i++)
        if (strcmp(k->inc[i].id, c->id) == 0)
            return;
    /* Forget incidents that fell out of the period, then make room. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < k->n_inc; i++)
        if (now_ns - k->inc[i].first_seen_ns <= s->cfg.problem_period_ns)
            k->inc[keep++] = k->inc[i];
    k->n_inc = keep;
    if (k->n_inc == CAUSE_MAX_INCIDENTS) {
        memmove(&k->inc[0], &k->inc[1], (CAUSE_MAX_INCIDENTS - 1) * sizeof(k->inc[0]));
        k->n_inc--;
    }
    if (k->n_inc == k->cap_inc) {
        uint32_t cap = k->cap_inc ? k->cap_inc * 2 : 2;
        struct ad_cand_incident *v = realloc(k->inc, (size_t)cap * sizeof(*v));
        if (!v) {
            s->st.oom++;
            return;
        }
        k->inc = v;
        k->cap_inc = cap;
    }
    struct ad_cand_incident *x = &k->inc[k->n_inc++];
    memset(x, 0, sizeof(*x));
    snprintf(x->id, sizeof(x->id), "%s", c->id);
    x->first_seen_ns = c->first_seen_ns;
    x->resolved_ns = now_ns;
    x->priority = c->priority;
    x->alert_count = c->alert_count;
    k->total++;
    if (k->n_inc >= s->cfg.problem_threshold)
        emit_problem(s, k, now_ns, sink);
}

/* A flapping alert that is a member already: its state is followed quietly (no candidate change
 * is emitted, the candidate is neither resolved nor reopened by it) until it settles. Returns
 * false when it is not a member (it is then handled like any alert). */
static bool on_flapping(struct ad_svcwin *s, const struct ad_event *ev)
{
    uint32_t idx;
    if (!ad_u64map_get(&s->by_fp, ev->fingerprint, &idx))
        return false;
    struct ad_candidate *c = &s->slots[idx].c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    if (!m)
        return false;
    if (ev->status == AD_STATUS_FIRING && m->status == AD_STATUS_RESOLVED)
        c->alerts_firing++;
    else if (ev->status == AD_STATUS_RESOLVED && m->status == AD_STATUS_FIRING &&
             c->alerts_firing > 0)
        c->alerts_firing--;
    m->status = ev->status;
    m->flapping = true;
    m->count++;
    if (ev->time_ns > m->last_seen_ns)
        m->last_seen_ns = ev->time_ns;
    touch(c, ev);
    s->st.flapping_quiet++;
    return true;
}

int ad_svcwin_correlate(struct ad_svcwin *s, const struct ad_event *ev, const struct ad_cand_sink *sink)
{
    if (ev->kind != AD_KIND_ALERT || ev->fingerprint == 0)
        return 0;
    if ((ev->flags & AD_EVF_FLAPPING) && on_flapping(s, ev))
        return 0;
    if ((ev->flags & AD_EVF_NEW) && ev->status == AD_STATUS_FIRING)
        return on_new_alert(s, ev, sink);
    if (ev->flags & (AD_EVF_RESOLVED | AD_EVF_ESCALATED | AD_EVF_REPEAT))
        return on_member_event(s, ev, sink);
    return 0;
}

void ad_svcwin_tick(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink)
{
    for (uint32_t i = 0; i < s->cap; i++) {
        struct slot *sl = &s->slots[i];
        if (!sl->used)
            continue;
        struct ad_candidate *c = &sl->c;
        /* Resolved by quiet: no event for resolve_after, or every alert resolved while some
         * flapped (their resolves were followed quietly) and nothing came for update_interval. */
        bool quiet_all_resolved = c->alerts_firing == 0 && c->members_omitted == 0 &&
                                  now_ns - c->last_seen_ns >= s->cfg.update_interval_ns;
        bool quiet = s->cfg.resolve_after_ns > 0 && now_ns - c->last_seen_ns > s->cfg.resolve_after_ns;
        if (c->state != AD_CAND_RESOLVED && (quiet_all_resolved || quiet)) {
            c->state = AD_CAND_RESOLVED;
            c->resolved_because = quiet_all_resolved ? "all alerts resolved" : "quiet";
            s->st.resolved++;
            s->st.resolved_quiet += !quiet_all_resolved;
            emit(s, sl, now_ns, sink);
            note_resolved(s, c, now_ns, sink);
            rules_resolved(s, c);
            continue;
        }
        if (sl->dirty && now_ns - sl->c.updated_ns >= s->cfg.update_interval_ns)
            emit(s, sl, now_ns, sink);
        if (sl->c.state == AD_CAND_RESOLVED && !sl->dirty &&
            now_ns - sl->c.last_seen_ns > s->cfg.retain_ns) {
            forget(s, i);
            s->st.forgotten++;
        }
    }
}

void ad_svcwin_flush(struct ad_svcwin *s, const struct ad_cand_sink *sink)
{
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used && s->slots[i].dirty)
            emit(s, &s->slots[i], s->slots[i].c.last_seen_ns, sink);
}

void ad_svcwin_get_stats(const struct ad_svcwin *s, struct ad_svcwin_stats *ret)
{
    *ret = s->st;
    ret->open = s->n_used;
    ret->causes_tracked = s->n_causes;
    ret->cooccur_kinds = ad_cooccur_kinds(s->co);
    ret->tracked_alerts = s->by_fp.n;
    ret->topology_window_learned_ns = down_window(s);
    size_t bytes = sizeof(*s) + (size_t)s->cap * sizeof(struct slot) +
                   ad_u64map_bytes(&s->by_service) + ad_u64map_bytes(&s->by_fp) +
                   ad_u64map_bytes(&s->by_ci);
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            bytes += (size_t)s->slots[i].c.cap_members * sizeof(struct ad_cand_member);
    ret->bytes = bytes;
}

/* --- snapshot ----------------------------------------------------------------------------- */

#define SVCWIN_SNAP_VERSION 8 /* 8: templates; 7: learned topology delays; 6: co-occurrence; 5: text sketches; 4: causes (problems);
                               * 3: member flapping; 2: member services, links, the CI index */
#define SNAP_MAX_SLOTS (1u << 26)
#define SNAP_MAX_STR (1u << 20)

static void save_map(struct ad_wr *w, const struct ad_u64map *m)
{
    ad_wr_u64(w, m->n);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            ad_wr_u64(w, m->slots[i].key);
            ad_wr_u32(w, m->slots[i].val);
        }
}

/* Slot layout, free list and both maps are saved as they are, so that a restored correlator
 * allocates, iterates and evicts exactly as the original would have. */
int ad_svcwin_save(const struct ad_svcwin *s, struct ad_wr *w)
{
    ad_wr_u32(w, SVCWIN_SNAP_VERSION);
    ad_wr_u32(w, s->cap);
    ad_wr_u32(w, s->n_used);
    uint32_t n_free = 0;
    for (uint32_t i = s->free_head; i != NIL && n_free < s->cap; i = s->slots[i].next_free)
        n_free++;
    ad_wr_u32(w, n_free);
    for (uint32_t i = s->free_head, k = 0; k < n_free; i = s->slots[i].next_free, k++)
        ad_wr_u32(w, i);
    for (uint32_t i = 0; i < s->cap; i++) {
        const struct slot *sl = &s->slots[i];
        if (!sl->used)
            continue;
        const struct ad_candidate *c = &sl->c;
        ad_wr_u32(w, i);
        ad_wr_u8(w, sl->dirty);
        ad_wr_u64(w, sl->svc_key);
        ad_wr_cstr(w, c->id);
        ad_wr_u8(w, (uint8_t)c->state);
        ad_wr_u32(w, c->version);
        ad_wr_u32(w, (uint32_t)c->priority);
        ad_wr_u8(w, (uint8_t)c->severity);
        ad_wr_cstr(w, c->service);
        ad_wr_cstr(w, c->ci);
        ad_wr_cstr(w, c->title);
        ad_wr_cstr(w, c->reason);
        ad_wr_u32(w, c->alert_count);
        ad_wr_u32(w, c->alerts_firing);
        ad_wr_u64(w, c->event_count);
        ad_wr_i64(w, c->first_seen_ns);
        ad_wr_i64(w, c->last_seen_ns);
        ad_wr_i64(w, c->updated_ns);
        ad_wr_u32(w, c->members_omitted);
        ad_wr_u32(w, c->n_members);
        for (uint32_t k = 0; k < c->n_members; k++) {
            const struct ad_cand_member *m = &c->members[k];
            ad_wr_u64(w, m->fingerprint);
            ad_wr_cstr(w, m->resource);
            ad_wr_cstr(w, m->check);
            ad_wr_u8(w, (uint8_t)m->severity);
            ad_wr_u8(w, (uint8_t)m->status);
            ad_wr_i64(w, m->first_seen_ns);
            ad_wr_i64(w, m->last_seen_ns);
            ad_wr_u32(w, m->count);
            ad_wr_cstr(w, m->service ? m->service : "");
            ad_wr_u8(w, m->flapping);
        }
        const struct slot_text *tx = sl->tx;
        ad_wr_u8(w, tx ? tx->n_sk : 0);
        for (uint32_t k = 0; tx && k < tx->n_sk; k++) {
            ad_wr_u32(w, tx->sk_member[k]);
            ad_wr_u32(w, tx->sk[k].n_tokens);
            for (int j = 0; j < AD_MINHASH_K; j++)
                ad_wr_u32(w, tx->sk[k].v[j]);
        }
        ad_wr_u32(w, c->n_links);
        for (uint32_t k = 0; k < c->n_links; k++) {
            uint8_t rule = RULE_GROUP_BY;
            for (int j = 0; j < RULE_COUNT; j++)
                if (c->links[k].rule == rule_names[j])
                    rule = (uint8_t)j;
            ad_wr_u8(w, rule);
            ad_wr_cstr(w, c->links[k].reason);
            ad_wr_u32(w, c->links[k].alerts);
        }
        ad_wr_u32(w, c->n_templates);
        ad_wr_u32(w, c->templates_omitted);
        for (uint32_t k = 0; k < c->n_templates; k++) {
            ad_wr_u64(w, c->templates[k].id);
            ad_wr_cstr(w, c->templates[k].text);
            ad_wr_u32(w, c->templates[k].alerts);
        }
    }
    save_map(w, &s->by_service);
    save_map(w, &s->by_fp);
    save_map(w, &s->by_ci);
    save_map(w, &s->by_band);
    save_map(w, &s->by_kind);
    ad_cooccur_save(s->co, w);
    ad_wr_u32(w, s->n_causes);
    for (uint32_t i = 0; i < s->n_causes; i++) {
        const struct cause *k = &s->causes[i];
        ad_wr_u64(w, k->sig);
        ad_wr_cstr(w, k->ci);
        ad_wr_cstr(w, k->check);
        ad_wr_cstr(w, k->service);
        ad_wr_u32(w, k->total);
        ad_wr_u32(w, k->version);
        ad_wr_i64(w, k->last_ns);
        ad_wr_u32(w, k->n_inc);
        for (uint32_t j = 0; j < k->n_inc; j++) {
            ad_wr_cstr(w, k->inc[j].id);
            ad_wr_i64(w, k->inc[j].first_seen_ns);
            ad_wr_i64(w, k->inc[j].resolved_ns);
            ad_wr_u32(w, (uint32_t)k->inc[j].priority);
            ad_wr_u32(w, k->inc[j].alert_count);
        }
    }
    for (int i = 0; i < DELAY_BINS; i++)
        ad_wr_u32(w, s->delay_hist[i]);
    ad_wr_u32(w, s->delay_total);
    ad_wr_i64(w, s->delay_bin_ns);
    ad_wr_i64(w, s->learned_window_ns);
    return w->err;
}

static int load_map(struct ad_svcwin *s, struct ad_rd *r, struct ad_u64map *m)
{
    uint64_t n = ad_rd_u64(r);
    if (r->bad || n > r->n / 12)
        return -EINVAL;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t key = ad_rd_u64(r);
        uint32_t val = ad_rd_u32(r);
        if (r->bad || key == 0 || val >= s->cap || !s->slots[val].used)
            return -EINVAL;
        if (ad_u64map_put(m, key, val) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int load_candidate(struct ad_rd *r, struct slot *sl, uint32_t version)
{
    struct ad_candidate *c = &sl->c;
    char *id = ad_rd_strdup(r, AD_CAND_ID_LEN);
    if (id)
        memcpy(c->id, id, strlen(id) + 1);
    free(id);
    c->state = (enum ad_cand_state)ad_rd_u8(r);
    c->version = ad_rd_u32(r);
    c->priority = (int)ad_rd_u32(r);
    c->severity = (enum ad_severity)ad_rd_u8(r);
    c->service = ad_rd_strdup(r, SNAP_MAX_STR);
    c->ci = ad_rd_strdup(r, SNAP_MAX_STR);
    c->title = ad_rd_strdup(r, SNAP_MAX_STR);
    c->reason = ad_rd_strdup(r, SNAP_MAX_STR);
    c->alert_count = ad_rd_u32(r);
    c->alerts_firing = ad_rd_u32(r);
    c->event_count = ad_rd_u64(r);
    c->first_seen_ns = ad_rd_i64(r);
    c->last_seen_ns = ad_rd_i64(r);
    c->updated_ns = ad_rd_i64(r);
    c->members_omitted = ad_rd_u32(r);
    uint32_t n = ad_rd_u32(r);
    c->correlator = NAME;
    if (r->bad || c->state > AD_CAND_RESOLVED || c->severity > AD_SEV_CRITICAL || n > r->n / 38)
        return -EINVAL;
    if (n) {
        c->members = calloc(n, sizeof(*c->members));
        if (!c->members)
            return -ENOMEM;
        c->cap_members = n;
    }
    for (uint32_t k = 0; k < n; k++) {
        struct ad_cand_member *m = &c->members[k];
        m->fingerprint = ad_rd_u64(r);
        m->resource = ad_rd_strdup(r, SNAP_MAX_STR);
        m->check = ad_rd_strdup(r, SNAP_MAX_STR);
        m->severity = (enum ad_severity)ad_rd_u8(r);
        m->status = (enum ad_status)ad_rd_u8(r);
        m->first_seen_ns = ad_rd_i64(r);
        m->last_seen_ns = ad_rd_i64(r);
        m->count = ad_rd_u32(r);
        if (version >= 2)
            m->service = ad_rd_strdup(r, SNAP_MAX_STR);
        if (version >= 3)
            m->flapping = ad_rd_u8(r) != 0;
        c->n_members = k + 1; /* owned strings are freed by ad_candidate_fini on failure */
        if (r->bad || m->severity > AD_SEV_CRITICAL || m->status > AD_STATUS_RESOLVED)
            return -EINVAL;
    }
    if (version >= 5) {
        uint8_t n_sk = ad_rd_u8(r);
        if (r->bad || n_sk > TEXT_SKETCHES)
            return -EINVAL;
        if (n_sk && !(sl->tx = calloc(1, sizeof(*sl->tx))))
            return -ENOMEM;
        for (uint32_t k = 0; k < n_sk; k++) {
            sl->tx->sk_member[k] = ad_rd_u32(r);
            sl->tx->sk[k].n_tokens = ad_rd_u32(r);
            for (int j = 0; j < AD_MINHASH_K; j++)
                sl->tx->sk[k].v[j] = ad_rd_u32(r);
            sl->tx->n_sk = (uint8_t)(k + 1);
        }
    }
    if (version < 2)
        return 0;
    uint32_t nl = ad_rd_u32(r);
    if (r->bad || nl > AD_CAND_MAX_LINKS)
        return -EINVAL;
    for (uint32_t k = 0; k < nl; k++) {
        uint8_t rule = ad_rd_u8(r);
        char *reason = ad_rd_strdup(r, SNAP_MAX_STR);
        uint32_t alerts = ad_rd_u32(r);
        if (r->bad || rule >= RULE_COUNT || !reason) {
            free(reason);
            return -EINVAL;
        }
        c->links[k] = (struct ad_cand_link){rule_names[rule], reason, alerts};
        c->n_links = k + 1;
    }
    if (version < 8)
        return 0;
    uint32_t nt = ad_rd_u32(r);
    c->templates_omitted = ad_rd_u32(r);
    if (r->bad || nt > AD_CAND_MAX_TEMPLATES)
        return -EINVAL;
    for (uint32_t k = 0; k < nt; k++) {
        uint64_t id = ad_rd_u64(r);
        char *text = ad_rd_strdup(r, SNAP_MAX_STR);
        uint32_t alerts = ad_rd_u32(r);
        if (r->bad || !text || id == 0) {
            free(text);
            return -EINVAL;
        }
        c->templates[k] = (struct ad_cand_template){id, text, alerts};
        c->n_templates = k + 1;
    }
    return 0;
}

static int load_causes(struct ad_svcwin *s, struct ad_rd *r)
{
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > s->cfg.max_problems || n > r->n / 32)
        return -EINVAL;
    if (n) {
        s->causes = calloc(n, sizeof(*s->causes));
        if (!s->causes)
            return -ENOMEM;
        s->cap_causes = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct cause *k = &s->causes[i];
        k->sig = ad_rd_u64(r);
        k->ci = ad_rd_strdup(r, SNAP_MAX_STR);
        k->check = ad_rd_strdup(r, SNAP_MAX_STR);
        k->service = ad_rd_strdup(r, SNAP_MAX_STR);
        k->total = ad_rd_u32(r);
        k->version = ad_rd_u32(r);
        k->last_ns = ad_rd_i64(r);
        uint32_t n_inc = ad_rd_u32(r);
        s->n_causes = i + 1; /* owned strings freed by destroy on failure */
        if (r->bad || k->sig == 0 || n_inc > CAUSE_MAX_INCIDENTS)
            return -EINVAL;
        if (n_inc && !(k->inc = calloc(n_inc, sizeof(*k->inc))))
            return -ENOMEM;
        k->n_inc = k->cap_inc = n_inc;
        for (uint32_t j = 0; j < k->n_inc; j++) {
            char *id = ad_rd_strdup(r, AD_CAND_ID_LEN);
            if (!id)
                return -EINVAL;
            snprintf(k->inc[j].id, sizeof(k->inc[j].id), "%s", id);
            free(id);
            k->inc[j].first_seen_ns = ad_rd_i64(r);
            k->inc[j].resolved_ns = ad_rd_i64(r);
            k->inc[j].priority = (int)ad_rd_u32(r);
            k->inc[j].alert_count = ad_rd_u32(r);
        }
        if (r->bad || ad_u64map_put(&s->by_sig, k->sig, i) < 0)
            return -EINVAL;
    }
    return 0;
}

/* The CI index rebuilt from the members (older snapshots, a new topology): in slot order, so a
 * CI in several candidates points to the last. */
static int index_cis(struct ad_svcwin *s)
{
    if (!s->rules.topo)
        return 0;
    for (uint32_t i = 0; i < s->cap; i++)
        for (uint32_t k = 0; s->slots[i].used && k < s->slots[i].c.n_members; k++)
            if (ad_u64map_put(&s->by_ci, ci_key_c(s->slots[i].c.members[k].resource), i) < 0)
                return -ENOMEM;
    return 0;
}

int ad_svcwin_load(struct ad_svcwin *s, struct ad_rd *r)
{
    uint32_t version = ad_rd_u32(r);
    if (s->cap != 0 || version < 1 || version > SVCWIN_SNAP_VERSION)
        return -EINVAL;
    uint32_t cap = ad_rd_u32(r), n_used = ad_rd_u32(r), n_free = ad_rd_u32(r);
    if (r->bad || cap > SNAP_MAX_SLOTS || n_used > cap || n_free > cap - n_used ||
        n_free > r->n / 4)
        return -EINVAL;
    if (cap) {
        s->slots = calloc(cap, sizeof(*s->slots));
        if (!s->slots)
            return -ENOMEM;
        s->cap = cap;
    }
    /* The free list in its saved order, then the used slots; each slot exactly once. */
    uint8_t *seen = calloc(cap ? cap : 1, 1);
    if (!seen)
        return -ENOMEM;
    int rc = 0;
    uint32_t *tail = &s->free_head;
    for (uint32_t k = 0; k < n_free && rc == 0; k++) {
        uint32_t i = ad_rd_u32(r);
        if (r->bad || i >= cap || seen[i]) {
            rc = -EINVAL;
            break;
        }
        seen[i] = 1;
        *tail = i;
        tail = &s->slots[i].next_free;
    }
    *tail = NIL;
    for (uint32_t k = 0; k < n_used && rc == 0; k++) {
        uint32_t i = ad_rd_u32(r);
        if (r->bad || i >= cap || seen[i]) {
            rc = -EINVAL;
            break;
        }
        seen[i] = 1;
        struct slot *sl = &s->slots[i];
        sl->used = true;
        s->n_used++;
        sl->dirty = ad_rd_u8(r) != 0;
        sl->svc_key = ad_rd_u64(r);
        rc = load_candidate(r, sl, version);
        for (uint32_t k = 0; rc == 0 && k < sl->c.n_members; k++)
            note_service(sl, sl->c.members[k].service);
    }
    free(seen);
    /* Slots in neither list would be lost for good: refuse such a snapshot. */
    if (rc == 0 && n_used + n_free != cap)
        rc = -EINVAL;
    if (rc < 0)
        return rc;
    rc = load_map(s, r, &s->by_service);
    if (rc == 0)
        rc = load_map(s, r, &s->by_fp);
    if (rc == 0 && version >= 2)
        rc = load_map(s, r, &s->by_ci);
    else if (rc == 0)
        rc = index_cis(s);
    if (rc == 0 && version >= 5)
        rc = load_map(s, r, &s->by_band);
    if (rc == 0 && version >= 6)
        rc = load_map(s, r, &s->by_kind);
    if (rc == 0 && version >= 6)
        rc = ad_cooccur_load(s->co, r);
    if (rc == 0 && version >= 4)
        rc = load_causes(s, r);
    if (rc == 0 && version >= 7) {
        for (int i = 0; i < DELAY_BINS; i++)
            s->delay_hist[i] = ad_rd_u32(r);
        s->delay_total = ad_rd_u32(r);
        s->delay_bin_ns = ad_rd_i64(r);
        s->learned_window_ns = ad_rd_i64(r);
        if (s->delay_bin_ns < 0 || s->learned_window_ns < 0)
            rc = -EINVAL;
    }
    return rc < 0 ? rc : r->bad ? -EINVAL : 0;
}

/* --- correlator ops ------------------------------------------------------------------- */

static const char *const crit_names[] = {"low", "medium", "high", "critical", NULL};

static const struct ad_opt svcwin_opts[] = {
    AD_OPT_DURATION("window", "10m", "1s", "1d", struct ad_svcwin_cfg, window_ns,
                    "A new alert joins its service's candidate if that candidate saw an alert "
                    "within this window; otherwise it opens a new candidate."),
    AD_OPT_DURATION("update_interval", "30s", "0s", "1h", struct ad_svcwin_cfg, update_interval_ns,
                    "Member joins and repeats are coalesced into at most one 'updated' entry per "
                    "candidate per interval; open, resolve and priority changes are immediate."),
    AD_OPT_DURATION("retain", "1h", "1s", "7d", struct ad_svcwin_cfg, retain_ns,
                    "A resolved candidate is kept (and can be reopened) this long after its last "
                    "alert, then forgotten."),
    AD_OPT_UINT("max_open", "10000", "10", "10000000", struct ad_svcwin_cfg, max_open,
                "Candidates held at once; past this the least recently active is evicted."),
    AD_OPT_UINT("max_members", "1000", "1", "1000000", struct ad_svcwin_cfg, max_members,
                "Alerts tracked per candidate; more are counted in alerts_omitted."),
    AD_OPT_UINT("max_listed", "32", "1", "1000000", struct ad_svcwin_cfg, max_listed,
                "Member alerts (and CIs) listed in a candidate's JSON; the rest are counted in "
                "alerts_omitted. Raise it for offline evaluation (aiopsctl replay)."),
    AD_OPT_STRLIST("link", "topology,group_by", struct ad_svcwin_cfg, link,
                   "Linking rules tried in this order for a new alert: topology (the dependency "
                   "graph of topology_file) and group_by; the first that finds a live candidate "
                   "wins, else the alert opens one."),
    AD_OPT_STRLIST("group_by", "service", struct ad_svcwin_cfg, group_by,
                   "Fields (service, resource, check, source) or label names whose equal values "
                   "put alerts in one candidate, like Alertmanager's group_by across sources."),
    AD_OPT_STRING("topology_file", "", "4096", struct ad_svcwin_cfg, topology_file,
                  "Configuration-item graph (docs/topology.md); re-read on SIGHUP. Empty: no "
                  "topology linking."),
    AD_OPT_UINT("topology_depth", "3", "1", "16", struct ad_svcwin_cfg, topology_depth,
                "Dependency hops walked from a new alert's CI to find a candidate to join."),
    AD_OPT_STRLIST("priority_matrix", "P1,P2,P3,P2,P3,P4,P3,P4,P5", struct ad_svcwin_cfg,
                   priority_matrix,
                   "ITIL priority by impact (rows: high, medium, low) and urgency (columns: high, "
                   "medium, low), 9 of P1..P5 row by row (docs/priority.md)."),
    AD_OPT_ENUM("default_criticality", "medium", crit_names, struct ad_svcwin_cfg,
                default_criticality, "Criticality of CIs not in the topology (or without one)."),
    AD_OPT_UINT("impact_services", "3", "1", "16", struct ad_svcwin_cfg, impact_services,
                "An incident affecting this many services or more has its impact raised a level."),
    AD_OPT_UINT("urgency_growth", "10", "1", "1000000", struct ad_svcwin_cfg, urgency_growth,
                "This many alerts joining within urgency_window raise the urgency a level (a "
                "growing incident)."),
    AD_OPT_DURATION("urgency_window", "5m", "1s", "1d", struct ad_svcwin_cfg, urgency_window_ns,
                    "The window of urgency_growth."),
    AD_OPT_DOUBLE("text_similarity", "0.6", "0.1", "1", struct ad_svcwin_cfg, text_similarity,
                  "Text rule: estimated token-set (Jaccard) similarity of check and summary, "
                  "numbers left out, at which an alert joins a candidate with such a text."),
    AD_OPT_UINT("cooccur_min_support", "3", "1", "1000000", struct ad_svcwin_cfg,
                cooccur_min_support,
                "Co-occurrence rule: resolved incidents in which two kinds (checks) fired "
                "together before they link."),
    AD_OPT_DOUBLE("cooccur_min_confidence", "0.8", "0.1", "1", struct ad_svcwin_cfg,
                  cooccur_min_confidence,
                  "Co-occurrence rule: share of the alert kind's incidents that also held the "
                  "other kind."),
    AD_OPT_UINT("cooccur_max_kinds", "10000", "16", "10000000", struct ad_svcwin_cfg,
                cooccur_max_kinds,
                "Alert kinds learned; past it the kind seen in the fewest incidents is dropped."),
    AD_OPT_UINT("problem_threshold", "3", "0", "1000", struct ad_svcwin_cfg, problem_threshold,
                "Incidents with the same cause (root CI and check) within problem_period that "
                "raise a problem candidate (docs/problems.md); 0: no problems."),
    AD_OPT_DURATION("problem_period", "24h", "1m", "90d", struct ad_svcwin_cfg, problem_period_ns,
                    "The window of problem_threshold."),
    AD_OPT_UINT("max_problems", "10000", "1", "10000000", struct ad_svcwin_cfg, max_problems,
                "Causes tracked for problems; past it the least recently seen is forgotten."),
    AD_OPT_DURATION("resolve_after", "0s", "0s", "30d", struct ad_svcwin_cfg, resolve_after_ns,
                    "Resolve a candidate that saw no event for this long, firing alerts or not "
                    "(for sources that never send resolves); 0s: only when all alerts resolved."),
    AD_OPT_DURATION("topology_window", "10m", "1s", "1d", struct ad_svcwin_cfg, topology_window_ns,
                    "How long after its cause's alert a symptom may fire and still join it along "
                    "a dependency. Alerting rules with a 'for:' delay fire minutes after the "
                    "cause, so keep it above the longest such delay (docs/topology.md)."),
    AD_OPT_BOOL("topology_learn", "true", struct ad_svcwin_cfg, topology_learn,
                "Learn how long after their cause symptoms arrive here (a histogram of the delays "
                "to failing dependencies) and join only delays seen more often than chance; "
                "topology_window stays the upper bound (docs/topology.md)."),
    AD_OPT_DURATION("topology_lag", "2m", "0s", "1h", struct ad_svcwin_cfg, topology_lag_ns,
                    "How much earlier than its cause a symptom may be seen: an alert joins a "
                    "candidate whose firing alerts on CIs that depend on it started at most this "
                    "long before (causes are usually seen first; monitoring intervals differ)."),
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_svcwin_create(cfg, (struct ad_svcwin **)ret, reterr);
}

/* Re-reads topology_file too (SIGHUP is how an operator says the graph changed). Nothing
 * changes when the new rules cannot be built. */
static int op_reconfigure(void *state, const void *cfgp, struct ad_err *reterr)
{
    struct ad_svcwin *s = state;
    const struct ad_svcwin_cfg *cfg = cfgp;
    struct rules next;
    int r = rules_build(cfg, &next, reterr);
    if (r < 0)
        return r;
    rules_fini(&s->rules);
    s->rules = next;
    s->cfg = *cfg;
    s->cfg.link = s->cfg.group_by = (struct ad_strlist){0};
    s->cfg.topology_file = NULL;
    s->st.topology_reloads++;
    memset(s->active, 0, sizeof(s->active));
    for (size_t i = 0; i < s->rules.n; i++)
        s->active[s->rules.order[i]] = true;
    s->st.topology_nodes = ad_topology_nodes(s->rules.topo);
    s->st.topology_edges = ad_topology_edges(s->rules.topo);
    return index_cis(s);
}

static int op_correlate(void *state, const struct ad_event *ev, const struct ad_cand_sink *sink)
{
    return ad_svcwin_correlate(state, ev, sink);
}

static void op_tick(void *state, int64_t now_ns, const struct ad_cand_sink *sink)
{
    ad_svcwin_tick(state, now_ns, sink);
}

static void op_flush(void *state, const struct ad_cand_sink *sink) { ad_svcwin_flush(state, sink); }

static void op_stats(const void *state, struct ad_metrics *m)
{
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(state, &st);
    ad_metrics_gauge(m, "aiopsd_candidates_open", "Incident candidates held now.", NULL,
                     (double)st.open);
    ad_metrics_gauge(m, "aiopsd_correlator_tracked_alerts", "Member alerts tracked for resolves.",
                     NULL, (double)st.tracked_alerts);
    ad_metrics_gauge(m, "aiopsd_correlator_bytes", "Memory held by the correlator.", NULL,
                     (double)st.bytes);
    const char *h = "Candidate lifecycle transitions.";
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"opened\"", st.opened);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"joined\"", st.joined);
    const char *jh = "Alerts joined to an existing candidate, by linking rule.";
    ad_metrics_counter(m, "aiopsd_candidate_joins_total", jh, "rule=\"topology\"", st.joined_by[0]);
    ad_metrics_counter(m, "aiopsd_candidate_joins_total", jh, "rule=\"group_by\"", st.joined_by[1]);
    ad_metrics_counter(m, "aiopsd_candidate_joins_total", jh, "rule=\"text\"", st.joined_by[2]);
    ad_metrics_counter(m, "aiopsd_candidate_joins_total", jh, "rule=\"cooccurrence\"",
                       st.joined_by[3]);
    ad_metrics_gauge(m, "aiopsd_cooccur_kinds", "Alert kinds with learned co-occurrences.", NULL,
                     (double)st.cooccur_kinds);
    ad_metrics_gauge(m, "aiopsd_topology_cis", "CIs in the loaded topology_file.", NULL,
                     (double)st.topology_nodes);
    ad_metrics_gauge(m, "aiopsd_topology_dependencies", "Dependencies in the loaded topology_file.",
                     NULL, (double)st.topology_edges);
    ad_metrics_gauge(m, "aiopsd_topology_window_seconds",
                     "How long after a failing dependency a symptom may join it: learned "
                     "(topology_learn) or topology_window.", NULL,
                     (double)st.topology_window_learned_ns / 1e9);
    ad_metrics_counter(m, "aiopsd_topology_late_total",
                       "Alerts whose failing dependency fired longer ago than the learned window "
                       "(not joined along the dependency).", NULL, st.topology_late);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"reopened\"", st.reopened);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"resolved\"", st.resolved);
    ad_metrics_counter(m, "aiopsd_candidate_updates_total", "Coalesced 'updated' entries emitted.",
                       NULL, st.updates_emitted);
    ad_metrics_counter(m, "aiopsd_problems_total", "Problem candidates: raised, and updated by a "
                       "further recurrence.", "transition=\"raised\"", st.problems_raised);
    ad_metrics_counter(m, "aiopsd_problems_total", "Problem candidates: raised, and updated by a "
                       "further recurrence.", "transition=\"updated\"", st.problem_updates);
    ad_metrics_gauge(m, "aiopsd_problem_causes", "Cause signatures tracked for problems.", NULL,
                     (double)st.causes_tracked);
    ad_metrics_counter(m, "aiopsd_problem_causes_forgotten_total",
                       "Causes forgotten because max_problems was reached.", NULL,
                       st.causes_forgotten);
    ad_metrics_counter(m, "aiopsd_candidates_resolved_quiet_total",
                       "Candidates resolved by resolve_after (no event for that long).", NULL,
                       st.resolved_quiet);
    ad_metrics_counter(m, "aiopsd_candidate_flapping_events_total",
                       "Events of flapping member alerts followed without updating the candidate.",
                       NULL, st.flapping_quiet);
    ad_metrics_counter(m, "aiopsd_candidates_evicted_total",
                       "Candidates evicted because max_open was reached.", NULL, st.evicted);
    ad_metrics_counter(m, "aiopsd_candidate_members_omitted_total",
                       "Alerts counted but not tracked (max_members).", NULL, st.members_omitted);
    ad_metrics_counter(m, "aiopsd_correlator_oom_total", "Events shed because memory ran out.",
                       NULL, st.oom);
    ad_metrics_counter(m, "aiopsd_alerts_silenced_total",
                       "New alerts that opened no incident because a silence matched.", NULL,
                       st.silenced);
}

static void op_destroy(void *state) { ad_svcwin_destroy(state); }

static int op_save(const void *state, struct ad_wr *w) { return ad_svcwin_save(state, w); }

static int op_load(void *state, struct ad_rd *r, struct ad_err *reterr)
{
    int rc = ad_svcwin_load(state, r);
    return rc < 0 ? ad_err_set(reterr, -rc, "correlators.service_window: %s",
                               rc == -ENOMEM ? "out of memory" : "corrupt snapshot")
                  : 0;
}

const struct ad_correlator_ops ad_correlator_service_window = {
    .name = "service_window",
    .doc = "Joins alerts into incident candidates by dependency topology and by group_by "
           "fields within a time window; names the probable root cause.",
    .opts = svcwin_opts,
    .cfg_size = sizeof(struct ad_svcwin_cfg),
    .create = op_create,
    .reconfigure = op_reconfigure,
    .correlate = op_correlate,
    .tick = op_tick,
    .flush = op_flush,
    .stats = op_stats,
    .destroy = op_destroy,
    .save = op_save,
    .load = op_load,
};
