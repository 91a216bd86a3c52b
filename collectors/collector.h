/* collectors/collector.h: what every collector implements. Collectors turn bytes into ad_event on
 * the libevent loop and know nothing of models or correlators: only common/ and this env. */
#pragma once
#include <stddef.h>

#include "config/opt.h"

struct event_base;
struct ad_err;
struct ad_event;
struct ad_metrics;

struct ad_collector_env {
    struct event_base *base;
    void *sink;
    /* One parsed event for the pipeline; ev and its strings are borrowed for the call. */
    void (*emit)(void *sink, struct ad_event *ev);
    /* A message that is not a valid event; the daemon sends it to the dead-letter destination
     * with the reason. raw is borrowed for the call. The collector counts it and logs
     * (rate-limited) itself. */
    void (*reject)(void *sink, const char *collector, const void *raw, size_t len, const char *reason);
    /* End of one wakeup's batch: the daemon flushes outputs. The collector may reset its arena
     * after this returns. */
    void (*batch_done)(void *sink);
};

struct ad_collector_ops {
    const char *name;          /* config section "collectors.<name>" */
    const char *doc;
    const struct ad_opt *opts; /* first option is "enabled" (bool) */
    size_t cfg_size;

    /* env is borrowed and outlives the collector. */
    int (*create)(const void *cfg, const struct ad_collector_env *env, void **ret_state,
                  struct ad_err *reterr);
    int (*start)(void *state, struct ad_err *reterr); /* bind/connect, add to the loop */
    void (*pause)(void *state);  /* backpressure: stop reading (idempotent) */
    void (*resume)(void *state); /* read again, and drain what is pending */
    void (*stop)(void *state);   /* off the loop; no emit after this returns */
    void (*stats)(const void *state, struct ad_metrics *m);
    void (*destroy)(void *state); /* NULL-safe; after stop */
};

/* collectors/registry.c: NULL-terminated. */
extern const struct ad_collector_ops *const ad_collectors[];
/* Whether a collector's cfg struct says enabled (the first field must be `bool enabled`). */
#define AD_COLLECTOR_ENABLED(cfg) (*(const bool *)(cfg))
