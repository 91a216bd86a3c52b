/* tests/unit/test_forecast.c: forecasts of threshold crossings (models/forecast.h) through the
 * baseline model, on generated series whose crossing times are known (fx_forecast.h):
 *  - linear growth with noise: the first forecast alert names the level, and its predicted time
 *    is within 25% of the time it gives (plus 10 min) of the true crossing; so is the last
 *    prediction made at least an hour before the critical crossing (within 15 min);
 *  - growth on a daily season (seasonal detector): within 40% of the time given, plus 15 min;
 *  - flat noisy series, with and without a daily season: no forecast alert in 14 days;
 *  - the trend turning resolves the alert ("no longer on course"), before any threshold alert;
 *    the value reaching the level resolves it ("the threshold alert takes over");
 *  - labels, summary and the API's "forecast" object; forecasts off; forecast_z; the state
 *    round trip, a version 2 state (no forecast state) and a corrupt forecast state; values at
 *    the edge of a double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/sections.h"
#include "fx_baseline.h"
#include "fx_event.h"
#include "fx_forecast.h"
#include "models/baseline.h"
#include "models/forecast.h"

#define H (3600 * AD_NS_PER_S)
#define MIN (60 * AD_NS_PER_S)
#define THR "    thresholds: [\"*/disk_used_pct above 80 95\"]\n"

/* GET /api/v1/baselines?series=host-1/disk_used_pct of model b, into a static buffer. */
static const char *api(struct ad_baseline *b)
{
    static char text[8192];
    struct ad_buf out;
    ad_buf_init(&out);
    assert_int_equal(ad_baseline_series_json(b, "host-1/disk_used_pct", &out), 0);
    snprintf(text, sizeof(text), "%.*s", (int)out.len, out.p);
    ad_buf_fini(&out);
    return text;
}

static struct fx_fc_run *new_run(void)
{
    struct fx_fc_run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    return r;
}

static uint64_t points_until(const struct fx_trend *g, int64_t t_ns)
{
    return (uint64_t)(t_ns / g->step_ns) + 1;
}

/* The first alert of a trending series against the true crossing of the level it names: before
 * it, and within rel * (time left) + slack. */
static void check_first(const struct fx_fc_run *run, const struct fx_trend *g, double rel,
                        int64_t slack)
{
    const struct fx_fc_alert *a = fx_fc_first(run);
    assert_non_null(a);
    double thr = a->level == 2 ? 95 : 80;
    assert_true(a->threshold == thr);
    int64_t truth = fx_trend_crossing(g, thr, false, 40 * 24 * H), t = a->t_ns - FX_T0;
    int64_t err = a->at_ns - FX_T0 - truth;
    if (!(t < truth && llabs(err) <= (int64_t)(rel * (double)(truth - t)) + slack))
        fail_msg("alert at %.2fh predicts %.2fh, true crossing of %g at %.2fh", (double)t / H,
                 (double)(a->at_ns - FX_T0) / H, thr, (double)truth / H);
}

static void linear_growth_is_forecast_in_time(void **state)
{
    (void)state;
    const double slopes[] = {1, 2, 3}, noises[] = {0.5, 1.5, 2.5};
    for (int k = 0; k < 3; k++) {
        struct fx_bl f = fx_bl_make(THR);
        struct fx_trend g = {40, 0, slopes[k], noises[k], 30 * H, 0, 0, MIN, (uint64_t)k << 32};
        int64_t crit = fx_trend_crossing(&g, 95, false, 40 * 24 * H);
        struct fx_fc_run *run = new_run();
        assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, crit + H), run), 0);
        assert_true(run->raised >= 1);
        check_first(run, &g, 0.25, 10 * MIN);
        const struct fx_fc_alert *a = fx_fc_first(run);
        assert_non_null(strstr(a->summary, "disk_used_pct on host-1 will reach "));
        assert_non_null(strstr(a->summary, "; trend +"));
        /* The last critical prediction made an hour or more before the crossing. */
        const struct fx_fc_alert *last = NULL;
        for (size_t i = 0; i < run->n; i++)
            if (!run->a[i].resolved && run->a[i].level == 2 && run->a[i].t_ns - FX_T0 <= crit - H)
                last = &run->a[i];
        assert_non_null(last);
        assert_true(llabs(last->at_ns - FX_T0 - crit) <= 15 * MIN);
        free(run);
        fx_bl_done(&f);
    }
}

