/* models/baseline.c: see baseline.h. Series live in one allocation each (the entry, then the
 * detector's state, then the key), found through a u64 map by the hash of the key; a series with
 * a static rule has its forecast state (models/forecast.h) in a second one. Expiry walks the
 * array from a cursor, a bounded number per tick. */
#include "models/baseline.h"

#include <errno.h>
#include <stddef.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/time.h"
#include "common/u64map.h"
#include "models/detector.h"
#include "models/forecast.h"

#define NONE UINT16_MAX
#define MAX_RULES 256
#define MAX_KEY 2048
#define EXPIRE_BUDGET 512 /* series looked at per expire() call (one tick: 1 s of event time) */
#define STATE_VERSION 3 /* 2: resource length and source per series; 3: forecast state */
#define MAX_SOURCES 255
#define NO_SOURCE 255

enum src { SRC_BAND = 0, SRC_STATIC = 1, SRC_FORECAST = 2 };

struct det_rule {
    char *pattern;
    const struct ad_det_ops *det;
};

struct thr_rule {
    char *pattern;
    bool below;
    double warning, critical, hysteresis; /* NaN: no such level */
};

struct series {
    struct ad_fc *fc; /* the trend, for a series with a static rule (and forecasts on); or NULL */
    int64_t last_seen_ns;
    double last_value;
    float score, expected, lower, upper; /* what the last point scored (floats: bytes/series) */
    uint32_t out_run, in_run; /* points in a row outside / inside the band */
    uint16_t det_rule;        /* index into det_rules, NONE: the default detector */
    uint16_t thr_rule;        /* index into thr_rules, NONE: no static threshold */
    uint16_t key_len;
    uint8_t det_id;
    bool firing;              /* the learned-band alert is firing */
    uint8_t level;            /* static threshold: 0 ok, 1 warning, 2 critical */
    bool warm;
    uint16_t res_len;         /* the key starts with the resource: key[0..res_len) */
    uint8_t src;              /* index into sources of the series' source; NO_SOURCE: unknown */
    uint8_t cause;            /* enum ad_det_cause of the last point */
    _Alignas(8) unsigned char st[]; /* detector state (det->state_size), then the key + NUL */
};

static void set_last(struct series *s, const struct ad_det_out *o)
{
    s->score = (float)o->score;
    s->expected = (float)o->expected;
    s->lower = (float)o->lower;
    s->upper = (float)o->upper;
    s->warm = o->warm;
    s->cause = o->cause;
}

static struct ad_det_out get_last(const struct series *s)
{
    return (struct ad_det_out){s->score, s->expected, s->lower, s->upper, s->warm, s->cause};
}

/* One alert built from a metric point: the event and the text its strings point into. */
struct out {
    struct ad_event ev;
    char check[MAX_KEY + 16];
    char summary[800];
    char vals[6][48];
};

#define MAX_OUTS 3 /* band, static threshold and forecast alerts from one point */

struct ad_baseline {
    struct ad_baseline_cfg cfg; /* strings borrowed from the config (rules are copied) */
    struct ad_det_params params;
    const struct ad_det_ops *def;
    struct det_rule *det_rules;
    size_t n_det_rules;
    struct thr_rule *thr_rules;
    size_t n_thr_rules;
    char **labels; /* series_labels, copied */
    size_t n_labels;
    enum ad_severity severity, fc_severity;
    struct ad_fc_params fc;
    uint64_t max_series, alert_after, resolve_after;
    double score_threshold;
    int64_t expire_after_ns;

    struct series **v;
    uint32_t n, cap, cursor;
    struct ad_u64map by_key;
    size_t bytes;

    struct out outs[MAX_OUTS];
    int p_next, p_end; /* outs[p_next..p_end) are alerts take() still hands out */
    char *sources[MAX_SOURCES]; /* the series' sources, interned (a handful in practice) */
    int n_sources;
    char key[MAX_KEY + 1];
    struct ad_baseline_stats st;
};

static const char *const sev_names[] = {"info", "warning", "minor", "major", "critical", NULL};

static inline char *series_key(struct series *s, const struct ad_det_ops *d)
{
    return (char *)s->st + d->state_size;
}
static inline const char *series_key_c(const struct series *s)
{
    return (const char *)s->st + ad_det_by_id(s->det_id)->state_size;
}
static inline struct ad_det_state *series_state(struct series *s)
{
    return (struct ad_det_state *)(void *)s->st;
}
static inline const struct ad_det_state *series_state_c(const struct series *s)
{
    return (const struct ad_det_state *)(const void *)s->st;
}

/* --- rules ---------------------------------------------------------------------------------- */

static void free_rules(struct det_rule *dr, size_t nd, struct thr_rule *tr, size_t nt, char **lb,
                       size_t nl)
{
    for (size_t i = 0; i < nd; i++)
        free(dr[i].pattern);
    for (size_t i = 0; i < nt; i++)
        free(tr[i].pattern);
    for (size_t i = 0; i < nl; i++)
        free(lb[i]);
    free(dr);
    free(tr);
    free(lb);
}

static const char *det_names(char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; ad_detectors[i] && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ", " : "", ad_detectors[i]->name);
    return buf;
}

static int parse_det_rule(const char *item, size_t i, struct det_rule *r, struct ad_err *reterr)
{
    const char *eq = strrchr(item, '=');
    char names[128];
    if (!eq || eq == item || !eq[1])
        return ad_err_set(reterr, EINVAL,
                          "models.baseline.detectors[%zu]: expected \"<pattern>=<detector>\", got "
                          "\"%.80s\"",
                          i, item);
    r->det = ad_det_find(eq + 1);
    if (!r->det)
        return ad_err_set(reterr, EINVAL,
                          "models.baseline.detectors[%zu]: unknown detector '%.40s' (expected %s)",
                          i, eq + 1, det_names(names, sizeof(names)));
    r->pattern = strndup(item, (size_t)(eq - item));
    return r->pattern ? 0 : ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
}

/* "<glob> above|below <warning> <critical> [<hysteresis>]"; a level may be "-" (none). */
static int parse_thr_rule(const char *item, size_t i, struct thr_rule *r, struct ad_err *reterr)
{
    char pat[512], dir[16], w[64], c[64], h[64];
    int n = sscanf(item, "%511s %15s %63s %63s %63s", pat, dir, w, c, h);
    const char *what = NULL;
    double vals[3] = {NAN, NAN, 0};
    const char *txt[3] = {w, c, h};
    if (n < 4)
        what = "\"<pattern> above|below <warning> <critical> [<hysteresis>]\"";
    else if (strcmp(dir, "above") != 0 && strcmp(dir, "below") != 0)
        what = "'above' or 'below' as the second word";
    for (int k = 0; !what && k < n - 2; k++) {
        if (k < 2 && strcmp(txt[k], "-") == 0)
            continue;
        char *end;
        vals[k] = strtod(txt[k], &end);
        if (*end || !isfinite(vals[k]) || (k == 2 && vals[k] < 0))
            what = k == 2 ? "a hysteresis >= 0" : "a number or '-' for the warning and critical levels";
    }
    if (!what && isnan(vals[0]) && isnan(vals[1]))
        what = "a warning or a critical level";
    bool below = !what && strcmp(dir, "below") == 0;
    if (!what && !isnan(vals[0]) && !isnan(vals[1]) &&
        (below ? vals[1] > vals[0] : vals[1] < vals[0]))
        what = below ? "critical <= warning for 'below'" : "critical >= warning for 'above'";
    if (what)
        return ad_err_set(reterr, EINVAL, "models.baseline.thresholds[%zu]: expected %s, got \"%.80s\"",
                          i, what, item);
    r->pattern = strdup(pat);
    r->below = below;
    r->warning = vals[0];
    r->critical = vals[1];
    r->hysteresis = vals[2];
    return r->pattern ? 0 : ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
}

