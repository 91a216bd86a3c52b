/* models/dedup.c: fingerprint records in a slab with an LRU list and a u64 hash index.
 * Pure: no I/O, no clock. Memory: one record (48 bytes) plus two index slots per fingerprint. */
#include "models/dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/u64map.h"

#define NIL UINT32_MAX

enum field { F_SOURCE, F_RESOURCE, F_SERVICE, F_CHECK, F_KIND, F_SUMMARY };
static const char *const field_names[] = {"source", "resource", "service", "check", "kind", "summary"};
#define N_FIELDS (sizeof(field_names) / sizeof(field_names[0]))
#define MAX_IDENTITY 16

struct rec {
    uint64_t fp;
    int64_t last_seen_ns;
    int64_t last_passed_ns;  /* event time the last event of this fingerprint was passed on */
    int64_t changed_ns;      /* event time of the last firing/resolved transition */
    uint32_t count;          /* events seen, saturating */
    uint32_t prev, next;     /* LRU list; head = least recently seen */
    uint8_t status;          /* enum ad_status */
    uint8_t severity;        /* highest while firing */
};

struct ad_dedup {
    int64_t window_ns;
    int64_t expire_after_ns;
    size_t max;
    enum field identity[MAX_IDENTITY];
    size_t n_identity;
    char **labels;           /* owned copies of identity label names */
    size_t n_labels;

    struct rec *recs;        /* slab; grows by doubling up to max */
    size_t cap, used;
    uint32_t free_head;      /* free list through rec.next */
    uint32_t lru_head, lru_tail;
    struct ad_u64map index;  /* fingerprint -> rec index */
    struct ad_dedup_stats st;
};

static int parse_identity(struct ad_dedup *d, const struct ad_dedup_cfg *cfg, struct ad_err *reterr)
{
    if (cfg->identity.n == 0 || cfg->identity.n > MAX_IDENTITY)
        return ad_err_set(reterr, EINVAL, "models.dedup.identity: expected 1 to %d fields",
                          MAX_IDENTITY);
    for (size_t i = 0; i < cfg->identity.n; i++) {
        size_t f = 0;
        while (f < N_FIELDS && strcmp(field_names[f], cfg->identity.v[i]) != 0)
            f++;
        if (f == N_FIELDS)
            return ad_err_set(reterr, EINVAL,
                              "models.dedup.identity: unknown field '%s' (expected source, "
                              "resource, service, check, kind or summary)",
                              cfg->identity.v[i]);
        d->identity[i] = (enum field)f;
    }
    d->n_identity = cfg->identity.n;
    return 0;
}

static int copy_labels(struct ad_dedup *d, const struct ad_strlist *l)
{
    char **v = calloc(l->n ? l->n : 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        v[i] = strdup(l->v[i]);
        if (!v[i]) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < d->n_labels; i++)
        free(d->labels[i]);
    free(d->labels);
    d->labels = v;
    d->n_labels = l->n;
    return 0;
}

static int apply_cfg(struct ad_dedup *d, const struct ad_dedup_cfg *cfg, struct ad_err *reterr)
{
    struct ad_dedup tmp = *d;
    int r = parse_identity(&tmp, cfg, reterr);
    if (r < 0)
        return r;
    if (copy_labels(d, &cfg->identity_labels) < 0)
        return ad_err_set(reterr, ENOMEM, "models.dedup: out of memory");
    memcpy(d->identity, tmp.identity, sizeof(d->identity));
    d->n_identity = tmp.n_identity;
    d->window_ns = cfg->window_ns;
    d->expire_after_ns = cfg->expire_after_ns;
    d->max = cfg->max_fingerprints ? cfg->max_fingerprints : 1;
    return 0;
}

int ad_dedup_create(const struct ad_dedup_cfg *cfg, struct ad_dedup **ret, struct ad_err *reterr)
{
    struct ad_dedup *d = calloc(1, sizeof(*d));
    if (!d)
        return ad_err_set(reterr, ENOMEM, "models.dedup: out of memory");
    d->lru_head = d->lru_tail = d->free_head = NIL;
    int r = apply_cfg(d, cfg, reterr);
    if (r == 0 && ad_u64map_init(&d->index, 1024) < 0)
        r = ad_err_set(reterr, ENOMEM, "models.dedup: out of memory");
    if (r < 0) {
        ad_dedup_destroy(d);
        return r;
    }
    *ret = d;
    return 0;
}

void ad_dedup_destroy(struct ad_dedup *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_labels; i++)
        free(d->labels[i]);
    free(d->labels);
    free(d->recs);
    ad_u64map_fini(&d->index);
    free(d);
}

