/* tests/integration/test_syslog_collector.c: the syslog collector against real UDP and TCP
 * sockets on 127.0.0.1, each test driving its own libevent loop (ports 0: the collector's
 * aiopsd_syslog_listen_port gauge tells where it listens). Then the real daemon end to end.
 * Counts are exact; waits are condition waits with deadlines (fx_wait_loop), never sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "collectors/collector.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/metrics.h"
#include "common/time.h"
#include "config/config.h"
#include "fx_collector.h"
#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_tls.h"
#include "fx_wait.h"

#define WAIT_MS 10000

struct rec {
    uint64_t emitted, rejects, batches;
    char last_summary[256], last_resource[64], last_service[64], last_reason[256];
    enum ad_severity last_sev;
    int64_t last_time_ns;
    bool pause_in_emit; /* pause like the daemon does when Redis is full */
    bool destroy_in_emit;
};

struct world {
    struct event_base *base;
    struct ad_collector_env env;
    const struct ad_collector_ops *ops;
    struct fx_collector_config cc;
    void *coll;
    int udp_port, tcp_port;
    int fds[8];
    int n_fds;
    struct rec rec;
    uint64_t want; /* target of the wait conditions */
    const char *metric;
};

/* --- env callbacks ---------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t n, struct ad_str s)
{
    snprintf(dst, n, "%.*s", (int)s.len, s.p);
}

static void on_emit(void *sink, struct ad_event *ev)
{
    struct world *w = sink;
    struct rec *r = &w->rec;
    r->emitted++;
    copy_str(r->last_summary, sizeof(r->last_summary), ev->summary);
    copy_str(r->last_resource, sizeof(r->last_resource), ev->resource);
    copy_str(r->last_service, sizeof(r->last_service), ev->service);
    r->last_sev = ev->severity;
    r->last_time_ns = ev->time_ns;
    assert_int_equal(ev->kind, AD_KIND_LOG);
    if (r->pause_in_emit)
        w->ops->pause(w->coll);
    if (r->destroy_in_emit) {
        w->ops->destroy(w->coll); /* from inside the collector's own callback */
        w->coll = NULL;
    }
}

static void on_reject(void *sink, const char *collector, const void *raw, size_t len,
                      const char *reason)
{
    struct world *w = sink;
    (void)raw;
    (void)len;
    assert_string_equal(collector, "syslog");
    w->rec.rejects++;
    snprintf(w->rec.last_reason, sizeof(w->rec.last_reason), "%s", reason);
}

static void on_batch_done(void *sink)
{
    struct world *w = sink;
    w->rec.batches++;
}

/* --- set-up ----------------------------------------------------------------------------------- */

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->base = event_base_new();
    w->env = (struct ad_collector_env){w->base, w, on_emit, on_reject, on_batch_done, NULL};
    w->ops = fx_collector_ops("syslog");
    *state = w;
    return w->base && w->ops ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->coll) {
        w->ops->stop(w->coll);
        w->ops->destroy(w->coll);
    }
    for (int i = 0; i < w->n_fds; i++)
        close(w->fds[i]);
    fx_collector_config_free(&w->cc);
    event_base_free(w->base);
    free(w);
    return 0;
}

/* The collector's own numbers, from its stats() output. */
static double metric(struct world *w, const char *sample)
{
    uint64_t v = fx_collector_metric(w->ops, w->coll, sample);
    if (v == UINT64_MAX)
        fail_msg("no series %s in stats", sample);
    return (double)v;
}

/* Creates and starts the collector with both listeners on kernel-picked ports plus opts. */
static void start(struct world *w, const char *opts)
{
    char yaml[2048];
    struct ad_err err = {0};
    snprintf(yaml, sizeof(yaml),
             "    enabled: true\n    udp_listen: 127.0.0.1:0\n    tcp_listen: 127.0.0.1:0\n%s",
             opts ? opts : "");
    const void *cfg = fx_collector_config_load(&w->cc, w->ops, yaml, &err);
    if (!cfg)
        fail_msg("config: %s", err.msg);
    int r = w->ops->create(cfg, &w->env, &w->coll, &err);
    if (r == 0)
        r = w->ops->start(w->coll, &err);
    if (r < 0)
        fail_msg("start: %s", err.msg);
    w->udp_port = (int)metric(w, "aiopsd_syslog_listen_port{proto=\"udp\"}");
    w->tcp_port = (int)metric(w, "aiopsd_syslog_listen_port{proto=\"tcp\"}");
    assert_true(w->udp_port > 0 && w->tcp_port > 0);
}

