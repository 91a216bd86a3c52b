/* tests/integration/test_kafka_collector.c: the Kafka collector in process, on its own libevent
 * loop, with librdkafka's mock cluster in this process (a real Kafka protocol peer), the daemon's
 * stream module and Redis output, and a real redis-server. What only an in-process test can see
 * precisely: offsets are committed only after Redis acknowledged, and dead letters carry
 * topic/partition@offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "collectors/collector.h"
#include "common/err.h"
#include "common/event.h"
#include "config/config.h"
#include "correlators/candidate.h"
#include "daemon/out_redis.h"
#include "daemon/sections.h"
#include "daemon/streams.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define TOPIC "events"
#define PARTS 4

extern const struct ad_collector_ops ad_collector_kafka;

struct world {
    struct event_base *base;
    struct fx_redis redis;
    rd_kafka_t *owner; /* the mock cluster's handle */
    rd_kafka_t *prod;
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *query; /* reads the group's committed offsets */
    struct ad_config *cfg;
    struct ad_out_redis *out;
    struct ad_streams *streams;
    struct ad_collector_env env;
    void *coll;
    long processed, candidates;
};

static void processed(void *ctx, struct ad_event *ev, int rc)
{
    (void)ev;
    (void)rc;
    ((struct world *)ctx)->processed++;
}

static void reject_at(void *ctx, const char *collector, const char *origin, const void *raw,
                      size_t len, const char *reason)
{
    struct world *w = ctx;
    ad_out_redis_submit_deadletter_at(w->out, collector, origin, raw, len, reason, 0);
}

static int cand(void *ctx, const struct ad_candidate *c)
{
    struct world *w = ctx;
    w->candidates++;
    return ad_out_redis_submit_candidate(w->out, c);
}

static void noop_emit(void *sink, struct ad_event *ev)
{
    (void)sink;
    (void)ev;
    fail_msg("the Kafka collector must emit through its streams");
}
static void noop_reject(void *s, const char *c, const void *r, size_t l, const char *why)
{
    (void)s, (void)c, (void)r, (void)l, (void)why;
    fail_msg("the Kafka collector must reject with its origin");
}
static void batch_done(void *sink) { (void)sink; }

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    *state = w;
    w->base = event_base_new();
    if (fx_redis_start(&w->redis) != 0)
        return -1;
    char errstr[512];
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    rd_kafka_conf_set(pc, "log_level", "2", errstr, sizeof(errstr));
    w->owner = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof(errstr));
    w->mc = rd_kafka_mock_cluster_new(w->owner, 3);
    if (!w->mc || rd_kafka_mock_topic_create(w->mc, TOPIC, PARTS, 1))
        return -1;
    const char *bs = rd_kafka_mock_cluster_bootstraps(w->mc);
    pc = rd_kafka_conf_new();
    rd_kafka_conf_set(pc, "bootstrap.servers", bs, errstr, sizeof(errstr));
    rd_kafka_conf_set(pc, "log_level", "2", errstr, sizeof(errstr));
    w->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof(errstr));
    rd_kafka_conf_t *qc = rd_kafka_conf_new();
    rd_kafka_conf_set(qc, "bootstrap.servers", bs, errstr, sizeof(errstr));
    rd_kafka_conf_set(qc, "group.id", "g", errstr, sizeof(errstr));
    rd_kafka_conf_set(qc, "log_level", "2", errstr, sizeof(errstr));
    w->query = rd_kafka_new(RD_KAFKA_CONSUMER, qc, errstr, sizeof(errstr));

    char yaml[2048];
    int n = snprintf(yaml, sizeof(yaml),
                     "collectors:\n  kafka:\n    enabled: true\n    brokers: \"%s\"\n"
                     "    topics: [%s]\n    group_id: g\n    checkpoint_interval: 20ms\n"
                     "    properties: [\"session.timeout.ms=6000\"]\n"
                     "outputs:\n  redis:\n    endpoint: \"127.0.0.1:%d\"\n"
                     "    reconnect_min: 20ms\n    reconnect_max: 200ms\n",
                     bs, TOPIC, w->redis.port);
    struct ad_err err;
    if (ad_config_load_string("test.yaml", yaml, (size_t)n, ad_sections(), &w->cfg, &err) < 0 ||
        ad_out_redis_create(ad_config_get(w->cfg, "outputs.redis"), w->base, &w->out, &err) < 0 ||
        ad_out_redis_start(w->out) < 0)
        return -1;
    struct ad_cand_sink sink = {w, cand};
    struct ad_streams_hooks hooks = {w, processed, reject_at};
    if (ad_streams_create(w->cfg, &sink, w->out, &hooks, &w->streams, &err) < 0)
        return -1;
    w->env = (struct ad_collector_env){w->base,   w,         noop_emit,
                                       noop_reject, batch_done, ad_streams_env(w->streams)};
    if (ad_collector_kafka.create(ad_config_get(w->cfg, "collectors.kafka"), &w->env, &w->coll,
                                  &err) < 0 ||
        ad_collector_kafka.start(w->coll, &err) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->coll)
        ad_collector_kafka.destroy(w->coll);
    ad_streams_destroy(w->streams);
    ad_out_redis_destroy(w->out);
    ad_config_destroy(w->cfg);
    if (w->query) {
        rd_kafka_destroy(w->query);
    }
    if (w->prod)
        rd_kafka_destroy(w->prod);
    if (w->mc)
        rd_kafka_mock_cluster_destroy(w->mc);
    if (w->owner)
        rd_kafka_destroy(w->owner);
    fx_redis_signal(&w->redis, SIGCONT);
    fx_redis_stop(&w->redis);
    event_base_free(w->base);
    free(w);
    return 0;
}

