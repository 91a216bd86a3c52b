/* tests/integration/test_daemon_e2e.c: the real aiopsd binary between real ZeroMQ sockets and a
 * real redis-server. The offline replay (aiopsctl) of the same events is the oracle: the daemon
 * must leave exactly the candidates, versions and states that the replay computes. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "fx_daemon.h"
#include "fx_redis.h"

/* No idle ticks during a test: event time moves only with events, as in the replay. */
static const char *const DETERMINISTIC = "daemon:\n  idle_tick: 1m\n";

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    redisContext *rc;
    void *zctx;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (fx_redis_start(&w->redis) != 0)
        return -1;
    w->rc = fx_redis_connect(&w->redis);
    w->zctx = zmq_ctx_new();
    *state = w;
    return w->rc ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->daemon.pid > 0)
        fx_daemon_stop(&w->daemon, 10000);
    redisFree(w->rc);
    zmq_ctx_term(w->zctx);
    fx_redis_stop(&w->redis);
    free(w);
    return 0;
}

/* Connects an XPUB to the daemon's SUB and waits for its subscription (no slow-joiner loss). */
static void *publisher(struct world *w)
{
    void *s = fx_daemon_publisher(&w->daemon, w->zctx, 0, 10000);
    assert_non_null(s);
    return s;
}

static void publish_lines(void *s, char **lines)
{
    for (char **l = lines; *l; l++)
        assert_int_equal(zmq_send(s, *l, strlen(*l), 0), (int)strlen(*l));
}

static long long reply_int(redisContext *rc, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(rc, fmt, arg);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* Runs aiopsctl replay with the daemon's own config; the final state of each candidate. */
static size_t replay(struct fx_daemon *d, const char *events, struct fx_cand *out, size_t max,
                     size_t *ret_changes)
{
    long n = fx_replay_oracle(d->cfg, events, out, max, ret_changes);
    assert_true(n >= 0);
    return (size_t)n;
}

static void assert_redis_matches(struct world *w, const struct fx_cand *cands, size_t n,
                                 size_t changes)
{
    assert_int_equal(reply_int(w->rc, "XLEN %s", "aiopsd:candidates"), (long long)changes);
    assert_int_equal(reply_int(w->rc, "LLEN %s", "aiopsd:queue:incidents"), (long long)changes);
    for (size_t i = 0; i < n; i++) {
        redisReply *r = redisCommand(w->rc, "HMGET aiopsd:candidate:%s state version alert_count",
                                     cands[i].id);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 3);
        for (int k = 0; k < 3; k++)
            assert_int_equal(r->element[k]->type, REDIS_REPLY_STRING);
        assert_string_equal(r->element[0]->str, cands[i].state);
        assert_string_equal(r->element[1]->str, cands[i].version);
        assert_string_equal(r->element[2]->str, cands[i].alert_count);
        freeReplyObject(r);
    }
    /* and nothing more than those */
    redisReply *keys = redisCommand(w->rc, "KEYS aiopsd:candidate:*");
    assert_int_equal(keys->elements, n);
    freeReplyObject(keys);
}

static void storm_over_zeromq_leaves_exactly_the_replayed_candidates(void **state)
{
    struct world *w = *state;
    char events[] = "/tmp/aiopsd-e2e-storm.XXXXXX";
    char **lines;
    long n_events = fx_storm_file(11, events, &lines);
    assert_true(n_events > 1000);

    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "sub", DETERMINISTIC, true), 0);
    static struct fx_cand cands[4096];
    size_t changes = 0;
    size_t n = replay(&w->daemon, events, cands, 4096, &changes);
    assert_true(n >= 10);            /* the storm has 12 incidents plus noise */
    assert_true(n < (size_t)n_events / 10); /* and far fewer candidates than events */

    void *pub = publisher(w);
    publish_lines(pub, lines);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total", (double)n_events,
                                      30000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_events_rejected_total"), 0);
    /* SIGTERM flushes the coalesced updates and drains the Redis buffer before exit 0. */
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_redis_matches(w, cands, n, changes);
    assert_int_equal(reply_int(w->rc, "LLEN %s", "aiopsd:deadletter"), 0);

    zmq_close(pub);
    fx_lines_free(lines);
    unlink(events);
}

