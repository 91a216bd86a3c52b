/* tests/integration/test_daemon_faults.c: the delivery guarantees of the backbone under faults,
 * with the real aiopsd, a real redis-server and a real ZeroMQ PUSH socket feeding its PULL.
 *  - Redis killed with SIGKILL mid-stream and restarted on its append-only file: every candidate
 *    change reaches Redis exactly once (no loss, no duplicate stream or queue entry).
 *  - Redis down long enough to fill the output buffer: collectors pause (PULL stops reading, the
 *    sender queues), nothing is shed, and everything arrives once Redis is back.
 * The offline replay (aiopsctl replay) of the same events is the oracle for both. */
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
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

/* No idle ticks: event time moves only with events, as in the replay. */
#define DETERMINISTIC "daemon:\n  idle_tick: 1m\n"

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    void *zctx;
    void *push; /* closed by teardown, so a failed assertion cannot hang zmq_ctx_term */
    char events[64];
    char **lines;
    long n_events;
};

static const char *const AOF_ALWAYS[] = {"--appendonly", "yes", "--appendfsync", "always", NULL};

static int setup_world(void **state, const char *const *redis_args)
{
    struct world *w = calloc(1, sizeof(*w));
    w->redis.extra_args = redis_args;
    if (fx_redis_start(&w->redis) != 0)
        return -1;
    w->zctx = zmq_ctx_new();
    snprintf(w->events, sizeof(w->events), "/tmp/aiopsd-faults.XXXXXX");
    w->n_events = fx_storm_file(5, w->events, &w->lines);
    *state = w;
    return w->n_events > 1000 ? 0 : -1;
}

static int setup_aof(void **state) { return setup_world(state, AOF_ALWAYS); }
static int setup_plain(void **state) { return setup_world(state, NULL); }

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->daemon.pid > 0)
        fx_daemon_stop(&w->daemon, 10000);
    if (w->push)
        zmq_close(w->push);
    zmq_ctx_term(w->zctx);
    fx_redis_stop(&w->redis);
    fx_lines_free(w->lines);
    unlink(w->events);
    free(w);
    return 0;
}

static void *pusher(struct world *w)
{
    w->push = fx_daemon_pusher(&w->daemon, w->zctx);
    assert_non_null(w->push);
    return w->push;
}

static void push_range(void *s, char **lines, long from, long to)
{
    for (long i = from; i < to; i++)
        assert_int_equal(zmq_send(s, lines[i], strlen(lines[i]), 0), (int)strlen(lines[i]));
}

/* The replay's final state per candidate; *changes = number of candidate changes it emitted. */
static size_t oracle(struct world *w, struct fx_cand *out, size_t max, size_t *changes)
{
    long n = fx_replay_oracle(w->daemon.cfg, w->events, out, max, changes);
    assert_true(n >= 0);
    return (size_t)n;
}

static long long redis_int(redisContext *rc, const char *cmd, const char *key)
{
    redisReply *r = redisCommand(rc, cmd, key);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* Redis holds exactly the oracle: one stream entry and one queue entry per change, and the
 * final state and version of every candidate. */
static void assert_redis_is_oracle(struct world *w, const struct fx_cand *c, size_t n, size_t changes)
{
    redisContext *rc = fx_redis_connect(&w->redis);
    assert_non_null(rc);
    assert_int_equal(redis_int(rc, "XLEN %s", "aiopsd:candidates"), (long long)changes);
    assert_int_equal(redis_int(rc, "LLEN %s", "aiopsd:queue:incidents"), (long long)changes);
    for (size_t i = 0; i < n; i++) {
        redisReply *r = redisCommand(rc, "HMGET aiopsd:candidate:%s state version", c[i].id);
        assert_non_null(r);
        assert_int_equal(r->elements, 2);
        assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
        assert_string_equal(r->element[0]->str, c[i].state);
        assert_string_equal(r->element[1]->str, c[i].version);
        freeReplyObject(r);
    }
    /* Each queued change is distinct: no change was delivered twice. */
    redisReply *q = redisCommand(rc, "LRANGE aiopsd:queue:incidents 0 -1");
    assert_int_equal(q->elements, changes);
    for (size_t i = 0; i < q->elements; i++) {
        char id[32], ver[16];
        assert_true(fx_json_field(q->element[i]->str, "id", id, sizeof(id)));
        assert_true(fx_json_field(q->element[i]->str, "version", ver, sizeof(ver)));
        for (size_t j = i + 1; j < q->elements; j++) {
            char id2[32], ver2[16];
            fx_json_field(q->element[j]->str, "id", id2, sizeof(id2));
            fx_json_field(q->element[j]->str, "version", ver2, sizeof(ver2));
            assert_false(strcmp(id, id2) == 0 && strcmp(ver, ver2) == 0);
        }
    }
    freeReplyObject(q);
    redisFree(rc);
}

static void redis_killed_mid_stream_loses_and_duplicates_nothing(void **state)
{
    struct world *w = *state;
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "pull", DETERMINISTIC, true), 0);
    static struct fx_cand cands[4096];
    size_t changes;
    size_t n = oracle(w, cands, 4096, &changes);
    assert_true(n >= 10);

    void *push = pusher(w);
    long half = w->n_events / 2;
    push_range(push, w->lines, 0, half);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total", (double)half,
                                      30000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_redis_written_total", 1, 10000));
    fx_redis_kill(&w->redis); /* SIGKILL: whatever was in flight is unacknowledged */
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_connected", 0, 10000));
    push_range(push, w->lines, half, w->n_events);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total",
                                      (double)w->n_events, 30000));
    /* The second half's changes wait in the buffer until Redis is back (from its AOF). */
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_redis_buffer_depth") > 0);
    assert_int_equal(fx_redis_restart(&w->redis), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_redis_reconnects_total", 1, 10000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 20000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_inflight", 0, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_shed_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_redis_is_oracle(w, cands, n, changes);
}

static void a_full_buffer_pauses_the_collectors_and_nothing_is_shed(void **state)
{
    struct world *w = *state;
    /* 50 entries: the storm makes about four times as many changes. */
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "pull",
                                     "    max_buffer: 50\n" DETERMINISTIC, true),
                     0);
    static struct fx_cand cands[4096];
    size_t changes;
    size_t n = oracle(w, cands, 4096, &changes);
    assert_true(changes > 100);

    fx_redis_kill(&w->redis); /* nothing persisted: it comes back empty, as at the start */
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_connected", 0, 10000));
    void *push = pusher(w);
    push_range(push, w->lines, 0, w->n_events);
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_collectors_paused", 1, 20000));
    /* Paused means not reading: the intake stops short of the stream. */
    double taken = fx_daemon_metric(&w->daemon, "aiopsd_pipeline_events_total");
    assert_true(taken < (double)w->n_events);
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_redis_buffer_depth") >= 50);
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_redis_buffer_depth") < 100);

    assert_int_equal(fx_redis_restart(&w->redis), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total",
                                      (double)w->n_events, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 20000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_collectors_paused", 0, 10000));
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_backpressure_pauses_total") >= 1);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_shed_total"), 0);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_events_rejected_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_redis_is_oracle(w, cands, n, changes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(redis_killed_mid_stream_loses_and_duplicates_nothing,
                                        setup_aof, teardown),
        cmocka_unit_test_setup_teardown(a_full_buffer_pauses_the_collectors_and_nothing_is_shed,
                                        setup_plain, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
