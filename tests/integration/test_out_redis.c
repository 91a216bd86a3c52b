/* tests/integration/test_out_redis.c: the Redis output against a real redis-server that we start,
 * kill, pause and restart. The test drives its own event loop; every wait is a condition with a
 * deadline. Counts are exact: each entry must be present once, in submit order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/metrics.h"
#include "common/time.h"
#include "correlators/candidate.h"
#include "daemon/out_redis.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define WAIT_MS 15000
#define T0 INT64_C(1795510800000000000) /* 2026-11-24T09:00:00Z */

struct world {
    struct fx_redis redis;
    struct event_base *base;
    struct ad_out_redis *out;
    redisContext *rc;
    struct ad_redis_cfg cfg;
    char endpoint[340];
    char pwfile[340];
    int drain_calls;
    int done_calls;
    bool done_ok;
    /* for metric_reached */
    const char *series;
    double want;
};

/* --- fixtures ------------------------------------------------------------------------------- */

static void default_cfg(struct world *w)
{
    snprintf(w->endpoint, sizeof(w->endpoint), "127.0.0.1:%d", w->redis.port);
    w->cfg = (struct ad_redis_cfg){
        .endpoint = w->endpoint,
        .prefix = "aiopsd",
        .password_file = "",
        .db = 0,
        .max_buffer = 100000,
        .stream_maxlen = 100000,
        .deadletter_max = 10000,
        .connect_timeout_ns = 2 * AD_NS_PER_S,
        .reconnect_min_ns = 20 * AD_NS_PER_MS,
        .reconnect_max_ns = 200 * AD_NS_PER_MS,
        .state_ttl_ns = 7 * 86400 * AD_NS_PER_S,
    };
}

