/* tests/bench/bench_kafka.c: Kafka -> aiopsd -> Redis with the real daemon. N events are
 * produced to a 4-partition topic of librdkafka's mock cluster (the ad_kafka_mock tool) while
 * aiopsd consumes, at most CHUNK ahead of it (the mock keeps only a few MB per partition). The
 * time from the first message produced until every event went through the per-partition
 * pipelines and the Redis buffer is empty gives events/s (checkpoints and offset commits
 * included; the producer and the mock cluster share the 2 cores). Prints figures; asserts
 * counts only. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gen.h"
#include "common/hash.h"
#include "common/time.h"
#include "fx_daemon.h"
#include "fx_kafka.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define PARTS 4
#define CHUNK 20000

static bool drained(void *ctx)
{
    struct fx_daemon *d = ctx;
    return fx_daemon_metric(d, "aiopsd_redis_buffer_depth") == 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 300000;
    struct fx_redis redis;
    struct fx_kafka kafka;
    struct fx_daemon d;
    memset(&redis, 0, sizeof(redis));
    if (fx_redis_start(&redis) != 0 || fx_kafka_start(&kafka, 3, "bench", PARTS) != 0)
        return 1;
    char coll[2048];
    snprintf(coll, sizeof(coll),
             "  kafka:\n    enabled: true\n    brokers: \"%s\"\n"
             "    topics: [bench]\n    group_id: bench\n"
             "    properties: [\"session.timeout.ms=6000\"]\n",
             kafka.bootstrap);
    if (fx_daemon_start_with(&d, redis.port, "sub", coll, "daemon:\n  log_level: notice\n",
                             true) != 0)
        return 1;
    /* The mock cluster keeps only a few MB per partition, so the events are produced while the
     * daemon consumes, after its group join (the broker's 3 s initial rebalance delay). */
    if (!fx_daemon_wait_metric(&d, "aiopsd_kafka_partitions", PARTS, 60000))
        return 1;
    struct bench_gen g = {.rng = 777, .services = 200, .hosts = 20, .resolve_every = 500,
                          .t0_ms = INT64_C(1795510800000)};
    char buf[512], key[64];
    int64_t t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        int len = bench_event(&g, (uint64_t)i, buf, sizeof(buf));
        /* Keyed by service, as docs/collector-kafka.md recommends. */
        const char *s = strstr(buf, "\"service\":\"");
        const char *e = s ? strchr(s + 11, '"') : NULL;
        snprintf(key, sizeof(key), "%.*s", e ? (int)(e - s - 11) : 1, e ? s + 11 : "x");
        int32_t part = (int32_t)(ad_hash64(key, strlen(key), 0) % PARTS);
        if (fx_kafka_produce(&kafka, "bench", part, key, buf, (size_t)len) != 0) {
            fprintf(stderr, "bench_kafka: produce failed at event %ld\n", i);
            return 1;
        }
        /* Stay within what the mock cluster retains: at most CHUNK events ahead. */
        if ((i + 1) % CHUNK == 0 && i + 1 > CHUNK &&
            !fx_daemon_wait_metric(&d, "aiopsd_pipeline_events_total", (double)(i + 1 - CHUNK),
                                   60000))
            return 1;
    }
    if (fx_kafka_flush(&kafka, 60000) != 0)
        return 1;
    double produce_s = (double)(ad_mono_ns() - t0) / 1e9;
    if (!fx_daemon_wait_metric(&d, "aiopsd_pipeline_events_total", (double)n, 300000) ||
        !fx_wait_until(drained, &d, 60000)) {
        fprintf(stderr, "bench_kafka: not every event arrived\n");
        fx_daemon_stop(&d, 10000);
        return 1;
    }
    double s = (double)(ad_mono_ns() - t0) / 1e9;
    printf("bench_kafka events=%ld partitions=%d seconds=%.3f events_per_s=%.0f "
           "checkpoints=%.0f commits=%.0f "
           "produce_events_per_s=%.0f\n",
           n, PARTS, s, (double)n / s, fx_daemon_metric(&d, "aiopsd_stream_checkpoints_total"),
           fx_daemon_metric(&d, "aiopsd_kafka_commits_total"), (double)n / produce_s);
    int rc = fx_daemon_stop(&d, 30000);
    fx_kafka_stop(&kafka);
    fx_redis_stop(&redis);
    return rc == 0 ? 0 : 1;
}