static int sock_to(struct world *w, int type, int port)
{
    int fd = fx_connect(type, port);
    assert_true(fd >= 0);
    assert_true(w->n_fds < 8);
    w->fds[w->n_fds++] = fd;
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(fx_send_all(fd, p, n), 0);
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

static bool emitted_reached(void *ctx)
{
    struct world *w = ctx;
    return w->rec.emitted >= w->want;
}

static bool rejects_reached(void *ctx)
{
    struct world *w = ctx;
    return w->rec.rejects >= w->want;
}

static bool metric_reached(void *ctx)
{
    struct world *w = ctx;
    return metric(w, w->metric) >= (double)w->want;
}

static bool metric_down_to(void *ctx)
{
    struct world *w = ctx;
    return metric(w, w->metric) <= (double)w->want;
}

static void wait_emitted(struct world *w, uint64_t n)
{
    w->want = n;
    if (!fx_wait_loop(w->base, emitted_reached, w, WAIT_MS))
        fail_msg("emitted %" PRIu64 ", want %" PRIu64, w->rec.emitted, n);
}

static void wait_rejects(struct world *w, uint64_t n)
{
    w->want = n;
    if (!fx_wait_loop(w->base, rejects_reached, w, WAIT_MS))
        fail_msg("rejected %" PRIu64 ", want %" PRIu64, w->rec.rejects, n);
}

static void wait_metric(struct world *w, const char *sample, uint64_t n)
{
    w->metric = sample;
    w->want = n;
    if (!fx_wait_loop(w->base, metric_reached, w, WAIT_MS))
        fail_msg("%s is %g, want %" PRIu64, sample, metric(w, sample), n);
}

#define BYTES "aiopsd_collector_bytes_total{collector=\"syslog\"}"

/* Whether the server closed fd: a read that says EOF (or reset). */
static bool closed_by_peer(void *ctx)
{
    int fd = *(int *)ctx;
    char b[64];
    ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

struct closed_ctx {
    struct world *w;
    int fd;
};

static bool closed_loop(void *ctx)
{
    struct closed_ctx *c = ctx;
    return closed_by_peer(&c->fd);
}

static void wait_closed(struct world *w, int fd)
{
    struct closed_ctx c = {w, fd};
    if (!fx_wait_loop(w->base, closed_loop, &c, WAIT_MS))
        fail_msg("connection not closed by the collector");
}

/* --- tests ------------------------------------------------------------------------------------ */

static void udp_datagram_arrives_as_log_event(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    int fd = sock_to(w, SOCK_DGRAM, w->udp_port);
    const char *m = "<11>1 2026-01-01T00:00:00Z web-7 checkout - - - disk full\n";
    send_all(fd, m, strlen(m));
    wait_emitted(w, 1);
    assert_string_equal(w->rec.last_summary, "disk full");
    assert_string_equal(w->rec.last_resource, "web-7");
    assert_string_equal(w->rec.last_service, "checkout");
    assert_int_equal(w->rec.last_sev, AD_SEV_MAJOR);
    assert_true(w->rec.last_time_ns == INT64_C(1767225600) * AD_NS_PER_S);
    /* A line without a host: the sender's address stands in. */
    send_str(fd, "<14>hello");
    wait_emitted(w, 2);
    assert_string_equal(w->rec.last_resource, "127.0.0.1");
    assert_true(w->rec.batches >= 2);
    assert_int_equal(metric(w, BYTES), (double)(strlen(m) + 9));
}

/* Both framings in one stream, written in pieces that split headers, lengths and CRLF, each
 * piece read by the collector before the next is written. */
static void tcp_mixed_framing_split_at_awkward_boundaries(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    char stream[512];
    const char *m2 = "<13>1 - h a - - - second", *m4 = "<13>1 - h a - - - multi\nline";
    snprintf(stream, sizeof(stream), "<13>first lf\n%zu %s<13>third crlf\r\n%zu %s\n<13>fifth\n",
             strlen(m2), m2, strlen(m4), m4); /* the LF after the 4th: an empty line, ignored */
    static const size_t cuts[] = {1, 2, 3, 5, 8, 13, 1, 1, 21, 2, 34};
    size_t len = strlen(stream), off = 0, i = 0;
    while (off < len) {
        size_t n = cuts[i++ % (sizeof(cuts) / sizeof(cuts[0]))];
        if (n > len - off)
            n = len - off;
        send_all(fd, stream + off, n);
        off += n;
        wait_metric(w, BYTES, off);
    }
    wait_emitted(w, 5);
    assert_int_equal(w->rec.emitted, 5);
    assert_int_equal(w->rec.rejects, 0);
    assert_string_equal(w->rec.last_summary, "fifth");
    assert_int_equal(metric(w, "aiopsd_syslog_messages_total{format=\"rfc5424\"}"), 2);
    assert_int_equal(metric(w, "aiopsd_syslog_messages_total{format=\"rfc3164\"}"), 3);
}

static void oversize_frames_are_rejected_and_skipped(void **state)
{
    struct world *w = *state;
    start(w, "    max_message_size: 1KiB\n");
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    size_t big = 100000;
    char *junk = malloc(big);
    assert_non_null(junk);
    memset(junk, 'x', big);
    /* Octet-counted: announced as 100000 bytes, skipped as they stream in. */
    char hdr[32];
    int hn = snprintf(hdr, sizeof(hdr), "%zu ", big);
    send_all(fd, hdr, (size_t)hn);
    send_all(fd, junk, big);
    const char *next = "20 <13>1 - h a - - - ok";
    send_all(fd, next, strlen(next));
    wait_emitted(w, 1);
    assert_int_equal(w->rec.rejects, 1);
    assert_non_null(strstr(w->rec.last_reason, "exceeds the limit of 1024 bytes"));
    assert_string_equal(w->rec.last_summary, "ok");
    /* LF-framed: discarded up to its LF. */
    send_all(fd, junk, big);
    send_str(fd, "\n<13>after lf\n");
    wait_emitted(w, 2);
    assert_int_equal(w->rec.rejects, 2);
    assert_string_equal(w->rec.last_summary, "after lf");
    assert_int_equal(metric(w, "aiopsd_syslog_frames_oversize_total{proto=\"tcp\"}"), 2);
    assert_int_equal(
        metric(w, "aiopsd_events_rejected_total{collector=\"syslog\",reason=\"too_large\"}"), 2);
    /* A datagram over the bound. */
    int u = sock_to(w, SOCK_DGRAM, w->udp_port);
    send_all(u, junk, 2000);
    wait_rejects(w, 3);
    assert_int_equal(metric(w, "aiopsd_syslog_frames_oversize_total{proto=\"udp\"}"), 1);
    free(junk);
}

static void binary_garbage_is_rejected_and_counted(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    static const char garbage[] = "\x01\x02\x00\xff\xfe\x7f\n<999>x\n\x80\x81\n<13>a\0b\n";
    send_all(fd, garbage, sizeof(garbage) - 1);
    send_str(fd, "<13>still fine\n");
    wait_emitted(w, 1);
    wait_rejects(w, 4);
    assert_int_equal(w->rec.rejects, 4);
    assert_string_equal(w->rec.last_summary, "still fine");
    int u = sock_to(w, SOCK_DGRAM, w->udp_port);
    send_all(u, "\x00\x00\x00", 3);
    wait_rejects(w, 5);
    assert_int_equal(metric(w, "aiopsd_events_received_total{collector=\"syslog\"}"), 6);
    assert_int_equal(metric(w, "aiopsd_events_accepted_total{collector=\"syslog\"}"), 1);
}

static void max_connections_is_enforced(void **state)
{
    struct world *w = *state;
    start(w, "    max_connections: 2\n");
    int a = sock_to(w, SOCK_STREAM, w->tcp_port);
    int b = sock_to(w, SOCK_STREAM, w->tcp_port);
    wait_metric(w, "aiopsd_syslog_connections", 2);
    int c = sock_to(w, SOCK_STREAM, w->tcp_port);
    wait_closed(w, c);
    assert_int_equal(metric(w, "aiopsd_syslog_connections_rejected_total"), 1);
    assert_int_equal(metric(w, "aiopsd_syslog_connections"), 2);
    send_str(a, "<13>from a\n");
    send_str(b, "<13>from b\n");
    wait_emitted(w, 2);
    /* A closed one frees its slot. */
    close(a);
    w->fds[0] = -1;
    w->metric = "aiopsd_syslog_connections";
    w->want = 1;
    assert_true(fx_wait_loop(w->base, metric_down_to, w, WAIT_MS));
    int d = sock_to(w, SOCK_STREAM, w->tcp_port);
    send_str(d, "<13>from d\n");
    wait_emitted(w, 3);
    assert_int_equal(metric(w, "aiopsd_syslog_connections_total"), 3);
}

static void slow_loris_is_closed_after_idle_timeout(void **state)
{
    struct world *w = *state;
    start(w, "    idle_timeout: 200ms\n");
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    send_str(fd, "<13>half a fra");
    wait_metric(w, BYTES, 14);
    int64_t t0 = fx_mono_ms();
    wait_closed(w, fd);
    assert_true(fx_mono_ms() - t0 >= 150); /* not before the timeout (timer granularity) */
    assert_int_equal(metric(w, "aiopsd_syslog_idle_timeouts_total"), 1);
    assert_int_equal(metric(w, "aiopsd_syslog_connections"), 0);
    assert_int_equal(w->rec.emitted, 0); /* half a frame is not a message */
}

/* A peer trickling one byte at a time resets the idle timer with each byte; the frame deadline
 * closes it anyway. The sender's pace is the test's input, not a synchronisation. */
static void trickling_slow_loris_is_closed_by_the_frame_deadline(void **state)
{
    struct world *w = *state;
    start(w, "    idle_timeout: 200ms\n");
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    send_str(fd, "<13>complete\n");
    wait_emitted(w, 1);
    int64_t t0 = fx_mono_ms();
    bool closed = false;
    for (int i = 0; i < 100 && !closed; i++) {
        closed = send(fd, "x", 1, MSG_NOSIGNAL) != 1;
        fx_run_loop_for(w->base, 40); /* < idle_timeout: the idle timer alone never fires */
        closed = closed || metric(w, "aiopsd_syslog_connections") == 0;
    }
    assert_true(closed);
    assert_true(fx_mono_ms() - t0 >= 150);
    assert_int_equal(metric(w, "aiopsd_syslog_slow_frames_total"), 1);
    assert_int_equal(metric(w, "aiopsd_syslog_idle_timeouts_total"), 0);
    assert_int_equal(w->rec.emitted, 1);
}

static void pause_stops_tcp_reading_and_resume_delivers(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    wait_metric(w, "aiopsd_syslog_connections", 1);
    w->ops->pause(w->coll);
    assert_int_equal(metric(w, "aiopsd_collector_paused{collector=\"syslog\"}"), 1);
    send_str(fd, "<13>one\n<13>two\n<13>three\n");
    fx_run_loop_for(w->base, 100); /* nothing may arrive while paused */
    assert_int_equal(w->rec.emitted, 0);
    assert_int_equal(metric(w, BYTES), 0);
    w->ops->resume(w->coll);
    wait_emitted(w, 3);
    assert_string_equal(w->rec.last_summary, "three");

    /* Paused from inside emit, with frames already buffered: they wait for resume. */
    w->rec.pause_in_emit = true;
    send_str(fd, "<13>a\n<13>b\n<13>c\n<13>d\n");
    wait_emitted(w, 4);
    fx_run_loop_for(w->base, 50);
    assert_int_equal(w->rec.emitted, 4);
    w->rec.pause_in_emit = false;
    w->ops->resume(w->coll);
    wait_emitted(w, 7);
    assert_string_equal(w->rec.last_summary, "d");
}

static void eof_ends_the_last_frame(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    send_str(fd, "<13>one\n<13>no final newline");
    shutdown(fd, SHUT_WR);
    wait_emitted(w, 2);
    assert_string_equal(w->rec.last_summary, "no final newline");
    wait_closed(w, fd);
    assert_int_equal(metric(w, "aiopsd_syslog_connections"), 0);
}

static void destroy_from_emit_is_safe(void **state)
{
    struct world *w = *state;
    start(w, NULL);
    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    w->rec.destroy_in_emit = true;
    send_str(fd, "<13>one\n<13>two\n");
    wait_emitted(w, 1);
    assert_null(w->coll);
    wait_closed(w, fd);
    assert_int_equal(w->rec.emitted, 1);
}

/* --- the real daemon -------------------------------------------------------------------------- */

static void daemon_takes_syslog_over_tcp_and_udp(void **state)
{
    (void)state;
    struct fx_redis redis = {0};
    struct fx_daemon d;
    char coll[256];
    assert_int_equal(fx_redis_start(&redis), 0);
    int tcp = fx_free_port(), udp = fx_free_port();
    snprintf(coll, sizeof(coll),
             "  syslog:\n    enabled: true\n    udp_listen: 127.0.0.1:%d\n"
             "    tcp_listen: 127.0.0.1:%d\n",
             udp, tcp);
    assert_int_equal(fx_daemon_start_with(&d, redis.port, "sub", coll, NULL, true), 0);
    assert_true(fx_daemon_metric(&d, "aiopsd_syslog_listen_port") == tcp + udp);

    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)tcp),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char buf[64 * 100];
    size_t off = 0;
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                                "<11>1 2026-01-01T00:00:%02dZ web-%d app - - - disk full %d\n",
                                i % 60, i % 5, i);
    send_all(fd, buf, off);
    send_str(fd, "\x01garbage\n");
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    sa.sin_port = htons((uint16_t)udp);
    assert_int_equal(sendto(u, "<14>udp hello", 13, 0, (struct sockaddr *)&sa, sizeof(sa)), 13);
    assert_true(fx_daemon_wait_metric(&d, "aiopsd_events_accepted_total", 101, WAIT_MS));
    assert_true(fx_daemon_wait_metric(&d, "aiopsd_events_rejected_total", 1, WAIT_MS));
    assert_true(fx_daemon_wait_metric(&d, "aiopsd_deadletters_total", 1, WAIT_MS));
    close(fd);
    close(u);
    assert_int_equal(fx_daemon_stop(&d, 20000), 0);
    assert_int_equal(fx_redis_stop(&redis), 0);
}

