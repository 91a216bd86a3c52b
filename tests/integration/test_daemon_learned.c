/* tests/integration/test_daemon_learned.c: the real aiopsd with a real redis-server, fed alerts
 * over ZeroMQ, learns a dependency from the alerts alone (docs/topology.md, "learned"):
 *  - db-9 fails and app-9, in another service and saying nothing of db-9, fails 30 s later, six
 *    times an hour apart, among alerts on 48 other CIs that fail once each;
 *  - GET /api/v1/topology/learned gives "app-9 -> db-9" in the topology file format, with its
 *    support and confidence, and nothing about the one-off CIs; the file it returns is one that
 *    aiopsctl check-config accepts as a topology_file;
 *  - the seventh time, app-9's alert joins db-9's incident by the learned rule, which says why;
 *  - the graph is in daemon.state_dir/topology_learned.state after a shutdown: restarted, the
 *    daemon answers the same graph and the eighth time counts on from the seventh;
 *  - saved every learn_save_interval too: killed (no shutdown save), it comes back from there;
 *  - a corrupt state file is logged, moved aside, and learning starts from scratch. */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fx_daemon.h"
#include "fx_world.h"

#define T0 1795510800LL

static int setup(void **state)
{
    struct fx_world *w =
        fx_world_new("topology_learned.state", "correlators:\n  service_window:\n"
                                               "    link: [topology, mentions, learned, group_by]\n"
                                               "    learn_save_interval: 10s\n");
    *state = w;
    return w ? 0 : -1;
}

static int teardown(void **state)
{
    fx_world_free(*state);
    return 0;
}

static char *line(const char *svc, const char *ci, const char *check, const char *status,
                  long long t)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"kind\":\"alert\",\"service\":\"%s\",\"resource\":\"%s\",\"check\":\"%s\","
             "\"status\":\"%s\",\"severity\":\"major\",\"summary\":\"%s failing\","
             "\"timestamp\":%lld}",
             svc, ci, check, status, check, t);
    return strdup(buf);
}

/* Episode k: db-9 at T0 + k h, app-9 30 s later, both resolved 10 min later; one-off CIs. The
 * checks vary (one alert firing and resolving every hour would be flapping, models/flap). */
static size_t episode(char **lines, int k)
{
    static const char *const db[] = {"DBDown", "ReplicationLag", "SlowQueries"};
    static const char *const app[] = {"ErrorRate", "HighLatency", "PoolExhausted"};
    size_t n = 0;
    long long t = T0 + 3600LL * k;
    lines[n++] = line("orders-db", "db-9", db[k % 3], "firing", t);
    for (int j = 0; j < 8; j++) {
        char ci[32];
        snprintf(ci, sizeof(ci), "x-%d", k * 8 + j);
        lines[n++] = line("misc", ci, "CPU", "firing", t + 300 + 250 * j);
    }
    lines[n++] = line("shop", "app-9", app[k % 3], "firing", t + 30);
    lines[n++] = line("orders-db", "db-9", db[k % 3], "resolved", t + 600);
    lines[n++] = line("shop", "app-9", app[k % 3], "resolved", t + 630);
    return n;
}

static int cmp_time(const void *a, const void *b)
{
    const char *x = strstr(*(char *const *)a, "\"timestamp\":"),
               *y = strstr(*(char *const *)b, "\"timestamp\":");
    long long tx = atoll(x + 12), ty = atoll(y + 12);
    return (tx > ty) - (tx < ty);
}

