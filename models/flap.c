/* models/flap.c: see flap.h. Records live in a slot array found through a u64 map by fingerprint;
 * expiry walks the slots from a cursor, a bounded number per tick. */
#include "models/flap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/u64map.h"

#define HISTORY 20          /* observed state changes kept, as Nagios does (21 states) */
#define EXPIRE_BUDGET 256   /* slots looked at per expire() call (a tick: 1 s of event time) */
#define NIL UINT32_MAX

struct rec {
    uint64_t fp;          /* 0: free slot */
    int64_t last_seen_ns;
    uint32_t history;     /* bit i set: the (i+1)-th most recent observation changed state */
    uint32_t next_free;
    uint8_t status;       /* last seen: enum ad_status */
    bool flapping;
};

struct ad_flap {
    struct ad_flap_cfg cfg;
    struct rec *recs;
    uint32_t cap, n, free_head, cursor;
    struct ad_u64map by_fp;
    struct ad_flap_stats st;
};

int ad_flap_create(const struct ad_flap_cfg *cfg, struct ad_flap **ret, struct ad_err *reterr)
{
    if (cfg->low_threshold > cfg->high_threshold)
        return ad_err_set(reterr, EINVAL,
                          "models.flap: low_threshold (%g) must not be above high_threshold (%g)",
                          cfg->low_threshold, cfg->high_threshold);
    struct ad_flap *f = calloc(1, sizeof(*f));
    if (!f || ad_u64map_init(&f->by_fp, 1024) < 0) {
        free(f);
        return ad_err_set(reterr, ENOMEM, "models.flap: out of memory");
    }
    f->cfg = *cfg;
    f->free_head = NIL;
    *ret = f;
    return 0;
}

void ad_flap_destroy(struct ad_flap *f)
{
    if (!f)
        return;
    free(f->recs);
    ad_u64map_fini(&f->by_fp);
    free(f);
}

/* Weighted percent of state changes over the history: the newest change weighs 1.2, the oldest
 * 0.8, linearly in between; 100% = every observation changed state. */
static double percent(uint32_t history)
{
    double sum = 0;
    for (int i = 0; i < HISTORY; i++)
        if (history & (1u << i))
            sum += 1.2 - 0.4 * (double)i / (HISTORY - 1);
    return sum * 100.0 / HISTORY;
}

