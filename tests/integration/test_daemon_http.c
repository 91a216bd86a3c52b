/* tests/integration/test_daemon_http.c: the real aiopsd with its HTTP collector, a real
 * redis-server and HTTP over loopback.
 *  - An Alertmanager webhook becomes an incident candidate in Redis; a bad one is answered 400
 *    and dead-lettered with its reason.
 *  - Redis down: the output buffer fills, POSTs are answered 503 and nothing of them is taken;
 *    the sender retries, and in the end Redis holds exactly what the offline replay of all
 *    events gives (aiopsctl replay): nothing acknowledged was lost, nothing doubled.
 *  - A real Prometheus Alertmanager with aiopsd as its webhook receiver: an alert posted to
 *    Alertmanager arrives as an incident, and its resolution follows.
 *  - The memory budget (daemon.memory_limit): with Redis down, large dead letters over ZeroMQ
 *    push the resident set over the limit; the collectors pause (HTTP answers 503), Redis comes
 *    back, the buffer drains, memory falls below the low-water mark and the collectors resume;
 *    a sender retrying its 503s loses nothing. Skipped under valgrind, whose allocator never
 *    gives memory back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <zmq.h>
#include <openssl/ssl.h>

#include "fx_alertmanager.h"
#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_tls.h"
#include "fx_wait.h"

/* No idle ticks: event time moves only with events, as in the replay. */
#define DETERMINISTIC "daemon:\n  idle_tick: 1m\n"
#define BATCH 50
#define BIG 60000  /* bytes of one dead letter */
#define N_BIG 1500 /* ~90 MB of them: far over the budget */
#define BUDGET (32u << 20)

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    int http_port;
    char events[64];
    char **lines;
    long n_events;
    char *body;
    char reply[64 * 1024];
    void *zctx, *push;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w || fx_redis_start(&w->redis) != 0)
        return -1;
    snprintf(w->events, sizeof(w->events), "/tmp/aiopsd-http.XXXXXX");
    w->n_events = fx_storm_file(7, w->events, &w->lines);
    w->body = malloc(1 << 20);
    w->http_port = fx_free_port();
    *state = w;
    return w->n_events > 1000 && w->body && w->http_port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->push)
        zmq_close(w->push);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    fx_teardown(&w->daemon, &w->redis, w->lines);
    unlink(w->events);
    free(w->body);
    free(w);
    return 0;
}

static void start_daemon(struct world *w, const char *extra)
{
    char coll[256];
    snprintf(coll, sizeof(coll), "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n",
             w->http_port);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll, extra, true), 0);
}

static int post(struct world *w, const char *path, const char *body, size_t len)
{
    return fx_http_request(w->http_port, "POST", path, "Content-Type: application/json\r\n",
                           body, len, w->reply, sizeof(w->reply));
}

static const char am_payload[] =
    "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"DiskFull\\\"}\",\"status\":\"firing\","
    "\"receiver\":\"aiopsd\",\"groupLabels\":{},\"commonLabels\":{},\"commonAnnotations\":{},"
    "\"externalURL\":\"http://am:9093\",\"truncatedAlerts\":0,\"alerts\":["
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"DiskFull\",\"instance\":\"db-7\","
    "\"service\":\"orders-db\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"disk "
    "full\"},\"startsAt\":\"2026-11-24T15:30:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"\",\"fingerprint\":\"aa11bb22cc33dd44\"}]}";

static bool list_has(struct world *w, const char *key, const char *needle)
{
    redisContext *rc = fx_redis_connect(&w->redis);
    assert_non_null(rc);
    redisReply *r = redisCommand(rc, "LRANGE %s 0 -1", key);
    bool found = false;
    for (size_t i = 0; r && i < r->elements; i++)
        if (r->element[i]->str && strstr(r->element[i]->str, needle))
            found = true;
    freeReplyObject(r);
    redisFree(rc);
    return found;
}

struct list_wait {
    struct world *w;
    const char *key, *needle;
};

static bool list_has_cond(void *ctx)
{
    struct list_wait *l = ctx;
    return list_has(l->w, l->key, l->needle);
}