static int setup_with(void **state, const char *const *extra)
{
    struct world *w = calloc(1, sizeof(*w));
    *state = w;
    w->redis.extra_args = extra;
    if (fx_redis_start(&w->redis) != 0)
        return -1;
    w->rc = fx_redis_connect(&w->redis);
    w->base = event_base_new();
    default_cfg(w);
    return w->rc && w->base ? 0 : -1;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static const char *const AUTH_ARGS[] = {"--requirepass", "s3cret pass", NULL};

static int setup_auth(void **state)
{
    return setup_with(state, AUTH_ARGS);
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (!w)
        return 0;
    ad_out_redis_destroy(w->out);
    if (w->base)
        event_base_free(w->base);
    redisFree(w->rc);
    if (w->pwfile[0])
        unlink(w->pwfile);
    int rc = fx_redis_stop(&w->redis);
    free(w);
    return rc == 0 ? 0 : -1; /* the server must shut down cleanly */
}

static void on_drain(void *ctx)
{
    ((struct world *)ctx)->drain_calls++;
}

static void on_done(void *ctx, bool all_acked)
{
    struct world *w = ctx;
    w->done_calls++;
    w->done_ok = all_acked;
}

static void start_output(struct world *w)
{
    struct ad_err err = {0};
    assert_int_equal(ad_out_redis_create(&w->cfg, w->base, &w->out, &err), 0);
    ad_out_redis_on_drain(w->out, on_drain, w);
    assert_int_equal(ad_out_redis_start(w->out), 0);
}

/* --- conditions ----------------------------------------------------------------------------- */

static double metric(const struct ad_out_redis *o, const char *series)
{
    struct ad_buf b;
    struct ad_metrics m;
    ad_buf_init(&b);
    ad_metrics_init(&m, &b);
    ad_out_redis_stats(o, &m);
    double v = NAN;
    size_t n = strlen(series);
    for (const char *p = b.p; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        const char *eol = strchr(p, '\n');
        p = eol ? eol + 1 : NULL;
    }
    ad_buf_fini(&b);
    return v;
}

static bool is_empty(void *ctx)
{
    return ad_out_redis_depth(((struct world *)ctx)->out) == 0;
}

static bool is_connected(void *ctx)
{
    return ad_out_redis_is_connected(((struct world *)ctx)->out);
}

static bool metric_reached(void *ctx)
{
    struct world *w = ctx;
    return metric(w->out, w->series) >= w->want;
}

static bool drain_called(void *ctx)
{
    return ((struct world *)ctx)->drain_calls > 0;
}

static bool done_called(void *ctx)
{
    return ((struct world *)ctx)->done_calls > 0;
}

static void wait_metric(struct world *w, const char *series, double v)
{
    w->series = series;
    w->want = v;
    if (!fx_wait_loop(w->base, metric_reached, w, WAIT_MS))
        fail_msg("%s stayed at %g, wanted >= %g", series, metric(w->out, series), v);
}

static void wait_empty(struct world *w)
{
    if (!fx_wait_loop(w->base, is_empty, w, WAIT_MS))
        fail_msg("buffer still holds %zu entries", ad_out_redis_depth(w->out));
}

/* --- candidates ----------------------------------------------------------------------------- */

struct cand {
    struct ad_candidate c;
    struct ad_cand_member m;
    char service[32], ci[32], title[64], resource[32], check[32], reason[64];
};

/* Candidate i at a version; its fields vary with both so the hash must be overwritten. */
static void cand_init(struct cand *k, int i, uint32_t version, enum ad_cand_state st)
{
    memset(k, 0, sizeof(*k));
    snprintf(k->c.id, sizeof(k->c.id), "inc-%016x", (unsigned)i * 2654435761u);
    snprintf(k->service, sizeof(k->service), "svc-%d", i % 7);
    snprintf(k->ci, sizeof(k->ci), "host-%d", i);
    snprintf(k->title, sizeof(k->title), "disk full on host-%d (v%u) \"quoted\"", i, version);
    snprintf(k->resource, sizeof(k->resource), "host-%d", i);
    snprintf(k->check, sizeof(k->check), "disk_full");
    snprintf(k->reason, sizeof(k->reason), "joined because service svc-%d", i % 7);
    k->m = (struct ad_cand_member){.fingerprint = (uint64_t)i + 1,
                                   .resource = k->resource,
                                   .check = k->check,
                                   .severity = AD_SEV_MAJOR,
                                   .status = AD_STATUS_FIRING,
                                   .first_seen_ns = T0,
                                   .last_seen_ns = T0 + version * AD_NS_PER_S,
                                   .count = version};
    k->c.state = st;
    k->c.version = version;
    k->c.priority = 1 + i % 5;
    k->c.severity = AD_SEV_MAJOR;
    k->c.service = k->service;
    k->c.ci = k->ci;
    k->c.title = k->title;
    k->c.alert_count = version;
    k->c.alerts_firing = st == AD_CAND_RESOLVED ? 0 : 1;
    k->c.event_count = version * 3;
    k->c.first_seen_ns = T0;
    k->c.last_seen_ns = T0 + version * AD_NS_PER_S;
    k->c.updated_ns = T0 + version * AD_NS_PER_S;
    k->c.members = &k->m;
    k->c.n_members = 1;
    k->c.cap_members = 1;
    k->c.correlator = "test";
    k->c.reason = k->reason;
}

static int submit(struct world *w, int i, uint32_t version, enum ad_cand_state st)
{
    struct cand k;
    cand_init(&k, i, version, st);
    return ad_out_redis_submit_candidate(w->out, &k.c);
}

static enum ad_cand_state state_for(uint32_t v, uint32_t last, bool resolve)
{
    if (v == last && resolve)
        return AD_CAND_RESOLVED;
    return v == 1 ? AD_CAND_OPEN : AD_CAND_UPDATED;
}

struct sent {
    int i;
    uint32_t v;
};

static redisReply *cmd(redisContext *c, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    assert_non_null(r);
    return r;
}

static long long llen(redisContext *c, const char *key)
{
    const char *argv[] = {"LLEN", key};
    return fx_redis_int(c, 2, argv);
}

static long long xlen(redisContext *c)
{
    const char *argv[] = {"XLEN", "aiopsd:candidates"};
    return fx_redis_int(c, 2, argv);
}

static const char *field(const redisReply *kv, const char *name)
{
    for (size_t j = 0; j + 1 < kv->elements; j += 2)
        if (strcmp(kv->element[j]->str, name) == 0)
            return kv->element[j + 1]->str;
    return NULL;
}

/* The stream holds exactly `want`, in that order. */
static void assert_stream_is(redisContext *c, const struct sent *want, size_t n)
{
    const char *argv[] = {"XRANGE", "aiopsd:candidates", "-", "+"};
    redisReply *r = cmd(c, 4, argv);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, n);
    for (size_t k = 0; k < n; k++) {
        const redisReply *kv = r->element[k]->element[1];
        struct cand exp;
        cand_init(&exp, want[k].i, want[k].v, AD_CAND_OPEN);
        const char *id = field(kv, "id"), *ver = field(kv, "version");
        assert_non_null(id);
        assert_non_null(ver);
        if (strcmp(id, exp.c.id) != 0 || strtoul(ver, NULL, 10) != want[k].v)
            fail_msg("stream entry %zu is %s v%s, expected %s v%u", k, id, ver, exp.c.id,
                     want[k].v);
        assert_non_null(field(kv, "state"));
        assert_non_null(field(kv, "priority"));
        assert_non_null(field(kv, "json"));
    }
    freeReplyObject(r);
}