static void malformed_messages_go_to_the_dead_letter_list_and_the_daemon_carries_on(void **state)
{
    struct world *w = *state;
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "sub", DETERMINISTIC, true), 0);
    void *pub = publisher(w);
    const char *bad[] = {
        "{not json",
        "{\"resource\":\"h\",\"check\":\"c\",\"bogus_field\":1}",
        "{\"resource\":\"h\"}",                      /* alert without check */
        "{\"resource\":\"h\xff\xfe\",\"check\":\"c\"}", /* invalid UTF-8 */
        "[1,2,3]",
        "",
    };
    const size_t n_bad = sizeof(bad) / sizeof(bad[0]);
    for (size_t i = 0; i < n_bad; i++)
        assert_int_equal(zmq_send(pub, bad[i], strlen(bad[i]), 0), (int)strlen(bad[i]));
    const char *good = "{\"resource\":\"db1\",\"service\":\"shop\",\"check\":\"DiskFull\","
                       "\"severity\":\"critical\",\"timestamp\":\"2026-11-24T09:00:00Z\"}";
    assert_int_equal(zmq_send(pub, good, strlen(good), 0), (int)strlen(good));

    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_events_rejected_total", (double)n_bad,
                                      10000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total", 1, 10000));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(reply_int(w->rc, "LLEN %s", "aiopsd:deadletter"), (long long)n_bad);
    redisReply *r = redisCommand(w->rc, "LRANGE aiopsd:deadletter 0 -1");
    size_t with_reason = 0;
    for (size_t i = 0; i < r->elements; i++)
        with_reason += strstr(r->element[i]->str, "\"reason\":\"") != NULL &&
                       strstr(r->element[i]->str, "\"collector\":\"zmq\"") != NULL;
    assert_int_equal(with_reason, n_bad);
    freeReplyObject(r);
    /* the good event still made its candidate */
    assert_int_equal(reply_int(w->rc, "XLEN %s", "aiopsd:candidates"), 1);
    zmq_close(pub);
}

