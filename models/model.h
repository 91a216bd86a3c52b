/* models/model.h: what every model implements. Models are pure: no I/O, no clock reads, no
 * libevent/zmq/rdkafka/hiredis; time arrives inside the events. */
#pragma once
#include <stdint.h>

#include "config/opt.h"

struct ad_err;
struct ad_event;
struct ad_metrics;
struct ad_rd;
struct ad_wr;

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
    /* After observe or expire: 1 and one more event that it produced (it enters the pipeline at the
     * next stage and goes through the rest of the pipeline before ev does), 0 when there is
     * none. The event is valid until the model's next call. The pipeline drains take() after
     * every observe and every expire.
     * NULL when a model never produces events. */
    int (*take)(void *state, struct ad_event *ev);
    /* Bounded housekeeping in event time (evict what has expired). */
    void (*expire)(void *state, int64_t now_ns);
    void (*stats)(const void *state, struct ad_metrics *m);
    void (*destroy)(void *state); /* NULL-safe */
    /* State snapshot (a Kafka partition's checkpoint): save writes everything observe() depends
     * on; load restores it into a freshly created state, so that the same events then give the
     * same results as without the interruption. Counters are not part of it. load returns 0 or
     * -EINVAL/-ENOMEM (the caller discards the state). NULL when the model keeps no state. */
    int (*save)(const void *state, struct ad_wr *w);
    int (*load)(void *state, struct ad_rd *r, struct ad_err *reterr);
};

/* The two options of a model whose learned state the daemon keeps in a file across restarts
 * (daemon/model_state.c): `state_file` (a char * field) and `save_interval` (int64_t ns). */
#define AD_MODEL_STATE_OPTS(T, file, what)                                                      \
    AD_OPT_STRING_R("state_file", file, "4096", T, state_file,                                   \
                    "Where aiopsd keeps " what " across restarts, relative to daemon.state_dir; " \
                    "\"\" disables."),                                                          \
        AD_OPT_DURATION("save_interval", "5m", "10s", "1d", T, save_interval_ns,                 \
                        "How often the state file is rewritten (and at shutdown).")

/* models/registry.c: the pipeline runs the models in this order. NULL-terminated. */
extern const struct ad_model_ops *const ad_models[];
