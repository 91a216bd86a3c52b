/* tests/unit/test_baseline.c: the baseline model (models/baseline.c): metric points learned per
 * series, anomalies turned into alerts (after alert_after points, or at once past
 * score_threshold) and resolved after resolve_after points back inside, static thresholds with
 * hysteresis side by side, series keys and detector rules, rejected points, bounds, state round
 * trips and corrupt state; and the whole pipeline turning a metric anomaly into an incident. */
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
#include "config/config.h"
#include "correlators/candidate.h"
#include "daemon/pipeline.h"
#include "daemon/sections.h"
#include "fx_baseline.h"
#include "fx_event.h"
#include "fx_series.h"
#include "models/baseline.h"
#include "models/detector.h"

#define S AD_NS_PER_S
#define STEP (60 * S)

static struct ad_event metric(const char *host, const char *check, int64_t t, double v)
{
    struct ad_event ev = fx_alert("web", host, check, t);
    ev.kind = AD_KIND_METRIC;
    ev.has_value = true;
    ev.value = v;
    return ev;
}

/* Feeds n normal points (50 ± 2) of host/cpu from point index *i on; none may raise. */
static void feed_normal(struct fx_bl *f, const char *host, uint64_t *i, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++, (*i)++) {
        struct ad_event ev = metric(host, "cpu", FX_T0 + (int64_t)*i * STEP, 50 + 2 * fx_noise(*i));
        assert_int_equal(ad_baseline_observe(f->b, &ev), AD_CONSUMED);
    }
}

static int push(struct fx_bl *f, const char *host, uint64_t *i, double v, struct ad_event *out)
{
    *out = metric(host, "cpu", FX_T0 + (int64_t)(*i)++ * STEP, v);
    return ad_baseline_observe(f->b, out);
}

static void anomaly_raises_after_alert_after_points_and_resolves(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    detector: robust\n    warmup: 50\n    alert_after: 3\n"
                       "    resolve_after: 2\n    severity: major\n    score_threshold: 0\n");
    uint64_t i = 0;
    feed_normal(&f, "h1", &i, 300);
    struct ad_event ev;
    /* Two points far outside: not yet (alert_after 3); the third raises. */
    assert_int_equal(push(&f, "h1", &i, 95, &ev), AD_CONSUMED);
    assert_int_equal(push(&f, "h1", &i, 96, &ev), AD_CONSUMED);
    assert_int_equal(push(&f, "h1", &i, 97, &ev), 0);
    assert_int_equal(ev.kind, AD_KIND_ALERT);
    assert_int_equal(ev.status, AD_STATUS_FIRING);
    assert_int_equal(ev.severity, AD_SEV_MAJOR);
    assert_true(ad_str_eq_c(ev.check, "baseline:h1/cpu"));
    assert_true(ad_str_eq_c(ev.resource, "h1"));
    assert_true(ev.has_value && ev.value == 97);
    double expected = atof(fx_label(&ev, "baseline_expected"));
    double upper = atof(fx_label(&ev, "baseline_upper"));
    assert_true(fabs(expected - 50) < 3);
    assert_true(upper > 52 && upper < 97);
    assert_true(atof(fx_label(&ev, "baseline_score")) > 0.5);
    assert_string_equal(fx_label(&ev, "baseline_detector"), "robust");
    assert_non_null(strstr(ev.summary.p, "above its learned band"));
    struct ad_event extra;
    assert_int_equal(ad_baseline_take(f.b, &extra), 0); /* no static rule: one alert */
    /* Still outside: repeats (dedup's business), then one point inside: not yet resolved. */
    assert_int_equal(push(&f, "h1", &i, 98, &ev), 0);
    assert_int_equal(ev.status, AD_STATUS_FIRING);
    assert_int_equal(push(&f, "h1", &i, 50, &ev), AD_CONSUMED);
    assert_int_equal(push(&f, "h1", &i, 50.5, &ev), 0);
    assert_int_equal(ev.status, AD_STATUS_RESOLVED);
    assert_true(ad_str_eq_c(ev.check, "baseline:h1/cpu"));
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.raised[0], 1);
    assert_int_equal(st.resolved[0], 1);
    assert_int_equal(st.series, 1);
    assert_true(st.anomalous >= 4);
    fx_bl_done(&f);
}

