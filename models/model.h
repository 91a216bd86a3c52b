/* models/model.h: what every model implements. Models are pure: no I/O, no clock reads, no
 * libevent/zmq/rdkafka/hiredis; time arrives inside the events. */
#pragma once
#include <stdint.h>

#include "config/opt.h"

struct ad_err;
struct ad_event;
struct ad_metrics;

struct ad_model_ops {
    const char *name;          /* config section "models.<name>" and metrics label */
    const char *doc;           /* one line */
    const struct ad_opt *opts; /* parsed into a struct of cfg_size */
    size_t cfg_size;

    int (*create)(const void *cfg, void **ret_state, struct ad_err *reterr);
    /* Applies a reloaded config (SIGHUP) to live state; NULL when nothing can change live. */
    int (*reconfigure)(void *state, const void *cfg, struct ad_err *reterr);
    /* Looks at one event and annotates it. Returns 0 to pass it on, AD_CONSUMED when it was
     * swallowed (a duplicate), or -errno (the event goes to the dead-letter sink). Never blocks.
     * ev is borrowed for the call; anything kept is copied. */
    int (*observe)(void *state, struct ad_event *ev);
    /* Bounded housekeeping in event time (evict what has expired). */
    void (*expire)(void *state, int64_t now_ns);
    void (*stats)(const void *state, struct ad_metrics *m);
    void (*destroy)(void *state); /* NULL-safe */
};

/* models/registry.c: the pipeline runs the models in this order. NULL-terminated. */
extern const struct ad_model_ops *const ad_models[];
