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

/* Warm-up output: score 0, expected x, bounds NaN, warm false. */
void det_out_warmup(struct ad_det_out *out, double x);
/* Band [expected - below, expected + above] (below, above >= 0; floored so that a constant series
 * still has a band); score = d / (1 + d) with d the distance from expected in units of the band's
 * half-width on that side, so score > 0.5 exactly outside the band. */
void det_out_band(struct ad_det_out *out, double x, double expected, double below, double above);
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