/* Builds everything the config says into b (all or nothing). */
static int apply_cfg(struct ad_baseline *b, const struct ad_baseline_cfg *cfg, struct ad_err *reterr)
{
    char names[128];
    const struct ad_det_ops *def = cfg->detector && cfg->detector[0] ? ad_det_find(cfg->detector)
                                                                     : ad_detectors[0];
    if (!def)
        return ad_err_set(reterr, EINVAL, "models.baseline.detector: unknown detector '%.40s' (expected %s)",
                          cfg->detector, det_names(names, sizeof(names)));
    if (cfg->detectors.n > MAX_RULES || cfg->thresholds.n > MAX_RULES)
        return ad_err_set(reterr, EINVAL, "models.baseline: at most %d detectors and thresholds rules",
                          MAX_RULES);
    if (cfg->series_labels.n > AD_MAX_LABELS)
        return ad_err_set(reterr, EINVAL, "models.baseline.series_labels: at most %d labels",
                          AD_MAX_LABELS);
    struct det_rule *dr = calloc(cfg->detectors.n + 1, sizeof(*dr));
    struct thr_rule *tr = calloc(cfg->thresholds.n + 1, sizeof(*tr));
    char **lb = calloc(cfg->series_labels.n + 1, sizeof(*lb));
    int r = dr && tr && lb ? 0 : ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
    size_t nd = 0, nt = 0, nl = 0;
    for (; r == 0 && nd < cfg->detectors.n; nd++)
        r = parse_det_rule(cfg->detectors.v[nd], nd, &dr[nd], reterr);
    for (; r == 0 && nt < cfg->thresholds.n; nt++)
        r = parse_thr_rule(cfg->thresholds.v[nt], nt, &tr[nt], reterr);
    for (; r == 0 && nl < cfg->series_labels.n; nl++)
        if (!(lb[nl] = strdup(cfg->series_labels.v[nl])))
            r = ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
    if (r < 0) {
        free_rules(dr, nd + 1, tr, nt + 1, lb, nl + 1);
        return r;
    }
    free_rules(b->det_rules, b->n_det_rules, b->thr_rules, b->n_thr_rules, b->labels, b->n_labels);
    b->det_rules = dr;
    b->n_det_rules = nd;
    b->thr_rules = tr;
    b->n_thr_rules = nt;
    b->labels = lb;
    b->n_labels = nl;
    b->cfg = *cfg;
    b->def = def;
    ad_det_params_default(&b->params);
    b->params.band = cfg->band;
    b->params.q = cfg->q;
    b->params.warmup = (uint32_t)cfg->warmup;
    b->params.memory = cfg->memory;
    b->params.max_gap_ns = cfg->max_gap_ns;
    b->severity = (enum ad_severity)cfg->severity;
    b->fc_severity = (enum ad_severity)cfg->forecast_severity;
    b->fc = (struct ad_fc_params){.window_ns = cfg->forecast_window_ns,
                                  .horizon_ns = cfg->forecast_horizon_ns,
                                  .min_z = cfg->forecast_z};
    b->max_series = cfg->max_series;
    b->alert_after = cfg->alert_after;
    b->resolve_after = cfg->resolve_after;
    b->score_threshold = cfg->score_threshold;
    b->expire_after_ns = cfg->expire_after_ns;
    return 0;
}

static uint16_t match_det(const struct ad_baseline *b, const char *key)
{
    for (size_t i = 0; i < b->n_det_rules; i++)
        if (fnmatch(b->det_rules[i].pattern, key, 0) == 0)
            return (uint16_t)i;
    return NONE;
}

static uint16_t match_thr(const struct ad_baseline *b, const char *key)
{
    for (size_t i = 0; i < b->n_thr_rules; i++)
        if (fnmatch(b->thr_rules[i].pattern, key, 0) == 0)
            return (uint16_t)i;
    return NONE;
}

static const struct ad_det_ops *rule_det(const struct ad_baseline *b, uint16_t rule)
{
    return rule == NONE ? b->def : b->det_rules[rule].det;
}

/* --- series table --------------------------------------------------------------------------- */

static size_t series_size(const struct ad_det_ops *d, size_t key_len)
{
    return sizeof(struct series) + d->state_size + key_len + 1;
}

static uint64_t key_hash(const char *key, size_t len) { return ad_hash64(key, len, 0xba5e11e5); }

/* Gives s a forecast state when it has a static rule and forecasts are on, drops it otherwise
 * (a reload that removed the rule). Out of memory: the series goes without forecasts. */
static void sync_fc(struct ad_baseline *b, struct series *s)
{
    bool want = s->thr_rule != NONE && b->fc.horizon_ns > 0;
    void *p;
    if (want && !s->fc && posix_memalign(&p, 64, sizeof(*s->fc)) == 0) {
        s->fc = p;
        ad_fc_init(s->fc);
        b->bytes += sizeof(*s->fc);
    } else if (!want && s->fc) {
        free(s->fc);
        s->fc = NULL;
        b->bytes -= sizeof(*s->fc);
    }
}

static void free_series(struct series *s)
{
    free(s->fc);
    free(s);
}

static void forget(struct ad_baseline *b, uint32_t i)
{
    struct series *s = b->v[i];
    ad_u64map_del(&b->by_key, ad_u64map_key(key_hash(series_key_c(s), s->key_len)));
    b->bytes -= series_size(ad_det_by_id(s->det_id), s->key_len) + (s->fc ? sizeof(*s->fc) : 0);
    free_series(s);
    if (i != --b->n) {
        b->v[i] = b->v[b->n];
        ad_u64map_put(&b->by_key, ad_u64map_key(key_hash(series_key_c(b->v[i]), b->v[i]->key_len)),
                      i); /* overwrite: cannot fail */
    }
}

/* (Re)starts learning a series with detector d; the key is kept. NULL on ENOMEM (s untouched). */
static struct series *reinit(struct ad_baseline *b, struct series *s, const struct ad_det_ops *d)
{
    const struct ad_det_ops *old = ad_det_by_id(s->det_id);
    if (old->state_size != d->state_size) {
        struct series *n = malloc(series_size(d, s->key_len));
        if (!n)
            return NULL;
        memcpy(n, s, sizeof(*s));
        memcpy(series_key(n, d), series_key(s, old), s->key_len + 1u);
        b->bytes += series_size(d, s->key_len) - series_size(old, s->key_len);
        free(s);
        s = n;
    }
    s->det_id = d->id;
    ad_det_init(d, series_state(s), &b->params);
    s->firing = false;
    s->out_run = s->in_run = 0;
    set_last(s, &(struct ad_det_out){0, NAN, NAN, NAN, false, AD_DET_CAUSE_NONE});
    return s;
}


static uint32_t find(const struct ad_baseline *b, const char *key, size_t len)
{
    uint32_t i;
    if (!ad_u64map_get(&b->by_key, ad_u64map_key(key_hash(key, len)), &i))
        return UINT32_MAX;
    const struct series *s = b->v[i];
    return s->key_len == len && memcmp(series_key_c(s), key, len) == 0 ? i : UINT32_MAX;
}

/* The index of source among the series' sources (added when new), or NO_SOURCE when the table is
 * full (255 sources: a stale resolve of such a series then says source "aiopsd"). */
static uint8_t intern(struct ad_baseline *b, struct ad_str source)
{
    for (int i = 0; i < b->n_sources; i++)
        if (ad_str_eq_c(source, b->sources[i]))
            return (uint8_t)i;
    if (b->n_sources == MAX_SOURCES || !(b->sources[b->n_sources] = strndup(source.p ? source.p : "", source.len)))
        return NO_SOURCE;
    return (uint8_t)b->n_sources++;
}

/* Appends n bytes at *off of b->key; false when the key would pass MAX_KEY. */
static bool put_key(struct ad_baseline *b, size_t *off, const char *p, size_t n)
{
    if (*off + n > MAX_KEY)
        return false;
    memcpy(b->key + *off, p, n);
    *off += n;
    return true;
}

/* "<resource>/<check>{l1=v1,l2=v2}" into b->key (no allocation: once per point); the length, or
 * -EMSGSIZE. */
