/* models/det_spot.c: the "spot" detector: DSPOT (Siffer et al., KDD 2017; ALGORITHMS.md 2.2).
 * The level is the mean of the last DRIFT normal values; what is left (x - level) goes through two
 * SPOT instances, one per tail, each a generalised Pareto tail fitted on the peaks over a threshold
 * t and an alarm threshold z_q exceeded with probability q per point. Pure: no I/O, no allocation;
 * per point O(1): a refit (Grimshaw and method of moments over at most PEAKS peaks) runs once every
 * REFIT_DIV-th of the ring's peaks, so its cost is spread over tens of points.
 *
 * Calibration (the warm-up): the first DRIFT points fill the level's window; each later warm-up
 * point's residual enters a per-tail top-k (k = the share 1 - LEVEL of the calibration points, at
 * least MIN_PEAKS); at the end t is the smallest of them (the LEVEL quantile) and the rest are the
 * first peaks. Anomalies enter neither the window nor the tails, except that after
 * det_shift_after() anomalies on one side (det_shift_step) the window takes them (a level shift).
 * Gaps: a gap longer than max_gap_ns empties the level's window; the next DRIFT points refill it
 * (warm false) and the tails are kept. Irregular sampling: everything is per point. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/det_internal.h"
#include "models/detector.h"

#define DRIFT 24   /* depth d of the level's window */
#define PEAKS 72   /* peaks kept per tail (the newest) */
#define LEVEL 0.95 /* the peaks' threshold t is this quantile of the residuals */
#define MIN_PEAKS 8
#define REFIT_DIV 2  /* refit after ring/REFIT_DIV new peaks */
#define DECAY_AT 1e6 /* past this many points n and N_t are halved: the tail keeps adapting */

struct tail {
    float t; /* peaks' threshold over the level */
    float gamma, sigma;
    float z;  /* alarm threshold over the level, at probability q */
    float nt; /* peaks seen (decayed with n) */
    uint16_t head, cnt, since_fit;
    uint16_t pad;
};

/* What every point reads comes first, in two cache lines; the peaks are touched by peaks only. */
struct spot {
    struct ad_det_hdr h;
    double sum; /* sum of win[] */
    double n;   /* points counted in the tails' rate (decayed) */
    uint16_t whead, wcnt;
    struct det_shift shift;
    uint32_t ncal; /* calibration residuals seen */
    uint8_t calibrated;
    struct tail up, lo;
    struct det_lik lik;
    float win[DRIFT]; /* the last normal values */
    /* Excesses over t per tail (ring); during calibration the top residuals, ascending. */
    float yup[PEAKS], ylo[PEAKS];
};

_Static_assert(sizeof(struct spot) <= AD_DET_STATE_MAX, "spot state over budget");

static void spot_init(void *st, const struct ad_det_params *p)
{
    (void)st;
    (void)p;
}

static double level_of(const struct spot *s)
{
    return s->wcnt ? s->sum / s->wcnt : 0;
}

static void push_level(struct spot *s, double x)
{
    if (s->wcnt < DRIFT) {
        s->win[(s->whead + s->wcnt++) % DRIFT] = (float)x;
        s->sum += (float)x;
        return;
    }
    s->sum += (float)x - s->win[s->whead];
    s->win[s->whead] = (float)x;
    s->whead = (uint16_t)((s->whead + 1) % DRIFT);
    if (s->whead == 0) {
        /* Re-add from scratch once a window so rounding does not accumulate. */
        s->sum = 0;
        for (int i = 0; i < DRIFT; i++)
            s->sum += s->win[i];
    }
}

/* --- GPD fit (ALGORITHMS.md 2.2 step 2) --------------------------------------------------- */

static double loglik(const float *y, int n, double g, double sg)
{
    if (!(sg > 0))
        return -INFINITY;
    double acc = 0;
    if (fabs(g) < 1e-9) {
        for (int i = 0; i < n; i++)
            acc += y[i];
        return -n * log(sg) - acc / sg;
    }
    for (int i = 0; i < n; i++) {
        double z = 1 + g * y[i] / sg;
        if (z <= 0)
            return -INFINITY;
        acc += log(z);
    }
    return -n * log(sg) - (1 + 1 / g) * acc;
}

