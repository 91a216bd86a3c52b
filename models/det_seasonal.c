/* models/det_seasonal.c: the "seasonal" detector: three predictors learned side by side (flat,
 * hour-of-day, hour-of-week), each a level plus a profile, and the one with the smallest recent
 * error chosen to draw the band. Pure: no I/O, O(1) per point, no allocation.
 *
 * Each predictor is additive Holt-Winters without trend: prediction = level + profile(t), the
 * profile is 24 (daily) or 168 (weekly) hourly buckets read and learned by linear interpolation
 * between bucket centres, so 5-minute data is not flattened into hourly steps. Buckets are indexed
 * by time (UTC hour of day, hour of week from Monday 00:00), not by point count, so sub-hourly,
 * hourly and irregular sampling all work; a point's learning rate is scaled by the time it covers
 * (at most one bucket), and is 1/(cycle+1) for the profile's first cycles, down to 1/CYCLES.
 *
 * Season choice: every predictor's one-step absolute error is tracked (EWMA, residuals clipped at
 * the band). The daily error starts after one day, the weekly one after one week; daily can be
 * chosen after 2 days of history, weekly after 2 weeks, and a predictor replaces the current one
 * only when its error is below SWITCH times the current one's (hysteresis).
 *
 * Phase tolerance: the residual that is scored and tracked is taken against the closest of the
 * predictions at t - WARP, t and t + WARP, so a sharp edge that comes a little early or late costs
 * nothing while a missing peak still does.
 *
 * Gaps: a gap longer than max_gap_ns keeps the profiles and the errors (they are indexed by time)
 * and re-learns the levels from the next REWARM points, which come out warm false.
 * Level shifts: after det_shift_after() points outside the band on one side (det_shift_step),
 * all the levels move by those points' mean residual. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/det_internal.h"
#include "models/detector.h"

#define NDAY 24
#define NWEEK 168
#define CYCLES 4   /* profile memory in cycles: learning rate floor 1/CYCLES per cycle */
#define SWITCH 0.8 /* a season must cut the error to 80% of the current one to replace it */
#define REWARM 6
#define CLIP_WARM 4.0
#define WARP (DET_NS_PER_H / 2)

enum { FLAT, DAILY, WEEKLY, NMODEL };

static const char *const season_names[NMODEL] = {"none", "daily", "weekly"};

struct seasonal {
    struct ad_det_hdr h;
    int64_t first_ns;     /* time of the first point: cycles of history */
    double level[NMODEL]; /* per predictor */
    float err[NMODEL];    /* EWMA of |one-step residual|, clipped; NaN until tracked */
    float tail[NMODEL];   /* DET_TAIL_P quantile of |warped residual| (det_internal.h) */
    float day[NDAY];      /* profile: value - level at each hour's centre; NaN until seen */
    float week[NWEEK];
    uint32_t n;             /* points since the start or the last gap (saturates) */
    uint32_t rewarm;        /* points left in the re-warm after a gap */
    struct det_shift shift; /* on the chosen predictor's residuals */
    uint8_t season;         /* the chosen predictor */
    struct det_lik lik;
};

_Static_assert(sizeof(struct seasonal) <= AD_DET_STATE_MAX, "seasonal state over budget");
_Static_assert(sizeof(struct seasonal) <= DET_SEASONAL_SIZE, "the context detector embeds it");

/* Where t falls between two bucket centres: buckets b0, b0 + 1 (mod period), weight w of b1. */
struct pos {
    uint32_t b0, b1;
    double w;
};

/* An update asks where a handful of times fall (t, and t -/+ WARP, for both profiles, several
 * times over): each time's hour, fraction and buckets are worked out once and remembered for
 * the few calls that follow (64-bit divisions were a third of an update). Per thread, and only
 * a cache: the results are the same as computing them each time. */
struct clock {
    int64_t t, hr;   /* hr: floor(t / 1 h) */
    double frac;     /* where t falls in that hour, [0, 1) */
    uint32_t day, week; /* hr's bucket in each profile (the epoch began on a Thursday: hour 72
                         * of a week that starts on Monday) */
    bool ok;
};
static _Thread_local struct clock memo[4];
static _Thread_local unsigned memo_next;

