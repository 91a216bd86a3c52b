/* daemon/ctl_baseline.c: `aiopsctl baseline`, one detector run over a timestamp,value CSV file
 * the way the baseline model would run it over a live series: per-row CSV, --suggest thresholds
 * or an SVG plot. The CSV path streams in constant memory; --suggest and --plot keep the
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
#include "config/config.h"
#include "daemon/sections.h"
#include "daemon/svg_plot.h"
#include "models/baseline.h"
#include "models/detector.h"

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
};

void ad_ctl_baseline_usage(FILE *f)
{
    fprintf(f, "  baseline [-c FILE [--series KEY]] [--detector NAME] [--suggest] [--plot OUT.svg]\n"
               "           [--band K] [--q P] [--warmup N] [--memory N] [--max-gap DURATION]\n"
               "           FILE.csv|-\n"
               "      back-test a baseline detector on a timestamp,value CSV file (NAB layout):\n"
               "      writes timestamp,value,anomaly_score,expected,lower,upper per row, or with\n"
               "      --suggest static warning/critical thresholds; --plot draws an SVG.\n"
               "      -c: models.baseline of an aiopsd config (the detector its `detectors`\n"
               "      patterns pick for --series KEY, and its settings); options override it.\n"
               "      docs/aiopsctl-baseline.md\n");
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
    putchar('\n');
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
        if (r->csv)
            put_row(row, NULL);
        return 0;
    }
    r->learned++;
    r->anomalous += o.warm && (row->value < o.lower || row->value > o.upper);
    if (r->csv)
        put_row(row, &o);
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
        fputs("timestamp,value,anomaly_score,expected,lower,upper\n", stdout);
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

/* Fills r from the command line. Returns 0, or the exit code after saying why (0 for --help,
 * which prints the usage). */
static int parse_args(int argc, char **argv, struct run *r, bool *ret_help)
{
    static const struct option o[] = {{"detector", 1, 0, 'd'}, {"suggest", 0, 0, 's'},
                                      {"plot", 1, 0, 'p'},     {"band", 1, 0, 'b'},
                                      {"q", 1, 0, 'q'},        {"warmup", 1, 0, 'w'},
                                      {"memory", 1, 0, 'm'},   {"max-gap", 1, 0, 'g'},
                                      {"config", 1, 0, 'c'},   {"series", 1, 0, 'k'},
                                      {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *det_name = NULL, *config = NULL, *series = "";
    int c, bad = 0;
    double memory;
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
