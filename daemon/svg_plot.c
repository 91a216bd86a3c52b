/* daemon/svg_plot.c: the SVG chart behind aiopsctl baseline --plot. Builds the whole document in
 * an ad_buf from arrays; no I/O, no dependency beyond libc. */
#include "daemon/svg_plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/time.h"
#include "common/utf8.h"

#define MARGIN_L 80
#define MARGIN_R 24
#define MARGIN_T 60
#define MARGIN_B 78

#define COLOR_VALUE "#1f4e79"
#define COLOR_EXPECTED "#2ca02c"
#define COLOR_BAND "#9ecae1"
#define COLOR_FLAG "#d62728"

/* One x position of the chart: a point, or one pixel column of a decimated series. */
struct slot {
    double x;       /* pixels */
    double v[2];    /* the value(s) drawn, in time order; v[1] NaN when there is one */
    bool present;   /* some point falls here */
    bool has_v;     /* some finite value falls here */
    double lo, hi;  /* outer band edges; NaN when no warm point falls here */
    double exp_sum; /* expected values of the warm points, summed (drawn as their mean) */
    unsigned exp_n;
    long imin, imax; /* indices of the lowest and highest finite value */
    long flag[2];    /* indices of the highest and lowest flagged point; -1 for none */
};

struct plot {
    const struct ad_svg_series *s;
    struct ad_buf *out;
    int rc; /* first append failure (-ENOMEM); later appends are skipped */
    int w, h;
    double px0, px1, py0, py1; /* the plot area */
    int64_t t0, t1;            /* time span; t1 > t0 */
    double y0, y1, ystep;      /* value span and tick step; y1 > y0 */
    struct slot *slots;
    size_t n_slots;
    size_t flagged; /* every point outside the band, drawn or not */
};

static void put(struct plot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct plot *p, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    if (p->rc < 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(tmp))
        n = (int)sizeof(tmp) - 1; /* only fixed short fragments go through here */
    if (ad_buf_append(p->out, tmp, (size_t)n) < 0)
        p->rc = -ENOMEM;
}

/* Appends s as XML character data: markup escaped, control bytes and invalid UTF-8 as '?' (XML
 * 1.0 allows neither, and a file name may hold both). */
static void put_text(struct plot *p, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n && p->rc == 0;) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        size_t len = 1;
        switch (c) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            if (c >= 0x80)
                len = ad_utf8_char_len((const unsigned char *)s + i, n - i);
            if (len == 0 || (c < 0x20 && c != '\t')) {
                rep = "?";
                len = 1;
            }
        }
        int r = rep ? ad_buf_puts(p->out, rep) : ad_buf_append(p->out, s + i, len);
        if (r < 0)
            p->rc = -ENOMEM;
        i += len;
    }
}

static double xmap(const struct plot *p, int64_t t)
{
    return p->px0 + (double)(t - p->t0) / (double)(p->t1 - p->t0) * (p->px1 - p->px0);
}

/* Clamped a little outside the plot area: the clip path hides the excess, and a band that
 * exploded does not put huge numbers into the file. */
static double ymap(const struct plot *p, double v)
{
    double y = p->py1 - (v - p->y0) / (p->y1 - p->y0) * (p->py1 - p->py0);
    if (!(y > p->py0 - 10))
        return p->py0 - 10;
    return y < p->py1 + 10 ? y : p->py1 + 10;
}

static double val(const double *a, size_t i)
{
    return a ? a[i] : NAN;
}

/* Outside the learned band where there is one: what the daemon counts toward an alert. */
static bool is_flagged(const struct ad_svg_series *s, size_t i)
{
    double lo = val(s->lower, i), hi = val(s->upper, i), v = s->value[i];
    return isfinite(v) && isfinite(lo) && isfinite(hi) && (v < lo || v > hi);
}

static void add_point(struct plot *p, struct slot *sl, size_t i)
{
    const struct ad_svg_series *s = p->s;
    double v = s->value[i], lo = val(s->lower, i), hi = val(s->upper, i);
    sl->present = true;
    if (isfinite(v)) {
        if (!sl->has_v || v < s->value[sl->imin])
            sl->imin = (long)i;
        if (!sl->has_v || v > s->value[sl->imax])
            sl->imax = (long)i;
        sl->has_v = true;
    }
    if (isfinite(lo) && isfinite(hi)) {
        sl->lo = isnan(sl->lo) ? lo : fmin(sl->lo, lo);
        sl->hi = isnan(sl->hi) ? hi : fmax(sl->hi, hi);
        if (isfinite(val(s->expected, i))) {
            sl->exp_sum += s->expected[i];
            sl->exp_n++;
        }
    }
    if (is_flagged(s, i)) {
        p->flagged++;
        if (sl->flag[0] < 0 || v > s->value[sl->flag[0]])
            sl->flag[0] = (long)i;
        if (sl->flag[1] < 0 || v < s->value[sl->flag[1]])
            sl->flag[1] = (long)i;
    }
}