static void sighup_with_a_bad_config_keeps_the_running_one(void **state)
{
    struct world *w = *state;
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "sub", DETERMINISTIC, true), 0);
    /* a config error: the daemon must log it and keep running on the old config */
    assert_int_equal(fx_daemon_write_config(&w->daemon, "sub", "models:\n  dedup:\n    windw: 5m\n"), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reload_failures_total", 1, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_config_reloads_total"), 0);
    char body[256];
    assert_int_equal(fx_http_get(w->daemon.admin_port, "/readyz", body, sizeof(body)), 200);
    /* the events still flow */
    void *pub = publisher(w);
    const char *ev = "{\"resource\":\"db1\",\"check\":\"DiskFull\",\"timestamp\":1795510800}";
    assert_int_equal(zmq_send(pub, ev, strlen(ev), 0), (int)strlen(ev));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total", 1, 10000));
    /* a good config reloads */
    assert_int_equal(fx_daemon_write_config(&w->daemon, "sub",
                                            "daemon:\n  idle_tick: 1m\nmodels:\n  dedup:\n    window: 1m\n"), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reloads_total", 1, 10000));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    zmq_close(pub);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The topology file is re-read on SIGHUP: a dependency added to it links alerts from then on;
 * a broken file is refused with file:line:column and the running graph kept. */
static void sighup_reloads_the_topology_file(void **state)
{
    struct world *w = *state;
    char topo[] = "/tmp/aiopsd-topo.XXXXXX";
    int fd = mkstemp(topo);
    assert_true(fd >= 0);
    close(fd);
    write_text(topo, "node db-1 service=orders-db\nnode app-1 service=orders\nnode web-1\n"
                     "app-1 -> db-1\n");
    char extra[512];
    snprintf(extra, sizeof(extra),
             "daemon:\n  idle_tick: 1m\ncorrelators:\n  service_window:\n"
             "    update_interval: 0s\n    topology_file: \"%s\"\n",
             topo);
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "sub", extra, true), 0);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_topology_cis"), 3);
    void *pub = publisher(w);
    const char *a = "{\"resource\":\"db-1\",\"service\":\"orders-db\",\"check\":\"DBDown\","
                    "\"timestamp\":1795510800}";
    const char *b = "{\"resource\":\"app-1\",\"service\":\"orders\",\"check\":\"Errors\","
                    "\"timestamp\":1795510801}";
    const char *c = "{\"resource\":\"web-1\",\"service\":\"web\",\"check\":\"Latency\","
                    "\"timestamp\":1795510802}";
    assert_int_equal(zmq_send(pub, a, strlen(a), 0), (int)strlen(a));
    assert_int_equal(zmq_send(pub, b, strlen(b), 0), (int)strlen(b));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_candidate_joins_total", 1, 10000));
    /* web-1 is in the graph but depends on nothing yet: add the edge, SIGHUP, then it joins. */
    write_text(topo, "node db-1 service=orders-db\nnode app-1 service=orders\nnode web-1\n"
                     "app-1 -> db-1\nweb-1 -> app-1\n");
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reloads_total", 1, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_topology_dependencies"), 2);
    assert_int_equal(zmq_send(pub, c, strlen(c), 0), (int)strlen(c));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_candidate_joins_total", 2, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_candidates_total{transition=\"opened\"}"),
                     1);
    /* A broken file: refused, the graph of two dependencies stays. */
    write_text(topo, "node db-1\nweb-1 -> db-1\n");
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reload_failures_total", 1, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_topology_dependencies"), 2);
    zmq_close(pub);
    /* The log names the file, line and column (read before stop: a clean stop removes it). */
    FILE *log = fopen(w->daemon.log, "r");
    bool named = false;
    char line[1024];
    while (log && fgets(line, sizeof(line), log))
        named = named || (strstr(line, topo) && strstr(line, ":2:1: unknown CI 'web-1'"));
    if (log)
        fclose(log);
    unlink(topo);
    assert_true(named);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void check_config_names_file_line_and_column(void **state)
{
    (void)state;
    char path[] = "/tmp/aiopsd-badcfg.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *yaml = "models:\n  dedup:\n    window: \"5 minutes\"\n";
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/aiopsd --check-config -c %s 2>&1", AD_BINARY_DIR, path);
    int status;
    char *out = fx_run_capture(cmd, &status);
    assert_int_equal(status, 1);
    char expect[300];
    snprintf(expect, sizeof(expect), "%s:3:13:", path);
    assert_non_null(strstr(out, expect));
    assert_non_null(strstr(out, "models.dedup.window"));
    free(out);
    snprintf(cmd, sizeof(cmd), "%s/aiopsd --check-config 2>&1", AD_BINARY_DIR);
    out = fx_run_capture(cmd, &status);
    assert_int_equal(status, 0);
    free(out);
    unlink(path);
}

/* The shipped example and reference are exactly what the option tables print: a new option,
 * default or doc string cannot land without them. */
static void shipped_config_example_and_reference_are_current(void **state)
{
    (void)state;
    const char *pairs[][2] = {{"--print-config-example", "config/aiopsd.yaml"},
                              {"--print-config-docs", "docs/config.md"}};
    for (size_t i = 0; i < 2; i++) {
        char cmd[512], path[512];
        snprintf(cmd, sizeof(cmd), "%s/aiopsd %s", AD_BINARY_DIR, pairs[i][0]);
        int status;
        char *printed = fx_run_capture(cmd, &status);
        assert_non_null(printed);
        assert_int_equal(status, 0);
        snprintf(path, sizeof(path), "cat %s/%s", AD_SOURCE_DIR, pairs[i][1]);
        char *shipped = fx_run_capture(path, &status);
        assert_non_null(shipped);
        if (strcmp(printed, shipped) != 0)
            fail_msg("%s is stale: regenerate it with `aiopsd %s > %s`", pairs[i][1], pairs[i][0],
                     pairs[i][1]);
        free(printed);
        free(shipped);
    }
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/aiopsd --check-config -c %s/config/aiopsd.yaml 2>&1",
             AD_BINARY_DIR, AD_SOURCE_DIR);
    int status;
    free(fx_run_capture(cmd, &status));
    assert_int_equal(status, 0);
}

/* Event time drives every window: the same events replayed twice give the same output, byte
 * for byte (ids, versions, timestamps): no wall clock leaks into the output. */