static int build_key(struct ad_baseline *b, const struct ad_event *ev)
{
    size_t off = 0;
    bool ok = put_key(b, &off, ev->resource.p, ev->resource.len) && put_key(b, &off, "/", 1) &&
              put_key(b, &off, ev->check.p, ev->check.len);
    bool any = false;
    for (size_t i = 0; ok && i < b->n_labels; i++)
        for (size_t j = 0; j < ev->n_labels; j++)
            if (ad_str_eq_c(ev->labels[j].name, b->labels[i])) {
                ok = put_key(b, &off, any ? "," : "{", 1) &&
                     put_key(b, &off, b->labels[i], strlen(b->labels[i])) &&
                     put_key(b, &off, "=", 1) &&
                     put_key(b, &off, ev->labels[j].value.p, ev->labels[j].value.len);
                any = true;
                break;
            }
    if (ok && any)
        ok = put_key(b, &off, "}", 1);
    if (!ok)
        return -EMSGSIZE;
    b->key[off] = 0;
    return (int)off;
}

static struct series *add_series(struct ad_baseline *b, const char *key, size_t len, uint16_t res_len,
                                 uint8_t src)
{
    if (b->n >= b->max_series) {
        b->st.refused++;
        return NULL;
    }
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 256;
        struct series **v = realloc(b->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        b->v = v;
        b->cap = cap;
    }
    uint16_t rule = match_det(b, key);
    const struct ad_det_ops *d = rule_det(b, rule);
    struct series *s = malloc(series_size(d, len));
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->key_len = (uint16_t)len;
    s->det_rule = rule;
    s->thr_rule = match_thr(b, key);
    s->det_id = d->id;
    s->res_len = res_len;
    s->src = src;
    memcpy(series_key(s, d), key, len);
    series_key(s, d)[len] = 0;
    ad_det_init(d, series_state(s), &b->params);
    set_last(s, &(struct ad_det_out){0, NAN, NAN, NAN, false, AD_DET_CAUSE_NONE});
    if (ad_u64map_put(&b->by_key, ad_u64map_key(key_hash(key, len)), b->n) < 0) {
        free(s);
        return NULL;
    }
    b->v[b->n++] = s;
    b->bytes += series_size(d, len);
    sync_fc(b, s);
    return s;
}

/* --- create / reconfigure ------------------------------------------------------------------- */

int ad_baseline_create(const struct ad_baseline_cfg *cfg, struct ad_baseline **ret,
                       struct ad_err *reterr)
{
    struct ad_baseline *b = calloc(1, sizeof(*b));
    if (!b || ad_u64map_init(&b->by_key, 1024) < 0) {
        free(b);
        return ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
    }
    b->p_next = b->p_end = 0;
    int r = apply_cfg(b, cfg, reterr);
    if (r < 0) {
        ad_baseline_destroy(b);
        return r;
    }
    *ret = b;
    return 0;
}

void ad_baseline_destroy(struct ad_baseline *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->n; i++)
        free_series(b->v[i]);
    free(b->v);
    ad_u64map_fini(&b->by_key);
    free_rules(b->det_rules, b->n_det_rules, b->thr_rules, b->n_thr_rules, b->labels, b->n_labels);
    for (int i = 0; i < b->n_sources; i++)
        free(b->sources[i]);
    free(b);
}

/* Series follow the new rules: a series whose pattern now picks another detector starts learning
 * again (counted as reset); static rules and parameters apply at once. A changed series_labels
 * changes the keys: existing series age out. */
int ad_baseline_reconfigure(struct ad_baseline *b, const struct ad_baseline_cfg *cfg,
                            struct ad_err *reterr)
{
    int r = apply_cfg(b, cfg, reterr);
    if (r < 0)
        return r;
    for (uint32_t i = 0; i < b->n; i++) {
        struct series *s = b->v[i];
        const char *key = series_key_c(s);
        s->det_rule = match_det(b, key);
        s->thr_rule = match_thr(b, key);
        if (s->thr_rule == NONE)
            s->level = 0;
        sync_fc(b, s);
        const struct ad_det_ops *d = rule_det(b, s->det_rule);
        if (d->id != s->det_id) {
            struct series *n = reinit(b, s, d);
            if (n) {
                b->v[i] = n;
                b->st.reset++;
            }
        }
    }
    if (b->max_series < b->n)
        b->max_series = b->n; /* what is there stays; the lower bound applies to new series */
    return 0;
}

/* --- observe --------------------------------------------------------------------------------- */

static const char *fmt_num(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "none");
    else
        snprintf(buf, n, "%.6g", v);
    return buf;
}

static void add_label(struct ad_event *ev, const char *name, const char *value)
{
    if (ev->n_labels < AD_MAX_LABELS)
        ev->labels[ev->n_labels++] = (struct ad_label){ad_str_c(name), ad_str_c(value)};
}

static const char *const src_names[] = {"baseline", "threshold", "forecast"};

/* The metric event `metric` as an alert of kind src on s in o: check, status, severity. */
static struct ad_event *alert_head(const struct series *s, const struct ad_event *metric,
                                   enum src src, bool resolved, enum ad_severity sev, struct out *o)
{
    o->ev = *metric;
    struct ad_event *ev = &o->ev;
    ev->kind = AD_KIND_ALERT;
    ev->status = resolved ? AD_STATUS_RESOLVED : AD_STATUS_FIRING;
    ev->severity = sev;
    ev->id = AD_STR_NULL;
    ev->fingerprint = 0;
    ev->flags = 0;
    snprintf(o->check, sizeof(o->check), "%s:%s", src_names[src], series_key_c(s));
    ev->check = ad_str_c(o->check);
    return ev;
}

/* Turns the metric event `metric` into a band or static-threshold alert in o (strings in o). */
static void make_alert(struct ad_baseline *b, const struct series *s, const struct ad_event *metric,
                       enum src src, bool resolved, enum ad_severity sev, struct out *o)
{
    const char *key = series_key_c(s);
    struct ad_event *ev = alert_head(s, metric, src, resolved, sev, o);
    char v[48];
    fmt_num(v, sizeof(v), s->last_value);
    if (src == SRC_BAND) {
        const struct ad_det_out last = get_last(s), *x = &last;
        struct ad_det_info info = {"none", 0};
        ad_det_by_id(s->det_id)->describe(series_state_c(s), &info);
        fmt_num(o->vals[0], sizeof(o->vals[0]), x->expected);
        fmt_num(o->vals[1], sizeof(o->vals[1]), x->lower);
        fmt_num(o->vals[2], sizeof(o->vals[2]), x->upper);
        snprintf(o->vals[3], sizeof(o->vals[3]), "%.3f", x->score);
        snprintf(o->vals[4], sizeof(o->vals[4]), "%s", ad_det_by_id(s->det_id)->name);
        snprintf(o->vals[5], sizeof(o->vals[5]), "%s", info.season);
        add_label(ev, "baseline_expected", o->vals[0]);
        add_label(ev, "baseline_lower", o->vals[1]);
        add_label(ev, "baseline_upper", o->vals[2]);
        add_label(ev, "baseline_score", o->vals[3]);
        add_label(ev, "baseline_detector", o->vals[4]);
        add_label(ev, "baseline_season", o->vals[5]);
        if (!resolved)
            add_label(ev, "baseline_cause", ad_det_cause_name(x->cause == AD_DET_CAUSE_NONE ? AD_DET_CAUSE_BAND : x->cause));
        if (resolved)
            snprintf(o->summary, sizeof(o->summary),
                     "%.400s back inside its learned band: %s (expected %s, band %s..%s)", key, v,
                     o->vals[0], o->vals[1], o->vals[2]);
        else if (x->cause == AD_DET_CAUSE_PATTERN || x->cause == AD_DET_CAUSE_RANGE)
            snprintf(o->summary, sizeof(o->summary),
                     "%.400s at %s: %s (expected %s, band %s..%s, score %s)", key, v,
                     x->cause == AD_DET_CAUSE_RANGE ? "beyond every value seen in this series"
                                                    : "recent values in a pattern not seen before",
                     o->vals[0], o->vals[1], o->vals[2], o->vals[3]);
        else
            snprintf(o->summary, sizeof(o->summary),
                     "%.400s %s its learned band: %s (expected %s, band %s..%s, score %s)", key,
                     s->last_value > x->upper   ? "above"
                     : s->last_value < x->lower ? "below"
                                                : "unusual inside",
                     v, o->vals[0], o->vals[1], o->vals[2], o->vals[3]);
    } else {
        const struct thr_rule *t = &b->thr_rules[s->thr_rule];
        fmt_num(o->vals[0], sizeof(o->vals[0]), t->warning);
        fmt_num(o->vals[1], sizeof(o->vals[1]), t->critical);
        add_label(ev, "threshold_warning", o->vals[0]);
        add_label(ev, "threshold_critical", o->vals[1]);
        add_label(ev, "threshold_direction", t->below ? "below" : "above");
        if (resolved)
            snprintf(o->summary, sizeof(o->summary), "%.400s back to normal: %s (warning %s %s)",
                     key, v, t->below ? "below" : "above", o->vals[0]);
        else
            snprintf(o->summary, sizeof(o->summary), "%.400s %s %s threshold: %s (%s %s)", key,
                     t->below ? "below" : "above", sev == AD_SEV_CRITICAL ? "critical" : "warning",
                     v, t->below ? "<" : ">",
                     sev == AD_SEV_CRITICAL ? o->vals[1] : o->vals[0]);
    }
    ev->summary = ad_str_c(o->summary);
}

