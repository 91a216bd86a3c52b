/* tests/integration/test_daemon_failures.c: failures are reported as failures (issue 15), with
 * the real aiopsd, a real redis-server with ACL users and real HTTP over loopback.
 *  - The ACL line of docs/redis.md, as written there, lets the daemon deliver every candidate
 *    change on this Redis (7.x).
 *  - A user lacking one permission (XADD) gets every write refused: nothing is dropped, the
 *    writes are retried, /readyz answers 503 with Redis's reason, and once the ACL is fixed
 *    (ACL SETUSER) everything arrives, exactly the offline replay's changes.
 *  - A silence whose file cannot be written is refused (503) and not kept; /readyz says why until
 *    a write succeeds, and a DELETE that cannot be persisted is taken back too.
 *  - A model state file that cannot be written makes /readyz answer 503 until a write succeeds. */
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
#include <zmq.h>

#include "fx_daemon.h"
#include "fx_redis.h"
#include "fx_wait.h"

#define PASSWORD "t3st-Pass"
#define MAX_WORDS 64

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    void *zctx, *push;
    char dir[64]; /* password file, broken state paths */
    char events[64];
    char **lines;
    long n_events;
    char body[8192];
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    *state = w;
    if (fx_redis_start(&w->redis) != 0)
        return -1;
    w->zctx = zmq_ctx_new();
    snprintf(w->dir, sizeof(w->dir), "/tmp/aiopsd-fail.XXXXXX");
    if (!mkdtemp(w->dir))
        return -1;
    snprintf(w->events, sizeof(w->events), "/tmp/aiopsd-fail-ev.XXXXXX");
    w->n_events = fx_storm_file(7, w->events, &w->lines);
    return w->n_events > 1000 ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    if (w->daemon.pid > 0)
        fx_daemon_stop(&w->daemon, 10000);
    if (w->push)
        zmq_close(w->push);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    fx_redis_stop(&w->redis);
    fx_lines_free(w->lines);
    unlink(w->events);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
    if (w->dir[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", w->dir);
    free(w);
    return 0;
}

/* --- Redis ACL ------------------------------------------------------------------------------ */

/* The words of the "ACL SETUSER aiopsd ..." line of docs/redis.md, with the user renamed and
 * ">PASSWORD" given our password; without the word `drop` (e.g. "+xadd") when not NULL. */
static int doc_acl(const char *user, const char *drop, char *line, size_t n, const char **argv)
{
    FILE *f = fopen(AD_SOURCE_DIR "/docs/redis.md", "r");
    assert_non_null(f);
    bool found = false;
    while (!found && fgets(line, (int)n, f))
        found = strncmp(line, "ACL SETUSER aiopsd ", 19) == 0;
    fclose(f);
    assert_true(found);
    int argc = 0;
    for (char *save = NULL, *t = strtok_r(line, " \r\n", &save); t && argc < MAX_WORDS - 1;
         t = strtok_r(NULL, " \r\n", &save)) {
        if (argc == 2)
            t = (char *)user;
        else if (strcmp(t, ">PASSWORD") == 0)
            t = ">" PASSWORD;
        else if (drop && strcmp(t, drop) == 0)
            continue;
        argv[argc++] = t;
    }
    return argc;
}

static void redis_ok(struct world *w, int argc, const char **argv)
{
    redisContext *rc = fx_redis_connect(&w->redis);
    assert_non_null(rc);
    redisReply *r = redisCommandArgv(rc, argc, argv, NULL);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "redis: %s\n", r->str);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(rc);
}

static long long redis_xlen(struct world *w)
{
    redisContext *rc = fx_redis_connect(&w->redis);
    assert_non_null(rc);
    const char *argv[] = {"XLEN", "aiopsd:candidates"};
    long long v = fx_redis_int(rc, 2, argv);
    redisFree(rc);
    return v;
}

/* Starts the daemon as `user` (password file) on a PULL socket, events in event time only. */
static void start_as(struct world *w, const char *user)
{
    char text[128], yaml[512];
    snprintf(text, sizeof(text), "%s\n%s\n", user, PASSWORD);
    assert_int_equal(fx_write_file(w->dir, "redis.pass", text), 0);
    snprintf(yaml, sizeof(yaml), "    password_file: \"%s/redis.pass\"\ndaemon:\n  idle_tick: 1m\n",
             w->dir);
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "pull", yaml, false), 0);
}

