/* correlators/correlator.h: what every correlator implements. Pure: no I/O; event time only. */
#pragma once
#include <stdint.h>

#include "config/opt.h"

struct ad_candidate;
struct ad_err;
struct ad_event;
struct ad_metrics;
struct ad_rd;
struct ad_wr;

/* Where candidate changes go. emit borrows c for the call. */
struct ad_cand_sink {
    void *ctx;
    int (*emit)(void *ctx, const struct ad_candidate *c);
};

struct ad_correlator_ops {
    const char *name;          /* config section "correlators.<name>" */
    const char *doc;
    const struct ad_opt *opts;
    size_t cfg_size;

    int (*create)(const void *cfg, void **ret_state, struct ad_err *reterr);
    int (*reconfigure)(void *state, const void *cfg, struct ad_err *reterr); /* may be NULL */
    /* One event that the models passed on. Emits candidate changes through sink. 0 or -errno. */
    int (*correlate)(void *state, const struct ad_event *ev, const struct ad_cand_sink *sink);
    /* Event time advanced to now_ns: emit due updates, resolve, evict. Bounded work. */
    void (*tick)(void *state, int64_t now_ns, const struct ad_cand_sink *sink);
    /* Emit every pending change now (shutdown, end of replay). */
    void (*flush)(void *state, const struct ad_cand_sink *sink);
    void (*stats)(const void *state, struct ad_metrics *m);
    void (*destroy)(void *state); /* NULL-safe */
    /* State snapshot, as in models/model.h: load into a freshly created state. */
    int (*save)(const void *state, struct ad_wr *w);
    int (*load)(void *state, struct ad_rd *r, struct ad_err *reterr);
};

extern const struct ad_correlator_ops *const ad_correlators[];
