/* tests/integration/test_zmq_collector.c: the ZeroMQ collector against real ZeroMQ peers on
 * 127.0.0.1, each test driving its own libevent loop. Counts are exact; waits are condition waits
 * with deadlines (fx_wait_loop). */
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
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <zmq.h>

#include "collectors/collector.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/metrics.h"
#include "common/time.h"
#include "config/config.h"
#include "fx_collector.h"
#include "fx_daemon.h"
#include "fx_wait.h"

#define N_MANY 5000
#define WAIT_MS 20000

/* What the env callbacks saw. Probes and end markers are valid events told apart by their check. */
struct rec {
    uint64_t emitted, probes, ends;
    uint64_t rejects, batches;
    uint64_t in_batch, max_batch; /* messages since the last batch_done, and the most seen */
    uint64_t io_ticks;            /* callbacks of an unrelated ready fd (see yield test) */
    uint64_t ticks_at_first_batch, ticks_at_last_batch;
    uint8_t seen[N_MANY]; /* by index in resource "host-<i>" */
    uint64_t dup_or_bad;  /* indexes out of range or seen twice */
    uint64_t sampled;     /* events whose fields were checked */
    uint64_t field_errors;
    int64_t last_time_ns;
    char last_reason[256];
    size_t last_raw_len;
    uint64_t destroy_at;      /* destroy the collector from emit at this count (0: no) */
    bool pause_in_batch_done; /* pause like the daemon does when Redis is full */
};

struct world {
    struct event_base *base;
    struct ad_collector_env env;
    const struct ad_collector_ops *ops;
    struct fx_collector_config cc;
    void *coll;
    void *zctx, *peer;
    int port;
    struct rec rec;
    uint64_t want;         /* target for the wait conditions */
};

/* --- env callbacks --------------------------------------------------------------------------- */

static bool str_is(struct ad_str s, const char *c)
{
    return ad_str_eq_c(s, c);
}

static void check_sample(struct rec *r, const struct ad_event *ev, unsigned i)
{
    char want[64];
    bool ok = true;
    snprintf(want, sizeof(want), "load %u", i);
    ok = ok && str_is(ev->check, "cpu") && str_is(ev->summary, want);
    ok = ok && ev->severity == AD_SEV_CRITICAL && ev->kind == AD_KIND_ALERT;
    ok = ok && ev->status == AD_STATUS_FIRING && str_is(ev->source, "test");
    ok = ok && ev->time_ns == (INT64_C(1700000000000) + i) * AD_NS_PER_MS;
    snprintf(want, sizeof(want), "%u", i);
    ok = ok && ev->n_labels == 1 && str_is(ev->labels[0].name, "i") &&
         str_is(ev->labels[0].value, want);
    r->sampled++;
    r->field_errors += !ok;
}

static void on_emit(void *sink, struct ad_event *ev)
{
    struct world *w = sink;
    struct rec *r = &w->rec;
    r->in_batch++;
    r->last_time_ns = ev->time_ns;
    if (str_is(ev->check, "probe")) {
        r->probes++;
        return;
    }
    if (str_is(ev->check, "end")) {
        r->ends++;
        return;
    }
    r->emitted++;
    if (ev->resource.len > 5 && memcmp(ev->resource.p, "host-", 5) == 0) {
        unsigned i = (unsigned)strtoul(ev->resource.p + 5, NULL, 10);
        if (i >= N_MANY || r->seen[i]++)
            r->dup_or_bad++;
        else if (i % 499 == 0)
            check_sample(r, ev, i);
    }
    if (r->destroy_at && r->emitted == r->destroy_at) {
        w->ops->destroy(w->coll); /* from inside the collector's own callback */
        w->coll = NULL;
    }
}

static void on_reject(void *sink, const char *collector, const void *raw, size_t len,
                      const char *reason)
{
    struct world *w = sink;
    (void)raw;
    assert_string_equal(collector, "zmq");
    w->rec.in_batch++;
    w->rec.rejects++;
    w->rec.last_raw_len = len;
    snprintf(w->rec.last_reason, sizeof(w->rec.last_reason), "%s", reason);
}