/* --- tests ---------------------------------------------------------------------------------- */

static void every_change_lands_once_in_stream_hash_and_queue(void **state)
{
    struct world *w = *state;
    start_output(w);
    /* Connected first, so entries are pipelined as they come; ~2000 changes exceed the 1024
     * commands the output keeps in flight, so sending must resume from the replies. */
    assert_true(fx_wait_loop(w->base, is_connected, w, WAIT_MS));
    enum { IDS = 1000 };
    static struct sent order[IDS * 3];
    size_t n = 0;
    /* id i has 1..3 versions; ids with three are resolved at the last. Versions interleave
     * across ids as a correlator would emit them. */
    for (uint32_t v = 1; v <= 3; v++)
        for (int i = 0; i < IDS; i++) {
            uint32_t last = 1 + (uint32_t)i % 3;
            if (v > last)
                continue;
            assert_int_equal(submit(w, i, v, state_for(v, last, last == 3)), 0);
            order[n++] = (struct sent){i, v};
        }
    assert_int_equal(metric(w->out, "aiopsd_redis_inflight"), 1024); /* the pipeline bound */
    assert_int_equal(ad_out_redis_depth(w->out), n);
    wait_empty(w);

    assert_int_equal(xlen(w->rc), n);
    assert_int_equal(llen(w->rc, "aiopsd:queue:incidents"), n);
    assert_stream_is(w->rc, order, n);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"candidate\"}"), n);
    assert_int_equal(metric(w->out, "aiopsd_redis_duplicates_skipped_total"), 0);
    assert_int_equal(metric(w->out, "aiopsd_redis_errors_total{type=\"dropped\"}"), 0);

    /* The hash holds the last version; its json is exactly what candidate.c writes. */
    for (int i = 0; i < IDS; i += 37) {
        uint32_t last = 1 + (uint32_t)i % 3;
        struct cand k;
        cand_init(&k, i, last, state_for(last, last, last == 3));
        struct ad_buf json;
        ad_buf_init(&json);
        assert_int_equal(ad_candidate_to_json(&k.c, &json), 0);
        char key[64];
        snprintf(key, sizeof(key), "aiopsd:candidate:%s", k.c.id);
        const char *argv[] = {"HGETALL", key};
        redisReply *r = cmd(w->rc, 2, argv);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 2 * 14);
        assert_string_equal(field(r, "id"), k.c.id);
        assert_int_equal(strtoul(field(r, "version"), NULL, 10), last);
        assert_string_equal(field(r, "state"), ad_cand_state_name(k.c.state));
        char prio[8];
        snprintf(prio, sizeof(prio), "P%d", k.c.priority);
        assert_string_equal(field(r, "priority"), prio);
        assert_int_equal(atoi(field(r, "priority_level")), k.c.priority);
        assert_string_equal(field(r, "severity"), "major");
        assert_string_equal(field(r, "service"), k.service);
        assert_string_equal(field(r, "ci"), k.ci);
        assert_string_equal(field(r, "title"), k.title);
        assert_int_equal(atoi(field(r, "alert_count")), last);
        assert_string_equal(field(r, "first_seen"), "2026-11-24T09:00:00.000Z");
        assert_string_equal(field(r, "json"), json.p);
        freeReplyObject(r);
        ad_buf_fini(&json);

        const char *ttl[] = {"TTL", key};
        long long t = fx_redis_int(w->rc, 2, ttl);
        if (last == 3)
            assert_true(t > 7 * 86400 - 60 && t <= 7 * 86400);
        else
            assert_int_equal(t, -1);
    }

    /* BRPOP consumers see the queue in submit order: the oldest is at the right end. */
    struct cand first;
    cand_init(&first, order[0].i, order[0].v, AD_CAND_OPEN);
    const char *argv[] = {"LINDEX", "aiopsd:queue:incidents", "-1"};
    redisReply *r = cmd(w->rc, 3, argv);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, first.c.id));
    assert_non_null(strstr(r->str, "\"version\":1,"));
    freeReplyObject(r);
}

