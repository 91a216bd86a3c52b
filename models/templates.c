/* models/templates.c: see templates.h. Services and per-template rate states live in arrays
 * found through u64 maps; alerts wait in a small ring until take() hands them out. */
#include "models/templates.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/u64map.h"
#include "models/detector.h"
#include "models/logfmt.h"
#include "models/tmpl.h"

#define PENDING_MAX 64       /* alerts waiting for take(); more are dropped (counted) */
#define EXPIRE_BUDGET 512    /* rate states looked at per expire() call */
#define MAX_ZERO_FILL 60     /* empty intervals learned after a gap, at most */
#define RATE_DET_MAX 128     /* bytes of the rate detector's state */
#define STATE_VERSION 1
#define MAX_TEXT 1024        /* template text kept per rate state */

struct svc {
    uint64_t key;
    char *name;
    struct ad_tmpl *miner;
    int64_t first_ns;
};

struct rate {
    uint64_t key;          /* hash of (service key, template id) */
    uint64_t tid;
    uint32_t svc;          /* index into svcs */
    uint32_t count;        /* lines in the current interval */
    int64_t bucket_start;  /* start of the current interval; 0: none yet */
    int64_t last_seen_ns;
    int64_t new_at;        /* a new-template alert fires since; 0: none */
    uint32_t in_run;       /* intervals in a row back inside the band (while firing) */
    bool rate_firing;
    char *text;            /* owned copies, for alerts raised from expire() */
    char *resource;
    char *source;
    _Alignas(8) unsigned char det[RATE_DET_MAX];
};

struct out {
    struct ad_event ev;
    char check[48], tid[24], rate[32], expected[32], upper[32];
    char summary[1400];
};

struct ad_templates {
    struct ad_templates_cfg cfg;
    struct ad_tmpl_cfg mcfg;
    char **masks;               /* copies of cfg->masks */
    struct ad_det_params rate_params;
    struct svc *svcs;
    uint32_t n_svcs, cap_svcs;
    struct ad_u64map by_svc;
    struct rate *rates;
    uint32_t n_rates, cap_rates, cursor;
    struct ad_u64map by_rate;
    struct out pending[PENDING_MAX];
    uint32_t p_head, p_len;     /* ring */
    struct ad_templates_stats st;
    struct ad_logjson lj;      /* the last JSON message's fields (labels of that event) */
    struct ad_tmpl_match match; /* the last line's (its params are the event's) */
};

static const char *const sev_names[] = {"info", "warning", "minor", "major", "critical", NULL};

/* --- create ------------------------------------------------------------------------------- */

static void free_masks(char **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i]);
    free(m);
}

void ad_templates_tmpl_cfg(const struct ad_templates_cfg *cfg, struct ad_tmpl_cfg *ret)
{
    *ret = (struct ad_tmpl_cfg){
        .similarity = cfg->similarity,
        .depth = (uint32_t)cfg->depth,
        .max_children = (uint32_t)cfg->max_children,
        .max_templates = (uint32_t)cfg->max_templates,
        .max_line = (uint32_t)cfg->max_line,
        .merge_min = (uint32_t)cfg->merge_min,
        .merge_mean = cfg->merge_mean,
        .merge_always = (uint32_t)cfg->merge_always,
        .split_min = (uint32_t)cfg->split_min,
        .extra_masks = (const char *const *)cfg->masks.v,
        .n_extra_masks = cfg->masks.n,
    };
}

static int apply_cfg(struct ad_templates *t, const struct ad_templates_cfg *cfg,
                     struct ad_err *reterr)
{
    if (ad_det_robust.state_size > RATE_DET_MAX)
        return ad_err_set(reterr, EINVAL, "models.templates: rate detector state too large");
    char **m = calloc(cfg->masks.n + 1, sizeof(*m));
    if (!m)
        return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    for (size_t i = 0; i < cfg->masks.n; i++)
        if (!(m[i] = strdup(cfg->masks.v[i]))) {
            free_masks(m, i);
            return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
        }
    struct ad_tmpl_cfg mc;
    ad_templates_tmpl_cfg(cfg, &mc);
    mc.extra_masks = (const char *const *)m;
    /* The masks are checked here, by building a miner once. */
    struct ad_tmpl *probe;
    int r = ad_tmpl_create(&mc, &probe, reterr);
    if (r < 0) {
        free_masks(m, cfg->masks.n);
        return r;
    }
    ad_tmpl_destroy(probe);
    free_masks(t->masks, t->cfg.masks.n);
    t->masks = m;
    t->cfg = *cfg;
    t->mcfg = mc;
    ad_det_params_default(&t->rate_params);
    t->rate_params.band = cfg->rate_band;
    t->rate_params.warmup = (uint32_t)cfg->rate_warmup;
    return 0;
}