static void warmup_raises_nothing_and_other_kinds_pass(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    detector: robust\n    warmup: 100\n    alert_after: 1\n");
    uint64_t i = 0;
    struct ad_event ev;
    feed_normal(&f, "h1", &i, 20);
    for (int k = 0; k < 20; k++) /* wild values during warm-up: learned, never alerted */
        assert_int_equal(push(&f, "h1", &i, k % 2 ? 500 : -500, &ev), AD_CONSUMED);
    struct ad_event a = fx_alert("web", "h1", "HighCPU", FX_T0);
    assert_int_equal(ad_baseline_observe(f.b, &a), 0);
    assert_true(ad_str_eq_c(a.check, "HighCPU")); /* untouched */
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.raised[0], 0);
    assert_int_equal(st.anomalous, 0);
    fx_bl_done(&f);
}

static void score_threshold_raises_on_one_point(void **state)
{
    (void)state;
    /* The score is a likelihood of the recent run: two far-out points in a row pass 0.6, long
     * before alert_after (5) points outside the band would. */
    struct fx_bl f = fx_bl_make("    detector: robust\n    warmup: 50\n    alert_after: 5\n"
                       "    score_threshold: 0.6\n");
    uint64_t i = 0;
    struct ad_event ev;
    feed_normal(&f, "h1", &i, 200);
    int r1 = push(&f, "h1", &i, 500, &ev);
    if (r1 != 0)
        assert_int_equal(push(&f, "h1", &i, 500, &ev), 0);
    assert_int_equal(ev.status, AD_STATUS_FIRING);
    assert_true(atof(fx_label(&ev, "baseline_score")) >= 0.6);
    fx_bl_done(&f);
}

static void static_threshold_with_hysteresis_next_to_the_band(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    detector: robust\n    warmup: 50\n    alert_after: 1\n"
                       "    thresholds: [\"h2/* above 80 90 5\", \"*/cpu below 10 -\"]\n");
    uint64_t i = 0;
    struct ad_event ev, extra;
    feed_normal(&f, "h2", &i, 200);
    /* 85: past warning, and far outside the band: two alerts from one point. */
    assert_int_equal(push(&f, "h2", &i, 85, &ev), 0);
    assert_true(ad_str_eq_c(ev.check, "baseline:h2/cpu"));
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_true(ad_str_eq_c(extra.check, "threshold:h2/cpu"));
    assert_int_equal(extra.severity, AD_SEV_WARNING);
    assert_int_equal(extra.status, AD_STATUS_FIRING);
    assert_string_equal(fx_label(&extra, "threshold_warning"), "80");
    assert_int_equal(ad_baseline_take(f.b, &extra), 0);
    /* 95: critical. 87: still critical (within the 5 of hysteresis under 90). 84: warning. */
    assert_int_equal(push(&f, "h2", &i, 95, &ev), 0);
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_int_equal(extra.severity, AD_SEV_CRITICAL);
    assert_int_equal(push(&f, "h2", &i, 87, &ev), 0);
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_int_equal(extra.severity, AD_SEV_CRITICAL);
    assert_int_equal(push(&f, "h2", &i, 84, &ev), 0);
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_int_equal(extra.severity, AD_SEV_WARNING);
    /* 77: under 80 but not by 5: still warning; 74: resolved. */
    assert_int_equal(push(&f, "h2", &i, 77, &ev), 0);
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_int_equal(extra.status, AD_STATUS_FIRING);
    push(&f, "h2", &i, 74, &ev);
    struct ad_event *thr = ad_str_eq_c(ev.check, "threshold:h2/cpu") ? &ev : &extra;
    if (thr == &extra)
        assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_true(ad_str_eq_c(thr->check, "threshold:h2/cpu"));
    assert_int_equal(thr->status, AD_STATUS_RESOLVED);
    /* The first rule matching wins: h2 has no "below" rule; h3 does. */
    feed_normal(&f, "h3", &i, 60);
    assert_int_equal(push(&f, "h3", &i, 5, &ev), 0);
    thr = ad_str_eq_c(ev.check, "threshold:h3/cpu") ? &ev : &extra;
    if (thr == &extra)
        assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_true(ad_str_eq_c(thr->check, "threshold:h3/cpu"));
    assert_non_null(strstr(thr->summary.p, "below warning threshold"));
    fx_bl_done(&f);
}

