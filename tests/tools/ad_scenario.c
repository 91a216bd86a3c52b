/* tests/tools/ad_scenario.c: deterministic alert-storm scenarios with known ground truth, for
 * evaluating the correlation engine (docs/evaluation.md, issue 5 "Replay and evaluation").
 *
 * A layered topology of configuration items (load balancers -> web -> app -> database / cache /
 * queue -> storage -> network), grouped into services; K injected root-cause failures, each
 * cascading to the CIs that (transitively) depend on the failing one; background noise;
 * flapping alerts; duplicates (repeats while firing). Same options and seed, same bytes.
 *
 *   --out-events FILE    events, JSON lines in aiopsd's schema (docs/events.md), sorted by time
 *   --out-truth FILE     one JSON line per event line, then one summary line per incident
 *   --out-topology FILE  "node <ci> service=<s> criticality=<c>" lines, then "<ci> -> <ci>..."
 * A file given as "-" is stdout; a file not given is not written. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- random ----------------------------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    /* xorshift64*: small, deterministic, good enough for test data */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}
static uint32_t rnd_n(uint32_t n) { return n ? rnd() % n : 0; }
static int64_t rnd_range(int64_t lo, int64_t hi) /* [lo, hi] */
{
    return lo + (int64_t)(((uint64_t)rnd() << 32 | rnd()) % (uint64_t)(hi - lo + 1));
}
static double rnd_p(void) { return rnd() / 4294967296.0; }

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        perror("ad_scenario: realloc");
        exit(1);
    }
    return p;
}
#define GROW(arr, n, cap)                                                                     \
    do {                                                                                       \
        if ((n) == (cap)) {                                                                    \
            (cap) = (cap) ? (cap) * 2 : 8;                                                     \
            (arr) = xrealloc((arr), (size_t)(cap) * sizeof(*(arr)));                           \
        }                                                                                      \
    } while (0)

/* --- model ------------------------------------------------------------------------------ */

enum kind { K_LB, K_WEB, K_APP, K_DB, K_CACHE, K_MQ, K_STOR, K_NET, K_DNS, N_KINDS };
static const char *const kind_prefix[N_KINDS] = {"lb", "web", "app", "db",
                                                 "cache", "mq", "stor", "net", "dns"};
static const char *const kind_layer[N_KINDS] = {"lb",    "web",   "app",     "database",
                                                "cache", "queue", "storage", "network", "dns"};
static const char *const kind_source[N_KINDS] = {"nagios",     "prometheus", "prometheus",
                                                 "prometheus", "prometheus", "prometheus",
                                                 "zabbix",     "snmp",       "prometheus"};
/* How often each layer is the root cause (per CI of the layer): low layers more often. DNS
 * servers exist in the storm profiles only. */
static const int kind_root_weight[N_KINDS] = {1, 1, 2, 4, 3, 3, 5, 5, 0};
/* Storm profiles (--profile): causes on databases, caches, storage, load balancers and DNS. */
static const int storm_root_weight[N_KINDS] = {1, 0, 0, 4, 3, 0, 4, 0, 6};
/* The port a CI serves on, as symptoms name it. */
static const int kind_port[N_KINDS] = {443, 443, 8080, 5432, 6379, 5672, 2049, 161, 53};

/* --profile: 0 the classic scenarios; 1 storm-a, 2 storm-b (see usage) */
static int profile;

enum check {
    C_HighLatency, C_ErrorRate, C_HTTP5xx, C_HealthCheckFailed, C_DBConnFail, C_CacheTimeout,
    C_QueuePublishFail, C_IOLatencyHigh, C_PacketLoss, C_InterfaceDown, C_DiskFull,
    C_VolumeReadOnly, C_DBDown, C_ReplicationLag, C_CacheDown, C_MemoryPressure, C_QueueBacklog,
    C_BrokerDown, C_PodCrashLoop, C_CPUSaturated, C_BackendDown, C_ConnLimitReached, C_NTPDrift,
    C_CertExpiring, C_SlowQueries, C_DNSDown, C_DNSResolveFail, N_CHECKS
};
static const char *const check_names[N_CHECKS] = {
    "HighLatency",   "ErrorRate",      "HTTP5xx",          "HealthCheckFailed", "DBConnFail",
    "CacheTimeout",  "QueuePublishFail", "IOLatencyHigh",  "PacketLoss",        "InterfaceDown",
    "DiskFull",      "VolumeReadOnly", "DBDown",           "ReplicationLag",    "CacheDown",
    "MemoryPressure", "QueueBacklog",  "BrokerDown",       "PodCrashLoop",      "CPUSaturated",
    "BackendDown",   "ConnLimitReached", "NTPDrift",       "CertExpiring",      "SlowQueries",
    "DNSServerDown", "DNSResolutionFailed"};