int ad_templates_create(const struct ad_templates_cfg *cfg, struct ad_templates **ret,
                        struct ad_err *reterr)
{
    struct ad_templates *t = calloc(1, sizeof(*t));
    if (!t || ad_u64map_init(&t->by_svc, 64) < 0 || ad_u64map_init(&t->by_rate, 1024) < 0) {
        ad_templates_destroy(t);
        return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    }
    int r = apply_cfg(t, cfg, reterr);
    if (r < 0) {
        ad_templates_destroy(t);
        return r;
    }
    *ret = t;
    return 0;
}

static void free_rate(struct rate *r)
{
    free(r->text);
    free(r->resource);
    free(r->source);
}

void ad_templates_destroy(struct ad_templates *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n_svcs; i++) {
        free(t->svcs[i].name);
        ad_tmpl_destroy(t->svcs[i].miner);
    }
    for (uint32_t i = 0; i < t->n_rates; i++)
        free_rate(&t->rates[i]);
    ad_logjson_fini(&t->lj);
    free(t->svcs);
    free(t->rates);
    ad_u64map_fini(&t->by_svc);
    ad_u64map_fini(&t->by_rate);
    free_masks(t->masks, t->cfg.masks.n);
    free(t);
}

/* --- tables --------------------------------------------------------------------------------- */

static uint64_t svc_key(struct ad_str name) { return ad_u64map_key(ad_hash64(name.p, name.len, 0x7e3)); }
static uint64_t rate_key(uint64_t skey, uint64_t tid)
{
    return ad_u64map_key(ad_hash64(&tid, sizeof(tid), skey));
}

static struct svc *get_svc(struct ad_templates *t, struct ad_str name, int64_t now_ns)
{
    uint64_t k = svc_key(name);
    uint32_t i;
    if (ad_u64map_get(&t->by_svc, k, &i))
        return &t->svcs[i];
    if (t->n_svcs >= t->cfg.max_services) {
        t->st.services_refused++;
        return NULL;
    }
    if (t->n_svcs == t->cap_svcs) {
        uint32_t cap = t->cap_svcs ? t->cap_svcs * 2 : 16;
        struct svc *v = realloc(t->svcs, cap * sizeof(*v));
        if (!v)
            return NULL;
        t->svcs = v;
        t->cap_svcs = cap;
    }
    struct svc *s = &t->svcs[t->n_svcs];
    memset(s, 0, sizeof(*s));
    struct ad_err err;
    s->key = k;
    s->first_ns = now_ns;
    if (!(s->name = strndup(name.p ? name.p : "", name.len)) ||
        ad_tmpl_create(&t->mcfg, &s->miner, &err) < 0 ||
        ad_u64map_put(&t->by_svc, k, t->n_svcs) < 0) {
        free(s->name);
        ad_tmpl_destroy(s->miner);
        return NULL;
    }
    t->n_svcs++;
    return s;
}

static char *dup_str(struct ad_str s, size_t max)
{
    return strndup(s.p ? s.p : "", s.len < max ? s.len : max);
}

/* Replaces *dst with a copy of s unless it already says that. */
static void keep_str(char **dst, struct ad_str s, size_t max)
{
    size_t n = s.len < max ? s.len : max;
    if (*dst && strlen(*dst) == n && memcmp(*dst, s.p, n) == 0)
        return;
    char *c = dup_str(s, max);
    if (c) {
        free(*dst);
        *dst = c;
    }
}

