/* tests/bench/bench_baseline.c: the baseline model (models/baseline.c) as the daemon runs it:
 * metric events for many series at once, round-robin with 5-minute steps, through
 * ad_baseline_observe (series key, lookup, detector, alert decisions). Prints ns/point (wall
 * clock, and this thread's CPU time), points/s and memory per series (the model's own count:
 * entries, states, keys, index), for the default detector and for each one by name, then for
 * the default detector with every series under a static threshold (cpu_percent above 95,
 * critical 99), without and with forecasts (models/forecast.h: a refit each time a bucket
 * closes). Counts are checked, times are not.
 *
 *   bench_baseline [SERIES [ROUNDS]]   (default 100000 series, 50 rounds after a 288-point warm-up) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/event.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/sections.h"
#include "fx_series.h"
#include "models/baseline.h"
#include "models/detector.h"


/* This thread's CPU time: steadier than the wall clock on a shared machine. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * AD_NS_PER_S + ts.tv_nsec;
}

/* thr: "" (no static thresholds), "off" (thresholds, forecasts off) or "forecast". */
static int run(const char *detector, const char *thr, long series, long rounds, char (*hosts)[32])
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "models:\n  baseline:\n    detector: \"%s\"\n    max_series: %ld\n%s%s", detector,
             series, thr[0] ? "    thresholds: [\"*/cpu_percent above 95 99\"]\n" : "",
             strcmp(thr, "off") == 0 ? "    forecast_horizon: 0s\n" : "");
    struct ad_config *cfg;
    struct ad_err err;
    struct ad_baseline *b;
    if (ad_config_load_string("bench.yaml", yaml, strlen(yaml), ad_sections(), &cfg, &err) < 0 ||
        ad_baseline_create(ad_config_get(cfg, "models.baseline"), &b, &err) < 0) {
        fprintf(stderr, "bench_baseline: %s\n", err.msg);
        return 1;
    }
    const int64_t t0 = INT64_C(1795510800000000000), step = 300 * AD_NS_PER_S;
    long warm = 288, alerts = 0;
    int64_t w0 = 0, s0 = 0, c0 = 0;
    for (long r = 0; r < warm + rounds; r++) {
        if (r == 0)
            w0 = ad_mono_ns();
        if (r == warm) {
            s0 = ad_mono_ns();
            c0 = cpu_ns();
        }
        for (long i = 0; i < series; i++) {
            struct ad_event ev = {0};
            ev.kind = AD_KIND_METRIC;
            ev.time_ns = t0 + r * step + i;
            ev.source = AD_STR_LIT("prometheus");
            ev.resource = ad_str_c(hosts[i]);
            ev.check = AD_STR_LIT("cpu_percent");
            ev.has_value = true;
            uint64_t k = (uint64_t)r * (uint64_t)series + (uint64_t)i;
            /* A daily rhythm, noise, and a spike 1 point in 1000. */
            ev.value = 50 + 20 * __builtin_sin((double)(r % 288) / 288 * 6.283) + 3 * fx_noise(k) +
                       (k % 1000 == 999 ? 60 : 0);
            alerts += ad_baseline_observe(b, &ev) == 0;
        }
    }
    int64_t end = ad_mono_ns(), cpu = cpu_ns() - c0;
    struct ad_baseline_stats st;
    ad_baseline_get_stats(b, &st);
    if (st.series != (size_t)series || st.points != (uint64_t)(series * (warm + rounds))) {
        fprintf(stderr, "bench_baseline: counts off (%zu series, %llu points)\n", st.series,
                (unsigned long long)st.points);
        return 1;
    }
    double n = (double)series * (double)rounds, ns = (double)(end - s0) / n;
    printf("bench_baseline detector=%s thresholds=%s series=%ld points=%.0f ns_per_point=%.1f cpu_ns_per_point=%.1f points_per_s=%.2fM "
           "warmup_ns_per_point=%.1f bytes_per_series=%.0f alerts=%ld\n",
           detector[0] ? detector : ad_detectors[0]->name, thr[0] ? thr : "none", series, n, ns, (double)cpu / n, 1e3 / ns,
           (double)(s0 - w0) / ((double)series * (double)warm), (double)st.bytes / (double)series,
           alerts);
    ad_baseline_destroy(b);
    ad_config_destroy(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    long series = argc > 1 ? atol(argv[1]) : 100000, rounds = argc > 2 ? atol(argv[2]) : 50;
    if (series < 1 || rounds < 1)
        return 2;
    char (*hosts)[32] = malloc((size_t)series * sizeof(*hosts));
    if (!hosts)
        return 1;
    for (long i = 0; i < series; i++)
        snprintf(hosts[i], sizeof(hosts[i]), "host%06ld.prod", i);
    int rc = 0;
    for (size_t d = 0; ad_detectors[d] && rc == 0; d++)
        rc = run(ad_detectors[d]->name, "", series, rounds, hosts);
    if (rc == 0)
        rc = run(ad_detectors[0]->name, "off", series, rounds, hosts);
    if (rc == 0)
        rc = run(ad_detectors[0]->name, "forecast", series, rounds, hosts);
    free(hosts);
    return rc;
}
