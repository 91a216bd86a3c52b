/* correlators/rule_learned.c: the learned rule (docs/topology.md, "learned"): dependencies
 * learned from the alerts themselves, ITIL's "the likelihood that failure Y occurs when failure
 * X occurs". Every new alert is an onset of its CI (one per CI and learn window); each onset of
 * y counts, for every onset of another CI x in the learn window before it (the last RING of
 * them), one "x then y", with the lag. A pair x -> y stands out from chance when, with N(x) and
 * N(y) the CIs' onsets over the span T seen and W the window, its count n exceeds the Poisson
 * expectation E = N(x) N(y) W / T by 3 sigma (n > E + 3 sqrt(E) + 1), reaches learn_min_support,
 * and its confidence n / N(x) reaches learn_min_confidence. As a linking rule, a new alert on y
 * joins the live candidate holding the x of such a pair that had an onset in the window before
 * (the most confident). The graph is learned whether the rule is in `link` or not, and written in
 * the topology file format (GET /api/v1/topology/learned, aiopsctl learn-topology). Learned
 * while the rule is in `link` (aiopsctl learn-topology: always); it costs a scan of RING
 * onsets per new alert, so the default link leaves it out. Bounded:
 * MAX_CIS CIs and MAX_PAIRS pairs; at either bound every count is halved and the zeros dropped
 * (old habits fade), deterministically; saved and restored with the correlator's snapshot, and
 * by the daemon in its own state file (ad_svcwin_learned_save/load: the graph, without the links
 * to live candidates). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/ser.h"
#include "correlators/engine.h"

#define RING 64          /* recent onsets a new onset is paired with */
#define MAX_CIS 16384    /* CIs with counted onsets */
#define MAX_PAIRS 65536  /* (x, y) pairs counted */
#define NAME_MAX_LEN 127

struct lci {
    uint64_t key;        /* 0: free */
    char name[NAME_MAX_LEN + 1];
    uint32_t onsets;
    int64_t last_ns;     /* last onset */
};
struct lpair {
    uint64_t x, y;       /* CI keys; x == 0: free */
    uint32_t n;
    uint64_t lag_ms;     /* sum of the lags */
};
struct onset {
    uint64_t key;
    int64_t t_ns;
};

struct learned_state {
    struct lci *cis;     /* open addressing by key, MAX_CIS */
    uint32_t n_cis;
    struct lpair *pairs; /* open addressing by (x, y), MAX_PAIRS */
    uint32_t n_pairs;
    struct onset ring[RING];
    uint32_t ring_head, ring_n;
    int64_t t_first, t_last;
    uint64_t halvings;
    struct ad_u64map by_ci; /* CI key -> slot of the candidate its last alert joined */
};

static uint64_t ci_key(struct ad_str s)
{
    return ad_u64map_key(ad_hash_field(0x1ea2, s));
}

static uint64_t pair_hash(uint64_t x, uint64_t y)
{
    return (x * 0x9E3779B97F4A7C15ull) ^ (y + 0x632BE59BD9B4E019ull + (x << 6) + (x >> 2));
}

static int learned_create(const struct ad_svcwin *s, void **ret)
{
    (void)s;
    struct learned_state *l = calloc(1, sizeof(*l));
    if (!l || ad_u64map_init(&l->by_ci, 256) < 0) {
        free(l);
        return -ENOMEM;
    }
    *ret = l;
    return 0;
}

/* The tables (4.5 MB) are allocated on the first onset: a correlator that never learns (the
 * rule not in link) does not pay for them. */
static bool tables(struct learned_state *l)
{
    if (!l->cis)
        l->cis = calloc(MAX_CIS, sizeof(*l->cis));
    if (!l->pairs)
        l->pairs = calloc(MAX_PAIRS, sizeof(*l->pairs));
    return l->cis && l->pairs;
}

static void learned_destroy(void *state)
{
    struct learned_state *l = state;
    if (!l)
        return;
    free(l->cis);
    free(l->pairs);
    ad_u64map_fini(&l->by_ci);
    free(l);
}