static void series_keys_and_detector_rules(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    series_labels: [env]\n    detectors: [\"db-*=spot\", \"*=robust\"]\n");
    struct ad_event ev = metric("db-1", "latency", FX_T0, 3);
    ev.labels[0] = (struct ad_label){ad_str_c("env"), ad_str_c("prod")};
    ev.labels[1] = (struct ad_label){ad_str_c("zone"), ad_str_c("a")};
    ev.n_labels = 2;
    assert_int_equal(ad_baseline_observe(f.b, &ev), AD_CONSUMED);
    struct ad_event w = metric("web-1", "latency", FX_T0, 3);
    assert_int_equal(ad_baseline_observe(f.b, &w), AD_CONSUMED);
    struct ad_buf out;
    ad_buf_init(&out);
    assert_int_equal(ad_baseline_series_json(f.b, "db-1/latency{env=prod}", &out), 0);
    assert_non_null(strstr(out.p, "\"detector\":\"spot\""));
    ad_buf_reset(&out);
    assert_int_equal(ad_baseline_series_json(f.b, "web-1/latency", &out), 0);
    assert_non_null(strstr(out.p, "\"detector\":\"robust\""));
    assert_int_equal(ad_baseline_series_json(f.b, "db-1/latency", &out), -ENOENT);
    ad_buf_reset(&out);
    size_t listed = 0;
    assert_int_equal(ad_baseline_list_json(f.b, "db-", 10, &listed, &out), 1);
    assert_string_equal(out.p, "\"db-1/latency{env=prod}\"");
    ad_buf_fini(&out);
    fx_bl_done(&f);

    /* Config errors name the option, the item and what was expected. */
    struct ad_err err = {0};
    struct ad_config *cfg =
        fx_bl_cfg("models:\n  baseline:\n    detectors: [\"db-*=nosuch\"]\n", &err);
    assert_non_null(cfg);
    struct ad_baseline *b = NULL;
    assert_int_equal(ad_baseline_create(ad_config_get(cfg, "models.baseline"), &b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.baseline.detectors[0]: unknown detector 'nosuch'"));
    ad_config_destroy(cfg);
    cfg = fx_bl_cfg("models:\n  baseline:\n    thresholds: [\"x above 90 80\"]\n", &err);
    assert_int_equal(ad_baseline_create(ad_config_get(cfg, "models.baseline"), &b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.baseline.thresholds[0]: expected critical >= warning"));
    ad_config_destroy(cfg);
}

static void bad_points_are_counted_and_not_learned(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    detector: robust\n    warmup: 10\n    max_series: 2\n");
    uint64_t i = 0;
    feed_normal(&f, "h1", &i, 30);
    struct ad_event ev = metric("h1", "cpu", FX_T0 + 5 * STEP, 50); /* in the past */
    assert_int_equal(ad_baseline_observe(f.b, &ev), AD_CONSUMED);
    ev = metric("h1", "cpu", FX_T0 + 100 * STEP, NAN);
    assert_int_equal(ad_baseline_observe(f.b, &ev), AD_CONSUMED);
    ev = metric("h1", "cpu", FX_T0 + 101 * STEP, INFINITY);
    assert_int_equal(ad_baseline_observe(f.b, &ev), AD_CONSUMED);
    ev = metric("h1", "cpu", FX_T0 + 102 * STEP, 1);
    ev.has_value = false;
    assert_int_equal(ad_baseline_observe(f.b, &ev), -EINVAL);
    ev = metric("h2", "cpu", FX_T0, 1);
    assert_int_equal(ad_baseline_observe(f.b, &ev), AD_CONSUMED);
    ev = metric("h3", "cpu", FX_T0, 1); /* a third series: over max_series */
    assert_int_equal(ad_baseline_observe(f.b, &ev), AD_CONSUMED);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.out_of_order, 1);
    assert_int_equal(st.not_finite, 2);
    assert_int_equal(st.no_value, 1);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.series, 2);
    assert_int_equal(st.points, 31);
    struct ad_buf out;
    ad_buf_init(&out);
    assert_int_equal(ad_baseline_series_json(f.b, "h1/cpu", &out), 0);
    assert_non_null(strstr(out.p, "\"points\":30"));
    ad_buf_fini(&out);
    fx_bl_done(&f);
}

/* Feeds the same points to a and b and checks they answer the same. */
static void same_answers(struct fx_bl *a, struct fx_bl *b, uint64_t from, uint64_t n)
{
    for (uint64_t i = from; i < from + n; i++) {
        double v = 50 + 2 * fx_noise(i) + (i % 97 == 0 ? 40 : 0);
        struct ad_event ea = metric("h1", "cpu", FX_T0 + (int64_t)i * STEP, v);
        struct ad_event eb = ea;
        int ra = ad_baseline_observe(a->b, &ea), rb = ad_baseline_observe(b->b, &eb);
        assert_int_equal(ra, rb);
        if (ra == 0) {
            assert_true(ad_str_eq(ea.check, eb.check));
            assert_int_equal(ea.status, eb.status);
            assert_string_equal(ea.summary.p, eb.summary.p);
        }
    }
}

static void state_round_trip_and_corrupt_state(void **state)
{
    (void)state;
    const char *opts = "    warmup: 50\n    alert_after: 1\n";
    struct fx_bl a = fx_bl_make(opts), b = fx_bl_make(opts);
    uint64_t i = 0;
    for (; i < 400; i++) {
        double v = 50 + 2 * fx_noise(i) + (i % 97 == 0 ? 40 : 0);
        struct ad_event ev = metric("h1", "cpu", FX_T0 + (int64_t)i * STEP, v);
        ad_baseline_observe(a.b, &ev);
    }
    struct ad_buf img;
    ad_buf_init(&img);
    assert_int_equal(ad_baseline_save(a.b, &img), 0);
    struct ad_err err = {0};
    assert_int_equal(ad_baseline_load(b.b, img.p, img.len, &err), 0);
    same_answers(&a, &b, i, 600);
    /* A truncated image and a flipped detector id are refused, and leave nothing behind. */
    struct fx_bl c = fx_bl_make(opts);
    assert_int_equal(ad_baseline_load(c.b, img.p, img.len / 2, &err), -EINVAL);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(c.b, &st);
    assert_int_equal(st.series, 0);
    img.p[4 + 4 + 4 + strlen("h1/cpu")] ^= 0x7f; /* version, count, key length, key, then id */
    assert_int_equal(ad_baseline_load(c.b, img.p, img.len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "models.baseline: corrupt series 0"));
    ad_buf_fini(&img);
    fx_bl_done(&a);
    fx_bl_done(&b);
    fx_bl_done(&c);
}

/* A series that stops reporting while both its alerts fire resolves them stale_after later, with
 * the same source, resource and check as the firing ones (so dedup and the incident match them). */
static void alerting_series_that_stop_reporting_resolve(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    detector: robust\n    warmup: 50\n    alert_after: 1\n"
                       "    stale_after: 30m\n    thresholds: [\"*/cpu above 80 90\"]\n");
    uint64_t i = 0;
    struct ad_event ev, extra;
    feed_normal(&f, "h1", &i, 200);
    assert_int_equal(push(&f, "h1", &i, 95, &ev), 0);
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    int64_t last = FX_T0 + (int64_t)(i - 1) * STEP;
    ad_model_baseline.expire(f.b, last + 20 * 60 * S); /* not yet */
    assert_int_equal(ad_baseline_take(f.b, &ev), 0);
    ad_model_baseline.expire(f.b, last + 31 * 60 * S);
    assert_int_equal(ad_baseline_take(f.b, &ev), 1);
    assert_int_equal(ad_baseline_take(f.b, &extra), 1);
    assert_int_equal(ad_baseline_take(f.b, &extra), 0);
    assert_int_equal(ev.status, AD_STATUS_RESOLVED);
    assert_true(ad_str_eq_c(ev.check, "baseline:h1/cpu"));
    assert_true(ad_str_eq_c(ev.resource, "h1"));
    assert_true(ad_str_eq_c(ev.source, "test"));
    assert_non_null(strstr(ev.summary.p, "no points for 1860s"));
    struct ad_buf out;
    ad_buf_init(&out);
    assert_int_equal(ad_baseline_series_json(f.b, "h1/cpu", &out), 0);
    assert_null(strstr(out.p, "\"state\":\"firing\""));
    assert_non_null(strstr(out.p, "\"level\":\"ok\""));
    ad_buf_fini(&out);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.stale, 1);
    assert_int_equal(st.resolved[0], 1);
    assert_int_equal(st.resolved[1], 1);
    /* Nothing more to resolve on later ticks. */
    ad_model_baseline.expire(f.b, last + 40 * 60 * S);
    assert_int_equal(ad_baseline_take(f.b, &ev), 0);
    fx_bl_done(&f);
}