/* Grimshaw's w(x) = u(x) v(x) - 1; *v gets v(x). */
static double grimshaw_w(const float *y, int n, double x, double *v)
{
    double u = 0, lv = 0;
    for (int i = 0; i < n; i++) {
        double s = 1 + x * y[i];
        u += 1 / s;
        lv += log(s);
    }
    u /= n;
    *v = 1 + lv / n;
    return u * *v - 1;
}

struct fit {
    double g, s, ll;
};

static void consider(struct fit *best, const float *y, int n, double g, double s)
{
    double ll = loglik(y, n, g, s);
    if (ll > best->ll)
        *best = (struct fit){g, s, ll};
}

/* The first root of w in (a, b) found on a geometric grid, refined by bisection. */
static void root_in(struct fit *best, const float *y, int n, double a, double b)
{
    enum { GRID = 6, BISECT = 14 };
    double v, xa = a, wa = grimshaw_w(y, n, a, &v);
    for (int i = 1; i <= GRID; i++) {
        double xb = a + (b - a) * i / GRID;
        double wb = grimshaw_w(y, n, xb, &v);
        if ((wa < 0) != (wb < 0)) {
            for (int k = 0; k < BISECT; k++) {
                double xm = (xa + xb) / 2, wm = grimshaw_w(y, n, xm, &v);
                if ((wm < 0) == (wa < 0)) {
                    xa = xm;
                    wa = wm;
                } else {
                    xb = xm;
                }
            }
            double x = (xa + xb) / 2;
            grimshaw_w(y, n, x, &v);
            double g = v - 1;
            consider(best, y, n, g, g / x);
            return;
        }
        xa = xb;
        wa = wb;
    }
}

static struct fit fit_gpd(const float *y, int n)
{
    double mean = 0, ymin = INFINITY, ymax = 0;
    for (int i = 0; i < n; i++) {
        mean += y[i];
        ymin = y[i] < ymin ? y[i] : ymin;
        ymax = y[i] > ymax ? y[i] : ymax;
    }
    mean /= n;
    struct fit best = {0, mean, -INFINITY};
    if (!(mean > 0))
        return best;
    consider(&best, y, n, 0, mean); /* exponential tail */
    double var = 0;
    for (int i = 0; i < n; i++)
        var += (y[i] - mean) * (y[i] - mean);
    var /= n;
    if (var > 0) {
        double r = mean * mean / var;
        consider(&best, y, n, 0.5 * (1 - r), 0.5 * mean * (1 + r)); /* method of moments */
    }
    double eps = 1e-8 / mean;
    root_in(&best, y, n, -1 / ymax + eps, -eps);
    double top = ymin > 0 ? 2 * (mean - ymin) / (ymin * ymin) : 1e6 / mean;
    if (top > 1e6 / mean)
        top = 1e6 / mean;
    if (top > 2 * eps)
        root_in(&best, y, n, eps, top);
    return best;
}

/* z_q over the level (step 3). */
static void threshold(struct tail *tl, double n, double q)
{
    double r = q * n / (tl->nt > 0 ? tl->nt : 1);
    double z;
    if (r >= 1 || tl->cnt == 0)
        z = tl->t;
    else if (fabs(tl->gamma) < 1e-9)
        z = tl->t - tl->sigma * log(r);
    else
        z = tl->t + tl->sigma / tl->gamma * (pow(r, -tl->gamma) - 1);
    tl->z = (float)(z > tl->t ? z : tl->t);
}

static void refit(struct tail *tl, const float *y, double n, double q)
{
    tl->since_fit = 0;
    if (tl->cnt > 0) {
        struct fit f = fit_gpd(y, tl->cnt);
        tl->gamma = (float)f.g;
        tl->sigma = (float)f.s;
    }
    threshold(tl, n, q);
}

/* --- calibration ------------------------------------------------------------------------ */

