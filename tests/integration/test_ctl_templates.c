/* tests/integration/test_ctl_templates.c: `aiopsctl templates` on generated log files written by
 * the test itself: one output line per input line with the id and final text of its template,
 * lines of one message share an id whatever their numbers, headers stripped by a preset or a
 * --content-regex format, --summary sorted by count, clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx_daemon.h"

#define N_LINES 300

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/aiopsd-ctltm.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* syslog lines of three messages (kinds 0, 1, 2 in turn) with varying numbers, hosts and pids. */
static void write_log(const char *name, int *kinds)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < N_LINES; i++) {
        int k = (i * 7) % 3;
        kinds[i] = k;
        fprintf(f, "Jun %2d 15:%02d:%02d host%d sshd[%d]: ", 1 + i % 28, i % 60, (i * 7) % 60,
                i % 4, 1000 + i);
        if (k == 0)
            fprintf(f, "Accepted password for admin from 10.0.%d.%d port %d ssh2\n", i % 255,
                    (i * 3) % 255, 30000 + i);
        else if (k == 1)
            fprintf(f, "Connection closed by 192.168.%d.%d port %d [preauth]\n", i % 255, i % 7,
                    40000 + i);
        else
            fprintf(f,
                    "error: maximum authentication attempts exceeded for user%d from "
                    "10.9.%d.1 port %d ssh2\n",
                    i % 50, i % 200, 50000 + i);
    }
    assert_int_equal(fclose(f), 0);
}

static char *run(const char *args, int *status, char *err, size_t n)
{
    char *out = fx_ctl(dir, args, status, err, n);
    assert_non_null(out);
    return out;
}

/* Splits "id\ttemplate" lines; returns how many. */
static int lines_of(char *out, char **ids, char **texts, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        assert_true(n < max);
        char *tab = strchr(l, '\t');
        assert_non_null(tab);
        *tab = '\0';
        ids[n] = l;
        texts[n++] = tab + 1;
    }
    return n;
}