static void on_batch_done(void *sink)
{
    struct world *w = sink;
    struct rec *r = &w->rec;
    if (r->batches == 0)
        r->ticks_at_first_batch = r->io_ticks;
    r->ticks_at_last_batch = r->io_ticks;
    r->batches++;
    if (r->in_batch > r->max_batch)
        r->max_batch = r->in_batch;
    r->in_batch = 0;
    if (r->pause_in_batch_done)
        w->ops->pause(w->coll);
}

/* --- set-up ---------------------------------------------------------------------------------- */

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    w->base = event_base_new();
    w->zctx = zmq_ctx_new();
    w->env = (struct ad_collector_env){w->base, w, on_emit, on_reject, on_batch_done, NULL};
    w->ops = fx_collector_ops("zmq");
    w->port = free_port();
    *state = w;
    return w->base && w->zctx && w->ops && w->port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->coll) {
        w->ops->stop(w->coll);
        w->ops->destroy(w->coll);
    }
    if (w->peer)
        zmq_close(w->peer);
    zmq_ctx_term(w->zctx);
    fx_collector_config_free(&w->cc);
    event_base_free(w->base);
    free(w);
    return 0;
}

/* Loads "collectors.zmq" from yaml (the options under zmq:, indented by 4) and creates the
 * collector; returns create's result. */
static int create(struct world *w, const char *opts, struct ad_err *err)
{
    const void *cfg = fx_collector_config_load(&w->cc, w->ops, opts, err);
    return cfg ? w->ops->create(cfg, &w->env, &w->coll, err) : -EINVAL;
}

/* Creates and starts a collector of type type in mode mode on w->port with extra options. */
static void start(struct world *w, const char *type, const char *mode, const char *extra)
{
    struct ad_err err = {0};
    char opts[1024];
    snprintf(opts, sizeof(opts),
             "    type: %s\n    mode: %s\n    endpoints: [\"tcp://127.0.0.1:%d\"]\n%s", type, mode,
             w->port, extra ? extra : "");
    assert_int_equal(create(w, opts, &err), 0);
    int r = w->ops->start(w->coll, &err);
    if (r < 0)
        fprintf(stderr, "start: %s\n", err.msg);
    assert_int_equal(r, 0);
}

/* The test's own peer socket: bound when the collector connects, connected when it binds. */
static void *peer(struct world *w, int type, bool bind)
{
    int zero = 0, timeout = 5000;
    char ep[64];
    void *s = zmq_socket(w->zctx, type);
    assert_non_null(s);
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero)); /* no drops or blocking in the sender */
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout, sizeof(timeout));
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", w->port);
    assert_int_equal(bind ? zmq_bind(s, ep) : zmq_connect(s, ep), 0);
    w->peer = s;
    return s;
}

static void send_raw(void *s, const void *p, size_t n, int flags)
{
    assert_int_equal(zmq_send(s, p, n, flags), (int)n);
}

static void send_str(void *s, const char *str)
{
    send_raw(s, str, strlen(str), 0);
}

static void send_multi(void *s, const char *topic, const char *json)
{
    send_raw(s, topic, strlen(topic), ZMQ_SNDMORE);
    send_str(s, json);
}

static size_t event_json(char *buf, size_t n, unsigned i)
{
    int len = snprintf(buf, n,
                       "{\"source\":\"test\",\"resource\":\"host-%u\",\"check\":\"cpu\","
                       "\"severity\":\"critical\",\"summary\":\"load %u\",\"labels\":{\"i\":"
                       "\"%u\"},\"timestamp\":%" PRId64 "}",
                       i, i, i, INT64_C(1700000000000) + i);
    return (size_t)len;
}

static const char probe_json[] = "{\"resource\":\"probe\",\"check\":\"probe\"}";
static const char end_json[] = "{\"resource\":\"end\",\"check\":\"end\"}";

static bool got_probe(void *ctx)
{
    return ((struct world *)ctx)->rec.probes > 0;
}

static bool got_end(void *ctx)
{
    return ((struct world *)ctx)->rec.ends > 0;
}

static bool got_want(void *ctx)
{
    struct world *w = ctx;
    return w->rec.emitted >= w->want;
}

/* Slow joiner: a SUB's subscription reaches the publisher some time after connecting, and a PUB
 * drops what it publishes before that. Probe until one arrives; after that nothing is lost. */