static struct rate *get_rate(struct ad_templates *t, uint32_t svc, uint64_t tid)
{
    uint64_t k = rate_key(t->svcs[svc].key, tid);
    uint32_t i;
    if (ad_u64map_get(&t->by_rate, k, &i))
        return &t->rates[i];
    if (t->n_rates == t->cap_rates) {
        uint32_t cap = t->cap_rates ? t->cap_rates * 2 : 256;
        struct rate *v = realloc(t->rates, cap * sizeof(*v));
        if (!v)
            return NULL;
        t->rates = v;
        t->cap_rates = cap;
    }
    struct rate *r = &t->rates[t->n_rates];
    memset(r, 0, sizeof(*r));
    r->key = k;
    r->tid = tid;
    r->svc = svc;
    ad_det_init(&ad_det_robust, (struct ad_det_state *)(void *)r->det, &t->rate_params);
    if (ad_u64map_put(&t->by_rate, k, t->n_rates) < 0)
        return NULL;
    t->n_rates++;
    return r;
}

static void forget_rate(struct ad_templates *t, uint32_t i)
{
    ad_u64map_del(&t->by_rate, t->rates[i].key);
    free_rate(&t->rates[i]);
    if (i != --t->n_rates) {
        t->rates[i] = t->rates[t->n_rates];
        ad_u64map_put(&t->by_rate, t->rates[i].key, i);
    }
}

/* --- alerts --------------------------------------------------------------------------------- */

static struct out *push(struct ad_templates *t)
{
    if (t->p_len == PENDING_MAX) {
        t->st.pending_dropped++;
        return NULL;
    }
    struct out *o = &t->pending[(t->p_head + t->p_len++) % PENDING_MAX];
    memset(&o->ev, 0, sizeof(o->ev));
    return o;
}

static void add_label(struct ad_event *ev, const char *name, const char *value)
{
    if (ev->n_labels < AD_MAX_LABELS)
        ev->labels[ev->n_labels++] = (struct ad_label){ad_str_c(name), ad_str_c(value)};
}

/* An alert about rate state r (new template or rate) at time now. */
static void alert(struct ad_templates *t, const struct rate *r, bool is_rate, bool resolved,
                  int64_t now_ns, double count, const struct ad_det_out *o)
{
    struct out *x = push(t);
    if (!x)
        return;
    const struct svc *s = &t->svcs[r->svc];
    struct ad_event *ev = &x->ev;
    ev->kind = AD_KIND_ALERT;
    ev->status = resolved ? AD_STATUS_RESOLVED : AD_STATUS_FIRING;
    ev->severity = (enum ad_severity)(is_rate ? t->cfg.rate_severity : t->cfg.new_severity);
    ev->time_ns = now_ns;
    ev->source = ad_str_c(r->source ? r->source : "aiopsd");
    ev->service = ad_str_c(s->name);
    ev->resource = ad_str_c(r->resource ? r->resource : s->name);
    snprintf(x->tid, sizeof(x->tid), "%016" PRIx64, r->tid);
    snprintf(x->check, sizeof(x->check), "log:%s:%016" PRIx64, is_rate ? "rate" : "new", r->tid);
    ev->check = ad_str_c(x->check);
    ev->template_id = r->tid;
    ev->template_text = ad_str_c(r->text ? r->text : "");
    const char *text = r->text ? r->text : "";
    add_label(ev, "template_id", x->tid);
    if (is_rate) {
        snprintf(x->rate, sizeof(x->rate), "%.6g", count);
        snprintf(x->expected, sizeof(x->expected), "%.4g", o ? o->expected : NAN);
        snprintf(x->upper, sizeof(x->upper), "%.4g", o ? o->upper : NAN);
        add_label(ev, "log_rate", x->rate);
        add_label(ev, "log_rate_expected", x->expected);
        add_label(ev, "log_rate_upper", x->upper);
        ev->has_value = true;
        ev->value = count;
        if (resolved)
            snprintf(x->summary, sizeof(x->summary),
                     "log template back to its usual rate in %.200s: %.1000s", s->name, text);
        else
            snprintf(x->summary, sizeof(x->summary),
                     "log template rate %.6g per %gs (usually %.4g, at most %.4g) in %.200s: "
                     "%.1000s",
                     count, (double)t->cfg.rate_interval_ns / 1e9, o ? o->expected : NAN,
                     o ? o->upper : NAN, s->name, text);
    } else if (resolved) {
        snprintf(x->summary, sizeof(x->summary), "new log template in %.200s (seen %llds ago): "
                 "%.1000s", s->name, (long long)(t->cfg.new_hold_ns / 1000000000), text);
    } else {
        snprintf(x->summary, sizeof(x->summary), "new log template in %.200s: %.1000s", s->name,
                 text);
    }
    ev->summary = ad_str_c(x->summary);
}