/* allowed_sources: loopback is outside 10.0.0.0/8, so both a datagram and a connection from
 * 127.0.0.1 are dropped and counted; allowing 127.0.0.0/8 lets them in. */
static void senders_outside_allowed_sources_are_dropped(void **state)
{
    (void)state;
    struct fx_redis redis = {0};
    struct fx_daemon d;
    char coll[320], b[16];
    assert_int_equal(fx_redis_start(&redis), 0);
    for (int allow_loopback = 0; allow_loopback < 2; allow_loopback++) {
        int tcp = fx_free_port(), udp = fx_free_port();
        snprintf(coll, sizeof(coll),
                 "  syslog:\n    enabled: true\n    udp_listen: 127.0.0.1:%d\n"
                 "    tcp_listen: 127.0.0.1:%d\n    allowed_sources: [10.0.0.0/8, \"fd00::/8\"%s]\n",
                 udp, tcp, allow_loopback ? ", 127.0.0.0/8" : "");
        assert_int_equal(fx_daemon_start_with(&d, redis.port, "sub", coll, NULL, true), 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)udp),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        assert_int_equal(sendto(u, "<14>udp hello", 13, 0, (struct sockaddr *)&sa, sizeof(sa)), 13);
        int fd = fx_connect(SOCK_STREAM, tcp);
        assert_true(fd >= 0);
        send_str(fd, "<11>1 2026-01-01T00:00:00Z web-1 app - - - disk full\n");
        if (allow_loopback) {
            assert_true(fx_daemon_wait_metric(&d, "aiopsd_events_accepted_total", 2, WAIT_MS));
            assert_int_equal(fx_daemon_metric(&d, "aiopsd_syslog_refused_sources_total"), 0);
        } else {
            assert_true(fx_daemon_wait_metric(&d, "aiopsd_syslog_refused_sources_total", 2,
                                              WAIT_MS));
            assert_true(recv(fd, b, sizeof(b), 0) <= 0); /* closed at once (FIN or reset) */
            assert_int_equal(fx_daemon_metric(&d, "aiopsd_events_received_total"), 0);
        }
        close(fd);
        close(u);
        assert_int_equal(fx_daemon_stop(&d, 20000), 0);
    }
    assert_int_equal(fx_redis_stop(&redis), 0);
}

