/* daemon/ctl_baseline.c: `aiopsctl baseline`, one detector run over a timestamp,value CSV file
 * the way the baseline model would run it over a live series: per-row CSV, --suggest thresholds,
 * an SVG plot, or --forecast: when the series' trend will cross a static threshold. The CSV path streams in constant memory; --suggest and --plot keep the
 * points they need. */
#include "daemon/ctl_baseline.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/series_csv.h"
#include "common/time.h"
#include "config/config.h"
#include "daemon/sections.h"
#include "daemon/svg_plot.h"
#include "models/baseline.h"
#include "models/detector.h"
#include "models/forecast.h"

#define MAX_ERRORS_SHOWN 10

/* The points kept for --suggest (values) and --plot (everything the plot draws). */
struct kept {
    size_t n, cap;
    int64_t *t_ns;
    double *value, *score, *expected, *lower, *upper;
};

struct run {
    const char *path, *name; /* as given, and as shown ("stdin" for "-") */
    const struct ad_det_ops *det;
    struct ad_det_params params;
    struct ad_det_state st;
    bool suggest, csv;
    const char *plot_path;
    struct kept kept;
    uint64_t rows, learned, anomalous, out_of_order, not_finite, bad_lines;
    /* --forecast: the trend as the baseline model keeps it, and its alerts. */
    bool forecast;
    struct ad_fc_params fcp;
    struct ad_fc_rule rule;
    struct ad_fc fc;
    uint64_t fc_raised, fc_resolved;
    uint8_t level;            /* the static level of the last row */
    struct ad_fc_pred first; /* the prediction of the first forecast alert */
};

void ad_ctl_baseline_usage(FILE *f)
{
    fprintf(f, "  baseline [-c FILE [--series KEY]] [--detector NAME] [--suggest] [--plot OUT.svg]\n"
               "           [--band K] [--q P] [--warmup N] [--memory N] [--max-gap DURATION]\n"
               "           [--forecast [--threshold 'above|below WARN CRIT'] [--horizon D]\n"
               "           [--window D]] FILE.csv|-\n"
               "      back-test a baseline detector on a timestamp,value CSV file (NAB layout):\n"
               "      writes timestamp,value,anomaly_score,expected,lower,upper per row, or with\n"
               "      --suggest static warning/critical thresholds; --plot draws an SVG;\n"
               "      --forecast adds when the trend will cross the threshold (per row, and a\n"
               "      summary on stderr).\n"
               "      -c: models.baseline of an aiopsd config (the detector its `detectors`\n"
               "      patterns pick for --series KEY, its thresholds rule for it, and its\n"
               "      settings); options override it. docs/aiopsctl-baseline.md\n");
}

static void kept_fini(struct kept *k)
{
    free(k->t_ns);
    free(k->value);
    free(k->score);
    free(k->expected);
    free(k->lower);
    free(k->upper);
    memset(k, 0, sizeof(*k));
}

static int grow(void **p, size_t cap, size_t size)
{
    void *q = realloc(*p, cap * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    return 0;
}

/* Keeps one point: only its value unless the plot is wanted. */
static int keep(struct run *r, int64_t t_ns, double x, const struct ad_det_out *o)
{
    struct kept *k = &r->kept;
    bool all = r->plot_path != NULL;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 4096;
        if (cap > SIZE_MAX / sizeof(double) || grow((void **)&k->value, cap, sizeof(double)) < 0)
            return -ENOMEM;
        if (all && (grow((void **)&k->t_ns, cap, sizeof(int64_t)) < 0 ||
                    grow((void **)&k->score, cap, sizeof(double)) < 0 ||
                    grow((void **)&k->expected, cap, sizeof(double)) < 0 ||
                    grow((void **)&k->lower, cap, sizeof(double)) < 0 ||
                    grow((void **)&k->upper, cap, sizeof(double)) < 0))
            return -ENOMEM;
        k->cap = cap;
    }
    k->value[k->n] = x;
    if (all) {
        k->t_ns[k->n] = t_ns;
        k->score[k->n] = o->score;
        k->expected[k->n] = o->warm ? o->expected : NAN;
        k->lower[k->n] = o->lower;
        k->upper[k->n] = o->upper;
    }
    k->n++;
    return 0;
}