static void resending_an_applied_version_changes_nothing(void **state)
{
    struct world *w = *state;
    start_output(w);
    for (int i = 0; i < 10; i++)
        assert_int_equal(submit(w, i, 2, AD_CAND_UPDATED), 0);
    wait_empty(w);
    assert_int_equal(xlen(w->rc), 10);

    /* The same (id, version) again, and an older version: what a resend after a lost reply, or
     * a late retry, looks like. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(submit(w, i, 2, AD_CAND_UPDATED), 0);
    assert_int_equal(submit(w, 3, 1, AD_CAND_OPEN), 0);
    wait_empty(w);
    assert_int_equal(xlen(w->rc), 10);
    assert_int_equal(llen(w->rc, "aiopsd:queue:incidents"), 10);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"candidate\"}"), 10);
    assert_int_equal(metric(w->out, "aiopsd_redis_duplicates_skipped_total"), 11);
}

/* Problems go to their own work queue, on the same stream and hashes. */
static void problems_go_to_the_problem_queue(void **state)
{
    struct world *w = *state;
    start_output(w);
    assert_int_equal(submit(w, 1, 1, AD_CAND_OPEN), 0);
    struct ad_cand_incident inc[3] = {{"inc-a", T0, T0 + AD_NS_PER_S, 2, 4},
                                      {"inc-b", T0 + 10 * AD_NS_PER_S, T0 + 11 * AD_NS_PER_S, 3, 1},
                                      {"inc-c", T0 + 20 * AD_NS_PER_S, T0 + 21 * AD_NS_PER_S, 1, 7}};
    struct ad_candidate p = {0};
    p.type = AD_CAND_PROBLEM;
    snprintf(p.id, sizeof(p.id), "prb-00000000000000ab");
    p.version = 1;
    p.priority = 1;
    char svc[] = "orders-db", ci[] = "db-1", title[] = "Recurring DBDown on db-1";
    char why[] = "3 incidents";
    p.service = svc;
    p.ci = ci;
    p.cause_ci = "db-1";
    p.cause_check = "DBDown";
    p.title = title;
    p.reason = why;
    p.incidents = inc;
    p.n_incidents = p.incidents_total = 3;
    p.period_ns = 86400 * AD_NS_PER_S;
    p.first_seen_ns = T0;
    p.last_seen_ns = p.updated_ns = T0 + 21 * AD_NS_PER_S;
    assert_int_equal(ad_out_redis_submit_candidate(w->out, &p), 0);
    wait_empty(w);
    assert_int_equal(llen(w->rc, "aiopsd:queue:incidents"), 1);
    assert_int_equal(llen(w->rc, "aiopsd:queue:problems"), 1);
    assert_int_equal(xlen(w->rc), 2);
    const char *argv[] = {"LINDEX", "aiopsd:queue:problems", "0"};
    redisReply *r = cmd(w->rc, 3, argv);
    assert_non_null(strstr(r->str, "\"type\":\"problem\""));
    assert_non_null(strstr(r->str, "\"cause\":{\"ci\":\"db-1\",\"check\":\"DBDown\"}"));
    assert_non_null(strstr(r->str, "{\"id\":\"inc-c\""));
    freeReplyObject(r);
}

static void outage_buffers_pauses_at_the_bound_and_delivers_once_after_restart(void **state)
{
    struct world *w = *state;
    w->cfg.max_buffer = 20;
    fx_redis_kill(&w->redis);
    start_output(w);
    assert_false(ad_out_redis_is_connected(w->out));

    struct sent order[40];
    for (int i = 0; i < 40; i++) {
        assert_int_equal(ad_out_redis_is_full(w->out), i >= 20);
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
        order[i] = (struct sent){i, 1};
    }
    assert_int_equal(ad_out_redis_depth(w->out), 40);
    assert_true(ad_out_redis_is_full(w->out));
    /* Past twice max_buffer the entry is shed and counted, candidates and dead letters alike. */
    assert_int_equal(submit(w, 99, 1, AD_CAND_OPEN), -ENOBUFS);
    assert_int_equal(ad_out_redis_submit_deadletter(w->out, "zmq", "x", 1, "bad", T0), -ENOBUFS);
    assert_int_equal(metric(w->out, "aiopsd_redis_shed_total{reason=\"bound\"}"), 2);
    assert_int_equal(ad_out_redis_depth(w->out), 40);

    /* Attempts go on while the server is down: counted, not connected. */
    wait_metric(w, "aiopsd_redis_reconnects_total", 3);
    assert_false(ad_out_redis_is_connected(w->out));
    assert_int_equal(metric(w->out, "aiopsd_redis_buffer_depth"), 40);
    assert_true(metric(w->out, "aiopsd_redis_buffer_bytes") > 40 * 100);
    assert_int_equal(w->drain_calls, 0);

    assert_int_equal(fx_redis_restart(&w->redis), 0);
    redisFree(w->rc);
    w->rc = fx_redis_connect(&w->redis);
    assert_non_null(w->rc);
    wait_empty(w);
    assert_true(fx_wait_loop(w->base, drain_called, w, WAIT_MS));
    fx_run_loop_for(w->base, 50);
    assert_int_equal(w->drain_calls, 1);
    assert_false(ad_out_redis_is_full(w->out));
    assert_true(ad_out_redis_is_connected(w->out));
    assert_stream_is(w->rc, order, 40);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"candidate\"}"), 40);
}