static const struct clock *clock_of(int64_t t_ns)
{
    for (unsigned i = 0; i < 4; i++)
        if (memo[i].ok && memo[i].t == t_ns)
            return &memo[i];
    struct clock *c = &memo[memo_next++ % 4];
    int64_t hr = t_ns / DET_NS_PER_H, rem = t_ns % DET_NS_PER_H;
    if (rem < 0) {
        hr--;
        rem += DET_NS_PER_H;
    }
    int64_t d = hr % NDAY, w = (hr + 72) % NWEEK;
    *c = (struct clock){t_ns, hr, (double)rem / (double)DET_NS_PER_H,
                        (uint32_t)(d < 0 ? d + NDAY : d), (uint32_t)(w < 0 ? w + NWEEK : w), true};
    return c;
}

/* Where t falls between two bucket centres (bucket b's centre is at b + 30 min): buckets b0 and
 * b0 + 1 (mod period), weight w of b1. */
static struct pos pos_of(int m, int64_t t_ns)
{
    const struct clock *c = clock_of(t_ns);
    uint32_t period = m == DAILY ? NDAY : NWEEK, b = m == DAILY ? c->day : c->week;
    double frac = c->frac;
    if (frac >= 0.5) {
        frac -= 0.5;
    } else {
        b = b == 0 ? period - 1 : b - 1;
        frac += 0.5;
    }
    return (struct pos){b, b + 1 == period ? 0 : b + 1, frac};
}

static float *profile(struct seasonal *s, int m)
{
    return m == DAILY ? s->day : s->week;
}

static double profile_at(const float *pr, struct pos ps)
{
    double a = pr[ps.b0], b = pr[ps.b1];
    if (isnan(a))
        return isnan(b) ? 0 : b;
    if (isnan(b))
        return a;
    return (1 - ps.w) * a + ps.w * b;
}

static double predict(const struct seasonal *s, int m, int64_t t_ns)
{
    if (m == FLAT)
        return s->level[FLAT];
    const float *pr = m == DAILY ? s->day : s->week;
    return s->level[m] + profile_at(pr, pos_of(m, t_ns));
}

static double sigma_mad(const struct seasonal *s, int m)
{
    return DET_SIGMA_PER_MAD * (isnan(s->err[m]) ? s->err[FLAT] : s->err[m]);
}

/* The band's sigma, widened for heavy tails (det_internal.h). */
static double sigma(const struct seasonal *s, int m)
{
    double a = sigma_mad(s, m);
    double b = (isnan(s->err[m]) ? s->tail[FLAT] : s->tail[m]) / DET_TAIL_Z;
    return a > b ? a : b;
}

/* What the predictor expects at t, allowing the season to run up to WARP early or late: of the
 * predictions at t - WARP, t and t + WARP, the closest to x. A profile's sharp edge (a batch job
 * that starts at 09:00, give or take) then costs no error, while a missing peak still does. */
static double predict_warped(const struct seasonal *s, int m, int64_t t_ns, double x)
{
    double best = predict(s, m, t_ns);
    if (m == FLAT)
        return best;
    for (int k = -1; k <= 1; k += 2) {
        double e = predict(s, m, t_ns + k * WARP);
        if (fabs(x - e) < fabs(x - best))
            best = e;
    }
    return best;
}

static void seasonal_init(void *st, const struct ad_det_params *p)
{
    (void)p;
    struct seasonal *s = st;
    for (int i = 0; i < NDAY; i++)
        s->day[i] = NAN;
    for (int i = 0; i < NWEEK; i++)
        s->week[i] = NAN;
    s->err[DAILY] = s->err[WEEKLY] = NAN;
    s->season = FLAT;
}

/* Learns one bucket pair towards target (value - level) with rate g. */
static void learn_profile(float *pr, struct pos ps, double target, double g)
{
    double e = target - profile_at(pr, ps);
    if (isnan(pr[ps.b0]))
        pr[ps.b0] = (float)target;
    else
        pr[ps.b0] += (float)(g * (1 - ps.w) * e);
    if (isnan(pr[ps.b1]))
        pr[ps.b1] = (float)target;
    else
        pr[ps.b1] += (float)(g * ps.w * e);
}

static double clampd(double v, double lim)
{
    return v > lim ? lim : v < -lim ? -lim : v;
}

/* Learns the point at t in every predictor; res[] holds their one-step residuals, wres[] the
 * warped ones (predict_warped) that the errors track. clip_k: residuals are clipped at clip_k
 * sigma (INFINITY: no clipping). */