static void alertmanager_webhook_becomes_an_incident(void **state)
{
    struct world *w = *state;
    start_daemon(w, NULL);
    assert_int_equal(post(w, "/api/v1/alertmanager", am_payload, strlen(am_payload)), 200);
    assert_string_equal(w->reply, "{\"accepted\":1}\n");
    struct list_wait q = {w, "aiopsd:queue:incidents", "orders-db"};
    assert_true(fx_wait_until(list_has_cond, &q, 20000));
    assert_true(list_has(w, "aiopsd:queue:incidents", "DiskFull"));

    /* A payload Alertmanager would never send: 400 naming the problem, dead-lettered. */
    static const char bad[] = "{\"alerts\":[{\"labels\":{\"instance\":\"x\"}}]}";
    assert_int_equal(post(w, "/api/v1/alertmanager", bad, strlen(bad)), 400);
    assert_non_null(strstr(w->reply, "alerts[0]: missing label 'alertname'"));
    struct list_wait dl = {w, "aiopsd:deadletter", "missing label 'alertname'"};
    assert_true(fx_wait_until(list_has_cond, &dl, 20000));
    assert_true(list_has(w, "aiopsd:deadletter", "\"collector\":\"alertmanager\""));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_events_accepted_total"), 1);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_events_rejected_total"), 1);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_full_buffer_answers_503_and_acknowledged_events_are_never_lost(void **state)
{
    struct world *w = *state;
    start_daemon(w, "    max_buffer: 50\n" DETERMINISTIC);
    static struct fx_cand cands[4096];
    size_t changes;
    long n = fx_replay_oracle(w->daemon.cfg, w->events, cands, 4096, &changes);
    assert_true(n >= 10 && changes > 100);

    fx_redis_kill(&w->redis);
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_connected", 0, 10000));

    /* Send in order; a batch answered 503 is sent again until it is taken. Until Redis is
     * back the buffer fills and the daemon must refuse (503), never take part of a batch. */
    long sent = 0, refused = 0, restarted = 0;
    while (sent < w->n_events) {
        long to = sent + BATCH < w->n_events ? sent + BATCH : w->n_events;
        size_t len = fx_json_array(w->body, w->lines, sent, to);
        int code = post(w, "/api/v1/events", w->body, len);
        if (code == 200) {
            char want[64];
            snprintf(want, sizeof(want), "{\"accepted\":%ld}\n", to - sent);
            assert_string_equal(w->reply, want);
            sent = to;
            continue;
        }
        assert_int_equal(code, 503);
        assert_non_null(strstr(w->reply, "retry later"));
        refused++;
        if (!restarted) {
            /* Paused: everything taken so far is in the pipeline, nothing more is. */
            assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_collectors_paused"), 1);
            assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_pipeline_events_total"),
                             (double)sent);
            assert_int_equal(fx_redis_restart(&w->redis), 0);
            restarted = 1;
        }
        assert_true(refused < 100000); /* bounded: the buffer drains once Redis is back */
    }
    assert_true(restarted);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total",
                                      (double)w->n_events, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_shed_total"), 0);
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_backpressure_pauses_total") >= 1);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);

    long long xlen, llen;
    assert_int_equal(fx_redis_diff(&w->redis, cands, (size_t)n, &xlen, &llen), 0);
    assert_int_equal(xlen, (long long)changes);
    assert_int_equal(llen, (long long)changes);
}