static int alloc_rec(struct ad_flap *f, uint32_t *ret)
{
    if (f->free_head == NIL) {
        uint32_t cap = f->cap ? f->cap * 2 : 256;
        if (cap > f->cfg.max_tracked)
            cap = (uint32_t)f->cfg.max_tracked;
        if (cap <= f->cap)
            return -ENOSPC;
        struct rec *r = realloc(f->recs, (size_t)cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        memset(r + f->cap, 0, (size_t)(cap - f->cap) * sizeof(*r));
        for (uint32_t i = cap; i-- > f->cap;) {
            r[i].next_free = f->free_head;
            f->free_head = i;
        }
        f->recs = r;
        f->cap = cap;
    }
    *ret = f->free_head;
    f->free_head = f->recs[*ret].next_free;
    f->n++;
    return 0;
}

static void free_rec(struct ad_flap *f, uint32_t i)
{
    struct rec *r = &f->recs[i];
    ad_u64map_del(&f->by_fp, r->fp);
    if (r->flapping)
        f->st.flapping--;
    memset(r, 0, sizeof(*r));
    r->next_free = f->free_head;
    f->free_head = i;
    f->n--;
}

int ad_flap_observe(struct ad_flap *f, struct ad_event *ev)
{
    if (!f->cfg.enabled || ev->kind != AD_KIND_ALERT || ev->fingerprint == 0)
        return 0;
    f->st.observed++;
    uint64_t key = ad_u64map_key(ev->fingerprint);
    uint32_t i;
    if (!ad_u64map_get(&f->by_fp, key, &i)) {
        if (alloc_rec(f, &i) < 0 || ad_u64map_put(&f->by_fp, key, i) < 0) {
            f->st.untracked++; /* full (or out of memory): this alert is not judged */
            return 0;
        }
        struct rec *r = &f->recs[i];
        r->fp = key;
        r->status = (uint8_t)ev->status;
        r->last_seen_ns = ev->time_ns;
        return 0; /* a first observation changes nothing */
    }
    struct rec *r = &f->recs[i];
    bool changed = (uint8_t)ev->status != r->status;
    r->history = ((r->history << 1) | (changed ? 1u : 0u)) & ((1u << HISTORY) - 1);
    r->status = (uint8_t)ev->status;
    if (ev->time_ns > r->last_seen_ns)
        r->last_seen_ns = ev->time_ns;
    double pct = percent(r->history);
    if (!r->flapping && pct > f->cfg.high_threshold) {
        r->flapping = true;
        f->st.started++;
        f->st.flapping++;
    } else if (r->flapping && pct < f->cfg.low_threshold) {
        r->flapping = false;
        f->st.stopped++;
        f->st.flapping--;
    }
    if (r->flapping) {
        ev->flags |= AD_EVF_FLAPPING;
        f->st.flagged++;
    }
    return 0;
}

double ad_flap_percent(const struct ad_flap *f, uint64_t fingerprint)
{
    uint32_t i;
    if (!ad_u64map_get(&f->by_fp, ad_u64map_key(fingerprint), &i))
        return 0;
    return percent(f->recs[i].history);
}

static void flap_expire(struct ad_flap *f, int64_t now_ns)
{
    for (uint32_t k = 0; k < EXPIRE_BUDGET && f->cap; k++) {
        uint32_t i = f->cursor++ % f->cap;
        if (f->recs[i].fp && now_ns - f->recs[i].last_seen_ns > f->cfg.expire_after_ns) {
            free_rec(f, i);
            f->st.expired++;
        }
    }
    if (f->cap)
        f->cursor %= f->cap;
}

void ad_flap_get_stats(const struct ad_flap *f, struct ad_flap_stats *ret)
{
    *ret = f->st;
    ret->tracked = f->n;
}

/* --- snapshot: every record with its slot, the free list order and the expiry cursor ---- */

#define FLAP_SNAP_VERSION 1

static int flap_save(const void *state, struct ad_wr *w)
{
    const struct ad_flap *f = state;
    ad_wr_u32(w, FLAP_SNAP_VERSION);
    ad_wr_u32(w, f->cap);
    ad_wr_u32(w, f->cursor);
    uint32_t n_free = 0;
    for (uint32_t i = f->free_head; i != NIL && n_free < f->cap; i = f->recs[i].next_free)
        n_free++;
    ad_wr_u32(w, n_free);
    for (uint32_t i = f->free_head, k = 0; k < n_free; i = f->recs[i].next_free, k++)
        ad_wr_u32(w, i);
    ad_wr_u32(w, f->n);
    for (uint32_t i = 0; i < f->cap; i++) {
        const struct rec *r = &f->recs[i];
        if (!r->fp)
            continue;
        ad_wr_u32(w, i);
        ad_wr_u64(w, r->fp);
        ad_wr_i64(w, r->last_seen_ns);
        ad_wr_u32(w, r->history);
        ad_wr_u8(w, r->status);
        ad_wr_u8(w, r->flapping);
    }
    return w->err;
}

static int flap_load(void *state, struct ad_rd *r, struct ad_err *reterr)
{
    struct ad_flap *f = state;
    uint32_t version = ad_rd_u32(r), cap = ad_rd_u32(r), cursor = ad_rd_u32(r);
    uint32_t n_free = ad_rd_u32(r);
    if (r->bad || version != FLAP_SNAP_VERSION || f->cap || cap > f->cfg.max_tracked ||
        n_free > cap || n_free > r->n / 4)
        return ad_err_set(reterr, EINVAL, "models.flap: corrupt snapshot");
    if (cap) {
        f->recs = calloc(cap, sizeof(*f->recs));
        if (!f->recs)
            return ad_err_set(reterr, ENOMEM, "models.flap: out of memory");
        f->cap = cap;
    }
    f->cursor = cursor < cap ? cursor : 0;
    uint32_t *tail = &f->free_head;
    for (uint32_t k = 0; k < n_free; k++) {
        uint32_t i = ad_rd_u32(r);
        if (r->bad || i >= cap)
            return ad_err_set(reterr, EINVAL, "models.flap: corrupt snapshot");
        *tail = i;
        tail = &f->recs[i].next_free;
    }
    *tail = NIL;
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > cap - n_free)
        return ad_err_set(reterr, EINVAL, "models.flap: corrupt snapshot");
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = ad_rd_u32(r);
        if (r->bad || i >= cap || f->recs[i].fp)
            return ad_err_set(reterr, EINVAL, "models.flap: corrupt snapshot");
        struct rec *rec = &f->recs[i];
        rec->fp = ad_rd_u64(r);
        rec->last_seen_ns = ad_rd_i64(r);
        rec->history = ad_rd_u32(r) & ((1u << HISTORY) - 1);
        rec->status = ad_rd_u8(r);
        rec->flapping = ad_rd_u8(r) != 0;
        if (r->bad || rec->fp == 0 || rec->status > AD_STATUS_RESOLVED ||
            ad_u64map_put(&f->by_fp, rec->fp, i) < 0)
            return ad_err_set(reterr, EINVAL, "models.flap: corrupt snapshot");
        f->n++;
        f->st.flapping += rec->flapping;
    }
    return r->bad ? ad_err_set(reterr, EINVAL, "models.flap: corrupt snapshot") : 0;
}

