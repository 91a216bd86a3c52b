/* tests/integration/test_daemon_zmq_loss.c: ZeroMQ SUB loss made visible (issue 15), with the
 * real aiopsd, a real redis-server and real ZeroMQ over loopback.
 *  - `aiopsctl publish` numbers its messages ([topic,] "aiopsd-seq ID N", event): every event
 *    arrives and no gap is counted, with and without a topic.
 *  - Gaps are counted per publisher, exactly (numbers never seen), unnumbered senders still work
 *    and a malformed header is counted, not fatal.
 *  - A subscriber that stops reading (SIGSTOP) makes the PUB drop at its high-water mark: the
 *    loss shows in aiopsd_zmq_sequence_gaps_total, and received + gaps = sent. */
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

#include <zmq.h>

#include "common/seqhdr.h"
#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define DETERMINISTIC "daemon:\n  idle_tick: 1m\n"
#define ACCEPTED "aiopsd_events_accepted_total{collector=\"zmq\"}"

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    void *zctx, *pub;
    char dir[64];
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    *state = w;
    w->zctx = zmq_ctx_new();
    snprintf(w->dir, sizeof(w->dir), "/tmp/aiopsd-zloss.XXXXXX");
    if (!mkdtemp(w->dir))
        return -1;
    return fx_redis_start(&w->redis);
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->daemon.pid > 0)
        fx_daemon_stop(&w->daemon, 10000);
    if (w->pub)
        zmq_close(w->pub);
    zmq_ctx_term(w->zctx);
    fx_redis_stop(&w->redis);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", w->dir);
    free(w);
    return 0;
}

/* An XPUB connected to the daemon's SUB, once the subscription has arrived. */
static void *publisher(struct world *w, int sndhwm)
{
    void *s = w->pub = fx_daemon_publisher(&w->daemon, w->zctx, sndhwm, 0);
    assert_non_null(s);
    return s;
}

/* An event whose summary carries pad (at most 400) filler bytes. */
static char *event(char *buf, size_t n, long i, int pad)
{
    static char fill[401];
    if (!fill[0])
        memset(fill, 'x', sizeof(fill) - 1);
    int k = snprintf(buf, n,
                     "{\"resource\":\"host-%ld\",\"check\":\"cpu\",\"severity\":\"warning\","
                     "\"summary\":\"load %.*s\"}",
                     i % 50, pad, fill);
    assert_true(k > 0 && (size_t)k < n);
    return buf;
}

/* One numbered message: [header, event] (the PUB may drop it: that is what is tested). */
static void send_numbered(void *s, const char *id, uint64_t seq, const char *ev)
{
    char hdr[128];
    int n = ad_seq_format(hdr, sizeof(hdr), id, seq);
    assert_true(n > 0);
    assert_int_equal(zmq_send(s, hdr, (size_t)n, ZMQ_SNDMORE), n);
    assert_int_equal(zmq_send(s, ev, strlen(ev), 0), (int)strlen(ev));
}

static double gaps_of(struct world *w, const char *id)
{
    char series[128];
    snprintf(series, sizeof(series), "aiopsd_zmq_sequence_gaps_total{publisher=\"%s\"}", id);
    return fx_daemon_series(&w->daemon, series);
}

static void aiopsctl_publish_numbers_its_events_and_nothing_is_missing(void **state)
{
    struct world *w = *state;
    /* Topics: the numbered envelope is [topic, header, event], and the topic still filters. */
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "sub",
                                          "    topics: [alerts]\n", DETERMINISTIC, true),
                     0);
    char text[1 << 16], buf[1024];
    size_t off = 0;
    for (long i = 0; i < 200; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\n",
                                event(buf, sizeof(buf), i, 10));
    assert_int_equal(fx_write_file(w->dir, "events.jsonl", text), 0);

    char args[512], err[4096];
    int status;
    snprintf(args, sizeof(args),
             "publish --endpoint tcp://127.0.0.1:%d --topic alerts --publisher-id ctl-1 "
             "events.jsonl",
             w->daemon.zmq_port);
    free(fx_ctl(w->dir, args, &status, err, sizeof(err)));
    assert_int_equal(status, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, ACCEPTED, 200, 10000));
    assert_true(gaps_of(w, "ctl-1") == 0); /* present: the header was read */
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_publishers"), 1);

    /* A second run is another publisher (default id), counted from 1 again: no gap. */
    snprintf(args, sizeof(args),
             "publish --endpoint tcp://127.0.0.1:%d --topic alerts events.jsonl",
             w->daemon.zmq_port);
    free(fx_ctl(w->dir, args, &status, err, sizeof(err)));
    assert_int_equal(status, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, ACCEPTED, 400, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_publishers"), 2);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_sequence_gaps_total"), 0);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_events_rejected_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 10000), 0);
}