/* Learns the interval that ended at bucket_start + interval, then the empty ones up to now. */
static void close_buckets(struct ad_templates *t, struct rate *r, int64_t now_ns)
{
    int64_t iv = t->cfg.rate_interval_ns;
    int zeros = 0;
    while (r->bucket_start != 0 && now_ns >= r->bucket_start + iv) {
        int64_t end = r->bucket_start + iv;
        struct ad_det_out o;
        double c = r->count;
        if (ad_det_update(&ad_det_robust, (struct ad_det_state *)(void *)r->det, &t->rate_params,
                          end, c, &o) == 0 && t->cfg.alert_rate) {
            bool high = o.warm && c > o.upper && c >= (double)t->cfg.rate_min;
            if (high && !r->rate_firing) {
                r->rate_firing = true;
                r->in_run = 0;
                t->st.rate_raised++;
                alert(t, r, true, false, end, c, &o);
            } else if (r->rate_firing && !high && ++r->in_run >= t->cfg.rate_resolve_after) {
                r->rate_firing = false;
                t->st.rate_resolved++;
                alert(t, r, true, true, end, c, &o);
            } else if (high) {
                r->in_run = 0;
            }
        }
        r->count = 0;
        r->bucket_start = end;
        if (c == 0 && ++zeros >= MAX_ZERO_FILL) { /* a long gap: start again at now */
            r->bucket_start = now_ns - now_ns % iv;
            break;
        }
    }
}

static void hold_new(struct ad_templates *t, struct rate *r, int64_t now_ns)
{
    if (r->new_at && now_ns - r->new_at >= t->cfg.new_hold_ns) {
        r->new_at = 0;
        t->st.new_resolved++;
        alert(t, r, false, true, now_ns, 0, NULL);
    }
}

/* --- observe ------------------------------------------------------------------------------ */

/* What is mined of a log event: its summary, or, for a JSON object with a msg/message/log
 * string (JSON lines over syslog or HTTP), that string; the object's other fields become labels
 * of the event where it has none of that name (valid until the next event, like the params). */
static struct ad_str message_of(struct ad_templates *t, struct ad_event *ev)
{
    struct ad_str s = ev->summary;
    size_t i = 0;
    while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    if (!t->cfg.json || i == s.len || s.p[i] != '{' || ad_logjson_parse(s, &t->lj) != 1)
        return s;
    t->st.json_lines++;
    t->st.json_labels_dropped += t->lj.n_dropped;
    for (uint32_t f = 0; f < t->lj.n_fields; f++) {
        const struct ad_logjson_field *fd = &t->lj.fields[f];
        bool have = false;
        for (uint8_t k = 0; k < ev->n_labels && !have; k++)
            have = ad_str_eq(ev->labels[k].name, fd->key);
        if (have)
            continue;
        if (ev->n_labels == AD_MAX_LABELS || fd->key.len == 0 || fd->key.len > AD_MAX_FIELD_LEN ||
            fd->value.len > AD_MAX_FIELD_LEN) {
            t->st.json_labels_dropped++;
            continue;
        }
        ev->labels[ev->n_labels++] = (struct ad_label){fd->key, fd->value};
    }
    return t->lj.message;
}

int ad_templates_observe(struct ad_templates *t, struct ad_event *ev)
{
    t->p_head = (t->p_head + t->p_len) % PENDING_MAX;
    t->p_len = 0;
    if (ev->kind != AD_KIND_LOG || !t->cfg.enabled)
        return 0;
    struct svc *s = get_svc(t, ev->service, ev->time_ns);
    if (!s)
        return 0; /* refused (max_services, counted) or out of memory: passed on unmined */
    uint32_t si = (uint32_t)(s - t->svcs);
    const struct ad_tmpl_match *m = &t->match; /* its params are the event's: kept */
    if (ad_tmpl_add(s->miner, message_of(t, ev), ev->time_ns, &t->match) < 0)
        return 0;
    t->st.lines++;
    ev->template_id = m->id;
    ev->template_text = m->text;
    ev->n_params = (uint8_t)m->n_params;
    ev->params = m->params; /* valid until the next event */
    struct rate *r = get_rate(t, si, m->id);
    if (!r)
        return 0;
    if (m->created || m->changed || !r->text)
        keep_str(&r->text, m->text, MAX_TEXT);
    keep_str(&r->resource, ev->resource, AD_MAX_FIELD_LEN);
    if (!r->source)
        r->source = dup_str(ev->source, 256);
    r->last_seen_ns = ev->time_ns;
    if (r->bucket_start == 0)
        r->bucket_start = ev->time_ns - ev->time_ns % t->cfg.rate_interval_ns;
    close_buckets(t, r, ev->time_ns);
    r->count++;
    hold_new(t, r, ev->time_ns);
    if (m->created && t->cfg.alert_new && ev->time_ns - s->first_ns >= t->cfg.learning_period_ns) {
        r->new_at = ev->time_ns;
        t->st.new_raised++;
        alert(t, r, false, false, ev->time_ns, 0, NULL);
    }
    return 0;
}