static void join(struct world *w, const char *topic)
{
    int64_t deadline = fx_mono_ms() + WAIT_MS;
    while (!got_probe(w)) {
        assert_true(fx_mono_ms() < deadline);
        if (topic)
            send_multi(w->peer, topic, probe_json);
        else
            send_str(w->peer, probe_json);
        fx_wait_loop(w->base, got_probe, w, 20);
    }
}

/* The collector's own numbers, from its stats() output. */
static uint64_t metric(struct world *w, const char *series)
{
    uint64_t v = fx_collector_metric(w->ops, w->coll, series);
    if (v == UINT64_MAX)
        fail_msg("no series %s in stats", series);
    return v;
}

#define RECEIVED "aiopsd_events_received_total{collector=\"zmq\"}"
#define ACCEPTED "aiopsd_events_accepted_total{collector=\"zmq\"}"
#define BYTES "aiopsd_collector_bytes_total{collector=\"zmq\"}"
#define PAUSED "aiopsd_collector_paused{collector=\"zmq\"}"
#define REJECTED(r) "aiopsd_events_rejected_total{collector=\"zmq\",reason=\"" r "\"}"

static void assert_no_rejects(struct world *w)
{
    assert_int_equal(w->rec.rejects, 0);
    assert_int_equal(metric(w, REJECTED("bad_json")), 0);
    assert_int_equal(metric(w, REJECTED("too_large")), 0);
    assert_int_equal(metric(w, REJECTED("bad_utf8")), 0);
    assert_int_equal(metric(w, REJECTED("invalid")), 0);
}

/* Sends N_MANY events and an end marker; checks each arrived exactly once with its fields. */
static void send_many_and_check(struct world *w)
{
    char buf[512];
    uint64_t bytes = 0, probes = w->rec.probes;
    for (unsigned i = 0; i < N_MANY; i++) {
        size_t n = event_json(buf, sizeof(buf), i);
        send_raw(w->peer, buf, n, 0);
        bytes += n;
    }
    send_str(w->peer, end_json);
    assert_true(fx_wait_loop(w->base, got_end, w, WAIT_MS));
    probes = w->rec.probes; /* probes still in flight when joining arrive before the events */

    assert_int_equal(w->rec.emitted, N_MANY);
    assert_int_equal(w->rec.dup_or_bad, 0);
    for (unsigned i = 0; i < N_MANY; i++)
        assert_int_equal(w->rec.seen[i], 1);
    assert_int_equal(w->rec.sampled, (N_MANY + 498) / 499);
    assert_int_equal(w->rec.field_errors, 0);
    assert_int_equal(metric(w, RECEIVED), N_MANY + probes + 1);
    assert_int_equal(metric(w, ACCEPTED), N_MANY + probes + 1);
    assert_int_equal(metric(w, BYTES),
                     bytes + probes * (sizeof(probe_json) - 1) + sizeof(end_json) - 1);
    assert_no_rejects(w);
    assert_int_equal(w->rec.in_batch, 0); /* every message was followed by a batch_done */
}

/* --- tests ----------------------------------------------------------------------------------- */

static void sub_bind_receives_every_event_a_publisher_sends(void **state)
{
    struct world *w = *state;
    start(w, "sub", "bind", NULL);
    peer(w, ZMQ_PUB, false);
    join(w, NULL);
    send_many_and_check(w);
}

static void sub_connect_receives_from_a_binding_publisher(void **state)
{
    struct world *w = *state;
    peer(w, ZMQ_PUB, true);
    start(w, "sub", "connect", NULL);
    join(w, NULL);
    send_many_and_check(w);
}

static void pull_receives_every_event_a_pusher_sends(void **state)
{
    struct world *w = *state;
    start(w, "pull", "bind", NULL);
    peer(w, ZMQ_PUSH, false); /* PUSH queues until connected: no probe needed */
    send_many_and_check(w);
    assert_int_equal(w->rec.probes, 0);
}

