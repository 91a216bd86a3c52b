/* tests/integration/test_daemon_time.c: one event with a broken clock changes nothing for the
 * others (pipeline.max_future / max_past, docs/reliability.md).
 *  - aiopsctl replay of a few hundred storm events, with and without one event stamped
 *    2099-01-01 inserted in the middle: every candidate change of every other incident is the
 *    same, byte for byte. With the bound off (max_future: 0s) the same input changes them: the
 *    comparison can fail.
 *  - out_of_bounds: deadletter: the replay with the skewed event is the replay without it.
 *  - The real aiopsd fed the skewed stream over HTTP: Redis holds what the replay gives, the
 *    event is counted, and (deadletter) it lands in the dead-letter list with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define N_EVENTS 400
#define SKEW_AT 200
/* No idle ticks: event time moves only with events, as in the replay. */
#define DETERMINISTIC "daemon:\n  idle_tick: 1m\n"
static const char SKEWED[] =
    "{\"kind\":\"alert\",\"source\":\"prometheus\",\"resource\":\"clock-01.prod\","
    "\"service\":\"clockskew\",\"check\":\"BrokenClock\",\"severity\":\"critical\","
    "\"status\":\"firing\",\"summary\":\"a host whose clock says 2099\","
    "\"timestamp\":4070908800}"; /* 2099-01-01T00:00:00Z */

struct world {
    char dir[64];
    char storm[64];
    char **lines;
    long n_lines;
    char plain[128], skewed[128]; /* events files: without / with the skewed event */
    struct fx_redis redis;
    struct fx_daemon daemon;
    int http_port;
    char reply[4096];
};

static void write_events(const char *path, char **lines, long n, long skew_at)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (long i = 0; i < n; i++) {
        if (i == skew_at)
            fprintf(f, "%s\n", SKEWED);
        fprintf(f, "%s\n", lines[i]);
    }
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "/tmp/aiopsd-time.XXXXXX");
    snprintf(w->storm, sizeof(w->storm), "/tmp/aiopsd-time-storm.XXXXXX");
    if (!w || !mkdtemp(w->dir))
        return -1;
    w->n_lines = fx_storm_file(11, w->storm, &w->lines);
    if (w->n_lines < N_EVENTS)
        return -1;
    snprintf(w->plain, sizeof(w->plain), "%s/plain.jsonl", w->dir);
    snprintf(w->skewed, sizeof(w->skewed), "%s/skewed.jsonl", w->dir);
    write_events(w->plain, w->lines, N_EVENTS, -1);
    write_events(w->skewed, w->lines, N_EVENTS, SKEW_AT);
    w->http_port = fx_free_port();
    *state = w;
    return fx_redis_start(&w->redis) == 0 && w->http_port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    fx_teardown(&w->daemon, &w->redis, w->lines);
    char cfg[128];
    snprintf(cfg, sizeof(cfg), "%s/aiopsd.yaml", w->dir);
    const char *const files[] = {w->storm, w->plain, w->skewed, cfg};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(w->dir);
    free(w);
    return 0;
}

/* `aiopsctl replay` of events with the config yaml: its stdout, one candidate change a line. */
static char *replay(struct world *w, const char *yaml, const char *events)
{
    assert_int_equal(fx_write_file(w->dir, "aiopsd.yaml", yaml), 0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/aiopsctl replay -c %s/aiopsd.yaml %s 2>/dev/null", AD_BINARY_DIR,
             w->dir, events);
    int st;
    char *out = fx_run_capture(cmd, &st);
    assert_non_null(out);
    assert_int_equal(st, 0);
    return out;
}

/* The changes of out without those of the candidates that ever mention the skewed event's
 * service; *ret_skewed counts the changes left out. */