/* SIGSTOP holds replies back; SIGKILL then loses them. The output must resend exactly what was
 * never acknowledged (the restarted server is empty, so already acked entries must not reappear
 * and the unacknowledged ones must all arrive, in order). */
static void kill_between_send_and_reply_resends_only_unacknowledged(void **state)
{
    struct world *w = *state;
    start_output(w);
    for (int i = 0; i < 50; i++)
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
    wait_empty(w);
    assert_int_equal(xlen(w->rc), 50);

    assert_int_equal(fx_redis_signal(&w->redis, SIGSTOP), 0);
    struct sent order[75];
    size_t n = 0;
    for (int i = 50; i < 100; i++) {
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
        order[n++] = (struct sent){i, 1};
    }
    wait_metric(w, "aiopsd_redis_inflight", 50); /* all sent, none answered */
    fx_redis_kill(&w->redis);
    for (int i = 100; i < 125; i++) {
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
        order[n++] = (struct sent){i, 1};
    }
    assert_int_equal(ad_out_redis_depth(w->out), 75);

    assert_int_equal(fx_redis_restart(&w->redis), 0);
    redisFree(w->rc);
    w->rc = fx_redis_connect(&w->redis);
    assert_non_null(w->rc);
    wait_empty(w);
    assert_stream_is(w->rc, order, n);
    assert_int_equal(llen(w->rc, "aiopsd:queue:incidents"), 75);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"candidate\"}"), 125);
    assert_int_equal(metric(w->out, "aiopsd_redis_duplicates_skipped_total"), 0);
}

static void paused_server_delays_but_loses_and_duplicates_nothing(void **state)
{
    struct world *w = *state;
    start_output(w);
    assert_true(fx_wait_loop(w->base, is_connected, w, WAIT_MS));
    assert_int_equal(fx_redis_signal(&w->redis, SIGSTOP), 0);
    struct sent order[200];
    for (int i = 0; i < 200; i++) {
        assert_int_equal(submit(w, i % 50, 1 + (uint32_t)i / 50, AD_CAND_UPDATED), 0);
        order[i] = (struct sent){i % 50, 1 + (uint32_t)i / 50};
    }
    fx_run_loop_for(w->base, 100);
    assert_int_equal(ad_out_redis_depth(w->out), 200);
    assert_int_equal(fx_redis_signal(&w->redis, SIGCONT), 0);
    wait_empty(w);
    assert_stream_is(w->rc, order, 200);
    assert_int_equal(metric(w->out, "aiopsd_redis_duplicates_skipped_total"), 0);
}

static void deadletters_have_the_documented_shape_and_are_capped(void **state)
{
    struct world *w = *state;
    w->cfg.deadletter_max = 3;
    start_output(w);
    static char big[70000];
    memset(big, 'x', sizeof(big));
    const unsigned char bin[] = {0xff, 0x00, 'a', 0xc3};
    assert_int_equal(ad_out_redis_submit_deadletter(w->out, "zmq", "old", 3, "bad json", T0), 0);
    assert_int_equal(ad_out_redis_submit_deadletter(w->out, "http", big, sizeof(big), "too big",
                                                    T0 + AD_NS_PER_S),
                     0);
    const char *text = "{\"a\":\"é\"}\n\t";
    assert_int_equal(ad_out_redis_submit_deadletter(w->out, "zmq", text, strlen(text),
                                                    "unknown field 'a'", T0 + 1500 * AD_NS_PER_MS),
                     0);
    assert_int_equal(ad_out_redis_submit_deadletter(w->out, "kafka", bin, sizeof(bin), "not utf-8",
                                                    T0 + 2 * AD_NS_PER_S),
                     0);
    wait_empty(w);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"deadletter\"}"), 4);
    assert_int_equal(llen(w->rc, "aiopsd:deadletter"), 3); /* LTRIM to deadletter_max */

    const char *argv[] = {"LRANGE", "aiopsd:deadletter", "0", "-1"};
    redisReply *r = cmd(w->rc, 4, argv);
    assert_int_equal(r->elements, 3);
    /* Newest first (LPUSH). */
    assert_string_equal(
        r->element[0]->str,
        "{\"collector\":\"kafka\",\"reason\":\"not utf-8\","
        "\"received_at\":\"2026-11-24T09:00:02.000Z\",\"raw_base64\":\"/wBhww==\"}");
    assert_string_equal(r->element[1]->str,
                        "{\"collector\":\"zmq\",\"reason\":\"unknown field 'a'\","
                        "\"received_at\":\"2026-11-24T09:00:01.500Z\","
                        "\"raw\":\"{\\\"a\\\":\\\"é\\\"}\\n\\t\"}");
    const char *t = r->element[2]->str;
    assert_non_null(strstr(t, "{\"collector\":\"http\",\"reason\":\"too big\","
                              "\"received_at\":\"2026-11-24T09:00:01.000Z\",\"raw\":\"xxxx"));
    assert_non_null(strstr(t, "xxx\",\"raw_len\":70000,\"truncated\":true}"));
    assert_int_equal(strlen(t), strlen("{\"collector\":\"http\",\"reason\":\"too big\","
                                       "\"received_at\":\"2026-11-24T09:00:01.000Z\",\"raw\":\"") +
                                    65536 + strlen("\",\"raw_len\":70000,\"truncated\":true}"));
    freeReplyObject(r);
}

