/* tests/bench/bench_forecast.c: how well forecasts of threshold crossings (models/forecast.h,
 * docs/baselines.md "Forecasts") predict on generated series whose crossing times are known
 * (tests/fixtures/fx_forecast.h), through the baseline model with its default forecast settings
 * and thresholds "above 80 95":
 *   linear    40 + slope * t from hour 30 on (slope 0.5..3 /h), uniform noise +-0.5..3, 1-min points
 *   seasonal  40 + 10 sin(day) + slope * t from day 7 on (0.5..2 /h), noise +-0.5..3, 5-min points,
 *             detector seasonal (it has learned the daily season by then)
 *   flat      50 + noise +-0.5..3 (thresholds above 60 70), 14 days of 1-min points
 *   flat-day  50 + 10 sin(day) + noise (above 70 80), 14 days of 5-min points, detector seasonal
 * For the trends: the first forecast alert's predicted time against the true crossing of the
 * level it names (error: median signed, > 0 late; absolute, and as a share of the time it
 * gave), its lead time, and the
 * prediction of the last alert at least 1 h before the true critical crossing. For the flat
 * series: forecast alerts raised (each one is false). Then the cost of one refit (16 buckets,
 * no season) and of adding a point, alone.
 *
 *   bench_forecast [SERIES]   (default 100 series per kind) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/sections.h"
#include "fx_event.h"
#include "fx_forecast.h"
#include "fx_series.h"
#include "models/baseline.h"
#include "models/forecast.h"

#define H (3600 * AD_NS_PER_S)
#define MAXN 10000

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof(*v), cmp);
    int k = (int)ceil(p * n) - 1;
    return v[k < 0 ? 0 : k];
}

static struct ad_baseline *model(const char *extra, struct ad_config **cfg)
{
    char yaml[512];
    struct ad_err err;
    struct ad_baseline *b = NULL;
    snprintf(yaml, sizeof(yaml), "models:\n  baseline:\n%s", extra);
    if (ad_config_load_string("bench.yaml", yaml, strlen(yaml), ad_sections(), cfg, &err) < 0 ||
        ad_baseline_create(ad_config_get(*cfg, "models.baseline"), &b, &err) < 0) {
        fprintf(stderr, "bench_forecast: %s\n", err.msg);
        exit(1);
    }
    return b;
}

static double u(uint64_t seed, double lo, double hi)
{
    return lo + (hi - lo) * (fx_noise(seed) + 1) / 2;
}

struct figs {
    double err_min[MAXN], rel[MAXN], lead_h[MAXN], err1h_min[MAXN];
    int n, n1h, missed, late;
};

/* One trending series: its alerts against the true crossings. */
static void trend(const char *opts, const struct fx_trend *g, struct figs *f)
{
    struct ad_config *cfg;
    struct ad_baseline *b = model(opts, &cfg);
    int64_t crit = fx_trend_crossing(g, 95, false, 60 * 24 * H),
            warn = fx_trend_crossing(g, 80, false, 60 * 24 * H);
    struct fx_fc_run *run = calloc(1, sizeof(*run));
    uint64_t n = (uint64_t)((crit + H) / g->step_ns);
    if (!run || fx_fc_feed(b, g, 0, n, run) < 0)
        exit(1);
    const struct fx_fc_alert *a = fx_fc_first(run);
    if (!a || a->t_ns - FX_T0 >= (a && a->level == 2 ? crit : warn)) {
        f->missed += !a;
        f->late += a != NULL;
    } else {
        int64_t truth = a->level == 2 ? crit : warn, t = a->t_ns - FX_T0;
        f->err_min[f->n] = (double)(a->at_ns - FX_T0 - truth) / (60 * AD_NS_PER_S);
        f->rel[f->n] = 100 * fabs((double)(a->at_ns - FX_T0 - truth)) / (double)(truth - t);
        f->lead_h[f->n++] = (double)(truth - t) / H;
    }
    const struct fx_fc_alert *last = NULL; /* the last critical prediction >= 1 h ahead */
    for (size_t i = 0; i < run->n; i++)
        if (!run->a[i].resolved && run->a[i].level == 2 && run->a[i].t_ns - FX_T0 <= crit - H)
            last = &run->a[i];
    if (last)
        f->err1h_min[f->n1h++] = (double)(last->at_ns - FX_T0 - crit) / (60 * AD_NS_PER_S);
    free(run);
    ad_baseline_destroy(b);
    ad_config_destroy(cfg);
}

