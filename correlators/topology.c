/* correlators/topology.c: see topology.h. Nodes in file order; dependencies and dependents in
 * compressed (CSR) arrays, also in file order, so every walk is deterministic. */
#include "correlators/topology.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/hash.h"
#include "common/u64map.h"

struct node {
    char *name, *service;
    enum ad_criticality crit;
    uint32_t height;
    uint32_t dep_at, n_deps;   /* in deps[] */
    uint32_t rdep_at, n_rdeps; /* in rdeps[] */
};

struct edge {
    uint32_t from, to; /* from depends on to */
};

struct ad_topology {
    struct node *nodes;
    uint32_t n_nodes, cap_nodes;
    struct edge *edges;
    uint32_t n_edges, cap_edges;
    uint32_t *deps, *rdeps;
    struct ad_u64map by_name;
    /* Walk scratch (the graph is otherwise immutable): visit stamps and the BFS queue. */
    struct {
        uint32_t *stamp, gen;
        uint32_t *queue, *hops;
        uint8_t *down;
        uint32_t cap;
    } * w;
};

static const char *const crit_names[] = {"low", "medium", "high", "critical"};

const char *ad_criticality_name(enum ad_criticality c)
{
    return (unsigned)c < 4 ? crit_names[c] : "?";
}

static uint64_t name_key(struct ad_str s)
{
    return ad_u64map_key(ad_hash_field(0x70b0, s));
}

uint32_t ad_topology_find(const struct ad_topology *t, struct ad_str ci)
{
    uint32_t v;
    if (!t || !ad_u64map_get(&t->by_name, name_key(ci), &v))
        return AD_TOPO_NONE;
    /* A hash collision must not link unrelated CIs. */
    const char *n = t->nodes[v].name;
    return strlen(n) == ci.len && memcmp(n, ci.p, ci.len) == 0 ? v : AD_TOPO_NONE;
}

/* --- parsing ---------------------------------------------------------------------------------- */

struct parser {
    const char *name;
    struct ad_topology *t;
    struct ad_err *err;
    size_t line;
};

static int fail(struct parser *p, const char *line, const char *at, const char *fmt, const char *arg)
{
    char what[192];
    snprintf(what, sizeof(what), fmt, arg);
    return ad_err_set(p->err, EINVAL, "%s:%zu:%zu: %s", p->name, p->line,
                      (size_t)(at - line) + 1, what);
}

/* The next whitespace-separated token of [*s, end) ('#' starts a comment), or an empty slice. */
static struct ad_str token(const char **s, const char *end)
{
    const char *p = *s;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    if (p == end || *p == '#') {
        *s = end;
        return (struct ad_str){p, 0};
    }
    const char *q = p;
    while (q < end && *q != ' ' && *q != '\t' && *q != '\r' && *q != '#')
        q++;
    *s = q;
    return (struct ad_str){p, (size_t)(q - p)};
}

static char *dup_slice(struct ad_str s)
{
    char *d = malloc(s.len + 1);
    if (d) {
        memcpy(d, s.p, s.len);
        d[s.len] = '\0';
    }
    return d;
}

static int add_node(struct parser *p, const char *line, struct ad_str name, const char *end,
                    const char *rest)
{
    struct ad_topology *t = p->t;
    char q[80];
    snprintf(q, sizeof(q), "%.*s", (int)(name.len > 60 ? 60 : name.len), name.p);
    if (ad_topology_find(t, name) != AD_TOPO_NONE)
        return fail(p, line, name.p, "CI '%s' declared twice", q);
    if (t->n_nodes == AD_TOPO_MAX_NODES)
        return fail(p, line, name.p, "more than %s CIs", "1048576");
    if (t->n_nodes == t->cap_nodes) {
        uint32_t cap = t->cap_nodes ? t->cap_nodes * 2 : 64;
        struct node *n = realloc(t->nodes, cap * sizeof(*n));
        if (!n)
            return ad_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
        t->nodes = n;
        t->cap_nodes = cap;
    }
    struct node *n = &t->nodes[t->n_nodes];
    memset(n, 0, sizeof(*n));
    n->crit = AD_CRIT_MEDIUM;
    n->name = dup_slice(name);
    if (!n->name)
        return ad_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
    t->n_nodes++; /* owned from here: freed with the graph on any error below */
    for (struct ad_str kv = token(&rest, end); kv.len; kv = token(&rest, end)) {
        const char *eq = memchr(kv.p, '=', kv.len);
        struct ad_str k = {kv.p, eq ? (size_t)(eq - kv.p) : kv.len};
        struct ad_str v = {eq ? eq + 1 : kv.p + kv.len, eq ? kv.len - k.len - 1 : 0};
        if (!eq || v.len == 0) {
            snprintf(q, sizeof(q), "%.*s", (int)(kv.len > 60 ? 60 : kv.len), kv.p);
            return fail(p, line, kv.p, "expected key=value (service=..., criticality=...), got '%s'",
                        q);
        }
        if (ad_str_eq_c(k, "service")) {
            free(n->service);
            if (!(n->service = dup_slice(v)))
                return ad_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
        } else if (ad_str_eq_c(k, "criticality")) {
            int c = -1;
            for (int i = 0; i < 4; i++)
                if (ad_str_eq_c(v, crit_names[i]))
                    c = i;
            if (c < 0)
                return fail(p, line, v.p, "criticality: expected low, medium, high or critical%s",
                            "");
            n->crit = (enum ad_criticality)c;
        } else {
            snprintf(q, sizeof(q), "%.*s", (int)(k.len > 60 ? 60 : k.len), k.p);
            return fail(p, line, kv.p, "unknown key '%s' (expected service or criticality)", q);
        }
    }
    if (ad_u64map_put(&t->by_name, name_key(name), t->n_nodes - 1) < 0)
        return ad_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
    return 0;
}