static void gaps_are_counted_per_publisher_and_unnumbered_senders_still_work(void **state)
{
    struct world *w = *state;
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "sub", DETERMINISTIC, true), 0);
    void *s = publisher(w, 0);
    char buf[1024];
    long sent = 0;
    for (uint64_t q = 1; q <= 10; q++, sent++)
        send_numbered(s, "pub-a", q, event(buf, sizeof(buf), sent, 10));
    for (uint64_t q = 16; q <= 20; q++, sent++) /* 11..15 never sent: 5 missing */
        send_numbered(s, "pub-a", q, event(buf, sizeof(buf), sent, 10));
    for (uint64_t q = 3; q <= 5; q++, sent++) /* 1..2 "before we listened": 2 missing */
        send_numbered(s, "pub-b", q, event(buf, sizeof(buf), sent, 10));
    /* An unnumbered sender, single frame and [topic, event]. */
    event(buf, sizeof(buf), sent++, 10);
    assert_true(zmq_send(s, buf, strlen(buf), 0) > 0);
    assert_true(zmq_send(s, "t", 1, ZMQ_SNDMORE) == 1);
    assert_true(zmq_send(s, buf, strlen(buf), 0) > 0);
    sent++;
    /* A malformed header: counted, the event still taken. */
    assert_true(zmq_send(s, "aiopsd-seq pub-a x", 18, ZMQ_SNDMORE) == 18);
    assert_true(zmq_send(s, buf, strlen(buf), 0) > 0);
    sent++;
    /* pub-a restarts: back to 1, no gap. */
    send_numbered(s, "pub-a", 1, event(buf, sizeof(buf), sent++, 10));

    assert_true(fx_daemon_wait_metric(&w->daemon, ACCEPTED, (double)sent, 10000));
    assert_true(gaps_of(w, "pub-a") == 5);
    assert_true(gaps_of(w, "pub-b") == 2);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_sequence_gaps_total"), 7);
    assert_true(fx_daemon_series(&w->daemon,
                                 "aiopsd_zmq_sequence_resets_total{publisher=\"pub-a\"}") == 1);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_sequence_malformed_total"), 1);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_publishers"), 2);
    assert_int_equal(fx_daemon_stop(&w->daemon, 10000), 0);
}

struct loss {
    struct world *w;
    double total;
};

static bool all_accounted_for(void *ctx)
{
    struct loss *l = ctx;
    double got = fx_daemon_series(&l->w->daemon, ACCEPTED);
    double gaps = gaps_of(l->w, "storm");
    return !isnan(got) && !isnan(gaps) && got + gaps >= l->total;
}

static void a_stalled_subscriber_loses_events_and_the_gap_counts_exactly_them(void **state)
{
    struct world *w = *state;
    /* A small receive queue, so that a stalled daemon makes the PUB drop soon. */
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "sub", "    rcvhwm: 1000\n",
                                          DETERMINISTIC, true),
                     0);
    void *s = publisher(w, 1000);
    char buf[1024];
    const long n = 60000;
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGSTOP), 0);
    /* ~25 MB: far more than libzmq's queues and the loopback socket buffers hold. A PUB never
     * blocks: past its high-water mark it drops. */
    for (long i = 1; i <= n; i++)
        send_numbered(s, "storm", (uint64_t)i, event(buf, sizeof(buf), i, 360));
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGCONT), 0);
    /* Only a later message reveals a gap: one more, after the queues have drained. */
    struct loss l = {w, (double)n};
    assert_true(fx_daemon_wait_metric(&w->daemon, ACCEPTED, 1, 10000));
    send_numbered(s, "storm", (uint64_t)n + 1, event(buf, sizeof(buf), 0, 10));
    l.total = (double)n + 1;
    assert_true(fx_wait_until(all_accounted_for, &l, 30000));
    double got = fx_daemon_series(&w->daemon, ACCEPTED);
    double gaps = gaps_of(w, "storm");
    fprintf(stderr, "sent %ld, received %.0f, counted missing %.0f\n", n + 1, got, gaps);
    assert_true(gaps > 0);
    assert_true(got + gaps == (double)n + 1);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_zmq_sequence_resets_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(aiopsctl_publish_numbers_its_events_and_nothing_is_missing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            gaps_are_counted_per_publisher_and_unnumbered_senders_still_work, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_stalled_subscriber_loses_events_and_the_gap_counts_exactly_them, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
