/* tests/unit/test_detector.c: the baseline detectors (models/detector.h) on generated series with
 * known anomalies: spikes, level shifts, variance changes, a missing daily peak, the season each
 * series gets, warm-up, gaps, rejected points, the state as bytes and the band invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "models/detector.h"

#define S INT64_C(1000000000)
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 (INT64_C(1396224000) * S) /* 2014-03-31 00:00 UTC, a Monday */

/* Deterministic noise: xorshift, then a sum of uniforms (close to a Gaussian, sd about 1). */
struct rng {
    uint64_t s;
};

static double uni(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (double)(r->s >> 11) / 9007199254740992.0;
}

static double gauss(struct rng *r)
{
    double u = 0;
    for (int i = 0; i < 12; i++)
        u += uni(r);
    return u - 6;
}

static struct ad_det_params params(void)
{
    struct ad_det_params p;
    ad_det_params_default(&p);
    return p;
}

static struct ad_det_out step(const struct ad_det_ops *d, struct ad_det_state *st,
                              const struct ad_det_params *p, int64_t t, double x)
{
    struct ad_det_out out;
    assert_int_equal(ad_det_update(d, st, p, t, x, &out), 0);
    return out;
}

/* What the daemon alerts on: a warm point outside its band (the score is the anomaly
 * likelihood, models/detector.h). */
static bool outside(const struct ad_det_out *o, double x)
{
    return o->warm && (x < o->lower || x > o->upper);
}

/* n points of noise around level (sd 1) every 5 minutes from *t; returns how many were outside
 * the band; *high (if not NULL) gets how many scored over 0.5. */
static int feed_noise_scored(const struct ad_det_ops *d, struct ad_det_state *st,
                             const struct ad_det_params *p, struct rng *r, int64_t *t, int n,
                             double level, int *high)
{
    int out = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        *t += 5 * MIN;
        double x = level + gauss(r);
        struct ad_det_out o = step(d, st, p, *t, x);
        out += outside(&o, x);
        hi += o.score > 0.5;
    }
    if (high)
        *high = hi;
    return out;
}

static int feed_noise(const struct ad_det_ops *d, struct ad_det_state *st,
                      const struct ad_det_params *p, struct rng *r, int64_t *t, int n, double level)
{
    return feed_noise_scored(d, st, p, r, t, n, level, NULL);
}

static void table_finds_detectors_by_name_and_id(void **state)
{
    (void)state;
    assert_ptr_equal(ad_det_find("robust"), &ad_det_robust);
    assert_ptr_equal(ad_det_find("seasonal"), &ad_det_seasonal);
    assert_ptr_equal(ad_det_find("spot"), &ad_det_spot);
    assert_ptr_equal(ad_det_find("context"), &ad_det_context);
    assert_null(ad_det_find("holt"));
    for (size_t i = 0; ad_detectors[i]; i++) {
        assert_ptr_equal(ad_det_by_id(ad_detectors[i]->id), ad_detectors[i]);
        assert_true(ad_detectors[i]->state_size <= AD_DET_STATE_MAX);
        assert_true(ad_detectors[i]->state_size >= sizeof(struct ad_det_hdr));
    }
    assert_null(ad_det_by_id(0));
    assert_ptr_equal(ad_detectors[0], &ad_det_context); /* the default, docs/baselines.md */
}

static void warm_up_scores_nothing_then_draws_a_band(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    p.warmup = 100;
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st;
        struct rng r = {7};
        ad_det_init(d, &st, &p);
        assert_int_equal(ad_det_hdr(&st)->det, d->id);
        int64_t t = T0;
        for (int k = 0; k < 100; k++) {
            double x = 10 + gauss(&r) + (k == 50 ? 1000 : 0); /* even a spike scores 0 */
            struct ad_det_out o = step(d, &st, &p, t += 5 * MIN, x);
            assert_false(o.warm);
            assert_true(o.score == 0);
            assert_true(o.expected == x);
            assert_true(isnan(o.lower) && isnan(o.upper));
        }
        assert_int_equal(ad_det_hdr(&st)->points, 100);
        struct ad_det_out o = step(d, &st, &p, t += 5 * MIN, 10);
        assert_true(o.warm);
        assert_true(o.lower < 10 && 10 < o.upper);
    }
}

