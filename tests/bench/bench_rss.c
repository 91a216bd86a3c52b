/* tests/bench/bench_rss.c: where the daemon's memory goes under a ZeroMQ SUB load with many new
 * series and templates (issue 15), loopback only and bounded (N events per run, default 300 000).
 * A PUB (default SNDHWM 1000, as publishers have) numbers its events (aiopsd-seq) and sends
 * them at RATE/s (default 50 000): alerts, metric samples and logs in turn, the alerts and
 * metrics over SERIES distinct series (default 1 000 000: nearly every one new), the logs over a
 * vocabulary that makes many templates. The daemon's resident set (VmRSS of its /proc entry) is
 * sampled every 50 ms and compared with what its metrics account for: the model and correlator
 * bytes and the Redis buffer. Each configuration runs on a fresh daemon:
 *   issue:   the defaults (rcvhwm 100000, no memory_limit)
 *   bounded: rcvhwm 10000 and daemon.memory_limit 128MiB
 * Prints one line per configuration: RSS peak and after the drain, accounted bytes, received,
 * lost (counted from the sequence gaps), memory pauses. Figures only: it asserts nothing but
 * that the daemon ran. Usage: bench_rss [N [RATE [SERIES]]]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "common/seqhdr.h"
#include "common/time.h"
#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static double accounted(struct fx_daemon *d)
{
    static const char *const names[] = {"aiopsd_dedup_bytes", "aiopsd_baseline_bytes",
                                        "aiopsd_correlator_bytes", "aiopsd_templates_bytes",
                                        "aiopsd_redis_buffer_bytes", NULL};
    double sum = 0;
    for (size_t i = 0; names[i]; i++)
        sum += fx_daemon_metric(d, names[i]);
    return sum;
}

/* Words for log messages: 26^2 x 10 combinations, so that messages form many templates. */
static void word(uint64_t x, char *out)
{
    out[0] = (char)('a' + x % 26);
    out[1] = (char)('a' + x / 26 % 26);
    out[2] = (char)('0' + x / 676 % 10);
    out[3] = '\0';
}

static uint64_t cardinality = 1000000; /* distinct series (alerts, metrics) */

/* Event i: an alert, a metric sample or a log line, in turn. */
static int event(uint64_t i, uint64_t rng, char *buf, size_t n)
{
    unsigned long long host = rng % 5000, svc = rng % 300, series = (rng >> 8) % cardinality;
    if (i % 3 == 0)
        return snprintf(buf, n,
                        "{\"resource\":\"host%llu\",\"service\":\"svc%llu\",\"check\":\"chk%llu\","
                        "\"severity\":\"warning\",\"summary\":\"value above threshold\"}",
                        host, svc, series);
    if (i % 3 == 1)
        return snprintf(buf, n,
                        "{\"kind\":\"metric\",\"resource\":\"host%llu\",\"service\":\"svc%llu\","
                        "\"check\":\"m%llu\",\"value\":%llu.5}",
                        host, svc, series, (unsigned long long)(rng % 1000));
    char a[4], b[4], c[4];
    word(rng, a);
    word(rng >> 16, b);
    word(rng >> 32, c);
    return snprintf(buf, n,
                    "{\"kind\":\"log\",\"resource\":\"host%llu\",\"service\":\"svc%llu\","
                    "\"message\":\"%s %s %s worker %llu failed after %llu ms\"}",
                    host, svc, a, b, c, (unsigned long long)(i % 977),
                    (unsigned long long)(rng % 10000));
}