static void one_line_per_input_line_grouped_by_message(void **state)
{
    (void)state;
    static int kinds[N_LINES];
    static char *ids[N_LINES + 1], *texts[N_LINES + 1];
    write_log("auth.log", kinds);
    int st;
    char err[1024];
    char *out = run("templates --preset syslog auth.log", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(lines_of(out, ids, texts, N_LINES + 1), N_LINES);
    /* The same message has the same id (and text) on every line, different messages differ. */
    for (int i = 0; i < N_LINES; i++)
        for (int j = 0; j < i; j++) {
            bool same = strcmp(ids[i], ids[j]) == 0;
            if (same != (kinds[i] == kinds[j]))
                fail_msg("lines %d and %d: ids %s %s, kinds %d %d", i, j, ids[i], ids[j], kinds[i],
                         kinds[j]);
            if (same)
                assert_string_equal(texts[i], texts[j]);
        }
    /* The header is gone and the variables are masked. */
    for (int i = 0; i < 3; i++) {
        assert_null(strstr(texts[i], "sshd["));
        assert_null(strstr(texts[i], "Jun"));
    }
    assert_non_null(strstr(texts[0], "Accepted password for admin from "));
    assert_null(strstr(texts[0], "10.0.0.0"));
    assert_non_null(strstr(err, "300 lines, 3 templates, 0 not in the format"));
    free(out);

    /* Without the preset the headers stay in the lines: still one template per message here
     * (the header's variable parts are masked), but the text starts with the header. */
    out = run("templates auth.log", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(lines_of(out, ids, texts, N_LINES + 1), N_LINES);
    assert_non_null(strstr(texts[0], "]: Accepted password for admin from "));
    assert_int_equal(strncmp(texts[0], "<NUM>", 5), 0); /* "Jun 14 15:16:01": one date */
    free(out);
}

static void summary_counts_and_content_regex(void **state)
{
    (void)state;
    static int kinds[N_LINES];
    write_log("auth.log", kinds);
    int st, count[3] = {0};
    for (int i = 0; i < N_LINES; i++)
        count[kinds[i]]++;
    char err[1024], want[64];
    char *out = run("templates --content-regex '<Month> <Day> <Time> <Host> <Tag>: <Content>' "
                    "--summary auth.log",
                    &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_true(strncmp(out, "LINES", 5) == 0);
    snprintf(want, sizeof(want), "\n%-10d ", count[0]);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want), "\n%-10d ", count[1]);
    assert_non_null(strstr(out, want));
    free(out);
    /* stdin gives the same as the file. */
    char *a = run("templates --preset syslog auth.log", &st, err, sizeof(err));
    char *b = run("templates --preset syslog - < auth.log", &st, err, sizeof(err));
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* Writes `text` to dir/name. */
static void write_file(const char *name, const char *text)
{
    assert_int_equal(fx_write_file(dir, name, text), 0);
}

/* Debian 12's rsyslog writes RFC 3339 timestamps; JSON lines carry the message in a field;
 * dpkg versions are no addresses. Own fixtures, each line's expected template given. */
static void presets_for_rfc3339_syslog_and_json_lines(void **state)
{
    (void)state;
    static char *ids[8], *texts[8];
    int st;
    char err[1024];
    write_file("auth.log",
               "2026-12-04T10:00:01.123456+00:00 deb12 sshd[123]: Accepted publickey for alice "
               "from 10.0.0.1 port 50122 ssh2: ED25519 SHA256:abcdef\n"
               "2026-12-04T10:00:02.5+01:00 deb12 sshd[124]: Accepted publickey for alice from "
               "10.0.0.2 port 50123 ssh2: ED25519 SHA256:ghijkl\n"
               "Dec  4 10:00:03 deb12 sshd[125]: Accepted publickey for alice from 10.0.0.3 port "
               "50124 ssh2: ED25519 SHA256:mnopqr\n"
               "2026-12-04T10:00:04Z deb12 dpkg[9]: status installed libc6:amd64 2.36-9+deb12u4\n");
    char *out = run("templates --preset syslog auth.log", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(lines_of(out, ids, texts, 8), 4);
    assert_string_equal(texts[0], "Accepted publickey for alice from <IP> port <NUM> <*>: <*>");
    assert_string_equal(ids[0], ids[1]);
    assert_string_equal(ids[0], ids[2]);                   /* BSD and RFC 3339 headers alike */
    assert_string_equal(texts[3], "status installed <*>"); /* package and version: one list */
    assert_non_null(strstr(err, "4 lines, 2 templates, 0 not in the format"));
    free(out);
    out = run("templates --preset syslog-rfc3339 auth.log", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_non_null(strstr(err, "4 lines, 3 templates, 1 not in the format")); /* the BSD line */
    free(out);

    write_file("app.jsonl",
               "{\"time\":\"2026-12-04T10:00:01Z\",\"level\":\"info\",\"msg\":\"request done in 12 "
               "ms\",\"status\":200}\n"
               "{\"time\":\"2026-12-04T10:00:02Z\",\"level\":\"info\",\"msg\":\"request done in 7 "
               "ms\",\"status\":404}\n"
               "{\"log\":\"worker \\\"w-1\\\" exited\\n\",\"stream\":\"stderr\"}\n"
               "not json at all\n");
    out = run("templates --preset json app.jsonl", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(lines_of(out, ids, texts, 8), 4);
    /* The other fields stand beside the template, as key=value. */
    char *f0 = strchr(texts[0], '\t'), *f2 = strchr(texts[2], '\t');
    assert_non_null(f0);
    assert_non_null(f2);
    *f0++ = '\0';
    *f2++ = '\0';
    assert_non_null(strstr(f0, "level=info"));
    assert_non_null(strstr(f0, "status=200"));
    assert_null(strstr(f0, "msg="));
    assert_string_equal(f2, "stream=stderr");
    assert_null(strchr(texts[3], '\t')); /* not JSON: no fields */
    char *f1 = strchr(texts[1], '\t');
    assert_non_null(f1);
    *f1 = '\0';
    assert_string_equal(texts[0], "request done in <NUM>");
    assert_string_equal(ids[0], ids[1]);
    assert_string_equal(texts[2], "worker \"<*>\" exited"); /* unescaped, then masked */
    assert_string_equal(texts[3], "not json at all");
    assert_non_null(strstr(err, "4 lines, 3 templates, 1 not in the format"));
    free(out);

    /* Four user names at one position: siblings, then one template; every line gets the
     * survivor's id, and --summary tells the id story. */
    write_file("users.log", "Invalid user alice from 10.0.0.1\nInvalid user bob from 10.0.0.2\n"
                            "Invalid user carol from 10.0.0.3\nInvalid user dave from 10.0.0.4\n");
    out = run("templates users.log", &st, err, sizeof(err));
    assert_int_equal(lines_of(out, ids, texts, 8), 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(ids[i], ids[0]);
        assert_string_equal(texts[i], "Invalid user <*> from <IP>");
    }
    char want[80];
    snprintf(want, sizeof(want), "-> %s\n", ids[0]);
    char *sum = run("templates --summary users.log", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    int folds = 0;
    for (char *p = sum; (p = strstr(p, "folded ")); p++)
        folds++;
    assert_int_equal(folds, 2); /* bob and carol into alice (dave joined at the fold) */
    assert_non_null(strstr(sum, want));
    assert_non_null(strstr(sum, "\n4          "));
    free(sum);
    free(out);

    /* Four VM verbs of similar frequency fold at the 4th, then split again once the position
     * has shown split_min (128) lines: --summary gives one "split old -> new" line per verb. */
    static const char *const verbs[] = {"Started", "Paused", "Resumed", "Stopped"};
    char vm[200 * 40];
    size_t at = 0;
    for (int i = 0; i < 200; i++)
        at += (size_t)snprintf(vm + at, sizeof(vm) - at, "instance %d VM %s by host\n", i,
                               verbs[i % 4]);
    write_file("vm.log", vm);
    sum = run("templates --summary vm.log", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    int splits = 0;
    char *first = strstr(sum, "split ");
    assert_non_null(first);
    for (char *p = sum; (p = strstr(p, "split ")); p++) {
        assert_memory_equal(p + 11, first + 11, 16); /* the same old id, four new ids */
        splits++;
    }
    assert_int_equal(splits, 4);
    assert_non_null(strstr(sum, "instance <NUM> VM Paused by host\n"));
    assert_non_null(strstr(err, "200 lines, 5 templates"));
    free(sum);
}

static void errors_are_clear(void **state)
{
    (void)state;
    int st;
    char err[1024];
    free(run("templates --preset nope x.log", &st, err, sizeof(err)));
    assert_int_equal(st, 2);
    assert_non_null(strstr(
        err,
        "unknown preset 'nope' (valid: syslog syslog-rfc3339 json log4j hadoop apache-error)"));
    free(run("templates --content-regex '<Date> (<Content>' x.log", &st, err, sizeof(err)));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "--content-regex: "));
    free(run("templates missing.log", &st, err, sizeof(err)));
    assert_int_equal(st, 1);
    assert_non_null(strstr(err, "missing.log: No such file or directory"));
    char path[128];
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("models:\n  templates:\n    similarity: high\n", f);
    fclose(f);
    free(run("templates -c bad.yaml missing.log", &st, err, sizeof(err)));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "bad.yaml:3:17: models.templates.similarity"));
    /* A mask that does not compile: check-config builds the pipeline, as aiopsd does, and says so.
     */
    snprintf(path, sizeof(path), "%s/badmask.yaml", dir);
    f = fopen(path, "w");
    fputs("models:\n  templates:\n    masks: [\"ok=[0-9]+\", \"broken=(ab\"]\n", f);
    fclose(f);
    free(run("check-config badmask.yaml", &st, err, sizeof(err)));
    assert_int_equal(st, 1);
    assert_non_null(
        strstr(err, "models.templates.masks[1]: mask \"broken\": bad regex at offset 3"));
    free(run("templates -c badmask.yaml missing.log", &st, err, sizeof(err)));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "models.templates.masks[1]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_line_per_input_line_grouped_by_message),
        cmocka_unit_test(summary_counts_and_content_regex),
        cmocka_unit_test(presets_for_rfc3339_syslog_and_json_lines),
        cmocka_unit_test(errors_are_clear),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