static void every_detector_flags_a_spike_and_barely_learns_it(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st;
        struct rng r = {11};
        int64_t t = T0;
        ad_det_init(d, &st, &p);
        int high;
        int before = feed_noise_scored(d, &st, &p, &r, &t, 1000, 50, &high);
        assert_true(before < 20); /* 1000 normal points: a few at most outside */
        assert_true(high < 20);   /* and the likelihood stays low on them */
        struct ad_det_out o0 = step(d, &st, &p, t += 5 * MIN, 50);
        struct ad_det_out spike = step(d, &st, &p, t += 5 * MIN, 80);
        assert_true(outside(&spike, 80));          /* 30 sd: the band flags it */
        assert_true(spike.score > o0.score + 0.2); /* and the likelihood jumps */
        struct ad_det_out spike2 = step(d, &st, &p, t += 5 * MIN, 80);
        assert_true(outside(&spike2, 80));
        /* Two in a row are a run: likely an anomaly (the context detector, scoring rising edges
         * only, may have said so at the first). */
        assert_true((d == &ad_det_context ? fmax(spike.score, spike2.score) : spike2.score) > 0.5);
        struct ad_det_out o1 = step(d, &st, &p, t += 5 * MIN, 50);
        assert_false(outside(&o1, 50));
        for (int k = 0; k < 30; k++)
            o1 = step(d, &st, &p, t += 5 * MIN, 50 + gauss(&r));
        assert_true(o1.score < 0.5); /* the likelihood forgets the run */
        /* The band did not blow up: one spike moves neither level nor spread much. */
        assert_true(fabs(o1.expected - o0.expected) < 1);
        assert_true(o1.upper - o1.lower < 1.5 * (o0.upper - o0.lower));
    }
}

static void every_detector_flags_a_level_shift_then_accepts_it(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st;
        struct rng r = {13};
        int64_t t = T0;
        ad_det_init(d, &st, &p);
        feed_noise(d, &st, &p, &r, &t, 1000, 50);
        int high;
        int first = feed_noise_scored(d, &st, &p, &r, &t, 10, 70, &high);
        assert_true(first >= 8); /* the shift alerts */
        if (d == &ad_det_context) {
            /* Rising edges only: it scores at the start and as the evidence grows, then no
             * more while the shift goes on (but a new record above the shift's first values,
             * which noise gives at most once here). */
            assert_true(high >= 1 && high < first);
            int again;
            feed_noise_scored(d, &st, &p, &r, &t, 10, 70, &again);
            assert_true(again <= 1);
        } else
            assert_true(high >= 8); /* its likelihood is high */
        feed_noise(d, &st, &p, &r, &t, 200, 70);
        int later = feed_noise(d, &st, &p, &r, &t, 200, 70);
        assert_true(later < 10); /* and becomes the new normal */
    }
}

static void robust_flags_a_variance_increase(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state st;
    struct rng r = {17};
    int64_t t = T0;
    ad_det_init(&ad_det_robust, &st, &p);
    int calm = feed_noise(&ad_det_robust, &st, &p, &r, &t, 1000, 50);
    int wild = 0, high = 0;
    for (int i = 0; i < 100; i++) {
        double x = 50 + 6 * gauss(&r);
        struct ad_det_out o = step(&ad_det_robust, &st, &p, t += 5 * MIN, x);
        wild += outside(&o, x);
        high += o.score > 0.5;
    }
    assert_true(calm < 15);
    assert_true(wild > 15); /* 6x the sd: a quarter of the points are past 3.5 old sd */
    assert_true(high > 15); /* and the likelihood says so while the band does */
}

/* 5-minute points: 20 + 50 during 09:00-17:00 UTC (+ noise), the peak missing on day `skip`.
 * Returns how many of the missing peak's points were outside the band; *high gets how many
 * scored over 0.5. */
