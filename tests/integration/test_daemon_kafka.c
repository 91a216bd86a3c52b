/* tests/integration/test_daemon_kafka.c: the Kafka collector at least once, with the real aiopsd
 * binary, a real Kafka protocol peer (librdkafka's mock cluster in the ad_kafka_mock tool) and a
 * real redis-server. The oracle is the offline replay of each partition's events (aiopsctl
 * replay): a partition is one ordered stream with its own state, so the union of the replays is
 * what Redis must hold — every candidate change exactly once, whatever was killed on the way. */
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

#include "common/hash.h"
#include "fx_daemon.h"
#include "fx_kafka.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define TOPIC "aiopsd-events"
#define PARTS 4
#define MAX_CANDS 4096

/* No idle ticks (event time moves with events only, as in the replay); checkpoints often. */
static const char *const EXTRA = "daemon:\n  idle_tick: 1m\n";

struct world {
    struct fx_redis redis;
    struct fx_kafka kafka;
    struct fx_daemon a, b;
    char **lines;
    long n_events;
    int32_t *part_of;
    char files[PARTS][64];
    struct fx_cand cands[MAX_CANDS];
    size_t n_cands, changes;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    *state = w;
    if (fx_redis_start(&w->redis) != 0 || fx_kafka_start(&w->kafka, 3, TOPIC, PARTS) != 0)
        return -1;
    char path[] = "/tmp/aiopsd-kafka-storm.XXXXXX";
    w->n_events = fx_storm_file(9, path, &w->lines);
    unlink(path);
    if (w->n_events < 1000)
        return -1;
    /* Keyed by service, as docs/collector-kafka.md recommends: one service, one partition. */
    w->part_of = calloc((size_t)w->n_events, sizeof(*w->part_of));
    FILE *f[PARTS];
    for (int p = 0; p < PARTS; p++) {
        snprintf(w->files[p], sizeof(w->files[p]), "/tmp/aiopsd-kafka-p%d.XXXXXX", p);
        int fd = mkstemp(w->files[p]);
        f[p] = fdopen(fd, "w");
    }
    for (long i = 0; i < w->n_events; i++) {
        char svc[128] = "";
        fx_json_field(w->lines[i], "service", svc, sizeof(svc));
        w->part_of[i] = (int32_t)(ad_hash64(svc, strlen(svc), 0) % PARTS);
        fprintf(f[w->part_of[i]], "%s\n", w->lines[i]);
    }
    for (int p = 0; p < PARTS; p++)
        fclose(f[p]);
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->a.pid > 0)
        fx_daemon_stop(&w->a, 10000);
    if (w->b.pid > 0)
        fx_daemon_stop(&w->b, 10000);
    fx_kafka_stop(&w->kafka);
    fx_redis_stop(&w->redis);
    for (int p = 0; p < PARTS; p++)
        if (w->files[p][0])
            unlink(w->files[p]);
    fx_lines_free(w->lines);
    free(w->part_of);
    free(w);
    return 0;
}

static int start(struct world *w, struct fx_daemon *d)
{
    char coll[2048];
    snprintf(coll, sizeof(coll),
             "  kafka:\n    enabled: true\n    brokers: \"%s\"\n    topics: [\"%s\"]\n"
             "    group_id: aiopsd-test\n    checkpoint_interval: 50ms\n"
             "    properties: [\"session.timeout.ms=6000\", \"heartbeat.interval.ms=500\"]\n",
             w->kafka.bootstrap, TOPIC);
    return fx_daemon_start_with(d, w->redis.port, "sub", coll, EXTRA, true);
}

/* The union of the per-partition replays, with the daemon's own config file. */
static void oracle(struct world *w, const char *cfg)
{
    w->n_cands = w->changes = 0;
    for (int p = 0; p < PARTS; p++) {
        size_t changes;
        long n = fx_replay_oracle(cfg, w->files[p], w->cands + w->n_cands,
                                  MAX_CANDS - w->n_cands, &changes);
        assert_true(n >= 0);
        w->n_cands += (size_t)n;
        w->changes += changes;
    }
    assert_true(w->n_cands >= 10);
}