/* Episodes from..to-1, in time order, pushed to the daemon. */
static void push_episodes(struct fx_world *w, int from, int to)
{
    char *lines[16 * 12];
    size_t n = 0;
    for (int k = from; k < to; k++)
        n += episode(lines + n, k);
    qsort(lines, n, sizeof(*lines), cmp_time);
    assert_int_equal(fx_world_push(w, (const char *const *)lines, n), 0);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

static char *learned(struct fx_world *w)
{
    assert_int_equal(fx_http_request(w->daemon.admin_port, "GET", "/api/v1/topology/learned", NULL,
                                     NULL, 0, w->body, sizeof(w->body)),
                     200);
    return strdup(w->body);
}

static bool log_has(struct fx_world *w, const char *what)
{
    return fx_daemon_log_has(&w->daemon, what);
}

static void a_dependency_is_learned_shown_and_used(void **state)
{
    struct fx_world *w = *state;
    assert_int_equal(fx_world_start(w), 0);
    char *lines[96];
    size_t n = 0;
    for (int k = 0; k < 6; k++)
        n += episode(lines + n, k);
    qsort(lines, n, sizeof(*lines), cmp_time);
    assert_int_equal(fx_world_push(w, (const char *const *)lines, n), 0);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_learned_topology_cis", 50, 20000));

    assert_int_equal(fx_http_request(w->daemon.admin_port, "GET", "/api/v1/topology/learned",
                                     NULL, NULL, 0, w->body, sizeof(w->body)),
                     200);
    assert_non_null(strstr(w->body, "# aiopsd learned topology: 1 dependencies"));
    assert_non_null(strstr(w->body, "node app-9\nnode db-9\n"));
    if (!strstr(w->body, "app-9 -> db-9   # support 6, confidence 1.00 (6 of 6 failures of "
                         "db-9), lag 30s\n"))
        fail_msg("%s", w->body);
    assert_null(strstr(w->body, "x-"));
    assert_int_equal(fx_http_request(w->daemon.admin_port, "POST", "/api/v1/topology/learned",
                                     NULL, "x", 1, w->body, sizeof(w->body)),
                     405);

    /* The answer is a topology file aiopsd accepts. */
    assert_int_equal(fx_http_request(w->daemon.admin_port, "GET", "/api/v1/topology/learned",
                                     NULL, NULL, 0, w->body, sizeof(w->body)),
                     200);
    char topo[256], cfg[256], cmd[768];
    snprintf(topo, sizeof(topo), "%s/learned.topology", w->dir);
    snprintf(cfg, sizeof(cfg), "%s/check.yaml", w->dir);
    FILE *f = fopen(topo, "w");
    assert_non_null(f);
    fputs(w->body, f);
    fclose(f);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "correlators:\n  service_window:\n    topology_file: \"%s\"\n", topo);
    fclose(f);
    snprintf(cmd, sizeof(cmd), AD_BINARY_DIR "/aiopsctl check-config %s", cfg);
    int st;
    char *out = fx_run_capture(cmd, &st);
    assert_non_null(out);
    assert_int_equal(st, 0);
    free(out);

    /* The seventh time the learned rule joins app-9 to db-9's incident. */
    n = episode(lines, 6);
    qsort(lines, n, sizeof(*lines), cmp_time);
    assert_int_equal(fx_world_push(w, (const char *const *)lines, n), 0);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_learned_topology_cis", 58, 20000));
    char *before = learned(w);
    assert_non_null(strstr(before, "app-9 -> db-9   # support 7, confidence 1.00 (7 of 7 "));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    long joined = fx_redis_stream_mentions(w->rc, "aiopsd:candidates",
                                           "'app-9' followed 'db-9' in 6 of its 7 failures");
    assert_true(joined >= 1);

    /* Saved at shutdown; restarted, the same graph, and the eighth time counts on from it. */
    struct stat sb;
    assert_int_equal(stat(w->file, &sb), 0);
    assert_int_equal(fx_world_start(w), 0);
    assert_true(log_has(w, "learned topology: state loaded from"));
    char *after = learned(w);
    assert_string_equal(before, after);
    push_episodes(w, 7, 8);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_learned_topology_cis", 66, 20000));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    joined = fx_redis_stream_mentions(w->rc, "aiopsd:candidates",
                                      "'app-9' followed 'db-9' in 7 of its 8 failures");
    assert_true(joined >= 1);
    free(before);
    free(after);
}

/* Killed without a shutdown save, the daemon comes back with what its last periodic save
 * (learn_save_interval 10s) held: two saves after the graph was complete, so the second one was
 * serialized after it. */
static void the_learned_graph_is_saved_periodically(void **state)
{
    struct fx_world *w = *state;
    assert_int_equal(fx_world_start(w), 0);
    push_episodes(w, 0, 6);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_learned_topology_cis", 50, 20000));
    char *before = learned(w);
    assert_non_null(strstr(before, "app-9 -> db-9   # support 6"));
    double writes = fx_daemon_metric(&w->daemon, "aiopsd_state_file_writes_total");
    assert_true(
        fx_daemon_wait_metric(&w->daemon, "aiopsd_state_file_writes_total", writes + 2, 60000));
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGKILL), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 128 + SIGKILL);
    assert_int_equal(fx_world_start(w), 0);
    char *after = learned(w);
    assert_string_equal(before, after);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    free(before);
    free(after);
}

/* A corrupt file: logged with why, moved aside, learning from scratch; the next file is good. */
static void a_corrupt_learned_state_is_moved_aside(void **state)
{
    struct fx_world *w = *state;
    /* A well-formed header (this format, this host, the right length) over bytes that do not
     * match its checksum. */
    static const char payload[] = "garbage that is not a learned state";
    unsigned char hdr[32] = "AIOPSDLT\001\000\000\000";
    uint32_t order = 0x01020304u;
    memcpy(hdr + 12, &order, 4);
    hdr[16] = (unsigned char)(sizeof(payload) - 1);
    FILE *f = fopen(w->file, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    assert_int_equal(fwrite(payload, 1, sizeof(payload) - 1, f), sizeof(payload) - 1);
    fclose(f);
    assert_int_equal(fx_world_start(w), 0);
    char *body = learned(w);
    assert_non_null(strstr(body, "# aiopsd learned topology: 0 dependencies among 0 CIs"));
    assert_true(log_has(w, "learned topology: "));
    assert_true(log_has(w, "/topology_learned.state rejected: corrupt (checksum does not "
                           "match); moved to "));
    char aside[160];
    struct stat sb;
    snprintf(aside, sizeof(aside), "%s.corrupt", w->file);
    assert_int_equal(stat(aside, &sb), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(stat(w->file, &sb), 0); /* saved at shutdown, and loaded back */
    assert_int_equal(fx_world_start(w), 0);
    assert_true(log_has(w, "learned topology: state loaded from"));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_dependency_is_learned_shown_and_used, setup, teardown),
        cmocka_unit_test_setup_teardown(the_learned_graph_is_saved_periodically, setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_learned_state_is_moved_aside, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