static int daily_with_missing_peak(const struct ad_det_ops *d, int days, int skip,
                                   struct ad_det_state *st, int *high)
{
    *high = 0;
    struct ad_det_params p = params();
    struct rng r = {19};
    int flagged = 0;
    ad_det_init(d, st, &p);
    for (int64_t t = T0 + 5 * MIN; t < T0 + days * DAY; t += 5 * MIN) {
        int64_t tod = (t - T0) % DAY, day = (t - T0) / DAY;
        bool peak = tod >= 9 * HOUR && tod < 17 * HOUR;
        double x = 20 + gauss(&r) + (peak && day != skip ? 50 : 0);
        struct ad_det_out o = step(d, st, &p, t, x);
        if (peak && day == skip) {
            flagged += outside(&o, x);
            *high += o.score > 0.5;
        }
    }
    return flagged;
}

static void seasonal_flags_a_missing_daily_peak_that_a_flat_band_cannot(void **state)
{
    (void)state;
    struct ad_det_state st;
    int high, flat_high;
    int seasonal = daily_with_missing_peak(&ad_det_seasonal, 10, 8, &st, &high);
    struct ad_det_info info;
    ad_det_seasonal.describe(st.b, &info);
    assert_string_equal(info.season, "daily");
    /* Of 96 points: the +/- 30 min phase tolerance lets the first and last few points of the
     * peak's hours pass as an early or late edge, and the likelihood needs a few points to rise. */
    assert_true(seasonal > 70);
    assert_true(high > 45);
    int flat = daily_with_missing_peak(&ad_det_robust, 10, 8, &st, &flat_high);
    assert_true(flat < 5);
    assert_true(flat_high < 5);
}

/* 15-minute points for `weeks` weeks: kind 0 noise only, 1 a daily peak, 2 a peak on weekdays
 * only. Returns the season chosen. */
static const char *season_of(int kind, int weeks)
{
    struct ad_det_params p = params();
    struct ad_det_state st;
    struct rng r = {23};
    ad_det_init(&ad_det_seasonal, &st, &p);
    for (int64_t t = T0 + 15 * MIN; t < T0 + weeks * 7 * DAY; t += 15 * MIN) {
        int64_t tod = (t - T0) % DAY, dow = (t - T0) / DAY % 7;
        bool peak = tod >= 9 * HOUR && tod < 17 * HOUR && (kind == 1 || (kind == 2 && dow < 5));
        step(&ad_det_seasonal, &st, &p, t, 100 + 3 * gauss(&r) + (peak ? 40 : 0));
    }
    struct ad_det_info info;
    ad_det_seasonal.describe(st.b, &info);
    assert_int_equal(info.points, ad_det_hdr(&st)->points);
    return info.season;
}

static void seasonal_chooses_none_daily_or_weekly_from_the_data(void **state)
{
    (void)state;
    assert_string_equal(season_of(0, 4), "none");
    assert_string_equal(season_of(1, 4), "daily");
    assert_string_equal(season_of(2, 4), "weekly");
    assert_string_equal(season_of(2, 1), "daily"); /* one week is not enough for weekly */
}

static void gap_relearns_the_level_and_keeps_the_spread(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st;
        struct rng r = {29};
        int64_t t = T0;
        ad_det_init(d, &st, &p);
        feed_noise(d, &st, &p, &r, &t, 1000, 50);
        struct ad_det_out before = step(d, &st, &p, t += 5 * MIN, 50);
        t += p.max_gap_ns + HOUR; /* comes back at another level after the gap */
        struct ad_det_out o = step(d, &st, &p, t, 90);
        assert_false(o.warm);
        int warm_at = -1, out = 0;
        for (int k = 0; k < 100; k++) {
            double x = 90 + gauss(&r);
            o = step(d, &st, &p, t += 5 * MIN, x);
            if (o.warm && warm_at < 0)
                warm_at = k;
            out += outside(&o, x);
        }
        assert_true(warm_at >= 0 && warm_at < 30);
        assert_true(out < 5);
        assert_true(fabs(o.expected - 90) < 2);
        assert_true(o.upper - o.lower < 3 * (before.upper - before.lower));
    }
    /* Without the gap the same jump is an anomaly. */
    struct ad_det_state st;
    struct rng r = {29};
    int64_t t = T0;
    ad_det_init(&ad_det_robust, &st, &p);
    feed_noise(&ad_det_robust, &st, &p, &r, &t, 1000, 50);
    struct ad_det_out jump = step(&ad_det_robust, &st, &p, t += 5 * MIN, 90);
    assert_true(outside(&jump, 90));
}

