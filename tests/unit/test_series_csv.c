/* tests/unit/test_series_csv.c: the "timestamp,value" reader (common/series_csv.h): every
 * timestamp form, the header, quoting and line ends, and errors that point at line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/series_csv.h"
#include "common/time.h"

/* 2014-04-01T00:00:00Z */
#define T0 (INT64_C(1396310400) * AD_NS_PER_S)

struct csv {
    FILE *f;
    struct ad_csv_reader *r;
    struct ad_err err;
};

static void csv_open(struct csv *c, const char *text, size_t len)
{
    memset(c, 0, sizeof(*c));
    /* fmemopen refuses a zero-sized buffer; a tmpfile works for every length. */
    c->f = tmpfile();
    assert_non_null(c->f);
    assert_int_equal(fwrite(text, 1, len, c->f), len);
    rewind(c->f);
    assert_int_equal(ad_csv_open(c->f, "in.csv", &c->r, &c->err), 0);
}

static void csv_open_s(struct csv *c, const char *text)
{
    csv_open(c, text, strlen(text));
}

static void csv_close(struct csv *c)
{
    ad_csv_close(c->r);
    fclose(c->f);
}

/* Reads the next row, which must parse, and checks its time and value. */
static void next_ok(struct csv *c, int64_t t_ns, double value)
{
    struct ad_csv_row row;
    int rc = ad_csv_next(c->r, &row, &c->err);
    if (rc != 1)
        fail_msg("ad_csv_next: %d %s", rc, c->err.msg);
    assert_true(row.t_ns == t_ns);
    if (isnan(value))
        assert_true(isnan(row.value));
    else
        assert_true(row.value == value);
}

static void next_end(struct csv *c)
{
    struct ad_csv_row row;
    assert_int_equal(ad_csv_next(c->r, &row, &c->err), 0);
}

/* Reads the next row, which must be an error whose message starts with prefix. */
static void next_bad(struct csv *c, const char *prefix)
{
    struct ad_csv_row row;
    assert_int_equal(ad_csv_next(c->r, &row, &c->err), -EINVAL);
    if (strncmp(c->err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", c->err.msg, prefix);
}

static void nab_file_with_header_reads_every_row(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "timestamp,value\n"
                   "2014-04-01 00:00:00,20.5\n"
                   "2014-04-01 00:05:00,-3\n");
    struct ad_csv_row row;
    assert_int_equal(ad_csv_next(c.r, &row, &c.err), 1);
    assert_true(row.t_ns == T0);
    assert_true(row.value == 20.5);
    assert_int_equal(row.line, 2);
    assert_int_equal(row.ts_len, strlen("2014-04-01 00:00:00"));
    assert_memory_equal(row.ts, "2014-04-01 00:00:00", row.ts_len);
    next_ok(&c, T0 + 300 * AD_NS_PER_S, -3);
    next_end(&c);
    next_end(&c); /* the end stays the end */
    csv_close(&c);
}

static void first_line_that_parses_is_a_row_not_a_header(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "2014-04-01 00:00:00,1\n2014-04-01 00:00:01,2\n");
    next_ok(&c, T0, 1);
    next_ok(&c, T0 + AD_NS_PER_S, 2);
    next_end(&c);
    csv_close(&c);
}

static void space_separated_time_takes_microseconds_as_utc(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "2014-04-01 00:00:00.000000,1\n"
                   "2014-04-01 00:00:00.123456,2\n"
                   "2014-04-01 00:00:01.5,3\n"
                   "2014-04-01T00:00:02,4\n");
    next_ok(&c, T0, 1);
    next_ok(&c, T0 + 123456 * AD_NS_PER_US, 2);
    next_ok(&c, T0 + 1500 * AD_NS_PER_MS, 3);
    next_ok(&c, T0 + 2 * AD_NS_PER_S, 4);
    next_end(&c);
    csv_close(&c);
}

static void rfc3339_with_zone_or_offset(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "2014-04-01T00:00:00Z,1\n"
                   "2014-04-01T02:00:00.250+02:00,2\n"
                   "2014-03-31T19:00:00-05:00,3\n"
                   "2014-04-01 00:00:09z,4\n");
    next_ok(&c, T0, 1);
    next_ok(&c, T0 + 250 * AD_NS_PER_MS, 2);
    next_ok(&c, T0, 3);
    next_ok(&c, T0 + 9 * AD_NS_PER_S, 4);
    next_end(&c);
    csv_close(&c);
}