/* Root-cause checks per layer (what fails first), and noise checks (what fires alone). */
static const int root_checks[N_KINDS][4] = {
    [K_LB] = {C_ConnLimitReached, C_CPUSaturated, C_CertExpiring, -1},
    [K_WEB] = {C_CPUSaturated, C_MemoryPressure, C_HealthCheckFailed, -1},
    [K_APP] = {C_PodCrashLoop, C_MemoryPressure, C_CPUSaturated, -1},
    [K_DB] = {C_DBDown, C_ReplicationLag, C_SlowQueries, C_DiskFull},
    [K_CACHE] = {C_CacheDown, C_MemoryPressure, -1, -1},
    [K_MQ] = {C_BrokerDown, C_QueueBacklog, C_DiskFull, -1},
    [K_STOR] = {C_DiskFull, C_VolumeReadOnly, C_IOLatencyHigh, -1},
    [K_NET] = {C_InterfaceDown, C_PacketLoss, -1, -1},
    [K_DNS] = {C_DNSDown, -1, -1, -1},
};
static const int noise_checks[] = {C_CPUSaturated, C_MemoryPressure, C_DiskFull, C_HighLatency,
                                   C_NTPDrift,     C_CertExpiring,   C_ErrorRate, C_HealthCheckFailed};

/* The symptom a CI of kind d shows when its dependency of kind f fails. */
static int symptom_check(int d, int f)
{
    if (f == K_DNS)
        return C_DNSResolveFail;
    switch (d) {
    case K_LB: return C_BackendDown;
    case K_WEB: return rnd_n(2) ? C_HTTP5xx : C_ErrorRate;
    case K_APP:
        return f == K_DB ? C_DBConnFail : f == K_CACHE ? C_CacheTimeout
               : f == K_MQ ? C_QueuePublishFail : C_ErrorRate;
    default: return f == K_STOR ? C_IOLatencyHigh : C_PacketLoss;
    }
}
/* A second symptom some dependents also raise a little later. */
static int secondary_check(int d)
{
    switch (d) {
    case K_LB: case K_WEB: case K_APP: return C_HighLatency;
    case K_DB: return C_SlowQueries;
    case K_MQ: return C_QueueBacklog;
    default: return C_HealthCheckFailed;
    }
}

static const char *const service_bases[] = {
    "checkout", "payments", "search",   "catalog",  "auth",    "shipping", "inventory",
    "frontend", "billing",  "reviews",  "ads",      "mail",    "accounts", "orders",
    "pricing",  "cart",     "loyalty",  "fraud",    "reports", "media",    "notify",
    "profile",  "gateway",  "ledger"};
#define N_BASES (sizeof(service_bases) / sizeof(service_bases[0]))
static const char *const crit_names[] = {"low", "medium", "high", "critical"};
static const char *const sev_names[] = {"warning", "minor", "major", "critical"};

struct ci {
    char name[24];
    int kind, svc, crit;
    int *deps, n_deps, cap_deps;    /* this CI depends on these */
    int *rdeps, n_rdeps, cap_rdeps; /* these depend on this CI */
};
struct svc {
    char name[32];
    int crit;
};
struct alert {
    int ci, check, peer; /* peer: the failing dependency behind a cascade alert, or -1 */
    int incident;        /* 0-based, or -1 for noise and flapping */
    int64_t t_fire, t_end;
};
struct ev {
    int64_t t_ms;
    uint32_t alert, seq, r; /* r: random numbers for the summary */
    uint8_t sev, resolved;
};
struct incident {
    int root, check, alerts;
    int64_t t0;
};

static struct ci *cis;
static int n_cis;
static struct svc *svcs;
static int n_svcs, cap_svcs;
static struct alert *alerts;
static uint32_t n_alerts, cap_alerts;
static struct ev *evs;
static size_t n_evs, cap_evs;
static struct incident *incs;
static int n_incs, cap_incs;
static int by_kind_n[N_KINDS], *by_kind[N_KINDS];

/* Busy intervals per (CI, check): two instances of one alert never overlap (nor come within the
 * dedup window of each other), so (resource, check, time) names one alert instance exactly. */
struct busy {
    int64_t *iv;
    int n, cap;
};
static struct busy *busy;
#define BUSY_MARGIN_MS INT64_C(360000)

static bool reserve(int ci, int check, int64_t t0, int64_t t1)
{
    struct busy *b = &busy[(size_t)ci * N_CHECKS + (size_t)check];
    for (int i = 0; i < b->n; i += 2)
        if (t0 < b->iv[i + 1] + BUSY_MARGIN_MS && b->iv[i] < t1 + BUSY_MARGIN_MS)
            return false;
    GROW(b->iv, b->n, b->cap);
    b->iv[b->n++] = t0;
    GROW(b->iv, b->n, b->cap);
    b->iv[b->n++] = t1;
    return true;
}

static int add_svc(const char *name, int crit)
{
    GROW(svcs, n_svcs, cap_svcs);
    snprintf(svcs[n_svcs].name, sizeof(svcs[n_svcs].name), "%s", name);
    svcs[n_svcs].crit = crit;
    return n_svcs++;
}

static int add_ci(int kind, int svc, int crit)
{
    int i = n_cis++;
    struct ci *c = &cis[i];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->svc = svc;
    c->crit = crit;
    snprintf(c->name, sizeof(c->name), "%s-%d", kind_prefix[kind], by_kind_n[kind] + 1);
    by_kind[kind][by_kind_n[kind]++] = i;
    return i;
}