/* A bad block is a config error with its file, line and column. */
static void a_bad_allowed_source_is_a_config_error_with_its_position(void **state)
{
    (void)state;
    char dir[] = "/tmp/aiopsd-allow.XXXXXX", cmd[512], out[1024];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(fx_write_file(dir, "a.yaml",
                                   "collectors:\n  syslog:\n    enabled: true\n"
                                   "    allowed_sources: [10.0.0.0/8, 10.1.2.3/8]\n"),
                     0);
    snprintf(cmd, sizeof(cmd), "%s/aiopsd --check-config -c %s/a.yaml 2>&1", AD_BINARY_DIR, dir);
    int status;
    char *o = fx_run_capture(cmd, &status);
    assert_non_null(o);
    snprintf(out, sizeof(out), "%s", o);
    free(o);
    snprintf(cmd, sizeof(cmd), "%s/a.yaml", dir);
    unlink(cmd);
    rmdir(dir);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "a.yaml:4:35: collectors.syslog.allowed_sources: expected an IP "
                                "address or CIDR block"));
    assert_non_null(strstr(out, "\"10.1.2.3/8\""));
}

/* --- syslog over TLS (RFC 5425) --------------------------------------------------------------- */

#define HS_FAILED "aiopsd_tls_handshakes_total{listener=\"syslog\",result=\"failed\"}"
#define HS_OK "aiopsd_tls_handshakes_total{listener=\"syslog\",result=\"ok\"}"

