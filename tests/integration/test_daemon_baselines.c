/* tests/integration/test_daemon_baselines.c: the real aiopsd with a real redis-server, fed metric
 * points over ZeroMQ (docs/baselines.md):
 *  - a series learns quietly; points far outside its band become a baseline alert, which opens
 *    an incident in Redis; GET /api/v1/baselines?series=… shows the band, the points, the season
 *    and the suggested thresholds; the list form finds the series;
 *  - the learned state survives a restart through the state file (written at shutdown);
 *  - a corrupt state file is moved aside with a clear log line and the daemon learns from scratch;
 *  - a series with a static threshold that trends towards it raises forecast:<series> before
 *    the threshold is crossed, which opens an incident in Redis; the API shows the forecast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/time.h"
#include "fx_world.h"

#define NORMAL 300 /* normal points before the anomaly */

static int setup(void **state)
{
    struct fx_world *w = fx_world_new("baselines.state", "models:\n  baseline:\n    detector: robust\n"
                                                         "    warmup: 50\n    alert_after: 3\n");
    *state = w;
    return w ? 0 : -1;
}

static int teardown(void **state)
{
    fx_world_free(*state);
    return 0;
}

static void start(struct fx_world *w) { assert_int_equal(fx_world_start(w), 0); }

static int api(struct fx_world *w, const char *path)
{
    return fx_http_request(w->daemon.admin_port, "GET", path, NULL, NULL, 0, w->body,
                           sizeof(w->body));
}

/* Points from..to-1 of resource/check, one every step seconds from 2026-11-24T09:00:00Z, the
 * i-th worth value(i, arg). */
static void push_points(struct fx_world *w, const char *resource, const char *check, int step,
                        int from, int to, double (*value)(int i, const void *arg), const void *arg)
{
    char *lines[512];
    assert_true(to - from <= 512);
    for (int i = from; i < to; i++) {
        char line[256];
        snprintf(line, sizeof(line),
                 "{\"kind\":\"metric\",\"service\":\"orders\",\"resource\":\"%s\","
                 "\"check\":\"%s\",\"value\":%.3f,\"timestamp\":%lld}",
                 resource, check, value(i, arg), 1795510800LL + (long long)step * i);
        lines[i - from] = strdup(line);
    }
    assert_int_equal(fx_world_push(w, (const char *const *)lines, (size_t)(to - from)), 0);
    for (int i = 0; i < to - from; i++)
        free(lines[i]);
}

struct bump {
    int at;
    double value;
};

/* db-1/latency_ms: 50 +- 2, or the bump's value from its point on. */
static double latency(int i, const void *arg)
{
    const struct bump *b = arg;
    return i >= b->at ? b->value : 50 + (double)((i * 7919) % 41 - 20) / 10.0;
}

/* Points from..to-1 of db-1/latency_ms (1 per minute; 50 ± 2, then `bump` from `bump_at`). */
static void send_points(struct fx_world *w, int from, int to, int bump_at, double bump)
{
    struct bump b = {bump_at, bump};
    push_points(w, "db-1", "latency_ms", 60, from, to, latency, &b);
}

static long stream_mentions(struct fx_world *w, const char *s)
{
    long n = fx_redis_stream_mentions(w->rc, "aiopsd:candidates", s);
    assert_true(n >= 0);
    return n;
}

static double json_num(const char *body, const char *key)
{
    char v[64];
    if (!fx_json_field(body, key, v, sizeof(v)))
        fail_msg("no %s in %s", key, body);
    return atof(v);
}