/* The real daemon with CURVE on: aiopsctl publish with a key in curve_clients_dir delivers its
 * events; with an unknown key, or without CURVE, it never even gets the daemon's subscription,
 * and the daemon counts the refused handshakes. Keys come from aiopsctl curve-keygen. */
static void curve_lets_only_allowed_publishers_inject(void **state)
{
    struct world *w = *state;
    char dir[] = "/tmp/aiopsd-e2e-curve.XXXXXX", coll[512], args[512], err[1024], cmd[128];
    int status;
    assert_non_null(mkdtemp(dir));
    const char *gen[] = {"curve-keygen server", "curve-keygen clients/alice",
                         "curve-keygen mallory"};
    snprintf(cmd, sizeof(cmd), "%s/clients", dir);
    assert_int_equal(mkdir(cmd, 0700), 0);
    for (size_t i = 0; i < 3; i++) {
        free(fx_ctl(dir, gen[i], &status, err, sizeof(err)));
        assert_int_equal(status, 0);
    }
    assert_int_equal(fx_write_file(dir, "events.jsonl",
                                   "{\"resource\":\"db-1\",\"check\":\"disk\"}\n"
                                   "{\"resource\":\"db-2\",\"check\":\"disk\"}\n"
                                   "{\"resource\":\"db-3\",\"check\":\"disk\"}\n"),
                     0);
    snprintf(coll, sizeof(coll),
             "    curve_secret_key_file: \"%s/server.key\"\n"
             "    curve_clients_dir: \"%s/clients\"\n",
             dir, dir);
    assert_int_equal(
        fx_daemon_start_with(&w->daemon, w->redis.port, "sub", coll, DETERMINISTIC, true), 0);

    const char *who[] = {"--curve-server-key server.pub --curve-client-key mallory.key", ""};
    for (size_t i = 0; i < 2; i++) {
        snprintf(args, sizeof(args),
                 "publish --endpoint tcp://127.0.0.1:%d --wait-subscriber 2 %s events.jsonl",
                 w->daemon.zmq_port, who[i]);
        free(fx_ctl(dir, args, &status, err, sizeof(err)));
        assert_int_equal(status, 1);
        assert_non_null(strstr(err, "no subscriber"));
    }
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_zmq_curve_denied_total", 1, 10000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_zmq_handshake_failed_total", 2, 10000));

    snprintf(args, sizeof(args),
             "publish --endpoint tcp://127.0.0.1:%d --curve-server-key server.pub "
             "--curve-client-key clients/alice.key events.jsonl",
             w->daemon.zmq_port);
    free(fx_ctl(dir, args, &status, err, sizeof(err)));
    assert_int_equal(status, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_events_accepted_total", 3, 10000));
    /* Exactly alice's three: none of the six the refused publishers queued. */
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_events_received_total") == 3);
    assert_int_equal(fx_daemon_stop(&w->daemon, 10000), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void replay_is_deterministic(void **state)
{
    (void)state;
    char events[] = "/tmp/aiopsd-det.XXXXXX";
    int fd = mkstemp(events);
    assert_true(fd >= 0);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/tests/ad_storm --seed 3 > %s 2>/dev/null", AD_BINARY_DIR,
             events);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/aiopsctl replay %s", AD_BINARY_DIR, events);
    int s1, s2;
    char *a = fx_run_capture(cmd, &s1);
    char *b = fx_run_capture(cmd, &s2);
    assert_int_equal(s1, 0);
    assert_int_equal(s2, 0);
    assert_true(strlen(a) > 1000);
    assert_string_equal(a, b);
    free(a);
    free(b);
    unlink(events);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(storm_over_zeromq_leaves_exactly_the_replayed_candidates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            malformed_messages_go_to_the_dead_letter_list_and_the_daemon_carries_on, setup,
            teardown),
        cmocka_unit_test_setup_teardown(sighup_with_a_bad_config_keeps_the_running_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sighup_reloads_the_topology_file, setup, teardown),
        cmocka_unit_test(check_config_names_file_line_and_column),
        cmocka_unit_test(shipped_config_example_and_reference_are_current),
        cmocka_unit_test(replay_is_deterministic),
        cmocka_unit_test_setup_teardown(curve_lets_only_allowed_publishers_inject, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