static void epoch_numbers_scale_by_magnitude(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "1396310400,1\n"
                   "1396310400.25,2\n"
                   "1396310400123,3\n"
                   "1396310400123456,4\n"
                   "1396310400123456789,5\n");
    next_ok(&c, T0, 1);
    next_ok(&c, T0 + 250 * AD_NS_PER_MS, 2);
    next_ok(&c, T0 + 123 * AD_NS_PER_MS, 3);
    next_ok(&c, T0 + 123456 * AD_NS_PER_US, 4);
    next_ok(&c, T0 + 123456789, 5); /* exact: not rounded through a double */
    next_end(&c);
    csv_close(&c);
}

static void quotes_spaces_crlf_and_blank_lines_are_accepted(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "\xEF\xBB\xBF\"timestamp\",\"value\"\r\n"
                   "\r\n"
                   "\"2014-04-01 00:00:00\",\"7\"\r\n"
                   "   \r\n"
                   "  2014-04-01 00:00:01 ,  8.25  \r\n"
                   "\n"
                   "\t\"1396310402\" , \"9\"\t\r\n");
    struct ad_csv_row row;
    assert_int_equal(ad_csv_next(c.r, &row, &c.err), 1);
    assert_true(row.t_ns == T0 && row.value == 7);
    assert_int_equal(row.line, 3);
    assert_int_equal(row.ts_len, 19); /* quotes are not part of the timestamp as written */
    assert_memory_equal(row.ts, "2014-04-01 00:00:00", 19);
    assert_int_equal(ad_csv_next(c.r, &row, &c.err), 1);
    assert_true(row.t_ns == T0 + AD_NS_PER_S && row.value == 8.25);
    assert_int_equal(row.line, 5);
    assert_int_equal(row.ts_len, 19); /* nor are the spaces around it */
    next_ok(&c, T0 + 2 * AD_NS_PER_S, 9);
    next_end(&c);
    csv_close(&c);
}

static void nan_and_inf_values_are_read_for_the_caller_to_judge(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "timestamp,value\n"
                   "1396310400,nan\n"
                   "1396310401,NaN\n"
                   "1396310402,inf\n"
                   "1396310403,-Infinity\n"
                   "1396310404,1e308\n");
    next_ok(&c, T0, NAN);
    next_ok(&c, T0 + AD_NS_PER_S, NAN);
    next_ok(&c, T0 + 2 * AD_NS_PER_S, INFINITY);
    next_ok(&c, T0 + 3 * AD_NS_PER_S, -INFINITY);
    next_ok(&c, T0 + 4 * AD_NS_PER_S, 1e308);
    next_end(&c);
    csv_close(&c);
}

static void bad_lines_name_line_and_column_and_reading_goes_on(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "timestamp,value\n"
                   "2014-04-01 00:00:00,1\n"
                   "2014-13-01 00:00:00,2\n" /* month 13 */
                   "2014-04-01 00:00:02;3\n" /* no comma */
                   "2014-04-01 00:00:03,abc\n"
                   "2014-04-01 00:00:04,\n"
                   "2014-04-01 00:00:05,5,6\n"
                   "\"2014-04-01 00:00:06,6\n"
                   "yesterday,7\n"
                   "2014-04-01 00:00:08,  12x\n"
                   "2014-04-01 00:00:09,9\n");
    next_ok(&c, T0, 1);
    next_bad(&c, "in.csv:3:1: expected a timestamp");
    assert_non_null(strstr(c.err.msg, "got \"2014-13-01 00:00:00\""));
    assert_int_equal(c.err.line, 3);
    assert_int_equal(c.err.col, 1);
    next_bad(&c, "in.csv:4:1: expected a timestamp"); /* "...:02;3" is the whole first field */
    next_bad(&c, "in.csv:5:21: expected a number");
    assert_non_null(strstr(c.err.msg, "got \"abc\""));
    next_bad(&c, "in.csv:6:21: expected a number");
    assert_non_null(strstr(c.err.msg, "got nothing"));
    next_bad(&c, "in.csv:7:22: expected the end of the line after the value");
    next_bad(&c, "in.csv:8:1: expected a closing '\"'");
    next_bad(&c, "in.csv:9:1: expected a timestamp");
    next_bad(&c, "in.csv:10:23: expected a number");
    next_ok(&c, T0 + 9 * AD_NS_PER_S, 9);
    next_end(&c);
    csv_close(&c);
}