static uint32_t top_k(const struct ad_det_params *p)
{
    double ncal = p->warmup > DRIFT ? p->warmup - DRIFT : 0;
    uint32_t k = (uint32_t)ceil((1 - LEVEL) * ncal) + 1; /* + 1: the smallest becomes t */
    return k < MIN_PEAKS + 1 ? MIN_PEAKS + 1 : k > PEAKS ? PEAKS : k;
}

/* Keeps the k largest residuals seen, ascending in y[0..cnt). */
static void calib_push(struct tail *tl, float *y, uint32_t k, double r)
{
    float v = (float)r;
    if (tl->cnt == k) {
        if (v <= y[0])
            return;
        memmove(y, y + 1, (size_t)(k - 1) * sizeof(float));
        tl->cnt--;
    }
    int i = tl->cnt;
    while (i > 0 && y[i - 1] > v) {
        y[i] = y[i - 1];
        i--;
    }
    y[i] = v;
    tl->cnt++;
}

static void calib_end(struct tail *tl, float *y, double n, double q)
{
    if (tl->cnt == 0) {
        tl->t = 0;
        threshold(tl, n, q);
        return;
    }
    tl->t = y[0];
    for (int i = 1; i < tl->cnt; i++)
        y[i - 1] = y[i] - tl->t;
    tl->cnt--;
    tl->head = (uint16_t)(tl->cnt % PEAKS);
    tl->nt = tl->cnt;
    refit(tl, y, n, q);
}

static void calibrate(struct spot *s, const struct ad_det_params *p)
{
    s->n = s->ncal;
    calib_end(&s->up, s->yup, s->n, p->q);
    calib_end(&s->lo, s->ylo, s->n, p->q);
    s->calibrated = 1;
}

/* --- stream ------------------------------------------------------------------------------- */

static void add_peak(struct tail *tl, float *y, double excess, double n, double q)
{
    y[tl->head] = (float)excess;
    tl->head = (uint16_t)((tl->head + 1) % PEAKS);
    if (tl->cnt < PEAKS)
        tl->cnt++;
    tl->nt += 1;
    if (++tl->since_fit >= (tl->cnt + REFIT_DIV - 1) / REFIT_DIV)
        refit(tl, y, n, q);
    else
        threshold(tl, n, q);
}

/* -ln P(a residual beyond y >= 0 on this tail's side): the GPD tail above t, and below t a
 * probability going linearly from 1 at 0 to the tail's share N_t/n at t. */
static double surprise(const struct tail *tl, double n, double y)
{
    double share = n > 0 && tl->nt > 0 ? tl->nt / n : 1e-3;
    if (share > 1)
        share = 1;
    if (y <= tl->t)
        return tl->t > 0 ? -log(1 - (1 - share) * y / tl->t) : 0;
    /* A short tail (gamma < 0) ends at t + sigma/-gamma, and a point past that end would be
     * impossible: the exponential tail (gamma 0) keeps such points finite and ranked by how far
     * out they are. */
    double e = y - tl->t, lp, sg = tl->sigma > 0 ? tl->sigma : 1e-9 * (1 + tl->t);
    if (tl->gamma < 1e-9)
        lp = -e / sg;
    else
        lp = -log1p(tl->gamma * e / sg) / tl->gamma;
    return -log(share) - lp;
}

static void learn_normal(struct spot *s, const struct ad_det_params *p, double x, double r)
{
    s->n += 1;
    if (s->n > DECAY_AT) {
        s->n /= 2;
        s->up.nt /= 2;
        s->lo.nt /= 2;
    }
    if (r > s->up.t)
        add_peak(&s->up, s->yup, r - s->up.t, s->n, p->q);
    else if (-r > s->lo.t)
        add_peak(&s->lo, s->ylo, -r - s->lo.t, s->n, p->q);
    push_level(s, x);
}

