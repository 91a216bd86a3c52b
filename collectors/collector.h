/* collectors/collector.h: what every collector implements. Collectors turn bytes into ad_event on
 * the libevent loop and know nothing of models or correlators: only common/ and this env. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"

struct event_base;
struct ad_err;
struct ad_event;
struct ad_metrics;

struct ad_stream;

/* For sources that can replay (Kafka): one pipeline per ordered partition ("stream") whose state
 * is checkpointed, together with the source position, through the same ordered output as the
 * candidates and dead letters it produced. All calls run on the loop; ctx is the first argument.
 * See docs/collector-kafka.md for the protocol built on it. */
struct ad_stream_env {
    void *ctx;
    /* A new, empty stream (name: for logs, e.g. "events/3"). NULL when out of memory. */
    struct ad_stream *(*open)(void *ctx, const char *name);
    /* One event into the stream's own pipeline (like emit; failures are dead-lettered). */
    void (*emit)(void *ctx, struct ad_stream *s, struct ad_event *ev);
    /* Loads the checkpoint stored under key into the stream, which must not have seen an event
     * yet. done(arg, err, found, position) runs later on the loop: found with position = the
     * next source position to read; !found = no checkpoint (the stream stays empty); err < 0 =
     * unreadable or corrupt (the stream is reset empty and the error logged). Returns 0 or
     * -errno (nothing scheduled: try again later). */
    int (*restore)(void *ctx, struct ad_stream *s, const char *key,
                   void (*done)(void *arg, int err, bool found, uint64_t position), void *arg);
    /* Queues the stream's state with position (the next source position to read) under key.
     * *ret_mark: once acked(mark) is true, the checkpoint and everything the stream emitted
     * before it are stored. Returns 0 or -errno (nothing queued: try again later). */
    int (*checkpoint)(void *ctx, struct ad_stream *s, const char *key, uint64_t position,
                      uint64_t *ret_mark);
    bool (*acked)(void *ctx, uint64_t mark);
    /* Emits the stream's pending candidate changes now (before a final checkpoint). */
    void (*flush)(void *ctx, struct ad_stream *s);
    /* Destroys the stream; a pending restore will not call back. NULL-safe. */
    void (*close)(void *ctx, struct ad_stream *s);
    /* Like reject, with where the message came from (e.g. "events/3@1234"). */
    void (*reject_at)(void *ctx, const char *collector, const char *origin, const void *raw,
                      size_t len, const char *reason);
};

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
    /* Per-partition pipelines with checkpoints; NULL where not offered (tests of other
     * collectors). */
    const struct ad_stream_env *streams;
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
    /* SIGHUP: re-reads the files loaded at start that may change under a running daemon (TLS
     * certificates). A failure is logged and what runs is kept. NULL: nothing to re-read. */
    void (*reload)(void *state);
    void (*destroy)(void *state); /* NULL-safe; after stop */
};

/* collectors/registry.c: NULL-terminated. */
extern const struct ad_collector_ops *const ad_collectors[];
/* Whether a collector's cfg struct says enabled (the first field must be `bool enabled`). */
#define AD_COLLECTOR_ENABLED(cfg) (*(const bool *)(cfg))
