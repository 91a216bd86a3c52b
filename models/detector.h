/* models/detector.h: per-series anomaly detectors for dynamic baselining (issue 6,
 * docs/baselines.md). A detector is a small ops table and a fixed-size state with no pointers in
 * it, so a series' state is saved and restored as bytes (the baseline model's state file and the
 * Kafka checkpoints) and costs the same number of bytes for every series. O(1) per point, pure:
 * no I/O, no clock, no allocation in update.
 *
 * The caller (models/baseline.c, aiopsctl baseline, the benches) goes through ad_det_update(),
 * which rejects what must not be learned (NaN/inf values, a timestamp not after the last one)
 * before the detector sees it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest state any detector may have, header included: with the series table's entry and
 * its key this keeps a series under 4 KiB (issue 12's bound is 8 KiB; "context", the default,
 * takes about 3 KiB). */
#define AD_DET_STATE_MAX 4096

/* Settings shared by the series that one config pattern selects (models.baseline.detectors[]). */
struct ad_det_params {
    double band;          /* band half-width in units of the detector's spread (default 3.5) */
    double q;             /* false-alarm probability per point for the SPOT tail (1e-4) */
    uint32_t warmup;      /* points before anything is scored (score 0, warm false) */
    double memory;        /* points of memory for level/spread tracking: alpha = 2/(memory+1) */
    int64_t max_gap_ns;   /* a gap longer than this between two points: see each detector */
};

/* What one point produced. Before warm-up ends: warm false, score 0, expected the value itself,
 * lower/upper NaN. After: lower <= expected <= upper (the band for this point: the caller alerts
 * when value < lower or value > upper), and score in [0,1): the anomaly likelihood of the recent
 * run of points (det_internal.h, docs/baselines.md), not of this point alone: 0.5 when the last
 * ~10 points' mean surprise is as rare as 1 in 100 000 under what the series usually does. It
 * rises on runs (denser spikes, a shift, more noise, a series gone flat), stays near 0 on the
 * series' usual noise, and an isolated far-out point may be outside the band with a score under
 * 0.5; it is 0 for the first 40 points after warm-up. */
enum ad_det_cause {
    AD_DET_CAUSE_NONE,    /* not warm, or (context) the point did not score */
    AD_DET_CAUSE_BAND,    /* the band detector's score: how far outside the band, and how long */
    AD_DET_CAUSE_PATTERN, /* context: a shape of recent values never or rarely seen */
    AD_DET_CAUSE_RANGE,   /* context: a value beyond every value seen */
};

struct ad_det_out {
    double score;
    double expected, lower, upper;
    bool warm;
    uint8_t cause; /* enum ad_det_cause: what decided the score */
};

/* "band", "pattern", "range" or "none": for alert labels and the API. */
const char *ad_det_cause_name(uint8_t cause);

/* For GET /api/v1/baselines and aiopsctl baseline --suggest. */
struct ad_det_info {
    const char *season; /* "none", "daily", "weekly" (static strings) */
    uint64_t points;    /* points learned */
};

/* Suggested static thresholds (NaN where a side makes no sense), each with its reasoning in one
 * line: warning at a false-alarm probability of 10*q per point, critical at q. */
struct ad_det_suggest {
    double warning_hi, critical_hi, warning_lo, critical_lo;
    char why_warning[200], why_critical[200];
};

/* Common head of every state: written by ad_det_init/ad_det_update, read by everyone. */
struct ad_det_hdr {
    uint8_t det;       /* ad_det_ops.id */
    uint8_t layout;    /* ad_det_ops.layout when the state was made (0 in states before it) */
    uint8_t reserved[6];
    int64_t last_ns;   /* time of the last point learned */
    uint64_t points;   /* points learned */
};

struct ad_det_ops {
    const char *name; /* "robust", "seasonal", "spot", ... as in the config */
    uint8_t id;       /* stable: stored in state files; never reuse a retired id */
    /* What the state's bytes mean: raised when they change meaning (constants or layout) so
     * that a stored state of an older layout is adopted (or relearned), never misread. */
    uint8_t layout;
    size_t state_size; /* <= AD_DET_STATE_MAX; the state starts with struct ad_det_hdr */
    void (*init)(void *st, const struct ad_det_params *p);
    /* Scores x at t against what was learned, then learns it (a detector may decline to learn
     * points it judges anomalous). t is after the last point's time; x is finite. */
    void (*update)(void *st, const struct ad_det_params *p, int64_t t_ns, double x,
                   struct ad_det_out *out);
    /* What the detector expects at time t (no learning); score 0. */
    void (*expect)(const void *st, const struct ad_det_params *p, int64_t t_ns,
                   struct ad_det_out *out);
    void (*describe)(const void *st, struct ad_det_info *info);
    void (*suggest)(const void *st, const struct ad_det_params *p, struct ad_det_suggest *s);
    /* Optional: starts st (initialised) from `from`, a state another detector (or this one, in
     * an older layout) learned, when this detector knows how; returns 0, or -ENOTSUP. */
    int (*adopt)(void *st, const struct ad_det_params *p, const void *from);
};

extern const struct ad_det_ops ad_det_robust;   /* EWMA/robust level and spread, no season */
extern const struct ad_det_ops ad_det_seasonal; /* hour-of-day/hour-of-week, season auto-chosen */
extern const struct ad_det_ops ad_det_spot;     /* DSPOT: GPD tails over a drifting level */
extern const struct ad_det_ops ad_det_context; /* seasonal band + context novelty (default) */

/* NULL-terminated; the first is the default detector. */
extern const struct ad_det_ops *const ad_detectors[];
const struct ad_det_ops *ad_det_find(const char *name); /* NULL when unknown */
const struct ad_det_ops *ad_det_by_id(uint8_t id);      /* NULL when unknown */
void ad_det_params_default(struct ad_det_params *p);

/* A state buffer: any detector fits. A caller may also allocate just d->state_size bytes (8-byte
 * aligned) and cast: ad_det_init, ad_det_update and the ops never touch more than that. */
struct ad_det_state {
    _Alignas(8) unsigned char b[AD_DET_STATE_MAX];
};

void ad_det_init(const struct ad_det_ops *d, struct ad_det_state *st, const struct ad_det_params *p);
/* Returns 0, -EINVAL for a NaN or infinite x (not learned), -ERANGE for t_ns not after the last
 * point's time (out of order or repeated: not learned). */
int ad_det_update(const struct ad_det_ops *d, struct ad_det_state *st,
                  const struct ad_det_params *p, int64_t t_ns, double x, struct ad_det_out *out);
/* Upgrades a learned state to detector d (the configured one) where d can take it over: the
 * context detector adopts a seasonal state as its band, so a state file written while seasonal
 * was the default keeps what it learned. 0, or -ENOTSUP (st untouched): keep `from`'s own
 * detector. */
int ad_det_adopt(const struct ad_det_ops *d, struct ad_det_state *st, const struct ad_det_params *p,
                 const struct ad_det_state *from);
static inline const struct ad_det_hdr *ad_det_hdr(const struct ad_det_state *st)
{
    return (const struct ad_det_hdr *)(const void *)st->b;
}