static struct lci *find_ci(const struct learned_state *l, uint64_t key)
{
    if (!l->cis)
        return NULL;
    for (uint32_t i = (uint32_t)key & (MAX_CIS - 1);; i = (i + 1) & (MAX_CIS - 1)) {
        if (l->cis[i].key == key)
            return &l->cis[i];
        if (!l->cis[i].key)
            return NULL;
    }
}

static struct lpair *find_pair(const struct learned_state *l, uint64_t x, uint64_t y)
{
    if (!l->pairs)
        return NULL;
    for (uint32_t i = (uint32_t)pair_hash(x, y) & (MAX_PAIRS - 1);; i = (i + 1) & (MAX_PAIRS - 1)) {
        if (l->pairs[i].x == x && l->pairs[i].y == y)
            return &l->pairs[i];
        if (!l->pairs[i].x)
            return NULL;
    }
}

/* Halves every count and rebuilds both tables without the zeros. */
static void halve(struct learned_state *l)
{
    struct lci *cis = l->cis;
    struct lpair *pairs = l->pairs;
    struct lci *nc = calloc(MAX_CIS, sizeof(*nc));
    struct lpair *np = calloc(MAX_PAIRS, sizeof(*np));
    if (!nc || !np) { /* keep learning nothing new rather than lose what is known */
        free(nc);
        free(np);
        return;
    }
    l->cis = nc;
    l->pairs = np;
    l->n_cis = l->n_pairs = 0;
    for (uint32_t i = 0; i < MAX_CIS; i++) {
        if (!cis[i].key || cis[i].onsets / 2 == 0)
            continue;
        uint32_t j = (uint32_t)cis[i].key & (MAX_CIS - 1);
        while (nc[j].key)
            j = (j + 1) & (MAX_CIS - 1);
        nc[j] = cis[i];
        nc[j].onsets /= 2;
        l->n_cis++;
    }
    for (uint32_t i = 0; i < MAX_PAIRS; i++) {
        if (!pairs[i].x || pairs[i].n / 2 == 0 || !find_ci(l, pairs[i].x) ||
            !find_ci(l, pairs[i].y))
            continue;
        uint32_t j = (uint32_t)pair_hash(pairs[i].x, pairs[i].y) & (MAX_PAIRS - 1);
        while (np[j].x)
            j = (j + 1) & (MAX_PAIRS - 1);
        np[j] = pairs[i];
        np[j].lag_ms = pairs[i].lag_ms / pairs[i].n * (pairs[i].n / 2);
        np[j].n /= 2;
        l->n_pairs++;
    }
    free(cis);
    free(pairs);
    l->halvings++;
}

static struct lci *add_ci(struct learned_state *l, uint64_t key, struct ad_str name)
{
    struct lci *c = find_ci(l, key);
    if (c)
        return c;
    if (l->n_cis >= MAX_CIS / 2)
        halve(l);
    if (l->n_cis >= MAX_CIS / 2)
        return NULL;
    uint32_t i = (uint32_t)key & (MAX_CIS - 1);
    while (l->cis[i].key)
        i = (i + 1) & (MAX_CIS - 1);
    c = &l->cis[i];
    c->key = key;
    size_t n = name.len > NAME_MAX_LEN ? NAME_MAX_LEN : name.len;
    memcpy(c->name, name.p, n);
    c->name[n] = '\0';
    c->onsets = 0;
    c->last_ns = INT64_MIN;
    l->n_cis++;
    return c;
}

static void count_pair(struct learned_state *l, uint64_t x, uint64_t y, uint64_t lag_ms)
{
    struct lpair *p = find_pair(l, x, y);
    if (!p) {
        if (l->n_pairs >= MAX_PAIRS / 2)
            return; /* halved at the next new CI, or at the next onset below */
        uint32_t i = (uint32_t)pair_hash(x, y) & (MAX_PAIRS - 1);
        while (l->pairs[i].x)
            i = (i + 1) & (MAX_PAIRS - 1);
        p = &l->pairs[i];
        *p = (struct lpair){x, y, 0, 0};
        l->n_pairs++;
    }
    p->n++;
    p->lag_ms += lag_ms;
}

static int64_t window_ns(const struct ad_svcwin *s)
{
    return s->cfg.topology_window_ns;
}

