/* models/det_robust.c: the "robust" detector: an EWMA level with a robust spread (EWMA of the
 * absolute deviation, both fed clipped residuals so one spike moves neither much). No season.
 * Pure: no I/O, O(1), no allocation.
 *
 * Level shifts: a point outside the band is learned clipped to the band's edge; after
 * det_shift_after() points outside on one side (det_shift_step) the level jumps to their mean
 * (the detector alerts for those points, then accepts the new normal).
 * Gaps and irregular sampling: the EWMA is per point, not per second. A gap longer than
 * max_gap_ns restarts the level's warm-up (REWARM points, warm false) and keeps the spread: the
 * series may come back at another level, but its noise is the same. */
#include <math.h>
#include <stdio.h>

#include "models/det_internal.h"
#include "models/detector.h"

#define REWARM 6      /* points that re-learn the level after a gap */
#define CLIP_WARM 4.0 /* residuals clipped at 4 sigma while warming up (after MIN_CLIP points) */
#define MIN_CLIP 8

struct robust {
    struct ad_det_hdr h;
    double level;    /* EWMA of the (clipped) values */
    double mad;      /* EWMA of |x - level| (clipped): sigma = 1.2533 mad */
    double tail;     /* tracked DET_TAIL_P quantile of |x - level| */
    uint32_t n;      /* points since the start or the last gap (saturates) */
    uint32_t rewarm; /* points left in the warm-up after a gap */
    struct det_shift shift;
    struct det_lik lik;
};

_Static_assert(sizeof(struct robust) <= AD_DET_STATE_MAX, "robust state over budget");

static void robust_init(void *st, const struct ad_det_params *p)
{
    (void)st;
    (void)p;
}

static double sigma_mad(const struct robust *r)
{
    return DET_SIGMA_PER_MAD * r->mad;
}

/* The MAD's sigma, widened for heavy tails (det_internal.h). */
static double sigma(const struct robust *r)
{
    double a = sigma_mad(r), b = r->tail / DET_TAIL_Z;
    return a > b ? a : b;
}

/* Learns x with its residual clipped at clip (> 0) from the level. */
static void learn(struct robust *r, double a, double x, double clip)
{
    double res = x - r->level;
    double ares = fabs(res);
    r->tail = det_tail_step(r->tail, ares);
    if (ares > clip) {
        res = res > 0 ? clip : -clip;
        ares = clip;
    }
    r->level += a * res;
    r->mad += a * (ares - r->mad);
}

static void warm_step(struct robust *r, const struct ad_det_params *p, double x,
                      struct ad_det_out *out)
{
    det_out_warmup(out, x);
    if (r->rewarm > 0) {
        /* After a gap: a plain mean of the points since, the spread untouched. */
        r->rewarm--;
        r->level += (x - r->level) / r->n;
        return;
    }
    if (r->n == 1) {
        r->level = x;
        r->mad = 0;
        return;
    }
    double a = 1.0 / r->n > det_alpha(p) ? 1.0 / r->n : det_alpha(p);
    double clip = r->n > MIN_CLIP && r->mad > 0 ? CLIP_WARM * sigma_mad(r) : INFINITY;
    learn(r, a, x, clip);
}

static void robust_update(void *st, const struct ad_det_params *p, int64_t t_ns, double x,
                          struct ad_det_out *out)
{
    struct robust *r = st;
    if (r->h.points > 0 && t_ns - r->h.last_ns > p->max_gap_ns) {
        r->rewarm = REWARM;
        r->n = 0;
        r->shift = (struct det_shift){0};
    }
    if (r->n < UINT32_MAX)
        r->n++;
    if (r->h.points < p->warmup || r->rewarm > 0) {
        warm_step(r, p, x, out);
        return;
    }
    double sd = sigma(r), half = p->band * sd;
    det_out_band(out, r->level, half, half);
    sd = (out->upper - out->expected) / p->band; /* floored with the band */
    out->score = det_lik_score_r(&r->lik, fabs(x - r->level) / sd);
    double a = det_alpha(p), mean;
    int side = det_out_side(out, x);
    if (det_shift_step(&r->shift, side, x, det_shift_after(p), &mean)) {
        r->level = mean;
        return;
    }
    learn(r, a, x, side ? half : INFINITY);
}

static void robust_expect(const void *st, const struct ad_det_params *p, int64_t t_ns,
                          struct ad_det_out *out)
{
    (void)t_ns;
    const struct robust *r = st;
    if (r->h.points < p->warmup || r->rewarm > 0) {
        det_out_warmup(out, r->level);
        return;
    }
    double half = p->band * sigma(r);
    det_out_band(out, r->level, half, half);
}

static void robust_describe(const void *st, struct ad_det_info *info)
{
    const struct robust *r = st;
    info->season = "none";
    info->points = r->h.points;
}

static void robust_suggest(const void *st, const struct ad_det_params *p, struct ad_det_suggest *s)
{
    const struct robust *r = st;
    double sd = sigma(r);
    /* Two-sided: each side gets half of the false-alarm probability. */
    double zw = det_normal_upper(5 * p->q), zc = det_normal_upper(p->q / 2);
    s->warning_hi = r->level + zw * sd;
    s->critical_hi = r->level + zc * sd;
    s->warning_lo = r->level - zw * sd;
    s->critical_lo = r->level - zc * sd;
    char w[48], c[48];
    det_one_in(10 * p->q, w, sizeof(w));
    det_one_in(p->q, c, sizeof(c));
    snprintf(s->why_warning, sizeof(s->why_warning),
             "level %.6g +/- %.2f sigma (robust sigma %.4g over %llu points): a Gaussian series "
             "crosses it %s",
             r->level, zw, sd, (unsigned long long)r->h.points, w);
    snprintf(s->why_critical, sizeof(s->why_critical),
             "level %.6g +/- %.2f sigma (robust sigma %.4g over %llu points): a Gaussian series "
             "crosses it %s",
             r->level, zc, sd, (unsigned long long)r->h.points, c);
}

const struct ad_det_ops ad_det_robust = {
    .name = "robust",
    .id = 1,
    .state_size = sizeof(struct robust),
    .init = robust_init,
    .update = robust_update,
    .expect = robust_expect,
    .describe = robust_describe,
    .suggest = robust_suggest,
};