static void bad_messages_are_rejected_and_counted_by_reason(void **state)
{
    struct world *w = *state;
    char big[5000], ev[512];
    start(w, "pull", "bind", "    max_message_size: 4KiB\n");
    void *s = peer(w, ZMQ_PUSH, false);

    /* bad_json: malformed (3), unknown field (5), empty (6), bad last frame of a multipart (1). */
    for (int i = 0; i < 3; i++)
        send_str(s, "{\"resource\":\"db1\",\"check\":");
    for (int i = 0; i < 5; i++)
        send_str(s, "{\"resource\":\"db1\",\"check\":\"cpu\",\"sevrity\":\"critical\"}");
    for (int i = 0; i < 6; i++)
        send_raw(s, "", 0, 0);
    send_multi(s, "alerts", "not json");
    /* too_large (2): valid JSON of 5000 bytes against a 4 KiB limit. */
    int n = snprintf(big, sizeof(big), "{\"resource\":\"db1\",\"check\":\"cpu\",\"summary\":\"");
    memset(big + n, 'x', sizeof(big) - (size_t)n - 2);
    memcpy(big + sizeof(big) - 2, "\"}", 2);
    for (int i = 0; i < 2; i++)
        send_raw(s, big, sizeof(big), 0);
    /* bad_utf8 (4): a lone continuation byte inside a string. */
    for (int i = 0; i < 4; i++)
        send_str(s, "{\"resource\":\"db\x80\",\"check\":\"cpu\"}");
    /* Valid in every envelope: plain, [topic, json], "topic {json}", leading blanks. */
    event_json(ev, sizeof(ev), 0);
    send_str(s, ev);
    event_json(ev, sizeof(ev), 1);
    send_multi(s, "alerts", ev);
    char framed[600];
    event_json(ev, sizeof(ev), 2);
    snprintf(framed, sizeof(framed), "alerts.db %s", ev);
    send_str(s, framed);
    event_json(ev, sizeof(ev), 3);
    snprintf(framed, sizeof(framed), " \n\t%s", ev);
    send_str(s, framed);
    send_raw(s, "a", 1, ZMQ_SNDMORE);
    send_raw(s, "b", 1, ZMQ_SNDMORE);
    send_str(s, end_json);
    assert_true(fx_wait_loop(w->base, got_end, w, WAIT_MS));

    assert_int_equal(w->rec.emitted, 4);
    assert_int_equal(w->rec.field_errors, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(w->rec.seen[i], 1);
    assert_int_equal(metric(w, REJECTED("bad_json")), 15);
    assert_int_equal(metric(w, REJECTED("too_large")), 2);
    assert_int_equal(metric(w, REJECTED("bad_utf8")), 4);
    assert_int_equal(metric(w, REJECTED("invalid")), 0);
    assert_int_equal(w->rec.rejects, 21);
    assert_int_equal(metric(w, RECEIVED), 21 + 4 + 1);
    assert_int_equal(metric(w, ACCEPTED), 4 + 1);
    /* The last reject was a bad_utf8 message, handed over whole with the parser's reason. */
    assert_int_equal(w->rec.last_raw_len, strlen("{\"resource\":\"db\x80\",\"check\":\"cpu\"}"));
    assert_non_null(strstr(w->rec.last_reason, "UTF-8"));
}

static void a_frame_over_the_wire_limit_drops_the_peer_which_reconnects(void **state)
{
    struct world *w = *state;
    /* libzmq disconnects a peer sending a frame over ZMQ_MAXMSGSIZE (4 KiB + 64 KiB here). */
    size_t giant = 4096 + 64 * 1024 + 1;
    char *buf = malloc(giant);
    assert_non_null(buf);
    memset(buf, ' ', giant);
    buf[0] = '{';
    buf[giant - 1] = '}';
    start(w, "pull", "bind", "    max_message_size: 4KiB\n");
    void *s = peer(w, ZMQ_PUSH, false);
    send_raw(s, buf, giant, 0);
    free(buf);
    /* The PUSH side reconnects by itself; probes get through again. */
    join(w, NULL);
    assert_int_equal(metric(w, REJECTED("too_large")), 0);
    assert_int_equal(metric(w, RECEIVED), w->rec.probes);
    assert_int_equal(w->rec.rejects, 0);
}

static void sub_topics_filter_by_prefix_in_both_envelopes(void **state)
{
    struct world *w = *state;
    char ev[512], framed[600];
    start(w, "sub", "bind", "    topics: [alerts]\n");
    void *s = peer(w, ZMQ_PUB, false);
    join(w, "alerts");

    unsigned k = 0;
    for (int i = 0; i < 10; i++) {
        event_json(ev, sizeof(ev), k++);
        send_multi(s, "alerts", ev); /* kept */
        event_json(ev, sizeof(ev), k++);
        snprintf(framed, sizeof(framed), "alerts.db %s", ev);
        send_str(s, framed); /* kept: prefix match */
        event_json(ev, sizeof(ev), 1000 + (unsigned)i);
        send_multi(s, "metrics", ev); /* dropped by libzmq */
        snprintf(framed, sizeof(framed), "metrics %s", ev);
        send_str(s, framed); /* dropped */
        send_str(s, ev);     /* no topic: dropped */
    }
    send_multi(s, "alerts", end_json);
    assert_true(fx_wait_loop(w->base, got_end, w, WAIT_MS));
    assert_int_equal(w->rec.emitted, 20);
    for (unsigned i = 0; i < 20; i++)
        assert_int_equal(w->rec.seen[i], 1);
    assert_int_equal(metric(w, RECEIVED), 20 + w->rec.probes + 1);
    assert_no_rejects(w);
}

static void io_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((struct world *)arg)->rec.io_ticks++;
}