/* The shortest of %.15g..%.17g that reads back as the same double; "" for NaN when empty_nan. */
static void put_num(FILE *f, double x, bool empty_nan)
{
    if (isnan(x)) {
        if (!empty_nan)
            fputs("nan", f);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    fputs(buf, f);
}

/* The timestamp as written; quoted (CSV style) only if it would break the row. */
static void put_ts(FILE *f, const char *ts, size_t len)
{
    if (!memchr(ts, ',', len) && !memchr(ts, '"', len)) {
        fwrite(ts, 1, len, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        if (ts[i] == '"')
            fputc('"', f);
        fputc(ts[i], f);
    }
    fputc('"', f);
}

static void put_row(const struct ad_csv_row *row, const struct ad_det_out *o)
{
    put_ts(stdout, row->ts, row->ts_len);
    putchar(',');
    put_num(stdout, row->value, false);
    putchar(',');
    put_num(stdout, o ? o->score : 0, false);
    putchar(',');
    put_num(stdout, o ? o->expected : NAN, true);
    putchar(',');
    put_num(stdout, o ? o->lower : NAN, true);
    putchar(',');
    put_num(stdout, o ? o->upper : NAN, true);
}

/* The static level x is at under the rule (no hysteresis: the command line has none). */
static uint8_t reached(const struct ad_fc_rule *r, double x)
{
    double sg = r->below ? -1 : 1;
    if (!isnan(r->critical) && sg * x >= sg * r->critical)
        return 2;
    return !isnan(r->warning) && sg * x >= sg * r->warning ? 1 : 0;
}

/* The trend after row (the model's steps: reached on every point, a fit when a bucket closes and
 * the detector is warm); what changed. */
static enum ad_fc_change forecast_step(struct run *r, const struct ad_csv_row *row,
                                       const struct ad_det_out *o)
{
    uint8_t lvl = r->level = reached(&r->rule, row->value);
    enum ad_fc_change ch = ad_fc_reached(&r->fc, lvl);
    if (ad_fc_add(&r->fc, &r->fcp, row->t_ns, row->value) && o->warm) {
        struct ad_fc_pred pr;
        ad_fc_fit(&r->fc, &r->fcp, row->t_ns, &r->rule, lvl, r->det, &r->st, &r->params, &pr);
        enum ad_fc_change c2 = ad_fc_step(&r->fc, &r->fcp, &pr);
        if (ch == AD_FC_NONE)
            ch = c2;
    }
    if (ch == AD_FC_RAISED && r->fc_raised++ == 0)
        r->first = r->fc.last;
    r->fc_resolved += ch == AD_FC_RESOLVED_TREND || ch == AD_FC_RESOLVED_REACHED;
    return ch;
}

/* ,trend_per_hour,forecast_level,forecast_threshold,forecast_at,forecast_seconds_left,
 * forecast_alert: the last fit (empty before the first), and the alert's change on this row. */
static void put_forecast(const struct run *r, enum ad_fc_change ch)
{
    static const char *const changes[] = {"", "raised", "firing", "resolved", "resolved"};
    const struct ad_fc_pred *p = &r->fc.last;
    char ts[40];
    putchar(',');
    put_num(stdout, p->fitted ? p->slope * 3600 : NAN, true);
    if (p->fitted && p->target) {
        printf(",%s,", p->target == 2 ? "critical" : "warning");
        put_num(stdout, p->threshold, false);
        printf(",%s,%lld", ad_time_format_rfc3339(p->at_ns, ts, sizeof(ts)),
               (long long)((p->at_ns - p->now_ns) / AD_NS_PER_S));
    } else {
        fputs(",,,,", stdout);
    }
    printf(",%s", changes[ch]);
}

/* One row through the detector. Rows it rejects are counted and still written, with score 0 and
 * no band, so the output lines up with the input row for row. */
static int process(struct run *r, const struct ad_csv_row *row)
{
    struct ad_det_out o;
    r->rows++;
    int rc = ad_det_update(r->det, &r->st, &r->params, row->t_ns, row->value, &o);
    if (rc == -EINVAL)
        r->not_finite++;
    else if (rc == -ERANGE)
        r->out_of_order++;
    if (rc < 0) {
        if (r->csv) {
            put_row(row, NULL);
            if (r->forecast)
                fputs(",,,,,,", stdout);
            putchar('\n');
        }
        return 0;
    }
    r->learned++;
    r->anomalous += o.warm && (row->value < o.lower || row->value > o.upper);
    enum ad_fc_change ch = r->forecast ? forecast_step(r, row, &o) : AD_FC_NONE;
    if (r->csv) {
        put_row(row, &o);
        if (r->forecast)
            put_forecast(r, ch);
        putchar('\n');
    }
    if (r->suggest || r->plot_path)
        return keep(r, row->t_ns, row->value, &o);
    return 0;
}

/* Reads every row; bad lines are reported (the first few) and skipped. Returns 0, or -1 after
 * printing why the input could not be read to the end. */
static int read_all(struct run *r, FILE *in)
{
    struct ad_csv_reader *rd = NULL;
    struct ad_err err = {0};
    struct ad_csv_row row;
    int rc;
    if (ad_csv_open(in, r->path, &rd, &err) < 0) {
        fprintf(stderr, "aiopsctl baseline: %s\n", err.msg);
        return -1;
    }
    if (r->csv)
        fputs(r->forecast ? "timestamp,value,anomaly_score,expected,lower,upper,trend_per_hour,"
                            "forecast_level,forecast_threshold,forecast_at,forecast_seconds_left,"
                            "forecast_alert\n"
                          : "timestamp,value,anomaly_score,expected,lower,upper\n",
              stdout);
    while ((rc = ad_csv_next(rd, &row, &err)) != 0) {
        if (rc == -EINVAL) {
            if (++r->bad_lines <= MAX_ERRORS_SHOWN)
                fprintf(stderr, "aiopsctl baseline: %s (line skipped)\n", err.msg);
            continue;
        }
        if (rc < 0 || process(r, &row) < 0) {
            fprintf(stderr, "aiopsctl baseline: %s\n", rc < 0 ? err.msg : "out of memory");
            ad_csv_close(rd);
            return -1;
        }
    }
    ad_csv_close(rd);
    if (r->bad_lines > MAX_ERRORS_SHOWN)
        fprintf(stderr, "aiopsctl baseline: (%llu more bad lines not shown)\n",
                (unsigned long long)(r->bad_lines - MAX_ERRORS_SHOWN));
    return 0;
}

static size_t count_above(const struct kept *k, double thr)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n; i++)
        n += k->value[i] > thr;
    return n;
}