/* "disk_used_pct on host-1" ("<check and labels> on <resource>"), or the whole key when it does
 * not start with the resource and a '/'. */
static const char *what_on(const struct series *s, char *buf, size_t n)
{
    const char *key = series_key_c(s);
    if (s->res_len == 0 || s->res_len >= s->key_len || key[s->res_len] != '/')
        snprintf(buf, n, "%.400s", key);
    else
        snprintf(buf, n, "%.300s on %.*s", key + s->res_len + 1, (int)s->res_len, key);
    return buf;
}

static const char *level_name(uint8_t lvl) { return lvl == 2 ? "critical" : "warning"; }

/* The forecast alert of s (ch: what changed; lvl: the level it predicted) from metric into o. */
static void make_forecast(struct ad_baseline *b, const struct series *s, const struct ad_event *metric,
                          enum ad_fc_change ch, uint8_t lvl, struct out *o)
{
    const struct ad_fc_pred *pr = &s->fc->last;
    const struct thr_rule *t = &b->thr_rules[s->thr_rule];
    bool resolved = ch == AD_FC_RESOLVED_TREND || ch == AD_FC_RESOLVED_REACHED;
    struct ad_event *ev = alert_head(s, metric, SRC_FORECAST, resolved, b->fc_severity, o);
    char what[512], win[32], left[32], v[48];
    double thr = resolved ? (lvl == 2 ? t->critical : t->warning) : pr->threshold;
    fmt_num(o->vals[0], sizeof(o->vals[0]), thr);
    snprintf(o->vals[1], sizeof(o->vals[1]), "%.4g", pr->slope * 3600);
    add_label(ev, "forecast_threshold", o->vals[0]);
    add_label(ev, "forecast_level", level_name(resolved ? lvl : pr->target));
    add_label(ev, "forecast_direction", t->below ? "below" : "above");
    add_label(ev, "forecast_slope_per_hour", o->vals[1]);
    what_on(s, what, sizeof(what));
    ad_fc_duration(pr->span_ns, win, sizeof(win));
    fmt_num(v, sizeof(v), s->last_value);
    if (ch == AD_FC_RESOLVED_REACHED) {
        snprintf(o->summary, sizeof(o->summary),
                 "%s reached %s (%s) as forecast: %s now, the threshold alert takes over", what,
                 o->vals[0], level_name(lvl), v);
    } else if (resolved) {
        snprintf(o->summary, sizeof(o->summary),
                 "%s no longer on course to reach %s (%s): trend %+.3g/h over the last %s", what,
                 o->vals[0], level_name(lvl), pr->slope * 3600, win);
    } else {
        ad_time_format_rfc3339(pr->at_ns, o->vals[2], sizeof(o->vals[2]));
        snprintf(o->vals[3], sizeof(o->vals[3]), "%lld",
                 (long long)((pr->at_ns - pr->now_ns) / AD_NS_PER_S));
        add_label(ev, "forecast_at", o->vals[2]);
        add_label(ev, "forecast_seconds_left", o->vals[3]);
        snprintf(o->summary, sizeof(o->summary),
                 "%s will reach %s (%s) in ~%s, at %s; trend %+.3g/h over the last %s (now %s)",
                 what, o->vals[0], level_name(pr->target),
                 ad_fc_duration(pr->at_ns - pr->now_ns, left, sizeof(left)), o->vals[2],
                 pr->slope * 3600, win, v);
    }
    ev->summary = ad_str_c(o->summary);
}

/* The static level of x under rule t, with hysteresis: leaving a level needs x back past its
 * threshold by the hysteresis. */
static uint8_t static_level(const struct thr_rule *t, uint8_t cur, double x)
{
    double sgn = t->below ? -1 : 1, v = sgn * x;
    uint8_t lvl = 0;
    if (!isnan(t->critical) && v > sgn * t->critical)
        lvl = 2;
    else if (!isnan(t->warning) && v > sgn * t->warning)
        lvl = 1;
    /* Hysteresis: stay at cur while x has not gone back past cur's threshold by the margin. */
    if (lvl < cur) {
        double thr = cur == 2 ? t->critical : t->warning;
        if (!isnan(thr) && v > sgn * thr - t->hysteresis)
            lvl = cur;
    }
    return lvl;
}