static void seasonal_profile_survives_a_gap(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state st;
    int high;
    daily_with_missing_peak(&ad_det_seasonal, 6, -1, &st, &high);
    /* Back two days later, at 12:00: the peak is still expected. */
    int64_t t = T0 + 8 * DAY + 12 * HOUR;
    struct ad_det_out o;
    for (int k = 0; k < 12; k++)
        o = step(&ad_det_seasonal, &st, &p, t += 5 * MIN, 70);
    assert_true(o.warm);
    assert_true(fabs(o.expected - 70) < 5);
    ad_det_seasonal.expect(st.b, &p, T0 + 8 * DAY + 3 * HOUR, &o);
    assert_true(fabs(o.expected - 20) < 5); /* and the night */
}

static void nan_inf_and_old_timestamps_are_rejected_and_not_learned(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st, copy;
        struct rng r = {31};
        int64_t t = T0;
        ad_det_init(d, &st, &p);
        feed_noise(d, &st, &p, &r, &t, 400, 50);
        memcpy(&copy, &st, d->state_size);
        struct ad_det_out o;
        assert_int_equal(ad_det_update(d, &st, &p, t + MIN, NAN, &o), -EINVAL);
        assert_int_equal(ad_det_update(d, &st, &p, t + MIN, INFINITY, &o), -EINVAL);
        assert_int_equal(ad_det_update(d, &st, &p, t + MIN, -INFINITY, &o), -EINVAL);
        assert_int_equal(ad_det_update(d, &st, &p, t, 50, &o), -ERANGE);
        assert_int_equal(ad_det_update(d, &st, &p, t - MIN, 50, &o), -ERANGE);
        assert_memory_equal(&copy, &st, d->state_size);
        assert_int_equal(ad_det_update(d, &st, &p, t + MIN, 50, &o), 0);
        assert_int_equal(ad_det_hdr(&st)->last_ns, t + MIN);
    }
}

static void state_copied_as_bytes_gives_the_same_outputs(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state a, b;
        struct rng r = {37};
        int64_t t = T0;
        ad_det_init(d, &a, &p);
        feed_noise(d, &a, &p, &r, &t, 700, 50);
        memset(&b, 0xa5, sizeof(b));
        memcpy(&b, &a, d->state_size); /* only state_size bytes are the state */
        for (int k = 0; k < 2000; k++) {
            t += 5 * MIN;
            double x = 50 + gauss(&r) + (k % 97 == 0 ? 15 : 0) + (k > 1000 ? 10 : 0);
            struct ad_det_out oa = step(d, &a, &p, t, x), ob = step(d, &b, &p, t, x);
            /* Field by field: the struct's padding is not part of the output. */
            double fa[4] = {oa.score, oa.expected, oa.lower, oa.upper};
            double fb[4] = {ob.score, ob.expected, ob.lower, ob.upper};
            assert_memory_equal(fa, fb, sizeof(fa));
            assert_int_equal(oa.warm, ob.warm);
        }
        assert_memory_equal(&a, &b, d->state_size);
    }
}

static void band_and_score_hold_their_invariants_on_random_series(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    p.warmup = 50;
    p.max_gap_ns = 2 * HOUR;
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st;
        struct rng r = {41};
        int64_t t = T0;
        double walk = 0;
        int warm = 0, out = 0, high = 0, spikes = 0, spikes_out = 0;
        ad_det_init(d, &st, &p);
        for (int k = 0; k < 20000; k++) {
            t += (int64_t)(uni(&r) * 20 * MIN) + 1; /* irregular, sometimes a gap */
            if (uni(&r) < 0.001)
                t += 3 * HOUR;
            walk += 0.1 * gauss(&r);
            bool spike = uni(&r) < 0.002;
            double x = walk + gauss(&r) * (1 + 10 * (uni(&r) < 0.01)) + (spike ? 1e3 : 0);
            if (uni(&r) < 0.01) {
                x = 0; /* runs of zeros and repeats */
                spike = false;
            }
            struct ad_det_out o = step(d, &st, &p, t, x);
            assert_true(o.score >= 0 && o.score <= 1);
            if (!o.warm) {
                assert_true(o.score == 0 && isnan(o.lower));
                continue;
            }
            warm++;
            assert_true(o.lower <= o.expected && o.expected <= o.upper);
            out += outside(&o, x);
            high += o.score > 0.5;
            spikes += spike;
            spikes_out += spike && outside(&o, x);
        }
        assert_true(warm > 15000);
        assert_true(out > 0 && out < warm / 10);
        assert_true(high < warm / 100); /* lone spikes in a random walk: rarely a likely anomaly */
        assert_true(spikes_out >= spikes * 9 / 10); /* a 1000-sd spike is outside the band */
    }
}