static void drain_flushes_then_reports_all_acked_once(void **state)
{
    struct world *w = *state;
    start_output(w);
    for (int i = 0; i < 100; i++)
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
    ad_out_redis_drain(w->out, 5 * AD_NS_PER_S, on_done, w);
    assert_int_equal(submit(w, 500, 1, AD_CAND_OPEN), -ESHUTDOWN);
    assert_true(fx_wait_loop(w->base, done_called, w, WAIT_MS));
    assert_true(w->done_ok);
    assert_int_equal(ad_out_redis_depth(w->out), 0);
    assert_int_equal(xlen(w->rc), 100);
    fx_run_loop_for(w->base, 50);
    assert_int_equal(w->done_calls, 1);
    assert_int_equal(metric(w->out, "aiopsd_redis_shed_total{reason=\"shutdown\"}"), 1);
}

static void drain_with_redis_down_reports_failure_at_the_timeout(void **state)
{
    struct world *w = *state;
    fx_redis_kill(&w->redis);
    start_output(w);
    for (int i = 0; i < 5; i++)
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
    int64_t t0 = fx_mono_ms();
    ad_out_redis_drain(w->out, 300 * AD_NS_PER_MS, on_done, w);
    assert_true(fx_wait_loop(w->base, done_called, w, WAIT_MS));
    assert_true(fx_mono_ms() - t0 >= 290);
    assert_false(w->done_ok);
    assert_int_equal(ad_out_redis_depth(w->out), 5);
    fx_run_loop_for(w->base, 50);
    assert_int_equal(w->done_calls, 1);
    assert_int_equal(fx_redis_restart(&w->redis), 0); /* teardown expects a server to stop */
}

static void drain_of_an_empty_output_reports_at_once(void **state)
{
    struct world *w = *state;
    start_output(w);
    ad_out_redis_drain(w->out, 10 * AD_NS_PER_S, on_done, w);
    int64_t t0 = fx_mono_ms();
    assert_true(fx_wait_loop(w->base, done_called, w, WAIT_MS));
    assert_true(fx_mono_ms() - t0 < 5000);
    assert_true(w->done_ok);
}

/* A listener that completes TCP handshakes but never answers: the connect timeout must cover
 * the Redis handshake too, and each abandoned attempt is counted and retried. */