static size_t count_below(const struct kept *k, double thr)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n; i++)
        n += k->value[i] < thr;
    return n;
}

/* One "name: threshold (would have fired on N of M points)" line; nothing for a NaN side. The
 * threshold is rounded to 6 significant digits, as it would be typed into an alert rule, and
 * the points are counted against the rounded value so the line stays true. */
static bool put_threshold(const struct run *r, const char *name, double thr, bool above)
{
    if (isnan(thr))
        return false;
    char buf[40];
    snprintf(buf, sizeof(buf), "%.6g", thr);
    thr = strtod(buf, NULL);
    size_t n = above ? count_above(&r->kept, thr) : count_below(&r->kept, thr);
    printf("%s: %s (would have fired on %zu of %zu points)\n", name, buf, n, r->kept.n);
    return true;
}

static void print_suggestion(const struct run *r)
{
    struct ad_det_info info = {0};
    struct ad_det_suggest s;
    r->det->describe(&r->st, &info);
    r->det->suggest(&r->st, &r->params, &s);
    printf("detector: %s\nseason: %s\npoints: %llu\n", r->det->name,
           info.season ? info.season : "none", (unsigned long long)info.points);
    if (info.points < r->params.warmup) {
        /* Still warming up: whatever the detector would say rests on nothing yet. */
        printf("thresholds: none (%llu points learned, warm-up is %u)\n",
               (unsigned long long)info.points, r->params.warmup);
        return;
    }
    bool hi = put_threshold(r, "warning_hi", s.warning_hi, true);
    bool lo = put_threshold(r, "warning_lo", s.warning_lo, false);
    bool warning = hi || lo;
    if (warning)
        printf("warning_why: %s\n", s.why_warning);
    hi = put_threshold(r, "critical_hi", s.critical_hi, true);
    lo = put_threshold(r, "critical_lo", s.critical_lo, false);
    if (hi || lo)
        printf("critical_why: %s\n", s.why_critical);
    if (!warning && !hi && !lo)
        printf("thresholds: none (the detector suggests none for this series)\n");
}

