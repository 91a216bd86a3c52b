/* tests/integration/test_daemon_templates.c: the real aiopsd with a real redis-server, fed log
 * events over ZeroMQ (docs/templates.md):
 *  - lines are mined quietly during the learning period; a template never seen before after it
 *    opens an incident in Redis that names the template;
 *  - template ids survive a restart through the state file: a known template seen again after
 *    the restart raises nothing, and a new one is named with the same kind of stable id;
 *  - a corrupt state file is moved aside and mining starts from scratch. */
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

#include "fx_world.h"

static int setup(void **state)
{
    struct fx_world *w = fx_world_new("templates.state", "models:\n  templates:\n    learning_period: 10m\n");
    *state = w;
    return w ? 0 : -1;
}

static int teardown(void **state)
{
    fx_world_free(*state);
    return 0;
}

static void start(struct fx_world *w) { assert_int_equal(fx_world_start(w), 0); }

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
    "checkpoint starting: time", "checkpoint complete: wrote 120 buffers (0.7%)",
    "connection received: host=10.0.0.5 port=51234", "checkpoint starting: time",
    "checkpoint complete: wrote 98 buffers (0.6%)", "connection received: host=10.0.0.9 port=40022",
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
    const char *later[] = {"checkpoint starting: time",
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
    const char *again[] = {"PANIC: could not write to file pg_wal/xlogtemp.977: No space left on device",
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_new_template_after_learning_opens_an_incident_naming_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_state_file_is_moved_aside_and_mining_restarts,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
