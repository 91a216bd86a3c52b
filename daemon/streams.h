/* daemon/streams.h: the daemon's side of struct ad_stream_env (collectors/collector.h):
 * per-partition pipelines whose state is checkpointed to Redis through the ordered output. */
#pragma once
#include <stdint.h>

#include "collectors/collector.h"
#include "correlators/correlator.h"

struct ad_config;
struct ad_err;
struct ad_event;
struct ad_metrics;
struct ad_out_redis;
struct ad_pipeline;
struct ad_streams;

struct ad_streams_hooks {
    void *ctx;
    /* Each event after its stream's pipeline saw it: rc as from ad_pipeline_process (the daemon
     * dead-letters failures and applies backpressure, as for its main pipeline). */
    void (*processed)(void *ctx, struct ad_event *ev, int rc);
    void (*reject_at)(void *ctx, const char *collector, const char *origin, const void *raw,
                      size_t len, const char *reason);
};

/* cfg must outlive the streams (or be replaced with ad_streams_reconfigure); sink and hooks are
 * copied; out is borrowed. */
int ad_streams_create(const struct ad_config *cfg, const struct ad_cand_sink *sink,
                      struct ad_out_redis *out, const struct ad_streams_hooks *hooks,
                      struct ad_streams **ret, struct ad_err *reterr);
void ad_streams_destroy(struct ad_streams *s); /* NULL-safe; closes what collectors left open */
const struct ad_stream_env *ad_streams_env(struct ad_streams *s);
struct ad_silences;
/* The daemon's shared silence set for every stream pipeline, open now or later
 * (ad_pipeline_set_silences). set is borrowed: it must outlive the streams. */
void ad_streams_set_silences(struct ad_streams *s, struct ad_silences *set);
/* A reloaded config for every live stream and for the ones opened later. */
int ad_streams_reconfigure(struct ad_streams *s, const struct ad_config *cfg, struct ad_err *reterr);
/* The idle timer: streams without events since the last call follow the wall clock (as the
 * daemon's main pipeline does), so their pending updates are still emitted. */
void ad_streams_idle(struct ad_streams *s, int64_t mono_now_ns);
/* Calls fn for every per-partition pipeline (the admin API's queries). */
void ad_streams_foreach(struct ad_streams *s, void (*fn)(void *ctx, struct ad_pipeline *p),
                        void *ctx);
void ad_streams_stats(const struct ad_streams *s, struct ad_metrics *m);