/* The --forecast summary (stderr): the last fit and what it predicts, and the alerts. */
static void print_forecast(const struct run *r)
{
    const struct ad_fc_pred *p = &r->fc.last;
    char ts[40], at[40], d[32], win[32];
    if (!p->fitted) {
        fprintf(stderr, "aiopsctl baseline: forecast: no trend fitted (%u of %d buckets over the "
                        "window, or the detector still warming up)\n",
                (unsigned)r->fc.n, AD_FC_BUCKETS / 2);
        return;
    }
    fprintf(stderr, "aiopsctl baseline: forecast at %s: trend %+.4g/h over the last %s (z %.2f)",
            ad_time_format_rfc3339(p->now_ns, ts, sizeof(ts)), p->slope * 3600,
            ad_fc_duration(p->span_ns, win, sizeof(win)), p->z);
    if (p->target)
        fprintf(stderr, ", reaches %.6g (%s) at %s, in ~%s\n", p->threshold,
                p->target == 2 ? "critical" : "warning",
                ad_time_format_rfc3339(p->at_ns, at, sizeof(at)),
                ad_fc_duration(p->at_ns - p->now_ns, d, sizeof(d)));
    else if (r->level == 2 || (r->level == 1 && isnan(r->rule.critical)))
        fprintf(stderr, ", the value is past the last level already\n");
    else
        fprintf(stderr, ", no level reached within %s\n",
                ad_fc_duration((int64_t)((double)r->fcp.horizon_ns * AD_FC_MARGIN), d, sizeof(d)));
    fprintf(stderr, "aiopsctl baseline: forecast alerts: %llu raised, %llu resolved",
            (unsigned long long)r->fc_raised, (unsigned long long)r->fc_resolved);
    if (r->fc_raised)
        fprintf(stderr, "; the first at %s predicted %.6g (%s) at %s",
                ad_time_format_rfc3339(r->first.now_ns, ts, sizeof(ts)), r->first.threshold,
                r->first.target == 2 ? "critical" : "warning",
                ad_time_format_rfc3339(r->first.at_ns, at, sizeof(at)));
    fputc('\n', stderr);
}