/* One slot per point, or per pixel column above AD_SVG_DECIMATE_ABOVE points. */
static int build_slots(struct plot *p)
{
    const struct ad_svg_series *s = p->s;
    bool decimate = s->n > AD_SVG_DECIMATE_ABOVE;
    size_t cols = (size_t)(p->px1 - p->px0) + 1;
    p->n_slots = decimate ? cols : s->n;
    p->slots = calloc(p->n_slots ? p->n_slots : 1, sizeof(*p->slots));
    if (!p->slots)
        return -ENOMEM;
    for (size_t k = 0; k < p->n_slots; k++) {
        struct slot *sl = &p->slots[k];
        sl->v[0] = sl->v[1] = sl->lo = sl->hi = NAN;
        sl->imin = sl->imax = sl->flag[0] = sl->flag[1] = -1;
        sl->x = p->px0 + (double)k;
    }
    for (size_t i = 0; i < s->n; i++) {
        double x = xmap(p, s->t_ns[i]);
        size_t k = i;
        if (decimate) {
            double c = floor(x - p->px0);
            k = c < 0 ? 0 : (c >= (double)cols ? cols - 1 : (size_t)c);
        } else {
            p->slots[k].x = x;
        }
        add_point(p, &p->slots[k], i);
    }
    for (size_t k = 0; k < p->n_slots; k++) {
        struct slot *sl = &p->slots[k];
        if (sl->has_v) {
            long a = sl->imin < sl->imax ? sl->imin : sl->imax;
            long b = sl->imin < sl->imax ? sl->imax : sl->imin;
            sl->v[0] = s->value[a];
            if (b != a)
                sl->v[1] = s->value[b];
        }
        if (sl->flag[1] == sl->flag[0])
            sl->flag[1] = -1;
    }
    return 0;
}

/* 1, 2 or 5 times a power of ten, at least raw. */
static double nice_step(double raw)
{
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double e = pow(10, floor(log10(raw)));
    double f = raw / e;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
}

/* The value axis covers every value, and the band where it stays within half the values' range
 * of them: a band that is wide while the detector is young must not flatten the series. */
static void value_range(struct plot *p)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < p->n_slots; k++) {
        const struct slot *sl = &p->slots[k];
        for (int j = 0; j < 2 && sl->has_v; j++) {
            if (isfinite(sl->v[j])) {
                lo = fmin(lo, sl->v[j]);
                hi = fmax(hi, sl->v[j]);
            }
        }
    }
    if (lo > hi) {
        lo = 0;
        hi = 1;
    }
    double span = hi - lo;
    if (!(span > 0)) {
        span = fabs(hi) > 0 ? fabs(hi) * 0.2 : 1;
        lo -= span / 2;
        hi += span / 2;
    }
    double lim_lo = lo - span / 2, lim_hi = hi + span / 2;
    for (size_t k = 0; k < p->n_slots; k++) {
        const struct slot *sl = &p->slots[k];
        if (isfinite(sl->lo))
            lo = fmin(lo, fmax(sl->lo, lim_lo));
        if (isfinite(sl->hi))
            hi = fmax(hi, fmin(sl->hi, lim_hi));
    }
    p->ystep = nice_step((hi - lo) / 6);
    p->y0 = floor(lo / p->ystep) * p->ystep;
    p->y1 = ceil(hi / p->ystep) * p->ystep;
    if (!(p->y1 > p->y0) || !isfinite(p->y1 - p->y0)) {
        p->y0 = lo;
        p->y1 = lo + 1;
        p->ystep = 1;
    }
}

static void value_axis(struct plot *p)
{
    put(p, "<g class=\"y-axis\" font-size=\"11\" text-anchor=\"end\" fill=\"#444\">\n");
    for (int k = 0; k <= 40; k++) {
        double v = p->y0 + k * p->ystep;
        if (v > p->y1 + p->ystep / 1000)
            break;
        double y = ymap(p, v);
        put(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>", p->px0,
            y, p->px1, y);
        put(p, "<text x=\"%.1f\" y=\"%.1f\">%.6g</text>\n", p->px0 - 6, y + 4,
            fabs(v) < p->ystep / 1e6 ? 0.0 : v);
    }
    put(p, "</g>\n");
}

