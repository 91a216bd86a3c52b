/* tests/integration/test_daemon_restart.c: restarting aiopsd loses nothing (pipeline.state_file,
 * docs/reliability.md), with the real daemon, a real redis-server and a generated storm sent
 * over HTTP by a sender that retries until a batch is taken (200), restarting the daemon when
 * it finds it gone. The restart point is random (printed; AD_RESTART_SEED=N repeats a run).
 *  - SIGTERM mid-stream, with Redis paused so that a backlog cannot be acknowledged within the
 *    shutdown timeout: the backlog is saved with the pipeline's state and sent after the
 *    restart, and Redis ends up holding exactly what `aiopsctl replay --no-flush` of all events
 *    gives: every change once, every candidate's final state and version.
 *  - kill -9 mid-stream: what arrived since the last save (pipeline.save_interval) is lost, and
 *    only that: Redis equals the replay of every event but those, except for the candidates
 *    that those events changed before the kill (asserted), and the figures are printed.
 *  - A corrupt state file is moved aside and the daemon starts empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define BATCH 25
#define MAX_CANDS 4096

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    int http_port;
    char dir[64];     /* the daemon's state_dir, and the replays' event files */
    char events[128]; /* the storm */
    char **lines;
    long n_events;
    char *body;
    char reply[4096];
    int restarts;
    unsigned seed;
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    snprintf(w->dir, sizeof(w->dir), "/tmp/aiopsd-restart.XXXXXX");
    if (!mkdtemp(w->dir) || fx_redis_start(&w->redis) != 0)
        return -1;
    snprintf(w->events, sizeof(w->events), "%s/storm.XXXXXX", w->dir);
    w->n_events = fx_storm_file(13, w->events, &w->lines);
    w->body = malloc(1 << 20);
    w->http_port = fx_free_port();
    const char *s = getenv("AD_RESTART_SEED");
    w->seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "test_daemon_restart: AD_RESTART_SEED=%u\n", w->seed);
    srand(w->seed);
    *state = w;
    return w->n_events > 1000 && w->body && w->http_port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    fx_teardown(&w->daemon, &w->redis, w->lines);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", w->dir);
    free(w->body);
    free(w);
    return 0;
}

static void start_daemon(struct world *w, const char *save_interval)
{
    char coll[256], extra[512];
    snprintf(coll, sizeof(coll), "  http:\n    enabled: true\n    listen: \"127.0.0.1:%d\"\n",
             w->http_port);
    /* No idle ticks: event time moves only with events, as in the replay. */
    snprintf(extra, sizeof(extra),
             "daemon:\n  state_dir: \"%s\"\n  idle_tick: 1m\n  shutdown_timeout: 1s\n"
             "pipeline:\n  save_interval: %s\n",
             w->dir, save_interval);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll, extra, true), 0);
}

struct gone {
    struct world *w;
    int code;
    bool exited;
};

static bool ready_or_gone(void *ctx)
{
    struct gone *g = ctx;
    char buf[256];
    if (g->w->daemon.pid <= 0 || fx_daemon_exited(&g->w->daemon, &g->code))
        return g->exited = true; /* stopped and reaped by the test, or found gone */
    return fx_http_get(g->w->daemon.admin_port, "/readyz", buf, sizeof(buf)) == 200;
}

/* The retrying sender: events [from, to) in batches, each sent again until it is taken. A
 * daemon found gone (stopped, killed) is started again; *ret_exit gets its exit code. */
static void send_range(struct world *w, long from, long to, int *ret_exit)
{
    long i = from;
    int attempts = 0;
    while (i < to) {
        long end = i + BATCH < to ? i + BATCH : to;
        size_t len = fx_json_array(w->body, w->lines, i, end);
        int code = fx_http_request(w->http_port, "POST", "/api/v1/events",
                                   "Content-Type: application/json\r\n", w->body, len, w->reply,
                                   sizeof(w->reply));
        if (code == 200) {
            i = end;
            continue;
        }
        if (code != -1 && code != 503) /* refused or not taken: never half taken */
            fprintf(stderr, "POST answered %d: %s\n", code, w->reply);
        assert_true(code == -1 || code == 503);
        assert_true(++attempts < 10000);
        struct gone g = {w, 0, false};
        if (!fx_wait_until(ready_or_gone, &g, 20000)) {
            fprintf(stderr, "POST answered %d (%s); the daemon is neither ready nor gone\n", code,
                    w->reply);
            fx_daemon_dump_log(&w->daemon);
            fail();
        }
        if (g.exited) {
            *ret_exit = g.code;
            w->restarts++;
            assert_int_equal(fx_daemon_restart(&w->daemon, true), 0);
        }
    }
}

/* Waits until the daemon holds nothing for Redis. */
static void wait_flushed(struct world *w)
{
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 20000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_inflight", 0, 20000));
}