static void calib_step(struct spot *s, const struct ad_det_params *p, double x,
                       struct ad_det_out *out)
{
    det_out_warmup(out, x);
    if (s->wcnt == DRIFT && !s->calibrated) {
        double r = x - level_of(s);
        uint32_t k = top_k(p);
        calib_push(&s->up, s->yup, k, r);
        calib_push(&s->lo, s->ylo, k, -r);
        s->ncal++;
    }
    push_level(s, x); /* filling the window (at the start or after a gap) or calibrating */
    /* The fit is made on the last warm-up point, so the first scored point costs no more than
     * any other. */
    if (!s->calibrated && s->wcnt == DRIFT && s->h.points + 1 >= p->warmup)
        calibrate(s, p);
}

static void spot_update(void *st, const struct ad_det_params *p, int64_t t_ns, double x,
                        struct ad_det_out *out)
{
    struct spot *s = st;
    if (s->h.points > 0 && t_ns - s->h.last_ns > p->max_gap_ns) {
        s->wcnt = 0;
        s->whead = 0;
        s->sum = 0;
        s->shift = (struct det_shift){0};
    }
    if (!s->calibrated || s->wcnt < DRIFT || s->h.points < p->warmup) {
        calib_step(s, p, x, out);
        return;
    }
    double m = level_of(s), r = x - m;
    det_out_band(out, m, s->lo.z, s->up.z);
    out->score =
        det_lik_score(&s->lik, r >= 0 ? surprise(&s->up, s->n, r) : surprise(&s->lo, s->n, -r));
    double mean;
    int side = det_out_side(out, x);
    if (det_shift_step(&s->shift, side, x, det_shift_after(p), &mean)) {
        /* A level shift: the window restarts from the shifted points' mean. */
        s->wcnt = 0;
        s->whead = 0;
        s->sum = 0;
        for (int i = 0; i < DRIFT; i++)
            push_level(s, mean);
        return;
    }
    if (side == 0)
        learn_normal(s, p, x, r);
}

static void spot_expect(const void *st, const struct ad_det_params *p, int64_t t_ns,
                        struct ad_det_out *out)
{
    (void)t_ns;
    const struct spot *s = st;
    double m = level_of(s);
    if (s->h.points < p->warmup || s->wcnt < DRIFT || !s->calibrated) {
        det_out_warmup(out, m);
        return;
    }
    det_out_band(out, m, s->lo.z, s->up.z);
}

static void spot_describe(const void *st, struct ad_det_info *info)
{
    const struct spot *s = st;
    info->season = "none";
    info->points = s->h.points;
}

/* The threshold over the level exceeded with probability q under the tail's fit. */
static double z_at(const struct tail *tl, double n, double q)
{
    struct tail c = *tl;
    threshold(&c, n, q);
    return c.z;
}

static void spot_suggest(const void *st, const struct ad_det_params *p, struct ad_det_suggest *sg)
{
    const struct spot *s = st;
    double m = level_of(s);
    sg->warning_hi = m + z_at(&s->up, s->n, 10 * p->q);
    sg->critical_hi = m + z_at(&s->up, s->n, p->q);
    sg->warning_lo = m - z_at(&s->lo, s->n, 10 * p->q);
    sg->critical_lo = m - z_at(&s->lo, s->n, p->q);
    char w[48], c[48];
    det_one_in(10 * p->q, w, sizeof(w));
    det_one_in(p->q, c, sizeof(c));
    snprintf(sg->why_warning, sizeof(sg->why_warning),
             "p%.6g of the learned tail (SPOT, GPD gamma=%.3g sigma=%.3g over %u peaks, level "
             "%.6g): would have fired %s",
             100 * (1 - 10 * p->q), s->up.gamma, s->up.sigma, s->up.cnt, m, w);
    snprintf(sg->why_critical, sizeof(sg->why_critical),
             "p%.6g of the learned tail (SPOT, GPD gamma=%.3g sigma=%.3g over %u peaks, level "
             "%.6g): would have fired %s",
             100 * (1 - p->q), s->up.gamma, s->up.sigma, s->up.cnt, m, c);
}

const struct ad_det_ops ad_det_spot = {
    .name = "spot",
    .id = 3,
    .state_size = sizeof(struct spot),
    .init = spot_init,
    .update = spot_update,
    .expect = spot_expect,
    .describe = spot_describe,
    .suggest = spot_suggest,
};
