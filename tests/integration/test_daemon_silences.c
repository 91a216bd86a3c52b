/* tests/integration/test_daemon_silences.c: the real aiopsd with a real redis-server, silences
 * added over the admin API (docs/silences.md):
 *  - alerts a silence matches are counted but open no incident in Redis, the others do; GET shows
 *    the match count; DELETE expires the silence and later alerts open incidents again;
 *  - run-time silences survive a restart through models.silence.file; a corrupt file is moved
 *    aside and the daemon starts without it;
 *  - config silences follow the config file on SIGHUP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <zmq.h>

#include "fx_daemon.h"
#include "fx_redis.h"

struct world {
    struct fx_redis redis;
    struct fx_daemon daemon;
    redisContext *rc;
    void *zctx;
    char dir[64];   /* holds the silences file across daemon restarts */
    char file[128];
    char yaml[1024];
    char body[64 * 1024];
};

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w || fx_redis_start(&w->redis) != 0)
        return -1;
    w->rc = fx_redis_connect(&w->redis);
    w->zctx = zmq_ctx_new();
    snprintf(w->dir, sizeof(w->dir), "/tmp/aiopsd-sil.XXXXXX");
    if (!mkdtemp(w->dir))
        return -1;
    snprintf(w->file, sizeof(w->file), "%s/silences.json", w->dir);
    *state = w;
    return w->rc ? 0 : -1;
}

static int teardown(void **state)
{
    struct world *w = *state;
    char path[160];
    if (w->daemon.pid > 0)
        fx_daemon_stop(&w->daemon, 10000);
    redisFree(w->rc);
    fx_redis_stop(&w->redis);
    zmq_ctx_term(w->zctx);
    unlink(w->file);
    snprintf(path, sizeof(path), "%s.corrupt", w->file);
    unlink(path);
    rmdir(w->dir);
    free(w);
    return 0;
}

/* No idle ticks: event time moves only with events. */
static void config(struct world *w, const char *config_silences)
{
    snprintf(w->yaml, sizeof(w->yaml),
             "daemon:\n  idle_tick: 1m\nmodels:\n  silence:\n    file: \"%s\"\n"
             "    silences: [%s]\n", w->file, config_silences);
}

static void start(struct world *w)
{
    assert_int_equal(fx_daemon_start(&w->daemon, w->redis.port, "pull", w->yaml, true), 0);
}

static int api(struct world *w, const char *method, const char *path, const char *body)
{
    return fx_http_request(w->daemon.admin_port, method, path,
                           body ? "Content-Type: application/json\r\n" : NULL, body,
                           body ? strlen(body) : 0, w->body, sizeof(w->body));
}

static void post_silence(struct world *w, const char *body, char *id, size_t n)
{
    assert_int_equal(api(w, "POST", "/api/v1/silences", body), 200);
    assert_true(fx_json_field(w->body, "silenceID", id, n));
}

