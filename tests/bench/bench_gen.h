/* tests/bench/bench_gen.h: a synthetic alert stream for the benchmarks (header-only).
 * `alerts` distinct alerts (service x host x check); event i picks one with a skewed
 * distribution, so most events are duplicates (measured and printed, not assumed); one event in
 * `resolve_every` resolves its alert. Event time advances 1 ms per event. */
#pragma once
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const bench_checks[] = {"HighLatency", "ErrorRate", "DBConnFail", "DiskFull",
                                           "CPUSaturated", "MemoryPressure", "QueueBacklog",
                                           "HealthCheckFailed", "CertExpiry", "PodCrashLoop"};
static const char *const bench_sevs[] = {"warning", "minor", "major", "critical"};

struct bench_gen {
    uint64_t rng;
    uint32_t services, hosts;
    uint32_t resolve_every;
    int64_t t0_ms;
};

static inline uint32_t bench_rnd(struct bench_gen *g)
{
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return (uint32_t)((g->rng * 2685821657736338717ULL) >> 32);
}

/* Writes event i as one JSON line (no newline) into buf; returns its length. */
static inline int bench_event(struct bench_gen *g, uint64_t i, char *buf, size_t n)
{
    /* Skew: half of the events hit 1/64 of the alerts (a storm), the rest spread out. */
    uint32_t total = g->services * g->hosts * 10;
    uint32_t r = bench_rnd(g);
    uint32_t a = (r & 1) ? (r >> 1) % (total / 64 + 1) : (r >> 1) % total;
    uint32_t svc = a % g->services, host = (a / g->services) % g->hosts, chk = a / (g->services * g->hosts) % 10;
    bool resolved = g->resolve_every && i % g->resolve_every == g->resolve_every - 1;
    int64_t ms = g->t0_ms + (int64_t)i;
    return snprintf(buf, n,
                    "{\"kind\":\"alert\",\"source\":\"prometheus\",\"resource\":\"svc%u-host%02u.prod\","
                    "\"service\":\"svc%u\",\"check\":\"%s\",\"severity\":\"%s\",\"status\":\"%s\","
                    "\"summary\":\"%s on svc%u-host%02u: value above threshold\","
                    "\"labels\":{\"env\":\"prod\",\"region\":\"eu-west-1\",\"team\":\"team%u\"},"
                    "\"timestamp\":%" PRId64 ".%03d}",
                    svc, host, svc, bench_checks[chk], bench_sevs[(a >> 3) & 3],
                    resolved ? "resolved" : "firing", bench_checks[chk], svc, host, svc % 17,
                    ms / 1000, (int)(ms % 1000));
}
