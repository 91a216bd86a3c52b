/* daemon/streams.c: see streams.h. */
#include "daemon/streams.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/metrics.h"
#include "daemon/out_redis.h"
#include "daemon/pipeline.h"

struct ad_stream {
    struct ad_streams *owner;
    struct ad_stream *prev, *next;
    struct ad_pipeline *pipe;
    char *name;
    bool active;                /* an event since the last idle tick */
    int64_t last_activity_mono_ns;
    void (*done)(void *arg, int err, bool found, uint64_t position); /* pending restore */
    void *done_arg;
};

struct ad_streams {
    const struct ad_config *cfg;
    struct ad_cand_sink sink;
    struct ad_out_redis *out;
    struct ad_streams_hooks hooks;
    struct ad_stream_env env;
    struct ad_stream *head;
    size_t n;
    struct ad_silences *silences; /* the daemon's shared set (borrowed; NULL: none) */
    struct ad_buf scratch; /* checkpoint serialization */
    uint64_t checkpoints, checkpoint_failures, checkpoint_bytes_last, restored, restore_missing,
        restore_failed;
};

/* Every stream pipeline sees the daemon's silences, including streams opened after a silence
 * was added over the API. */
static int new_pipeline(struct ad_streams *s, struct ad_pipeline **ret, struct ad_err *err)
{
    int r = ad_pipeline_create(s->cfg, &s->sink, ret, err);
    if (r == 0 && s->silences)
        ad_pipeline_set_silences(*ret, s->silences);
    return r;
}

static struct ad_stream *st_open(void *ctx, const char *name)
{
    struct ad_streams *s = ctx;
    struct ad_stream *st = calloc(1, sizeof(*st));
    struct ad_err err = {0};
    if (!st || !(st->name = strdup(name)) || new_pipeline(s, &st->pipe, &err) < 0) {
        if (st)
            free(st->name);
        free(st);
        return NULL;
    }
    st->owner = s;
    st->next = s->head;
    if (s->head)
        s->head->prev = st;
    s->head = st;
    s->n++;
    return st;
}

static void st_close(void *ctx, struct ad_stream *st)
{
    struct ad_streams *s = ctx;
    if (!st)
        return;
    ad_out_redis_cancel_gets(s->out, st);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->head = st->next;
    if (st->next)
        st->next->prev = st->prev;
    s->n--;
    ad_pipeline_destroy(st->pipe);
    free(st->name);
    free(st);
}

static void st_emit(void *ctx, struct ad_stream *st, struct ad_event *ev)
{
    struct ad_streams *s = ctx;
    st->active = true;
    int rc = ad_pipeline_process(st->pipe, ev);
    s->hooks.processed(s->hooks.ctx, ev, rc);
}

static void on_state(void *arg, int err, bool found, uint64_t position, const void *state,
                     size_t len)
{
    struct ad_stream *st = arg;
    struct ad_streams *s = st->owner;
    void (*done)(void *, int, bool, uint64_t) = st->done;
    void *done_arg = st->done_arg;
    st->done = NULL;
    if (err < 0) {
        s->restore_failed++;
        ad_log(AD_LOG_ERROR, "stream %s: cannot read its checkpoint (%s)", st->name,
               strerror(-err));
        done(done_arg, err, false, 0);
        return;
    }
    if (!found) {
        s->restore_missing++;
        done(done_arg, 0, false, 0);
        return;
    }
    struct ad_err e = {0};
    if (ad_pipeline_load(st->pipe, state, len, &e) < 0) {
        char buf[256];
        s->restore_failed++;
        ad_log(AD_LOG_ERROR, "stream %s: checkpoint at position %llu refused (%s); starting empty",
               st->name, (unsigned long long)position, ad_err_str(&e, buf, sizeof(buf)));
        struct ad_pipeline *fresh;
        if (new_pipeline(s, &fresh, &e) == 0) {
            ad_pipeline_destroy(st->pipe);
            st->pipe = fresh;
        }
        done(done_arg, -EINVAL, false, 0);
        return;
    }
    s->restored++;
    ad_log(AD_LOG_INFO, "stream %s: restored from its checkpoint (%zu bytes, next position %llu)",
           st->name, len, (unsigned long long)position);
    done(done_arg, 0, true, position);
}

static int st_restore(void *ctx, struct ad_stream *st, const char *key,
                      void (*done)(void *arg, int err, bool found, uint64_t position), void *arg)
{
    struct ad_streams *s = ctx;
    if (st->done)
        return -EBUSY;
    int rc = ad_out_redis_get_state(s->out, key, on_state, st);
    if (rc == 0) {
        st->done = done;
        st->done_arg = arg;
    }
    return rc;
}