static void growth_on_a_daily_season_is_forecast_in_time(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        struct fx_bl f = fx_bl_make("    detector: seasonal\n" THR);
        struct fx_trend g = {40, 10, 0.8 + 0.5 * k, 1 + k, 7 * 24 * H, 0, 0, 5 * MIN,
                             (uint64_t)(k + 10) << 32};
        int64_t crit = fx_trend_crossing(&g, 95, false, 40 * 24 * H);
        struct fx_fc_run *run = new_run();
        assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, crit + H), run), 0);
        check_first(run, &g, 0.40, 15 * MIN);
        free(run);
        fx_bl_done(&f);
    }
}

static void flat_noisy_series_raise_no_forecast(void **state)
{
    (void)state;
    struct {
        const char *opts;
        double amp;
        int64_t step;
    } kinds[] = {{"    thresholds: [\"*/disk_used_pct above 60 70\"]\n", 0, MIN},
                 {"    detector: seasonal\n    thresholds: [\"*/disk_used_pct above 70 80\"]\n", 10,
                  5 * MIN}};
    for (int k = 0; k < 2; k++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            struct fx_bl f = fx_bl_make(kinds[k].opts);
            struct fx_trend g = {50, kinds[k].amp, 0, 3, 0, 0, 0, kinds[k].step, seed << 40};
            struct fx_fc_run *run = new_run();
            assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, 14 * 24 * H), run), 0);
            assert_int_equal(run->raised, 0);
            assert_int_equal(run->threshold_alerts, 0);
            /* It was fitting all along: the API says no crossing, not still learning. */
            const char *body = api(f.b);
            assert_non_null(strstr(body, "\"forecast\":{\"state\":\"none\""));
            assert_non_null(strstr(body, "\"at\":null,\"seconds_left\":null}"));
            free(run);
            fx_bl_done(&f);
        }
}

static void the_trend_turning_resolves_the_forecast(void **state)
{
    (void)state;
    struct fx_trend g = {40, 0, 2, 1, 30 * H, 0, 0, MIN, 5};
    struct fx_bl f = fx_bl_make(THR);
    struct fx_fc_run *run = new_run();
    assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, 60 * H), run), 0);
    const struct fx_fc_alert *a = fx_fc_first(run);
    assert_non_null(a);
    int64_t raised = a->t_ns - FX_T0;
    free(run);
    fx_bl_done(&f);

    /* The same series, turning down half an hour after the alert. */
    g.turn_at_ns = raised + 30 * MIN;
    g.turn_slope = -1;
    f = fx_bl_make(THR);
    run = new_run();
    assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, raised + 12 * H), run), 0);
    assert_int_equal(run->raised, 1);
    assert_int_equal(run->resolved, 1);
    assert_int_equal(run->threshold_alerts, 0);
    const struct fx_fc_alert *r = &run->a[run->n - 1];
    assert_true(r->resolved);
    assert_non_null(strstr(r->summary, "no longer on course to reach 80 (warning)"));
    /* Within the window (6 h) of the turn. */
    assert_true(r->t_ns - FX_T0 > g.turn_at_ns && r->t_ns - FX_T0 <= g.turn_at_ns + 6 * H);
    free(run);
    fx_bl_done(&f);
}

static void reaching_the_level_hands_over_to_the_threshold_alert(void **state)
{
    (void)state;
    struct fx_trend g = {40, 0, 2, 1, 30 * H, 0, 0, MIN, 9};
    struct fx_bl f = fx_bl_make(THR);
    struct fx_fc_run *run = new_run();
    int64_t crit = fx_trend_crossing(&g, 95, false, 40 * 24 * H);
    assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, crit + 2 * H), run), 0);
    assert_true(run->first_static_ns > 0);
    size_t handed = 0;
    for (size_t i = 0; i < run->n; i++)
        if (run->a[i].resolved) {
            assert_non_null(strstr(run->a[i].summary, "as forecast"));
            assert_non_null(strstr(run->a[i].summary, "the threshold alert takes over"));
            assert_true(run->a[i].t_ns >= run->first_static_ns);
            handed++;
        }
    assert_true(handed >= 1);
    assert_int_equal(run->resolved, run->raised); /* nothing is left firing past critical */
    assert_true(run->a[run->n - 1].resolved);
    assert_true(run->a[run->n - 1].level == 2);
    free(run);
    fx_bl_done(&f);
}