static void run(const char *name, const char *zmq_extra, const char *extra, long n, double rate)
{
    struct fx_redis redis = {0};
    struct fx_daemon d = {0};
    if (fx_redis_start(&redis) != 0)
        exit(1);
    if (fx_daemon_start_with(&d, redis.port, "sub", zmq_extra, extra, true) != 0)
        exit(1);
    void *ctx = zmq_ctx_new();
    void *pub = fx_daemon_publisher(&d, ctx, 1000, 0);
    if (!pub)
        exit(1);
    long rss0 = rss_kib(d.pid), peak = rss0;
    double acc_at_peak = accounted(&d);
    char buf[512], hdr[128];
    uint64_t rng = 88172645463325252ULL;
    int64_t t0 = ad_mono_ns(), next_sample = t0;
    for (long i = 0; i < n; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int len = event((uint64_t)i, rng, buf, sizeof(buf));
        int hl = ad_seq_format(hdr, sizeof(hdr), "bench", (uint64_t)i + 1);
        zmq_send(pub, hdr, (size_t)hl, ZMQ_SNDMORE);
        zmq_send(pub, buf, (size_t)len, 0);
        if (i % 500 == 499) {
            int64_t due = t0 + (int64_t)((double)(i + 1) * 1e9 / rate), now = ad_mono_ns();
            if (due > now) {
                struct timespec ts = {0, (long)(due - now)};
                nanosleep(&ts, NULL);
            }
            if (ad_mono_ns() >= next_sample) {
                long r = rss_kib(d.pid);
                if (r > peak) {
                    peak = r;
                    acc_at_peak = accounted(&d);
                }
                next_sample = ad_mono_ns() + 50000000;
            }
        }
    }
    double secs = (double)(ad_mono_ns() - t0) / 1e9;
    /* One more numbered message after the queues drain shows the gap at the end. */
    fx_daemon_wait_metric_eq(&d, "aiopsd_redis_buffer_depth", 0, 120000);
    int hl = ad_seq_format(hdr, sizeof(hdr), "bench", (uint64_t)n + 1);
    int len = event(0, rng, buf, sizeof(buf));
    zmq_send(pub, hdr, (size_t)hl, ZMQ_SNDMORE);
    zmq_send(pub, buf, (size_t)len, 0);
    double got = 0, gaps = 0;
    for (int k = 0; k < 3000; k++) {
        got = fx_daemon_metric(&d, "aiopsd_events_received_total");
        gaps = fx_daemon_metric(&d, "aiopsd_zmq_sequence_gaps_total");
        if (got + gaps >= (double)n + 1)
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    fx_daemon_wait_metric_eq(&d, "aiopsd_redis_buffer_depth", 0, 120000);
    long after = rss_kib(d.pid);
    double acc_after = accounted(&d);
    char parts[256] = "";
    static const char *const names[] = {"dedup", "baseline", "correlator", "templates",
                                        "redis_buffer", NULL};
    for (size_t i = 0, off = 0; names[i]; i++) {
        char metric[64];
        snprintf(metric, sizeof(metric), "aiopsd_%s_bytes", names[i]);
        off += (size_t)snprintf(parts + off, sizeof(parts) - off, "%s%s=%.1f", i ? "," : "",
                                names[i], fx_daemon_metric(&d, metric) / 1048576);
    }
    printf("bench_rss %-8s events=%ld rate=%.0f/s sent_in=%.1fs rss_start=%.0fMiB "
           "rss_peak=%.0fMiB accounted_at_peak=%.0fMiB rss_after_drain=%.0fMiB "
           "accounted_after=%.0fMiB received=%.0f lost_counted=%.0f (%.1f%%) memory_pauses=%.0f "
           "templates=%.0f dedup_fingerprints=%.0f baseline_series=%.0f accounted_MiB[%s]\n",
           name, n, rate, secs, rss0 / 1024.0, peak / 1024.0, acc_at_peak / 1048576,
           after / 1024.0, acc_after / 1048576, got, gaps, 100.0 * gaps / ((double)n + 1),
           fx_daemon_metric(&d, "aiopsd_memory_pauses_total"),
           fx_daemon_metric(&d, "aiopsd_templates"),
           fx_daemon_metric(&d, "aiopsd_dedup_fingerprints"),
           fx_daemon_metric(&d, "aiopsd_baseline_series"), parts);
    fflush(stdout);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    fx_daemon_stop(&d, 30000);
    fx_redis_stop(&redis);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 300000;
    double rate = argc > 2 ? atof(argv[2]) : 50000;
    if (argc > 3)
        cardinality = strtoull(argv[3], NULL, 10);
    if (n <= 0 || n > 5000000 || rate <= 0 || cardinality == 0) {
        fprintf(stderr, "usage: bench_rss [N (1..5000000) [RATE [SERIES]]]\n");
        return 2;
    }
    run("issue", NULL, "daemon:\n  log_level: notice\n", n, rate);
    run("bounded", "    rcvhwm: 10000\n",
        "daemon:\n  log_level: notice\n  memory_limit: 128MiB\n", n, rate);
    return 0;
}
