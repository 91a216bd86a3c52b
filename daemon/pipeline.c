/* daemon/pipeline.c: see pipeline.h. */
#include "daemon/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "config/config.h"
#include "daemon/sections.h"
#include "models/model.h"
#include "models/silence.h"

#define MAX_STAGES 16

struct stage {
    const struct ad_model_ops *model;
    const struct ad_correlator_ops *corr;
    void *state;
};

struct ad_pipeline {
    struct ad_cand_sink sink;
    struct stage models[MAX_STAGES];
    size_t n_models;
    struct stage corrs[MAX_STAGES];
    size_t n_corrs;
    int64_t now_ns;
    int64_t next_tick_ns;
    uint64_t processed[3];   /* by kind */
    uint64_t consumed, errors;
    struct ad_pipeline_cfg time; /* event-time bounds (the "pipeline" section) */
    uint64_t skewed[2][2];       /* [future, past][clamped, dead-lettered] */
    /* The last event beyond max_future: a second source agreeing with it means the stream
     * really moved on (a gap), not one broken clock. suspect_src 0 = none. */
    int64_t suspect_ns;
    uint64_t suspect_src;
    uint64_t jumps;
};

static const void *section_cfg(const struct ad_config *cfg, const char *prefix, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s.%s", prefix, name);
    return ad_config_get(cfg, path);
}

int ad_pipeline_create(const struct ad_config *cfg, const struct ad_cand_sink *sink,
                       struct ad_pipeline **ret, struct ad_err *reterr)
{
    struct ad_pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        return ad_err_set(reterr, ENOMEM, "pipeline: out of memory");
    p->sink = *sink;
    const struct ad_pipeline_cfg *pc = ad_config_get(cfg, "pipeline");
    if (pc)
        p->time = *pc;
    int r = 0;
    for (size_t i = 0; ad_models[i] && r == 0; i++) {
        const struct ad_model_ops *ops = ad_models[i];
        r = ops->create(section_cfg(cfg, "models", ops->name), &p->models[p->n_models].state,
                        reterr);
        if (r == 0)
            p->models[p->n_models++].model = ops;
    }
    for (size_t i = 0; ad_correlators[i] && r == 0; i++) {
        const struct ad_correlator_ops *ops = ad_correlators[i];
        r = ops->create(section_cfg(cfg, "correlators", ops->name), &p->corrs[p->n_corrs].state,
                        reterr);
        if (r == 0)
            p->corrs[p->n_corrs++].corr = ops;
    }
    if (r < 0) {
        ad_pipeline_destroy(p);
        return r;
    }
    *ret = p;
    return 0;
}

void ad_pipeline_destroy(struct ad_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = p->n_corrs; i-- > 0;)
        p->corrs[i].corr->destroy(p->corrs[i].state);
    for (size_t i = p->n_models; i-- > 0;)
        p->models[i].model->destroy(p->models[i].state);
    free(p);
}