int ad_templates_take(struct ad_templates *t, struct ad_event *ev)
{
    if (t->p_len == 0)
        return 0;
    *ev = t->pending[t->p_head].ev;
    t->p_head = (t->p_head + 1) % PENDING_MAX;
    t->p_len--;
    return 1;
}

void ad_templates_expire(struct ad_templates *t, int64_t now_ns)
{
    t->p_head = (t->p_head + t->p_len) % PENDING_MAX;
    t->p_len = 0;
    for (uint32_t k = 0; k < EXPIRE_BUDGET && t->n_rates > 0 && t->p_len < PENDING_MAX / 2; k++) {
        if (t->cursor >= t->n_rates)
            t->cursor = 0;
        struct rate *r = &t->rates[t->cursor];
        close_buckets(t, r, now_ns);
        hold_new(t, r, now_ns);
        if (!r->rate_firing && !r->new_at && now_ns - r->last_seen_ns > t->cfg.forget_after_ns)
            forget_rate(t, t->cursor);
        else
            t->cursor++;
    }
}

void ad_templates_get_stats(const struct ad_templates *t, struct ad_templates_stats *ret)
{
    *ret = t->st;
    ret->services = t->n_svcs;
    ret->rates = t->n_rates;
    ret->templates = 0;
    ret->bytes = (size_t)t->cap_rates * sizeof(struct rate) + (size_t)t->cap_svcs * sizeof(struct svc) +
                 ad_u64map_bytes(&t->by_rate) + ad_u64map_bytes(&t->by_svc);
    for (uint32_t i = 0; i < t->n_svcs; i++) {
        struct ad_tmpl_stats ms;
        ad_tmpl_get_stats(t->svcs[i].miner, &ms);
        ret->templates += ms.templates;
        ret->bytes += ms.bytes;
        ret->created += ms.created;
        ret->changed += ms.changed;
        ret->evicted += ms.evicted;
        ret->truncated += ms.truncated;
        ret->merged += ms.merged;
        ret->split += ms.split;
    }
}

/* --- state ---------------------------------------------------------------------------------- */

static void save_to(const struct ad_templates *t, struct ad_wr *w)
{
    ad_wr_u32(w, STATE_VERSION);
    ad_wr_u32(w, t->n_svcs);
    for (uint32_t i = 0; i < t->n_svcs && w->err == 0; i++) {
        const struct svc *s = &t->svcs[i];
        ad_wr_cstr(w, s->name);
        ad_wr_i64(w, s->first_ns);
        size_t at = ad_wr_begin_len(w);
        int r = ad_tmpl_save(s->miner, w);
        w->err = w->err ? w->err : r;
        ad_wr_end_len(w, at);
    }
    ad_wr_u32(w, t->n_rates);
    for (uint32_t i = 0; i < t->n_rates && w->err == 0; i++) {
        const struct rate *r = &t->rates[i];
        ad_wr_u64(w, r->tid);
        ad_wr_u32(w, r->svc);
        ad_wr_u32(w, r->count);
        ad_wr_i64(w, r->bucket_start);
        ad_wr_i64(w, r->last_seen_ns);
        ad_wr_i64(w, r->new_at);
        ad_wr_u32(w, r->in_run);
        ad_wr_u8(w, r->rate_firing);
        ad_wr_cstr(w, r->text);
        ad_wr_cstr(w, r->resource);
        ad_wr_cstr(w, r->source);
        ad_wr_bytes(w, r->det, ad_det_robust.state_size);
    }
}