static int write_plot(const struct run *r)
{
    struct ad_det_info info = {0};
    r->det->describe(&r->st, &info);
    char sub[256];
    snprintf(sub, sizeof(sub),
             "detector %s, season %s, band %g, %zu points, %llu outside the band",
             r->det->name, info.season ? info.season : "none", r->params.band, r->kept.n,
             (unsigned long long)r->anomalous);
    const struct kept *k = &r->kept;
    struct ad_svg_series s = {.title = r->name,
                              .subtitle = sub,
                              .n = k->n,
                              .t_ns = k->t_ns,
                              .value = k->value,
                              .expected = k->expected,
                              .lower = k->lower,
                              .upper = k->upper,
                              .score = k->score};
    struct ad_buf svg;
    ad_buf_init(&svg);
    int rc = ad_svg_plot(&s, &svg);
    FILE *f = rc < 0 ? NULL : fopen(r->plot_path, "w");
    if (rc < 0)
        fprintf(stderr, "aiopsctl baseline: plot: %s\n", strerror(-rc));
    else if (!f)
        fprintf(stderr, "aiopsctl baseline: %s: %s\n", r->plot_path, strerror(errno));
    else if (fwrite(svg.p, 1, svg.len, f) != svg.len || fclose(f) != 0) {
        fprintf(stderr, "aiopsctl baseline: %s: %s\n", r->plot_path, strerror(errno));
        f = NULL;
    }
    ad_buf_fini(&svg);
    return f ? 0 : -1;
}

/* --- options ------------------------------------------------------------------------------ */

static int parse_double(const char *opt, const char *s, double lo, double hi, double *ret)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v > lo) || !(v < hi)) {
        fprintf(stderr,
                "aiopsctl baseline: --%s: expected a number above %g and below %g, got "
                "\"%s\"\n",
                opt, lo, hi, s);
        return -1;
    }
    *ret = v;
    return 0;
}

static int parse_points(const char *opt, const char *s, uint32_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-' || v > 100000000) {
        fprintf(stderr,
                "aiopsctl baseline: --%s: expected a number of points from 0 to 100000000, got "
                "\"%s\"\n",
                opt, s);
        return -1;
    }
    *ret = (uint32_t)v;
    return 0;
}

static void list_detectors(FILE *f)
{
    for (size_t i = 0; ad_detectors[i]; i++)
        fprintf(f, "%s%s", i ? ", " : "", ad_detectors[i]->name);
}

static int find_detector(const char *name, const struct ad_det_ops **ret)
{
    *ret = name ? ad_det_find(name) : ad_detectors[0];
    if (*ret)
        return 0;
    fprintf(stderr, "aiopsctl baseline: unknown detector '%s' (valid: ", name);
    list_detectors(stderr);
    fputs(")\n", stderr);
    return -1;
}

/* The detector and settings the config's models.baseline gives series; -1 after saying why. */
static int config_params(const char *path, const char *series, const struct ad_det_ops **det,
                         struct ad_det_params *params)
{
    struct ad_config *cfg = NULL;
    struct ad_err err = {0};
    char buf[512];
    int r = ad_config_load(path, ad_sections(), &cfg, &err);
    if (r == 0)
        r = ad_baseline_params_for(ad_config_get(cfg, "models.baseline"), series, det, params,
                                   &err);
    if (r < 0)
        fprintf(stderr, "aiopsctl baseline: %s\n", ad_err_str(&err, buf, sizeof(buf)));
    ad_config_destroy(cfg);
    return r < 0 ? -1 : 0;
}

/* The forecast settings and static rule the config at path (NULL: the defaults) gives series;
 * -1 after saying why. */
static int forecast_params(const char *path, const char *series, struct run *r, bool *has_rule)
{
    struct ad_config *cfg = NULL;
    struct ad_err err = {0};
    char buf[512];
    int rc = path ? ad_config_load(path, ad_sections(), &cfg, &err)
                  : ad_config_load_string("defaults", "", 0, ad_sections(), &cfg, &err);
    if (rc == 0)
        rc = ad_baseline_forecast_for(ad_config_get(cfg, "models.baseline"), series, &r->fcp,
                                      &r->rule, has_rule, &err);
    if (rc < 0)
        fprintf(stderr, "aiopsctl baseline: %s\n", ad_err_str(&err, buf, sizeof(buf)));
    ad_config_destroy(cfg);
    return rc < 0 ? -1 : 0;
}