static void add_dep(int a, int b)
{
    struct ci *x = &cis[a];
    for (int i = 0; i < x->n_deps; i++)
        if (x->deps[i] == b)
            return;
    GROW(x->deps, x->n_deps, x->cap_deps);
    x->deps[x->n_deps++] = b;
    struct ci *y = &cis[b];
    GROW(y->rdeps, y->n_rdeps, y->cap_rdeps);
    y->rdeps[y->n_rdeps++] = a;
}

static int pick_crit(void)
{
    uint32_t r = rnd_n(10);
    return r < 2 ? 0 : r < 6 ? 1 : r < 9 ? 2 : 3;
}

/* Picks `want` distinct members of list[0..n) (all of them when fewer) and links a -> each. */
static void link_some(int a, const int *list, int n, int want)
{
    if (n <= 0)
        return;
    int start = (int)rnd_n((uint32_t)n);
    for (int i = 0; i < want && i < n; i++)
        add_dep(a, list[(start + i) % n]);
}

static void build_topology(int n)
{
    int n_alloc = n + n / 250 + 2; /* the DNS servers of the storm profiles */
    cis = xrealloc(NULL, (size_t)n_alloc * sizeof(*cis));
    for (int k = 0; k < N_KINDS; k++)
        by_kind[k] = xrealloc(NULL, (size_t)n_alloc * sizeof(int));
    int n_infra = n * 15 / 100;
    if (n_infra < 2)
        n_infra = 2;
    int n_app_cis = n - n_infra;
    /* Application services: lb, web, app, database, cache, queue CIs. */
    int round = 0;
    while (n_cis < n_app_cis) {
        char name[32];
        int b = n_svcs % (int)N_BASES;
        round = n_svcs / (int)N_BASES;
        if (round == 0)
            snprintf(name, sizeof(name), "%s", service_bases[b]);
        else
            snprintf(name, sizeof(name), "%s-%d", service_bases[b], round + 1);
        int crit = pick_crit();
        int s = add_svc(name, crit);
        int counts[N_KINDS] = {[K_LB] = 1,
                               [K_WEB] = 2 + (int)rnd_n(3),
                               [K_APP] = 2 + (int)rnd_n(4),
                               [K_DB] = 1 + (int)rnd_n(2),
                               [K_CACHE] = (int)rnd_n(3),
                               [K_MQ] = (int)rnd_n(2)};
        int first[N_KINDS], cnt[N_KINDS] = {0};
        for (int k = K_LB; k <= K_MQ; k++) {
            first[k] = n_cis;
            for (int j = 0; j < counts[k] && n_cis < n_app_cis; j++) {
                int c = crit;
                if ((k == K_DB || k == K_LB) && c < 3 && rnd_n(2))
                    c++;
                add_ci(k, s, c);
                cnt[k]++;
            }
        }
        /* Edges within the service: lb -> web, web -> app, app -> data. */
        int tmp[64];
        for (int k = K_LB; k <= K_APP; k++) {
            for (int j = 0; j < cnt[k]; j++) {
                int a = first[k] + j, m = 0;
                if (k == K_APP) {
                    for (int d = K_DB; d <= K_MQ; d++)
                        for (int q = 0; q < cnt[d] && m < 64; q++)
                            tmp[m++] = first[d] + q;
                } else {
                    for (int q = 0; q < cnt[k + 1] && m < 64; q++)
                        tmp[m++] = first[k + 1] + q;
                }
                link_some(a, tmp, m, k == K_LB ? 3 : k == K_WEB ? 1 + (int)rnd_n(2) : 1 + (int)rnd_n(2));
            }
        }
    }
    /* Shared data across services: some apps use another service's database or queue. */
    for (int i = 0; i < by_kind_n[K_APP]; i++) {
        int a = by_kind[K_APP][i];
        if (rnd_n(10) == 0 && by_kind_n[K_DB] > 0)
            add_dep(a, by_kind[K_DB][rnd_n((uint32_t)by_kind_n[K_DB])]);
        if (rnd_n(8) == 0 && by_kind_n[K_MQ] > 0)
            add_dep(a, by_kind[K_MQ][rnd_n((uint32_t)by_kind_n[K_MQ])]);
    }
    /* Infrastructure services: storage clusters and network segments of about 10 CIs each. */
    int n_net = n_infra / 3 > 0 ? n_infra / 3 : 1, n_stor = n_infra - n_net;
    int stor_svc = -1, net_svc = -1;
    for (int j = 0; j < n_net; j++) {
        if (j % 10 == 0) {
            char name[32];
            snprintf(name, sizeof(name), "network-%d", j / 10 + 1);
            net_svc = add_svc(name, 3);
        }
        add_ci(K_NET, net_svc, 2 + (int)rnd_n(2));
    }
    for (int j = 0; j < n_stor; j++) {
        if (j % 10 == 0) {
            char name[32];
            snprintf(name, sizeof(name), "storage-%d", j / 10 + 1);
            stor_svc = add_svc(name, 2 + (int)rnd_n(2));
        }
        int c = add_ci(K_STOR, stor_svc, 2 + (int)rnd_n(2));
        link_some(c, by_kind[K_NET], by_kind_n[K_NET], 1);
    }
    for (int k = K_DB; k <= K_MQ; k++)
        for (int i = 0; i < by_kind_n[k]; i++) {
            int c = by_kind[k][i];
            if (k != K_CACHE)
                link_some(c, by_kind[K_STOR], by_kind_n[K_STOR], 1);
            link_some(c, by_kind[K_NET], by_kind_n[K_NET], 1);
        }
    (void)round;
    if (!profile)
        return;
    /* Storm profiles: DNS servers (1 per 250 CIs, at least 2) that every app and queue uses. */
    int n_dns = n / 250 < 2 ? 2 : n / 250, dns_svc = add_svc("dns", 3);
    for (int j = 0; j < n_dns; j++)
        add_ci(K_DNS, dns_svc, 3);
    for (int k = K_APP; k <= K_MQ; k += K_MQ - K_APP)
        for (int i = 0; i < by_kind_n[k]; i++)
            link_some(by_kind[k][i], by_kind[K_DNS], by_kind_n[K_DNS], 1);
}