struct tls_world {
    struct fx_tls t;
    SSL_CTX *client; /* trusts the CA, no certificate */
    struct fx_tls_stream s;
};

static void tls_start(struct world *w, struct tls_world *tw, bool client_certs)
{
    char opts[1024];
    assert_int_equal(fx_tls_make(&tw->t), 0);
    int n = snprintf(opts, sizeof(opts),
                     "    tls:\n      cert_file: \"%s\"\n      key_file: \"%s\"\n", tw->t.cert,
                     tw->t.key);
    if (client_certs)
        snprintf(opts + n, sizeof(opts) - (size_t)n, "      client_ca_file: \"%s\"\n", tw->t.ca);
    start(w, opts);
    tw->client = fx_tls_client_ctx(tw->t.ca, NULL, NULL);
    assert_non_null(tw->client);
}

static void tls_end(struct tls_world *tw)
{
    fx_tls_stream_close(&tw->s);
    SSL_CTX_free(tw->client);
    fx_tls_remove(&tw->t);
}

/* Octet-counted frames of "<13>1 - h app - - - <text>". */
static void write_frame(struct bufferevent *bev, const char *text)
{
    char msg[256], frame[300];
    snprintf(msg, sizeof(msg), "<13>1 - h app - - - %s", text);
    int n = snprintf(frame, sizeof(frame), "%zu %s", strlen(msg), msg);
    assert_int_equal(bufferevent_write(bev, frame, (size_t)n), 0);
}

