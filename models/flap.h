/* models/flap.h: flapping detection, Nagios-style. For every alert fingerprint the last 20 state
 * observations are kept as a bit history of "changed / did not change"; the weighted share of
 * changes (recent ones weigh more: 0.8 for the oldest to 1.2 for the newest) is the percent
 * state change. Above high_threshold the alert starts flapping, below low_threshold it settles.
 * A flapping alert's events carry AD_EVF_FLAPPING; the correlator then updates its member quietly
 * instead of emitting candidate changes (docs/flapping.md). Runs after dedup (it needs the
 * fingerprint). Pure: no I/O, event time only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/model.h"

struct ad_err;
struct ad_event;
struct ad_flap;

struct ad_flap_cfg {
    bool enabled;
    double high_threshold;  /* percent state change that starts flapping */
    double low_threshold;   /* percent under which a flapping alert settles */
    uint64_t max_tracked;   /* fingerprints tracked at once; more are not tracked (counted) */
    int64_t expire_after_ns; /* a fingerprint unseen this long (event time) is forgotten */
};

struct ad_flap_stats {
    uint64_t observed, started, stopped, flagged, untracked, expired;
    size_t tracked, flapping;
};

extern const struct ad_model_ops ad_model_flap;

int ad_flap_create(const struct ad_flap_cfg *cfg, struct ad_flap **ret, struct ad_err *reterr);
void ad_flap_destroy(struct ad_flap *f);
/* Alerts with a fingerprint: records the observation and sets AD_EVF_FLAPPING while flapping.
 * Always 0 (nothing is consumed). */
int ad_flap_observe(struct ad_flap *f, struct ad_event *ev);
/* The percent state change of a fingerprint (0 when not tracked). */
double ad_flap_percent(const struct ad_flap *f, uint64_t fingerprint);
void ad_flap_get_stats(const struct ad_flap *f, struct ad_flap_stats *ret);
