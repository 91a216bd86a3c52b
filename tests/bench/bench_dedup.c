/* tests/bench/bench_dedup.c: the dedup model alone over pre-built events: ns/event and
 * bytes per fingerprint at 1M tracked fingerprints. Counts are checked, times are not. */
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/event.h"
#include "common/time.h"
#include "models/dedup.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    const uint32_t fps = 1000000;
    static char *identity[] = {"source", "resource", "check"};
    struct ad_dedup_cfg cfg = {300 * AD_NS_PER_S, 86400 * AD_NS_PER_S, 2000000, {identity, 3}, {0, 0}};
    struct ad_dedup *d;
    struct ad_err err;
    if (ad_dedup_create(&cfg, &d, &err) < 0)
        return 1;
    char (*hosts)[24] = malloc((size_t)fps / 10 * sizeof(*hosts));
    for (uint32_t i = 0; i < fps / 10; i++)
        snprintf(hosts[i], sizeof(hosts[i]), "host%06u.prod", i);
    static const char *checks[10] = {"a", "bb", "ccc", "dddd", "eeeee", "f", "gg", "hhh", "iiii", "jjjjj"};
    uint64_t rng = 99;
    long consumed = 0;
    int64_t t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t a = (uint32_t)(rng >> 33) % fps;
        struct ad_event ev = {0};
        ev.kind = AD_KIND_ALERT;
        ev.time_ns = INT64_C(1795510800000000000) + i * AD_NS_PER_US;
        ev.source = AD_STR_LIT("prometheus");
        ev.resource = ad_str_c(hosts[a / 10]);
        ev.check = ad_str_c(checks[a % 10]);
        consumed += ad_dedup_observe(d, &ev) == AD_CONSUMED;
    }
    int64_t t = ad_mono_ns() - t0;
    struct ad_dedup_stats st;
    ad_dedup_get_stats(d, &st);
    if (st.seen != (uint64_t)n || st.tracked > fps) {
        fprintf(stderr, "bench_dedup: counts off\n");
        return 1;
    }
    printf("bench_dedup events=%ld fingerprints=%zu dup_ratio=%.3f ns_per_event=%.1f "
           "events_per_s=%.2fM bytes_per_fp=%.0f\n",
           n, st.tracked, (double)consumed / (double)n, (double)t / (double)n,
           (double)n / ((double)t / 1e9) / 1e6, (double)st.bytes / (double)st.tracked);
    ad_dedup_destroy(d);
    free(hosts);
    return 0;
}
