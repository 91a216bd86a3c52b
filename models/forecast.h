/* models/forecast.h: when will a metric series cross its static threshold (issue 12, part 4;
 * docs/baselines.md "Forecasts"). Zabbix's timeleft() and Prometheus' predict_linear() made
 * robust: the recent points of a series are averaged into time buckets over `window`, the
 * season its detector learned is taken out (the detector's expect op: what it expects at a past
 * time minus what it expects now), and Sen's slope (the median of the pairwise slopes,
 * Theil-Sen) is fitted to what is left, with the Mann-Kendall statistic over the same pairs as
 * the test that the trend is real. The fitted line, the season put back, says when the warning
 * or critical level will be reached. A trend is believed only when the last hour's mean has also
 * moved that way against the same hour a day before, by at least half of what the trend gives
 * over the window: the rising half of a daily swing the detector has not learned yet does not
 * pass (it needs 25 hours of the series).
 *
 * The state is fixed-size with no pointers (saved as bytes, like a detector's); a refit runs
 * when a bucket closes (window / AD_FC_BUCKETS of event time), not on every point. Pure: no I/O,
 * event time only, no allocation. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_det_ops;
struct ad_det_params;

#define AD_FC_BUCKETS 16
#define AD_FC_HOURS 26 /* hourly means kept for the day-over-day check */
#define AD_FC_CONFIRM 2 /* fits in a row that raise (or, past the margin, resolve) an alert */
#define AD_FC_MARGIN 1.25 /* resolving needs no crossing within horizon * AD_FC_MARGIN */

struct ad_fc_params {
    int64_t window_ns;  /* the trend is fitted over this much recent event time */
    int64_t horizon_ns; /* a crossing predicted within this raises an alert; 0: forecasts off */
    double min_z;       /* Mann-Kendall z the trend must reach (a one-sided test) */
};

/* A static rule as the forecast sees it: NaN for a missing level. */
struct ad_fc_rule {
    bool below;
    double warning, critical;
};

/* One fit. fitted: enough buckets (half of them) for a trend; then slope (per second, of the
 * season-adjusted series), level (the fitted value now, season included), z (Mann-Kendall) and
 * the span of time fitted. target 0 when no level is predicted to be reached within
 * horizon * AD_FC_MARGIN; else 1 (warning) or 2 (critical), its threshold and the predicted
 * crossing time at_ns (>= now_ns). */
struct ad_fc_pred {
    int64_t now_ns, at_ns, span_ns;
    double slope, level, z, threshold;
    double day_change; /* last hour's mean minus the same hour's a day before; NaN: unknown */
    uint8_t target, buckets;
    bool fitted;
    uint8_t reserved[5];
};

/* What changed with one fit or one point. */
enum ad_fc_change {
    AD_FC_NONE = 0,
    AD_FC_RAISED,
    AD_FC_UPDATED,         /* still firing: a new prediction */
    AD_FC_RESOLVED_TREND,  /* the trend no longer reaches a level within the margin */
    AD_FC_RESOLVED_REACHED /* the value reached the level: the threshold alert takes over */
};

struct ad_fc {
    /* What every point touches first, in the state's first 64 bytes (one cache line when the
     * state is 64-byte aligned, as models/baseline.c allocates it). */
    int64_t cur_start;         /* the open bucket: its start, */
    double cur_sum, cur_tsum;  /* sums of values and of times in s after cur_start, */
    double h_sum;              /* the open hour's sum of values, */
    uint32_t cur_n, h_cur, h_n; /* the bucket's points; the open hour (since the epoch), points */
    uint8_t head, n;           /* the ring of closed buckets: next slot, how many */
    uint8_t firing;            /* the level the firing alert predicts (1, 2), 0: not firing */
    uint8_t hits, misses;      /* fits in a row within the horizon / past the margin */
    uint8_t reserved[7];
    int64_t bt[AD_FC_BUCKETS]; /* closed buckets: mean time, */
    double bv[AD_FC_BUCKETS];  /* and mean value; oldest at (head - n) */
    uint32_t hh[AD_FC_HOURS];  /* closed hours: the hour in slot (hour % AD_FC_HOURS), */
    float hv[AD_FC_HOURS];     /* and its mean */
    struct ad_fc_pred last;    /* the last fit, as the API shows it */
};

void ad_fc_init(struct ad_fc *f);
/* Adds a point (t after the last one, x finite). True when it closed a bucket: time to refit. */
bool ad_fc_add(struct ad_fc *f, const struct ad_fc_params *p, int64_t t_ns, double x);
/* Fits the trend as of now_ns and predicts the first crossing of the levels not reached yet
 * (reached: the static level the value is at, 0..2). det/det_st/det_p: the series' detector,
 * whose expect op gives the season to take out (NULL: none). Stores it in f->last as well. */
void ad_fc_fit(struct ad_fc *f, const struct ad_fc_params *p, int64_t now_ns,
               const struct ad_fc_rule *rule, uint8_t reached, const struct ad_det_ops *det,
               const void *det_st, const struct ad_det_params *det_p, struct ad_fc_pred *ret);
/* The alert after a fit: raised after AD_FC_CONFIRM fits in a row predict a crossing within the
 * horizon, updated on each fit while firing, resolved after AD_FC_CONFIRM fits in a row predict
 * none within horizon * AD_FC_MARGIN. */
enum ad_fc_change ad_fc_step(struct ad_fc *f, const struct ad_fc_params *p,
                             const struct ad_fc_pred *pred);
/* The alert after a point: resolved once the value has reached the level it predicts. */
enum ad_fc_change ad_fc_reached(struct ad_fc *f, uint8_t reached);
/* Sanity of a loaded state (ring indexes, levels); false: corrupt. */
bool ad_fc_valid(const struct ad_fc *f);

/* "3h12m", "45m", "2d4h", "50s" into buf. */
char *ad_fc_duration(int64_t ns, char *buf, size_t n);