static void quiet_series_expire(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    expire_after: 1h\n");
    uint64_t i = 0;
    feed_normal(&f, "h1", &i, 5);
    ad_model_baseline.expire(f.b, FX_T0 + 30 * 60 * S);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.series, 1);
    ad_model_baseline.expire(f.b, FX_T0 + 2 * 3600 * S);
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.series, 0);
    assert_int_equal(st.expired, 1);
    fx_bl_done(&f);
}

struct seen {
    struct ad_buf text;
    int n;
};
static int record(void *ctx, const struct ad_candidate *c)
{
    struct seen *s = ctx;
    assert_int_equal(ad_candidate_to_json(c, &s->text), 0);
    s->n++;
    return 0;
}

/* The whole pipeline: a metric anomaly becomes an alert, dedup and the correlator open an
 * incident for it, and the threshold alert of the same point joins it. */
static void pipeline_turns_an_anomaly_into_an_incident(void **state)
{
    (void)state;
    struct ad_err err = {0};
    struct ad_config *cfg = fx_bl_cfg("models:\n  baseline:\n    detector: robust\n"
                                     "    warmup: 50\n    alert_after: 2\n"
                                     "    thresholds: [\"*/cpu above 80 95\"]\n", &err);
    assert_non_null(cfg);
    struct seen s = {.n = 0};
    ad_buf_init(&s.text);
    struct ad_cand_sink sink = {&s, record};
    struct ad_pipeline *p;
    assert_int_equal(ad_pipeline_create(cfg, &sink, &p, &err), 0);
    uint64_t i = 0;
    for (; i < 300; i++) {
        struct ad_event ev = metric("h1", "cpu", FX_T0 + (int64_t)i * STEP, 50 + 2 * fx_noise(i));
        assert_int_equal(ad_pipeline_process(p, &ev), AD_CONSUMED);
    }
    assert_int_equal(s.n, 0);
    for (int k = 0; k < 3; k++, i++) {
        struct ad_event ev = metric("h1", "cpu", FX_T0 + (int64_t)i * STEP, 90);
        assert_true(ad_pipeline_process(p, &ev) >= 0);
    }
    ad_pipeline_flush(p);
    assert_true(s.n > 0);
    assert_non_null(strstr(s.text.p, "baseline:h1/cpu"));
    assert_non_null(strstr(s.text.p, "threshold:h1/cpu"));
    ad_pipeline_destroy(p);
    ad_buf_fini(&s.text);
    ad_config_destroy(cfg);
}

