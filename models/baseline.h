/* models/baseline.h: dynamic baselining and static thresholds for metric series (issue 6,
 * docs/baselines.md). A metric event (kind metric, with a value) updates its series: the key is
 * "<resource>/<check>" plus the configured series_labels ("{env=prod}"). Each series runs one
 * detector (models/detector.h), chosen by the first `detectors` pattern its key matches, and the
 * static threshold rule of the first `thresholds` pattern it matches, side by side.
 *
 * A point outside the learned band for alert_after points in a row (or one scoring at least
 * score_threshold) turns the metric event into an alert: check "baseline:<series>", the observed
 * value, expected value, bounds and score in its labels and summary; it then enters dedup and
 * correlation like any other alert. resolve_after points back inside resolve it. A static rule
 * raises "threshold:<series>" at warning or critical, with hysteresis. When one point changes
 * both, the second alert is handed out by take() after the first. A series with a static rule
 * also keeps a trend (models/forecast.h) and raises "forecast:<series>" when the trend will
 * reach a level within forecast_horizon. Other metric points are learned and consumed. Runs
 * first in the pipeline. Pure: no I/O, event time only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"
#include "models/model.h"

struct ad_baseline;
struct ad_buf;
struct ad_det_ops;
struct ad_det_params;
struct ad_err;
struct ad_event;
struct ad_fc_params;
struct ad_fc_rule;

struct ad_baseline_cfg {
    bool enabled;
    struct ad_strlist series_labels; /* label names that are part of the series key */
    char *detector;                  /* default detector; "" = the built-in default */
    struct ad_strlist detectors;     /* "<glob on the series key>=<detector>", first match wins */
    double band, q;
    uint64_t warmup;
    double memory;
    int64_t max_gap_ns;
    uint64_t alert_after, resolve_after;
    double score_threshold;          /* 0: off */
    int severity;                    /* enum ad_severity of learned-band alerts */
    struct ad_strlist thresholds;    /* "<glob> above|below <warning> <critical> [<hysteresis>]" */
    int64_t forecast_horizon_ns;     /* 0: no forecasts */
    int64_t forecast_window_ns;
    double forecast_z;
    int forecast_severity;
    uint64_t max_series;
    int64_t stale_after_ns;          /* alerting series without points this long resolve */
    int64_t expire_after_ns;
    char *state_file;                /* the daemon's (daemon/model_state.c); "" = none */
    int64_t save_interval_ns;
};

struct ad_baseline_stats {
    uint64_t points, anomalous, not_finite, out_of_order, no_value, refused, expired, reset;
    uint64_t adopted;                /* series whose state a new default detector took over */
    uint64_t stale;                  /* series whose alerts were resolved for lack of points */
    uint64_t raised[3], resolved[3]; /* [0] learned band, [1] static threshold, [2] forecast */
    size_t series, bytes;
};

extern const struct ad_model_ops ad_model_baseline;

int ad_baseline_create(const struct ad_baseline_cfg *cfg, struct ad_baseline **ret,
                       struct ad_err *reterr);
void ad_baseline_destroy(struct ad_baseline *b); /* NULL-safe */
int ad_baseline_reconfigure(struct ad_baseline *b, const struct ad_baseline_cfg *cfg,
                            struct ad_err *reterr);
/* The model's observe (see the file comment): 0 (ev rewritten into an alert), AD_CONSUMED (learned
 * or rejected, counted), or -EINVAL (a metric event without a value, or an over-long series key).
 * Events other than metrics pass untouched. */
int ad_baseline_observe(struct ad_baseline *b, struct ad_event *ev);
/* A second alert from the last observe: 1 and *ev, valid until the next observe; 0 when none. */
int ad_baseline_take(struct ad_baseline *b, struct ad_event *ev);
void ad_baseline_get_stats(const struct ad_baseline *b, struct ad_baseline_stats *ret);

/* GET /api/v1/baselines: one series as a JSON object (expected value, bounds, season, points,
 * static rule, suggested thresholds), or -ENOENT. */
int ad_baseline_series_json(const struct ad_baseline *b, const char *key, struct ad_buf *out);
/* Keys starting with prefix, at most limit, as a JSON array of strings appended to out (with a
 * leading comma when *first is false); returns how many series matched in all. */
size_t ad_baseline_list_json(const struct ad_baseline *b, const char *prefix, size_t limit,
                             size_t *listed, struct ad_buf *out);

/* The detector and parameters models.baseline gives a series key (the first `detectors` pattern
 * matching it, else `detector`, else the default), for aiopsctl baseline --config. 0, or
 * -EINVAL with why in reterr (a bad rule), or -ENOMEM. */
int ad_baseline_params_for(const struct ad_baseline_cfg *cfg, const char *key,
                           const struct ad_det_ops **ret_det, struct ad_det_params *ret_params,
                           struct ad_err *reterr);

/* The forecast settings models.baseline gives a series key, and its static rule (*ret_has_rule
 * false when no `thresholds` pattern matches it), for aiopsctl baseline --forecast. 0, or
 * -EINVAL with why in reterr, or -ENOMEM. */
int ad_baseline_forecast_for(const struct ad_baseline_cfg *cfg, const char *key,
                             struct ad_fc_params *ret_params, struct ad_fc_rule *ret_rule,
                             bool *ret_has_rule, struct ad_err *reterr);

/* "above|below <warning> <critical> [<hysteresis>]" (a thresholds item without its pattern, '-'
 * for no level) as a forecast rule, for aiopsctl baseline --threshold. 0, or -EINVAL with why. */
int ad_baseline_parse_rule(const char *text, struct ad_fc_rule *ret, struct ad_err *reterr);

/* The whole learned state (series keys, detector states, alert states) for the state file and the
 * Kafka checkpoints; load replaces the state. */
int ad_baseline_save(const struct ad_baseline *b, struct ad_buf *out);
int ad_baseline_load(struct ad_baseline *b, const void *data, size_t len, struct ad_err *reterr);