static void suggestions_order_warning_before_critical_and_say_why(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    int high;
    for (size_t i = 0; ad_detectors[i]; i++) {
        const struct ad_det_ops *d = ad_detectors[i];
        struct ad_det_state st;
        daily_with_missing_peak(d, 6, -1, &st, &high);
        struct ad_det_suggest s;
        d->suggest(st.b, &p, &s);
        assert_true(s.critical_hi > s.warning_hi);
        assert_true(s.critical_lo < s.warning_lo);
        assert_true(s.warning_lo < s.warning_hi);
        assert_true(strlen(s.why_warning) > 20 && strlen(s.why_critical) > 20);
        assert_non_null(strstr(s.why_critical, "10 000"));
        assert_non_null(strstr(s.why_warning, "1000 points"));
    }
    struct ad_det_state st;
    struct ad_det_suggest s;
    daily_with_missing_peak(&ad_det_seasonal, 6, -1, &st, &high);
    ad_det_seasonal.suggest(st.b, &p, &s);
    assert_true(s.warning_hi > 70); /* above the normal daily peak (70) */
    assert_true(s.warning_hi < 90);
    assert_non_null(strstr(s.why_warning, "daily"));
    daily_with_missing_peak(&ad_det_spot, 6, -1, &st, &high);
    ad_det_spot.suggest(st.b, &p, &s);
    assert_non_null(strstr(s.why_critical, "SPOT"));
}

static void spot_learns_a_heavy_tail_instead_of_flagging_it(void **state)
{
    (void)state;
    /* Laplace noise (sd 1.41): a 3-sd Gaussian band would flag 1.4% of it, 280 points. */
    struct ad_det_params p = params();
    struct ad_det_state st;
    struct rng r = {43};
    int64_t t = T0;
    ad_det_init(&ad_det_spot, &st, &p);
    int out = 0, n = 20000;
    for (int k = 0; k < n; k++) {
        double x = 10 + (uni(&r) < 0.5 ? 1 : -1) * -log(1 - uni(&r));
        struct ad_det_out o = step(&ad_det_spot, &st, &p, t += MIN, x);
        out += outside(&o, x);
    }
    assert_true(out < 100); /* q = 1e-4 per tail; the fit over 72 peaks is not exact */
    struct ad_det_out o = step(&ad_det_spot, &st, &p, t += MIN, 40);
    assert_true(outside(&o, 40));
}

/* The context detector's own views (models/det_context.c). */
#define CONTEXT_THRESHOLD 0.64 /* models.baseline.score_threshold's default */

/* A square wave between 40 and 60 (half an hour each) with a little noise for 3 days, then 24
 * points flat at 50: every value is inside the range and the band (the seasonal view cannot draw
 * an hourly square wave), but the series never stood there: the novelty view scores it, and
 * says so. */
static void context_scores_a_shape_never_seen_inside_the_band(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state st;
    struct rng r = {29};
    int64_t t = T0;
    ad_det_init(&ad_det_context, &st, &p);
    int before = 0;
    for (int i = 0; i < 3 * 288; i++) {
        struct ad_det_out o =
            step(&ad_det_context, &st, &p, t += 5 * MIN, (i % 12 < 6 ? 40 : 60) + 0.2 * gauss(&r));
        before += i > 2 * 288 && o.score >= CONTEXT_THRESHOLD;
    }
    assert_int_equal(before, 0); /* the third day is the first two again */
    int pattern = 0, inside = 0;
    for (int i = 0; i < 24; i++) {
        double x = 50 + 0.2 * gauss(&r);
        struct ad_det_out o = step(&ad_det_context, &st, &p, t += 5 * MIN, x);
        inside += !outside(&o, x);
        if (o.score >= CONTEXT_THRESHOLD) {
            assert_int_equal(o.cause, AD_DET_CAUSE_PATTERN);
            pattern++;
        }
    }
    assert_int_equal(inside, 24);
    assert_true(pattern >= 1 && pattern <= 3); /* once, or as the evidence grows */
}