static int parse_duration_opt(const char *opt, const char *s, int64_t *ret)
{
    if (ad_parse_duration(s, ret) == 0 && *ret > 0)
        return 0;
    fprintf(stderr, "aiopsctl baseline: --%s: expected a duration (e.g. 30m, 2h), got \"%s\"\n",
            opt, s);
    return -1;
}

/* --forecast: the config's (or default) settings under the command line's; -1 after saying why. */
static int forecast_setup(struct run *r, const char *config, const char *series,
                          const char *threshold, int64_t horizon, int64_t window)
{
    bool has_rule = false;
    if (forecast_params(config, series, r, &has_rule) < 0)
        return -1;
    if (threshold) {
        struct ad_err err = {0};
        char buf[512];
        if (ad_baseline_parse_rule(threshold, &r->rule, &err) < 0) {
            fprintf(stderr, "aiopsctl baseline: --threshold: %s\n", ad_err_str(&err, buf, sizeof(buf)));
            return -1;
        }
        has_rule = true;
    }
    if (!has_rule) {
        fprintf(stderr, "aiopsctl baseline: --forecast needs a threshold: --threshold 'above 80 "
                        "95', or -c FILE --series KEY matching a models.baseline.thresholds "
                        "pattern\n");
        return -1;
    }
    if (horizon)
        r->fcp.horizon_ns = horizon;
    if (window)
        r->fcp.window_ns = window;
    if (r->fcp.horizon_ns <= 0) {
        fprintf(stderr, "aiopsctl baseline: --forecast: the horizon is 0 (forecasts off in the "
                        "config): give --horizon\n");
        return -1;
    }
    ad_fc_init(&r->fc);
    r->forecast = true;
    return 0;
}

/* Fills r from the command line. Returns 0, or the exit code after saying why (0 for --help,
 * which prints the usage). */
