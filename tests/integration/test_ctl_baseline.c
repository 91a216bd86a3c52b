/* tests/integration/test_ctl_baseline.c: the real aiopsctl binary's `baseline` subcommand on CSV
 * files this test writes into a temporary directory: rows echoed in order, a spike flagged,
 * rejected rows counted, --suggest, --plot, --forecast, errors and stdin.
 * docs/aiopsctl-baseline.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/time.h"
#include "fx_daemon.h"
#include "fx_xml.h"

#define N_ROWS 600
#define SPIKE_ROW 500 /* 0-based among the data rows */
#define SPIKE_VALUE 150.0

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/aiopsd-ctlbl.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    path_of(name, path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Noise in [-2, 2] from a fixed LCG: the same file on every run. */
static double noise(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return ((double)((*seed >> 8) % 4001) - 2000) / 1000;
}

/* A minute-step series around 50 with one spike; the first rows use each timestamp form so that
 * the echo is checked for all of them. ts[i] receives each row's timestamp as written. */
static double values[N_ROWS]; /* as the file says them */

static void write_spike_file(const char *name, char (*ts)[40])
{
    char path[256];
    path_of(name, path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("timestamp,value\n", f);
    unsigned seed = 42;
    for (int i = 0; i < N_ROWS; i++) {
        long t = 1396310400L + 60L * i; /* from 2014-04-01T00:00:00Z */
        long m = (t / 60) % 60, h = (t / 3600) % 24, d = 1 + (t - 1396310400L) / 86400;
        if (i == 1)
            snprintf(ts[i], 40, "%ld", t);
        else if (i == 2)
            snprintf(ts[i], 40, "%ld000", t);
        else if (i == 3)
            snprintf(ts[i], 40, "2014-04-%02ldT%02ld:%02ld:00Z", d, h, m);
        else if (i == 4)
            snprintf(ts[i], 40, "2014-04-%02ldT%02ld:%02ld:00.000+00:00", d, h, m);
        else
            snprintf(ts[i], 40, "2014-04-%02ld %02ld:%02ld:00", d, h, m);
        char v[32];
        snprintf(v, sizeof(v), "%.6f", i == SPIKE_ROW ? SPIKE_VALUE : 50 + noise(&seed));
        values[i] = strtod(v, NULL);
        fprintf(f, "%s,%s\n", ts[i], v);
    }
    assert_int_equal(fclose(f), 0);
}

/* Runs aiopsctl with args (a shell fragment), stdout captured, stderr into dir/stderr. */
static char *run(const char *args, int *ret_status, char *err, size_t err_n)
{
    char *out = fx_ctl(dir, args, ret_status, err, err_n);
    assert_non_null(out);
    return out;
}

/* The output's data rows: fields split in place. */
struct row {
    char *ts, *value, *score, *expected, *lower, *upper;
};

static size_t parse_output(char *out, struct row *rows, size_t max)
{
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "timestamp,value,anomaly_score,expected,lower,upper");
    size_t n = 0;
    while ((line = strtok_r(NULL, "\n", &save)) && n < max) {
        char *f[6] = {0}, *p = line;
        for (int k = 0; k < 6; k++) {
            f[k] = p;
            p = strchr(p, ',');
            if (k < 5) {
                if (!p)
                    fail_msg("row %zu has fewer than 6 fields: %s", n, line);
                *p++ = '\0';
            }
        }
        assert_null(p);
        rows[n++] = (struct row){f[0], f[1], f[2], f[3], f[4], f[5]};
    }
    return n;
}

static void rows_are_echoed_in_order_with_their_timestamps_as_written(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    static struct row rows[N_ROWS + 1];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    char *out = run("baseline spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(parse_output(out, rows, N_ROWS + 1), N_ROWS);
    for (size_t i = 0; i < N_ROWS; i++) {
        assert_string_equal(rows[i].ts, ts[i]);
        assert_true(strtod(rows[i].value, NULL) == values[i]); /* printed to round-trip */
    }
    assert_non_null(strstr(err, "600 rows, "));
    assert_non_null(strstr(err, "0 rejected (out of order: 0, not finite: 0)"));
    free(out);
}

/* With the robust detector, whose band on bounded noise is predictable (3 robust sigmas of
 * uniform noise in [-2, 2] is about 4.4). Every detector's spike is checked further down. */
static void a_spike_is_flagged_and_the_normal_rows_before_it_are_not(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    static struct row rows[N_ROWS];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    char *out = run("baseline --detector robust spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(parse_output(out, rows, N_ROWS), N_ROWS);
    double top = 0; /* the highest score of a normal row */
    for (size_t i = 0; i < SPIKE_ROW; i++) {
        double v = strtod(rows[i].value, NULL);
        if (rows[i].lower[0] && (v < strtod(rows[i].lower, NULL) || v > strtod(rows[i].upper, NULL)))
            fail_msg("normal row %zu (%s) is outside its band [%s, %s]", i, rows[i].ts,
                     rows[i].lower, rows[i].upper);
        top = fmax(top, strtod(rows[i].score, NULL));
    }
    /* The score is a likelihood of the recent run: one spike lifts it above every normal row. */
    assert_true(strtod(rows[SPIKE_ROW].score, NULL) > top);
    /* Warm by then: a band that does not contain the spike. */
    assert_true(strtod(rows[SPIKE_ROW].upper, NULL) < SPIKE_VALUE);
    assert_true(strtod(rows[SPIKE_ROW].lower, NULL) < strtod(rows[SPIKE_ROW].expected, NULL));
    /* Not warm at first: expected is the value itself, no band. */
    assert_string_equal(rows[0].lower, "");
    assert_string_equal(rows[0].upper, "");
    assert_string_equal(rows[0].score, "0");
    free(out);
}

static void rejected_rows_keep_their_place_and_are_counted(void **state)
{
    (void)state;
    write_file("rejected.csv", "timestamp,value\n"
                               "2014-04-01 00:00:00,1\n"
                               "2014-04-01 00:01:00,nan\n"
                               "2014-04-01 00:02:00,2\n"
                               "2014-04-01 00:02:00,3\n"    /* repeated */
                               "2014-04-01 00:01:30,4\n"    /* out of order */
                               "2014-04-01 00:03:00,-inf\n" /* not finite */
                               "2014-04-01 00:04:00,5\n");
    struct row rows[8];
    int st;
    char err[2048];
    char *out = run("baseline rejected.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(parse_output(out, rows, 8), 7);
    const char *want[] = {"1", "nan", "2", "3", "4", "-inf", "5"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(rows[i].value, want[i]);
    for (size_t i = 1; i < 6; i += (i == 1 ? 2 : 1)) { /* rows 1, 3, 4, 5 */
        assert_string_equal(rows[i].score, "0");
        assert_string_equal(rows[i].expected, "");
        assert_string_equal(rows[i].lower, "");
        assert_string_equal(rows[i].upper, "");
    }
    assert_non_null(
        strstr(err, "7 rows, 0 anomalous, 4 rejected (out of order: 2, not finite: 2)\n"));
    free(out);
}

/* The number after "key: " in the --suggest output, NAN when the key is absent. */
static double suggested(const char *out, const char *key, long *ret_fired, long *ret_of)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\n%s: ", key);
    const char *p = strstr(out, pat);
    if (!p)
        return NAN;
    char *end;
    double v = strtod(p + strlen(pat), &end);
    assert_true(end > p + strlen(pat));
    if (ret_fired)
        assert_int_equal(sscanf(end, " (would have fired on %ld of %ld points)", ret_fired, ret_of),
                         2);
    return v;
}

static void suggest_brackets_the_normal_range_and_counts_what_would_have_fired(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    char *out = run("baseline --detector robust --suggest spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_null(strstr(out, "timestamp,value")); /* the suggestion only, no CSV */
    assert_true(strncmp(out, "detector: robust\n", 17) == 0);
    assert_non_null(strstr(out, "\nseason: "));
    assert_non_null(strstr(out, "\npoints: "));
    long fired, of;
    double whi = suggested(out, "warning_hi", &fired, &of);
    assert_true(whi > 52 && whi < SPIKE_VALUE);
    assert_int_equal(fired, 1); /* the spike only */
    assert_int_equal(of, N_ROWS);
    double chi = suggested(out, "critical_hi", &fired, &of);
    assert_true(chi >= whi && chi < SPIKE_VALUE);
    assert_int_equal(fired, 1);
    double wlo = suggested(out, "warning_lo", &fired, &of);
    if (!isnan(wlo)) {
        assert_true(wlo < 48);
        assert_int_equal(fired, 0);
        assert_true(suggested(out, "critical_lo", NULL, NULL) <= wlo);
    }
    assert_non_null(strstr(out, "\nwarning_why: "));
    assert_non_null(strstr(out, "\ncritical_why: "));
    free(out);
}

static void suggest_says_none_while_the_detector_is_warming_up(void **state)
{
    (void)state;
    write_file("short.csv", "timestamp,value\n"
                            "2014-04-01 00:00:00,1\n"
                            "2014-04-01 00:01:00,2\n"
                            "2014-04-01 00:02:00,3\n");
    int st;
    char err[2048];
    char *out = run("baseline --suggest --warmup 50 short.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\nthresholds: none (3 points learned, warm-up is 50)\n"));
    assert_null(strstr(out, "warning_hi"));
    free(out);
}

static void parameters_from_the_command_line_reach_the_detector(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    static struct row rows[N_ROWS];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    /* A band of 100 spreads is wider than the spike. */
    char *out = run("baseline --detector robust --band 100 spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(parse_output(out, rows, N_ROWS), N_ROWS);
    assert_true(strtod(rows[SPIKE_ROW].upper, NULL) > SPIKE_VALUE);
    free(out);
    /* A warm-up longer than the file: nothing is ever scored. */
    out = run("baseline --detector robust --warmup 1000 spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_int_equal(parse_output(out, rows, N_ROWS), N_ROWS);
    assert_string_equal(rows[SPIKE_ROW].score, "0");
    assert_string_equal(rows[SPIKE_ROW].upper, "");
    free(out);
}

static bool xmllint_present(void)
{
    return system("command -v xmllint >/dev/null 2>&1") == 0;
}

static void plot_writes_a_well_formed_svg_with_band_and_flagged_points(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    char *out = run("baseline --plot plot.svg spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "timestamp,value")); /* the CSV still goes to stdout */
    free(out);
    char path[256], cmd[512];
    path_of("plot.svg", path, sizeof(path));
    if (xmllint_present()) {
        snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
        assert_int_equal(system(cmd), 0);
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char svg[1 << 20];
    size_t n = fread(svg, 1, sizeof(svg) - 1, f);
    svg[n] = '\0';
    fclose(f);
    char why[128];
    if (!fx_xml_well_formed(svg, why, sizeof(why)))
        fail_msg("plot.svg is not well-formed: %s", why);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_true(fx_count(svg, "<polygon ") >= 1);
    assert_true(fx_count(svg, "</circle>") >= 1);
    assert_non_null(strstr(svg, "value 150, expected"));
    assert_non_null(strstr(svg, ">spike.csv</text>"));
    assert_non_null(strstr(svg, ", season "));
}

static void unknown_detector_is_an_error_listing_the_valid_names(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    char *out = run("baseline --detector nope spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "unknown detector 'nope' (valid: "));
    assert_non_null(strstr(err, "robust"));
    free(out);
}

static void stdin_input_gives_the_same_output_as_the_file(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    write_spike_file("spike.csv", ts);
    int st;
    char err[2048];
    char *a = run("baseline spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    char *b = run("baseline - < spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_string_equal(a, b);
    char *c = run("baseline --plot stdin.svg - < spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 0);
    char path[256];
    path_of("stdin.svg", path, sizeof(path));
    assert_int_equal(access(path, R_OK), 0);
    free(a);
    free(b);
    free(c);
}

/* -c: the detector the config's `detectors` patterns pick for --series, and its settings;
 * options override them. */
static void config_patterns_and_settings_apply_and_options_override_them(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    write_spike_file("spike.csv", ts);
    write_file("aiopsd.yaml", "models:\n  baseline:\n    detectors: [\"db-*=robust\", \"*=spot\"]\n"
                              "    warmup: 20\n");
    int st;
    char err[2048];
    char *out = run("baseline -c aiopsd.yaml --series db-1/latency --suggest spike.csv", &st, err,
                    sizeof(err));
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "detector: robust\n"));
    free(out);
    out = run("baseline -c aiopsd.yaml --series web-1/cpu --suggest spike.csv", &st, err,
              sizeof(err));
    assert_non_null(strstr(out, "detector: spot\n"));
    free(out);
    /* warmup 20 from the config: row 20 is scored; --warmup 1000 overrides it. */
    static struct row rows[N_ROWS];
    out = run("baseline -c aiopsd.yaml --series db-1/latency spike.csv", &st, err, sizeof(err));
    assert_int_equal(parse_output(out, rows, N_ROWS), N_ROWS);
    assert_string_not_equal(rows[25].upper, "");
    free(out);
    out = run("baseline -c aiopsd.yaml --series db-1/latency --warmup 1000 spike.csv", &st, err,
              sizeof(err));
    assert_int_equal(parse_output(out, rows, N_ROWS), N_ROWS);
    assert_string_equal(rows[25].upper, "");
    free(out);
    /* A bad config is an error naming the file, line and column. */
    write_file("bad.yaml", "models:\n  baseline:\n    band: wide\n");
    out = run("baseline -c bad.yaml spike.csv", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "bad.yaml:3:11: models.baseline.band"));
    free(out);
}

static void every_detector_answers_one_row_per_input_row_and_flags_the_spike(void **state)
{
    (void)state;
    static char ts[N_ROWS][40];
    static struct row rows[N_ROWS + 1];
    write_spike_file("spike.csv", ts);
    /* The names as the unknown-detector message lists them: every registered detector. */
    char err[2048], *save = NULL;
    int st;
    free(run("baseline --detector nope spike.csv", &st, err, sizeof(err)));
    char *list = strstr(err, "(valid: ");
    assert_non_null(list);
    list += strlen("(valid: ");
    *strchr(list, ')') = '\0';
    size_t n = 0;
    for (char *name = strtok_r(list, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        char args[128], err2[2048];
        n++;
        snprintf(args, sizeof(args), "baseline --detector %s spike.csv", name);
        char *out = run(args, &st, err2, sizeof(err2));
        assert_int_equal(st, 0);
        assert_int_equal(parse_output(out, rows, N_ROWS + 1), N_ROWS);
        assert_string_equal(rows[N_ROWS - 1].ts, ts[N_ROWS - 1]);
        if (!(strtod(rows[SPIKE_ROW].upper, NULL) < SPIKE_VALUE))
            fail_msg("%s: the spike is inside its band (upper %s)", name, rows[SPIKE_ROW].upper);
        free(out);
    }
    assert_true(n >= 1);
}

static void bad_lines_are_reported_skipped_and_fail_the_run(void **state)
{
    (void)state;
    write_file("bad.csv", "timestamp,value\n"
                          "2014-04-01 00:00:00,1\n"
                          "yesterday,2\n"
                          "2014-04-01 00:02:00,x\n"
                          "2014-04-01 00:03:00,4\n");
    struct row rows[4];
    int st;
    char err[2048];
    char *out = run("baseline bad.csv", &st, err, sizeof(err));
    assert_int_equal(st, 1);
    assert_int_equal(parse_output(out, rows, 4), 2);
    assert_string_equal(rows[1].ts, "2014-04-01 00:03:00");
    assert_non_null(strstr(err, "bad.csv:3:1: expected a timestamp"));
    assert_non_null(strstr(err, "bad.csv:4:21: expected a number"));
    assert_non_null(strstr(err, "2 rows, 0 anomalous, 0 rejected (out of order: 0, not finite: "
                                "0), 2 bad lines skipped"));
    free(out);
}

static void unreadable_file_and_bad_options_fail_clearly(void **state)
{
    (void)state;
    int st;
    char err[2048];
    char *out = run("baseline missing.csv", &st, err, sizeof(err));
    assert_int_equal(st, 1);
    assert_non_null(strstr(err, "missing.csv: No such file or directory"));
    free(out);
    out = run("baseline --band -1 missing.csv", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "--band: expected a number above 0"));
    free(out);
    out = run("baseline", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "expected one input file"));
    free(out);
}

/* A disk filling at 3/h after 26 flat hours (5-minute rows): 80 is reached at row 472, 95 at
 * row 532 (the file's own ground truth). */
static void write_disk_file(const char *name)
{
    char path[256];
    path_of(name, path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("timestamp,value\n", f);
    for (int i = 0; i < 600; i++)
        fprintf(f, "%ld,%.3f\n", 1795510800L + 300L * i,
                40 + (double)((i * 7919) % 21 - 10) / 10.0 + (i > 312 ? (i - 312) * 0.25 : 0));
    assert_int_equal(fclose(f), 0);
}

/* The CSV column `name` (0-based among the commas) of line, copied into out. */
static void column(const char *line, int name, char *out, size_t n)
{
    for (int k = 0; k < name && line; k++)
        line = strchr(line, ',') ? strchr(line, ',') + 1 : NULL;
    assert_non_null(line);
    size_t len = strcspn(line, ",\n");
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), line);
}

/* --forecast: per-row predictions, a raised alert before each level is crossed, predicted within
 * 20 minutes, resolved when the value gets there; the summary; the threshold from the config. */
static void forecast_predicts_the_crossing_times(void **state)
{
    (void)state;
    write_disk_file("disk.csv");
    int st;
    char err[4096];
    char *out = run("baseline --forecast --threshold 'above 80 95' --detector robust disk.csv", &st,
                    err, sizeof(err));
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, ",upper,trend_per_hour,forecast_level,forecast_threshold,"
                                "forecast_at,forecast_seconds_left,forecast_alert\n"));
    const int64_t truth[3] = {0, 1795510800LL + 300 * 472, 1795510800LL + 300 * 532};
    int raised = 0, resolved = 0, row = -1;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL, row++) {
        char alert[32], level[32], at[64];
        column(l, 11, alert, sizeof(alert));
        if (strcmp(alert, "raised") == 0) {
            column(l, 7, level, sizeof(level));
            column(l, 9, at, sizeof(at));
            int lvl = strcmp(level, "critical") == 0 ? 2 : 1;
            int64_t at_ns;
            assert_int_equal(ad_time_parse_rfc3339(ad_str_c(at), &at_ns), 0);
            long long off = at_ns / 1000000000 - truth[lvl];
            if (off < -20 * 60 || off > 20 * 60 || row >= (lvl == 2 ? 532 : 472))
                fail_msg("row %d raised %s at %s: %lld s off", row, level, at, off);
            raised++;
        } else if (strcmp(alert, "resolved") == 0) {
            /* The value reached the level: the noise (+-1) is 4 rows of growth. */
            assert_true((row >= 468 && row <= 476) || (row >= 528 && row <= 536));
            resolved++;
        }
    }
    assert_int_equal(raised, 2);
    assert_int_equal(resolved, 2);
    assert_non_null(strstr(err, "forecast alerts: 2 raised, 2 resolved; the first at "));
    assert_non_null(strstr(err, "predicted 80 (warning) at 2026-11-26T00:"));
    free(out);

    /* The config's thresholds rule for --series, and its horizon; --horizon overrides it. */
    write_file("fc.yaml", "models:\n  baseline:\n    detector: robust\n"
                          "    thresholds: [\"host-*/disk_used_pct above 80 95\"]\n"
                          "    forecast_horizon: 30m\n");
    out = run("baseline -c fc.yaml --series host-1/disk_used_pct --forecast --suggest disk.csv",
              &st, err, sizeof(err));
    assert_int_equal(st, 0);
    /* 30 minutes is about one refit (window / 16): only the critical level is caught. */
    assert_non_null(strstr(err, "forecast alerts: 1 raised, 1 resolved"));
    assert_non_null(strstr(err, "predicted 95 (critical) at 2026-11-26T05:"));
    assert_non_null(strstr(err, "the value is past the last level already"));
    free(out);
    out = run("baseline -c fc.yaml --series host-1/disk_used_pct --forecast --horizon 4h disk.csv",
              &st, err, sizeof(err));
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, ",warning,80,2026-11-26T00:"));
    free(out);
    /* No rule for the series, a bad --threshold, options without --forecast: clear errors. */
    out = run("baseline -c fc.yaml --series web-1/cpu --forecast disk.csv", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "--forecast needs a threshold"));
    free(out);
    out = run("baseline --forecast --threshold 'sideways 1 2' disk.csv", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "--threshold: expected \"above|below <warning> <critical>\""));
    free(out);
    out = run("baseline --horizon 2h disk.csv", &st, err, sizeof(err));
    assert_int_equal(st, 2);
    assert_non_null(strstr(err, "go with --forecast"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_are_echoed_in_order_with_their_timestamps_as_written),
        cmocka_unit_test(a_spike_is_flagged_and_the_normal_rows_before_it_are_not),
        cmocka_unit_test(rejected_rows_keep_their_place_and_are_counted),
        cmocka_unit_test(suggest_brackets_the_normal_range_and_counts_what_would_have_fired),
        cmocka_unit_test(suggest_says_none_while_the_detector_is_warming_up),
        cmocka_unit_test(parameters_from_the_command_line_reach_the_detector),
        cmocka_unit_test(plot_writes_a_well_formed_svg_with_band_and_flagged_points),
        cmocka_unit_test(unknown_detector_is_an_error_listing_the_valid_names),
        cmocka_unit_test(stdin_input_gives_the_same_output_as_the_file),
        cmocka_unit_test(every_detector_answers_one_row_per_input_row_and_flags_the_spike),
        cmocka_unit_test(config_patterns_and_settings_apply_and_options_override_them),
        cmocka_unit_test(bad_lines_are_reported_skipped_and_fail_the_run),
        cmocka_unit_test(unreadable_file_and_bad_options_fail_clearly),
        cmocka_unit_test(forecast_predicts_the_crossing_times),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