int ad_dedup_reconfigure(struct ad_dedup *d, const struct ad_dedup_cfg *cfg, struct ad_err *reterr)
{
    /* A changed identity changes every fingerprint: existing records simply age out. */
    return apply_cfg(d, cfg, reterr);
}

static struct ad_str field_of(const struct ad_event *ev, enum field f)
{
    switch (f) {
    case F_SOURCE: return ev->source;
    case F_RESOURCE: return ev->resource;
    case F_SERVICE: return ev->service;
    case F_CHECK: return ev->check;
    case F_KIND: return ad_str_c(ad_kind_name(ev->kind));
    case F_SUMMARY: return ev->summary;
    }
    return AD_STR_NULL;
}

uint64_t ad_dedup_fingerprint(const struct ad_dedup *d, const struct ad_event *ev)
{
    uint64_t h = 0x5eed;
    for (size_t i = 0; i < d->n_identity; i++)
        h = ad_hash_field(h, field_of(ev, d->identity[i]));
    for (size_t i = 0; i < d->n_labels; i++) {
        struct ad_str name = ad_str_c(d->labels[i]);
        h = ad_hash_field(h, name);
        h = ad_hash_field(h, ad_event_label(ev, name));
    }
    return ad_u64map_key(h);
}

static void lru_unlink(struct ad_dedup *d, uint32_t i)
{
    struct rec *r = &d->recs[i];
    if (r->prev != NIL)
        d->recs[r->prev].next = r->next;
    else
        d->lru_head = r->next;
    if (r->next != NIL)
        d->recs[r->next].prev = r->prev;
    else
        d->lru_tail = r->prev;
    r->prev = r->next = NIL;
}

static void lru_push_tail(struct ad_dedup *d, uint32_t i)
{
    struct rec *r = &d->recs[i];
    r->prev = d->lru_tail;
    r->next = NIL;
    if (d->lru_tail != NIL)
        d->recs[d->lru_tail].next = i;
    else
        d->lru_head = i;
    d->lru_tail = i;
}

static void drop(struct ad_dedup *d, uint32_t i)
{
    lru_unlink(d, i);
    ad_u64map_del(&d->index, d->recs[i].fp);
    d->recs[i].fp = 0;
    d->recs[i].next = d->free_head;
    d->free_head = i;
    d->st.tracked--;
}

static int alloc_rec(struct ad_dedup *d, uint32_t *ret)
{
    if (d->st.tracked >= d->max && d->lru_head != NIL) {
        drop(d, d->lru_head); /* full: the least recently seen fingerprint goes */
        d->st.evicted++;
    }
    if (d->free_head != NIL) {
        *ret = d->free_head;
        d->free_head = d->recs[*ret].next;
        return 0;
    }
    if (d->used == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        if (cap > d->max)
            cap = d->max > d->used ? d->max : d->used + 1;
        struct rec *recs = realloc(d->recs, cap * sizeof(*recs));
        if (!recs)
            return -ENOMEM;
        d->recs = recs;
        d->cap = cap;
    }
    *ret = (uint32_t)d->used++;
    return 0;
}

static int insert(struct ad_dedup *d, const struct ad_event *ev)
{
    uint32_t i;
    if (alloc_rec(d, &i) < 0 || ad_u64map_put(&d->index, ev->fingerprint, i) < 0) {
        d->st.oom++;
        return -ENOMEM;
    }
    struct rec *r = &d->recs[i];
    memset(r, 0, sizeof(*r));
    r->fp = ev->fingerprint;
    r->last_seen_ns = r->last_passed_ns = r->changed_ns = ev->time_ns;
    r->count = 1;
    r->status = AD_STATUS_FIRING;
    r->severity = (uint8_t)ev->severity;
    lru_push_tail(d, i);
    d->st.tracked++;
    return 0;
}