static void write_lines(const char *path, char **lines, long from, long to, long from2, long to2)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (long i = from; i < to; i++)
        fprintf(f, "%s\n", lines[i]);
    for (long i = from2; i < to2; i++)
        fprintf(f, "%s\n", lines[i]);
    assert_int_equal(fclose(f), 0);
}

/* A random restart point in the middle half of the stream. */
static long restart_point(const struct world *w)
{
    return w->n_events / 4 + rand() % (w->n_events / 2);
}

static void sigterm_mid_stream_gives_exactly_the_replay(void **state)
{
    struct world *w = *state;
    start_daemon(w, "100ms");
    static struct fx_cand cands[MAX_CANDS];
    size_t changes;
    long n =
        fx_replay_oracle_opts(w->daemon.cfg, "--no-flush", w->events, cands, MAX_CANDS, &changes);
    assert_true(n >= 10 && changes > 100);

    long k = restart_point(w);
    int code = -1;
    send_range(w, 0, k, &code);
    /* Redis stops answering: the changes of the next batches cannot be acknowledged. Batches
     * until some change waits for Redis. */
    assert_int_equal(fx_redis_signal(&w->redis, SIGSTOP), 0);
    long stop = k;
    while (fx_daemon_metric(&w->daemon, "aiopsd_redis_buffer_depth") < 1) {
        assert_true(stop + BATCH < w->n_events);
        send_range(w, stop, stop + BATCH, &code);
        stop += BATCH;
    }
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGTERM), 0);
    assert_int_equal(fx_daemon_wait_exit(&w->daemon, 20000), 0);
    assert_int_equal(fx_redis_signal(&w->redis, SIGCONT), 0);
    send_range(w, stop, w->n_events, &code);
    assert_int_equal(w->restarts, 1);
    /* The backlog came back from the state file, and the restored state saw every event. */
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_pipeline_state_restored_pending") > 0);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_pipeline_state_restored_events"), stop);
    wait_flushed(w);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_shed_total"), 0);
    fprintf(stderr,
            "SIGTERM after %ld of %ld events: %.0f unacknowledged entries saved and "
            "resent\n",
            stop, w->n_events,
            fx_daemon_metric(&w->daemon, "aiopsd_pipeline_state_restored_pending"));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);

    long long xlen, llen;
    assert_int_equal(fx_redis_diff(&w->redis, cands, (size_t)n, &xlen, &llen), 0);
    assert_int_equal(xlen, (long long)changes);
    assert_int_equal(llen, (long long)changes);
}

/* The ids of the changes `aiopsctl replay --no-flush` of events makes after its first `skip`. */
static size_t ids_after(const char *cfg, const char *events, size_t skip, char (*ids)[32],
                        size_t max)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/aiopsctl replay --no-flush -c %s %s", AD_BINARY_DIR, cfg,
             events);
    int st;
    char *out = fx_run_capture(cmd, &st);
    assert_non_null(out);
    assert_int_equal(st, 0);
    size_t n = 0, line = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
        char id[32];
        if (line < skip)
            continue;
        assert_true(fx_json_field(l, "id", id, sizeof(id)));
        size_t i = 0;
        while (i < n && strcmp(ids[i], id) != 0)
            i++;
        if (i == n && n < max)
            snprintf(ids[n++], sizeof(ids[0]), "%s", id);
    }
    free(out);
    return n;
}