static void report(const char *kind, int series, struct figs *f)
{
    double abs_err[MAXN];
    for (int i = 0; i < f->n; i++)
        abs_err[i] = fabs(f->err_min[i]);
    double signed_p50 = pct(f->err_min, f->n, 0.5); /* > 0: predicted late */
    for (int i = 0; i < f->n1h; i++)
        f->err1h_min[i] = fabs(f->err1h_min[i]);
    printf("bench_forecast kind=%s series=%d alerted_before_crossing=%d missed=%d late=%d "
           "err_min_p50=%+.1f abs_err_min_p50=%.1f abs_err_min_p90=%.1f rel_err_pct_p50=%.1f rel_err_pct_p90=%.1f "
           "lead_h_p50=%.2f lead_h_min=%.2f abs_err_1h_before_min_p50=%.1f "
           "abs_err_1h_before_min_p90=%.1f (n=%d)\n",
           kind, series, f->n, f->missed, f->late, signed_p50, pct(abs_err, f->n, 0.5),
           pct(abs_err, f->n, 0.9), pct(f->rel, f->n, 0.5), pct(f->rel, f->n, 0.9),
           pct(f->lead_h, f->n, 0.5), pct(f->lead_h, f->n, 0.0001), pct(f->err1h_min, f->n1h, 0.5),
           pct(f->err1h_min, f->n1h, 0.9), f->n1h);
}

static void flat(const char *kind, const char *opts, int series, double amp, int64_t step)
{
    uint64_t raised = 0, days = 14, points = 0;
    for (int k = 0; k < series; k++) {
        struct ad_config *cfg;
        struct ad_baseline *b = model(opts, &cfg);
        struct fx_trend g = {50, amp, 0, u(7000 + (uint64_t)k, 0.5, 3), 0, 0, 0, step,
                             (uint64_t)k << 32};
        struct fx_fc_run *run = calloc(1, sizeof(*run));
        uint64_t n = (uint64_t)(days * 24 * H / step);
        if (!run || fx_fc_feed(b, &g, 0, n, run) < 0)
            exit(1);
        raised += run->raised;
        points += n;
        free(run);
        ad_baseline_destroy(b);
        ad_config_destroy(cfg);
    }
    printf("bench_forecast kind=%s series=%d days=%llu points=%llu false_alerts=%llu\n", kind,
           series, (unsigned long long)days, (unsigned long long)points,
           (unsigned long long)raised);
}

/* ns per ad_fc_add and per ad_fc_fit on a full window of a growing series. */
static void cost(void)
{
    struct ad_fc_params p = {6 * H, 4 * H, 3};
    struct ad_fc_rule rule = {false, 80, 95};
    static struct ad_fc f;
    ad_fc_init(&f);
    const long adds = 2000000, fits = 200000;
    int64_t t = FX_T0, step = 60 * AD_NS_PER_S;
    double sink = 0;
    int64_t a0 = ad_mono_ns();
    for (long i = 0; i < adds; i++, t += step)
        sink += ad_fc_add(&f, &p, t, 40 + (double)i / 600 + fx_noise((uint64_t)i));
    int64_t a1 = ad_mono_ns();
    struct ad_fc_pred pr;
    for (long i = 0; i < fits; i++) {
        ad_fc_fit(&f, &p, t + i, &rule, 0, NULL, NULL, NULL, &pr);
        sink += pr.slope;
    }
    int64_t a2 = ad_mono_ns();
    printf("bench_forecast cost add_ns=%.1f fit_ns=%.1f buckets=%d state_bytes=%zu (%g)\n",
           (double)(a1 - a0) / adds, (double)(a2 - a1) / fits, AD_FC_BUCKETS, sizeof(f),
           sink > 0 ? 1.0 : 0.0);
}

int main(int argc, char **argv)
{
    int series = argc > 1 ? atoi(argv[1]) : 100;
    if (series < 1 || series > MAXN)
        return 2;
    static struct figs lin, sea;
    for (int k = 0; k < series; k++) {
        struct fx_trend g = {40, 0, u(1000 + (uint64_t)k, 0.5, 3), u(2000 + (uint64_t)k, 0.5, 3),
                             30 * H, 0, 0, 60 * AD_NS_PER_S, (uint64_t)k << 32};
        trend("    thresholds: [\"*/disk_used_pct above 80 95\"]\n", &g, &lin);
    }
    report("linear", series, &lin);
    for (int k = 0; k < series; k++) {
        struct fx_trend g = {40, 10, u(3000 + (uint64_t)k, 0.5, 2), u(4000 + (uint64_t)k, 0.5, 3),
                             7 * 24 * H, 0, 0, 300 * AD_NS_PER_S, (uint64_t)k << 32};
        trend("    detector: seasonal\n    thresholds: [\"*/disk_used_pct above 80 95\"]\n", &g,
              &sea);
    }
    report("seasonal", series, &sea);
    flat("flat", "    thresholds: [\"*/disk_used_pct above 60 70\"]\n", series, 0,
         60 * AD_NS_PER_S);
    flat("flat-day", "    detector: seasonal\n    thresholds: [\"*/disk_used_pct above 70 80\"]\n",
         series, 10, 300 * AD_NS_PER_S);
    cost();
    return 0;
}