/* Whether x -> y stands out from chance; its confidence then. */
static bool significant(const struct ad_svcwin *s, const struct learned_state *l,
                        const struct lpair *p, double *ret_conf)
{
    const struct lci *x = find_ci(l, p->x), *y = find_ci(l, p->y);
    if (!x || !y || x->onsets == 0 || p->n < s->cfg.learn_min_support)
        return false;
    double span = (double)(l->t_last - l->t_first), w = (double)window_ns(s);
    if (span < w)
        span = w;
    double e = (double)x->onsets * (double)y->onsets * w / span;
    double conf = (double)p->n / x->onsets;
    *ret_conf = conf;
    return (double)p->n > e + 3 * sqrt(e) + 1 && conf >= s->cfg.learn_min_confidence;
}

/* Every new alert, whether the rule is active or not: one onset per CI and window. */
static void learned_seen(struct ad_svcwin *s, void *state, const struct ad_event *ev)
{
    struct learned_state *l = state;
    if (!ev->resource.len || !tables(l)) {
        s->st.oom += ev->resource.len > 0;
        return;
    }
    uint64_t key = ci_key(ev->resource);
    struct lci *y = add_ci(l, key, ev->resource);
    if (!y || (y->last_ns != INT64_MIN && ev->time_ns - y->last_ns < window_ns(s)))
        return;
    if (l->n_pairs >= MAX_PAIRS / 2)
        halve(l);
    if (!(y = find_ci(l, key)) && !(y = add_ci(l, key, ev->resource)))
        return;
    y->onsets++;
    y->last_ns = ev->time_ns;
    if (l->t_first == 0 || ev->time_ns < l->t_first)
        l->t_first = ev->time_ns;
    if (ev->time_ns > l->t_last)
        l->t_last = ev->time_ns;
    for (uint32_t k = 0; k < l->ring_n; k++) {
        const struct onset *o = &l->ring[(l->ring_head + RING - 1 - k) % RING];
        int64_t lag = ev->time_ns - o->t_ns;
        if (lag > window_ns(s))
            break;
        if (o->key != key && lag >= 0)
            count_pair(l, o->key, key, (uint64_t)(lag / 1000000));
    }
    l->ring[l->ring_head] = (struct onset){key, ev->time_ns};
    l->ring_head = (l->ring_head + 1) % RING;
    if (l->ring_n < RING)
        l->ring_n++;
}

static uint32_t learned_match(struct ad_svcwin *s, void *state, const struct ad_event *ev,
                              char *why, size_t n)
{
    struct learned_state *l = state;
    uint64_t key = ci_key(ev->resource);
    uint32_t best = AD_SW_NIL;
    double best_conf = 0;
    const struct lpair *bp = NULL;
    for (uint32_t k = 0; k < l->ring_n; k++) {
        const struct onset *o = &l->ring[(l->ring_head + RING - 1 - k) % RING];
        if (ev->time_ns - o->t_ns > window_ns(s))
            break;
        const struct lpair *p = o->key != key ? find_pair(l, o->key, key) : NULL;
        double conf;
        uint32_t idx;
        if (!p || !significant(s, l, p, &conf) || conf <= best_conf ||
            !ad_u64map_get(&l->by_ci, o->key, &idx) || !ad_sw_live(s, idx, ev->time_ns))
            continue;
        best = idx;
        best_conf = conf;
        bp = p;
    }
    if (bp) {
        const struct lci *x = find_ci(l, bp->x);
        snprintf(why, n, "'%.*s' followed '%s' in %u of its %u failures (confidence %.2f, lag %.0fs; "
                         "learned)",
                 (int)(ev->resource.len > 100 ? 100 : ev->resource.len), ev->resource.p,
                 x ? x->name : "?", bp->n, x ? x->onsets : 0, best_conf,
                 (double)bp->lag_ms / 1000 / bp->n);
    }
    return best;
}

static void learned_joined(struct ad_svcwin *s, void *state, uint32_t idx,
                           const struct ad_event *ev, uint32_t member)
{
    (void)member;
    struct learned_state *l = state;
    if (ad_u64map_put(&l->by_ci, ci_key(ev->resource), idx) < 0)
        s->st.oom++;
}