static int silent_listener(int *port, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void connect_timeout_abandons_a_silent_server_and_retries(void **state)
{
    struct world *w = *state;
    int port;
    int lfd = silent_listener(&port, 64);
    snprintf(w->endpoint, sizeof(w->endpoint), "127.0.0.1:%d", port);
    w->cfg.connect_timeout_ns = 100 * AD_NS_PER_MS;
    w->cfg.reconnect_min_ns = 10 * AD_NS_PER_MS;
    w->cfg.reconnect_max_ns = 40 * AD_NS_PER_MS;
    start_output(w);
    assert_int_equal(submit(w, 1, 1, AD_CAND_OPEN), 0);
    wait_metric(w, "aiopsd_redis_connect_timeouts_total", 3);
    assert_false(ad_out_redis_is_connected(w->out));
    assert_true(metric(w->out, "aiopsd_redis_reconnects_total") >= 2);
    assert_true(metric(w->out, "aiopsd_redis_errors_total{type=\"connect\"}") >= 3);
    assert_int_equal(ad_out_redis_depth(w->out), 1);
    close(lfd);
}

struct acceptor {
    struct world *w;
    int fd;
    int n;
    int64_t at_ms[8];
};

static bool accepted_enough(void *ctx)
{
    struct acceptor *a = ctx;
    int c;
    while (a->n < 8 && (c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        a->at_ms[a->n++] = fx_mono_ms();
        close(c); /* hang up at once: every attempt fails after connecting */
    }
    return a->n == 8;
}

static void reconnect_delay_doubles_up_to_reconnect_max(void **state)
{
    struct world *w = *state;
    struct acceptor a = {.w = w};
    int port;
    a.fd = silent_listener(&port, 64);
    snprintf(w->endpoint, sizeof(w->endpoint), "127.0.0.1:%d", port);
    w->cfg.reconnect_min_ns = 20 * AD_NS_PER_MS;
    w->cfg.reconnect_max_ns = 160 * AD_NS_PER_MS;
    start_output(w);
    assert_true(fx_wait_loop(w->base, accepted_enough, &a, WAIT_MS));
    /* Expected delays 20, 40, 80, 160, 160, 160, 160 ms with +-10% jitter: the gaps can only be
     * longer than the delay, so lower bounds are exact and the cap is checked loosely. */
    const int expect[] = {20, 40, 80, 160, 160, 160, 160};
    for (int i = 0; i < 7; i++) {
        int64_t gap = a.at_ms[i + 1] - a.at_ms[i];
        if (gap < expect[i] * 9 / 10 - 1)
            fail_msg("gap %d was %lld ms, expected >= %d", i, (long long)gap, expect[i] * 9 / 10);
    }
    assert_true(a.at_ms[7] - a.at_ms[6] < 3 * 160);
    assert_int_equal(metric(w->out, "aiopsd_redis_reconnects_total"), 7);
    close(a.fd);
}

static void auth_and_select_come_from_the_config(void **state)
{
    struct world *w = *state;
    snprintf(w->pwfile, sizeof(w->pwfile), "%s/pw", w->redis.dir);
    FILE *f = fopen(w->pwfile, "w");
    assert_non_null(f);
    fputs("s3cret pass\n", f);
    fclose(f);
    w->cfg.password_file = w->pwfile;
    w->cfg.db = 3;
    start_output(w);
    assert_int_equal(submit(w, 7, 1, AD_CAND_OPEN), 0);
    wait_empty(w);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"candidate\"}"), 1);

    const char *auth[] = {"AUTH", "s3cret pass"};
    freeReplyObject(cmd(w->rc, 2, auth));
    const char *sel[] = {"SELECT", "3"};
    freeReplyObject(cmd(w->rc, 2, sel));
    assert_int_equal(xlen(w->rc), 1);
    const char *sel0[] = {"SELECT", "0"};
    freeReplyObject(cmd(w->rc, 2, sel0));
    assert_int_equal(xlen(w->rc), 0);
}

static void wrong_password_keeps_entries_and_counts_failures(void **state)
{
    struct world *w = *state;
    snprintf(w->pwfile, sizeof(w->pwfile), "%s/pw", w->redis.dir);
    FILE *f = fopen(w->pwfile, "w");
    assert_non_null(f);
    fputs("wrong\n", f);
    fclose(f);
    w->cfg.password_file = w->pwfile;
    start_output(w);
    assert_int_equal(submit(w, 7, 1, AD_CAND_OPEN), 0);
    wait_metric(w, "aiopsd_redis_errors_total{type=\"connect\"}", 2);
    assert_false(ad_out_redis_is_connected(w->out));
    assert_int_equal(ad_out_redis_depth(w->out), 1);
    assert_int_equal(metric(w->out, "aiopsd_redis_errors_total{type=\"dropped\"}"), 0);
}

static void unix_socket_endpoint_works(void **state)
{
    struct world *w = *state;
    snprintf(w->endpoint, sizeof(w->endpoint), "unix:%s", w->redis.sock);
    start_output(w);
    assert_int_equal(submit(w, 1, 1, AD_CAND_OPEN), 0);
    wait_empty(w);
    assert_int_equal(xlen(w->rc), 1);
}

static void an_entry_redis_rejects_is_dropped_and_the_queue_moves_on(void **state)
{
    struct world *w = *state;
    struct cand bad;
    cand_init(&bad, 2, 1, AD_CAND_OPEN);
    char key[64];
    snprintf(key, sizeof(key), "aiopsd:candidate:%s", bad.c.id);
    const char *set[] = {"SET", key, "not a hash"};
    freeReplyObject(cmd(w->rc, 3, set));
    start_output(w);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(submit(w, i, 1, AD_CAND_OPEN), 0);
    wait_empty(w);
    assert_int_equal(metric(w->out, "aiopsd_redis_errors_total{type=\"dropped\"}"), 1);
    assert_int_equal(metric(w->out, "aiopsd_redis_written_total{kind=\"candidate\"}"), 2);
    const struct sent order[] = {{1, 1}, {3, 1}};
    assert_stream_is(w->rc, order, 2);
}