static void send_events(struct world *w, const char *const *lines, size_t n)
{
    void *s = zmq_socket(w->zctx, ZMQ_PUSH);
    int linger = 10000;
    char ep[64];
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", w->daemon.zmq_port);
    assert_int_equal(zmq_connect(s, ep), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(zmq_send(s, lines[i], strlen(lines[i]), 0), (int)strlen(lines[i]));
    zmq_close(s);
}

/* How many entries of the candidate stream mention s. */
static long stream_mentions(struct world *w, const char *s)
{
    long n = fx_redis_stream_mentions(w->rc, "aiopsd:candidates", s);
    assert_true(n >= 0);
    return n;
}

#define ALERT(svc, res, check) \
    "{\"service\":\"" svc "\",\"resource\":\"" res "\",\"check\":\"" check "\"," \
    "\"severity\":\"critical\",\"timestamp\":\"2026-11-24T09:00:00Z\"}"

static void silenced_alerts_open_no_incident_and_delete_expires_the_silence(void **state)
{
    struct world *w = *state;
    char id[64], other[64];
    config(w, "");
    start(w);

    /* Alertmanager's v2 shape; a maintenance window reaching far into the (wall-clock) future. */
    post_silence(w, "{\"matchers\":[{\"name\":\"service\",\"value\":\"checkout\",\"isRegex\":false},"
                    "{\"name\":\"check\",\"value\":\"Disk.*\",\"isRegex\":true}],"
                    "\"startsAt\":\"2026-11-24T08:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
                    "\"createdBy\":\"ann\",\"comment\":\"disk swap\"}", id, sizeof(id));
    post_silence(w, "{\"matchers\":\"env=~\\\"lab|dev\\\"\",\"createdBy\":\"bob\"}", other,
                 sizeof(other));
    assert_string_not_equal(id, other);

    /* Bad documents are refused with a JSON error naming the problem. */
    assert_int_equal(api(w, "POST", "/api/v1/silences", "{\"matchers\":[{\"name\":\"check\","
                                                        "\"value\":\"(\",\"isRegex\":true}]}"), 400);
    assert_non_null(strstr(w->body, "{\"error\":\"check: bad regex"));
    assert_int_equal(api(w, "POST", "/api/v1/silences", "{\"matchers\":"), 400);
    assert_non_null(strstr(w->body, "\"error\":\"malformed JSON"));
    assert_int_equal(api(w, "POST", "/api/v1/silences", "{\"matchers\":\"a=b\",\"endsAt\":"
                                                        "\"soon\"}"), 400);
    assert_non_null(strstr(w->body, "endsAt: expected an RFC 3339 time"));
    assert_int_equal(api(w, "DELETE", "/api/v1/silences/nope", NULL), 404);
    assert_int_equal(api(w, "PUT", "/api/v1/silences", "{}"), 405);

    const char *const events[] = {
        ALERT("checkout", "silenced-db1", "DiskFull"),
        ALERT("checkout", "silenced-db2", "DiskFull"),
        ALERT("checkout", "silenced-db3", "DiskSlow"),
        ALERT("checkout", "web1", "CPUHigh"),
        ALERT("shop", "shop-db1", "DiskFull"),
    };
    send_events(w, events, 5);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total", 5, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_alerts_silenced_total"), 3);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_silence_matched_events_total"), 3);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_silences"), 2);

    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    char *mine = strstr(w->body, id);
    assert_non_null(mine);
    assert_non_null(strstr(mine, "\"status\":{\"state\":\"active\"}"));
    assert_non_null(strstr(mine, "\"createdBy\":\"ann\",\"comment\":\"disk swap\","
                                 "\"origin\":\"api\",\"matched\":3}"));

    assert_int_equal(api(w, "DELETE", "/api/v1/silences/", NULL), 404);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/silences/%s", id);
    assert_int_equal(api(w, "DELETE", path, NULL), 200);
    assert_non_null(strstr(w->body, "\"status\":{\"state\":\"expired\"}"));
    assert_int_equal(api(w, "GET", path, NULL), 200);
    assert_non_null(strstr(w->body, "\"state\":\"expired\""));

    /* Alertmanager's update: the same id posted again replaces the silence. */
    char body[256], updated[64];
    snprintf(body, sizeof(body), "{\"id\":\"%s\",\"matchers\":\"env=~\\\"lab|dev|qa\\\"\"}",
             other);
    post_silence(w, body, updated, sizeof(updated));
    assert_string_not_equal(updated, other);
    assert_int_equal(api(w, "POST", "/api/v1/silences", "{\"id\":\"nope\",\"matchers\":\"a=b\"}"),
                     404);

    /* Expired at the wall clock: an alert stamped now (no timestamp) is no longer silenced. */
    const char *const later[] = {
        "{\"service\":\"checkout\",\"resource\":\"late-db4\",\"check\":\"DiskFull\"}"};
    send_events(w, later, 1);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_pipeline_events_total", 6, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_alerts_silenced_total"), 3);

    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(stream_mentions(w, "silenced-db"), 0);
    assert_true(stream_mentions(w, "web1") >= 1);
    assert_true(stream_mentions(w, "shop-db1") >= 1);
    assert_true(stream_mentions(w, "late-db4") >= 1);

    /* The same silences file after a restart: both silences, with their ids and states. */
    start(w);
    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    mine = strstr(w->body, id);
    assert_non_null(mine);
    assert_non_null(strstr(mine, "\"state\":\"expired\""));
    mine = strstr(w->body, other);
    assert_non_null(mine);
    assert_non_null(strstr(mine, "\"state\":\"expired\""));
    mine = strstr(w->body, updated);
    assert_non_null(mine);
    assert_non_null(strstr(mine, "\"state\":\"active\""));
    assert_non_null(strstr(mine, "{\"name\":\"env\",\"value\":\"lab|dev|qa\",\"isRegex\":true,"
                                 "\"isEqual\":true}"));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_corrupt_silences_file_is_moved_aside_and_not_fatal(void **state)
{
    struct world *w = *state;
    FILE *f = fopen(w->file, "w");
    assert_non_null(f);
    fputs("[{\"matchers\":\"a=b\",", f);
    fclose(f);
    config(w, "\"service=maint comment=\\\"from the config\\\"\"");
    start(w);
    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    assert_non_null(strstr(w->body, "\"comment\":\"from the config\",\"origin\":\"config\""));
    assert_null(strstr(w->body, "\"origin\":\"api\""));
    char aside[160];
    struct stat sb;
    snprintf(aside, sizeof(aside), "%s.corrupt", w->file);
    assert_int_equal(stat(aside, &sb), 0);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void config_silences_follow_the_config_on_sighup(void **state)
{
    struct world *w = *state;
    config(w, "\"service=first\"");
    start(w);
    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    assert_non_null(strstr(w->body, "\"value\":\"first\""));
    char cfg_id[64];
    assert_true(fx_json_field(w->body, "id", cfg_id, sizeof(cfg_id)));
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/silences/%s", cfg_id);
    assert_int_equal(api(w, "DELETE", path, NULL), 409); /* it belongs to the config */

    config(w, "\"service=second end=2099-01-01T00:00:00Z\"");
    assert_int_equal(fx_daemon_write_config(&w->daemon, "pull", w->yaml), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reloads_total", 1, 10000));
    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    assert_null(strstr(w->body, "\"value\":\"first\""));
    assert_non_null(strstr(w->body, "\"value\":\"second\""));

    /* A bad regex is refused by the reload, which keeps the running silences. */
    config(w, "\"check=~(\"");
    assert_int_equal(fx_daemon_write_config(&w->daemon, "pull", w->yaml), 0);
    assert_int_equal(fx_daemon_kill(&w->daemon, SIGHUP), 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_config_reload_failures_total", 1,
                                      10000));
    assert_int_equal(api(w, "GET", "/api/v1/silences", NULL), 200);
    assert_non_null(strstr(w->body, "\"value\":\"second\""));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

/* --- authorisation (docs/security.md) --------------------------------------------------------- */

static int api_as(struct world *w, const char *method, const char *path, const char *headers,
                  const char *body)
{
    return fx_http_request(w->daemon.admin_port, method, path, headers, body,
                           body ? strlen(body) : 0, w->body, sizeof(w->body));
}

static bool log_has(struct world *w, const char *needle)
{
    static char buf[1 << 20];
    FILE *f = fopen(w->daemon.log, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

#define JSON "Content-Type: application/json\r\n"
#define READ_AUTH "Authorization: Bearer read-0123456789abcdef\r\n"
#define WRITE_AUTH "Authorization: Bearer write-fedcba9876543210\r\n"

static void an_unauthenticated_client_cannot_change_silences(void **state)
{
    struct world *w = *state;
    char admin[512], id[64];
    const char *evil = "{\"matchers\":\"check=~.+\",\"createdBy\":\"mallory\"}";

    assert_int_equal(fx_write_file(w->dir, "read.token", "read-0123456789abcdef\n"), 0);
    assert_int_equal(fx_write_file(w->dir, "write.token", "write-fedcba9876543210\n"), 0);
    snprintf(admin, sizeof(admin), "  token_file: \"%s/read.token\"\n"
             "  write_token_file: \"%s/write.token\"\n", w->dir, w->dir);
    config(w, "");
    assert_int_equal(fx_daemon_start_admin(&w->daemon, w->redis.port, "pull", admin, NULL, w->yaml,
                                           true),
                     0);

    assert_int_equal(api_as(w, "POST", "/api/v1/silences", JSON, evil), 401);
    assert_int_equal(api_as(w, "POST", "/api/v1/silences",
                            "Authorization: Bearer write-fedcba987654321\r\n" JSON, evil), 401);
    assert_int_equal(api_as(w, "POST", "/api/v1/silences", READ_AUTH JSON, evil), 403);
    /* A browser's cross-site post: text/plain, even with the token (it cannot add one). */
    assert_int_equal(api_as(w, "POST", "/api/v1/silences", "Content-Type: text/plain\r\n", evil),
                     401);
    assert_int_equal(api_as(w, "POST", "/api/v1/silences",
                            WRITE_AUTH "Content-Type: text/plain\r\n", evil), 415);
    /* Reading needs the read token. */
    assert_int_equal(api_as(w, "GET", "/api/v1/silences", NULL, NULL), 401);
    assert_int_equal(api_as(w, "GET", "/api/v1/silences", READ_AUTH, NULL), 200);
    assert_null(strstr(w->body, "mallory"));

    assert_int_equal(api_as(w, "POST", "/api/v1/silences", WRITE_AUTH JSON,
                            "{\"matchers\":\"check=DiskFull\",\"createdBy\":\"alice\"}"), 200);
    assert_true(fx_json_field(w->body, "silenceID", id, sizeof(id)));
    char item[128];
    snprintf(item, sizeof(item), "/api/v1/silences/%s", id);
    assert_int_equal(api_as(w, "DELETE", item, NULL, NULL), 401);
    assert_int_equal(api_as(w, "DELETE", item, READ_AUTH, NULL), 403);
    assert_int_equal(api_as(w, "GET", item, READ_AUTH, NULL), 200);
    assert_non_null(strstr(w->body, "\"state\":\"active\""));
    assert_int_equal(api_as(w, "DELETE", item, WRITE_AUTH, NULL), 200);
    assert_non_null(strstr(w->body, "\"state\":\"expired\""));
    /* Every change names the client and the token; refusals are logged too. */
    assert_true(log_has(w, "admin: POST /api/v1/silences from 127.0.0.1:"));
    assert_true(log_has(w, "(token: write)"));
    assert_true(log_has(w, "from 127.0.0.1:"));
    assert_true(log_has(w, "(401): missing bearer token"));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/read.token", w->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/write.token", w->dir);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            silenced_alerts_open_no_incident_and_delete_expires_the_silence, setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_silences_file_is_moved_aside_and_not_fatal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(config_silences_follow_the_config_on_sighup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_unauthenticated_client_cannot_change_silences, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