/* The config's defaults are the detectors' own (aiopsctl baseline without -c agrees with the
 * daemon), and a pattern picks its detector. */
static void config_defaults_are_the_detectors_defaults(void **state)
{
    (void)state;
    struct ad_err err = {0};
    struct ad_config *cfg = fx_bl_cfg("models:\n  baseline:\n    detectors: [\"db-*=spot\"]\n",
                                     &err);
    assert_non_null(cfg);
    const struct ad_det_ops *d;
    struct ad_det_params p, def;
    ad_det_params_default(&def);
    assert_int_equal(ad_baseline_params_for(ad_config_get(cfg, "models.baseline"), "web-1/cpu", &d,
                                            &p, &err), 0);
    assert_ptr_equal(d, ad_detectors[0]);
    assert_true(p.band == def.band && p.q == def.q && p.warmup == def.warmup &&
                p.memory == def.memory && p.max_gap_ns == def.max_gap_ns);
    assert_int_equal(ad_baseline_params_for(ad_config_get(cfg, "models.baseline"), "db-1/lat", &d,
                                            &p, &err), 0);
    assert_ptr_equal(d, &ad_det_spot);
    ad_config_destroy(cfg);
}

/* The default detector (context): a series that alternates between 40 and 60 and then stands at
 * 50 does something it never did, inside its band. One point at score_threshold (default) raises
 * the alert at once, its summary says why in words, baseline_cause says which view decided, and
 * it resolves resolve_after points later. */