static bool among(const char *id, char (*ids)[32], size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

static void kill9_loses_only_what_arrived_since_the_last_save(void **state)
{
    struct world *w = *state;
    start_daemon(w, "1s");
    /* The daemon's config, for the replays after it stopped (its directory goes with it). */
    char cfg[128], cmd[512];
    snprintf(cfg, sizeof(cfg), "%s/aiopsd.yaml", w->dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", w->daemon.cfg, cfg);
    assert_int_equal(system(cmd), 0);
    static struct fx_cand full[MAX_CANDS], kept[MAX_CANDS];
    size_t changes_full, changes_kept, changes_c;
    long n_full =
        fx_replay_oracle_opts(cfg, "--no-flush", w->events, full, MAX_CANDS, &changes_full);
    assert_true(n_full >= 10);

    long k = restart_point(w), k1 = k - 8 * BATCH;
    int code = -1;
    send_range(w, 0, k1, &code);
    /* A save happened after these, then more events arrive and the daemon is killed at once:
     * those are likely to be after the last save (1 s apart). */
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_state_file_writes_total", 1, 20000));
    send_range(w, k1, k, &code);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGKILL), 0);
    send_range(w, k, w->n_events, &code);
    assert_int_equal(code, 128 + SIGKILL);
    assert_int_equal(w->restarts, 1);
    double c_d = fx_daemon_metric(&w->daemon, "aiopsd_pipeline_state_restored_events");
    long c = (long)c_d;
    assert_true(c > 0 && c <= k);
    wait_flushed(w);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);

    /* The oracle: every event but those that arrived since the last save (c..k). */
    char kept_file[160], before_file[160], upto_file[160];
    snprintf(kept_file, sizeof(kept_file), "%s/kept.jsonl", w->dir);
    snprintf(before_file, sizeof(before_file), "%s/before.jsonl", w->dir);
    snprintf(upto_file, sizeof(upto_file), "%s/upto.jsonl", w->dir);
    write_lines(kept_file, w->lines, 0, c, k, w->n_events);
    write_lines(before_file, w->lines, 0, c, 0, 0);
    write_lines(upto_file, w->lines, 0, k, 0, 0);
    long n_kept =
        fx_replay_oracle_opts(cfg, "--no-flush", kept_file, kept, MAX_CANDS, &changes_kept);
    assert_true(n_kept >= 10);
    static struct fx_cand tmp[MAX_CANDS];
    assert_true(fx_replay_oracle_opts(cfg, "--no-flush", before_file, tmp, MAX_CANDS, &changes_c) >=
                0);
    /* The candidates the lost events changed before the kill: the changes the first daemon
     * made after its last save (the replay is the daemon, change for change). */
    static char touched[MAX_CANDS][32];
    size_t n_touched = ids_after(cfg, upto_file, changes_c, touched, MAX_CANDS);

    /* The bound: every candidate that differs from the oracle is one of those. */
    redisContext *rc = fx_redis_connect(&w->redis);
    assert_non_null(rc);
    size_t differ = 0;
    for (long i = 0; i < n_kept; i++) {
        redisReply *r = redisCommand(rc, "HMGET aiopsd:candidate:%s state version", kept[i].id);
        assert_non_null(r);
        bool same = r->element[0]->type == REDIS_REPLY_STRING &&
                    strcmp(r->element[0]->str, kept[i].state) == 0 &&
                    strcmp(r->element[1]->str, kept[i].version) == 0;
        freeReplyObject(r);
        if (!same) {
            differ++;
            assert_true(among(kept[i].id, touched, n_touched));
        }
    }
    /* And a candidate the oracle does not have was opened by a lost event. */
    redisReply *keys = redisCommand(rc, "KEYS aiopsd:candidate:*");
    assert_non_null(keys);
    for (size_t i = 0; i < keys->elements; i++) {
        const char *id = keys->element[i]->str + strlen("aiopsd:candidate:");
        bool known = false;
        for (long j = 0; j < n_kept && !known; j++)
            known = strcmp(kept[j].id, id) == 0;
        if (!known) {
            differ++;
            assert_true(among(id, touched, n_touched));
        }
    }
    freeReplyObject(keys);
    redisFree(rc);
    long long xlen, llen;
    long vs_full = fx_redis_diff(&w->redis, full, (size_t)n_full, &xlen, &llen);
    assert_true(vs_full >= 0);
    assert_true(differ <= n_touched);
    fprintf(stderr,
            "kill -9 after %ld of %ld events, last save at %ld: %ld events lost; candidates "
            "they changed before the kill %zu; differing from the replay without them %zu; "
            "from the replay of everything %ld of %ld\n",
            k, w->n_events, c, k - c, n_touched, differ, vs_full, n_full);
}

static void a_corrupt_pipeline_state_is_moved_aside(void **state)
{
    struct world *w = *state;
    start_daemon(w, "100ms");
    int code = -1;
    send_range(w, 0, 200, &code);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGTERM), 0);
    assert_int_equal(fx_daemon_wait_exit(&w->daemon, 20000), 0);

    char path[160], aside[180];
    snprintf(path, sizeof(path), "%s/pipeline.state", w->dir);
    snprintf(aside, sizeof(aside), "%s.corrupt", path);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 100);
    int c;
    assert_int_equal(fseek(f, size / 2, SEEK_SET), 0);
    assert_true((c = fgetc(f)) != EOF);
    assert_int_equal(fseek(f, size / 2, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0x5a, f), c ^ 0x5a);
    assert_int_equal(fclose(f), 0);

    assert_int_equal(fx_daemon_restart(&w->daemon, true), 0);
    /* Started empty, the file kept aside for a post-mortem, the models' own files read instead. */
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_pipeline_state_restored_events"), 0);
    assert_int_equal(access(aside, F_OK), 0);
    assert_true(fx_daemon_log_has(&w->daemon, "checksum does not match"));
    assert_true(fx_daemon_log_has(&w->daemon, "learned topology: state loaded from"));
    send_range(w, 200, 400, &code);
    assert_int_equal(w->restarts, 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(access(path, F_OK), 0); /* written again at the shutdown */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sigterm_mid_stream_gives_exactly_the_replay, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(kill9_loses_only_what_arrived_since_the_last_save, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_pipeline_state_is_moved_aside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