static void a_flushed_script_cache_falls_back_to_eval(void **state)
{
    struct world *w = *state;
    start_output(w);
    assert_true(fx_wait_loop(w->base, is_connected, w, WAIT_MS));
    const char *flush[] = {"SCRIPT", "FLUSH"};
    freeReplyObject(cmd(w->rc, 2, flush));
    assert_int_equal(submit(w, 1, 1, AD_CAND_OPEN), 0);
    assert_int_equal(submit(w, 2, 1, AD_CAND_OPEN), 0);
    wait_empty(w);
    const struct sent order[] = {{1, 1}, {2, 1}};
    assert_stream_is(w->rc, order, 2);
    assert_int_equal(metric(w->out, "aiopsd_redis_errors_total{type=\"retried\"}"), 1);
    assert_int_equal(metric(w->out, "aiopsd_redis_errors_total{type=\"dropped\"}"), 0);
}

static void out_of_memory_is_retried_not_dropped(void **state)
{
    struct world *w = *state;
    start_output(w);
    assert_true(fx_wait_loop(w->base, is_connected, w, WAIT_MS));
    const char *oom[] = {"CONFIG", "SET", "maxmemory", "1"};
    freeReplyObject(cmd(w->rc, 4, oom));
    assert_int_equal(submit(w, 1, 1, AD_CAND_OPEN), 0);
    wait_metric(w, "aiopsd_redis_errors_total{type=\"retried\"}", 2);
    assert_int_equal(ad_out_redis_depth(w->out), 1);
    const char *ok[] = {"CONFIG", "SET", "maxmemory", "0"};
    freeReplyObject(cmd(w->rc, 4, ok));
    wait_empty(w);
    assert_int_equal(xlen(w->rc), 1);
    assert_int_equal(metric(w->out, "aiopsd_redis_errors_total{type=\"dropped\"}"), 0);
}

static void stats_name_every_documented_family(void **state)
{
    struct world *w = *state;
    start_output(w);
    assert_true(fx_wait_loop(w->base, is_connected, w, WAIT_MS));
    assert_int_equal(metric(w->out, "aiopsd_redis_connected"), 1);
    const char *series[] = {
        "aiopsd_redis_buffer_depth",
        "aiopsd_redis_buffer_bytes",
        "aiopsd_redis_written_total{kind=\"candidate\"}",
        "aiopsd_redis_written_total{kind=\"deadletter\"}",
        "aiopsd_redis_duplicates_skipped_total",
        "aiopsd_redis_errors_total{type=\"dropped\"}",
        "aiopsd_redis_reconnects_total",
        "aiopsd_redis_shed_total{reason=\"bound\"}",
        "aiopsd_redis_connect_timeouts_total",
    };
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
        if (metric(w->out, series[i]) != 0)
            fail_msg("%s is missing or not 0", series[i]);
}

static void bad_configs_are_refused_with_a_reason(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    struct ad_out_redis *o = NULL;
    w->cfg.endpoint = "127.0.0.1";
    assert_int_equal(ad_out_redis_create(&w->cfg, w->base, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "endpoint"));
    default_cfg(w);
    w->cfg.reconnect_max_ns = w->cfg.reconnect_min_ns - 1;
    assert_int_equal(ad_out_redis_create(&w->cfg, w->base, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "reconnect_max"));
    default_cfg(w);
    w->cfg.password_file = "/nonexistent/pw";
    assert_int_equal(ad_out_redis_create(&w->cfg, w->base, &o, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "password_file"));
    assert_null(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_change_lands_once_in_stream_hash_and_queue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(problems_go_to_the_problem_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(resending_an_applied_version_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            outage_buffers_pauses_at_the_bound_and_delivers_once_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(kill_between_send_and_reply_resends_only_unacknowledged,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(paused_server_delays_but_loses_and_duplicates_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(deadletters_have_the_documented_shape_and_are_capped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(drain_flushes_then_reports_all_acked_once, setup, teardown),
        cmocka_unit_test_setup_teardown(drain_with_redis_down_reports_failure_at_the_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(drain_of_an_empty_output_reports_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_timeout_abandons_a_silent_server_and_retries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reconnect_delay_doubles_up_to_reconnect_max, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(auth_and_select_come_from_the_config, setup_auth, teardown),
        cmocka_unit_test_setup_teardown(wrong_password_keeps_entries_and_counts_failures,
                                        setup_auth, teardown),
        cmocka_unit_test_setup_teardown(unix_socket_endpoint_works, setup, teardown),
        cmocka_unit_test_setup_teardown(an_entry_redis_rejects_is_dropped_and_the_queue_moves_on,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_flushed_script_cache_falls_back_to_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory_is_retried_not_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(stats_name_every_documented_family, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_configs_are_refused_with_a_reason, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