int ad_templates_save(const struct ad_templates *t, struct ad_buf *out)
{
    struct ad_wr w = {out, 0};
    save_to(t, &w);
    return w.err;
}

static void clear(struct ad_templates *t)
{
    while (t->n_rates)
        forget_rate(t, t->n_rates - 1);
    for (uint32_t i = 0; i < t->n_svcs; i++) {
        ad_u64map_del(&t->by_svc, t->svcs[i].key);
        free(t->svcs[i].name);
        ad_tmpl_destroy(t->svcs[i].miner);
    }
    t->n_svcs = 0;
    t->cursor = 0;
}

static int load_from(struct ad_templates *t, struct ad_rd *r, struct ad_err *reterr)
{
    clear(t);
    if (ad_rd_u32(r) != STATE_VERSION || r->bad)
        return ad_err_set(reterr, EINVAL, "models.templates: unknown state version");
    uint32_t ns = ad_rd_u32(r);
    if (r->bad || ns > t->cfg.max_services)
        return ad_err_set(reterr, EINVAL, "models.templates: corrupt state (services)");
    for (uint32_t i = 0; i < ns; i++) {
        char *name = ad_rd_strdup(r, AD_MAX_FIELD_LEN);
        int64_t first = ad_rd_i64(r);
        struct ad_rd sub = ad_rd_sub(r);
        struct svc *s = name && !r->bad ? get_svc(t, ad_str_c(name), first) : NULL;
        free(name);
        if (!s || s != &t->svcs[i])
            return ad_err_set(reterr, EINVAL, "models.templates: corrupt state (service %u)", i);
        int rc = ad_tmpl_load(s->miner, &sub, reterr);
        if (rc < 0)
            return rc;
    }
    uint32_t nr = ad_rd_u32(r);
    if (r->bad)
        return ad_err_set(reterr, EINVAL, "models.templates: corrupt state (rates)");
    for (uint32_t i = 0; i < nr; i++) {
        uint64_t tid = ad_rd_u64(r);
        uint32_t si = ad_rd_u32(r);
        if (r->bad || si >= t->n_svcs)
            return ad_err_set(reterr, EINVAL, "models.templates: corrupt state (rate %u)", i);
        struct rate *x = get_rate(t, si, tid);
        if (!x || x != &t->rates[i])
            return ad_err_set(reterr, EINVAL, "models.templates: corrupt state (rate %u)", i);
        x->count = ad_rd_u32(r);
        x->bucket_start = ad_rd_i64(r);
        x->last_seen_ns = ad_rd_i64(r);
        x->new_at = ad_rd_i64(r);
        x->in_run = ad_rd_u32(r);
        x->rate_firing = ad_rd_u8(r) != 0;
        x->text = ad_rd_strdup(r, MAX_TEXT);
        x->resource = ad_rd_strdup(r, AD_MAX_FIELD_LEN);
        x->source = ad_rd_strdup(r, 256);
        struct ad_rd det = ad_rd_sub(r);
        if (r->bad || det.n != ad_det_robust.state_size || det.p[0] != ad_det_robust.id)
            return ad_err_set(reterr, EINVAL, "models.templates: corrupt state (rate %u)", i);
        memcpy(x->det, det.p, det.n);
    }
    if (r->n != 0)
        return ad_err_set(reterr, EINVAL, "models.templates: trailing bytes in the state");
    return 0;
}

/* The model's load op: nothing half-loaded, a refused state leaves mining to start from scratch. */
static int op_load(void *state, struct ad_rd *r, struct ad_err *reterr)
{
    int rc = load_from(state, r, reterr);
    if (rc < 0)
        clear(state);
    return rc;
}

int ad_templates_load(struct ad_templates *t, const void *data, size_t len, struct ad_err *reterr)
{
    struct ad_rd r = ad_rd_make(data, len);
    return op_load(t, &r, reterr);
}

/* --- model ops ------------------------------------------------------------------------------ */