static int add_edges(struct parser *p, const char *line, struct ad_str from, const char *rest,
                     const char *end)
{
    struct ad_topology *t = p->t;
    char q[80];
    uint32_t a = ad_topology_find(t, from);
    if (a == AD_TOPO_NONE) {
        snprintf(q, sizeof(q), "%.*s", (int)(from.len > 60 ? 60 : from.len), from.p);
        return fail(p, line, from.p, "unknown CI '%s' (declare it with a node line first)", q);
    }
    size_t n = 0;
    for (struct ad_str to = token(&rest, end); to.len; to = token(&rest, end), n++) {
        uint32_t b = ad_topology_find(t, to);
        snprintf(q, sizeof(q), "%.*s", (int)(to.len > 60 ? 60 : to.len), to.p);
        if (b == AD_TOPO_NONE)
            return fail(p, line, to.p, "unknown CI '%s' (declare it with a node line first)", q);
        if (b == a)
            return fail(p, line, to.p, "CI '%s' cannot depend on itself", q);
        if (t->n_edges == AD_TOPO_MAX_EDGES)
            return fail(p, line, to.p, "more than %s dependencies", "8388608");
        if (t->n_edges == t->cap_edges) {
            uint32_t cap = t->cap_edges ? t->cap_edges * 2 : 128;
            struct edge *e = realloc(t->edges, cap * sizeof(*e));
            if (!e)
                return ad_err_set(p->err, ENOMEM, "%s: out of memory", p->name);
            t->edges = e;
            t->cap_edges = cap;
        }
        t->edges[t->n_edges++] = (struct edge){a, b};
    }
    if (n == 0)
        return fail(p, line, rest, "expected at least one CI after '->'%s", "");
    return 0;
}

static int parse_line(struct parser *p, const char *line, const char *end)
{
    const char *s = line;
    struct ad_str first = token(&s, end);
    if (first.len == 0)
        return 0;
    struct ad_str second = token(&s, end);
    if (ad_str_eq_c(first, "node")) {
        if (second.len == 0)
            return fail(p, line, s, "expected a CI name after 'node'%s", "");
        return add_node(p, line, second, end, s);
    }
    if (ad_str_eq_c(second, "->"))
        return add_edges(p, line, first, s, end);
    return fail(p, line, second.len ? second.p : s,
                "expected 'node <ci> [service=...] [criticality=...]' or '<ci> -> <ci>...'%s", "");
}

/* CSR arrays of dependencies and dependents, each in file order. */
static int build_adjacency(struct ad_topology *t)
{
    t->deps = malloc((t->n_edges ? t->n_edges : 1) * sizeof(uint32_t));
    t->rdeps = malloc((t->n_edges ? t->n_edges : 1) * sizeof(uint32_t));
    if (!t->deps || !t->rdeps)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->n_edges; i++) {
        t->nodes[t->edges[i].from].n_deps++;
        t->nodes[t->edges[i].to].n_rdeps++;
    }
    uint32_t d = 0, r = 0;
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        t->nodes[i].dep_at = d;
        t->nodes[i].rdep_at = r;
        d += t->nodes[i].n_deps;
        r += t->nodes[i].n_rdeps;
        t->nodes[i].n_deps = t->nodes[i].n_rdeps = 0;
    }
    for (uint32_t i = 0; i < t->n_edges; i++) {
        struct node *a = &t->nodes[t->edges[i].from], *b = &t->nodes[t->edges[i].to];
        t->deps[a->dep_at + a->n_deps++] = t->edges[i].to;
        t->rdeps[b->rdep_at + b->n_rdeps++] = t->edges[i].from;
    }
    return 0;
}