int ad_baseline_observe(struct ad_baseline *b, struct ad_event *ev)
{
    b->p_next = b->p_end = 0;
    if (ev->kind != AD_KIND_METRIC || !b->cfg.enabled)
        return 0;
    if (!ev->has_value) {
        b->st.no_value++;
        return -EINVAL;
    }
    int len = build_key(b, ev);
    if (len < 0) {
        b->st.no_value++;
        return len;
    }
    uint32_t i = find(b, b->key, (size_t)len);
    struct series *s = i == UINT32_MAX ? add_series(b, b->key, (size_t)len,
                                                    (uint16_t)ev->resource.len, intern(b, ev->source))
                                       : b->v[i];
    if (!s)
        return AD_CONSUMED; /* refused (max_series, counted) or out of memory */
    const struct ad_det_ops *d = ad_det_by_id(s->det_id);
    struct ad_det_out o;
    int r = ad_det_update(d, series_state(s), &b->params, ev->time_ns, ev->value, &o);
    if (r == -EINVAL) {
        b->st.not_finite++;
        return AD_CONSUMED;
    }
    if (r < 0) {
        b->st.out_of_order++;
        return AD_CONSUMED;
    }
    b->st.points++;
    s->last_seen_ns = ev->time_ns;
    s->last_value = ev->value;
    set_last(s, &o);
    bool outside = o.warm && (ev->value < o.lower || ev->value > o.upper);
    b->st.anomalous += outside;
    s->out_run = outside ? s->out_run + 1 : 0;
    s->in_run = outside ? 0 : s->in_run + 1;

    int n_out = 0;
    const struct ad_event *metric = ev; /* ev itself is overwritten only at the end */
    /* The band's run, or one point whose score says the series does something it has not done
     * before (inside the band too: a shape or level never seen, docs/baselines.md). */
    bool scored = o.warm && b->score_threshold > 0 && o.score >= b->score_threshold;
    /* A series with less than two warm-ups of history has seen too little to call a shape
     * "never seen": most of its long contexts are still new (docs/baselines.md). The band and
     * new records still alert; the score itself is unchanged (aiopsctl baseline shows it). */
    if (scored && o.cause == AD_DET_CAUSE_PATTERN &&
        ad_det_hdr(series_state(s))->points < 2 * (uint64_t)b->params.warmup)
        scored = false;
    if (!s->firing && ((outside && s->out_run >= b->alert_after) || scored)) {
        s->firing = true;
        s->in_run = 0; /* resolve_after points from now on, even when this one is inside */
        b->st.raised[SRC_BAND]++;
        make_alert(b, s, metric, SRC_BAND, false, b->severity, &b->outs[n_out++]);
    } else if (s->firing && outside) {
        make_alert(b, s, metric, SRC_BAND, false, b->severity, &b->outs[n_out++]); /* repeat */
    } else if (s->firing && s->in_run >= b->resolve_after) {
        s->firing = false;
        b->st.resolved[SRC_BAND]++;
        make_alert(b, s, metric, SRC_BAND, true, b->severity, &b->outs[n_out++]);
    }
    if (s->thr_rule != NONE) {
        const struct thr_rule *t = &b->thr_rules[s->thr_rule];
        uint8_t lvl = static_level(t, s->level, ev->value), was = s->level;
        s->level = lvl;
        if (lvl > 0) {
            b->st.raised[SRC_STATIC] += was == 0;
            make_alert(b, s, metric, SRC_STATIC, false,
                       lvl == 2 ? AD_SEV_CRITICAL : AD_SEV_WARNING, &b->outs[n_out++]);
        } else if (was > 0) {
            b->st.resolved[SRC_STATIC]++;
            make_alert(b, s, metric, SRC_STATIC, true,
                       was == 2 ? AD_SEV_CRITICAL : AD_SEV_WARNING, &b->outs[n_out++]);
        }
    }
    if (s->fc) { /* a refit when a bucket closes; "reached" on every point */
        uint8_t lvl = s->fc->firing;
        enum ad_fc_change ch = ad_fc_reached(s->fc, s->level);
        /* Fitted once the detector is warm: its season is then known well enough to take out. */
        if (ad_fc_add(s->fc, &b->fc, ev->time_ns, ev->value) && o.warm) {
            const struct thr_rule *t = &b->thr_rules[s->thr_rule];
            struct ad_fc_rule rule = {t->below, t->warning, t->critical};
            struct ad_fc_pred pr;
            ad_fc_fit(s->fc, &b->fc, ev->time_ns, &rule, s->level, d, series_state_c(s),
                      &b->params, &pr);
            enum ad_fc_change c2 = ad_fc_step(s->fc, &b->fc, &pr);
            if (ch == AD_FC_NONE) /* a level just reached cannot also raise: AD_FC_CONFIRM > 1 */
                ch = c2;
        }
        if (ch == AD_FC_RAISED)
            b->st.raised[SRC_FORECAST]++;
        else if (ch == AD_FC_RESOLVED_TREND || ch == AD_FC_RESOLVED_REACHED)
            b->st.resolved[SRC_FORECAST]++;
        if (ch != AD_FC_NONE)
            make_forecast(b, s, metric, ch, lvl, &b->outs[n_out++]);
    }
    if (n_out == 0)
        return AD_CONSUMED;
    *ev = b->outs[0].ev;
    b->p_next = 1;
    b->p_end = n_out;
    return 0;
}

int ad_baseline_take(struct ad_baseline *b, struct ad_event *ev)
{
    if (b->p_next >= b->p_end)
        return 0;
    *ev = b->outs[b->p_next++].ev;
    return 1;
}

/* A series that stopped reporting while alerting: its alerts resolve (take() hands them out),
 * as a monitoring system resolves an alert whose series went stale. */
static void resolve_stale(struct ad_baseline *b, struct series *s, int64_t now_ns)
{
    struct ad_event base;
    memset(&base, 0, sizeof(base));
    base.kind = AD_KIND_METRIC;
    base.time_ns = now_ns;
    base.resource = (struct ad_str){series_key_c(s), s->res_len};
    base.service = base.resource;
    base.source = ad_str_c(s->src == NO_SOURCE ? "aiopsd" : b->sources[s->src]);
    base.has_value = true;
    base.value = s->last_value;
    int n = 0;
    if (s->firing) {
        s->firing = false;
        b->st.resolved[SRC_BAND]++;
        make_alert(b, s, &base, SRC_BAND, true, b->severity, &b->outs[n++]);
    }
    if (s->level > 0) {
        uint8_t was = s->level;
        s->level = 0;
        b->st.resolved[SRC_STATIC]++;
        make_alert(b, s, &base, SRC_STATIC, true, was == 2 ? AD_SEV_CRITICAL : AD_SEV_WARNING,
                   &b->outs[n++]);
    }
    if (s->fc && s->fc->firing) {
        uint8_t was = s->fc->firing;
        s->fc->firing = s->fc->hits = s->fc->misses = 0;
        b->st.resolved[SRC_FORECAST]++;
        make_forecast(b, s, &base, AD_FC_RESOLVED_TREND, was, &b->outs[n++]);
    }
    static const char *const kinds[] = {"learned-band", "static threshold", "forecast"};
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < 2 && strncmp(b->outs[i].check, src_names[k], strlen(src_names[k])) != 0)
            k++;
        snprintf(b->outs[i].summary, sizeof(b->outs[i].summary),
                 "%.400s: no points for %llds, its %s alert is resolved (last value %.6g)",
                 series_key_c(s), (long long)((now_ns - s->last_seen_ns) / 1000000000), kinds[k],
                 s->last_value);
    }
    b->st.stale += n > 0;
    b->p_next = 0;
    b->p_end = n;
}

static bool alerting(const struct series *s)
{
    return s->firing || s->level > 0 || (s->fc && s->fc->firing);
}

static void expire(struct ad_baseline *b, int64_t now_ns)
{
    b->p_next = b->p_end = 0;
    for (uint32_t k = 0; k < EXPIRE_BUDGET && b->n > 0; k++) {
        if (b->cursor >= b->n)
            b->cursor = 0;
        struct series *s = b->v[b->cursor];
        if (alerting(s) && b->cfg.stale_after_ns > 0 &&
            now_ns - s->last_seen_ns > b->cfg.stale_after_ns) {
            resolve_stale(b, s, now_ns);
            b->cursor++;
            return; /* one series per call: outs hold its (at most three) alerts until taken */
        }
        if (!alerting(s) && now_ns - s->last_seen_ns > b->expire_after_ns) {
            forget(b, b->cursor);
            b->st.expired++;
        } else {
            b->cursor++;
        }
    }
}

void ad_baseline_get_stats(const struct ad_baseline *b, struct ad_baseline_stats *ret)
{
    *ret = b->st;
    ret->series = b->n;
    ret->bytes = b->bytes + (size_t)b->cap * sizeof(*b->v) + ad_u64map_bytes(&b->by_key);
}

/* --- API JSON ------------------------------------------------------------------------------- */

/* A float-held figure as the 7 digits it has (47.53391, not 47.533912658691406). */
static double f7(double v)
{
    char b[32];
    if (!isfinite(v))
        return v;
    snprintf(b, sizeof(b), "%.7g", v);
    return strtod(b, NULL);
}

static void threshold_obj(struct ad_jsonw *w, const char *key, double hi, double lo, const char *why)
{
    ad_jsonw_key(w, key);
    ad_jsonw_obj_begin(w);
    ad_jsonw_key(w, "above");
    ad_jsonw_double(w, hi);
    ad_jsonw_key(w, "below");
    ad_jsonw_double(w, lo);
    ad_jsonw_key(w, "why");
    ad_jsonw_cstr(w, why);
    ad_jsonw_obj_end(w);
}