static const struct ad_opt templates_opts[] = {
    AD_OPT_BOOL("enabled", "true", struct ad_templates_cfg, enabled,
                "Mine log events into templates; raise alerts on new templates and rate bursts."),
    AD_OPT_BOOL("json", "true", struct ad_templates_cfg, json,
                "A message that is a JSON object is mined by its msg, message or log string; its "
                "other fields become labels of the event."),
    AD_OPT_DOUBLE("similarity", "0.6", "0.05", "1", struct ad_templates_cfg, similarity,
                  "Share of a line's tokens equal to a template's for the line to join it."),
    AD_OPT_UINT("merge_min", "4", "2", "1000", struct ad_templates_cfg, merge_min,
                "Distinct words at one position before sibling templates may fold into one."),
    AD_OPT_DOUBLE("merge_mean", "1", "0.1", "1000000", struct ad_templates_cfg, merge_mean,
                  "...when the most frequent word has as many lines as the others together and "
                  "the others average at most this many lines."),
    AD_OPT_UINT("merge_always", "4", "2", "1000", struct ad_templates_cfg, merge_always,
                "Distinct words at one position that fold sibling templates whatever their "
                "counts."),
    AD_OPT_UINT("split_min", "128", "2", "4294967295", struct ad_templates_cfg, split_min,
                "Lines at a folded position before it may split again into one template per "
                "frequent word (4294967295: never)."),
    AD_OPT_UINT("depth", "4", "3", "16", struct ad_templates_cfg, depth,
                "Prefix-tree depth (token count, then depth - 2 leading tokens)."),
    AD_OPT_UINT("max_children", "100", "2", "100000", struct ad_templates_cfg, max_children,
                "Children per tree node before further tokens share the wildcard child."),
    AD_OPT_UINT("max_templates", "10000", "16", "10000000", struct ad_templates_cfg, max_templates,
                "Templates per service; past it the least recently used is evicted."),
    AD_OPT_UINT("max_services", "10000", "1", "1000000", struct ad_templates_cfg, max_services,
                "Services with their own templates; logs of further services pass unmined "
                "(counted)."),
    AD_OPT_UINT("max_line", "4096", "64", "65536", struct ad_templates_cfg, max_line,
                "Bytes of a message mined; the rest is cut (counted)."),
    AD_OPT_STRLIST("masks", "", struct ad_templates_cfg, masks,
                   "Extra variables to mask before mining: \"name=regex\" items (PCRE2)."),
    AD_OPT_DURATION("learning_period", "1h", "0s", "90d", struct ad_templates_cfg,
                    learning_period_ns,
                    "Per service, from its first log line: new templates raise no alert before."),
    AD_OPT_BOOL("alert_new", "true", struct ad_templates_cfg, alert_new,
                "Raise log:new:<id> for a template never seen before (after learning_period)."),
    AD_OPT_DURATION("new_hold", "1h", "1m", "30d", struct ad_templates_cfg, new_hold_ns,
                    "A new-template alert resolves this long after it fired."),
    AD_OPT_ENUM("new_severity", "warning", sev_names, struct ad_templates_cfg, new_severity,
                "Severity of new-template alerts."),
    AD_OPT_BOOL("alert_rate", "true", struct ad_templates_cfg, alert_rate,
                "Raise log:rate:<id> when a template's rate is far above its own baseline."),
    AD_OPT_DURATION("rate_interval", "1m", "1s", "1h", struct ad_templates_cfg, rate_interval_ns,
                    "Lines are counted per this interval; each count is one point of the "
                    "template's rate baseline."),
    AD_OPT_UINT("rate_min", "10", "1", "100000000", struct ad_templates_cfg, rate_min,
                "A count under this never raises a rate alert, whatever its baseline."),
    AD_OPT_DOUBLE("rate_band", "5", "1", "50", struct ad_templates_cfg, rate_band,
                  "Band of the rate baseline, in its spreads (robust detector)."),
    AD_OPT_UINT("rate_warmup", "60", "5", "100000", struct ad_templates_cfg, rate_warmup,
                "Intervals a template's rate is learned before it can raise an alert."),
    AD_OPT_UINT("rate_resolve_after", "3", "1", "1000", struct ad_templates_cfg, rate_resolve_after,
                "Intervals back inside the band that resolve a rate alert."),
    AD_OPT_ENUM("rate_severity", "warning", sev_names, struct ad_templates_cfg, rate_severity,
                "Severity of rate alerts."),
    AD_OPT_DURATION("forget_after", "7d", "1m", "365d", struct ad_templates_cfg, forget_after_ns,
                    "A template's rate state unseen this long (event time) is dropped."),
    AD_MODEL_STATE_OPTS(struct ad_templates_cfg, "templates.state",
                        "the templates (their ids stay stable)"),
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_templates_create(cfg, (struct ad_templates **)ret, reterr);
}