/* --- events ----------------------------------------------------------------------------- */

static void push_ev(int64_t t, uint32_t a, int sev, int resolved)
{
    GROW(evs, n_evs, cap_evs);
    evs[n_evs] = (struct ev){t, a, (uint32_t)n_evs, rnd(), (uint8_t)sev, (uint8_t)resolved};
    n_evs++;
}

static uint32_t add_alert(int ci, int check, int peer, int incident, int64_t t0, int64_t t1)
{
    GROW(alerts, n_alerts, cap_alerts);
    alerts[n_alerts] = (struct alert){ci, check, peer, incident, t0, t1};
    return n_alerts++;
}

static double dup_rate = 0.8;

/* The events of one alert instance: firing, repeats every 30-60 s while firing (duplicates, a
 * share dup_rate of alerts), maybe one severity escalation, and the resolve (when resolves). */
static void emit_alert(uint32_t a, int sev, bool resolves)
{
    const struct alert *al = &alerts[a];
    bool escalate = sev < 3 && rnd_n(10) < 3;
    int64_t t_esc = al->t_fire + (al->t_end - al->t_fire) / 3 +
                    rnd_range(0, (al->t_end - al->t_fire) / 3);
    push_ev(al->t_fire, a, sev, 0);
    if (rnd_p() < dup_rate) {
        for (int64_t t = al->t_fire + rnd_range(30000, 60000); t < al->t_end;
             t += rnd_range(30000, 60000)) {
            if (escalate && t >= t_esc) {
                sev++;
                escalate = false;
            }
            push_ev(t, a, sev, 0);
        }
    }
    if (escalate && t_esc > al->t_fire && t_esc < al->t_end)
        push_ev(t_esc, a, ++sev, 0);
    if (resolves)
        push_ev(al->t_end, a, sev, 1);
}

static int pick_root(void)
{
    const int *weight = profile ? storm_root_weight : kind_root_weight;
    int total = 0;
    for (int k = 0; k < N_KINDS; k++)
        total += weight[k] * by_kind_n[k];
    int r = (int)rnd_n((uint32_t)total);
    for (int k = 0; k < N_KINDS; k++) {
        int w = weight[k] * by_kind_n[k];
        if (r < w)
            return by_kind[k][r / weight[k]];
        r -= w;
    }
    return 0;
}

static int *visited, *queue_ci;
static int64_t *queue_t;
static double hop_p = 0.6;

/* One injected root-cause failure at time t0 and its cascade. Returns false if its root alert
 * could not be placed (that (CI, check) already busy then). */