static bool stream_ended(void *ctx)
{
    return ((struct fx_tls_stream *)ctx)->ended;
}

static bool stream_connected(void *ctx)
{
    return ((struct fx_tls_stream *)ctx)->connected;
}

/* Octet-counted frames over TLS arrive; a plain TCP client to the TLS port delivers nothing and
 * is closed; an LF-framed frame over TLS is refused and the connection closed. */
static void tls_octet_counted_frames_arrive_and_plain_tcp_does_not(void **state)
{
    struct world *w = *state;
    struct tls_world tw;
    tls_start(w, &tw, false);
    assert_int_equal(fx_tls_stream_open(&tw.s, w->base, tw.client, w->tcp_port), 0);
    write_frame(tw.s.bev, "one");
    write_frame(tw.s.bev, "two");
    wait_emitted(w, 2);
    assert_true(tw.s.connected);
    assert_string_equal(tw.s.serial, "1001");
    assert_string_equal(w->rec.last_summary, "two");
    assert_int_equal(metric(w, HS_OK), 1);

    int fd = sock_to(w, SOCK_STREAM, w->tcp_port);
    send_str(fd, "32 <13>1 - h app - - - in clear!");
    wait_closed(w, fd);
    wait_metric(w, HS_FAILED, 1);
    assert_int_equal(w->rec.emitted, 2);
    assert_int_equal(w->rec.rejects, 0);

    assert_int_equal(bufferevent_write(tw.s.bev, "<13>lf framed\n", 14), 0);
    wait_rejects(w, 1);
    assert_true(fx_wait_loop(w->base, stream_ended, &tw.s, WAIT_MS));
    assert_string_equal(w->rec.last_reason,
                        "syslog over TLS needs octet-counting framing (RFC 5425)");
    assert_int_equal(metric(w, "aiopsd_syslog_tls_unframed_total"), 1);
    assert_int_equal(metric(w, "aiopsd_events_rejected_total{collector=\"syslog\","
                               "reason=\"malformed\"}"),
                     1);
    assert_int_equal(w->rec.emitted, 2);
    tls_end(&tw);
}