/* Masks and mining settings apply to services seen from now on (a miner keeps what it was built
 * with: its templates depend on them); alerting settings apply at once. */
static int op_reconfigure(void *state, const void *cfg, struct ad_err *reterr)
{
    return apply_cfg(state, cfg, reterr);
}

static int op_observe(void *state, struct ad_event *ev) { return ad_templates_observe(state, ev); }
static int op_take(void *state, struct ad_event *ev) { return ad_templates_take(state, ev); }
static void op_expire(void *state, int64_t now_ns) { ad_templates_expire(state, now_ns); }

static void op_stats(const void *state, struct ad_metrics *m)
{
    struct ad_templates_stats st;
    ad_templates_get_stats(state, &st);
    ad_metrics_gauge(m, "aiopsd_templates", "Log templates held (all services).", NULL,
                     (double)st.templates);
    ad_metrics_gauge(m, "aiopsd_templates_services", "Services with their own templates.", NULL,
                     (double)st.services);
    ad_metrics_gauge(m, "aiopsd_templates_bytes", "Memory of the template miners and rates.",
                     NULL, (double)st.bytes);
    ad_metrics_counter(m, "aiopsd_templates_lines_total", "Log lines mined.", NULL, st.lines);
    const char *h = "Templates created, changed (a position became a wildcard), evicted and "
                    "folded into a sibling.";
    ad_metrics_counter(m, "aiopsd_templates_changes_total", h, "change=\"created\"", st.created);
    ad_metrics_counter(m, "aiopsd_templates_changes_total", h, "change=\"changed\"", st.changed);
    ad_metrics_counter(m, "aiopsd_templates_changes_total", h, "change=\"evicted\"", st.evicted);
    ad_metrics_counter(m, "aiopsd_templates_changes_total", h, "change=\"folded\"", st.merged);
    ad_metrics_counter(m, "aiopsd_templates_changes_total", h, "change=\"split\"", st.split);
    ad_metrics_counter(m, "aiopsd_templates_json_lines_total",
                       "Log messages that were JSON objects, mined by their msg/message/log.",
                       NULL, st.json_lines);
    ad_metrics_counter(m, "aiopsd_templates_json_labels_dropped_total",
                       "Fields of JSON messages not made labels (AD_MAX_LABELS, size).", NULL,
                       st.json_labels_dropped);
    ad_metrics_counter(m, "aiopsd_templates_truncated_total", "Lines cut at max_line.", NULL,
                       st.truncated);
    ad_metrics_counter(m, "aiopsd_templates_services_refused_total",
                       "Log lines of services past max_services (not mined).", NULL,
                       st.services_refused);
    h = "Template alerts raised and resolved, by kind.";
    ad_metrics_counter(m, "aiopsd_templates_alerts_total", h, "kind=\"new\",transition=\"raised\"",
                       st.new_raised);
    ad_metrics_counter(m, "aiopsd_templates_alerts_total", h,
                       "kind=\"new\",transition=\"resolved\"", st.new_resolved);
    ad_metrics_counter(m, "aiopsd_templates_alerts_total", h, "kind=\"rate\",transition=\"raised\"",
                       st.rate_raised);
    ad_metrics_counter(m, "aiopsd_templates_alerts_total", h,
                       "kind=\"rate\",transition=\"resolved\"", st.rate_resolved);
    ad_metrics_counter(m, "aiopsd_templates_alerts_dropped_total",
                       "Template alerts dropped because too many were waiting at once.", NULL,
                       st.pending_dropped);
}

static void op_destroy(void *state) { ad_templates_destroy(state); }

static int op_save(const void *state, struct ad_wr *w)
{
    save_to(state, w);
    return w->err;
}

const struct ad_model_ops ad_model_templates = {
    .name = "templates",
    .doc = "Log template mining: log lines carry their template; new templates and template "
           "rate bursts become alerts.",
    .opts = templates_opts,
    .cfg_size = sizeof(struct ad_templates_cfg),
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