static void iso_now(char *buf, size_t n, int offset_s)
{
    time_t t = time(NULL) + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void a_real_alertmanager_delivers_firing_and_resolved(void **state)
{
    struct world *w = *state;
    const char *bin = fx_alertmanager_bin();
    if (!bin) {
        fprintf(stderr, "prometheus-alertmanager is not installed (scripts/deps installs it)\n");
        skip();
    }
    start_daemon(w, NULL);
    char url[128], body[1024], starts[32], ends[32];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/alertmanager", w->http_port);
    struct fx_alertmanager am;
    assert_int_equal(fx_alertmanager_start(&am, bin, url, "100ms"), 0);

    iso_now(starts, sizeof(starts), -60);
    snprintf(body, sizeof(body),
             "[{\"labels\":{\"alertname\":\"DiskFull\",\"instance\":\"db-9\","
             "\"service\":\"billing\",\"severity\":\"critical\"},\"annotations\":"
             "{\"summary\":\"disk full on db-9\"},\"startsAt\":\"%s\"}]",
             starts);
    int code = fx_http_request(am.port, "POST", "/api/v2/alerts",
                               "Content-Type: application/json\r\n", body, strlen(body),
                               w->reply, sizeof(w->reply));
    assert_int_equal(code, 200);
    struct list_wait q = {w, "aiopsd:queue:incidents", "billing"};
    bool arrived = fx_wait_until(list_has_cond, &q, 30000);

    /* Resolved: endsAt in the past; Alertmanager sends it at the next group interval. */
    iso_now(ends, sizeof(ends), -1);
    snprintf(body, sizeof(body),
             "[{\"labels\":{\"alertname\":\"DiskFull\",\"instance\":\"db-9\","
             "\"service\":\"billing\",\"severity\":\"critical\"},\"annotations\":"
             "{\"summary\":\"disk full on db-9\"},\"startsAt\":\"%s\",\"endsAt\":\"%s\"}]",
             starts, ends);
    code = fx_http_request(am.port, "POST", "/api/v2/alerts", "Content-Type: application/json\r\n",
                           body, strlen(body), w->reply, sizeof(w->reply));
    bool resolved = code == 200 &&
                    fx_daemon_wait_metric(&w->daemon, "aiopsd_events_accepted_total", 2, 30000);
    fx_alertmanager_stop(&am);
    assert_true(arrived);
    assert_true(resolved);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_events_rejected_total"), 0);
    assert_true(list_has(w, "aiopsd:queue:incidents", "DiskFull"));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void over_the_budget_collectors_pause_and_resume_below_it_losing_nothing(void **state)
{
    struct world *w = *state;
    const char *wrapper = getenv("AD_DAEMON_WRAPPER");
    if (wrapper && strstr(wrapper, "valgrind")) {
        fprintf(stderr, "under valgrind memory is never given back: nothing could resume\n");
        skip();
    }
    w->zctx = zmq_ctx_new();
    char coll[256], extra[256];
    /* A small ZeroMQ queue: what libzmq holds is outside the budget's reach (docs/limits.md). */
    snprintf(coll, sizeof(coll),
             "    rcvhwm: 10\n  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n",
             w->http_port);
    /* Under AddressSanitizer freed memory sits in a quarantine and stays resident: for this
     * daemon only, let it give memory back as glibc's malloc_trim does (no effect otherwise). */
    const char *asan = getenv("ASAN_OPTIONS");
    char saved[1024], opts[1100];
    snprintf(saved, sizeof(saved), "%s", asan ? asan : "");
    snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0:allocator_release_to_os_interval_ms=10",
             saved, saved[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    int started = fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll,
                                       "    max_buffer: 1000000\n" DETERMINISTIC, true);
    if (asan)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    assert_int_equal(started, 0);
    static struct fx_cand cands[4096];
    size_t changes;
    long n = fx_replay_oracle(w->daemon.cfg, w->events, cands, 4096, &changes);
    assert_true(n >= 10 && changes > 100);

    /* The budget: what the daemon uses now plus 32 MiB, set by a reload. */
    double rss0 = fx_daemon_metric(&w->daemon, "aiopsd_memory_rss_bytes");
    assert_true(rss0 > 1e6);
    double limit = rss0 + BUDGET;
    snprintf(extra, sizeof(extra), "    max_buffer: 1000000\ndaemon:\n  idle_tick: 1m\n"
             "  memory_limit: %.0f\n", limit);
    assert_int_equal(fx_daemon_write_config(&w->daemon, "pull", extra), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reloads_total", 1, 10000));
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_memory_limit_bytes") == limit);

    fx_redis_kill(&w->redis);
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_connected", 0, 10000));
    /* Dead letters (an unknown field) of 60 kB: each waits in the output buffer. */
    w->push = fx_daemon_pusher(&w->daemon, w->zctx);
    assert_non_null(w->push);
    char *big = malloc(BIG + 64);
    int len = snprintf(big, BIG + 64, "{\"resource\":\"r\",\"junk\":\"%0*d\"}", BIG, 7);
    for (int i = 0; i < N_BIG; i++)
        assert_int_equal(zmq_send(w->push, big, (size_t)len, 0), len);
    free(big);
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_memory_paused", 1, 30000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_collectors_paused"), 1);
    char why[256];
    assert_int_equal(fx_http_get(w->daemon.admin_port, "/readyz", why, sizeof(why)), 503);
    assert_non_null(strstr(why, "memory_limit"));
    double rss = fx_daemon_metric(&w->daemon, "aiopsd_memory_rss_bytes");
    double taken = fx_daemon_metric(&w->daemon, "aiopsd_deadletters_total");
    fprintf(stderr, "paused at %.0f MiB (limit %.0f MiB) after %.0f of %d dead letters\n",
            rss / 1048576, limit / 1048576, taken, N_BIG);
    assert_true(taken < N_BIG); /* paused means not reading */
    assert_true(rss < limit + 8.0 * 1048576); /* bounded overshoot: checked per event */

    /* The HTTP sender, in order, retrying each 503 until it is taken. The first answers are
     * 503 (paused); Redis is then restarted, the buffer drains, memory falls, and the
     * collectors resume. */
    long sent = 0, refused = 0;
    bool restarted = false;
    while (sent < w->n_events) {
        long to = sent + BATCH < w->n_events ? sent + BATCH : w->n_events;
        size_t blen = fx_json_array(w->body, w->lines, sent, to);
        int code = post(w, "/api/v1/events", w->body, blen);
        if (code == 200) {
            assert_true(restarted); /* never taken while over the budget */
            sent = to;
            continue;
        }
        assert_int_equal(code, 503);
        refused++;
        if (!restarted) {
            assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_pipeline_events_total"), 0);
            assert_int_equal(fx_redis_restart(&w->redis), 0);
            restarted = true;
        }
        assert_true(refused < 1000000);
    }
    assert_true(refused >= 1);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_deadletters_total", N_BIG, 60000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total",
                                      (double)w->n_events, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_memory_paused", 0, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_collectors_paused", 0, 10000));
    assert_int_equal(fx_http_get(w->daemon.admin_port, "/readyz", why, sizeof(why)), 200);
    double pauses = fx_daemon_metric(&w->daemon, "aiopsd_memory_pauses_total");
    fprintf(stderr, "memory pauses %.0f, 503s %ld, rss now %.0f MiB, peak %.0f MiB\n", pauses,
            refused, fx_daemon_metric(&w->daemon, "aiopsd_memory_rss_bytes") / 1048576,
            fx_daemon_metric(&w->daemon, "aiopsd_memory_rss_peak_bytes") / 1048576);
    assert_true(pauses >= 1);
    /* Checked per event (at most every 5 ms), the intake overshoots little; draining adds the
     * copy of what is in flight to Redis (at most 16 MiB, docs/limits.md). */
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_memory_rss_peak_bytes") <
                limit + 24.0 * 1048576);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_shed_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);

    long long xlen, llen;
    assert_int_equal(fx_redis_diff(&w->redis, cands, (size_t)n, &xlen, &llen), 0);
    assert_int_equal(xlen, (long long)changes);
    assert_int_equal(llen, (long long)changes);
}