static uint64_t member_key(const struct ad_cand_member *m)
{
    return ci_key(ad_str_c(m->resource));
}

static void learned_forgot(struct ad_svcwin *s, void *state, uint32_t idx)
{
    struct learned_state *l = state;
    ad_sw_unindex_members(s, &l->by_ci, idx, member_key);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The significant pairs in the topology file format: node lines, then "y -> x" (y depends on
 * x: x failed first) with support, confidence and lag as comments, sorted by name. */
int ad_svcwin_learned_topology(const struct ad_svcwin *s, struct ad_buf *out)
{
    const struct learned_state *l = s->rstate[AD_SW_LEARNED];
    char **lines = NULL, **nodes = NULL;
    size_t n_lines = 0, n_nodes = 0, cap = 0, cap_nodes = 0;
    int rc = 0;
    for (uint32_t i = 0; l->pairs && i < MAX_PAIRS && rc == 0; i++) {
        const struct lpair *p = &l->pairs[i];
        double conf;
        if (!p->x || !significant(s, l, p, &conf))
            continue;
        const struct lci *x = find_ci(l, p->x), *y = find_ci(l, p->y);
        char buf[512];
        snprintf(buf, sizeof(buf), "%s -> %s   # support %u, confidence %.2f (%u of %u failures of %s), lag %.0fs\n",
                 y->name, x->name, p->n, conf, p->n, x->onsets, x->name,
                 (double)p->lag_ms / 1000 / p->n);
        if (n_lines == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(lines, cap * sizeof(*v));
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            lines = v;
        }
        if (!(lines[n_lines] = strdup(buf))) {
            rc = -ENOMEM;
            break;
        }
        n_lines++;
        const char *both[2] = {x->name, y->name};
        for (int k = 0; k < 2 && rc == 0; k++) {
            if (n_nodes + 1 >= cap_nodes) {
                cap_nodes = cap_nodes ? cap_nodes * 2 : 64;
                char **v = realloc(nodes, cap_nodes * sizeof(*v));
                if (!v) {
                    rc = -ENOMEM;
                    break;
                }
                nodes = v;
            }
            if (!(nodes[n_nodes] = strdup(both[k])))
                rc = -ENOMEM;
            else
                n_nodes++;
        }
    }
    if (rc == 0) {
        if (n_lines) /* (NULL when none) */
            qsort(lines, n_lines, sizeof(*lines), cmp_str);
        if (n_nodes)
            qsort(nodes, n_nodes, sizeof(*nodes), cmp_str);
        double span = l->t_last > l->t_first ? (double)(l->t_last - l->t_first) / 3600e9 : 0;
        if (!s->active[AD_SW_LEARNED] && !s->learn_all)
            ad_buf_puts(out, "# learning is off: add learned to correlators.service_window.link\n");
        ad_buf_printf(out,
                      "# aiopsd learned topology: %zu dependencies among %u CIs seen over %.1f h\n"
                      "# (x -> y: x fails after y, more often than chance, within %llds; support "
                      "and confidence = P(x fails | y failed))\n",
                      n_lines, l->n_cis, span, (long long)(window_ns(s) / 1000000000));
        for (size_t i = 0; i < n_nodes; i++)
            if (i == 0 || strcmp(nodes[i], nodes[i - 1]) != 0)
                ad_buf_printf(out, "node %s\n", nodes[i]);
        for (size_t i = 0; i < n_lines; i++)
            ad_buf_puts(out, lines[i]);
    }
    for (size_t i = 0; i < n_lines; i++)
        free(lines[i]);
    for (size_t i = 0; i < n_nodes; i++)
        free(nodes[i]);
    free(lines);
    free(nodes);
    return rc;
}

#define ROOT_MEMBERS 32 /* members weighed for the learned order (the first ones) */

/* The root cause by the learned order: of the candidate's first members, the one whose CI most
 * other members' CIs are learned to follow (significant x -> y with x its CI), then the
 * earliest. False when no member's CI is such an x. */
bool ad_sw_learned_root(const struct ad_svcwin *s, const struct ad_candidate *c,
                        uint32_t *ret_member)
{
    const struct learned_state *l = s->rstate[AD_SW_LEARNED];
    if (!l->pairs || c->n_members < 2)
        return false;
    uint32_t n = c->n_members < ROOT_MEMBERS ? c->n_members : ROOT_MEMBERS;
    uint64_t keys[ROOT_MEMBERS];
    for (uint32_t i = 0; i < n; i++)
        keys[i] = ci_key(ad_str_c(c->members[i].resource));
    uint32_t best = AD_SW_NIL, best_n = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t followers = 0;
        for (uint32_t j = 0; j < n; j++) {
            const struct lpair *p = keys[i] != keys[j] ? find_pair(l, keys[i], keys[j]) : NULL;
            double conf;
            followers += p && significant(s, l, p, &conf);
        }
        if (followers > best_n || (followers == best_n && followers > 0 &&
                                   c->members[i].first_seen_ns < c->members[best].first_seen_ns)) {
            best = i;
            best_n = followers;
        }
    }
    if (best == AD_SW_NIL)
        return false;
    *ret_member = best;
    return true;
}