/* Tick steps in seconds, from a second to a year; the first giving at most 8 ticks is used. */
static const int64_t time_steps_s[] = {
    1,    2,    5,     10,    15,    30,    60,     120,    300,     600,     900,     1800,
    3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2419200, 7257600, 31449600,
};

static void format_time(int64_t s, int64_t step_s, int64_t span_s, char *buf, size_t n)
{
    time_t tt = (time_t)s;
    struct tm tm;
    gmtime_r(&tt, &tm);
    const char *fmt = step_s >= 86400  ? "%Y-%m-%d"
                      : span_s > 86400 ? "%m-%d %H:%M"
                      : step_s >= 60   ? "%H:%M"
                                       : "%H:%M:%S";
    if (strftime(buf, n, fmt, &tm) == 0)
        buf[0] = '\0';
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void time_axis(struct plot *p)
{
    int64_t span_s = (p->t1 - p->t0) / AD_NS_PER_S;
    int64_t step = 0;
    for (size_t i = 0; i < sizeof(time_steps_s) / sizeof(time_steps_s[0]) && !step; i++)
        if (span_s / time_steps_s[i] <= 8)
            step = time_steps_s[i];
    if (!step)
        step = (span_s / 8 / 31449600 + 1) * 31449600;
    char label[64];
    put(p, "<g class=\"x-axis\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">\n");
    for (int64_t s = (floor_div(p->t0 - 1, AD_NS_PER_S * step) + 1) * step;
         s * AD_NS_PER_S <= p->t1 && s <= INT64_MAX / AD_NS_PER_S - step; s += step) {
        double x = xmap(p, s * AD_NS_PER_S);
        format_time(s, step, span_s, label, sizeof(label));
        put(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>", x,
            p->py0, x, p->py1);
        put(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>", x, p->py1,
            x, p->py1 + 4);
        put(p, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x, p->py1 + 17, label);
    }
    char from[32], to[32];
    ad_time_format_rfc3339(p->t0, from, sizeof(from));
    ad_time_format_rfc3339(p->t1, to, sizeof(to));
    put(p, "<text x=\"%.1f\" y=\"%.1f\">time (UTC), %s to %s</text>\n</g>\n", (p->px0 + p->px1) / 2,
        p->py1 + 35, from, to);
}

/* One polygon per run of slots where the detector was warm: upper edge left to right, lower edge
 * back. */
static void band(struct plot *p)
{
    put(p, "<g class=\"band\" fill=\"" COLOR_BAND "\" fill-opacity=\"0.5\" stroke=\"none\">\n");
    size_t k = 0;
    while (k < p->n_slots) {
        if (!p->slots[k].present || isnan(p->slots[k].lo)) {
            k++;
            continue;
        }
        size_t end = k, count = 0; /* [k, end): the run, absent slots skipped */
        while (end < p->n_slots && (!p->slots[end].present || !isnan(p->slots[end].lo))) {
            count += p->slots[end].present;
            end++;
        }
        if (count >= 2) {
            put(p, "<polygon points=\"");
            for (size_t j = k; j < end; j++)
                if (p->slots[j].present)
                    put(p, "%.1f,%.1f ", p->slots[j].x, ymap(p, p->slots[j].hi));
            for (size_t j = end; j-- > k;)
                if (p->slots[j].present)
                    put(p, "%.1f,%.1f ", p->slots[j].x, ymap(p, p->slots[j].lo));
            put(p, "\"/>\n");
        }
        k = end;
    }
    put(p, "</g>\n");
}

static void expected_line(struct plot *p)
{
    bool pen = false;
    put(p, "<path class=\"expected\" fill=\"none\" stroke=\"" COLOR_EXPECTED
           "\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\" d=\"");
    for (size_t k = 0; k < p->n_slots; k++) {
        const struct slot *sl = &p->slots[k];
        if (!sl->present)
            continue;
        if (sl->exp_n == 0) {
            pen = false;
            continue;
        }
        put(p, "%s%.1f %.1f", pen ? " L" : " M", sl->x, ymap(p, sl->exp_sum / sl->exp_n));
        pen = true;
    }
    put(p, "\"/>\n");
}

static void value_line(struct plot *p)
{
    bool pen = false;
    put(p, "<path class=\"value\" fill=\"none\" stroke=\"" COLOR_VALUE
           "\" stroke-width=\"1\" stroke-linejoin=\"round\" d=\"");
    for (size_t k = 0; k < p->n_slots; k++) {
        const struct slot *sl = &p->slots[k];
        if (!sl->present)
            continue;
        if (!sl->has_v) {
            pen = false; /* NaN or inf in the input: a gap */
            continue;
        }
        for (int j = 0; j < 2; j++) {
            if (isnan(sl->v[j]))
                continue;
            put(p, "%s%.1f %.1f", pen ? " L" : " M", sl->x, ymap(p, sl->v[j]));
            pen = true;
        }
    }
    put(p, "\"/>\n");
}

static void flagged_points(struct plot *p)
{
    const struct ad_svg_series *s = p->s;
    put(p,
        "<g class=\"anomalies\" fill=\"" COLOR_FLAG "\" stroke=\"#fff\" stroke-width=\"0.5\">\n");
    for (size_t k = 0; k < p->n_slots; k++) {
        for (int j = 0; j < 2; j++) {
            long i = p->slots[k].flag[j];
            if (i < 0)
                continue;
            char when[32];
            ad_time_format_rfc3339(s->t_ns[i], when, sizeof(when));
            put(p,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>%s value %.6g, expected %.6g "
                "in [%.6g, %.6g], score %.3f</title></circle>\n",
                p->slots[k].x, ymap(p, s->value[i]), when, s->value[i], val(s->expected, i),
                val(s->lower, i), val(s->upper, i), s->score[i]);
        }
    }
    put(p, "</g>\n");
}

static void legend(struct plot *p)
{
    double y = p->h - 14, x = p->px0;
    put(p, "<g class=\"legend\" font-size=\"12\" fill=\"#222\">\n");
    put(p,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" COLOR_VALUE
        "\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">value</text>\n",
        x, y - 4, x + 22, y - 4, x + 28, y);
    x += 90;
    put(p,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" COLOR_EXPECTED
        "\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/><text x=\"%.1f\" "
        "y=\"%.1f\">expected</text>\n",
        x, y - 4, x + 22, y - 4, x + 28, y);
    x += 110;
    put(p,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"" COLOR_BAND
        "\" fill-opacity=\"0.5\"/><text x=\"%.1f\" y=\"%.1f\">learned band [lower, upper]</text>\n",
        x, y - 9, x + 28, y);
    x += 230;
    put(p,
        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"" COLOR_FLAG
        "\"/><text x=\"%.1f\" y=\"%.1f\">outside the band: %zu</text>\n",
        x + 11, y - 4, x + 28, y, p->flagged);
    put(p, "</g>\n");
}

static void header(struct plot *p)
{
    const struct ad_svg_series *s = p->s;
    put(p,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n<title>",
        p->w, p->h, p->w, p->h);
    put_text(p, s->title);
    put(p, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", p->w, p->h);
    put(p, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\" fill=\"#111\">",
        MARGIN_L);
    put_text(p, s->title);
    put(p, "</text>\n<text x=\"%d\" y=\"44\" font-size=\"12\" fill=\"#555\">", MARGIN_L);
    put_text(p, s->subtitle);
    put(p,
        "</text>\n<defs><clipPath id=\"plot-area\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
        "height=\"%.1f\"/></clipPath></defs>\n",
        p->px0, p->py0, p->px1 - p->px0, p->py1 - p->py0);
}

static void time_range(struct plot *p)
{
    const struct ad_svg_series *s = p->s;
    p->t0 = s->n ? s->t_ns[0] : 0;
    p->t1 = s->n ? s->t_ns[s->n - 1] : 0;
    if (p->t1 <= p->t0)
        p->t1 = p->t0 + AD_NS_PER_S; /* one point, or one instant: a second wide */
}

int ad_svg_plot(const struct ad_svg_series *s, struct ad_buf *out)
{
    struct plot p = {.s = s, .out = out};
    p.w = s->width ? s->width : 1200;
    p.h = s->height ? s->height : 480;
    if ((s->n && (!s->t_ns || !s->value)) || p.w < 320 || p.h < 200 || p.w > 100000 || p.h > 100000)
        return -EINVAL;
    p.px0 = MARGIN_L;
    p.px1 = p.w - MARGIN_R;
    p.py0 = MARGIN_T;
    p.py1 = p.h - MARGIN_B;
    time_range(&p);
    if (build_slots(&p) < 0)
        return -ENOMEM;
    value_range(&p);
    header(&p);
    value_axis(&p);
    time_axis(&p);
    put(&p, "<g clip-path=\"url(#plot-area)\">\n");
    band(&p);
    expected_line(&p);
    value_line(&p);
    flagged_points(&p);
    put(&p,
        "</g>\n<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
        "fill=\"none\" stroke=\"#888\"/>\n",
        p.px0, p.py0, p.px1 - p.px0, p.py1 - p.py0);
    if (s->n == 0)
        put(&p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n",
            (p.px0 + p.px1) / 2, (p.py0 + p.py1) / 2);
    legend(&p);
    put(&p, "</svg>\n");
    free(p.slots);
    return p.rc;
}