/* "forecast": null without a static rule (or with forecasts off), else the last fit. */
static void forecast_obj(struct ad_jsonw *w, const struct series *s)
{
    ad_jsonw_key(w, "forecast");
    if (!s->fc) {
        ad_jsonw_null(w);
        return;
    }
    const struct ad_fc_pred *pr = &s->fc->last;
    char ts[40];
    bool at = pr->fitted && pr->target;
    ad_jsonw_obj_begin(w);
    ad_jsonw_key(w, "state");
    ad_jsonw_cstr(w, s->fc->firing ? "firing" : !pr->fitted ? "learning" : at ? "crossing" : "none");
    ad_jsonw_key(w, "fitted_at");
    if (pr->fitted)
        ad_jsonw_cstr(w, ad_time_format_rfc3339(pr->now_ns, ts, sizeof(ts)));
    else
        ad_jsonw_null(w);
    ad_jsonw_key(w, "buckets");
    ad_jsonw_uint(w, s->fc->n);
    ad_jsonw_key(w, "window_s");
    ad_jsonw_double(w, pr->fitted ? (double)(pr->span_ns / AD_NS_PER_S) : NAN);
    ad_jsonw_key(w, "slope_per_hour");
    ad_jsonw_double(w, pr->fitted ? f7(pr->slope * 3600) : NAN);
    ad_jsonw_key(w, "trend_z");
    ad_jsonw_double(w, pr->fitted ? f7(pr->z) : NAN);
    ad_jsonw_key(w, "fitted_value");
    ad_jsonw_double(w, pr->fitted ? f7(pr->level) : NAN);
    ad_jsonw_key(w, "level");
    if (at)
        ad_jsonw_cstr(w, level_name(pr->target));
    else
        ad_jsonw_null(w);
    ad_jsonw_key(w, "threshold");
    ad_jsonw_double(w, at ? pr->threshold : NAN);
    ad_jsonw_key(w, "at");
    if (at)
        ad_jsonw_cstr(w, ad_time_format_rfc3339(pr->at_ns, ts, sizeof(ts)));
    else
        ad_jsonw_null(w);
    ad_jsonw_key(w, "seconds_left");
    if (at)
        ad_jsonw_int(w, (pr->at_ns - pr->now_ns) / AD_NS_PER_S);
    else
        ad_jsonw_null(w);
    ad_jsonw_obj_end(w);
}

int ad_baseline_series_json(const struct ad_baseline *b, const char *key, struct ad_buf *out)
{
    uint32_t i = find(b, key, strlen(key));
    if (i == UINT32_MAX)
        return -ENOENT;
    const struct series *s = b->v[i];
    const struct ad_det_ops *d = ad_det_by_id(s->det_id);
    struct ad_det_info info = {"none", 0};
    d->describe(series_state_c(s), &info);
    struct ad_det_suggest sg;
    memset(&sg, 0, sizeof(sg));
    d->suggest(series_state_c(s), &b->params, &sg);
    char ts[40];
    struct ad_jsonw w;
    ad_jsonw_init(&w, out);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "series");
    ad_jsonw_cstr(&w, series_key_c(s));
    ad_jsonw_key(&w, "detector");
    ad_jsonw_cstr(&w, d->name);
    ad_jsonw_key(&w, "season");
    ad_jsonw_cstr(&w, info.season);
    ad_jsonw_key(&w, "points");
    ad_jsonw_uint(&w, info.points);
    ad_jsonw_key(&w, "warm");
    ad_jsonw_bool(&w, s->warm);
    ad_jsonw_key(&w, "last_seen");
    ad_jsonw_cstr(&w, ad_time_format_rfc3339(s->last_seen_ns, ts, sizeof(ts)));
    ad_jsonw_key(&w, "value");
    ad_jsonw_double(&w, s->last_value);
    ad_jsonw_key(&w, "expected");
    ad_jsonw_double(&w, f7(s->expected));
    ad_jsonw_key(&w, "lower");
    ad_jsonw_double(&w, f7(s->lower));
    ad_jsonw_key(&w, "upper");
    ad_jsonw_double(&w, f7(s->upper));
    ad_jsonw_key(&w, "score");
    ad_jsonw_double(&w, f7(s->score));
    ad_jsonw_key(&w, "state");
    ad_jsonw_cstr(&w, s->firing ? "firing" : s->out_run ? "outside" : s->warm ? "normal"
                                                                                 : "warming_up");
    ad_jsonw_key(&w, "static");
    if (s->thr_rule == NONE) {
        ad_jsonw_null(&w);
    } else {
        const struct thr_rule *t = &b->thr_rules[s->thr_rule];
        ad_jsonw_obj_begin(&w);
        ad_jsonw_key(&w, "direction");
        ad_jsonw_cstr(&w, t->below ? "below" : "above");
        ad_jsonw_key(&w, "warning");
        ad_jsonw_double(&w, t->warning);
        ad_jsonw_key(&w, "critical");
        ad_jsonw_double(&w, t->critical);
        ad_jsonw_key(&w, "hysteresis");
        ad_jsonw_double(&w, t->hysteresis);
        ad_jsonw_key(&w, "level");
        ad_jsonw_cstr(&w, s->level == 2 ? "critical" : s->level == 1 ? "warning" : "ok");
        ad_jsonw_obj_end(&w);
    }
    forecast_obj(&w, s);
    ad_jsonw_key(&w, "suggested");
    ad_jsonw_obj_begin(&w);
    threshold_obj(&w, "warning", sg.warning_hi, sg.warning_lo, sg.why_warning);
    threshold_obj(&w, "critical", sg.critical_hi, sg.critical_lo, sg.why_critical);
    ad_jsonw_obj_end(&w);
    ad_jsonw_obj_end(&w);
    return ad_jsonw_finish(&w);
}

size_t ad_baseline_list_json(const struct ad_baseline *b, const char *prefix, size_t limit,
                             size_t *listed, struct ad_buf *out)
{
    size_t plen = strlen(prefix), total = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const char *k = series_key_c(b->v[i]);
        if (strncmp(k, prefix, plen) != 0)
            continue;
        total++;
        if (*listed >= limit)
            continue;
        struct ad_jsonw w;
        if (*listed > 0)
            ad_buf_puts(out, ",");
        ad_jsonw_init(&w, out);
        ad_jsonw_cstr(&w, k);
        ad_jsonw_finish(&w);
        (*listed)++;
    }
    return total;
}

/* --- state ---------------------------------------------------------------------------------- */

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}
static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static void save_to(const struct ad_baseline *b, struct ad_wr *w)
{
    ad_wr_u32(w, STATE_VERSION);
    ad_wr_u32(w, b->n);
    for (uint32_t i = 0; i < b->n && w->err == 0; i++) {
        const struct series *s = b->v[i];
        const struct ad_det_ops *d = ad_det_by_id(s->det_id);
        ad_wr_bytes(w, series_key_c(s), s->key_len);
        ad_wr_u8(w, s->det_id);
        ad_wr_bytes(w, s->st, d->state_size);
        ad_wr_i64(w, s->last_seen_ns);
        ad_wr_u64(w, dbits(s->last_value));
        ad_wr_u64(w, dbits(s->score));
        ad_wr_u64(w, dbits(s->expected));
        ad_wr_u64(w, dbits(s->lower));
        ad_wr_u64(w, dbits(s->upper));
        ad_wr_u8(w, s->warm);
        ad_wr_u32(w, s->out_run);
        ad_wr_u32(w, s->in_run);
        ad_wr_u8(w, s->firing);
        ad_wr_u8(w, s->level);
        ad_wr_u32(w, s->res_len);
        ad_wr_cstr(w, s->src == NO_SOURCE ? "" : b->sources[s->src]);
        ad_wr_u8(w, s->fc != NULL);
        if (s->fc)
            ad_wr_bytes(w, s->fc, sizeof(*s->fc));
    }
}

int ad_baseline_save(const struct ad_baseline *b, struct ad_buf *out)
{
    struct ad_wr w = {out, 0};
    save_to(b, &w);
    return w.err;
}