static void learned_stats(const struct ad_svcwin *s, const void *state, struct ad_svcwin_stats *st)
{
    (void)s;
    const struct learned_state *l = state;
    st->learned_cis = l->n_cis;
    st->learned_pairs = l->n_pairs;
    st->bytes += (l->cis ? MAX_CIS * sizeof(struct lci) : 0) +
                 (l->pairs ? MAX_PAIRS * sizeof(struct lpair) : 0) + ad_u64map_bytes(&l->by_ci);
}

/* The graph (CIs, pair counts, recent onsets): the end of the rule's snapshot section and the
 * payload of the daemon's state file (after its version). */
static void graph_save(const struct learned_state *l, struct ad_wr *w)
{
    ad_wr_i64(w, l->t_first);
    ad_wr_i64(w, l->t_last);
    ad_wr_u64(w, l->halvings);
    ad_wr_u32(w, l->n_cis);
    for (uint32_t i = 0; l->cis && i < MAX_CIS; i++)
        if (l->cis[i].key) {
            ad_wr_u64(w, l->cis[i].key);
            ad_wr_cstr(w, l->cis[i].name);
            ad_wr_u32(w, l->cis[i].onsets);
            ad_wr_i64(w, l->cis[i].last_ns);
        }
    ad_wr_u32(w, l->n_pairs);
    for (uint32_t i = 0; l->pairs && i < MAX_PAIRS; i++)
        if (l->pairs[i].x) {
            ad_wr_u64(w, l->pairs[i].x);
            ad_wr_u64(w, l->pairs[i].y);
            ad_wr_u32(w, l->pairs[i].n);
            ad_wr_u64(w, l->pairs[i].lag_ms);
        }
    ad_wr_u32(w, l->ring_n);
    for (uint32_t k = 0; k < l->ring_n; k++) { /* oldest first */
        const struct onset *o = &l->ring[(l->ring_head + RING - l->ring_n + k) % RING];
        ad_wr_u64(w, o->key);
        ad_wr_i64(w, o->t_ns);
    }
}