static void small_batches_deliver_everything_and_let_other_io_run(void **state)
{
    struct world *w = *state;
    const unsigned n = 1000;
    char buf[512];
    int sv[2];

    /* Stands in for the Redis connection: a socket that is always readable. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    struct event *io = event_new(w->base, sv[0], EV_READ | EV_PERSIST, io_tick, w);
    assert_non_null(io);

    start(w, "pull", "bind", "    batch_max: 7\n");
    void *s = peer(w, ZMQ_PUSH, false);
    /* Everything is queued before the loop runs, so most of it arrives with a single edge on
     * ZMQ_FD: only the collector's own rescheduling can deliver the rest. */
    for (unsigned i = 0; i < n; i++)
        send_raw(s, buf, event_json(buf, sizeof(buf), i), 0);
    assert_int_equal(event_add(io, NULL), 0);
    w->want = n;
    assert_true(fx_wait_loop(w->base, got_want, w, WAIT_MS));

    assert_int_equal(w->rec.emitted, n);
    assert_int_equal(w->rec.dup_or_bad, 0);
    assert_true(w->rec.max_batch <= 7);
    assert_true(w->rec.batches >= (n + 6) / 7);
    /* Between batches the loop polled and ran the other fd's callback. */
    assert_true(w->rec.ticks_at_last_batch - w->rec.ticks_at_first_batch >= w->rec.batches / 2);
    event_free(io);
    close(sv[0]);
    close(sv[1]);
}

static bool paused_drained(void *ctx)
{
    struct world *w = ctx;
    return w->rec.emitted >= w->want;
}

static void nothing_is_read_while_paused_and_everything_after_resume(void **state)
{
    struct world *w = *state;
    char buf[512];
    const unsigned n = 300;

    start(w, "pull", "bind", NULL);
    void *s = peer(w, ZMQ_PUSH, false);
    w->ops->pause(w->coll);
    w->ops->pause(w->coll); /* idempotent */
    assert_int_equal(metric(w, PAUSED), 1);
    for (unsigned i = 0; i < n; i++)
        send_raw(s, buf, event_json(buf, sizeof(buf), i), 0);
    fx_run_loop_for(w->base, 300); /* "nothing happens" window */
    assert_int_equal(w->rec.emitted, 0);
    assert_int_equal(metric(w, RECEIVED), 0);

    w->ops->resume(w->coll);
    assert_int_equal(metric(w, PAUSED), 0);
    w->want = n;
    assert_true(fx_wait_loop(w->base, paused_drained, w, WAIT_MS));
    assert_int_equal(w->rec.emitted, n);
    assert_int_equal(w->rec.dup_or_bad, 0);
    assert_int_equal(metric(w, RECEIVED), n);
}

