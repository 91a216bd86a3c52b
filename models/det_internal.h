/* models/det_internal.h: what the detectors (models/det_*.c) share with models/detector.c: the
 * band-to-score mapping, the warm-up output and the Gaussian quantile. Nothing outside models/
 * includes it. Pure: no I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/detector.h"

#define DET_NS_PER_H (INT64_C(3600) * INT64_C(1000000000))
/* sigma of a Gaussian per mean absolute deviation: sqrt(pi/2) */
#define DET_SIGMA_PER_MAD 1.2533141373155

/* Bytes of the seasonal detector's state, which the context detector embeds. */
#define DET_SEASONAL_SIZE 896

/* Warm-up output: score 0, expected x, bounds NaN, warm false. */
void det_out_warmup(struct ad_det_out *out, double x);
/* Band [expected - below, expected + above] (below, above >= 0; floored so that a constant series
 * still has a band), warm true, score 0: the detector then sets it with det_lik_score(). */
void det_out_band(struct ad_det_out *out, double expected, double below, double above);
/* 0 when x is inside out's band, +1 above it, -1 below it. */
int det_out_side(const struct ad_det_out *out, double x);

/* Anomaly likelihood (after HTM's, Ahmad et al. 2017, as NAB runs it), shared by every detector.
 * A detector gives each point its surprise s = -ln P(a residual at least this extreme) under its
 * own model (det_gauss_surprise() of residual/sigma for robust and seasonal, the GPD tail for
 * spot). The point's raw score is r = min(sqrt(2 s), DET_LIK_RCAP), about |z| for a Gaussian
 * residual. The likelihood keeps a short EWMA of r (DET_LIK_SHORT points) and a long-term mean
 * and variance of that short average (DET_LIK_LONG points, a plain average until then); the
 * point's score comes from the short average's two-sided Gaussian tail probability p under the
 * long-term distribution (learned before the point), as S / (S + DET_LIK_HALF) with S = -ln p:
 * 0.5 at p = 1e-5, strictly increasing in S, in [0, 1). So a run of unusual points (spikes getting
 * denser, a level shift, noise that grows) and a run of unusually ordinary ones (a series gone
 * flat where it used to swing) both score high, one extreme point still does (r = 8 moves the
 * short average by 1.45), while noise the series always had does not. Scores are 0 for the
 * first 4 * DET_LIK_SHORT points after warm-up. 16 bytes, in each detector's state. */
struct det_lik {
    float avg;  /* short EWMA of r */
    float mean; /* long-term EWMA of avg */
    float var;  /* long-term EWMA variance of avg */
    uint32_t n; /* points fed (saturates) */
};
#define DET_LIK_SHORT 10  /* as HTM's moving average */
#define DET_LIK_LONG 8640 /* 30 days of 5-minute points, as HTM's */
#define DET_LIK_RCAP 8.0
#define DET_LIK_VFLOOR 0.01             /* added to the short average's variance: sd >= 0.1 */
#define DET_LIK_HALF 11.512925464970229 /* ln(1e5): score 0.5 at p = 1e-5 */
/* -ln P(|Z| >= |z|) for a standard Gaussian Z: 0 at z = 0, z^2/2 + ln|z| + 0.23 far out. */
double det_gauss_surprise(double z);
/* Feeds a point's surprise (>= 0) to the likelihood and returns the point's score. */
double det_lik_score(struct det_lik *l, double s_point);
/* The same from the raw score r >= 0 itself: robust and seasonal give |residual| / sigma, which
 * is what sqrt(2 s) approximates (within 0.5 from z = 1 on) without an erfc and a log. */
double det_lik_score_r(struct det_lik *l, double r);
/* alpha = 2 / (memory + 1), within [1e-6, 1]. */
double det_alpha(const struct ad_det_params *p);
/* Consecutive points outside the band on one side after which a detector takes the new level as
 * the normal one (a level shift, not a spike): it keeps alerting until then. */
uint32_t det_shift_after(const struct ad_det_params *p);

/* Level-shift tracking: k counts points outside the band on one side, less one for each point
 * back inside (a noisy shift still gets there), and restarts on the other side; sum/n is the mean
 * of the outside points counted. 8 bytes, in each detector's state. */
struct det_shift {
    float sum;
    uint16_t n;
    int16_t k;
};

/* side: 0 inside the band, +1 above, -1 below; v: what the caller averages (value or residual).
 * Returns true when |k| reached after: the caller moves its level to *ret_mean; the tracker is
 * then reset. */
bool det_shift_step(struct det_shift *s, int side, double v, uint32_t after, double *ret_mean);
/* Heavy tails: each detector also tracks the DET_TAIL_P quantile of its absolute residuals
 * (frugal streaming quantile in the log domain, so it is scale-free: up by STEP*(1-P) when a
 * residual is above it, down by STEP*P when below, resting where a share P is above) and widens
 * its sigma to tail / DET_TAIL_Z when that is larger. A Gaussian series keeps its plain band; a
 * series whose spikes are routine, or that is flat between them, gets a band that holds all but
 * DET_TAIL_P of its residuals. */
#define DET_TAIL_P 0.005
#define DET_TAIL_Z 2.807 /* the Gaussian's two-sided 0.5% point */
double det_tail_step(double tail, double ares);

/* z such that P(Z > z) = prob for a standard Gaussian (0 < prob < 1). */
double det_normal_upper(double prob);
/* "1 time in 10 000 points" for a per-point probability. */
void det_one_in(double prob, char *buf, size_t len);