static void default_detector_raises_on_a_pattern_never_seen(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    warmup: 50\n    resolve_after: 2\n");
    uint64_t i = 0;
    struct ad_event ev;
    for (int k = 0; k < 600; k++)
        assert_int_equal(push(&f, "h1", &i, (k % 12 < 6 ? 40 : 60) + 0.2 * fx_noise(i), &ev),
                         AD_CONSUMED);
    int rc = AD_CONSUMED;
    for (int k = 0; k < 5 && rc == AD_CONSUMED; k++)
        rc = push(&f, "h1", &i, 50 + 0.2 * fx_noise(i), &ev);
    assert_int_equal(rc, 0);
    assert_int_equal(ev.status, AD_STATUS_FIRING);
    assert_string_equal(fx_label(&ev, "baseline_detector"), "context");
    assert_string_equal(fx_label(&ev, "baseline_cause"), "pattern");
    assert_true(atof(fx_label(&ev, "baseline_score")) >= 0.64);
    assert_true(atof(fx_label(&ev, "baseline_lower")) < 50);
    assert_true(atof(fx_label(&ev, "baseline_upper")) > 50);
    assert_non_null(strstr(ev.summary.p, "pattern not seen before"));
    assert_int_equal(push(&f, "h1", &i, 50, &ev), AD_CONSUMED);
    assert_int_equal(push(&f, "h1", &i, 50, &ev), 0);
    assert_int_equal(ev.status, AD_STATUS_RESOLVED);
    fx_bl_done(&f);
}

/* The same shape in a series younger than two warm-ups: the detector scores it (its score is
 * what aiopsctl baseline shows), but too little was seen to call it "never seen": no alert. */
static void a_young_series_does_not_alert_on_a_pattern(void **state)
{
    (void)state;
    struct fx_bl f = fx_bl_make("    warmup: 200\n");
    uint64_t i = 0;
    struct ad_event ev;
    for (int k = 0; k < 300; k++)
        assert_int_equal(push(&f, "h1", &i, (k % 12 < 6 ? 40 : 60) + 0.2 * fx_noise(i), &ev),
                         AD_CONSUMED);
    for (int k = 0; k < 5; k++)
        assert_int_equal(push(&f, "h1", &i, 50 + 0.2 * fx_noise(i), &ev), AD_CONSUMED);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(f.b, &st);
    assert_int_equal(st.raised[0], 0);
    fx_bl_done(&f);
}

/* A state file written while seasonal was the default, loaded under the context default: the
 * series is adopted (counted), keeps its band, and is now a context series. */
static void a_seasonal_state_is_adopted_by_the_context_default(void **state)
{
    (void)state;
    struct fx_bl a = fx_bl_make("    detector: seasonal\n    warmup: 50\n");
    struct fx_bl b = fx_bl_make("    warmup: 50\n");
    uint64_t i = 0;
    for (; i < 400; i++) {
        struct ad_event ev = metric("h1", "cpu", FX_T0 + (int64_t)i * STEP, 50 + 2 * fx_noise(i));
        ad_baseline_observe(a.b, &ev);
    }
    struct ad_buf img, ja, jb;
    ad_buf_init(&img);
    ad_buf_init(&ja);
    ad_buf_init(&jb);
    assert_int_equal(ad_baseline_save(a.b, &img), 0);
    struct ad_err err = {0};
    assert_int_equal(ad_baseline_load(b.b, img.p, img.len, &err), 0);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(b.b, &st);
    assert_int_equal(st.adopted, 1);
    assert_int_equal(ad_baseline_series_json(a.b, "h1/cpu", &ja), 0);
    assert_int_equal(ad_baseline_series_json(b.b, "h1/cpu", &jb), 0);
    assert_non_null(strstr(jb.p, "\"detector\":\"context\""));
    /* The band learned by seasonal is the one the context series draws. */
    const char *ea = strstr(ja.p, "\"expected\""), *eb = strstr(jb.p, "\"expected\"");
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(strncmp(ea, eb, 40), 0);
    ad_buf_fini(&img);
    ad_buf_fini(&ja);
    ad_buf_fini(&jb);
    fx_bl_done(&a);
    fx_bl_done(&b);
}