static char *others(const char *out, size_t *ret_skewed)
{
    char ids[64][32];
    size_t n_ids = 0, skipped = 0;
    char *copy = strdup(out), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strstr(l, "clockskew") && n_ids < 64)
            assert_true(fx_json_field(l, "id", ids[n_ids++], sizeof(ids[0])));
    free(copy);
    char *res = calloc(1, strlen(out) + 1);
    copy = strdup(out);
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char id[32];
        assert_true(fx_json_field(l, "id", id, sizeof(id)));
        bool skip = false;
        for (size_t i = 0; i < n_ids; i++)
            skip |= strcmp(ids[i], id) == 0;
        if (skip) {
            skipped++;
            continue;
        }
        strcat(res, l);
        strcat(res, "\n");
    }
    free(copy);
    *ret_skewed = skipped;
    return res;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void a_skewed_event_changes_no_other_incident_in_the_replay(void **state)
{
    struct world *w = *state;
    char *plain = replay(w, DETERMINISTIC, w->plain);
    char *skewed = replay(w, DETERMINISTIC, w->skewed);
    size_t n_plain = count_lines(plain), n_skewed_changes;
    assert_true(n_plain >= 20);
    char *rest = others(skewed, &n_skewed_changes);
    /* The skewed alert is kept (clamped): it opens its own incident, at the stream's time. */
    assert_true(n_skewed_changes >= 1);
    assert_null(strstr(skewed, "2099-"));
    assert_string_equal(rest, plain);
    free(rest);
    free(skewed);

    /* The control: without the bound the same event moves the clock for everyone. */
    char *unbounded = replay(w, DETERMINISTIC "pipeline:\n  max_future: 0s\n", w->skewed);
    rest = others(unbounded, &n_skewed_changes);
    assert_true(strcmp(rest, plain) != 0);
    free(rest);
    free(unbounded);

    /* deadletter: as if the event had never been sent. */
    char *dropped = replay(w, DETERMINISTIC "pipeline:\n  out_of_bounds: deadletter\n", w->skewed);
    assert_string_equal(dropped, plain);
    free(dropped);
    free(plain);
}

/* Runs the daemon with extra yaml on the skewed stream over HTTP; returns after its SIGTERM
 * with Redis holding its output. */
static void run_daemon(struct world *w, const char *extra)
{
    char coll[256];
    snprintf(coll, sizeof(coll), "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n",
             w->http_port);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll, extra, true), 0);
    char **lines;
    long n = fx_read_lines(w->skewed, &lines);
    assert_int_equal(n, N_EVENTS + 1);
    static char body[1 << 20];
    for (long i = 0; i < n; i += 50) {
        long to = i + 50 < n ? i + 50 : n;
        size_t len = fx_json_array(body, lines, i, to);
        assert_int_equal(fx_http_request(w->http_port, "POST", "/api/v1/events",
                                         "Content-Type: application/json\r\n", body, len, w->reply,
                                         sizeof(w->reply)),
                         200);
    }
    fx_lines_free(lines);
    assert_true(
        fx_daemon_wait_metric(&w->daemon, "aiopsd_events_accepted_total", N_EVENTS + 1, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_pipeline_time_out_of_bounds_total"), 1);
}

static struct fx_cand cands[1024];
static size_t changes;
static long n_cands;

/* The replay of the same stream with the daemon's config (before it stops and its directory
 * goes). */
static void oracle(struct world *w)
{
    n_cands = fx_replay_oracle(w->daemon.cfg, w->skewed, cands, 1024, &changes);
    assert_true(n_cands >= 5);
}

/* Redis holds exactly the oracle. */
static void assert_redis_is_replay(struct world *w)
{
    long long xlen, llen;
    assert_int_equal(fx_redis_diff(&w->redis, cands, (size_t)n_cands, &xlen, &llen), 0);
    assert_int_equal(xlen, (long long)changes);
    assert_int_equal(llen, (long long)changes);
}

static void the_daemon_agrees_with_the_replay(void **state)
{
    struct world *w = *state;
    run_daemon(w, DETERMINISTIC);
    oracle(w);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_redis_is_replay(w);
}

static void the_daemon_deadletters_when_told_to(void **state)
{
    struct world *w = *state;
    run_daemon(w, DETERMINISTIC "pipeline:\n  out_of_bounds: deadletter\n");
    oracle(w);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_redis_is_replay(w);
    redisContext *rc = fx_redis_connect(&w->redis);
    assert_non_null(rc);
    redisReply *r = redisCommand(rc, "LRANGE aiopsd:deadletter 0 -1");
    assert_non_null(r);
    assert_int_equal(r->elements, 1);
    assert_non_null(strstr(r->element[0]->str, "BrokenClock"));
    assert_non_null(strstr(r->element[0]->str, "outside pipeline.max_future/max_past"));
    freeReplyObject(r);
    redisFree(rc);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_skewed_event_changes_no_other_incident_in_the_replay,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_daemon_agrees_with_the_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(the_daemon_deadletters_when_told_to, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