static void anomaly_becomes_an_incident_and_the_api_shows_the_band(void **state)
{
    struct fx_world *w = *state;
    start(w);
    send_points(w, 0, NORMAL, NORMAL, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_baseline_points_total", NORMAL, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_baseline_series"), 1);
    assert_int_equal(stream_mentions(w, "baseline:"), 0); /* normal points open nothing */

    assert_int_equal(api(w, "/api/v1/baselines?series=db-1/latency_ms"), 200);
    assert_non_null(strstr(w->body, "\"series\":\"db-1/latency_ms\""));
    assert_non_null(strstr(w->body, "\"detector\":\"robust\""));
    assert_non_null(strstr(w->body, "\"state\":\"normal\""));
    assert_int_equal((int)json_num(w->body, "points"), NORMAL);
    double expected = json_num(w->body, "expected"), lower = json_num(w->body, "lower"),
           upper = json_num(w->body, "upper");
    assert_true(expected > 48 && expected < 52);
    assert_true(lower < expected && upper > expected && upper < 70);
    assert_non_null(strstr(w->body, "\"suggested\":{\"warning\":{\"above\":"));
    assert_int_equal(api(w, "/api/v1/baselines?series=db-1/nope"), 404);
    assert_int_equal(api(w, "/api/v1/baselines?prefix=db-"), 200);
    assert_non_null(strstr(w->body, "{\"series\":[\"db-1/latency_ms\"],\"total\":1}"));
    assert_int_equal(api(w, "/api/v1/baselines?limit=0"), 400);

    /* Three points at 400: the third raises the alert, which opens an incident. */
    send_points(w, NORMAL, NORMAL + 3, NORMAL, 400);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_baseline_points_total", NORMAL + 3,
                                      20000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_candidates_emitted_total", 1, 20000));
    assert_int_equal(api(w, "/api/v1/baselines?series=db-1/latency_ms"), 200);
    assert_non_null(strstr(w->body, "\"state\":\"firing\""));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_true(stream_mentions(w, "baseline:db-1/latency_ms") >= 1);

    /* The state file was written at shutdown; after a restart the series goes on learning. */
    struct stat sb;
    assert_int_equal(stat(w->file, &sb), 0);
    start(w);
    assert_int_equal(api(w, "/api/v1/baselines?series=db-1/latency_ms"), 200);
    assert_int_equal((int)json_num(w->body, "points"), NORMAL + 3);
    assert_non_null(strstr(w->body, "\"state\":\"firing\""));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_corrupt_state_file_is_moved_aside_and_learning_restarts(void **state)
{
    struct fx_world *w = *state;
    FILE *f = fopen(w->file, "w");
    assert_non_null(f);
    fputs("AIOPSDBL\001\000\000\000garbage that is not a state", f);
    fclose(f);
    start(w);
    assert_int_equal(api(w, "/api/v1/baselines?series=db-1/latency_ms"), 404);
    char aside[160];
    struct stat sb;
    snprintf(aside, sizeof(aside), "%s.corrupt", w->file);
    assert_int_equal(stat(aside, &sb), 0);
    /* It learns from scratch, and the next state file is a good one. */
    send_points(w, 0, 20, 20, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_baseline_points_total", 20, 20000));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    start(w);
    assert_int_equal(api(w, "/api/v1/baselines?series=db-1/latency_ms"), 200);
    assert_int_equal((int)json_num(w->body, "points"), 20);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static int setup_forecast(void **state)
{
    struct fx_world *w = fx_world_new(
        "baselines.state", "models:\n  baseline:\n    detector: robust\n    warmup: 50\n"
                           "    thresholds: [\"host-*/disk_used_pct above 80 95\"]\n");
    *state = w;
    return w ? 0 : -1;
}

/* host-1/disk_used_pct, one point per 5 minutes: 40 +- 1, growing by 3 per hour from point 312
 * (26 hours) on. */
static double disk(int i, const void *arg)
{
    (void)arg;
    return 40 + (double)((i * 7919) % 21 - 10) / 10.0 + (i > 312 ? (i - 312) * 0.25 : 0);
}

static void send_disk(struct fx_world *w, int from, int to)
{
    push_points(w, "host-1", "disk_used_pct", 300, from, to, disk, NULL);
}

static void a_trend_towards_a_threshold_becomes_a_forecast_incident(void **state)
{
    struct fx_world *w = *state;
    start(w);
    /* 26 hours flat, then growth at 3/h: 80 is reached 13h20m later (point 472). */
    send_disk(w, 0, 400);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_baseline_points_total", 400, 20000));
    assert_int_equal(stream_mentions(w, "forecast:"), 0); /* 7h20m of growth: 6h to go */
    assert_int_equal(api(w, "/api/v1/baselines?series=host-1/disk_used_pct"), 200);
    assert_non_null(strstr(w->body, "\"forecast\":{\"state\":\"none\""));
    send_disk(w, 400, 460); /* up to 1 hour before the crossing */
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_baseline_points_total", 460, 20000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_candidates_emitted_total", 1, 20000));
    assert_int_equal(api(w, "/api/v1/baselines?series=host-1/disk_used_pct"), 200);
    assert_non_null(strstr(w->body, "\"forecast\":{\"state\":\"firing\""));
    assert_non_null(strstr(w->body, "\"level\":\"warning\",\"threshold\":80,\"at\":\"2026-11-2"));
    /* 80 is reached at point 472 (13h20m of growth); the prediction is within 20 minutes. */
    char at[64];
    int64_t at_ns;
    assert_true(fx_json_field(w->body, "at", at, sizeof(at)));
    assert_int_equal(ad_time_parse_rfc3339(ad_str_c(at), &at_ns), 0);
    long long err_s = at_ns / 1000000000 - (1795510800LL + 300LL * 472);
    if (err_s < -20 * 60 || err_s > 20 * 60)
        fail_msg("predicted %s, %lld s off", at, err_s);
    assert_true(json_num(w->body, "seconds_left") > 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_true(stream_mentions(w, "forecast:host-1/disk_used_pct") >= 1);
    assert_true(stream_mentions(w, "\"title\":\"forecast:host-1/disk_used_pct on host-1") >= 1);
    assert_int_equal(stream_mentions(w, "threshold:host-1"), 0); /* not crossed yet */

    /* The forecast state survives a restart. */
    start(w);
    assert_int_equal(api(w, "/api/v1/baselines?series=host-1/disk_used_pct"), 200);
    assert_non_null(strstr(w->body, "\"forecast\":{\"state\":\"firing\""));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(anomaly_becomes_an_incident_and_the_api_shows_the_band,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_state_file_is_moved_aside_and_learning_restarts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_trend_towards_a_threshold_becomes_a_forecast_incident,
                                        setup_forecast, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