static int st_checkpoint(void *ctx, struct ad_stream *st, const char *key, uint64_t position,
                         uint64_t *ret_mark)
{
    struct ad_streams *s = ctx;
    ad_buf_reset(&s->scratch);
    int rc = ad_pipeline_save(st->pipe, &s->scratch);
    if (rc == 0)
        rc = ad_out_redis_submit_state(s->out, key, position, s->scratch.p, s->scratch.len);
    if (rc < 0) {
        s->checkpoint_failures++;
        return rc;
    }
    s->checkpoints++;
    s->checkpoint_bytes_last = s->scratch.len;
    *ret_mark = ad_out_redis_mark(s->out);
    return 0;
}

static bool st_acked(void *ctx, uint64_t mark)
{
    struct ad_streams *s = ctx;
    return ad_out_redis_acked(s->out, mark);
}

static void st_flush(void *ctx, struct ad_stream *st)
{
    (void)ctx;
    ad_pipeline_flush(st->pipe);
}

static void st_reject_at(void *ctx, const char *collector, const char *origin, const void *raw,
                         size_t len, const char *reason)
{
    struct ad_streams *s = ctx;
    s->hooks.reject_at(s->hooks.ctx, collector, origin, raw, len, reason);
}

int ad_streams_create(const struct ad_config *cfg, const struct ad_cand_sink *sink,
                      struct ad_out_redis *out, const struct ad_streams_hooks *hooks,
                      struct ad_streams **ret, struct ad_err *reterr)
{
    struct ad_streams *s = calloc(1, sizeof(*s));
    if (!s)
        return ad_err_set(reterr, ENOMEM, "streams: out of memory");
    s->cfg = cfg;
    s->sink = *sink;
    s->out = out;
    s->hooks = *hooks;
    s->env = (struct ad_stream_env){s,        st_open,  st_emit,  st_restore,  st_checkpoint,
                                    st_acked, st_flush, st_close, st_reject_at};
    ad_buf_init(&s->scratch);
    *ret = s;
    return 0;
}

void ad_streams_destroy(struct ad_streams *s)
{
    if (!s)
        return;
    while (s->head)
        st_close(s, s->head);
    ad_buf_fini(&s->scratch);
    free(s);
}

const struct ad_stream_env *ad_streams_env(struct ad_streams *s) { return &s->env; }

void ad_streams_set_silences(struct ad_streams *s, struct ad_silences *set)
{
    s->silences = set;
    for (struct ad_stream *st = s->head; st; st = st->next)
        ad_pipeline_set_silences(st->pipe, set);
}

int ad_streams_reconfigure(struct ad_streams *s, const struct ad_config *cfg, struct ad_err *reterr)
{
    for (struct ad_stream *st = s->head; st; st = st->next) {
        int rc = ad_pipeline_reconfigure(st->pipe, cfg, reterr);
        if (rc < 0)
            return rc;
    }
    s->cfg = cfg;
    return 0;
}

void ad_streams_idle(struct ad_streams *s, int64_t mono_now_ns)
{
    for (struct ad_stream *st = s->head; st; st = st->next) {
        if (st->active) {
            st->active = false;
            st->last_activity_mono_ns = mono_now_ns;
            continue;
        }
        int64_t evt = ad_pipeline_now(st->pipe);
        if (evt > 0 && st->last_activity_mono_ns > 0 && !st->done)
            ad_pipeline_advance(st->pipe, evt + (mono_now_ns - st->last_activity_mono_ns));
        st->last_activity_mono_ns = mono_now_ns;
    }
}

void ad_streams_stats(const struct ad_streams *s, struct ad_metrics *m)
{
    for (const struct ad_stream *st = s->head; st; st = st->next)
        ad_pipeline_stats(st->pipe, m);
    ad_metrics_gauge(m, "aiopsd_streams", "Per-partition pipelines (Kafka partitions held).", NULL,
                     (double)s->n);
    ad_metrics_counter(m, "aiopsd_stream_checkpoints_total", "Partition checkpoints queued.",
                       "result=\"queued\"", s->checkpoints);
    ad_metrics_counter(m, "aiopsd_stream_checkpoints_total", "Partition checkpoints queued.",
                       "result=\"failed\"", s->checkpoint_failures);
    ad_metrics_gauge(m, "aiopsd_stream_checkpoint_bytes", "Size of the last checkpoint.", NULL,
                     (double)s->checkpoint_bytes_last);
    ad_metrics_counter(m, "aiopsd_stream_restored_total",
                       "Partitions assigned and restored from their checkpoint.", NULL, s->restored);
    ad_metrics_counter(m, "aiopsd_stream_restore_empty_total",
                       "Partitions assigned without a checkpoint (started empty).", NULL,
                       s->restore_missing);
    ad_metrics_counter(m, "aiopsd_stream_restore_failed_total",
                       "Checkpoint reads that failed or were refused as corrupt.", NULL,
                       s->restore_failed);
}

void ad_streams_foreach(struct ad_streams *s, void (*fn)(void *ctx, struct ad_pipeline *p),
                        void *ctx)
{
    for (struct ad_stream *st = s->head; st; st = st->next)
        fn(ctx, st->pipe);
}