/* --- model ops ----------------------------------------------------------------------------- */

static const struct ad_opt flap_opts[] = {
    AD_OPT_BOOL("enabled", "true", struct ad_flap_cfg, enabled,
                "Detect flapping alerts (Nagios-style percent state change)."),
    AD_OPT_DOUBLE("high_threshold", "50", "1", "100", struct ad_flap_cfg, high_threshold,
                  "Percent state change over the last 20 observations above which an alert is "
                  "flapping."),
    AD_OPT_DOUBLE("low_threshold", "25", "0", "100", struct ad_flap_cfg, low_threshold,
                  "Percent state change under which a flapping alert has settled."),
    AD_OPT_UINT("max_tracked", "1000000", "16", "100000000", struct ad_flap_cfg, max_tracked,
                "Alert fingerprints tracked at once; past it new ones are not judged (counted)."),
    AD_OPT_DURATION("expire_after", "24h", "1m", "30d", struct ad_flap_cfg, expire_after_ns,
                    "A fingerprint unseen this long (event time) is forgotten."),
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_flap_create(cfg, (struct ad_flap **)ret, reterr);
}

static int op_reconfigure(void *state, const void *cfgp, struct ad_err *reterr)
{
    struct ad_flap *f = state;
    const struct ad_flap_cfg *cfg = cfgp;
    if (cfg->low_threshold > cfg->high_threshold)
        return ad_err_set(reterr, EINVAL,
                          "models.flap: low_threshold (%g) must not be above high_threshold (%g)",
                          cfg->low_threshold, cfg->high_threshold);
    f->cfg = *cfg;
    if (f->cfg.max_tracked < f->cap)
        f->cfg.max_tracked = f->cap; /* what is allocated stays usable; a lower bound applies on restart */
    return 0;
}

static int op_observe(void *state, struct ad_event *ev) { return ad_flap_observe(state, ev); }

static void op_expire(void *state, int64_t now_ns) { flap_expire(state, now_ns); }

static void op_stats(const void *state, struct ad_metrics *m)
{
    struct ad_flap_stats st;
    ad_flap_get_stats(state, &st);
    ad_metrics_gauge(m, "aiopsd_flap_tracked", "Alert fingerprints tracked for flapping.", NULL,
                     (double)st.tracked);
    ad_metrics_gauge(m, "aiopsd_flap_flapping", "Alerts flapping now.", NULL, (double)st.flapping);
    const char *h = "Flapping transitions.";
    ad_metrics_counter(m, "aiopsd_flap_transitions_total", h, "transition=\"started\"", st.started);
    ad_metrics_counter(m, "aiopsd_flap_transitions_total", h, "transition=\"stopped\"", st.stopped);
    ad_metrics_counter(m, "aiopsd_flap_flagged_total",
                       "Alert events marked flapping (their candidate is not updated).", NULL,
                       st.flagged);
    ad_metrics_counter(m, "aiopsd_flap_untracked_total",
                       "Alert events not judged because max_tracked was reached.", NULL,
                       st.untracked);
}

static void op_destroy(void *state) { ad_flap_destroy(state); }

const struct ad_model_ops ad_model_flap = {
    .name = "flap",
    .doc = "Flapping detection: alerts changing state too often are marked and stop updating "
           "their incident until they settle.",
    .opts = flap_opts,
    .cfg_size = sizeof(struct ad_flap_cfg),
    .create = op_create,
    .reconfigure = op_reconfigure,
    .observe = op_observe,
    .expire = op_expire,
    .stats = op_stats,
    .destroy = op_destroy,
    .save = flap_save,
    .load = flap_load,
};