static void labels_api_and_forecasts_off(void **state)
{
    (void)state;
    struct fx_trend g = {40, 0, 2, 1, 30 * H, 0, 0, MIN, 3};
    struct fx_bl f = fx_bl_make(THR);
    /* Up to the first alert, by hand, to look at the event itself. */
    bool seen = false;
    for (uint64_t i = 0; i < 4000 && !seen; i++) {
        struct ad_event ev = fx_alert("storage", "host-1", "disk_used_pct",
                                      FX_T0 + (int64_t)i * g.step_ns);
        ev.kind = AD_KIND_METRIC;
        ev.has_value = true;
        ev.value = fx_trend_value(&g, i);
        if (ad_baseline_observe(f.b, &ev) != 0)
            continue;
        do {
            if (!ad_str_eq_c(ev.check, "forecast:host-1/disk_used_pct"))
                continue;
            seen = true;
            assert_int_equal(ev.kind, AD_KIND_ALERT);
            assert_int_equal(ev.status, AD_STATUS_FIRING);
            assert_int_equal(ev.severity, AD_SEV_WARNING);
            const char *want[] = {"forecast_at",        "forecast_seconds_left",
                                  "forecast_threshold", "forecast_level",
                                  "forecast_direction", "forecast_slope_per_hour"};
            for (size_t w = 0; w < 6; w++) {
                bool found = false;
                for (size_t l = 0; l < ev.n_labels; l++)
                    found |= ad_str_eq_c(ev.labels[l].name, want[w]);
                if (!found)
                    fail_msg("no label %s", want[w]);
            }
        } while (ad_baseline_take(f.b, &ev) == 1);
    }
    assert_true(seen);
    const char *body = api(f.b);
    assert_non_null(strstr(body, "\"forecast\":{\"state\":\"firing\""));
    assert_non_null(strstr(body, "\"level\":\"warning\",\"threshold\":80,\"at\":\"2026-"));
    assert_non_null(strstr(body, "\"seconds_left\":"));
    assert_null(strstr(body, "\"seconds_left\":null"));
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.raised[2], 1);
    fx_bl_done(&f);

    /* With forecasts off (and for series without a rule) the API says null, and nothing fires. */
    f = fx_bl_make("    forecast_horizon: 0s\n" THR);
    struct fx_fc_run *run = new_run();
    assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, 60 * H), run), 0);
    assert_int_equal(run->raised, 0);
    body = api(f.b);
    assert_non_null(strstr(body, "\"forecast\":null"));
    free(run);
    fx_bl_done(&f);

    /* The Mann-Kendall z of 16 buckets cannot pass 5.4: forecast_z 6 believes no trend. */
    f = fx_bl_make("    forecast_z: 6\n" THR);
    run = new_run();
    assert_int_equal(fx_fc_feed(f.b, &g, 0, points_until(&g, 60 * H), run), 0);
    assert_int_equal(run->raised, 0);
    body = api(f.b);
    assert_non_null(strstr(body, "\"forecast\":{\"state\":\"none\""));
    const char *z = strstr(body, "\"trend_z\":");
    assert_non_null(z);
    assert_true(atof(z + 10) > 3 && atof(z + 10) < 6); /* the trend is there, and strong */
    free(run);
    fx_bl_done(&f);
}

