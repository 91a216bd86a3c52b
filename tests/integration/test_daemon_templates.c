/* tests/integration/test_daemon_templates.c: the real aiopsd with a real redis-server, fed log
 * events over ZeroMQ (docs/templates.md):
 *  - lines are mined quietly during the learning period; a template never seen before after it
 *    opens an incident in Redis that names the template;
 *  - template ids survive a restart through the state file: a known template seen again after
 *    the restart raises nothing, and a new one is named with the same kind of stable id;
 *  - a corrupt state file is moved aside and mining starts from scratch;
 *  - over syslog (TCP), rsyslog's RFC 3339 lines whose message is a JSON object (JSON lines) are
 *    mined by their "msg": the new template's incident names the message, not the JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "fx_world.h"

static int setup(void **state)
{
    struct fx_world *w =
        fx_world_new("templates.state", "models:\n  templates:\n    learning_period: 10m\n");
    *state = w;
    return w ? 0 : -1;
}

static int teardown(void **state)
{
    fx_world_free(*state);
    return 0;
}

static void start(struct fx_world *w)
{
    assert_int_equal(fx_world_start(w), 0);
}

/* Log events of service db on db-1, one per second from second `at` on. */
static void send_lines(struct fx_world *w, const char *const *msgs, size_t n, long at)
{
    char *lines[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        char line[512];
        snprintf(line, sizeof(line),
                 "{\"kind\":\"log\",\"service\":\"db\",\"resource\":\"db-1\","
                 "\"message\":\"%s\",\"timestamp\":%ld}",
                 msgs[i], 1795510800L + at + (long)i);
        lines[i] = strdup(line);
    }
    assert_int_equal(fx_world_push(w, (const char *const *)lines, n), 0);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

static long stream_mentions(struct fx_world *w, const char *s)
{
    long n = fx_redis_stream_mentions(w->rc, "aiopsd:candidates", s);
    assert_true(n >= 0);
    return n;
}

static const char *const usual[] = {
    "checkpoint starting: time",
    "checkpoint complete: wrote 120 buffers (0.7%)",
    "connection received: host=10.0.0.5 port=51234",
    "checkpoint starting: time",
    "checkpoint complete: wrote 98 buffers (0.6%)",
    "connection received: host=10.0.0.9 port=40022",
};

static void a_new_template_after_learning_opens_an_incident_naming_it(void **state)
{
    struct fx_world *w = *state;
    start(w);
    send_lines(w, usual, 6, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_templates_lines_total", 6, 20000));
    long templates = (long)fx_daemon_metric(&w->daemon, "aiopsd_templates");
    assert_true(templates >= 3 && templates <= 4);
    /* Still learning: a new line 5 minutes in raises nothing. */
    const char *early[] = {"autovacuum: processing database template1"};
    send_lines(w, early, 1, 300);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_templates_lines_total", 7, 20000));
    /* After the learning period: the known ones raise nothing, the new one an incident. */
    const char *later[] = {
        "checkpoint starting: time",
        "PANIC: could not write to file pg_wal/xlogtemp.124: No space left on device"};
    send_lines(w, later, 2, 900);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_templates_lines_total", 9, 20000));
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_candidates_emitted_total", 1, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_templates_alerts_total"), 1);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(stream_mentions(w, "\"check\":\"log:new:"), 1);
    assert_int_equal(stream_mentions(w, "\"template\":\"PANIC: could not write to file"), 1);
    assert_int_equal(stream_mentions(w, "autovacuum"), 0);

    /* The state file was written at shutdown: after a restart the same lines are known. */
    struct stat sb;
    assert_int_equal(stat(w->file, &sb), 0);
    start(w);
    assert_int_equal((long)fx_daemon_metric(&w->daemon, "aiopsd_templates"), templates + 2);
    const char *again[] = {
        "PANIC: could not write to file pg_wal/xlogtemp.977: No space left on device",
        "autovacuum: processing database postgres"};
    send_lines(w, again, 2, 1000);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_templates_lines_total", 2, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_templates_alerts_total"), 0);
    assert_int_equal((long)fx_daemon_metric(&w->daemon, "aiopsd_templates"), templates + 2);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

static void a_corrupt_state_file_is_moved_aside_and_mining_restarts(void **state)
{
    struct fx_world *w = *state;
    FILE *f = fopen(w->file, "w");
    assert_non_null(f);
    fputs("AIOPSDTM\001\000\000\000garbage that is not a state", f);
    fclose(f);
    start(w);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_templates"), 0);
    char aside[160];
    struct stat sb;
    snprintf(aside, sizeof(aside), "%s.corrupt", w->file);
    assert_int_equal(stat(aside, &sb), 0);
    send_lines(w, usual, 6, 0);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_templates_lines_total", 6, 20000));
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
}

/* rsyslog forwarding a JSON-logging service, RFC 3339 timestamps (Debian 12's default). */
static void json_lines_over_rfc3339_syslog_are_mined_by_their_message(void **state)
{
    struct fx_world *w = *state;
    int port = fx_free_port();
    char coll[256];
    snprintf(coll, sizeof(coll), "  syslog:\n    enabled: true\n    tcp_listen: 127.0.0.1:%d\n",
             port);
    assert_int_equal(fx_daemon_start_with(&w->daemon, w->redis.port, "pull", coll, w->yaml, true),
                     0);
    static const char *const usual[] = {"checkpoint complete: wrote %d buffers",
                                        "connection received: host=10.0.0.%d port=5432",
                                        "checkpoint starting: time"};
    char buf[8192];
    size_t off = 0;
    for (int i = 0; i < 9; i++) { /* minutes 0-8: learning */
        char msg[128];
        snprintf(msg, sizeof(msg), usual[i % 3], 10 + i);
        off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                                "<30>2026-12-04T10:%02d:01.123456+00:00 db-1 orders[%d]: "
                                "{\"level\":\"info\",\"msg\":\"%s\",\"pid\":%d}\n",
                                i, 100 + i, msg, 100 + i);
    }
    off += (size_t)snprintf(buf + off, sizeof(buf) - off,
                            "<27>2026-12-04T10:30:00.5+00:00 db-1 orders[7]: {\"level\":\"error\","
                            "\"msg\":\"PANIC: could not write to file \\\"pg_wal/x.7\\\": "
                            "No space left on device\",\"pid\":7}\n");
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, buf, off, 0), (ssize_t)off);
    close(fd);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_templates_lines_total", 10, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_templates_json_lines_total"), 10);
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_templates"), 4);
    assert_true(fx_daemon_wait_metric(&w->daemon, "aiopsd_candidates_emitted_total", 1, 20000));
    assert_int_equal(fx_daemon_metric(&w->daemon, "aiopsd_templates_alerts_total"), 1);
    assert_int_equal(fx_daemon_stop(&w->daemon, 20000), 0);
    assert_int_equal(stream_mentions(w, "\"check\":\"log:new:"), 1);
    assert_int_equal(stream_mentions(w, "\"template\":\"PANIC: could not write to file"), 1);
    assert_int_equal(stream_mentions(w, "\"level\\\":"), 0); /* the JSON is not the template */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_new_template_after_learning_opens_an_incident_naming_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_state_file_is_moved_aside_and_mining_restarts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(json_lines_over_rfc3339_syslog_are_mined_by_their_message,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