static void pausing_from_batch_done_holds_the_rest_until_resume(void **state)
{
    struct world *w = *state;
    char buf[512];
    const unsigned n = 300;

    start(w, "pull", "bind", "    batch_max: 10\n");
    void *s = peer(w, ZMQ_PUSH, false);
    w->rec.pause_in_batch_done = true;
    for (unsigned i = 0; i < n; i++)
        send_raw(s, buf, event_json(buf, sizeof(buf), i), 0);
    w->want = 1;
    assert_true(fx_wait_loop(w->base, got_want, w, WAIT_MS));
    /* The batch that saw ZMQ_POLLIN last consumed the edge on ZMQ_FD: nothing will signal again
     * for the messages still queued, so resume() itself has to drain. */
    fx_run_loop_for(w->base, 100);
    uint64_t first = w->rec.emitted;
    assert_true(first >= 1 && first <= 10);
    assert_int_equal(w->rec.batches, 1);
    assert_int_equal(metric(w, PAUSED), 1);

    w->rec.pause_in_batch_done = false;
    w->ops->resume(w->coll);
    w->want = n;
    assert_true(fx_wait_loop(w->base, got_want, w, WAIT_MS));
    assert_int_equal(w->rec.emitted, n);
    assert_int_equal(w->rec.dup_or_bad, 0);
}

static bool destroyed(void *ctx)
{
    return ((struct world *)ctx)->coll == NULL;
}

static void destroy_from_inside_emit_is_deferred_safely(void **state)
{
    struct world *w = *state;
    char buf[512];
    start(w, "pull", "bind", NULL);
    void *s = peer(w, ZMQ_PUSH, false);
    w->rec.destroy_at = 5;
    for (unsigned i = 0; i < 50; i++)
        send_raw(s, buf, event_json(buf, sizeof(buf), i), 0);
    assert_true(fx_wait_loop(w->base, destroyed, w, WAIT_MS));
    fx_run_loop_for(w->base, 50);
    assert_int_equal(w->rec.emitted, 5); /* no emit after destroy; ASan checks the deferred free */
}

static void stop_then_destroy_leaves_the_loop_empty(void **state)
{
    struct world *w = *state;
    start(w, "sub", "bind", NULL);
    w->ops->stop(w->coll);
    w->ops->stop(w->coll);   /* idempotent */
    w->ops->resume(w->coll); /* no effect after stop */
    w->ops->destroy(w->coll);
    w->coll = NULL;
    /* No event of ours is left on the base: a loop with nothing to wait for returns 1. */
    assert_int_equal(event_base_loop(w->base, EVLOOP_NONBLOCK), 1);
}

static void bad_configs_fail_with_a_reason(void **state)
{
    struct world *w = *state;
    struct ad_err err = {0};
    char opts[512];

    assert_int_equal(create(w, "    type: pull\n    topics: [alerts]\n", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "topics"));
    assert_null(w->coll);
    assert_int_equal(create(w, "    endpoints: [\"127.0.0.1:5556\"]\n", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "127.0.0.1:5556"));
    assert_int_equal(create(w, "    endpoints: []\n", &err), -EINVAL);

    /* A port someone else holds: start fails and names the endpoint. */
    void *other = zmq_socket(w->zctx, ZMQ_PULL);
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", w->port);
    assert_int_equal(zmq_bind(other, ep), 0);
    snprintf(opts, sizeof(opts), "    type: pull\n    endpoints: [\"%s\"]\n", ep);
    assert_int_equal(create(w, opts, &err), 0);
    assert_int_equal(w->ops->start(w->coll, &err), -EADDRINUSE);
    assert_non_null(strstr(err.msg, ep));
    w->ops->destroy(w->coll); /* destroy without stop after a failed start */
    w->coll = NULL;
    zmq_close(other);
}

/* --- CURVE ------------------------------------------------------------------------------------ */

#define CURVE_DENIED "aiopsd_zmq_curve_denied_total{collector=\"zmq\"}"
#define CURVE_ACCEPTED "aiopsd_zmq_curve_accepted_total{collector=\"zmq\"}"
#define HS_FAILED(r) "aiopsd_zmq_handshake_failed_total{collector=\"zmq\",reason=\"" r "\"}"
#define CURVE_OPTS "    curve_secret_key_file: \"%s\"\n    curve_clients_dir: \"%s\"\n"