static void state_round_trip_and_older_states(void **state)
{
    (void)state;
    struct fx_trend g = {40, 0, 2, 1, 30 * H, 0, 0, MIN, 11};
    struct fx_bl a = fx_bl_make(THR), b = fx_bl_make(THR);
    struct fx_fc_run *ra = new_run(), *rb = new_run();
    uint64_t half = points_until(&g, 40 * H), end = points_until(&g, 60 * H);
    assert_int_equal(fx_fc_feed(a.b, &g, 0, half, ra), 0);
    struct ad_buf img;
    ad_buf_init(&img);
    assert_int_equal(ad_baseline_save(a.b, &img), 0);
    struct ad_err err = {0};
    assert_int_equal(ad_baseline_load(b.b, img.p, img.len, &err), 0);
    memset(ra, 0, sizeof(*ra));
    assert_int_equal(fx_fc_feed(a.b, &g, half, end, ra), 0);
    assert_int_equal(fx_fc_feed(b.b, &g, half, end, rb), 0);
    assert_true(ra->n > 0);
    assert_int_equal(ra->n, rb->n);
    for (size_t i = 0; i < ra->n; i++) {
        assert_int_equal(ra->a[i].at_ns, rb->a[i].at_ns);
        assert_string_equal(ra->a[i].summary, rb->a[i].summary);
    }

    /* Version 2 (before forecasts): the same image without the forecast state loads, and the
     * forecast starts empty. The forecast state is the last thing of the only series. */
    size_t fc_part = 1 + 4 + sizeof(struct ad_fc);
    assert_true(img.len > fc_part);
    struct ad_buf v2;
    ad_buf_init(&v2);
    assert_int_equal(ad_buf_append(&v2, img.p, img.len - fc_part), 0);
    assert_int_equal(v2.p[0], 3);
    v2.p[0] = 2;
    struct fx_bl c = fx_bl_make(THR);
    assert_int_equal(ad_baseline_load(c.b, v2.p, v2.len, &err), 0);
    const char *body = api(c.b);
    assert_non_null(strstr(body, "\"forecast\":{\"state\":\"learning\",\"fitted_at\":null,"
                                  "\"buckets\":0"));
    /* The same version 2 image claiming version 3 is refused (no forecast flag). */
    v2.p[0] = 3;
    assert_int_equal(ad_baseline_load(c.b, v2.p, v2.len, &err), -EINVAL);
    /* A forecast state with a ring index out of range is refused. */
    size_t head = img.len - sizeof(struct ad_fc) + offsetof(struct ad_fc, head);
    img.p[head] = AD_FC_BUCKETS;
    assert_int_equal(ad_baseline_load(c.b, img.p, img.len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "corrupt series 0"));
    ad_buf_fini(&v2);
    ad_buf_fini(&img);
    free(ra);
    free(rb);
    fx_bl_done(&a);
    fx_bl_done(&b);
    fx_bl_done(&c);
}

/* Values at the edge of a double, past the threshold: the bucket sums overflow, nothing
 * is predicted from them and nothing breaks. */
static void extreme_values_predict_nothing(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    warmup: 10\n    thresholds: [\"*/disk_used_pct above 0 1\"]\n");
    for (uint64_t i = 0; i < 3000; i++) {
        struct ad_event ev = fx_alert("storage", "host-1", "disk_used_pct", FX_T0 + (int64_t)i * MIN);
        ev.kind = AD_KIND_METRIC;
        ev.has_value = true;
        ev.value = 1.7e308 * (i < 1500 ? 1 : 0.9);
        if (ad_baseline_observe(f.b, &ev) == 0)
            while (ad_baseline_take(f.b, &ev) == 1)
                ;
    }
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.raised[2], 0);
    const char *body = api(f.b);
    assert_non_null(strstr(body, "\"forecast\":{\"state\":\"learning\""));
    fx_bl_done(&f);
}

static void durations_read_as_words(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(ad_fc_duration(3 * H + 12 * MIN + 5 * AD_NS_PER_S, b, sizeof(b)), "3h12m");
    assert_string_equal(ad_fc_duration(45 * MIN, b, sizeof(b)), "45m");
    assert_string_equal(ad_fc_duration(50 * H, b, sizeof(b)), "2d2h");
    assert_string_equal(ad_fc_duration(50 * AD_NS_PER_S, b, sizeof(b)), "50s");
    assert_string_equal(ad_fc_duration(-5, b, sizeof(b)), "0s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_growth_is_forecast_in_time),
        cmocka_unit_test(growth_on_a_daily_season_is_forecast_in_time),
        cmocka_unit_test(flat_noisy_series_raise_no_forecast),
        cmocka_unit_test(the_trend_turning_resolves_the_forecast),
        cmocka_unit_test(reaching_the_level_hands_over_to_the_threshold_alert),
        cmocka_unit_test(labels_api_and_forecasts_off),
        cmocka_unit_test(state_round_trip_and_older_states),
        cmocka_unit_test(extreme_values_predict_nothing),
        cmocka_unit_test(durations_read_as_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