/* A context state of an older layout (its levels and contexts meant something else) is not
 * misread: loaded, the series keeps the band it learned (adopted, counted) and its novelty view
 * starts again. */
static void an_older_context_layout_is_adopted_not_misread(void **state)
{
    (void)state;
    struct fx_bl a = fx_bl_make("    warmup: 50\n");
    struct fx_bl b = fx_bl_make("    warmup: 50\n");
    for (uint64_t i = 0; i < 400; i++) {
        struct ad_event ev = metric("h1", "cpu", FX_T0 + (int64_t)i * STEP, 50 + 2 * fx_noise(i));
        ad_baseline_observe(a.b, &ev);
    }
    struct ad_buf img, ja, jb;
    ad_buf_init(&img);
    ad_buf_init(&ja);
    ad_buf_init(&jb);
    assert_int_equal(ad_baseline_save(a.b, &img), 0);
    /* The image holds the key, the detector id, the state's length (4 bytes), then the state:
     * its header's second byte is the layout. */
    const char *key = memmem(img.p, img.len, "h1/cpu", 6);
    assert_non_null(key);
    unsigned char *hdr = (unsigned char *)key + 6 + 1 + 4;
    assert_int_equal(hdr[0], ad_det_context.id);
    assert_int_equal(hdr[1], ad_det_context.layout);
    assert_int_not_equal(ad_det_context.layout, 0);
    hdr[1] = 0; /* as written before layouts were recorded */
    struct ad_err err = {0};
    assert_int_equal(ad_baseline_load(b.b, img.p, img.len, &err), 0);
    struct ad_baseline_stats st;
    ad_baseline_get_stats(b.b, &st);
    assert_int_equal(st.adopted, 1);
    assert_int_equal(ad_baseline_series_json(a.b, "h1/cpu", &ja), 0);
    assert_int_equal(ad_baseline_series_json(b.b, "h1/cpu", &jb), 0);
    const char *ea = strstr(ja.p, "\"expected\""), *eb = strstr(jb.p, "\"expected\"");
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(strncmp(ea, eb, 40), 0);
    /* Unpatched, the same image loads as it is: nothing adopted. */
    hdr[1] = ad_det_context.layout;
    struct fx_bl c = fx_bl_make("    warmup: 50\n");
    assert_int_equal(ad_baseline_load(c.b, img.p, img.len, &err), 0);
    ad_baseline_get_stats(c.b, &st);
    assert_int_equal(st.adopted, 0);
    ad_buf_fini(&img);
    ad_buf_fini(&ja);
    ad_buf_fini(&jb);
    fx_bl_done(&a);
    fx_bl_done(&b);
    fx_bl_done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(anomaly_raises_after_alert_after_points_and_resolves),
        cmocka_unit_test(warmup_raises_nothing_and_other_kinds_pass),
        cmocka_unit_test(score_threshold_raises_on_one_point),
        cmocka_unit_test(default_detector_raises_on_a_pattern_never_seen),
        cmocka_unit_test(a_young_series_does_not_alert_on_a_pattern),
        cmocka_unit_test(static_threshold_with_hysteresis_next_to_the_band),
        cmocka_unit_test(series_keys_and_detector_rules),
        cmocka_unit_test(bad_points_are_counted_and_not_learned),
        cmocka_unit_test(state_round_trip_and_corrupt_state),
        cmocka_unit_test(a_seasonal_state_is_adopted_by_the_context_default),
        cmocka_unit_test(an_older_context_layout_is_adopted_not_misread),
        cmocka_unit_test(alerting_series_that_stop_reporting_resolve),
        cmocka_unit_test(quiet_series_expire),
        cmocka_unit_test(pipeline_turns_an_anomaly_into_an_incident),
        cmocka_unit_test(config_defaults_are_the_detectors_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