/* Noise around 50 for two days, then 80: beyond every value seen, scored at once as "range";
 * the same value again soon after scores nothing (rising edges only). */
static void context_scores_a_new_record_once_as_range(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state st;
    struct rng r = {31};
    int64_t t = T0;
    ad_det_init(&ad_det_context, &st, &p);
    feed_noise(&ad_det_context, &st, &p, &r, &t, 576, 50);
    struct ad_det_out o = step(&ad_det_context, &st, &p, t += 5 * MIN, 80);
    assert_true(o.score >= CONTEXT_THRESHOLD);
    assert_int_equal(o.cause, AD_DET_CAUSE_RANGE);
    assert_true(outside(&o, 80)); /* the band agrees, and draws the expected value */
    assert_true(fabs(o.expected - 50) < 2);
    feed_noise(&ad_det_context, &st, &p, &r, &t, 5, 50);
    o = step(&ad_det_context, &st, &p, t += 5 * MIN, 80);
    assert_true(o.score < CONTEXT_THRESHOLD);
}

/* On a week of plain noise the detector stays quiet: at most a handful of scored points, each
 * one the first of its kind. */
static void context_is_quiet_on_noise(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state st;
    struct rng r = {37};
    int64_t t = T0;
    ad_det_init(&ad_det_context, &st, &p);
    feed_noise(&ad_det_context, &st, &p, &r, &t, 288, 50); /* warm-up */
    int high = 0;
    for (int i = 0; i < 6 * 288; i++)
        high += step(&ad_det_context, &st, &p, t += 5 * MIN, 50 + gauss(&r)).score >=
                CONTEXT_THRESHOLD;
    assert_true(high <= 6);
}

/* Two copies of a state taken mid-series give the same outputs from then on: the state is bytes
 * (saved and restored as such) and the detector is deterministic. */
static void context_state_is_bytes_and_replays_alike(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state a, b;
    struct rng r = {41};
    int64_t t = T0;
    ad_det_init(&ad_det_context, &a, &p);
    for (int i = 0; i < 700; i++)
        step(&ad_det_context, &a, &p, t += 5 * MIN, 50 + 10 * sin(i / 20.0) + gauss(&r));
    memcpy(&b, &a, ad_det_context.state_size);
    for (int i = 0; i < 500; i++) {
        double x = 50 + 10 * sin(i / 20.0) + gauss(&r) + (i == 300 ? 40 : 0);
        struct ad_det_out oa = step(&ad_det_context, &a, &p, t += 5 * MIN, x);
        struct ad_det_out ob = step(&ad_det_context, &b, &p, t, x);
        assert_memory_equal(&oa.score, &ob.score, sizeof(oa.score));
        assert_memory_equal(&oa.upper, &ob.upper, sizeof(oa.upper));
        assert_int_equal(oa.cause, ob.cause);
    }
    assert_memory_equal(a.b, b.b, ad_det_context.state_size);
}

/* A state learned by seasonal (the default before context) is adopted as context's band: the
 * same points then give the same band as seasonal going on, and the novelty view, new, keeps
 * quiet for two warm-ups of its own. Other detectors' states are not adopted. */