static bool gen_incident(int64_t t0)
{
    int root = pick_root(), kind = cis[root].kind;
    int nrc = 0;
    while (nrc < 4 && root_checks[kind][nrc] >= 0)
        nrc++;
    int check = root_checks[kind][rnd_n((uint32_t)nrc)];
    /* Storm profiles: the failure lasts 20-30 minutes (the storms). */
    int64_t dur = profile ? rnd_range(20 * 60000, 30 * 60000) : rnd_range(5 * 60000, 30 * 60000);
    int64_t t_end = t0 + dur;
    if (!reserve(root, check, t0, t_end))
        return false;
    int k = n_incs;
    GROW(incs, n_incs, cap_incs);
    incs[n_incs++] = (struct incident){root, check, 0, t0};
    uint32_t a = add_alert(root, check, -1, k, t0, t_end);
    emit_alert(a, 2 + (int)rnd_n(2), true);
    incs[k].alerts++;
    /* Breadth-first over the CIs that depend on a failing one. */
    int head = 0, tail = 0;
    visited[root] = k + 1;
    queue_ci[tail] = root;
    queue_t[tail++] = t0;
    while (head < tail) {
        int p = queue_ci[head];
        int64_t tp = queue_t[head++];
        for (int i = 0; i < cis[p].n_rdeps; i++) {
            int d = cis[p].rdeps[i];
            if (visited[d] == k + 1)
                continue;
            visited[d] = k + 1;
            if (rnd_p() >= hop_p)
                continue;
            /* storm-b: slower propagation, and one symptom in ten seen before its cause (a
             * monitoring interval longer than the cause's) */
            int64_t td = profile == 2 ? tp + (rnd_n(10) == 0 ? -rnd_range(5000, 60000)
                                                             : rnd_range(10000, 240000))
                                      : tp + rnd_range(5000, 90000);
            if (td >= t_end - 30000)
                continue;
            int64_t te = t_end + rnd_range(5000, 120000);
            int sc = symptom_check(cis[d].kind, cis[p].kind);
            if (!reserve(d, sc, td, te))
                continue;
            a = add_alert(d, sc, p, k, td, te);
            emit_alert(a, (int)rnd_n(3), true);
            incs[k].alerts++;
            queue_ci[tail] = d;
            queue_t[tail++] = td;
            if (rnd_n(100) < 35) {
                int64_t t2 = td + rnd_range(10000, 60000);
                int c2 = secondary_check(cis[d].kind);
                if (t2 < te && c2 != sc && reserve(d, c2, t2, te)) {
                    a = add_alert(d, c2, p, k, t2, te);
                    emit_alert(a, (int)rnd_n(3), true);
                    incs[k].alerts++;
                }
            }
        }
    }
    return true;
}

static void gen_noise(int64_t t)
{
    int ci = (int)rnd_n((uint32_t)n_cis);
    int check = noise_checks[rnd_n(sizeof(noise_checks) / sizeof(noise_checks[0]))];
    int64_t te = t + rnd_range(60000, 20 * 60000);
    if (!reserve(ci, check, t, te))
        return;
    uint32_t a = add_alert(ci, check, -1, -1, t, te);
    emit_alert(a, rnd_n(4) ? 0 : 1, rnd_n(10) < 7);
}

/* One CI/check toggling firing/resolved every few seconds for 2-10 minutes. */
static void gen_flapping(int64_t t)
{
    int ci = (int)rnd_n((uint32_t)n_cis);
    int check = rnd_n(2) ? C_HealthCheckFailed : C_HighLatency;
    int64_t te = t + rnd_range(2 * 60000, 10 * 60000);
    if (!reserve(ci, check, t, te + 15000))
        return;
    uint32_t a = add_alert(ci, check, -1, -1, t, te);
    int sev = (int)rnd_n(2);
    for (int64_t x = t; x < te;) {
        push_ev(x, a, sev, 0);
        x += rnd_range(2000, 8000);
        push_ev(x, a, sev, 1);
        x += rnd_range(2000, 10000);
    }
}

/* --- output ----------------------------------------------------------------------------- */

static int64_t base_ms = INT64_C(1795510800000); /* 2026-11-24T09:00:00Z */

