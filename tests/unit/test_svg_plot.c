/* tests/unit/test_svg_plot.c: the SVG chart of aiopsctl baseline --plot (daemon/svg_plot.h):
 * well-formed, escaped, band only where warm, one dot per flagged point, bounded size when
 * decimated. */
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

#include "common/buf.h"
#include "common/time.h"
#include "daemon/svg_plot.h"
#include "fx_xml.h"

#define T0 (INT64_C(1396310400) * AD_NS_PER_S) /* 2014-04-01T00:00:00Z */

/* A sine series with a 60 s step: warm from point `warm` on, a band of +-5 around it. */
struct series {
    size_t n;
    int64_t *t;
    double *v, *e, *lo, *hi, *score;
};

static void series_new(struct series *s, size_t n, size_t warm)
{
    s->n = n;
    s->t = calloc(n, sizeof(*s->t));
    s->v = calloc(n, sizeof(*s->v));
    s->e = calloc(n, sizeof(*s->e));
    s->lo = calloc(n, sizeof(*s->lo));
    s->hi = calloc(n, sizeof(*s->hi));
    s->score = calloc(n, sizeof(*s->score));
    assert_true(s->t && s->v && s->e && s->lo && s->hi && s->score);
    for (size_t i = 0; i < n; i++) {
        s->t[i] = T0 + (int64_t)i * 60 * AD_NS_PER_S;
        s->v[i] = 50 + 10 * sin((double)i / 50);
        bool w = i >= warm;
        s->e[i] = w ? s->v[i] : NAN;
        s->lo[i] = w ? s->v[i] - 5 : NAN;
        s->hi[i] = w ? s->v[i] + 5 : NAN;
    }
}

static void series_free(struct series *s)
{
    free(s->t);
    free(s->v);
    free(s->e);
    free(s->lo);
    free(s->hi);
    free(s->score);
}

static char *plot(const struct series *s, const char *title)
{
    struct ad_svg_series in = {.title = title,
                               .subtitle = "detector robust, season none",
                               .n = s->n,
                               .t_ns = s->t,
                               .value = s->v,
                               .expected = s->e,
                               .lower = s->lo,
                               .upper = s->hi,
                               .score = s->score};
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_svg_plot(&in, &b), 0);
    char why[128];
    if (!fx_xml_well_formed(b.p, why, sizeof(why)))
        fail_msg("not well-formed: %s", why);
    return ad_buf_steal(&b, NULL);
}

static void short_series_has_band_expected_line_and_one_dot_per_flagged_point(void **state)
{
    (void)state;
    struct series s;
    series_new(&s, 500, 100);
    s.v[300] = 90;
    s.score[300] = 0.99;
    s.v[301] = 10;
    s.score[301] = 0.8;
    s.score[302] = 0.9; /* a high score inside the band: not drawn */
    char *svg = plot(&s, "cpu.csv");
    assert_int_equal(fx_count(svg, "<polygon "), 1);
    assert_int_equal(fx_count(svg, "class=\"expected\""), 1);
    assert_int_equal(fx_count(svg, "class=\"value\""), 1);
    assert_int_equal(fx_count(svg, "</circle>"), 2);
    assert_non_null(strstr(svg, "<title>2014-04-01T05:00:00.000Z value 90,"));
    assert_non_null(strstr(svg, "outside the band: 2<"));
    assert_non_null(strstr(svg, ">cpu.csv</text>"));
    assert_non_null(strstr(svg, ">detector robust, season none</text>"));
    /* Time ticks: 500 minutes span, so hourly ticks labelled HH:MM. */
    assert_non_null(strstr(svg, ">01:00</text>"));
    assert_non_null(strstr(svg, ">08:00</text>"));
    free(svg);
    series_free(&s);
}

static void band_is_one_polygon_per_warm_run(void **state)
{
    (void)state;
    struct series s;
    series_new(&s, 300, 0);
    for (size_t i = 100; i < 120; i++)
        s.lo[i] = s.hi[i] = NAN; /* e.g. the detector restarted after a gap */
    char *svg = plot(&s, "x");
    assert_int_equal(fx_count(svg, "<polygon "), 2);
    free(svg);
    series_free(&s);
}

static void non_finite_values_break_the_line(void **state)
{
    (void)state;
    struct series s;
    series_new(&s, 100, 1000);
    s.v[40] = NAN;
    s.v[70] = INFINITY;
    char *svg = plot(&s, "x");
    const char *d = strstr(svg, "class=\"value\"");
    assert_non_null(d);
    d = strstr(d, " d=\"");
    const char *end = strchr(d + 4, '"');
    size_t moves = 0;
    for (const char *p = d; p < end; p++)
        moves += *p == 'M';
    assert_int_equal(moves, 3);
    assert_int_equal(fx_count(svg, "<polygon "), 0); /* never warm: no band */
    free(svg);
    series_free(&s);
}

static void text_is_escaped_and_invalid_bytes_replaced(void **state)
{
    (void)state;
    struct series s;
    series_new(&s, 10, 0);
    char *svg = plot(&s, "a<b>&\"c'\x01\xff caf\xc3\xa9.csv");
    assert_non_null(strstr(svg, ">a&lt;b&gt;&amp;&quot;c&apos;?? caf\xc3\xa9.csv</text>"));
    free(svg);
    series_free(&s);
}

static void long_series_is_decimated_to_pixel_columns(void **state)
{
    (void)state;
    struct series s;
    series_new(&s, 200000, 1000);
    for (size_t i = 5000; i < 200000; i += 10) {
        s.v[i] = 200;
        s.score[i] = 1;
    }
    char *svg = plot(&s, "long.csv");
    size_t len = strlen(svg);
    assert_true(len < 400 * 1024);
    size_t dots = fx_count(svg, "</circle>");
    assert_true(dots > 0 && dots <= 2 * 1200);
    /* The legend counts every flagged point, not only those drawn. */
    assert_non_null(strstr(svg, "outside the band: 19500<"));
    /* 200000 minutes is about 139 days: dates on the axis. */
    assert_non_null(strstr(svg, ">2014-"));
    free(svg);
    series_free(&s);
}

static void empty_series_is_a_valid_chart_saying_no_data(void **state)
{
    (void)state;
    struct series s = {0};
    char *svg = plot(&s, NULL);
    assert_non_null(strstr(svg, ">no data</text>"));
    free(svg);
}

static void missing_arrays_are_refused(void **state)
{
    (void)state;
    int64_t t = T0;
    struct ad_svg_series in = {.n = 1, .t_ns = &t};
    struct ad_buf b;
    ad_buf_init(&b);
    assert_int_equal(ad_svg_plot(&in, &b), -EINVAL);
    ad_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_series_has_band_expected_line_and_one_dot_per_flagged_point),
        cmocka_unit_test(band_is_one_polygon_per_warm_run),
        cmocka_unit_test(non_finite_values_break_the_line),
        cmocka_unit_test(text_is_escaped_and_invalid_bytes_replaced),
        cmocka_unit_test(long_series_is_decimated_to_pixel_columns),
        cmocka_unit_test(empty_series_is_a_valid_chart_saying_no_data),
        cmocka_unit_test(missing_arrays_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