static void produce(struct world *w, long from, long to)
{
    char buf[256], svc[16];
    for (long i = from; i < to; i++) {
        snprintf(svc, sizeof(svc), "svc%ld", i % 7);
        int n = snprintf(buf, sizeof(buf),
                         "{\"resource\":\"h%ld\",\"service\":\"%s\",\"check\":\"C%ld\","
                         "\"timestamp\":%ld}",
                         i % 13, svc, i % 5, 1795510800L + i);
        assert_int_equal(rd_kafka_producev(w->prod, RD_KAFKA_V_TOPIC(TOPIC),
                                           RD_KAFKA_V_PARTITION((int32_t)(i % 7 % PARTS)),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_VALUE(buf, (size_t)n), RD_KAFKA_V_END),
                         0);
    }
    assert_int_equal(rd_kafka_flush(w->prod, 10000), 0);
}

/* Sum over the partitions of the group's committed offsets (0 for none). */
static long committed(struct world *w)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int p = 0; p < PARTS; p++)
        rd_kafka_topic_partition_list_add(l, TOPIC, p);
    long sum = -1;
    if (rd_kafka_committed(w->query, l, 5000) == 0) {
        sum = 0;
        for (int i = 0; i < l->cnt; i++)
            sum += l->elems[i].offset > 0 ? l->elems[i].offset : 0;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return sum;
}

struct until {
    struct world *w;
    long processed, committed;
};

static bool processed_reached(void *ctx)
{
    struct until *u = ctx;
    return u->w->processed >= u->processed;
}

static bool committed_reached(void *ctx)
{
    struct until *u = ctx;
    return committed(u->w) >= u->committed;
}

static void offsets_are_committed_only_after_redis_acknowledged(void **state)
{
    struct world *w = *state;
    produce(w, 0, 1000);
    struct until u = {w, 1000, 1000};
    assert_true(fx_wait_loop(w->base, processed_reached, &u, 30000));
    assert_true(fx_wait_loop(w->base, committed_reached, &u, 30000));
    assert_int_equal(committed(w), 1000);

    /* Redis stops answering: checkpoints queue up unacknowledged, so nothing more is committed
     * however long the collector keeps consuming and checkpointing. */
    assert_int_equal(fx_redis_signal(&w->redis, SIGSTOP), 0);
    produce(w, 1000, 1500);
    u.processed = 1500;
    assert_true(fx_wait_loop(w->base, processed_reached, &u, 30000));
    fx_run_loop_for(w->base, 500); /* 25 checkpoint intervals */
    assert_int_equal(committed(w), 1000);

    assert_int_equal(fx_redis_signal(&w->redis, SIGCONT), 0);
    u.committed = 1500;
    assert_true(fx_wait_loop(w->base, committed_reached, &u, 30000));
    assert_int_equal(committed(w), 1500);
    assert_true(w->candidates > 0);
}

static void bad_messages_are_dead_lettered_with_their_origin(void **state)
{
    struct world *w = *state;
    const char *bad = "{\"resource\":\"h\"}"; /* an alert without a check */
    assert_int_equal(rd_kafka_producev(w->prod, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(2),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_VALUE((void *)bad, strlen(bad)), RD_KAFKA_V_END),
                     0);
    assert_int_equal(rd_kafka_flush(w->prod, 10000), 0);
    struct until u = {w, 0, 1};
    assert_true(fx_wait_loop(w->base, committed_reached, &u, 30000));
    redisContext *rc = fx_redis_connect(&w->redis);
    redisReply *r = redisCommand(rc, "LRANGE aiopsd:deadletter 0 -1");
    assert_int_equal(r->elements, 1);
    assert_non_null(strstr(r->element[0]->str, "\"origin\":\"events/2@0\""));
    assert_non_null(strstr(r->element[0]->str, "\"collector\":\"kafka\""));
    assert_non_null(strstr(r->element[0]->str, "check"));
    freeReplyObject(r);
    redisFree(rc);
    assert_int_equal(w->processed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(offsets_are_committed_only_after_redis_acknowledged,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_messages_are_dead_lettered_with_their_origin, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