/* With client_ca_file: a client without a certificate delivers nothing; one with a certificate
 * from the CA does. reload() serves a renewed certificate to new connections. */
static void tls_client_certificates_and_reload(void **state)
{
    struct world *w = *state;
    struct tls_world tw;
    char cmd[512];
    tls_start(w, &tw, true);
    assert_int_equal(fx_tls_stream_open(&tw.s, w->base, tw.client, w->tcp_port), 0);
    write_frame(tw.s.bev, "no certificate");
    wait_metric(w, HS_FAILED, 1);
    assert_true(fx_wait_loop(w->base, stream_ended, &tw.s, WAIT_MS));
    fx_tls_stream_close(&tw.s);
    assert_int_equal(w->rec.emitted, 0);

    SSL_CTX *with = fx_tls_client_ctx(tw.t.ca, tw.t.client_cert, tw.t.client_key);
    assert_non_null(with);
    assert_int_equal(fx_tls_server_cert(&tw.t, "renewed", "aiopsd-test-2", 0x1002), 0);
    snprintf(cmd, sizeof(cmd), "cd '%s' && cp renewed.pem server.pem && cp renewed.key server.key",
             tw.t.dir);
    assert_int_equal(system(cmd), 0);
    w->ops->reload(w->coll);
    assert_int_equal(fx_tls_stream_open(&tw.s, w->base, with, w->tcp_port), 0);
    write_frame(tw.s.bev, "with certificate");
    wait_emitted(w, 1);
    assert_true(fx_wait_loop(w->base, stream_connected, &tw.s, WAIT_MS));
    assert_string_equal(tw.s.serial, "1002");
    assert_string_equal(w->rec.last_summary, "with certificate");
    SSL_CTX_free(with);
    tls_end(&tw);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(udp_datagram_arrives_as_log_event),
        T(tcp_mixed_framing_split_at_awkward_boundaries),
        T(oversize_frames_are_rejected_and_skipped),
        T(binary_garbage_is_rejected_and_counted),
        T(max_connections_is_enforced),
        T(slow_loris_is_closed_after_idle_timeout),
        T(trickling_slow_loris_is_closed_by_the_frame_deadline),
        T(pause_stops_tcp_reading_and_resume_delivers),
        T(eof_ends_the_last_frame),
        T(destroy_from_emit_is_safe),
        T(tls_octet_counted_frames_arrive_and_plain_tcp_does_not),
        T(tls_client_certificates_and_reload),
        cmocka_unit_test(daemon_takes_syslog_over_tcp_and_udp),
        cmocka_unit_test(senders_outside_allowed_sources_are_dropped),
        cmocka_unit_test(a_bad_allowed_source_is_a_config_error_with_its_position),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