static void produce(struct world *w, long from, long to)
{
    for (long i = from; i < to; i++)
        assert_int_equal(fx_kafka_produce(&w->kafka, TOPIC, w->part_of[i], NULL, w->lines[i],
                                          strlen(w->lines[i])),
                         0);
    assert_int_equal(fx_kafka_flush(&w->kafka, 10000), 0);
}

/* True when Redis holds exactly the oracle: every candidate at its final state and version, and
 * one stream entry per change (none lost, none twice). */
static bool redis_is_oracle(void *ctx)
{
    struct world *w = ctx;
    redisContext *rc = fx_redis_connect(&w->redis);
    if (!rc)
        return false;
    bool ok = true;
    redisReply *r = redisCommand(rc, "XLEN aiopsd:candidates");
    ok = r && r->type == REDIS_REPLY_INTEGER && r->integer == (long long)w->changes;
    freeReplyObject(r);
    for (size_t i = 0; ok && i < w->n_cands; i++) {
        r = redisCommand(rc, "HMGET aiopsd:candidate:%s state version", w->cands[i].id);
        ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, w->cands[i].state) == 0 &&
             strcmp(r->element[1]->str, w->cands[i].version) == 0;
        freeReplyObject(r);
    }
    redisFree(rc);
    return ok;
}

static void print_difference(struct world *w)
{
    redisContext *rc = fx_redis_connect(&w->redis);
    redisReply *r = redisCommand(rc, "XLEN aiopsd:candidates");
    fprintf(stderr, "stream entries %lld, expected %zu\n", r ? r->integer : -1LL, w->changes);
    freeReplyObject(r);
    for (size_t i = 0; i < w->n_cands; i++) {
        r = redisCommand(rc, "HMGET aiopsd:candidate:%s state version", w->cands[i].id);
        if (r->element[0]->type != REDIS_REPLY_STRING ||
            strcmp(r->element[1]->str, w->cands[i].version) != 0)
            fprintf(stderr, "%s: redis %s v%s, expected %s v%s\n", w->cands[i].id,
                    r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str : "-",
                    r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "-",
                    w->cands[i].state, w->cands[i].version);
        freeReplyObject(r);
    }
    redisFree(rc);
}

static void assert_eventually_oracle(struct world *w)
{
    if (!fx_wait_until(redis_is_oracle, w, 60000)) {
        print_difference(w);
        fail_msg("Redis does not hold exactly the per-partition replay");
    }
}

static void all_partitions_end_up_in_redis_exactly_once(void **state)
{
    struct world *w = *state;
    assert_int_equal(start(w, &w->a), 0);
    oracle(w, w->a.cfg);
    produce(w, 0, w->n_events);
    assert_eventually_oracle(w);
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_kafka_commits_total", 1, 10000));
    assert_int_equal(fx_daemon_metric(&w->a, "aiopsd_events_rejected_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->a, 20000), 0);
    /* Every partition that had events left a checkpoint. */
    bool used[PARTS] = {false};
    size_t n_used = 0;
    for (long i = 0; i < w->n_events; i++)
        if (!used[w->part_of[i]]) {
            used[w->part_of[i]] = true;
            n_used++;
        }
    assert_true(n_used >= 2);
    redisContext *rc = fx_redis_connect(&w->redis);
    redisReply *r = redisCommand(rc, "KEYS aiopsd:state:kafka:aiopsd-test:*");
    assert_int_equal(r->elements, n_used);
    freeReplyObject(r);
    redisFree(rc);
}

static void kill_9_and_restart_loses_and_duplicates_nothing(void **state)
{
    struct world *w = *state;
    assert_int_equal(start(w, &w->a), 0);
    oracle(w, w->a.cfg);
    long half = w->n_events / 2;
    produce(w, 0, half);
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_pipeline_events_total", (double)half / 2,
                                      30000));
    /* At least one checkpoint stored (its offsets committed), so the restart restores state. */
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_kafka_commits_total", 1, 30000));
    produce(w, half, w->n_events);
    /* Mid-stream: some events handled, some checkpointed, some only fetched. */
    assert_int_equal(fx_daemon_kill(&w->a, SIGKILL), 0);
    fx_daemon_stop(&w->a, 10000);
    assert_int_equal(start(w, &w->b), 0);
    assert_eventually_oracle(w);
    assert_true(fx_daemon_metric(&w->b, "aiopsd_stream_restored_total") >= 1);
    assert_int_equal(fx_daemon_stop(&w->b, 20000), 0);
}