static void push_all(struct world *w)
{
    void *s = w->push = fx_daemon_pusher(&w->daemon, w->zctx);
    assert_non_null(s);
    for (long i = 0; i < w->n_events; i++)
        assert_int_equal(zmq_send(s, w->lines[i], strlen(w->lines[i]), 0),
                         (int)strlen(w->lines[i]));
}

static int readyz(struct world *w)
{
    return fx_http_get(w->daemon.admin_port, "/readyz", w->body, sizeof(w->body));
}

struct ready_wait {
    struct world *w;
    int code;
    const char *needle;
};

static bool readyz_is(void *ctx)
{
    struct ready_wait *rw = ctx;
    return readyz(rw->w) == rw->code && (!rw->needle || strstr(rw->w->body, rw->needle));
}

static bool wait_readyz(struct world *w, int code, const char *needle, int timeout_ms)
{
    struct ready_wait rw = {w, code, needle};
    bool ok = fx_wait_until(readyz_is, &rw, timeout_ms);
    if (!ok)
        fprintf(stderr, "/readyz: %s", w->body);
    return ok;
}

static void the_documented_acl_delivers_every_candidate(void **state)
{
    struct world *w = *state;
    char line[1024];
    const char *argv[MAX_WORDS];
    int argc = doc_acl("aiopsd", NULL, line, sizeof(line), argv);
    redis_ok(w, argc, argv);
    start_as(w, "aiopsd");
    size_t changes;
    static struct fx_cand cands[4096];
    assert_true(fx_replay_oracle(w->daemon.cfg, w->events, cands, 4096, &changes) > 0);
    assert_true(wait_readyz(w, 200, NULL, 10000));

    push_all(w);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total",
                                      (double)w->n_events, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 20000));
    assert_true(fx_daemon_series(&w->daemon, "aiopsd_redis_errors_total{type=\"dropped\"}") == 0);
    assert_true(fx_daemon_series(&w->daemon, "aiopsd_redis_errors_total{type=\"retried\"}") == 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(redis_xlen(w), (long long)changes);
}