static void only_the_first_line_may_be_a_header(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "\n\ntime,value\ntime,value\n1396310400,1\n");
    next_bad(&c, "in.csv:4:1: expected a timestamp");
    next_ok(&c, T0, 1);
    next_end(&c);
    csv_close(&c);
}

static void long_lines_are_reported_and_skipped(void **state)
{
    (void)state;
    size_t pad = 100000;
    char *text = malloc(pad + 128);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "timestamp,value\n1396310400,1\n1396310401,");
    memset(text + n, '1', pad);
    n += pad;
    n += (size_t)sprintf(text + n, "\n1396310402,3\n");
    struct csv c;
    csv_open(&c, text, n);
    next_ok(&c, T0, 1);
    next_bad(&c, "in.csv:3:4097: expected a line of at most 4096 bytes");
    next_ok(&c, T0 + 2 * AD_NS_PER_S, 3);
    next_end(&c);
    csv_close(&c);
    free(text);
}

static void a_long_line_within_the_bound_is_a_row(void **state)
{
    (void)state;
    char text[4200];
    int n = snprintf(text, sizeof(text), "1396310400,%*s\n", 4000, "42");
    struct csv c;
    csv_open(&c, text, (size_t)n);
    next_ok(&c, T0, 42);
    next_end(&c);
    csv_close(&c);
}

static void a_nul_byte_is_an_error_at_its_column(void **state)
{
    (void)state;
    static const char text[] = "1396310400,1\n1396310401,2\0003\n1396310402,3\n";
    struct csv c;
    csv_open(&c, text, sizeof(text) - 1);
    next_ok(&c, T0, 1);
    next_bad(&c, "in.csv:2:12: expected a number");
    next_ok(&c, T0 + 2 * AD_NS_PER_S, 3);
    next_end(&c);
    csv_close(&c);
}

static void empty_file_and_header_only_file_have_no_rows(void **state)
{
    (void)state;
    struct csv c;
    csv_open(&c, "", 0);
    next_end(&c);
    csv_close(&c);
    csv_open_s(&c, "timestamp,value\n");
    next_end(&c);
    csv_close(&c);
    csv_open_s(&c, "\n\r\n  \n");
    next_end(&c);
    csv_close(&c);
}

static void last_line_without_newline_is_read(void **state)
{
    (void)state;
    struct csv c;
    csv_open_s(&c, "timestamp,value\n1396310400,1\n1396310401,2");
    next_ok(&c, T0, 1);
    next_ok(&c, T0 + AD_NS_PER_S, 2);
    next_end(&c);
    csv_close(&c);
    csv_open_s(&c, "1396310400,5\r");
    next_ok(&c, T0, 5);
    next_end(&c);
    csv_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nab_file_with_header_reads_every_row),
        cmocka_unit_test(first_line_that_parses_is_a_row_not_a_header),
        cmocka_unit_test(space_separated_time_takes_microseconds_as_utc),
        cmocka_unit_test(rfc3339_with_zone_or_offset),
        cmocka_unit_test(epoch_numbers_scale_by_magnitude),
        cmocka_unit_test(quotes_spaces_crlf_and_blank_lines_are_accepted),
        cmocka_unit_test(nan_and_inf_values_are_read_for_the_caller_to_judge),
        cmocka_unit_test(bad_lines_name_line_and_column_and_reading_goes_on),
        cmocka_unit_test(only_the_first_line_may_be_a_header),
        cmocka_unit_test(long_lines_are_reported_and_skipped),
        cmocka_unit_test(a_long_line_within_the_bound_is_a_row),
        cmocka_unit_test(a_nul_byte_is_an_error_at_its_column),
        cmocka_unit_test(empty_file_and_header_only_file_have_no_rows),
        cmocka_unit_test(last_line_without_newline_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