static int observe_known(struct ad_dedup *d, struct rec *r, struct ad_event *ev)
{
    int64_t t = ev->time_ns;

    if (r->count < UINT32_MAX)
        r->count++;
    if (t > r->last_seen_ns)
        r->last_seen_ns = t;
    /* An event older than the last state change is a late arrival of an earlier state: acting
     * on it would reopen or close the alert wrongly. */
    if (t < r->changed_ns && ev->status != r->status) {
        d->st.stale++;
        return AD_CONSUMED;
    }
    if (ev->status == AD_STATUS_RESOLVED) {
        if (r->status == AD_STATUS_RESOLVED) {
            d->st.suppressed++;
            return AD_CONSUMED;
        }
        r->status = AD_STATUS_RESOLVED;
        r->changed_ns = r->last_passed_ns = t;
        ev->flags |= AD_EVF_RESOLVED;
        d->st.passed_resolved++;
        return 0;
    }
    if (r->status == AD_STATUS_RESOLVED) {
        /* Fires again after a resolve: a new occurrence of the alert. */
        r->status = AD_STATUS_FIRING;
        r->severity = (uint8_t)ev->severity;
        r->changed_ns = r->last_passed_ns = t;
        ev->flags |= AD_EVF_NEW;
        d->st.passed_new++;
        return 0;
    }
    if ((uint8_t)ev->severity > r->severity) {
        r->severity = (uint8_t)ev->severity;
        r->last_passed_ns = t;
        ev->flags |= AD_EVF_ESCALATED;
        d->st.passed_escalated++;
        return 0;
    }
    if (t - r->last_passed_ns >= d->window_ns) {
        r->last_passed_ns = t;
        ev->flags |= AD_EVF_REPEAT;
        d->st.passed_repeat++;
        return 0;
    }
    d->st.suppressed++;
    return AD_CONSUMED;
}

int ad_dedup_observe(struct ad_dedup *d, struct ad_event *ev)
{
    if (ev->kind != AD_KIND_ALERT)
        return 0;
    d->st.seen++;
    ev->fingerprint = ad_dedup_fingerprint(d, ev);

    uint32_t i;
    if (ad_u64map_get(&d->index, ev->fingerprint, &i)) {
        lru_unlink(d, i);
        lru_push_tail(d, i);
        return observe_known(d, &d->recs[i], ev);
    }
    if (ev->status == AD_STATUS_RESOLVED) {
        /* Nothing open to close (never seen, expired or evicted). */
        d->st.orphan_resolved++;
        return AD_CONSUMED;
    }
    int r = insert(d, ev);
    if (r < 0)
        return r;
    ev->flags |= AD_EVF_NEW;
    d->st.passed_new++;
    return 0;
}

size_t ad_dedup_expire(struct ad_dedup *d, int64_t now_ns, size_t budget)
{
    size_t n = 0;
    /* The LRU head is the least recently seen record; stop at the first one still fresh. */
    while (n < budget && d->lru_head != NIL &&
           now_ns - d->recs[d->lru_head].last_seen_ns > d->expire_after_ns) {
        drop(d, d->lru_head);
        n++;
    }
    d->st.expired += n;
    return n;
}

void ad_dedup_get_stats(const struct ad_dedup *d, struct ad_dedup_stats *ret)
{
    *ret = d->st;
    ret->bytes = sizeof(*d) + d->cap * sizeof(struct rec) + ad_u64map_bytes(&d->index);
}

/* --- snapshot ----------------------------------------------------------------------------- */

#define DEDUP_SNAP_VERSION 1

int ad_dedup_save(const struct ad_dedup *d, struct ad_wr *w)
{
    ad_wr_u32(w, DEDUP_SNAP_VERSION);
    ad_wr_u64(w, d->st.tracked);
    for (uint32_t i = d->lru_head; i != NIL; i = d->recs[i].next) {
        const struct rec *r = &d->recs[i];
        ad_wr_u64(w, r->fp);
        ad_wr_i64(w, r->last_seen_ns);
        ad_wr_i64(w, r->last_passed_ns);
        ad_wr_i64(w, r->changed_ns);
        ad_wr_u32(w, r->count);
        ad_wr_u8(w, r->status);
        ad_wr_u8(w, r->severity);
    }
    return w->err;
}

int ad_dedup_load(struct ad_dedup *d, struct ad_rd *r)
{
    if (d->st.tracked != 0 || ad_rd_u32(r) != DEDUP_SNAP_VERSION)
        return -EINVAL;
    uint64_t n = ad_rd_u64(r);
    if (r->bad || n > r->n / 38) /* 38 bytes per record: a count the data cannot hold is corrupt */
        return -EINVAL;
    uint64_t skip = n > d->max ? n - d->max : 0;
    for (uint64_t k = 0; k < n; k++) {
        struct rec in = {0};
        in.fp = ad_rd_u64(r);
        in.last_seen_ns = ad_rd_i64(r);
        in.last_passed_ns = ad_rd_i64(r);
        in.changed_ns = ad_rd_i64(r);
        in.count = ad_rd_u32(r);
        in.status = ad_rd_u8(r);
        in.severity = ad_rd_u8(r);
        if (r->bad || in.fp == 0 || in.status > AD_STATUS_RESOLVED || in.severity > AD_SEV_CRITICAL)
            return -EINVAL;
        uint32_t i;
        if (k < skip || ad_u64map_get(&d->index, in.fp, &i))
            continue; /* over the bound, or a duplicate record */
        if (alloc_rec(d, &i) < 0 || ad_u64map_put(&d->index, in.fp, i) < 0)
            return -ENOMEM;
        d->recs[i] = in;
        lru_push_tail(d, i);
        d->st.tracked++;
    }
    return r->bad ? -EINVAL : 0;
}