static void survivor_takes_over_the_partitions_of_a_killed_peer(void **state)
{
    struct world *w = *state;
    assert_int_equal(start(w, &w->a), 0);
    assert_int_equal(start(w, &w->b), 0);
    oracle(w, w->a.cfg);
    /* Both hold partitions before the stream starts. */
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_kafka_partitions", 1, 30000));
    assert_true(fx_daemon_wait_metric(&w->b, "aiopsd_kafka_partitions", 1, 30000));
    long half = w->n_events / 2;
    produce(w, 0, half);
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_stream_checkpoints_total", 2, 30000));
    assert_int_equal(fx_daemon_kill(&w->a, SIGKILL), 0);
    fx_daemon_stop(&w->a, 10000);
    produce(w, half, w->n_events);
    /* After the session timeout the group gives every partition to b. */
    assert_true(fx_daemon_wait_metric(&w->b, "aiopsd_kafka_partitions", PARTS, 30000));
    assert_eventually_oracle(w);
    assert_int_equal(fx_daemon_stop(&w->b, 20000), 0);
}

static void a_broker_down_and_back_delays_but_loses_nothing(void **state)
{
    struct world *w = *state;
    assert_int_equal(start(w, &w->a), 0);
    oracle(w, w->a.cfg);
    long half = w->n_events / 2;
    produce(w, 0, half);
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_pipeline_events_total", (double)half, 30000));
    assert_int_equal(fx_kafka_cmd(&w->kafka, "down -1"), 0);
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_kafka_consumer_errors_total", 1, 30000));
    assert_int_equal(fx_kafka_cmd(&w->kafka, "up -1"), 0);
    produce(w, half, w->n_events);
    assert_eventually_oracle(w);
    assert_int_equal(fx_daemon_stop(&w->a, 20000), 0);
}

static void a_full_output_pauses_the_partitions_and_nothing_is_lost(void **state)
{
    struct world *w = *state;
    char coll[2048];
    snprintf(coll, sizeof(coll),
             "  kafka:\n    enabled: true\n    brokers: \"%s\"\n    topics: [\"%s\"]\n"
             "    group_id: aiopsd-test\n    checkpoint_interval: 50ms\n"
             "    properties: [\"session.timeout.ms=6000\", \"heartbeat.interval.ms=500\"]\n",
             w->kafka.bootstrap, TOPIC);
    assert_int_equal(fx_daemon_start_with(&w->a, w->redis.port, "sub", coll,
                                          "    max_buffer: 50\n"
                                          "daemon:\n  idle_tick: 1m\n",
                                          true),
                     0);
    oracle(w, w->a.cfg);
    assert_true(w->changes > 100);
    /* Every partition's checkpoint read answered (none yet): consuming before Redis goes. */
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_stream_restore_empty_total", PARTS, 30000));
    fx_redis_kill(&w->redis);
    produce(w, 0, w->n_events);
    /* Redis is down: the buffer fills to max_buffer and the partitions are paused. */
    assert_true(fx_daemon_wait_metric(&w->a, "aiopsd_collectors_paused", 1, 30000));
    assert_true(fx_daemon_metric(&w->a, "aiopsd_pipeline_events_total") < (double)w->n_events);
    assert_int_equal(fx_redis_restart(&w->redis), 0);
    assert_eventually_oracle(w);
    assert_int_equal(fx_daemon_metric(&w->a, "aiopsd_redis_shed_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->a, 20000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(all_partitions_end_up_in_redis_exactly_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(kill_9_and_restart_loses_and_duplicates_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(survivor_takes_over_the_partitions_of_a_killed_peer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_broker_down_and_back_delays_but_loses_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_full_output_pauses_the_partitions_and_nothing_is_lost,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
