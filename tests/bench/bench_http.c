/* tests/bench/bench_http.c: the HTTP collector end to end, clients -> aiopsd -> redis-server, and
 * the same alerts into Prometheus Alertmanager's own API for comparison.
 *   bench_http [alerts] [alerts_per_post] [clients]
 * Phase 1: POST /api/v1/alertmanager (webhook payloads of alerts_per_post alerts).
 * Phase 2: POST /api/v1/events (arrays of alerts_per_post events).
 * Phase 3: a real Prometheus Alertmanager (Debian's prometheus-alertmanager, or $ALERTMANAGER),
 * POST /api/v2/alerts with the same alerts in the same batches, and the ratio aiopsd /
 * Alertmanager.
 * Rates count from the first request until the last 2xx, for both. Keep-alive HTTP/1.1 connections, one per client thread. Prints figures; asserts
 * counts only. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/time.h"
#include "fx_alertmanager.h"
#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

enum api { API_WEBHOOK, API_EVENTS, API_AM_V2 };

struct job {
    int port;
    enum api api;
    long first, count, per_post; /* alerts [first, first + count) */
    uint64_t ok, refused, failed;
    char *body;
};

/* --- a minimal keep-alive client --------------------------------------------------------- */

/* Sends one POST and reads the response; returns the status, -1 on a broken connection. */
static int post(int fd, const char *path, const char *body, size_t len)
{
    char head[256], buf[16384];
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      path, len);
    if (fx_send_all(fd, head, (size_t)hl) < 0 || fx_send_all(fd, body, len) < 0)
        return -1;
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (!end && got == sizeof(buf) - 1)
            return -1;
    }
    int status = -1;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t body_len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t have = got - (size_t)(end + 4 - buf);
    while (have < body_len) { /* drain the body */
        ssize_t r = recv(fd, buf, body_len - have < sizeof(buf) ? body_len - have : sizeof(buf), 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return status;
}

/* --- payloads ------------------------------------------------------------------------------ */

/* Alert i: 1 in 20 hosts, 1 of 8 alert names, as a monitoring storm would give. */
static size_t alert_json(char *p, enum api api, long i)
{
    long host = i % 997, name = i % 8;
    if (api == API_EVENTS)
        return (size_t)sprintf(p,
                               "{\"source\":\"bench\",\"resource\":\"host-%ld\",\"service\":\"svc-%ld\","
                               "\"check\":\"Alert%ld\",\"severity\":\"critical\",\"summary\":\"load "
                               "%ld\",\"timestamp\":\"2026-11-24T15:30:00Z\"}",
                               host, host % 20, name, i);
    const char *extra = api == API_WEBHOOK ? ",\"status\":\"firing\",\"fingerprint\":\"f\"" : "";
    return (size_t)sprintf(p,
                           "{\"labels\":{\"alertname\":\"Alert%ld\",\"instance\":\"host-%ld\","
                           "\"job\":\"svc-%ld\",\"severity\":\"critical\"},\"annotations\":"
                           "{\"summary\":\"load %ld\"},\"startsAt\":\"2026-11-24T15:30:00Z\"%s}",
                           name, host, host % 20, i, extra);
}

static size_t batch(char *p, enum api api, long first, long n)
{
    size_t off = 0;
    if (api == API_WEBHOOK)
        off += (size_t)sprintf(p, "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"aiopsd\","
                                  "\"groupKey\":\"bench\",\"truncatedAlerts\":0,\"alerts\":[");
    else
        p[off++] = '[';
    for (long i = 0; i < n; i++) {
        if (i)
            p[off++] = ',';
        off += alert_json(p + off, api, first + i);
    }
    p[off++] = ']';
    if (api == API_WEBHOOK)
        p[off++] = '}';
    p[off] = '\0';
    return off;
}

static void *client(void *arg)
{
    struct job *j = arg;
    const char *path = j->api == API_WEBHOOK  ? "/api/v1/alertmanager"
                       : j->api == API_EVENTS ? "/api/v1/events"
                                              : "/api/v2/alerts";
    int fd = fx_connect(SOCK_STREAM, j->port);
    for (long at = j->first; at < j->first + j->count && fd >= 0;) {
        long n = j->per_post;
        if (at + n > j->first + j->count)
            n = j->first + j->count - at;
        size_t len = batch(j->body, j->api, at, n);
        int st = post(fd, path, j->body, len);
        if (st == 503) { /* backpressure: retry the same batch */
            j->refused++;
            continue;
        }
        if (st < 0) { /* the server closed the connection (HTTP/1.0 peer or error): reopen */
            close(fd);
            fd = fx_connect(SOCK_STREAM, j->port);
            j->failed++;
            if (j->failed > 1000)
                break;
            continue;
        }
        if (st / 100 == 2)
            j->ok += (uint64_t)n;
        else
            j->failed++;
        at += n;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Runs the clients; returns the elapsed ns and the alerts acknowledged. */
static int64_t run(int port, enum api api, long alerts, long per_post, int clients,
                   uint64_t *ret_ok)
{
    pthread_t th[16];
    struct job jobs[16];
    long share = alerts / clients;
    int64_t t0 = ad_mono_ns();
    for (int c = 0; c < clients; c++) {
        jobs[c] = (struct job){port, api, c * share, c == clients - 1 ? alerts - c * share : share,
                               per_post, 0, 0, 0, malloc((size_t)per_post * 512 + 512)};
        pthread_create(&th[c], NULL, client, &jobs[c]);
    }
    uint64_t ok = 0, refused = 0, failed = 0;
    for (int c = 0; c < clients; c++) {
        pthread_join(th[c], NULL);
        ok += jobs[c].ok;
        refused += jobs[c].refused;
        failed += jobs[c].failed;
        free(jobs[c].body);
    }
    int64_t dt = ad_mono_ns() - t0;
    if (refused || failed)
        fprintf(stderr, "bench_http: %" PRIu64 " requests answered 503 (retried), %" PRIu64
                        " failed\n", refused, failed);
    *ret_ok = ok;
    return dt;
}

static bool drained(void *ctx)
{
    struct fx_daemon *d = ctx;
    return fx_daemon_metric(d, "aiopsd_redis_buffer_depth") == 0 &&
           fx_daemon_metric(d, "aiopsd_redis_inflight") == 0;
}

int main(int argc, char **argv)
{
    long alerts = argc > 1 ? atol(argv[1]) : 200000;
    long per_post = argc > 2 ? atol(argv[2]) : 100;
    int clients = argc > 3 ? atoi(argv[3]) : 2;
    if (alerts <= 0 || per_post <= 0 || clients < 1 || clients > 16)
        return fprintf(stderr, "usage: bench_http [alerts] [alerts_per_post] [clients<=16]\n"), 2;
    signal(SIGPIPE, SIG_IGN);

    struct fx_redis redis = {0};
    struct fx_daemon d = {0};
    if (fx_redis_start(&redis) != 0)
        return 1;
    int http_port = fx_free_port();
    char coll[256];
    snprintf(coll, sizeof(coll), "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n",
             http_port);
    if (fx_daemon_start_with(&d, redis.port, "pull", coll, NULL, true) != 0)
        return 1;

    uint64_t ok;
    int64_t dt = run(http_port, API_WEBHOOK, alerts, per_post, clients, &ok);
    /* The rate is what the senders see (until the last 2xx), as for Alertmanager below; the
     * daemon then drains its Redis output before the next phase. */
    fx_wait_until(drained, &d, 60000);
    double webhook_rate = (double)ok / ((double)dt / 1e9);
    printf("bench_http: alertmanager webhook: %" PRIu64 " alerts in %.2f s = %.0f alerts/s "
           "(%ld per POST, %d clients)\n",
           ok, (double)dt / 1e9, webhook_rate, per_post, clients);
    if (ok != (uint64_t)alerts)
        return fprintf(stderr, "bench_http: only %" PRIu64 " of %ld alerts acknowledged\n", ok,
                       alerts),
               1;

    dt = run(http_port, API_EVENTS, alerts, per_post, clients, &ok);
    fx_wait_until(drained, &d, 60000);
    printf("bench_http: events API: %" PRIu64 " events in %.2f s = %.0f events/s\n", ok,
           (double)dt / 1e9, (double)ok / ((double)dt / 1e9));
    double accepted = fx_daemon_metric(&d, "aiopsd_events_accepted_total");
    fx_daemon_stop(&d, 20000);
    fx_redis_stop(&redis);
    if (accepted != 2.0 * (double)alerts)
        return fprintf(stderr, "bench_http: daemon accepted %.0f, sent %ld\n", accepted,
                       2 * alerts),
               1;

    const char *am_bin = fx_alertmanager_bin();
    if (!am_bin) {
        printf("bench_http: Alertmanager comparison skipped (apt-get install "
               "prometheus-alertmanager, or set ALERTMANAGER=/path/to/alertmanager)\n");
        return 0;
    }
    /* A receiver without integrations: Alertmanager stores, groups and dedups the alerts and
     * sends nothing, so only its ingestion is measured. */
    struct fx_alertmanager a;
    if (fx_alertmanager_start(&a, am_bin, NULL, NULL) != 0)
        return 1;
    dt = run(a.port, API_AM_V2, alerts, per_post, clients, &ok);
    fx_alertmanager_stop(&a);
    double am_rate = (double)ok / ((double)dt / 1e9);
    printf("bench_http: Alertmanager /api/v2/alerts: %" PRIu64 " alerts in %.2f s = %.0f alerts/s\n",
           ok, (double)dt / 1e9, am_rate);
    printf("bench_http: ratio aiopsd webhook / Alertmanager API = %.1fx\n", webhook_rate / am_rate);
    return ok == (uint64_t)alerts ? 0 : 1;
}