static void learn(struct seasonal *s, const struct ad_det_params *p, int64_t t_ns,
                  const double *res, const double *wres, double clip_k)
{
    double a = det_alpha(p);
    if (s->n < UINT32_MAX && 1.0 / s->n > a)
        a = 1.0 / s->n;
    double dt_h = s->h.points ? (double)(t_ns - s->h.last_ns) / (double)DET_NS_PER_H : 1;
    if (dt_h > 1)
        dt_h = 1;
    int64_t age = t_ns - s->first_ns;
    for (int m = 0; m < NMODEL; m++) {
        double sd = sigma_mad(s, m);
        double lim = sd > 0 ? clip_k * sd : INFINITY;
        double r = clampd(res[m], lim);
        if (!isnan(s->err[m])) {
            double w = fabs(wres[m]);
            s->err[m] += (float)(a * ((w < lim ? w : lim) - s->err[m]));
            /* A profile's tail learns from isolated points only: a missing peak must not
             * widen the band it breaks. */
            if (m == FLAT || (s->shift.k >= -1 && s->shift.k <= 1))
                s->tail[m] = (float)det_tail_step(s->tail[m], w);
        }
        if (m == FLAT) {
            s->level[m] += a * r;
            continue;
        }
        int64_t period = (m == DAILY ? NDAY : NWEEK) * DET_NS_PER_H;
        double cyc = (double)(age / period) + 1;
        double g = dt_h / (cyc < CYCLES ? cyc : CYCLES);
        struct pos ps = pos_of(m, t_ns);
        double pred = s->level[m] + profile_at(profile(s, m), ps);
        /* Learn towards the clipped value, not the raw one. */
        learn_profile(profile(s, m), ps, pred + r - s->level[m], g);
        s->level[m] += a * r * (age >= period ? 1 : 0);
    }
}

static void track_errors(struct seasonal *s, int64_t t_ns)
{
    int64_t age = t_ns - s->first_ns, day = NDAY * DET_NS_PER_H, week = NWEEK * DET_NS_PER_H;
    /* A new error starts from the simpler predictor's (a fair start for the choice); its tail
     * starts from its own first residual: the simpler one's tail may hold the whole season. */
    if (isnan(s->err[DAILY]) && age >= day)
        s->err[DAILY] = s->err[FLAT];
    if (isnan(s->err[WEEKLY]) && age >= week)
        s->err[WEEKLY] = s->err[DAILY];
    int best = FLAT;
    if (age >= 2 * day && s->err[DAILY] < s->err[best])
        best = DAILY;
    if (age >= 2 * week && s->err[WEEKLY] < s->err[best])
        best = WEEKLY;
    if (best != s->season && s->err[best] < SWITCH * s->err[s->season])
        s->season = (uint8_t)best;
}

static void rewarm_step(struct seasonal *s, int64_t t_ns, double x)
{
    s->rewarm--;
    for (int m = 0; m < NMODEL; m++) {
        double base = m == FLAT ? 0 : profile_at(profile(s, m), pos_of(m, t_ns));
        s->level[m] += (x - base - s->level[m]) / s->n;
    }
}

static void seasonal_update(void *st, const struct ad_det_params *p, int64_t t_ns, double x,
                            struct ad_det_out *out)
{
    struct seasonal *s = st;
    if (s->h.points == 0) {
        s->first_ns = t_ns;
        for (int m = 0; m < NMODEL; m++)
            s->level[m] = x;
        s->err[FLAT] = 0;
    } else if (t_ns - s->h.last_ns > p->max_gap_ns) {
        s->rewarm = REWARM;
        s->n = 0;
        s->shift = (struct det_shift){0};
    }
    if (s->n < UINT32_MAX)
        s->n++;
    if (s->rewarm > 0) {
        det_out_warmup(out, x);
        rewarm_step(s, t_ns, x);
        return;
    }
    double res[NMODEL], wres[NMODEL];
    for (int m = 0; m < NMODEL; m++) {
        res[m] = x - predict(s, m, t_ns);
        wres[m] = x - predict_warped(s, m, t_ns, x);
    }
    if (s->h.points < p->warmup) {
        det_out_warmup(out, x);
        learn(s, p, t_ns, res, wres, s->n > 8 ? CLIP_WARM : INFINITY);
        track_errors(s, t_ns);
        return;
    }
    int m = s->season;
    double half = p->band * sigma(s, m);
    det_out_band(out, x - wres[m], half, half);
    double sd = (out->upper - out->expected) / p->band; /* floored with the band */
    out->score = det_lik_score_r(&s->lik, fabs(wres[m]) / sd);
    double mean;
    int side = det_out_side(out, x);
    if (det_shift_step(&s->shift, side, wres[m], det_shift_after(p), &mean)) {
        for (int i = 0; i < NMODEL; i++)
            s->level[i] += mean;
        return;
    }
    learn(s, p, t_ns, res, wres, p->band);
    track_errors(s, t_ns);
}