static void context_adopts_a_seasonal_state(void **state)
{
    (void)state;
    struct ad_det_params p = params();
    struct ad_det_state sea, ctx, rob;
    struct rng r = {43};
    int64_t t = T0;
    ad_det_init(&ad_det_seasonal, &sea, &p);
    for (int i = 0; i < 3 * 288; i++)
        step(&ad_det_seasonal, &sea, &p, t += 5 * MIN, 50 + 10 * sin(i * 6.283 / 288) + gauss(&r));
    assert_int_equal(ad_det_adopt(&ad_det_context, &ctx, &p, &sea), 0);
    assert_int_equal(ad_det_hdr(&ctx)->points, ad_det_hdr(&sea)->points);
    int scored = 0;
    for (int i = 0; i < 2 * 288; i++) {
        double x = 50 + 10 * sin(i * 6.283 / 288) + gauss(&r) + (i == 100 ? 60 : 0);
        struct ad_det_out a = step(&ad_det_seasonal, &sea, &p, t += 5 * MIN, x);
        struct ad_det_out b = step(&ad_det_context, &ctx, &p, t, x);
        assert_memory_equal(&a.expected, &b.expected, sizeof(a.expected));
        assert_memory_equal(&a.upper, &b.upper, sizeof(a.upper));
        scored += b.score > 0 && b.cause != AD_DET_CAUSE_BAND;
    }
    assert_int_equal(scored, 0); /* only the band may score while the novelty view is young */
    ad_det_init(&ad_det_robust, &rob, &p);
    struct ad_det_state before = ctx;
    assert_int_equal(ad_det_adopt(&ad_det_context, &ctx, &p, &rob), -ENOTSUP);
    assert_int_equal(ad_det_adopt(&ad_det_seasonal, &ctx, &p, &sea), -ENOTSUP);
    assert_memory_equal(ctx.b, before.b, ad_det_context.state_size); /* untouched */
    /* A context state of the current layout is itself, not adopted; one of an older layout
     * gives its band over, and its novelty view starts again (quiet for two warm-ups). */
    struct ad_det_state old = ctx, nw;
    assert_int_equal(ad_det_adopt(&ad_det_context, &nw, &p, &old), -ENOTSUP);
    ((struct ad_det_hdr *)(void *)old.b)->layout = 0;
    assert_int_equal(ad_det_adopt(&ad_det_context, &nw, &p, &old), 0);
    assert_int_equal(ad_det_hdr(&nw)->layout, ad_det_context.layout);
    scored = 0;
    for (int i = 0; i < 2 * 288; i++) {
        double x = 50 + 10 * sin(i * 6.283 / 288) + gauss(&r) + (i == 100 ? 60 : 0);
        struct ad_det_out a = step(&ad_det_context, &ctx, &p, t += 5 * MIN, x);
        struct ad_det_out b = step(&ad_det_context, &nw, &p, t, x);
        assert_memory_equal(&a.expected, &b.expected, sizeof(a.expected));
        assert_memory_equal(&a.upper, &b.upper, sizeof(a.upper));
        scored += b.score > 0 && b.cause != AD_DET_CAUSE_BAND;
    }
    assert_int_equal(scored, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_finds_detectors_by_name_and_id),
        cmocka_unit_test(warm_up_scores_nothing_then_draws_a_band),
        cmocka_unit_test(every_detector_flags_a_spike_and_barely_learns_it),
        cmocka_unit_test(every_detector_flags_a_level_shift_then_accepts_it),
        cmocka_unit_test(robust_flags_a_variance_increase),
        cmocka_unit_test(seasonal_flags_a_missing_daily_peak_that_a_flat_band_cannot),
        cmocka_unit_test(seasonal_chooses_none_daily_or_weekly_from_the_data),
        cmocka_unit_test(gap_relearns_the_level_and_keeps_the_spread),
        cmocka_unit_test(seasonal_profile_survives_a_gap),
        cmocka_unit_test(nan_inf_and_old_timestamps_are_rejected_and_not_learned),
        cmocka_unit_test(state_copied_as_bytes_gives_the_same_outputs),
        cmocka_unit_test(band_and_score_hold_their_invariants_on_random_series),
        cmocka_unit_test(suggestions_order_warning_before_critical_and_say_why),
        cmocka_unit_test(spot_learns_a_heavy_tail_instead_of_flagging_it),
        cmocka_unit_test(context_scores_a_shape_never_seen_inside_the_band),
        cmocka_unit_test(context_scores_a_new_record_once_as_range),
        cmocka_unit_test(context_is_quiet_on_noise),
        cmocka_unit_test(context_state_is_bytes_and_replays_alike),
        cmocka_unit_test(context_adopts_a_seasonal_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