static int load_from(struct ad_baseline *b, struct ad_rd *r, struct ad_err *reterr)
{
    uint32_t version = ad_rd_u32(r);
    if (r->bad || version < 1 || version > STATE_VERSION)
        return ad_err_set(reterr, EINVAL, "models.baseline: unknown state version");
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > b->max_series)
        return ad_err_set(reterr, EINVAL, "models.baseline: %u series in the state, more than "
                                          "max_series or corrupt", n);
    for (uint32_t k = 0; k < b->n;)
        forget(b, k); /* a fresh state normally; forget() moves the last into k */
    for (uint32_t k = 0; k < n; k++) {
        struct ad_rd key = ad_rd_sub(r);
        uint8_t id = ad_rd_u8(r);
        struct ad_rd st = ad_rd_sub(r);
        const struct ad_det_ops *d = ad_det_by_id(id);
        if (r->bad || key.n == 0 || key.n > MAX_KEY || memchr(key.p, 0, key.n) || !d ||
            st.n != d->state_size || st.p[0] != id)
            return ad_err_set(reterr, EINVAL, "models.baseline: corrupt series %u in the state", k);
        if (find(b, (const char *)key.p, key.n) != UINT32_MAX)
            return ad_err_set(reterr, EINVAL, "models.baseline: series %u twice in the state", k);
        memcpy(b->key, key.p, key.n);
        b->key[key.n] = 0;
        struct series *s = add_series(b, b->key, key.n, 0, NO_SOURCE);
        if (!s)
            return ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
        bool adopted = false, relearn = false;
        /* The payload need not be aligned (a checkpoint, a buffer at any offset): a byte read. */
        bool current = st.p[offsetof(struct ad_det_hdr, layout)] == d->layout;
        if (s->det_id != id || !current) {
            /* The config now picks another detector, or the state is of an older layout: the
             * configured detector takes the learned state over where it can (context adopts
             * seasonal, or its own older layout's band); else a current state keeps the
             * detector it learned, and an older one is learned again from the next point. */
            struct ad_det_state from;
            memcpy(from.b, st.p, st.n);
            adopted = ad_det_adopt(ad_det_by_id(s->det_id), series_state(s), &b->params, &from) == 0;
            if (adopted) {
                b->st.adopted++;
            } else if (!current) {
                relearn = true;
                b->st.reset++;
            } else {
                struct series *x = reinit(b, s, d);
                if (!x)
                    return ad_err_set(reterr, ENOMEM, "models.baseline: out of memory");
                b->v[b->n - 1] = s = x;
            }
        }
        if (!adopted && !relearn)
            memcpy(s->st, st.p, st.n);
        s->last_seen_ns = ad_rd_i64(r);
        s->last_value = bitsd(ad_rd_u64(r));
        s->score = (float)bitsd(ad_rd_u64(r));
        s->expected = (float)bitsd(ad_rd_u64(r));
        s->lower = (float)bitsd(ad_rd_u64(r));
        s->upper = (float)bitsd(ad_rd_u64(r));
        s->warm = ad_rd_u8(r) != 0;
        s->out_run = ad_rd_u32(r);
        s->in_run = ad_rd_u32(r);
        s->firing = ad_rd_u8(r) != 0;
        s->level = ad_rd_u8(r);
        if (version >= 2) {
            uint32_t rl = ad_rd_u32(r);
            char *src = ad_rd_strdup(r, AD_MAX_FIELD_LEN);
            if (!src || rl > key.n) {
                free(src);
                return ad_err_set(reterr, EINVAL, "models.baseline: corrupt series %u in the state", k);
            }
            s->res_len = (uint16_t)rl;
            s->src = src[0] ? intern(b, ad_str_c(src)) : NO_SOURCE;
            free(src);
        } else { /* version 1: the resource is the key up to its first '/' */
            const char *slash = memchr(b->key, '/', key.n);
            s->res_len = (uint16_t)(slash ? (size_t)(slash - b->key) : key.n);
        }
        if (version >= 3 && ad_rd_u8(r)) { /* a forecast state; dropped if the rule went */
            struct ad_rd fc = ad_rd_sub(r);
            if (r->bad || fc.n != sizeof(struct ad_fc))
                return ad_err_set(reterr, EINVAL, "models.baseline: corrupt series %u in the state", k);
            if (s->fc) {
                memcpy(s->fc, fc.p, fc.n);
                if (!ad_fc_valid(s->fc))
                    return ad_err_set(reterr, EINVAL, "models.baseline: corrupt series %u in the state",
                                      k);
            }
        }
        if (r->bad || s->level > 2)
            return ad_err_set(reterr, EINVAL, "models.baseline: corrupt series %u in the state", k);
        if (s->thr_rule == NONE)
            s->level = 0;
    }
    if (r->n != 0)
        return ad_err_set(reterr, EINVAL, "models.baseline: trailing bytes in the state");
    return 0;
}

/* The model's load op: nothing half-loaded, a refused state leaves learning to start from
 * scratch. */
static int op_load(void *state, struct ad_rd *r, struct ad_err *reterr)
{
    struct ad_baseline *b = state;
    int rc = load_from(b, r, reterr);
    if (rc < 0)
        while (b->n > 0)
            forget(b, 0);
    return rc;
}

int ad_baseline_load(struct ad_baseline *b, const void *data, size_t len, struct ad_err *reterr)
{
    struct ad_rd r = ad_rd_make(data, len);
    return op_load(b, &r, reterr);
}

int ad_baseline_params_for(const struct ad_baseline_cfg *cfg, const char *key,
                           const struct ad_det_ops **ret_det, struct ad_det_params *ret_params,
                           struct ad_err *reterr)
{
    struct ad_baseline *b = NULL;
    int r = ad_baseline_create(cfg, &b, reterr);
    if (r < 0)
        return r;
    *ret_det = rule_det(b, match_det(b, key));
    *ret_params = b->params;
    ad_baseline_destroy(b);
    return 0;
}

int ad_baseline_parse_rule(const char *text, struct ad_fc_rule *ret, struct ad_err *reterr)
{
    char item[256];
    struct thr_rule r;
    if (snprintf(item, sizeof(item), "* %s", text) >= (int)sizeof(item))
        return ad_err_set(reterr, EINVAL, "over-long threshold \"%.80s...\"", text);
    if (parse_thr_rule(item, 0, &r, reterr) < 0) /* says thresholds[0]: say it for text */
        return ad_err_set(reterr, EINVAL, "expected \"above|below <warning> <critical>\" (numbers, "
                                          "'-' for none; critical past warning), got \"%.80s\"",
                          text);
    *ret = (struct ad_fc_rule){r.below, r.warning, r.critical};
    free(r.pattern);
    return 0;
}

int ad_baseline_forecast_for(const struct ad_baseline_cfg *cfg, const char *key,
                             struct ad_fc_params *ret_params, struct ad_fc_rule *ret_rule,
                             bool *ret_has_rule, struct ad_err *reterr)
{
    struct ad_baseline *b = NULL;
    int r = ad_baseline_create(cfg, &b, reterr);
    if (r < 0)
        return r;
    uint16_t i = match_thr(b, key);
    *ret_params = b->fc;
    *ret_has_rule = i != NONE;
    if (i != NONE)
        *ret_rule = (struct ad_fc_rule){b->thr_rules[i].below, b->thr_rules[i].warning,
                                        b->thr_rules[i].critical};
    ad_baseline_destroy(b);
    return 0;
}

/* --- model ops ------------------------------------------------------------------------------ */