/* --- model ops -------------------------------------------------------------------------- */

static const struct ad_opt dedup_opts[] = {
    AD_OPT_DURATION("window", "5m", "1s", "7d", struct ad_dedup_cfg, window_ns,
                    "Repeats of a firing fingerprint inside this window are suppressed; after it, "
                    "one repeat is passed on as a reminder."),
    AD_OPT_DURATION("expire_after", "24h", "1m", "90d", struct ad_dedup_cfg, expire_after_ns,
                    "A fingerprint not seen for this long (event time) is forgotten."),
    AD_OPT_UINT("max_fingerprints", "1000000", "1000", "100000000", struct ad_dedup_cfg,
                max_fingerprints,
                "Fingerprints tracked at once; past this the least recently seen are evicted."),
    AD_OPT_STRLIST("identity", "source,resource,check", struct ad_dedup_cfg, identity,
                   "Event fields hashed into the fingerprint (source, resource, service, check, "
                   "kind, summary)."),
    AD_OPT_STRLIST("identity_labels", "", struct ad_dedup_cfg, identity_labels,
                   "Label names hashed into the fingerprint as well."),
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_dedup_create(cfg, (struct ad_dedup **)ret, reterr);
}

static int op_reconfigure(void *s, const void *cfg, struct ad_err *reterr)
{
    return ad_dedup_reconfigure(s, cfg, reterr);
}

static int op_observe(void *s, struct ad_event *ev) { return ad_dedup_observe(s, ev); }

static void op_expire(void *s, int64_t now_ns)
{
    /* Bounded work per call, like Redis' incremental rehash. */
    ad_dedup_expire(s, now_ns, 4096);
}

static void op_stats(const void *s, struct ad_metrics *m)
{
    struct ad_dedup_stats st;
    ad_dedup_get_stats(s, &st);
    ad_metrics_gauge(m, "aiopsd_dedup_fingerprints", "Fingerprints tracked now.", NULL,
                     (double)st.tracked);
    ad_metrics_gauge(m, "aiopsd_dedup_bytes",
                     "Memory held by the dedup model (per fingerprint: divide by "
                     "aiopsd_dedup_fingerprints).",
                     NULL,
                     (double)st.bytes);
    const char *h = "Alert events by dedup outcome.";
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"new\"", st.passed_new);
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"escalated\"",
                       st.passed_escalated);
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"repeat\"", st.passed_repeat);
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"resolved\"",
                       st.passed_resolved);
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"suppressed\"", st.suppressed);
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"orphan_resolved\"",
                       st.orphan_resolved);
    ad_metrics_counter(m, "aiopsd_dedup_events_total", h, "outcome=\"stale\"", st.stale);
    ad_metrics_counter(m, "aiopsd_dedup_evicted_total",
                       "Fingerprints evicted because max_fingerprints was reached.", NULL,
                       st.evicted);
    ad_metrics_counter(m, "aiopsd_dedup_expired_total",
                       "Fingerprints forgotten after expire_after.", NULL, st.expired);
    ad_metrics_counter(m, "aiopsd_dedup_oom_total", "Events shed because memory ran out.", NULL,
                       st.oom);
}

static void op_destroy(void *s) { ad_dedup_destroy(s); }

static int op_save(const void *s, struct ad_wr *w) { return ad_dedup_save(s, w); }

static int op_load(void *s, struct ad_rd *r, struct ad_err *reterr)
{
    int rc = ad_dedup_load(s, r);
    return rc < 0 ? ad_err_set(reterr, -rc, "models.dedup: %s", rc == -ENOMEM ? "out of memory"
                                                                            : "corrupt snapshot")
                  : 0;
}

const struct ad_model_ops ad_model_dedup = {
    .name = "dedup",
    .doc = "Duplicate suppression by fingerprint, with a suppression window and resolve tracking.",
    .opts = dedup_opts,
    .cfg_size = sizeof(struct ad_dedup_cfg),
    .create = op_create,
    .reconfigure = op_reconfigure,
    .observe = op_observe,
    .expire = op_expire,
    .stats = op_stats,
    .destroy = op_destroy,
    .save = op_save,
    .load = op_load,
};
