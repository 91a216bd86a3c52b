/* tests/bench/bench_syslog.c: syslog over TCP -> aiopsd (real daemon) -> pipeline. First the pure
 * parser alone (ns per message over a mix of RFC 5424 with structured data and RFC 3164), then N
 * messages written over one TCP connection in 64 KiB writes, octet-counted or LF-framed, timed
 * from the first write until the daemon has accepted them all. Prints figures; asserts counts
 * only. Usage: bench_syslog [N] [lf|octet] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/syslog.h"
#include "common/time.h"
#include "fx_daemon.h"
#include "fx_redis.h"

#define PARSE_N 2000000

static int message(long i, char *buf, size_t n)
{
    if (i % 2)
        return snprintf(buf, n,
                        "<%ld>1 2026-11-24T09:%02ld:%02ld.%03ldZ web-%ld.prod checkout %ld ID%ld "
                        "[req@32473 id=\"%ld\" path=\"/api/v1/cart\"] upstream timed out after "
                        "%ld ms while reading response header",
                        8 + i % 8, i / 60 % 60, i % 60, i % 1000, i % 50, 1000 + i % 7, i % 9, i,
                        i % 5000);
    return snprintf(buf, n,
                    "<%ld>Nov 24 09:%02ld:%02ld db-%ld sshd[%ld]: Failed password for "
                    "invalid user admin from 10.0.%ld.%ld port %ld ssh2",
                    32 + i % 8, i / 60 % 60, i % 60, i % 20, 4000 + i % 100, i % 256, i % 251,
                    30000 + i % 30000);
}

static double parse_ns_per_msg(void)
{
    enum { VARIANTS = 1024 };
    static char msgs[VARIANTS][512];
    static int lens[VARIANTS];
    for (long i = 0; i < VARIANTS; i++)
        lens[i] = message(i, msgs[i], sizeof(msgs[i]));
    struct ad_arena arena;
    ad_arena_init(&arena, 64 * 1024);
    struct ad_syslog_map map = {
        .source = AD_STR_LIT("syslog"), .sd_labels = true, .max_len = 65536};
    struct ad_event ev;
    struct ad_err err;
    long ok = 0;
    int64_t now = ad_now_ns(), t0 = ad_mono_ns();
    for (long i = 0; i < PARSE_N; i++) {
        ok += ad_syslog_parse(msgs[i % VARIANTS], (size_t)lens[i % VARIANTS],
                              AD_STR_LIT("10.1.2.3"), now, &map, &arena, &ev, NULL, &err) == 0;
        if (i % VARIANTS == VARIANTS - 1)
            ad_arena_reset(&arena);
    }
    double ns = (double)(ad_mono_ns() - t0) / PARSE_N;
    ad_arena_fini(&arena);
    if (ok != PARSE_N) {
        fprintf(stderr, "bench_syslog: %ld of %d messages parsed\n", ok, PARSE_N);
        exit(1);
    }
    return ns;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    bool octet = !(argc > 2 && strcmp(argv[2], "lf") == 0);
    double parse_ns = parse_ns_per_msg();

    struct fx_redis redis;
    struct fx_daemon d;
    memset(&redis, 0, sizeof(redis));
    if (fx_redis_start(&redis) != 0)
        return 1;
    int port = fx_free_port();
    char coll[256];
    snprintf(coll, sizeof(coll),
             "  syslog:\n    enabled: true\n    udp_listen: \"\"\n    tcp_listen: 127.0.0.1:%d\n",
             port);
    if (fx_daemon_start_with(&d, redis.port, "sub", coll, "daemon:\n  log_level: notice\n", true) !=
        0)
        return 1;
    int fd = fx_connect(SOCK_STREAM, port);
    if (fd < 0)
        return 1;
    static char chunk[64 * 1024];
    size_t used = 0, bytes = 0;
    char msg[512];
    int64_t t0 = ad_mono_ns();
    for (long i = 0; i < n; i++) {
        int len = message(i, msg, sizeof(msg));
        if (used + (size_t)len + 16 > sizeof(chunk)) {
            if (fx_send_all(fd, chunk, used) < 0)
                return 1;
            bytes += used;
            used = 0;
        }
        if (octet)
            used += (size_t)snprintf(chunk + used, sizeof(chunk) - used, "%d %s", len, msg);
        else
            used += (size_t)snprintf(chunk + used, sizeof(chunk) - used, "%s\n", msg);
    }
    if (fx_send_all(fd, chunk, used) < 0)
        return 1;
    bytes += used;
    double write_s = (double)(ad_mono_ns() - t0) / 1e9;
    if (!fx_daemon_wait_metric(&d, "aiopsd_events_accepted_total", (double)n, 300000)) {
        fprintf(stderr, "bench_syslog: not every message arrived (%.0f of %ld)\n",
                fx_daemon_metric(&d, "aiopsd_events_accepted_total"), n);
        fx_daemon_stop(&d, 10000);
        return 1;
    }
    double s = (double)(ad_mono_ns() - t0) / 1e9;
    double rejected = fx_daemon_metric(&d, "aiopsd_events_rejected_total");
    printf("bench_syslog framing=%s events=%ld seconds=%.3f events_per_s=%.0f MB_per_s=%.1f "
           "rejected=%.0f write_s=%.3f parse_ns_per_msg=%.0f\n",
           octet ? "octet" : "lf", n, s, (double)n / s, (double)bytes / s / 1e6, rejected, write_s,
           parse_ns);
    close(fd);
    int rc = fx_daemon_stop(&d, 30000);
    fx_redis_stop(&redis);
    return rc == 0 && rejected == 0 ? 0 : 1;
}