int ad_pipeline_reconfigure(struct ad_pipeline *p, const struct ad_config *cfg, struct ad_err *reterr)
{
    const struct ad_pipeline_cfg *pc = ad_config_get(cfg, "pipeline");
    if (pc)
        p->time = *pc;
    /* Each stage validates in its reconfigure; the built-in ones cannot fail after the config
     * loader validated ranges, except dedup's identity names, which it checks before changing. */
    for (size_t i = 0; i < p->n_models; i++) {
        const struct ad_model_ops *ops = p->models[i].model;
        if (ops->reconfigure) {
            int r = ops->reconfigure(p->models[i].state, section_cfg(cfg, "models", ops->name),
                                     reterr);
            if (r < 0)
                return r;
        }
    }
    for (size_t i = 0; i < p->n_corrs; i++) {
        const struct ad_correlator_ops *ops = p->corrs[i].corr;
        if (ops->reconfigure) {
            int r = ops->reconfigure(p->corrs[i].state, section_cfg(cfg, "correlators", ops->name),
                                     reterr);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int run_from(struct ad_pipeline *p, struct ad_event *ev, size_t first, unsigned depth);

/* Housekeeping in event time. A model's expire() may produce events too (a template's rate back
 * to normal): take() hands them to the stages after it. */
static void tick(struct ad_pipeline *p)
{
    for (size_t i = 0; i < p->n_models; i++) {
        const struct ad_model_ops *ops = p->models[i].model;
        if (!ops->expire)
            continue;
        ops->expire(p->models[i].state, p->now_ns);
        struct ad_event extra;
        while (ops->take && ops->take(p->models[i].state, &extra) == 1)
            if (run_from(p, &extra, i + 1, 1) < 0)
                p->errors++;
    }
    for (size_t i = 0; i < p->n_corrs; i++)
        if (p->corrs[i].corr->tick)
            p->corrs[i].corr->tick(p->corrs[i].state, p->now_ns, &p->sink);
}

void ad_pipeline_advance(struct ad_pipeline *p, int64_t now_ns)
{
    if (now_ns <= p->now_ns)
        return;
    p->now_ns = now_ns;
    if (p->next_tick_ns == 0)
        p->next_tick_ns = now_ns - now_ns % AD_PIPELINE_TICK_NS + AD_PIPELINE_TICK_NS;
    if (now_ns >= p->next_tick_ns) {
        tick(p);
        p->next_tick_ns = now_ns - now_ns % AD_PIPELINE_TICK_NS + AD_PIPELINE_TICK_NS;
    }
}

/* Runs ev through the models from `first` on, then the correlators. A model may hand out more
 * events after observe (ops->take): each goes through the stages after that model, after ev. */
static int run_from(struct ad_pipeline *p, struct ad_event *ev, size_t first, unsigned depth)
{
    for (size_t i = first; i < p->n_models; i++) {
        const struct ad_model_ops *ops = p->models[i].model;
        int r = ops->observe(p->models[i].state, ev);
        struct ad_event extra;
        int rx = 0;
        /* A take() event is valid until the model's next observe: it runs (and is done with)
         * before ev moves on. Depth is bounded by the number of models. */
        while (ops->take && depth < MAX_STAGES && ops->take(p->models[i].state, &extra) == 1) {
            int r2 = run_from(p, &extra, i + 1, depth + 1);
            if (r2 < 0 && rx == 0)
                rx = r2;
        }
        if (r == AD_CONSUMED) {
            p->consumed++;
            return rx < 0 ? rx : AD_CONSUMED;
        }
        if (r < 0) {
            p->errors++;
            return r;
        }
        if (rx < 0)
            return rx;
    }
    for (size_t i = 0; i < p->n_corrs; i++) {
        int r = p->corrs[i].corr->correlate(p->corrs[i].state, ev, &p->sink);
        if (r < 0) {
            p->errors++;
            return r;
        }
    }
    return 0;
}

/* 0 (in bounds), 1 (too far in the future) or 2 (too far in the past) of the stream's event
 * time. Before the first event the stream has no time yet: everything is in bounds. An event
 * beyond max_future from another resource than the previous one beyond it, and within
 * max_future of that one's time, is in bounds: two sources agree that time moved on (the stream
 * had a gap, or the daemon was down), so the clock follows instead of staying stuck. */
static int out_of_bounds(struct ad_pipeline *p, const struct ad_event *ev)
{
    int64_t t = ev->time_ns;
    if (p->now_ns <= 0)
        return 0;
    if (p->time.max_future_ns > 0 && t > p->now_ns && t - p->now_ns > p->time.max_future_ns) {
        uint64_t src = ad_hash64(ev->resource.p, ev->resource.len, 0x5eed) | 1;
        int64_t d = t > p->suspect_ns ? t - p->suspect_ns : p->suspect_ns - t;
        if (p->suspect_src && p->suspect_src != src && d <= p->time.max_future_ns) {
            p->suspect_src = 0;
            p->jumps++;
            return 0;
        }
        p->suspect_ns = t;
        p->suspect_src = src;
        return 1;
    }
    if (p->time.max_past_ns > 0 && t < p->now_ns && p->now_ns - t > p->time.max_past_ns)
        return 2;
    return 0;
}

int ad_pipeline_process(struct ad_pipeline *p, struct ad_event *ev)
{
    int oob = out_of_bounds(p, ev);
    if (oob) {
        bool drop = p->time.out_of_bounds == AD_SKEW_DEADLETTER;
        p->skewed[oob - 1][drop]++;
        if (drop)
            return -ERANGE;
        ev->time_ns = p->now_ns; /* the time it was received at, in event time */
    }
    ad_pipeline_advance(p, ev->time_ns);
    p->processed[ev->kind]++;
    int r = run_from(p, ev, 0, 0);
    if (oob)
        ev->flags |= AD_EVF_CLAMPED; /* after the models, which may rewrite the flags */
    return r;
}

int64_t ad_pipeline_now(const struct ad_pipeline *p) { return p->now_ns; }

void ad_pipeline_flush(struct ad_pipeline *p)
{
    for (size_t i = 0; i < p->n_corrs; i++)
        if (p->corrs[i].corr->flush)
            p->corrs[i].corr->flush(p->corrs[i].state, &p->sink);
}

void ad_pipeline_stats(const struct ad_pipeline *p, struct ad_metrics *m)
{
    const char *h = "Events that entered the pipeline, by kind.";
    ad_metrics_counter(m, "aiopsd_pipeline_events_total", h, "kind=\"alert\"", p->processed[0]);
    ad_metrics_counter(m, "aiopsd_pipeline_events_total", h, "kind=\"log\"", p->processed[1]);
    ad_metrics_counter(m, "aiopsd_pipeline_events_total", h, "kind=\"metric\"", p->processed[2]);
    ad_metrics_counter(m, "aiopsd_pipeline_consumed_total",
                       "Events swallowed by a model (duplicates).", NULL, p->consumed);
    ad_metrics_counter(m, "aiopsd_pipeline_errors_total",
                       "Events a stage failed on (sent to dead-letter).", NULL, p->errors);
    static const char *const skew_labels[2][2] = {
        {"bound=\"future\",action=\"clamped\"", "bound=\"future\",action=\"deadlettered\""},
        {"bound=\"past\",action=\"clamped\"", "bound=\"past\",action=\"deadlettered\""}};
    for (int b = 0; b < 2; b++)
        for (int a = 0; a < 2; a++)
            ad_metrics_counter(m, "aiopsd_pipeline_time_out_of_bounds_total",
                               "Events stamped outside pipeline.max_future/max_past of their "
                               "stream's event time, by bound and what was done.",
                               skew_labels[b][a], p->skewed[b][a]);
    ad_metrics_counter(m, "aiopsd_pipeline_time_jumps_total",
                       "Times a second source confirmed a time beyond pipeline.max_future and the "
                       "stream's clock followed (a gap in the stream, not a broken clock).",
                       NULL, p->jumps);
    for (size_t i = 0; i < p->n_models; i++)
        if (p->models[i].model->stats)
            p->models[i].model->stats(p->models[i].state, m);
    for (size_t i = 0; i < p->n_corrs; i++)
        if (p->corrs[i].corr->stats)
            p->corrs[i].corr->stats(p->corrs[i].state, m);
}

static const struct stage *model_stage(const struct ad_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_models; i++)
        if (strcmp(p->models[i].model->name, name) == 0)
            return &p->models[i];
    return NULL;
}

void *ad_pipeline_model(struct ad_pipeline *p, const char *name)
{
    const struct stage *st = model_stage(p, name);
    return st ? st->state : NULL;
}

void *ad_pipeline_correlator(struct ad_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_corrs; i++)
        if (strcmp(p->corrs[i].corr->name, name) == 0)
            return p->corrs[i].state;
    return NULL;
}

int ad_pipeline_model_save(struct ad_pipeline *p, const char *name, struct ad_buf *out)
{
    const struct stage *st = model_stage(p, name);
    if (!st || !st->model->save)
        return -ENOENT;
    struct ad_wr w = {out, 0};
    int r = st->model->save(st->state, &w);
    return w.err ? w.err : r;
}

int ad_pipeline_model_load(struct ad_pipeline *p, const char *name, const void *data, size_t len,
                           struct ad_err *reterr)
{
    const struct stage *st = model_stage(p, name);
    if (!st || !st->model->load)
        return ad_err_set(reterr, ENOENT, "pipeline: no model '%s' with a state", name);
    struct ad_rd r = ad_rd_make(data, len); /* each load op refuses trailing bytes itself */
    return st->model->load(st->state, &r, reterr);
}

void ad_pipeline_set_silences(struct ad_pipeline *p, struct ad_silences *s)
{
    for (size_t i = 0; i < p->n_models; i++)
        if (p->models[i].model == &ad_model_silence)
            ad_silence_attach(p->models[i].state, s);
}

/* --- snapshot ----------------------------------------------------------------------------- */

#define SNAP_MAGIC 0x31504441u /* "ADP1" */
#define TIME_SECTION "pipeline.time" /* the max_future suspect (not a stage's name) */

int ad_pipeline_save(const struct ad_pipeline *p, struct ad_buf *out)
{
    struct ad_wr w = {out, 0};
    ad_wr_u32(&w, SNAP_MAGIC);
    ad_wr_i64(&w, p->now_ns);
    ad_wr_i64(&w, p->next_tick_ns);
    uint32_t n = 0;
    for (size_t i = 0; i < p->n_models; i++)
        n += p->models[i].model->save != NULL;
    for (size_t i = 0; i < p->n_corrs; i++)
        n += p->corrs[i].corr->save != NULL;
    ad_wr_u32(&w, n + 1);
    /* The pipeline's own section first (a loader that does not know it skips it). */
    ad_wr_cstr(&w, TIME_SECTION);
    size_t at0 = ad_wr_begin_len(&w);
    ad_wr_i64(&w, p->suspect_ns);
    ad_wr_u64(&w, p->suspect_src);
    ad_wr_end_len(&w, at0);
    for (size_t i = 0; i < p->n_models && w.err == 0; i++) {
        const struct ad_model_ops *ops = p->models[i].model;
        if (!ops->save)
            continue;
        ad_wr_cstr(&w, ops->name);
        size_t at = ad_wr_begin_len(&w);
        int r = ops->save(p->models[i].state, &w);
        w.err = w.err ? w.err : r;
        ad_wr_end_len(&w, at);
    }
    for (size_t i = 0; i < p->n_corrs && w.err == 0; i++) {
        const struct ad_correlator_ops *ops = p->corrs[i].corr;
        if (!ops->save)
            continue;
        ad_wr_cstr(&w, ops->name);
        size_t at = ad_wr_begin_len(&w);
        int r = ops->save(p->corrs[i].state, &w);
        w.err = w.err ? w.err : r;
        ad_wr_end_len(&w, at);
    }
    return w.err;
}

int ad_pipeline_load(struct ad_pipeline *p, const void *data, size_t len, struct ad_err *reterr)
{
    struct ad_rd r = ad_rd_make(data, len);
    if (p->now_ns != 0)
        return ad_err_set(reterr, EINVAL, "pipeline: snapshot loaded after events");
    if (ad_rd_u32(&r) != SNAP_MAGIC)
        return ad_err_set(reterr, EINVAL, "pipeline: not a pipeline snapshot");
    int64_t now = ad_rd_i64(&r), next_tick = ad_rd_i64(&r);
    uint32_t n = ad_rd_u32(&r);
    if (r.bad || now < 0 || next_tick < 0 || n > 2 * MAX_STAGES)
        return ad_err_set(reterr, EINVAL, "pipeline: corrupt snapshot header");
    for (uint32_t k = 0; k < n; k++) {
        char *name = ad_rd_strdup(&r, 64);
        struct ad_rd sub = ad_rd_sub(&r);
        if (r.bad || !name) {
            free(name);
            return ad_err_set(reterr, EINVAL, "pipeline: corrupt snapshot section %u", k);
        }
        int rc = 0;
        bool found = false;
        if (strcmp(name, TIME_SECTION) == 0) {
            found = true;
            int64_t sus = ad_rd_i64(&sub);
            uint64_t src = ad_rd_u64(&sub);
            if (sub.bad || sus < 0 || sub.n != 0)
                rc = ad_err_set(reterr, EINVAL, "pipeline: corrupt snapshot section %u", k);
            p->suspect_ns = sus;
            p->suspect_src = src;
        }
        for (size_t i = 0; i < p->n_models && !found; i++)
            if (strcmp(p->models[i].model->name, name) == 0 && p->models[i].model->load) {
                found = true;
                rc = p->models[i].model->load(p->models[i].state, &sub, reterr);
            }
        for (size_t i = 0; i < p->n_corrs && !found; i++)
            if (strcmp(p->corrs[i].corr->name, name) == 0 && p->corrs[i].corr->load) {
                found = true;
                rc = p->corrs[i].corr->load(p->corrs[i].state, &sub, reterr);
            }
        free(name);
        if (rc < 0)
            return rc;
    }
    p->now_ns = now;
    p->next_tick_ns = next_tick;
    return 0;
}