/* Into an empty graph; why gets the reason of -EINVAL (a static string). */
static int graph_load(struct learned_state *l, struct ad_rd *r, const char **why)
{
    l->t_first = ad_rd_i64(r);
    l->t_last = ad_rd_i64(r);
    l->halvings = ad_rd_u64(r);
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > MAX_CIS / 2)
        return *why = r->bad ? "truncated before the CIs" : "more CIs than the bound", -EINVAL;
    if (n && !tables(l))
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t key = ad_rd_u64(r);
        char *name = ad_rd_strdup(r, NAME_MAX_LEN);
        uint32_t onsets = ad_rd_u32(r);
        int64_t last = ad_rd_i64(r);
        if (r->bad || !name || key == 0 || find_ci(l, key)) {
            free(name);
            return *why = "a bad or repeated CI", -EINVAL;
        }
        struct lci *c = add_ci(l, key, ad_str_c(name));
        free(name);
        if (!c)
            return *why = "more CIs than the bound", -EINVAL;
        c->onsets = onsets;
        c->last_ns = last;
    }
    n = ad_rd_u32(r);
    if (r->bad || n > MAX_PAIRS / 2)
        return *why = r->bad ? "truncated before the pairs" : "more pairs than the bound", -EINVAL;
    if (n && !tables(l))
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t x = ad_rd_u64(r), y = ad_rd_u64(r);
        uint32_t cnt = ad_rd_u32(r);
        uint64_t lag_ms = ad_rd_u64(r);
        if (r->bad || x == 0 || find_pair(l, x, y))
            return *why = "a bad or repeated pair", -EINVAL;
        count_pair(l, x, y, 0);
        struct lpair *p = find_pair(l, x, y);
        p->n = cnt;
        p->lag_ms = lag_ms;
    }
    n = ad_rd_u32(r);
    if (r->bad || n > RING)
        return *why = "a bad list of recent onsets", -EINVAL;
    for (uint32_t k = 0; k < n; k++) {
        l->ring[k].key = ad_rd_u64(r);
        l->ring[k].t_ns = ad_rd_i64(r);
    }
    l->ring_n = n;
    l->ring_head = n % RING;
    return r->bad ? (*why = "truncated in the recent onsets", -EINVAL) : 0;
}

static void learned_save(const struct ad_svcwin *s, const void *state, struct ad_wr *w)
{
    (void)s;
    const struct learned_state *l = state;
    ad_sw_save_map(w, &l->by_ci);
    graph_save(l, w);
}

static int learned_load(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version)
{
    struct learned_state *l = state;
    if (version < 9)
        return 0;
    int rc = ad_sw_load_map(s, r, &l->by_ci);
    const char *why;
    return rc < 0 ? rc : graph_load(l, r, &why);
}

#define STATE_VERSION 1u /* of the state file payload: version, then the graph */

int ad_svcwin_learned_save(const struct ad_svcwin *s, struct ad_buf *out)
{
    struct ad_wr w = {out, 0};
    ad_wr_u32(&w, STATE_VERSION);
    graph_save(s->rstate[AD_SW_LEARNED], &w);
    return w.err;
}

int ad_svcwin_learned_load(struct ad_svcwin *s, const void *data, size_t len, struct ad_err *reterr)
{
    struct learned_state *l = s->rstate[AD_SW_LEARNED];
    struct learned_state *tmp = calloc(1, sizeof(*tmp));
    if (!tmp)
        return ad_err_set(reterr, ENOMEM, "learned topology: out of memory");
    struct ad_rd r = ad_rd_make(data, len);
    uint32_t version = ad_rd_u32(&r);
    const char *why = NULL;
    int rc;
    if (r.bad || version != STATE_VERSION)
        rc = -EINVAL, why = r.bad ? "truncated" : "an unknown version of the learned state";
    else
        rc = graph_load(tmp, &r, &why);
    if (rc == 0 && r.n != 0)
        rc = -EINVAL, why = "trailing bytes after the learned state";
    if (rc < 0) {
        free(tmp->cis);
        free(tmp->pairs);
        free(tmp);
        return rc == -ENOMEM ? ad_err_set(reterr, ENOMEM, "learned topology: out of memory")
                             : ad_err_set(reterr, EINVAL, "learned topology: %s", why);
    }
    /* The graph replaces the running one; the links to live candidates stay. */
    free(l->cis);
    free(l->pairs);
    l->cis = tmp->cis;
    l->pairs = tmp->pairs;
    l->n_cis = tmp->n_cis;
    l->n_pairs = tmp->n_pairs;
    memcpy(l->ring, tmp->ring, sizeof(l->ring));
    l->ring_head = tmp->ring_head;
    l->ring_n = tmp->ring_n;
    l->t_first = tmp->t_first;
    l->t_last = tmp->t_last;
    l->halvings = tmp->halvings;
    free(tmp);
    return 0;
}

const struct ad_sw_rule ad_sw_rule_learned = {
    .name = "learned",
    .create = learned_create,
    .destroy = learned_destroy,
    .seen = learned_seen,
    .match = learned_match,
    .joined = learned_joined,
    .forgot = learned_forgot,
    .stats = learned_stats,
    .save = learned_save,
    .load = learned_load,
};