static void a_missing_permission_is_retried_and_reported_until_the_acl_is_fixed(void **state)
{
    struct world *w = *state;
    char line[1024];
    const char *argv[MAX_WORDS];
    int argc = doc_acl("aiopsd_noxadd", "+xadd", line, sizeof(line), argv);
    redis_ok(w, argc, argv);
    start_as(w, "aiopsd_noxadd");
    size_t changes;
    static struct fx_cand cands[4096];
    assert_true(fx_replay_oracle(w->daemon.cfg, w->events, cands, 4096, &changes) > 0);

    push_all(w);
    assert_true(
        fx_daemon_wait_metric(&w->daemon, "aiopsd_redis_permission_errors_total", 3, 20000));
    /* Redis's reason, not just "not connected". */
    assert_true(wait_readyz(w, 503, "NOPERM", 10000));
    assert_non_null(strstr(w->body, "XADD"));
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_redis_writes_refused") == 1);
    assert_true(fx_daemon_metric(&w->daemon, "aiopsd_redis_buffer_depth") > 0);
    assert_int_equal(redis_xlen(w), 0);

    const char *fix[] = {"ACL", "SETUSER", "aiopsd_noxadd", "+xadd"};
    redis_ok(w, 4, fix);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total",
                                      (double)w->n_events, 30000));
    assert_true(fx_daemon_wait_metric_eq(&w->daemon, "aiopsd_redis_buffer_depth", 0, 30000));
    assert_true(wait_readyz(w, 200, NULL, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_writes_refused"), 0);
    /* Retried, never dropped: exactly the replay's changes. */
    assert_true(fx_daemon_series(&w->daemon, "aiopsd_redis_errors_total{type=\"dropped\"}") == 0);
    assert_true(fx_daemon_series(&w->daemon, "aiopsd_redis_errors_total{type=\"retried\"}") >= 3);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_redis_shed_total"), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(redis_xlen(w), (long long)changes);
}

/* --- state files ---------------------------------------------------------------------------- */

/* Makes path a regular file (so nothing can be created under it: even root gets ENOTDIR) or a
 * directory again. */
static void make_file(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && echo x > '%s'", path, path);
    assert_int_equal(system(cmd), 0);
}

static void make_dir(const char *path)
{
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
}

static int api(struct world *w, const char *method, const char *path, const char *body)
{
    return fx_http_request(w->daemon.admin_port, method, path,
                           body ? "Content-Type: application/json\r\n" : NULL, body,
                           body ? strlen(body) : 0, w->body, sizeof(w->body));
}

static void a_silence_that_cannot_be_persisted_is_refused_and_not_kept(void **state)
{
    struct world *w = *state;
    char sub[128], file[192], yaml[512];
    snprintf(sub, sizeof(sub), "%s/state", w->dir);
    snprintf(file, sizeof(file), "%s/silences.json", sub);
    make_file(sub);
    /* A short idle tick: the failed write is retried on it. */
    snprintf(yaml, sizeof(yaml),
             "daemon:\n  idle_tick: 100ms\nmodels:\n  silence:\n    file: \"%s\"\n", file);
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "pull", yaml, true), 0);

    const char *silence = "{\"matchers\":\"service=shop\",\"comment\":\"maintenance\"}";
    assert_int_equal(api(w, "POST", "/api/v1/silences", silence), 503);
    assert_non_null(strstr(w->body, "not persisted"));
    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    assert_string_equal(w->body, "[]");
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_silences"), 0);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_silence_changes_refused_total"), 1);
    assert_true(wait_readyz(w, 503, "silences: cannot write", 5000));

    /* The operator fixes the directory: the retry on the idle tick succeeds, ready again. */
    make_dir(sub);
    assert_true(wait_readyz(w, 200, NULL, 10000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_silence_file_write_failing"), 0);
    char id[64];
    assert_int_equal(api(w, "POST", "/api/v1/silences", silence), 200);
    assert_true(fx_json_field(w->body, "silenceID", id, sizeof(id)));
    struct stat sb;
    assert_int_equal(stat(file, &sb), 0);

    /* Broken again: expiring it cannot be persisted, so it stays active. */
    make_file(sub);
    char item[128];
    snprintf(item, sizeof(item), "/api/v1/silences/%s", id);
    assert_int_equal(api(w, "DELETE", item, NULL), 503);
    assert_int_equal(api(w, "GET", item, NULL), 200);
    assert_non_null(strstr(w->body, "\"state\":\"active\""));
    assert_true(wait_readyz(w, 503, "silences: cannot write", 5000));
    make_dir(sub);
    assert_true(wait_readyz(w, 200, NULL, 10000));
    assert_int_equal(api(w, "DELETE", item, NULL), 200);
    assert_non_null(strstr(w->body, "\"state\":\"expired\""));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_state_file_that_cannot_be_written_makes_the_daemon_unready(void **state)
{
    struct world *w = *state;
    char sub[128], yaml[512];
    snprintf(sub, sizeof(sub), "%s/tm", w->dir);
    make_file(sub);
    snprintf(yaml, sizeof(yaml),
             "models:\n  templates:\n    state_file: \"%s/templates.bin\"\n"
             "    save_interval: 10s\n", sub);
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "pull", yaml, true), 0);
    /* The first save, one interval after the start, fails. */
    assert_true(wait_readyz(w, 503, "cannot write", 30000));
    assert_non_null(strstr(w->body, "templates.bin"));
    make_dir(sub);
    assert_true(wait_readyz(w, 200, NULL, 30000));
    char path[192];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/templates.bin", sub);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_documented_acl_delivers_every_candidate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_missing_permission_is_retried_and_reported_until_the_acl_is_fixed, setup,
            teardown),
        cmocka_unit_test_setup_teardown(a_silence_that_cannot_be_persisted_is_refused_and_not_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_state_file_that_cannot_be_written_makes_the_daemon_unready, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