/* The real daemon with HTTPS on the collector: SIGHUP serves a renewed certificate to new
 * connections; a broken one is refused (logged, counted) and the renewed one kept. */
static void sighup_reloads_the_tls_certificate_and_keeps_it_when_broken(void **state)
{
    struct world *w = *state;
    struct fx_tls t;
    struct fx_https_response r;
    char coll[1024], cmd[512];
    assert_int_equal(fx_tls_make(&t), 0);
    snprintf(coll, sizeof(coll),
             "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n    tls:\n"
             "      cert_file: \"%s\"\n      key_file: \"%s\"\n",
             w->http_port, t.cert, t.key);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll, NULL, true), 0);
    struct event_base *base = event_base_new();
    SSL_CTX *client = fx_tls_client_ctx(t.ca, NULL, NULL);
    assert_non_null(base);
    assert_non_null(client);
    const char *ev = "{\"resource\":\"db-1\",\"check\":\"disk\"}";

    fx_https_request(base, client, w->http_port, "/api/v1/events", ev, &r, 10000);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.serial, "1001");

    assert_int_equal(fx_tls_server_cert(&t, "renewed", "aiopsd-test-2", 0x1002), 0);
    snprintf(cmd, sizeof(cmd), "cd '%s' && cp renewed.pem server.pem && cp renewed.key server.key",
             t.dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reloads_total", 1, 10000));
    fx_https_request(base, client, w->http_port, "/api/v1/events", ev, &r, 10000);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.subject, "/CN=aiopsd-test-2");
    assert_string_equal(r.serial, "1002");

    snprintf(cmd, sizeof(cmd), "echo garbage > '%s'", t.cert);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reloads_total", 2, 10000));
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_tls_reloads_total") == 2); /* ok + failed */
    fx_https_request(base, client, w->http_port, "/api/v1/events", ev, &r, 10000);
    assert_int_equal(r.code, 200);
    assert_string_equal(r.serial, "1002");
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_events_accepted_total") == 3);
    char *log = fx_run_capture((snprintf(cmd, sizeof(cmd), "cat '%s'", w->daemon.log), cmd), NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "collectors.http: new TLS certificate refused, keeping the running "
                                "one: collectors.http.tls.cert_file: cannot load"));
    free(log);
    SSL_CTX_free(client);
    event_base_free(base);
    assert_int_equal(fx_daemon_stop(&w->daemon, 10000), 0);
    fx_tls_remove(&t);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(alertmanager_webhook_becomes_an_incident, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_full_buffer_answers_503_and_acknowledged_events_are_never_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(
            over_the_budget_collectors_pause_and_resume_below_it_losing_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_real_alertmanager_delivers_firing_and_resolved, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sighup_reloads_the_tls_certificate_and_keeps_it_when_broken,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