/* Keys made at run time: the server's and one allowed client's, in a temp dir. */
struct keys {
    char dir[64], clients[96], server_key[96];
    char server_pub[41], client_pub[41], client_sec[41];
};

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void make_keys(struct keys *k)
{
    char sec[41], path[160], text[128];
    snprintf(k->dir, sizeof(k->dir), "/tmp/aiopsd-curve.XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->clients, sizeof(k->clients), "%s/clients", k->dir);
    assert_int_equal(mkdir(k->clients, 0700), 0);
    assert_int_equal(zmq_curve_keypair(k->server_pub, sec), 0);
    snprintf(k->server_key, sizeof(k->server_key), "%s/server.key", k->dir);
    snprintf(text, sizeof(text), "# a comment\n%s\n", sec);
    write_text(k->server_key, text);
    assert_int_equal(zmq_curve_keypair(k->client_pub, k->client_sec), 0);
    /* The zmq_cert form is read too. */
    snprintf(path, sizeof(path), "%s/alice.pub", k->clients);
    snprintf(text, sizeof(text), "curve\n    public-key = \"%s\"\n", k->client_pub);
    write_text(path, text);
    /* Not a *.pub file: ignored. */
    snprintf(path, sizeof(path), "%s/README", k->clients);
    write_text(path, "not a key\n");
}

static void remove_keys(struct keys *k)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
    assert_int_equal(system(cmd), 0);
}

static void start_curve(struct world *w, const struct keys *k, const char *type)
{
    char extra[512];
    snprintf(extra, sizeof(extra), CURVE_OPTS, k->server_key, k->clients);
    start(w, type, "bind", extra);
}

/* A PUSH peer connecting to the collector; with CURVE keys when secret is not NULL. */
static void *curve_pusher(struct world *w, const char *server_pub, const char *secret)
{
    int zero = 0;
    char ep[64], pub[41];
    void *s = zmq_socket(w->zctx, ZMQ_PUSH);
    assert_non_null(s);
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    if (secret) {
        assert_int_equal(zmq_curve_public(pub, secret), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub, 41), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 41), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 41), 0);
    }
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", w->port);
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

static bool refused_both(void *ctx)
{
    struct world *w = ctx;
    return metric(w, CURVE_DENIED) > 0 && metric(w, HS_FAILED("auth")) > 0 &&
           metric(w, HS_FAILED("protocol")) + metric(w, HS_FAILED("other")) > 0;
}

static void curve_admits_allowed_keys_only(void **state)
{
    struct world *w = *state;
    struct keys k;
    char buf[512], rogue_pub[41], rogue_sec[41];
    make_keys(&k);
    start_curve(w, &k, "pull");

    /* An unknown key and a peer without CURVE: both queue events they will never deliver. */
    assert_int_equal(zmq_curve_keypair(rogue_pub, rogue_sec), 0);
    void *rogue = curve_pusher(w, k.server_pub, rogue_sec);
    void *plain = curve_pusher(w, NULL, NULL);
    for (unsigned i = 0; i < 10; i++) {
        size_t n = event_json(buf, sizeof(buf), i);
        send_raw(rogue, buf, n, 0);
        send_raw(plain, buf, n, 0);
    }
    assert_true(fx_wait_loop(w->base, refused_both, w, WAIT_MS));

    /* The allowed client gets through, after the refused ones tried. */
    w->peer = curve_pusher(w, k.server_pub, k.client_sec);
    for (unsigned i = 100; i < 120; i++)
        send_raw(w->peer, buf, event_json(buf, sizeof(buf), i), 0);
    send_str(w->peer, end_json);
    assert_true(fx_wait_loop(w->base, got_end, w, WAIT_MS));
    assert_int_equal(w->rec.emitted, 20);
    assert_int_equal(w->rec.dup_or_bad, 0);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(w->rec.seen[i], 0); /* nothing of the refused peers */
    assert_int_equal(metric(w, ACCEPTED), 21);
    assert_true(metric(w, CURVE_ACCEPTED) >= 1);
    assert_no_rejects(w);
    zmq_close(rogue);
    zmq_close(plain);
    remove_keys(&k);
}