static void fmt_time(int64_t ms, char *out, size_t n)
{
    ms += base_ms;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The address of a CI in the storm profiles: 10.<kind>.<i / 250>.<i % 250 + 1>. */
static void ip_of(int ci, char *out, size_t n)
{
    snprintf(out, n, "10.%d.%d.%d", cis[ci].kind, ci / 250, ci % 250 + 1);
}

/* How a symptom names the CI it failed to reach. storm-a: "db-3:5432" or "db-3"; storm-b (held
 * out): "db-3.prod.internal:5432", "10.3.0.7:5432" or "http://db-3:5432/". */
static void peer_ref(int peer, uint32_t r, char *out, size_t n)
{
    const char *name = cis[peer].name;
    int port = kind_port[cis[peer].kind];
    char ip[32];
    ip_of(peer, ip, sizeof(ip));
    uint32_t k = (r >> 10) % 10;
    if (profile == 1)
        snprintf(out, n, k < 7 ? "%s:%d" : "%s", name, port);
    else if (k < 4)
        snprintf(out, n, "%s.prod.internal:%d", name, port);
    else if (k < 8)
        snprintf(out, n, "%s:%d", ip, port);
    else
        snprintf(out, n, "http://%s:%d/", name, port);
}

/* The storm profiles' symptom texts: they name what they failed to reach, as real alerts do.
 * Returns false for alerts that name nothing (causes, secondary symptoms, noise). */
static bool storm_summary(const struct ev *e, char *out, size_t n)
{
    const struct alert *al = &alerts[e->alert];
    if (!profile || al->peer < 0 || e->resolved)
        return false;
    const char *self = cis[al->ci].name;
    char ref[96];
    uint32_t r = e->r, v = r % 1000;
    peer_ref(al->peer, r, ref, sizeof(ref));
    bool b = profile == 2;
    switch (al->check) {
    case C_DBConnFail:
        if (b)
            snprintf(out, n, "read from %s failed after 3 retries: i/o timeout", ref);
        else if (r & 1)
            snprintf(out, n, "5xx rate high on %s: upstream %s timed out", self, ref);
        else
            snprintf(out, n, "connection refused to %s", ref);
        return true;
    case C_CacheTimeout:
        snprintf(out, n, b ? "read from %s failed after 3 retries: i/o timeout"
                           : "%s timeout after 250ms", ref);
        return true;
    case C_QueuePublishFail:
        snprintf(out, n, b ? "dial tcp %s: connect: connection refused"
                           : "publish to %s failed: connection reset", ref);
        return true;
    case C_DNSResolveFail:
        if (b)
            snprintf(out, n, "lookup orders.internal on %s: server misbehaving", ref);
        else
            snprintf(out, n, "consumers on %s cannot resolve upstream hosts via %s", self, ref);
        return true;
    case C_HTTP5xx:
    case C_ErrorRate:
        if (b)
            snprintf(out, n, "dial tcp %s: connect: connection refused", ref);
        else
            snprintf(out, n, "upstream %s returned 503 (%u in the last minute)", ref, 10 + v);
        return true;
    case C_BackendDown:
        snprintf(out, n, b ? "health probe to %s failed" : "backend %s marked down (2/3 checks failed)",
                 ref);
        return true;
    case C_IOLatencyHigh:
        if (b)
            snprintf(out, n, "nfs server %s not responding, still trying", ref);
        else
            snprintf(out, n, "disk io latency %ums on volume served by %s", 50 + v, ref);
        return true;
    case C_PacketLoss:
        snprintf(out, n, "packet loss %u%% via %s", 2 + v % 60, ref);
        return true;
    default:
        return false;
    }
}

static void summary(const struct ev *e, char *out, size_t n)
{
    if (storm_summary(e, out, n))
        return;
    const struct alert *al = &alerts[e->alert];
    const char *self = cis[al->ci].name, *peer = al->peer >= 0 ? cis[al->peer].name : self;
    uint32_t r = e->r, v = r % 1000;
    if (e->resolved) {
        snprintf(out, n, "%s on %s recovered", check_names[al->check], self);
        return;
    }
    switch (al->check) {
    case C_HighLatency: snprintf(out, n, "p99 latency %ums above 500ms", 600 + r % 2400); break;
    case C_ErrorRate:
        if (al->peer >= 0)
            snprintf(out, n, "calls to %s failing: %u.%u%% errors", peer, 5 + v % 40, v % 10);
        else
            snprintf(out, n, "error rate %u.%u%% above 5%%", 5 + v % 20, v % 10);
        break;
    case C_HTTP5xx: snprintf(out, n, "upstream %s returned 503 (%u in the last minute)", peer, 10 + v); break;
    case C_HealthCheckFailed:
        snprintf(out, n, "health check GET /healthz on %s:8080 failed: timeout after %us", self,
                 2 + v % 9);
        break;
    case C_DBConnFail:
        if (r & 1)
            snprintf(out, n, "connection refused to %s:5432", peer);
        else
            snprintf(out, n, "connection pool exhausted for %s:5432 (%u/%u)", peer, 50 + v % 50, 100);
        break;
    case C_CacheTimeout: snprintf(out, n, "%s:6379 timeout after %ums", peer, 100 + v); break;
    case C_QueuePublishFail: snprintf(out, n, "publish to %s:5672 failed: connection reset", peer); break;
    case C_IOLatencyHigh: snprintf(out, n, "disk io latency %ums on /dev/sdb (%s)", 50 + v, peer); break;
    case C_PacketLoss: snprintf(out, n, "packet loss %u%% via %s", 2 + v % 60, peer); break;
    case C_InterfaceDown: snprintf(out, n, "interface eth%u on %s down", v % 4, self); break;
    case C_DiskFull: snprintf(out, n, "filesystem /data on %s %u%% full", self, 90 + v % 10); break;
    case C_VolumeReadOnly: snprintf(out, n, "volume vol-%04x on %s remounted read-only", r & 0xffff, self); break;
    case C_DBDown: snprintf(out, n, "postgres on %s not accepting connections", self); break;
    case C_ReplicationLag: snprintf(out, n, "replication lag %us on %s", 30 + v, self); break;
    case C_CacheDown: snprintf(out, n, "redis on %s not responding to PING", self); break;
    case C_MemoryPressure: snprintf(out, n, "memory usage %u%% on %s", 85 + v % 15, self); break;
    case C_QueueBacklog: snprintf(out, n, "queue orders backlog %u messages on %s", 1000 + r % 50000, self); break;
    case C_BrokerDown: snprintf(out, n, "rabbitmq node on %s down", self); break;
    case C_PodCrashLoop:
        snprintf(out, n, "pod %s-%04x in CrashLoopBackOff (%u restarts)", self, r & 0xffff, 3 + v % 20);
        break;
    case C_CPUSaturated: snprintf(out, n, "cpu usage %u%% on %s for 5m", 90 + v % 10, self); break;
    case C_BackendDown:
        snprintf(out, n, "backend %s marked down (%u/3 checks failed)", peer, 2 + v % 2);
        break;
    case C_ConnLimitReached: snprintf(out, n, "active connections %u at limit on %s", 10000 + v, self); break;
    case C_NTPDrift: snprintf(out, n, "clock offset %ums on %s", 100 + v, self); break;
    case C_CertExpiring: snprintf(out, n, "TLS certificate on %s expires in %u days", self, 1 + v % 14); break;
    case C_SlowQueries: snprintf(out, n, "%u slow queries/min on %s", 20 + v, self); break;
    case C_DNSDown: snprintf(out, n, "dns server on %s not answering queries", self); break;
    default: snprintf(out, n, "alert on %s", self); break;
    }
}

static FILE *open_out(const char *path)
{
    if (!path)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

static void close_out(FILE *f)
{
    if (f && (ferror(f) | (f == stdout ? fflush(f) : fclose(f)))) {
        perror("ad_scenario: write");
        exit(1);
    }
}

static int cmp_ev(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static int64_t parse_duration_s(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    int64_t mul = 1;
    if (*end == 'm')
        mul = 60;
    else if (*end == 'h')
        mul = 3600;
    else if (*end == 'd')
        mul = 86400;
    else if (*end != 's' && *end != '\0')
        return -1;
    return (int64_t)(v * (double)mul);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ad_scenario [--seed N] [--cis N] [--incidents K] [--noise-rate R]\n"
            "                   [--duration D] [--flapping N] [--dup-rate P] [--hop-prob P]\n"
            "                   [--events N] [--out-events FILE] [--out-truth FILE]\n"
            "                   [--out-topology FILE]\n"
            "  --cis N          configuration items (default 2000)\n"
            "  --incidents K    injected root-cause failures (default 20)\n"
            "  --noise-rate R   isolated background alerts per hour (default 60)\n"
            "  --duration D     span of incident starts and noise: 3600, 90m, 2h (default 1h)\n"
            "  --flapping N     flapping alerts (default 5)\n"
            "  --dup-rate P     share of alerts that repeat every 30-60 s while firing (0.8)\n"
            "  --hop-prob P     probability that a dependent of a failing CI alerts (0.6)\n"
            "  --events N       keep injecting incidents until at least N events (throughput)\n"
            "  --start T        epoch seconds of the start (default 2026-11-24T09:00:00Z)\n"
            "  --profile P      storm-a or storm-b: cascade storms without a CMDB (issue 14):\n"
            "                   DNS servers too; causes on databases, caches, storage, load\n"
            "                   balancers and DNS, lasting 20-30 min; symptoms name what they\n"
            "                   failed to reach; every alert has an instance label (its IP).\n"
            "                   storm-a: \"db-3:5432\" or \"db-3\", 5-90 s per hop; storm-b:\n"
            "                   FQDN, IP or URL forms, other wordings, 10-240 s per hop and one\n"
            "                   symptom in ten up to 60 s before its cause\n"
            "Files: \"-\" is stdout; files not given are not written. docs/evaluation.md.\n");
}

int main(int argc, char **argv)
{
    uint64_t seed = 42;
    int n = 2000, n_inc = 20, flapping = 5;
    double noise_rate = 60;
    int64_t duration_s = 3600;
    long target = 0;
    const char *out_events = NULL, *out_truth = NULL, *out_topo = NULL;
    static const struct option o[] = {
        {"seed", 1, 0, 's'},         {"cis", 1, 0, 'n'},          {"incidents", 1, 0, 'k'},
        {"noise-rate", 1, 0, 'r'},   {"duration", 1, 0, 'd'},     {"flapping", 1, 0, 'f'},
        {"dup-rate", 1, 0, 'u'},     {"hop-prob", 1, 0, 'p'},     {"events", 1, 0, 'e'},
        {"start", 1, 0, 'S'},        {"out-events", 1, 0, 'E'},   {"out-truth", 1, 0, 'T'},
        {"out-topology", 1, 0, 'G'}, {"help", 0, 0, 'h'},         {"profile", 1, 0, 'P'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (c) {
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'n': n = atoi(optarg); break;
        case 'k': n_inc = atoi(optarg); break;
        case 'r': noise_rate = atof(optarg); break;
        case 'd': duration_s = parse_duration_s(optarg); break;
        case 'f': flapping = atoi(optarg); break;
        case 'u': dup_rate = atof(optarg); break;
        case 'p': hop_p = atof(optarg); break;
        case 'e': target = atol(optarg); break;
        case 'S': base_ms = atoll(optarg) * 1000; break;
        case 'E': out_events = optarg; break;
        case 'T': out_truth = optarg; break;
        case 'G': out_topo = optarg; break;
        case 'P':
            profile = strcmp(optarg, "storm-a") == 0 ? 1 : strcmp(optarg, "storm-b") == 0 ? 2 : -1;
            break;
        default: usage(c == 'h' ? stdout : stderr); return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc || n < 20 || n > 10000000 || n_inc < 0 || flapping < 0 ||
        noise_rate < 0 || duration_s < 60 || dup_rate < 0 || dup_rate > 1 || hop_p < 0 ||
        hop_p > 1 || target < 0 || profile < 0) {
        fprintf(stderr, "ad_scenario: arguments out of range (--cis >= 20, --duration >= 60s, "
                        "probabilities 0..1, --profile storm-a|storm-b)\n");
        usage(stderr);
        return 2;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
    build_topology(n);
    busy = calloc((size_t)n_cis * N_CHECKS, sizeof(*busy));
    visited = calloc((size_t)n_cis, sizeof(int));
    queue_ci = xrealloc(NULL, (size_t)n_cis * sizeof(int));
    queue_t = xrealloc(NULL, (size_t)n_cis * sizeof(int64_t));
    if (!busy || !visited) {
        perror("ad_scenario: calloc");
        return 1;
    }

    int64_t span_ms = duration_s * 1000;
    /* Incidents first (their alerts take precedence over noise on a busy (CI, check)). */
    for (int k = 0, tries = 0; k < n_inc && tries < n_inc * 50; tries++)
        if (gen_incident(rnd_range(0, span_ms - 1)))
            k++;
    long n_noise = (long)(noise_rate * (double)duration_s / 3600.0 + 0.5);
    for (long i = 0; i < n_noise; i++)
        gen_noise(rnd_range(0, span_ms - 1));
    for (int i = 0; i < flapping; i++)
        gen_flapping(rnd_range(0, span_ms - 1));
    for (long tries = 0; target > 0 && (long)n_evs < target && tries < target; tries++)
        gen_incident(rnd_range(0, span_ms - 1));
    qsort(evs, n_evs, sizeof(*evs), cmp_ev);

    FILE *fe = open_out(out_events), *ft = open_out(out_truth), *fg = open_out(out_topo);
    if (fg) {
        fprintf(fg, "# ad_scenario topology: --seed %llu --cis %d (%d services)\n"
                    "# node <ci> service=<service> criticality=<low|medium|high|critical>\n"
                    "# <ci> -> <ci> [<ci> ...]   the left CI depends on each CI on the right\n",
                (unsigned long long)seed, n_cis, n_svcs);
        for (int i = 0; i < n_cis; i++)
            fprintf(fg, "node %s service=%s criticality=%s\n", cis[i].name,
                    svcs[cis[i].svc].name, crit_names[cis[i].crit]);
        fputc('\n', fg);
        for (int i = 0; i < n_cis; i++) {
            if (!cis[i].n_deps)
                continue;
            fprintf(fg, "%s ->", cis[i].name);
            for (int j = 0; j < cis[i].n_deps; j++)
                fprintf(fg, " %s", cis[cis[i].deps[j]].name);
            fputc('\n', fg);
        }
        close_out(fg);
    }
    char ts[96], sum[256];
    for (size_t i = 0; i < n_evs; i++) {
        const struct ev *e = &evs[i];
        const struct alert *al = &alerts[e->alert];
        const struct ci *ci = &cis[al->ci];
        if (fe) {
            char ip[32] = "";
            if (profile)
                ip_of(al->ci, ip, sizeof(ip));
            fmt_time(e->t_ms, ts, sizeof(ts));
            summary(e, sum, sizeof(sum));
            fprintf(fe,
                    "{\"kind\":\"alert\",\"source\":\"%s\",\"resource\":\"%s\",\"service\":\"%s\","
                    "\"check\":\"%s\",\"severity\":\"%s\",\"status\":\"%s\",\"summary\":\"%s\","
                    "\"labels\":{\"env\":\"prod\",\"cluster\":\"prod-%c\",\"layer\":\"%s\"%s%s%s},"
                    "\"timestamp\":\"%s\"}\n",
                    kind_source[ci->kind], ci->name, svcs[ci->svc].name, check_names[al->check],
                    sev_names[e->sev], e->resolved ? "resolved" : "firing", sum,
                    'a' + (char)(ci->svc % 3), kind_layer[ci->kind],
                    profile ? ",\"instance\":\"" : "", profile ? ip : "",
                    profile ? ":9100\"" : "", ts);
        }
        if (ft) {
            if (al->incident >= 0)
                fprintf(ft, "{\"line\":%zu,\"alert\":%u,\"incident\":%d,\"root\":\"%s\"}\n", i + 1,
                        e->alert, al->incident + 1, cis[incs[al->incident].root].name);
            else
                fprintf(ft, "{\"line\":%zu,\"alert\":%u,\"incident\":null,\"root\":null}\n", i + 1,
                        e->alert);
        }
    }
    if (ft) {
        for (int k = 0; k < n_incs; k++) {
            fmt_time(incs[k].t0, ts, sizeof(ts));
            fprintf(ft, "{\"incident\":%d,\"root\":\"%s\",\"check\":\"%s\",\"start\":\"%s\",\"alerts\":%d}\n",
                    k + 1, cis[incs[k].root].name, check_names[incs[k].check], ts, incs[k].alerts);
        }
    }
    close_out(fe);
    close_out(ft);
    uint32_t noise_alerts = 0;
    for (uint32_t a = 0; a < n_alerts; a++)
        noise_alerts += alerts[a].incident < 0;
    fprintf(stderr,
            "ad_scenario: seed=%llu cis=%d services=%d incidents=%d alerts=%u (noise %u) "
            "events=%zu\n",
            (unsigned long long)seed, n_cis, n_svcs, n_incs, n_alerts, noise_alerts, n_evs);
    return 0;
}