/* Heights by an iterative depth-first walk (no recursion: graphs can be deep). A dependency
 * still on the stack (a cycle) counts as height 0 there. */
static int compute_heights(struct ad_topology *t)
{
    enum { WHITE = 0, GREY, BLACK };
    uint8_t *color = calloc(t->n_nodes ? t->n_nodes : 1, 1);
    uint32_t *stack = malloc((t->n_nodes ? t->n_nodes : 1) * sizeof(uint32_t));
    uint32_t *next = calloc(t->n_nodes ? t->n_nodes : 1, sizeof(uint32_t));
    if (!color || !stack || !next) {
        free(color);
        free(stack);
        free(next);
        return -ENOMEM;
    }
    for (uint32_t root = 0; root < t->n_nodes; root++) {
        if (color[root])
            continue;
        uint32_t sp = 0;
        stack[sp++] = root;
        color[root] = GREY;
        while (sp) {
            uint32_t v = stack[sp - 1];
            struct node *n = &t->nodes[v];
            if (next[v] < n->n_deps) {
                uint32_t u = t->deps[n->dep_at + next[v]++];
                if (color[u] == WHITE) {
                    color[u] = GREY;
                    stack[sp++] = u;
                }
                continue;
            }
            uint32_t h = 0;
            for (uint32_t k = 0; k < n->n_deps; k++) {
                uint32_t u = t->deps[n->dep_at + k];
                if (color[u] == BLACK && t->nodes[u].height + 1 > h)
                    h = t->nodes[u].height + 1;
            }
            n->height = h;
            color[v] = BLACK;
            sp--;
        }
    }
    free(color);
    free(stack);
    free(next);
    return 0;
}

int ad_topology_parse(const char *name, const char *text, size_t len, struct ad_topology **ret,
                      struct ad_err *reterr)
{
    struct ad_topology *t = calloc(1, sizeof(*t));
    if (!t || ad_u64map_init(&t->by_name, 64) < 0) {
        free(t);
        return ad_err_set(reterr, ENOMEM, "%s: out of memory", name);
    }
    struct parser p = {name, t, reterr, 0};
    int r = 0;
    for (const char *s = text, *end = text + len; s < end && r == 0;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        p.line++;
        if (memchr(s, '\0', (size_t)(eol - s)))
            r = fail(&p, s, memchr(s, '\0', (size_t)(eol - s)), "NUL byte%s", "");
        else
            r = parse_line(&p, s, eol);
        s = nl ? nl + 1 : end;
    }
    if (r == 0 && (build_adjacency(t) < 0 || compute_heights(t) < 0))
        r = ad_err_set(reterr, ENOMEM, "%s: out of memory", name);
    if (r == 0) {
        t->w = calloc(1, sizeof(*t->w));
        if (t->w) {
            t->w->stamp = calloc(t->n_nodes ? t->n_nodes : 1, sizeof(uint32_t));
            t->w->cap = 0;
        }
        if (!t->w || !t->w->stamp)
            r = ad_err_set(reterr, ENOMEM, "%s: out of memory", name);
    }
    if (r < 0) {
        ad_topology_free(t);
        return r;
    }
    free(t->edges); /* only needed to build the arrays */
    t->edges = NULL;
    *ret = t;
    return 0;
}