static int parse_args(int argc, char **argv, struct run *r, bool *ret_help)
{
    static const struct option o[] = {{"detector", 1, 0, 'd'}, {"suggest", 0, 0, 's'},
                                      {"plot", 1, 0, 'p'},     {"band", 1, 0, 'b'},
                                      {"q", 1, 0, 'q'},        {"warmup", 1, 0, 'w'},
                                      {"memory", 1, 0, 'm'},   {"max-gap", 1, 0, 'g'},
                                      {"config", 1, 0, 'c'},   {"series", 1, 0, 'k'},
                                      {"forecast", 0, 0, 'F'}, {"threshold", 1, 0, 'T'},
                                      {"horizon", 1, 0, 'H'},  {"window", 1, 0, 'W'},
                                      {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *det_name = NULL, *config = NULL, *series = "", *threshold = NULL;
    bool forecast = false;
    int64_t horizon = 0, window = 0;
    int c, bad = 0;
    double memory = 0;
    /* What the options set, over the config's (or the built-in) settings. */
    struct ad_det_params opt;
    bool set_band = false, set_q = false, set_warmup = false, set_memory = false, set_gap = false;
    ad_det_params_default(&r->params);
    opt = r->params;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:p:c:h", o, NULL)) != -1) {
        switch (c) {
        case 'd':
            det_name = optarg;
            break;
        case 's':
            r->suggest = true;
            break;
        case 'p':
            r->plot_path = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'k':
            series = optarg;
            break;
        case 'b':
            bad |= parse_double("band", optarg, 0, 1e6, &opt.band);
            set_band = true;
            break;
        case 'q':
            bad |= parse_double("q", optarg, 0, 0.5, &opt.q);
            set_q = true;
            break;
        case 'w':
            bad |= parse_points("warmup", optarg, &opt.warmup);
            set_warmup = true;
            break;
        case 'm':
            bad |= parse_double("memory", optarg, 1, 1e9, &memory);
            opt.memory = memory;
            set_memory = true;
            break;
        case 'g':
            set_gap = true;
            if (ad_parse_duration(optarg, &opt.max_gap_ns) < 0) {
                fprintf(stderr,
                        "aiopsctl baseline: --max-gap: expected a duration (e.g. 30m, "
                        "2h), got \"%s\"\n",
                        optarg);
                bad = -1;
            }
            break;
        case 'F':
            forecast = true;
            break;
        case 'T':
            threshold = optarg;
            break;
        case 'H':
            bad |= parse_duration_opt("horizon", optarg, &horizon);
            break;
        case 'W':
            bad |= parse_duration_opt("window", optarg, &window);
            break;
        case 'h':
            *ret_help = true;
            ad_ctl_baseline_usage(stdout);
            return 0;
        default:
            ad_ctl_baseline_usage(stderr); /* getopt has said what was wrong */
            return 2;
        }
    }
    if (bad)
        return 2;
    if (optind != argc - 1) {
        fprintf(stderr, "aiopsctl baseline: expected one input file (or - for stdin)\n");
        ad_ctl_baseline_usage(stderr);
        return 2;
    }
    const struct ad_det_ops *cfg_det = NULL;
    if (config && config_params(config, series, &cfg_det, &r->params) < 0)
        return 2;
    if (set_band)
        r->params.band = opt.band;
    if (set_q)
        r->params.q = opt.q;
    if (set_warmup)
        r->params.warmup = opt.warmup;
    if (set_memory)
        r->params.memory = opt.memory;
    if (set_gap)
        r->params.max_gap_ns = opt.max_gap_ns;
    if (cfg_det && !det_name)
        r->det = cfg_det;
    else if (find_detector(det_name, &r->det) < 0)
        return 2;
    if ((threshold || horizon || window) && !forecast) {
        fprintf(stderr, "aiopsctl baseline: --threshold, --horizon and --window go with "
                        "--forecast\n");
        return 2;
    }
    if (forecast && forecast_setup(r, config, series, threshold, horizon, window) < 0)
        return 2;
    r->path = argv[optind];
    r->name = strcmp(r->path, "-") == 0 ? "stdin" : r->path;
    r->csv = !r->suggest;
    return 0;
}

int ad_ctl_baseline_run(int argc, char **argv)
{
    struct run r = {0};
    bool help = false;
    int rc = parse_args(argc, argv, &r, &help);
    if (rc || help)
        return rc;
    FILE *in = strcmp(r.path, "-") == 0 ? stdin : fopen(r.path, "r");
    if (!in) {
        fprintf(stderr, "aiopsctl baseline: %s: %s\n", r.path, strerror(errno));
        return 1;
    }
    ad_det_init(r.det, &r.st, &r.params);
    rc = read_all(&r, in) < 0 ? 1 : 0;
    if (in != stdin)
        fclose(in);
    if (rc == 0 && r.suggest)
        print_suggestion(&r);
    if (rc == 0 && r.forecast)
        print_forecast(&r);
    if (rc == 0 && r.plot_path && write_plot(&r) < 0)
        rc = 1;
    fprintf(stderr,
            "aiopsctl baseline: %llu rows, %llu anomalous, %llu rejected (out of order: %llu, not "
            "finite: %llu)",
            (unsigned long long)r.rows, (unsigned long long)r.anomalous,
            (unsigned long long)(r.out_of_order + r.not_finite), (unsigned long long)r.out_of_order,
            (unsigned long long)r.not_finite);
    if (r.bad_lines)
        fprintf(stderr, ", %llu bad lines skipped", (unsigned long long)r.bad_lines);
    fputc('\n', stderr);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "aiopsctl baseline: stdout: %s\n", strerror(errno));
        rc = 1;
    }
    kept_fini(&r.kept);
    return rc ? rc : (r.bad_lines ? 1 : 0);
}
