/* tests/bench/bench_e2e.c: the real daemon end to end, ZeroMQ PUSH -> aiopsd -> redis-server.
 * Phase 1: events/s for N events with a realistic duplicate ratio (time from the first send
 * until the daemon has processed all of them and its Redis buffer is empty).
 * Phase 2: latency from publishing a new alert to its candidate appearing on the Redis stream
 * (XREAD BLOCK in a second thread), p50/p99 over P probes at a steady rate.
 * Prints figures; asserts counts only. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "bench_gen.h"
#include "common/time.h"
#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define PROBES 2000

static int64_t sent_ns[PROBES], recv_ns[PROBES];
static int redis_port;
static volatile int stop_reader;

static void *reader(void *arg)
{
    (void)arg;
    redisContext *rc = redisConnect("127.0.0.1", redis_port);
    char last[64] = "$";
    int got = 0;
    while (!stop_reader && got < PROBES) {
        redisReply *r = redisCommand(rc, "XREAD COUNT 1000 BLOCK 200 STREAMS aiopsd:candidates %s", last);
        int64_t now = ad_mono_ns();
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                redisReply *e = entries->element[i];
                snprintf(last, sizeof(last), "%s", e->element[0]->str);
                redisReply *f = e->element[1];
                for (size_t k = 0; k + 1 < f->elements; k += 2) {
                    if (strcmp(f->element[k]->str, "json") != 0)
                        continue;
                    const char *p = strstr(f->element[k + 1]->str, "\"service\":\"probe-");
                    int idx;
                    if (p && sscanf(p, "\"service\":\"probe-%d\"", &idx) == 1 && idx >= 0 &&
                        idx < PROBES && recv_ns[idx] == 0) {
                        recv_ns[idx] = now;
                        got++;
                    }
                }
            }
        }
        freeReplyObject(r);
    }
    redisFree(rc);
    return NULL;
}

static bool buffer_empty(void *ctx)
{
    struct fx_daemon *d = ctx;
    return fx_daemon_metric(d, "aiopsd_redis_buffer_depth") == 0 &&
           fx_daemon_metric(d, "aiopsd_redis_inflight") == 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    struct fx_redis redis;
    struct fx_daemon d;
    if (fx_redis_start(&redis) != 0)
        return 1;
    redis_port = redis.port;
    if (fx_daemon_start(&d, redis.port, "pull", "daemon:\n  log_level: notice\n", true) != 0)
        return 1;

    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int hwm = 0, linger = 60000;
    zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", d.zmq_port);
    zmq_connect(push, ep);

    /* Phase 1: throughput. */
    struct bench_gen g = {.rng = 777, .services = 200, .hosts = 20, .resolve_every = 500,
                          .t0_ms = INT64_C(1795510800000)};
    char buf[512];
    int64_t t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        int len = bench_event(&g, (uint64_t)i, buf, sizeof(buf));
        zmq_send(push, buf, (size_t)len, 0);
    }
    int64_t t_sent = ad_mono_ns();
    if (!fx_daemon_wait_metric(&d, "aiopsd_pipeline_events_total", (double)n, 120000) ||
        !fx_wait_until(buffer_empty, &d, 60000))
        return 1;
    int64_t t_done = ad_mono_ns();
    double dups = fx_daemon_metric(&d, "aiopsd_pipeline_consumed_total");
    double cands = fx_daemon_metric(&d, "aiopsd_candidates_emitted_total");
    printf("bench_e2e phase=throughput events=%ld dup_ratio=%.3f candidate_changes=%.0f "
           "seconds=%.3f events_per_s=%.0f publish_events_per_s=%.0f\n",
           n, dups / (double)n, cands, (double)(t_done - t0) / 1e9,
           (double)n / ((double)(t_done - t0) / 1e9), (double)n / ((double)(t_sent - t0) / 1e9));

    /* Between the phases: the probes carry no timestamp, so event time jumps from phase 1's
     * synthetic clock to now, which emits every coalesced update pending from phase 1 at once.
     * One clock event makes that burst happen (and drain) before the probes are timed. */
    const char *clock_ev = "{\"resource\":\"clock\",\"check\":\"Clock\",\"severity\":\"info\"}";
    zmq_send(push, clock_ev, strlen(clock_ev), 0);
    if (!fx_daemon_wait_metric(&d, "aiopsd_pipeline_events_total", (double)n + 1, 60000) ||
        !fx_wait_until(buffer_empty, &d, 60000))
        return 1;

    /* Phase 2: latency, probes at 1000/s, each a new alert (own fingerprint) on its own service. */
    pthread_t th;
    pthread_create(&th, NULL, reader, NULL);
    struct timespec pause = {0, 50 * 1000000};
    nanosleep(&pause, NULL); /* let XREAD start on '$' (a missed probe only lowers the count) */
    for (int i = 0; i < PROBES; i++) {
        int len = snprintf(buf, sizeof(buf),
                           "{\"resource\":\"probe-host-%d\",\"service\":\"probe-%d\","
                           "\"check\":\"Probe\",\"severity\":\"critical\"}", i, i);
        sent_ns[i] = ad_mono_ns();
        zmq_send(push, buf, (size_t)len, 0);
        int64_t due = sent_ns[0] + (int64_t)(i + 1) * AD_NS_PER_MS;
        int64_t now = ad_mono_ns();
        if (due > now) {
            struct timespec ts = {0, (long)(due - now)};
            nanosleep(&ts, NULL);
        }
    }
    int64_t deadline = ad_mono_ns() + 20 * AD_NS_PER_S;
    int got = 0;
    while (ad_mono_ns() < deadline) {
        got = 0;
        for (int i = 0; i < PROBES; i++)
            got += recv_ns[i] != 0;
        if (got == PROBES)
            break;
        nanosleep(&pause, NULL);
    }
    stop_reader = 1;
    pthread_join(th, NULL);
    int64_t lat[PROBES];
    int m = 0;
    for (int i = 0; i < PROBES; i++)
        if (recv_ns[i])
            lat[m++] = recv_ns[i] - sent_ns[i];
    qsort(lat, (size_t)m, sizeof(lat[0]), cmp_i64);
    if (m == 0)
        return 1;
    printf("bench_e2e phase=latency probes=%d received=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
           PROBES, m, (double)lat[m / 2] / 1e6, (double)lat[(m * 99) / 100] / 1e6,
           (double)lat[m - 1] / 1e6);

    zmq_close(push);
    zmq_ctx_term(ctx);
    int rc = fx_daemon_stop(&d, 30000);
    fx_redis_stop(&redis);
    return rc == 0 && m == PROBES ? 0 : 1;
}