static const struct ad_opt baseline_opts[] = {
    AD_OPT_BOOL("enabled", "true", struct ad_baseline_cfg, enabled,
                "Learn a baseline for every metric series and raise alerts outside it."),
    AD_OPT_STRLIST("series_labels", "", struct ad_baseline_cfg, series_labels,
                   "Labels that are part of a series' key besides resource and check "
                   "(\"db-1/cpu{env=prod}\")."),
    AD_OPT_STRING("detector", "", "32", struct ad_baseline_cfg, detector,
                  "Detector for series no `detectors` pattern matches (context, seasonal, robust, "
                  "spot); empty: the built-in default (context)."),
    AD_OPT_STRLIST("detectors", "", struct ad_baseline_cfg, detectors,
                   "\"<glob on the series key>=<detector>\" items, first match wins "
                   "(\"db-*/latency_ms=spot\")."),
    AD_OPT_DOUBLE("band", "3.5", "0.5", "20", struct ad_baseline_cfg, band,
                  "Band half-width in units of the detector's spread (sensitivity)."),
    AD_OPT_DOUBLE("q", "0.0001", "0.0000001", "0.01", struct ad_baseline_cfg, q,
                  "False-alarm probability per point for the extreme-value (spot) bound and the "
                  "suggested critical threshold (warning: 10 times it)."),
    AD_OPT_UINT("warmup", "288", "10", "100000", struct ad_baseline_cfg, warmup,
                "Points a series learns before it can raise an alert."),
    AD_OPT_DOUBLE("memory", "288", "10", "1000000", struct ad_baseline_cfg, memory,
                  "Points of memory of the level and spread tracking (EWMA alpha = 2/(memory+1))."),
    AD_OPT_DURATION("max_gap", "6h", "1s", "30d", struct ad_baseline_cfg, max_gap_ns,
                    "A longer gap between two points of a series makes its detector re-anchor "
                    "(docs/baselines.md)."),
    AD_OPT_UINT("alert_after", "3", "1", "1000", struct ad_baseline_cfg, alert_after,
                "Points in a row outside the band that raise a baseline alert."),
    AD_OPT_UINT("resolve_after", "3", "1", "1000", struct ad_baseline_cfg, resolve_after,
                "Points in a row back inside the band that resolve it."),
    AD_OPT_DOUBLE("score_threshold", "0.64", "0", "1", struct ad_baseline_cfg, score_threshold,
                  "Also raise at once on one point scoring at least this, inside the band too "
                  "(0: off; 0.64 is NAB's optimum for the default detector, docs/baselines.md)."),
    AD_OPT_ENUM("severity", "warning", sev_names, struct ad_baseline_cfg, severity,
                "Severity of baseline alerts."),
    AD_OPT_STRLIST("thresholds", "", struct ad_baseline_cfg, thresholds,
                   "Static thresholds: \"<glob> above|below <warning> <critical> [<hysteresis>]\" "
                   "items ('-' for no level), first match wins."),
    AD_OPT_DURATION("forecast_horizon", "4h", "0s", "365d", struct ad_baseline_cfg,
                    forecast_horizon_ns,
                    "A series with a static threshold raises forecast:<series> when its trend will "
                    "reach the warning or critical level within this (0s: no forecasts)."),
    AD_OPT_DURATION("forecast_window", "6h", "10m", "30d", struct ad_baseline_cfg,
                    forecast_window_ns,
                    "Recent event time the forecast's trend is fitted over (Theil-Sen, the "
                    "detector's season taken out)."),
    AD_OPT_DOUBLE("forecast_z", "3", "0", "10", struct ad_baseline_cfg, forecast_z,
                  "Mann-Kendall z the trend must reach before it is believed (one-sided; 3: about "
                  "1 chance in 700 on a flat series)."),
    AD_OPT_ENUM("forecast_severity", "warning", sev_names, struct ad_baseline_cfg,
                forecast_severity, "Severity of forecast alerts."),
    AD_OPT_UINT("max_series", "100000", "1", "100000000", struct ad_baseline_cfg, max_series,
                "Series learned at once; points of further series are counted and dropped."),
    AD_OPT_DURATION("stale_after", "1h", "0s", "30d", struct ad_baseline_cfg, stale_after_ns,
                    "A series alerting (learned or static) without points this long resolves its "
                    "alerts: no data (0s: never)."),
    AD_OPT_DURATION("expire_after", "14d", "1m", "365d", struct ad_baseline_cfg, expire_after_ns,
                    "A series without points this long (event time) is forgotten."),
    AD_MODEL_STATE_OPTS(struct ad_baseline_cfg, "baselines.state", "the learned baselines"),
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_baseline_create(cfg, (struct ad_baseline **)ret, reterr);
}
static int op_reconfigure(void *state, const void *cfg, struct ad_err *reterr)
{
    return ad_baseline_reconfigure(state, cfg, reterr);
}
static int op_observe(void *state, struct ad_event *ev) { return ad_baseline_observe(state, ev); }
static int op_take(void *state, struct ad_event *ev) { return ad_baseline_take(state, ev); }
static void op_expire(void *state, int64_t now_ns) { expire(state, now_ns); }

static void op_stats(const void *state, struct ad_metrics *m)
{
    struct ad_baseline_stats st;
    ad_baseline_get_stats(state, &st);
    ad_metrics_gauge(m, "aiopsd_baseline_series", "Metric series with a learned baseline.", NULL,
                     (double)st.series);
    ad_metrics_gauge(m, "aiopsd_baseline_bytes", "Memory of the baselines (series, index).", NULL,
                     (double)st.bytes);
    ad_metrics_counter(m, "aiopsd_baseline_points_total", "Metric points learned.", NULL, st.points);
    ad_metrics_counter(m, "aiopsd_baseline_anomalous_points_total",
                       "Metric points outside their learned band.", NULL, st.anomalous);
    const char *h = "Metric points not learned, by reason.";
    ad_metrics_counter(m, "aiopsd_baseline_rejected_total", h, "reason=\"not_finite\"",
                       st.not_finite);
    ad_metrics_counter(m, "aiopsd_baseline_rejected_total", h, "reason=\"out_of_order\"",
                       st.out_of_order);
    ad_metrics_counter(m, "aiopsd_baseline_rejected_total", h, "reason=\"invalid\"", st.no_value);
    ad_metrics_counter(m, "aiopsd_baseline_rejected_total", h, "reason=\"max_series\"", st.refused);
    ad_metrics_counter(m, "aiopsd_baseline_stale_total",
                       "Series whose alerts resolved because they stopped sending points "
                       "(stale_after).", NULL, st.stale);
    ad_metrics_counter(m, "aiopsd_baseline_series_expired_total",
                       "Series forgotten after expire_after without points.", NULL, st.expired);
    ad_metrics_counter(m, "aiopsd_baseline_series_reset_total",
                       "Series that started learning again (their detector changed on reload, "
                       "or a stored state of an older layout no detector could take over).",
                       NULL, st.reset);
    ad_metrics_counter(m, "aiopsd_baseline_series_adopted_total",
                       "Series whose learned state the configured detector took over at load "
                       "(a seasonal state, or an older context layout, under the context default).",
                       NULL, st.adopted);
    h = "Alerts raised and resolved, by kind (learned band, static threshold or forecast).";
    ad_metrics_counter(m, "aiopsd_baseline_alerts_total", h, "kind=\"baseline\",transition=\"raised\"",
                       st.raised[SRC_BAND]);
    ad_metrics_counter(m, "aiopsd_baseline_alerts_total", h,
                       "kind=\"baseline\",transition=\"resolved\"", st.resolved[SRC_BAND]);
    ad_metrics_counter(m, "aiopsd_baseline_alerts_total", h,
                       "kind=\"threshold\",transition=\"raised\"", st.raised[SRC_STATIC]);
    ad_metrics_counter(m, "aiopsd_baseline_alerts_total", h,
                       "kind=\"threshold\",transition=\"resolved\"", st.resolved[SRC_STATIC]);
    ad_metrics_counter(m, "aiopsd_baseline_alerts_total", h,
                       "kind=\"forecast\",transition=\"raised\"", st.raised[SRC_FORECAST]);
    ad_metrics_counter(m, "aiopsd_baseline_alerts_total", h,
                       "kind=\"forecast\",transition=\"resolved\"", st.resolved[SRC_FORECAST]);
}

static void op_destroy(void *state) { ad_baseline_destroy(state); }

static int op_save(const void *state, struct ad_wr *w)
{
    save_to(state, w);
    return w->err;
}

const struct ad_model_ops ad_model_baseline = {
    .name = "baseline",
    .doc = "Dynamic baselines and static thresholds for metric series: points outside the "
           "learned band (or past a threshold) become alerts.",
    .opts = baseline_opts,
    .cfg_size = sizeof(struct ad_baseline_cfg),
    .create = op_create,
    .reconfigure = op_reconfigure,
    .observe = op_observe,
    .take = op_take,
    .expire = op_expire,
    .stats = op_stats,
    .destroy = op_destroy,
    .save = op_save,
    .load = op_load,
};