static void seasonal_expect(const void *st, const struct ad_det_params *p, int64_t t_ns,
                            struct ad_det_out *out)
{
    const struct seasonal *s = st;
    double e = predict(s, s->season, t_ns);
    if (s->h.points < p->warmup || s->rewarm > 0) {
        det_out_warmup(out, e);
        return;
    }
    double half = p->band * sigma(s, s->season);
    det_out_band(out, e, half, half);
}

static void seasonal_describe(const void *st, struct ad_det_info *info)
{
    const struct seasonal *s = st;
    info->season = season_names[s->season];
    info->points = s->h.points;
}

/* The highest and lowest value the chosen predictor expects over its season. */
static void season_range(const struct seasonal *s, double *hi, double *lo, int *hi_at, int *lo_at)
{
    int m = s->season, n = m == DAILY ? NDAY : m == WEEKLY ? NWEEK : 0;
    const float *pr = m == DAILY ? s->day : s->week;
    *hi = *lo = s->level[m];
    *hi_at = *lo_at = -1;
    for (int i = 0; i < n; i++) {
        if (isnan(pr[i]))
            continue;
        double v = s->level[m] + pr[i];
        if (*hi_at < 0 || v > *hi) {
            *hi = v;
            *hi_at = i;
        }
        if (*lo_at < 0 || v < *lo) {
            *lo = v;
            *lo_at = i;
        }
    }
}

static void when(const struct seasonal *s, int at, char *buf, size_t len)
{
    static const char *const days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    if (at < 0)
        snprintf(buf, len, "level");
    else if (s->season == DAILY)
        snprintf(buf, len, "%02d:00 UTC", at);
    else
        snprintf(buf, len, "%s %02d:00 UTC", days[at / 24], at % 24);
}

static void seasonal_suggest(const void *st, const struct ad_det_params *p,
                             struct ad_det_suggest *sg)
{
    const struct seasonal *s = st;
    double hi, lo, sd = sigma(s, s->season);
    int hi_at, lo_at;
    season_range(s, &hi, &lo, &hi_at, &lo_at);
    double zw = det_normal_upper(5 * p->q), zc = det_normal_upper(p->q / 2);
    sg->warning_hi = hi + zw * sd;
    sg->critical_hi = hi + zc * sd;
    sg->warning_lo = lo - zw * sd;
    sg->critical_lo = lo - zc * sd;
    char at_hi[24], at_lo[24], w[48], c[48];
    when(s, hi_at, at_hi, sizeof(at_hi));
    when(s, lo_at, at_lo, sizeof(at_lo));
    det_one_in(10 * p->q, w, sizeof(w));
    det_one_in(p->q, c, sizeof(c));
    if (hi_at < 0) { /* no season: one level */
        snprintf(sg->why_warning, sizeof(sg->why_warning),
                 "%.2f sigma (%.4g) around the level %.6g (no season found): crossed %.40s", zw, sd,
                 hi, w);
        snprintf(sg->why_critical, sizeof(sg->why_critical),
                 "%.2f sigma (%.4g) around the level %.6g (no season found): crossed %.40s", zc, sd,
                 hi, c);
    } else {
        snprintf(sg->why_warning, sizeof(sg->why_warning),
                 "%.2f sigma (%.4g) beyond the %s peak %.6g (%s) and low %.6g (%s): crossed "
                 "%.40s at the peak",
                 zw, sd, season_names[s->season], hi, at_hi, lo, at_lo, w);
        snprintf(sg->why_critical, sizeof(sg->why_critical),
                 "%.2f sigma (%.4g) beyond the %s peak %.6g (%s) and low %.6g (%s): crossed "
                 "%.40s at the peak",
                 zc, sd, season_names[s->season], hi, at_hi, lo, at_lo, c);
    }
}

const struct ad_det_ops ad_det_seasonal = {
    .name = "seasonal",
    .id = 2,
    .state_size = sizeof(struct seasonal),
    .init = seasonal_init,
    .update = seasonal_update,
    .expect = seasonal_expect,
    .describe = seasonal_describe,
    .suggest = seasonal_suggest,
};