static void curve_configs_fail_with_a_reason(void **state)
{
    struct world *w = *state;
    struct keys k;
    struct ad_err err = {0};
    char opts[512], path[160];
    make_keys(&k);

    snprintf(opts, sizeof(opts), "    curve_secret_key_file: \"%s\"\n", k.server_key);
    assert_int_equal(create(w, opts, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "curve_clients_dir"));
    /* A public key where the secret one should be is still a key; a file that is none is not. */
    snprintf(path, sizeof(path), "%s/garbage", k.dir);
    write_text(path, "# nothing here\nshort\n");
    snprintf(opts, sizeof(opts), CURVE_OPTS, path, k.clients);
    assert_int_equal(create(w, opts, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, path));
    /* A directory without any *.pub would let nobody in: refused. */
    snprintf(opts, sizeof(opts), CURVE_OPTS, k.server_key, k.dir);
    assert_int_equal(create(w, opts, &err), -ENOENT);
    assert_non_null(strstr(err.msg, k.dir));
    assert_null(w->coll);
    remove_keys(&k);
}

/* aiopsctl curve-keygen makes the keys (the secret one private) and aiopsctl publish uses them
 * through XPUB/SUB with CURVE. The publisher runs as a child while this loop serves ZAP. */
static void aiopsctl_keygen_and_publish_over_curve(void **state)
{
    struct world *w = *state;
    struct keys k;
    char cmd[1024], events[160], buf[512];
    int status;
    make_keys(&k);
    assert_int_equal(unlink(k.server_key), 0); /* made again by aiopsctl */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && '%s/aiopsctl' curve-keygen server && '%s/aiopsctl' curve-keygen "
             "clients/bob && stat -c %%a server.key clients/bob.key server.pub",
             k.dir, AD_BINARY_DIR, AD_BINARY_DIR);
    char *out = fx_run_capture(cmd, &status);
    assert_non_null(out);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "600\n600\n644\n"));
    free(out);
    /* A second keygen never overwrites a key. */
    snprintf(cmd, sizeof(cmd), "cd '%s' && '%s/aiopsctl' curve-keygen server 2>&1", k.dir,
             AD_BINARY_DIR);
    out = fx_run_capture(cmd, &status);
    assert_non_null(out);
    assert_int_not_equal(status, 0);
    assert_non_null(strstr(out, "server.key"));
    free(out);

    snprintf(k.server_key, sizeof(k.server_key), "%s/server.key", k.dir);
    start_curve(w, &k, "sub");
    snprintf(events, sizeof(events), "%s/events.jsonl", k.dir);
    FILE *f = fopen(events, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < 20; i++) {
        event_json(buf, sizeof(buf), i);
        fprintf(f, "%s\n", buf);
    }
    fprintf(f, "%s\n", end_json);
    assert_int_equal(fclose(f), 0);

    snprintf(cmd, sizeof(cmd),
             "exec '%s/aiopsctl' publish --endpoint tcp://127.0.0.1:%d --curve-server-key "
             "'%s/server.pub' --curve-client-key '%s/clients/bob.key' '%s' 2>/dev/null",
             AD_BINARY_DIR, w->port, k.dir, k.dir, events);
    pid_t pid;
    char *argv[] = {"sh", "-c", cmd, NULL};
    extern char **environ;
    assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
    assert_true(fx_wait_loop(w->base, got_end, w, WAIT_MS));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(w->rec.emitted, 20);
    assert_true(metric(w, CURVE_ACCEPTED) >= 1);
    assert_int_equal(metric(w, CURVE_DENIED), 0);
    remove_keys(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sub_bind_receives_every_event_a_publisher_sends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sub_connect_receives_from_a_binding_publisher, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pull_receives_every_event_a_pusher_sends, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_messages_are_rejected_and_counted_by_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_frame_over_the_wire_limit_drops_the_peer_which_reconnects,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sub_topics_filter_by_prefix_in_both_envelopes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(small_batches_deliver_everything_and_let_other_io_run,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_is_read_while_paused_and_everything_after_resume,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(pausing_from_batch_done_holds_the_rest_until_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(destroy_from_inside_emit_is_deferred_safely, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stop_then_destroy_leaves_the_loop_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_configs_fail_with_a_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(curve_admits_allowed_keys_only, setup, teardown),
        cmocka_unit_test_setup_teardown(curve_configs_fail_with_a_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(aiopsctl_keygen_and_publish_over_curve, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