int ad_topology_load(const char *path, struct ad_topology **ret, struct ad_err *reterr)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return ad_err_set(reterr, errno, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int r = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > AD_TOPO_MAX_FILE + 1)
                cap = AD_TOPO_MAX_FILE + 1;
            char *b = realloc(buf, cap);
            if (!b) {
                r = ad_err_set(reterr, ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = b;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len > AD_TOPO_MAX_FILE) {
            r = ad_err_set(reterr, EFBIG, "%s: larger than %u bytes", path, AD_TOPO_MAX_FILE);
            break;
        }
        if (n == 0) {
            if (ferror(f))
                r = ad_err_set(reterr, EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (r == 0)
        r = ad_topology_parse(path, buf ? buf : "", len, ret, reterr);
    free(buf);
    return r;
}

void ad_topology_free(struct ad_topology *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        free(t->nodes[i].name);
        free(t->nodes[i].service);
    }
    free(t->nodes);
    free(t->edges);
    free(t->deps);
    free(t->rdeps);
    ad_u64map_fini(&t->by_name);
    if (t->w) {
        free(t->w->stamp);
        free(t->w->queue);
        free(t->w->hops);
        free(t->w->down);
        free(t->w);
    }
    free(t);
}

uint32_t ad_topology_nodes(const struct ad_topology *t) { return t ? t->n_nodes : 0; }

uint32_t ad_topology_edges(const struct ad_topology *t)
{
    uint32_t n = 0;
    for (uint32_t i = 0; t && i < t->n_nodes; i++)
        n += t->nodes[i].n_deps;
    return n;
}

const char *ad_topology_name(const struct ad_topology *t, uint32_t node)
{
    return t->nodes[node].name;
}

const char *ad_topology_service(const struct ad_topology *t, uint32_t node)
{
    return t->nodes[node].service ? t->nodes[node].service : "";
}

enum ad_criticality ad_topology_criticality(const struct ad_topology *t, uint32_t node)
{
    return t->nodes[node].crit;
}

uint32_t ad_topology_height(const struct ad_topology *t, uint32_t node)
{
    return t->nodes[node].height;
}

/* dirs: 1 dependencies, 2 dependents, 3 both. */
static bool walk(const struct ad_topology *t, uint32_t node, uint32_t depth, uint32_t max_visit,
                 int dirs, bool (*visit)(void *ctx, uint32_t node, uint32_t hops, bool down),
                 void *ctx)
{
    if (!t || node >= t->n_nodes || depth == 0 || max_visit == 0)
        return false;
    __typeof__(t->w) w = t->w;
    if (w->cap < max_visit + 1) {
        uint32_t *q = realloc(w->queue, (max_visit + 1) * sizeof(*q));
        if (q)
            w->queue = q;
        uint32_t *h = q ? realloc(w->hops, (max_visit + 1) * sizeof(*h)) : NULL;
        if (h)
            w->hops = h;
        uint8_t *d = h ? realloc(w->down, max_visit + 1) : NULL;
        if (d)
            w->down = d;
        if (!d)
            return false; /* out of memory: no link found, the alert opens its own candidate */
        w->cap = max_visit + 1;
    }
    if (++w->gen == 0) { /* stamps wrapped: start afresh */
        memset(w->stamp, 0, t->n_nodes * sizeof(uint32_t));
        w->gen = 1;
    }
    uint32_t head = 0, tail = 0, seen = 0;
    w->stamp[node] = w->gen;
    w->queue[tail] = node;
    w->hops[tail] = 0;
    w->down[tail++] = 1;
    while (head < tail) {
        uint32_t v = w->queue[head], h = w->hops[head];
        bool dn = w->down[head++];
        if (h == depth)
            continue;
        const struct node *n = &t->nodes[v];
        /* Dependencies first, then dependents: the cause is more often below. */
        for (int dir = 0; dir < 2; dir++) {
            if (!(dirs & (1 << dir)))
                continue;
            uint32_t cnt = dir == 0 ? n->n_deps : n->n_rdeps;
            const uint32_t *adj = dir == 0 ? t->deps + n->dep_at : t->rdeps + n->rdep_at;
            for (uint32_t k = 0; k < cnt; k++) {
                uint32_t u = adj[k];
                if (w->stamp[u] == w->gen)
                    continue;
                w->stamp[u] = w->gen;
                bool udown = dn && dir == 0;
                if (visit(ctx, u, h + 1, udown))
                    return true;
                if (++seen == max_visit)
                    return false;
                w->queue[tail] = u;
                w->hops[tail] = h + 1;
                w->down[tail++] = udown;
            }
        }
    }
    return false;
}

bool ad_topology_walk(const struct ad_topology *t, uint32_t node, uint32_t depth,
                      uint32_t max_visit,
                      bool (*visit)(void *ctx, uint32_t node, uint32_t hops, bool down), void *ctx)
{
    return walk(t, node, depth, max_visit, 3, visit, ctx);
}

bool ad_topology_walk_deps(const struct ad_topology *t, uint32_t node, bool dependents,
                           uint32_t depth, uint32_t max_visit,
                           bool (*visit)(void *ctx, uint32_t node, uint32_t hops, bool down),
                           void *ctx)
{
    return walk(t, node, depth, max_visit, dependents ? 2 : 1, visit, ctx);
}

struct dep_probe {
    uint32_t target;
};

static bool is_target_below(void *ctx, uint32_t node, uint32_t hops, bool down)
{
    (void)hops;
    return down && node == ((struct dep_probe *)ctx)->target;
}

bool ad_topology_depends(const struct ad_topology *t, uint32_t a, uint32_t b, uint32_t depth)
{
    struct dep_probe p = {b};
    return walk(t, a, depth, 4096, 1, is_target_below, &p); /* dependencies only */
}
