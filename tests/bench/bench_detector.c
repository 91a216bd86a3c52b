/* tests/bench/bench_detector.c: the baseline detectors (models/detector.h). (a) Throughput: 100 000
 * series updated round-robin, ns/update and state bytes per series. (b) Quality: every detector on
 * the NAB files with NAB's scoring (ALGORITHMS.md 2.5), the threshold optimised per detector and
 * profile over the whole corpus, side by side with NAB's windowed Gaussian and the published scores
 * of ARTime and CAD OSE on the same files, in the same scorer. Counts are checked, times are not.
 *
 * bench_detector [--nab DIR] [--updates N] [--series N] [--only nab|speed] [--windows]
 *                [--detector NAME] [--band B] [--warmup N] [--memory N] [--q Q] [--max-gap-h H]
 *                [--threshold T] [--dump OUTDIR] [--loco] [--grid NAME=V1,V2,...]... [--help]
 *
 * DIR defaults to $AD_NAB_DIR, else ../shared/data/nab; the NAB part is skipped when it is absent,
 * and each published scorer (DIR/published/ARTime, DIR/published/contextOSE) when its folder is.
 * --detector NAME   one of the aiopsd detectors, wgauss, ARTime or CAD_OSE (default: all of them).
 * --band ... --max-gap-h  the aiopsd detectors' parameters (struct ad_det_params).
 * --windows         lists each file's windows found and false positives at the standard threshold.
 * --threshold T     scores every profile at the fixed threshold T (detection: score >= T) instead
 *                   of optimising it.
 * --dump OUTDIR     writes each row's score per scorer and file (OUTDIR/<scorer>.<file>.txt).
 * --loco            leave-one-category-out: per category (NAB's folders, the two artificial ones
 *                   merged), the standard score with the threshold optimised over all files
 *                   (in-sample) and over the other categories' files only (held-out).
 * --grid NAME=V,... candidate values of an aiopsd detector's parameter (band, q, warmup, memory,
 *                   max-gap-h) for --loco, which then picks (parameters, threshold) together;
 *                   several --grid options make a cartesian product (at most 256 combinations).
 * The NAB part ends with one markdown table of every scorer (README, docs/baselines.md).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "common/series_csv.h"
#include "common/time.h"
#include "models/detector.h"

/* --- (a) throughput ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}

/* Roughly Gaussian noise (sum of 4 uniforms) around a per-series level, a spike 1 in 1000. */
static double sample(uint64_t *rng, uint32_t series)
{
    double u = 0;
    for (int i = 0; i < 4; i++)
        u += (double)(rng_next(rng) & 0xffff) / 65536.0;
    double x = 100 + series % 97 + 5 * (u - 2);
    if (rng_next(rng) % 1000 == 0)
        x += 80;
    return x;
}

static int run_speed(const struct ad_det_ops *d, const struct ad_det_params *p, long nseries,
                     long updates)
{
    struct ad_det_state *st = calloc((size_t)nseries, sizeof(*st));
    if (!st)
        return -ENOMEM;
    for (long i = 0; i < nseries; i++)
        ad_det_init(d, &st[i], p);
    uint64_t rng = 42;
    const int64_t t0 = INT64_C(1795510800000000000), step = 300 * AD_NS_PER_S;
    struct ad_det_out out;
    long rounds = updates / nseries, anomalies = 0, cold = 0, rejected = 0;
    /* Warm-up first (timed apart): the steady state is what a running daemon pays. */
    int64_t w0 = ad_mono_ns();
    for (uint32_t r = 0; r < p->warmup; r++)
        for (long i = 0; i < nseries; i++)
            rejected +=
                ad_det_update(d, &st[i], p, t0 + r * step, sample(&rng, (uint32_t)i), &out) != 0;
    int64_t w = ad_mono_ns() - w0;
    int64_t s0 = ad_mono_ns();
    for (long r = 0; r < rounds; r++) {
        int64_t t = t0 + (p->warmup + r) * step;
        for (long i = 0; i < nseries; i++) {
            double x = sample(&rng, (uint32_t)i);
            rejected += ad_det_update(d, &st[i], p, t, x, &out) != 0;
            anomalies += x < out.lower || x > out.upper; /* outside the band: an alert */
            cold += !out.warm;
        }
    }
    int64_t s = ad_mono_ns() - s0;
    free(st);
    long n = rounds * nseries;
    if (rejected || cold) {
        fprintf(stderr, "bench_detector %s: %ld rejected, %ld not warm after warm-up\n", d->name,
                rejected, cold);
        return -EINVAL;
    }
    printf("bench_detector detector=%s series=%ld updates=%ld ns_per_update=%.1f "
           "updates_per_s=%.2fM warmup_ns_per_update=%.1f bytes_per_series=%zu "
           "outside_rate=%.5f\n",
           d->name, nseries, n, (double)s / (double)n, (double)n / ((double)s / 1e9) / 1e6,
           (double)w / ((double)p->warmup * (double)nseries), d->state_size,
           (double)anomalies / (double)n);
    return 0;
}

/* --- (b) NAB -------------------------------------------------------------------------------- */

#define MAX_WIN 8
#define MAX_CAT 16

struct window {
    long left, right; /* row indices, inclusive */
};

struct series {
    char name[128]; /* "<category folder>/<file>.csv", as the labels name it */
    int cat;        /* index in corpus.cat */
    long n, probation;
    int64_t *t;
    double *x;
    struct window win[MAX_WIN];
    int nwin;
    double *score; /* per row, for the scorer being scored, as NAB's scorer reads it */
};

/* The labelled files; categories are NAB's folders with the artificial ones merged. */
struct corpus {
    struct series *s;
    int n;
    char cat[MAX_CAT][64]; /* sorted */
    int ncat;
};

struct profile {
    const char *name;
    double tp, fp, fn;
};

static const struct profile profiles[] = {
    {"standard", 1.0, 0.11, 1.0},
    {"reward_low_FP", 1.0, 0.22, 1.0},
    {"reward_low_FN", 1.0, 0.11, 2.0},
};
#define NPROF 3

static int64_t parse_ts(const char *s)
{
    struct tm tm = {0};
    int y, mo, d, h, mi;
    double sec;
    if (sscanf(s, "%d-%d-%d %d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
        return INT64_MIN;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * AD_NS_PER_S + (int64_t)llround(sec * 1e9);
}

static int load_csv(const char *path, struct series *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    struct ad_csv_reader *r;
    struct ad_err err;
    if (ad_csv_open(f, path, &r, &err) < 0) {
        fclose(f);
        return -EINVAL;
    }
    long cap = 0;
    struct ad_csv_row row;
    int rc;
    while ((rc = ad_csv_next(r, &row, &err)) != 0) {
        if (rc < 0) {
            fprintf(stderr, "bench_detector: %s\n", err.msg);
            continue;
        }
        if (s->n == cap) {
            cap = cap ? 2 * cap : 4096;
            s->t = realloc(s->t, (size_t)cap * sizeof(*s->t));
            s->x = realloc(s->x, (size_t)cap * sizeof(*s->x));
            if (!s->t || !s->x)
                abort();
        }
        s->t[s->n] = row.t_ns;
        s->x[s->n++] = row.value;
    }
    ad_csv_close(r);
    fclose(f);
    s->score = calloc((size_t)s->n, sizeof(*s->score));
    /* NAB: min(floor(15% of the rows), 15% of 5000). */
    s->probation = (long)floor(0.15 * (double)s->n);
    if (s->probation > 750)
        s->probation = 750;
    return 0;
}

static long row_at_or_after(const struct series *s, int64_t t)
{
    long i = 0;
    while (i < s->n && s->t[i] < t)
        i++;
    return i;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* A file's category: its folder, "artificial" for artificialNoAnomaly and artificialWithAnomaly. */
static void category_of(const char *name, char *buf, size_t len)
{
    size_t n = strcspn(name, "/");
    if (strncmp(name, "artificial", 10) == 0)
        n = 10;
    snprintf(buf, len, "%.*s", (int)n, name);
}

static int load_nab(const char *dir, struct corpus *c)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/labels/combined_windows.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return -ENOENT;
    memset(c, 0, sizeof(*c));
    c->s = calloc(json_object_size(root), sizeof(*c->s));
    if (!c->s)
        abort();
    const char *key;
    json_t *wins;
    json_object_foreach(root, key, wins)
    {
        struct series *s = &c->s[c->n];
        snprintf(s->name, sizeof(s->name), "%s", key);
        snprintf(path, sizeof(path), "%s/data/%s", dir, key);
        if (load_csv(path, s) < 0) {
            fprintf(stderr, "bench_detector: cannot read %s\n", path);
            continue;
        }
        size_t i;
        json_t *w;
        json_array_foreach(wins, i, w)
        {
            if (s->nwin == MAX_WIN)
                break;
            int64_t a = parse_ts(json_string_value(json_array_get(w, 0)));
            int64_t b = parse_ts(json_string_value(json_array_get(w, 1)));
            long l = row_at_or_after(s, a), r = row_at_or_after(s, b);
            if (r == s->n || s->t[r] > b)
                r--;
            s->win[s->nwin++] = (struct window){l, r};
        }
        char cat[64];
        category_of(s->name, cat, sizeof(cat));
        int k = 0;
        while (k < c->ncat && strcmp(c->cat[k], cat) != 0)
            k++;
        if (k == c->ncat && c->ncat < MAX_CAT)
            snprintf(c->cat[c->ncat++], sizeof(c->cat[0]), "%s", cat);
        c->n++;
    }
    json_decref(root);
    qsort(c->cat, (size_t)c->ncat, sizeof(c->cat[0]), by_name);
    for (int f = 0; f < c->n; f++) {
        char cat[64];
        category_of(c->s[f].name, cat, sizeof(cat));
        for (int k = 0; k < c->ncat; k++)
            if (strcmp(c->cat[k], cat) == 0)
                c->s[f].cat = k;
    }
    return 0;
}

static void free_corpus(struct corpus *c)
{
    for (int f = 0; f < c->n; f++) {
        free(c->s[f].t);
        free(c->s[f].x);
        free(c->s[f].score);
    }
    free(c->s);
}

static double scaled_sigmoid(double y)
{
    return y >= 3 ? -1 : 2 / (1 + exp(5 * y)) - 1;
}

/* A scored row: its detector score and what a detection there is worth. */
struct cand {
    double score, value; /* value: weighted TP (window >= 0) or FP contribution */
    int window;          /* corpus-wide window index, -1 outside windows */
};

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const struct cand *)a)->score, y = ((const struct cand *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Row i of s: its window index in s (or -1) and its weighted value under profile pr. */
static int row_value(const struct series *s, long i, const struct profile *pr, double *value)
{
    int prev = -1;
    for (int w = 0; w < s->nwin; w++) {
        if (i >= s->win[w].left && i <= s->win[w].right) {
            /* NAB's sweeper: -(right - i + 1) / width, so the left edge is -1 and the right edge
             * -1/width (a detection is never worth exactly 0). */
            double width = (double)(s->win[w].right - s->win[w].left + 1);
            double y = -(double)(s->win[w].right - i + 1) / width;
            *value = pr->tp * scaled_sigmoid(y) / scaled_sigmoid(-1);
            return w;
        }
        if (s->win[w].right < i)
            prev = w;
    }
    if (prev < 0) {
        *value = -pr->fp;
    } else {
        double width = (double)(s->win[prev].right - s->win[prev].left + 1);
        *value = pr->fp * scaled_sigmoid((double)(i - s->win[prev].right) / (width - 1));
    }
    return -1;
}

/* raw: the sum of the files' raw scores at threshold; null_raw and perfect: the same files' raw
 * scores of a detector that never fires and of one that fires at the start of every window. */
struct nab_result {
    double threshold, raw, null_raw, perfect, normalized;
};

static double normalize(double raw, double null_raw, double perfect)
{
    return perfect > null_raw ? 100 * (raw - null_raw) / (perfect - null_raw) : 0;
}

/* A score as NAB's results files hold it: Python 2's str() of a float, 12 significant digits. The
 * published scores were computed from those files, so 1 - 1e-13 counts as 1.0 there and here. */
static double nab_round(double score)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.12g", score);
    return strtod(buf, NULL);
}

/* NAB's score of the files f with sel[f] != 0 (sel NULL: all). With fixed NaN, NAB's optimiser:
 * the threshold swept down over every distinct score, the best total kept (the highest threshold
 * on a tie, INFINITY when firing nowhere is best). Otherwise the score at threshold fixed: a row
 * is a detection when its score >= fixed, as in the sweep. Normalised as NAB's runner does: null
 * counts the windows that reach past the probation period, perfect every labelled window. */
static struct nab_result sweep(const struct corpus *co, const unsigned char *sel,
                               const struct profile *pr, double fixed)
{
    long total = 0;
    int nwin = 0, counted = 0, labelled = 0;
    for (int f = 0; f < co->n; f++) {
        if (sel && !sel[f])
            continue;
        total += co->s[f].n - co->s[f].probation;
        nwin += co->s[f].nwin;
    }
    struct cand *c = malloc((size_t)(total ? total : 1) * sizeof(*c));
    double *best_tp = calloc((size_t)(nwin ? nwin : 1), sizeof(*best_tp));
    char *hit = calloc((size_t)(nwin ? nwin : 1), 1);
    if (!c || !best_tp || !hit)
        abort();
    long k = 0;
    int base = 0;
    for (int f = 0; f < co->n; f++) {
        const struct series *s = &co->s[f];
        if (sel && !sel[f])
            continue;
        labelled += s->nwin;
        for (int w = 0; w < s->nwin; w++)
            counted += s->win[w].right >= s->probation; /* NAB scores no row in probation */
        for (long i = s->probation; i < s->n; i++) {
            int w = row_value(s, i, pr, &c[k].value);
            c[k].window = w < 0 ? -1 : base + w;
            c[k++].score = s->score[i];
        }
        base += s->nwin;
    }
    qsort(c, (size_t)k, sizeof(*c), by_score_desc);
    double null_raw = -pr->fn * counted, cur = null_raw;
    struct nab_result best = {INFINITY, null_raw, null_raw, pr->tp * labelled, 0};
    for (long i = 0; i < k;) {
        double thr = c[i].score;
        if (!isnan(fixed) && thr < fixed)
            break;
        for (; i < k && c[i].score == thr; i++) {
            int w = c[i].window;
            if (w < 0) {
                cur += c[i].value;
            } else if (!hit[w]) {
                hit[w] = 1;
                best_tp[w] = c[i].value;
                cur += pr->fn + c[i].value;
            } else if (c[i].value > best_tp[w]) {
                cur += c[i].value - best_tp[w];
                best_tp[w] = c[i].value;
            }
        }
        if (isnan(fixed) && cur > best.raw) {
            best.threshold = thr;
            best.raw = cur;
        }
    }
    if (!isnan(fixed)) {
        best.threshold = fixed;
        best.raw = cur;
    }
    best.normalized = normalize(best.raw, best.null_raw, best.perfect);
    free(c);
    free(best_tp);
    free(hit);
    return best;
}

static int in_window(const struct series *s, long i)
{
    for (int w = 0; w < s->nwin; w++)
        if (i >= s->win[w].left && i <= s->win[w].right)
            return 1;
    return 0;
}

/* Windows detected and false-positive rows at threshold thr (scored rows only), over every file. */
static void count_hits(const struct corpus *c, double thr, int *found, int *total, long *fps)
{
    *found = *total = 0;
    *fps = 0;
    for (int f = 0; f < c->n; f++) {
        const struct series *s = &c->s[f];
        for (long i = s->probation; i < s->n; i++)
            *fps += !in_window(s, i) && s->score[i] >= thr;
        for (int w = 0; w < s->nwin; w++) {
            if (s->win[w].right < s->probation)
                continue;
            ++*total;
            for (long i = s->win[w].left; i <= s->win[w].right; i++)
                if (i >= s->probation && s->score[i] >= thr) {
                    ++*found;
                    break;
                }
        }
    }
}

static void report_windows(const char *name, const struct corpus *c, double thr)
{
    for (int f = 0; f < c->n; f++) {
        const struct series *s = &c->s[f];
        long fp = 0;
        for (long i = s->probation; i < s->n; i++)
            fp += !in_window(s, i) && s->score[i] >= thr;
        /* The file's raw standard score at thr, as NAB's per-file results list it. */
        double raw = 0, v;
        for (int w = 0; w < s->nwin; w++)
            raw -= s->win[w].right >= s->probation ? profiles[0].fn : 0;
        long firsts[MAX_WIN];
        for (int w = 0; w < s->nwin; w++)
            firsts[w] = -1;
        for (long i = s->probation; i < s->n; i++) {
            if (s->score[i] < thr)
                continue;
            int w = row_value(s, i, &profiles[0], &v);
            if (w < 0)
                raw += v;
            else if (firsts[w] < 0) {
                firsts[w] = i;
                raw += profiles[0].fn + v;
            }
        }
        printf("  %s %s: raw %.3f; %ld false positive rows;", name, s->name, raw, fp);
        for (int w = 0; w < s->nwin; w++) {
            long first = -1;
            for (long i = s->win[w].left; i <= s->win[w].right && first < 0; i++)
                if (i >= s->probation && s->score[i] >= thr)
                    first = i;
            long width = s->win[w].right - s->win[w].left + 1;
            if (first < 0)
                printf(" window %d missed;", w + 1);
            else
                printf(" window %d detected %ld of %ld rows in (%.0f%%);", w + 1,
                       first - s->win[w].left, width,
                       100.0 * (double)(first - s->win[w].left) / (double)width);
        }
        printf("\n");
    }
}

/* Writes each file's scores, one per line, to DIR/<name>.<file's base name>.txt (for plots). */
static void dump_scores(const char *dir, const char *name, const struct corpus *c)
{
    for (int f = 0; f < c->n; f++) {
        const char *base = strrchr(c->s[f].name, '/');
        base = base ? base + 1 : c->s[f].name;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s.%s.txt", dir, name, base);
        FILE *o = fopen(path, "w");
        if (!o) {
            fprintf(stderr, "bench_detector: cannot write %s\n", path);
            return;
        }
        for (long i = 0; i < c->s[f].n; i++)
            fprintf(o, "%.12g\n", c->s[f].score[i]);
        fclose(o);
    }
}

/* --- the scorers: aiopsd's detectors, NAB's windowed Gaussian, published results ------------- */

enum scorer_kind { SC_DETECTOR, SC_WGAUSS, SC_PUBLISHED };

struct scorer {
    const char *name;
    enum scorer_kind kind;
    const struct ad_det_ops *det; /* SC_DETECTOR */
    const char *folder;           /* SC_PUBLISHED: DIR/published/<folder> */
};

static void score_detector(const struct ad_det_ops *d, const struct ad_det_params *p,
                           struct corpus *c, long *rejected)
{
    struct ad_det_state st;
    struct ad_det_out out;
    *rejected = 0;
    for (int f = 0; f < c->n; f++) {
        struct series *s = &c->s[f];
        ad_det_init(d, &st, p);
        for (long i = 0; i < s->n; i++) {
            s->score[i] = 0;
            if (ad_det_update(d, &st, p, s->t[i], s->x[i], &out) == 0)
                s->score[i] = nab_round(out.score);
            else
                ++*rejected;
        }
    }
}

/* NAB's "windowed gaussian" reference (nab/detectors/gaussian): mean and sigma of the last
 * WG_WINDOW values (here slid by one point, with running sums, where NAB slides by 100), score =
 * 1 - the Gaussian tail probability of the value beyond it: 0.5 at the mean, -> 1 far out. Not a
 * baseline detector: a check that the scorer ranks a known method where NAB ranks it (39.6
 * standard on the 58-file corpus). */
#define WG_WINDOW 6400
static void score_wgauss(struct corpus *c)
{
    double *ring = malloc(WG_WINDOW * sizeof(*ring));
    if (!ring)
        abort();
    for (int f = 0; f < c->n; f++) {
        struct series *s = &c->s[f];
        double sum = 0, sum2 = 0, mean = 0, sd = 1;
        long n = 0;
        for (long i = 0; i < s->n; i++) {
            double x = s->x[i];
            double z = fabs(x - mean) / sd;
            s->score[i] = nab_round(n > 0 ? 1 - 0.5 * erfc(z / sqrt(2)) : 0);
            if (n == WG_WINDOW) {
                double old = ring[i % WG_WINDOW];
                sum -= old;
                sum2 -= old * old;
            } else {
                n++;
            }
            ring[i % WG_WINDOW] = x;
            sum += x;
            sum2 += x * x;
            mean = sum / (double)n;
            double var = sum2 / (double)n - mean * mean;
            sd = var > 0 ? sqrt(var) : 0;
            if (sd < 1e-6)
                sd = 1e-6;
        }
    }
    free(ring);
}

/* One published results file against its data file: same rows, same timestamps and values. */
static int read_published(const char *path, struct series *s)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "bench_detector: cannot read %s: %s\n", path, strerror(errno));
        return -EINVAL;
    }
    char line[512];
    const char *bad = NULL;
    long i = 0, lineno = 0;
    while (!bad && fgets(line, sizeof(line), in)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (lineno == 1) {
            if (strcmp(line, "timestamp,value,anomaly_score") != 0)
                bad = "header is not timestamp,value,anomaly_score";
            continue;
        }
        if (!*line)
            continue;
        char *v = strchr(line, ','), *a = v ? strchr(v + 1, ',') : NULL, *end;
        if (!a) {
            bad = "not timestamp,value,anomaly_score";
            break;
        }
        *v = *a = 0;
        double x = strtod(v + 1, &end);
        if (*end || end == v + 1) {
            bad = "value is not a number";
            break;
        }
        double score = strtod(a + 1, &end);
        if (*end || end == a + 1 || !(score >= 0 && score <= 1))
            bad = "anomaly_score is not a number in [0, 1]";
        else if (i >= s->n)
            bad = "more rows than the data file";
        else if (parse_ts(line) != s->t[i])
            bad = "timestamp differs from the data file's row";
        else if (!(fabs(x - s->x[i]) <= 1e-9 * fmax(1, fabs(s->x[i]))))
            bad = "value differs from the data file's row";
        else
            s->score[i++] = score; /* as written: NAB's scorer read these very numbers */
    }
    fclose(in);
    if (!bad && i != s->n)
        bad = "ends with fewer rows than the data file";
    if (bad) {
        fprintf(stderr, "bench_detector: %s:%ld: %s (%ld rows in data/%s)\n", path, lineno, bad,
                s->n, s->name);
        return -EINVAL;
    }
    return 0;
}

/* NAB's published results of another detector: DIR/published/<folder>/<category>/<file>.csv,
 * timestamp,value,anomaly_score, one row per data row in the same order. -ENOENT when the
 * folder is absent, -EINVAL (said on stderr) when a file does not match its data file. */
static int score_published(const char *nab, const char *folder, struct corpus *c)
{
    char path[1024];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/published/%s", nab, folder);
    if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return -ENOENT;
    for (int f = 0; f < c->n; f++) {
        snprintf(path, sizeof(path), "%s/published/%s/%s", nab, folder, c->s[f].name);
        if (read_published(path, &c->s[f]) < 0)
            return -EINVAL;
    }
    return 0;
}

static int fill_scores(const struct scorer *sc, const struct ad_det_params *p, const char *nab,
                       struct corpus *c, long *rejected)
{
    *rejected = 0;
    switch (sc->kind) {
    case SC_DETECTOR:
        score_detector(sc->det, p, c, rejected);
        return 0;
    case SC_WGAUSS:
        score_wgauss(c);
        return 0;
    case SC_PUBLISHED:
        return score_published(nab, sc->folder, c);
    }
    return -EINVAL;
}

/* --- parameters and their grid --------------------------------------------------------------- */

#define GRID_MAX_PARAMS 5
#define GRID_MAX_VALUES 16
#define GRID_MAX_COMBOS 256

static const char *const param_names[GRID_MAX_PARAMS] = {"band", "q", "warmup", "memory",
                                                         "max-gap-h"};

/* Sets the ad_det_params field NAME (one of param_names) to v; -EINVAL for an unknown name. */
static int set_param(struct ad_det_params *p, const char *name, double v)
{
    if (strcmp(name, "band") == 0)
        p->band = v;
    else if (strcmp(name, "q") == 0)
        p->q = v;
    else if (strcmp(name, "warmup") == 0)
        p->warmup = (uint32_t)v;
    else if (strcmp(name, "memory") == 0)
        p->memory = v;
    else if (strcmp(name, "max-gap-h") == 0)
        p->max_gap_ns = (int64_t)(v * 3600 * AD_NS_PER_S);
    else
        return -EINVAL;
    return 0;
}

struct grid {
    int n;
    const char *name[GRID_MAX_PARAMS];
    double v[GRID_MAX_PARAMS][GRID_MAX_VALUES];
    int nv[GRID_MAX_PARAMS];
};

/* Adds "--grid NAME=V1,V2,..."; 0 or -EINVAL with the reason on stderr. */
static int grid_add(struct grid *g, const char *arg)
{
    const char *eq = strchr(arg, '=');
    int k = 0;
    while (k < GRID_MAX_PARAMS && (!eq || strlen(param_names[k]) != (size_t)(eq - arg) ||
                                   strncmp(arg, param_names[k], (size_t)(eq - arg)) != 0))
        k++;
    if (k == GRID_MAX_PARAMS || g->n == GRID_MAX_PARAMS) {
        fprintf(stderr,
                "bench_detector: --grid %s: expected NAME=V1,V2,... with NAME one of band, "
                "q, warmup, memory, max-gap-h (once each)\n",
                arg);
        return -EINVAL;
    }
    for (int i = 0; i < g->n; i++)
        if (g->name[i] == param_names[k]) {
            fprintf(stderr, "bench_detector: --grid %s: %s is already on the grid\n", arg,
                    param_names[k]);
            return -EINVAL;
        }
    int i = g->n;
    g->name[i] = param_names[k];
    g->nv[i] = 0;
    for (const char *s = eq + 1;;) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || (*end && *end != ',') || g->nv[i] == GRID_MAX_VALUES) {
            fprintf(stderr,
                    "bench_detector: --grid %s: expected at most %d numbers separated "
                    "by commas\n",
                    arg, GRID_MAX_VALUES);
            return -EINVAL;
        }
        g->v[i][g->nv[i]++] = v;
        if (!*end)
            break;
        s = end + 1;
    }
    g->n++;
    return 0;
}

static long grid_combos(const struct grid *g)
{
    long n = 1;
    for (int i = 0; i < g->n; i++)
        n *= g->nv[i];
    return n;
}

/* Combination k (mixed radix, the last parameter fastest) applied over the base parameters; its
 * description ("band=3.5 memory=200", "" without a grid) in buf. */
static void grid_apply(const struct grid *g, long k, struct ad_det_params *p, char *buf, size_t len)
{
    double v[GRID_MAX_PARAMS];
    for (int i = g->n - 1; i >= 0; i--) {
        v[i] = g->v[i][k % g->nv[i]];
        k /= g->nv[i];
        set_param(p, g->name[i], v[i]);
    }
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < g->n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s=%g", i ? " " : "", g->name[i], v[i]);
}

/* --- reports: per scorer, leave-one-category-out, the side-by-side table --------------------- */

struct table_row {
    const char *name;
    struct nab_result r[NPROF];
    int found, total;
    long fps;
    int loco; /* the LOCO columns below are set */
    double in_mean, out_mean, drop;
    const char *drop_cat;
};

/* fixed: NaN to optimise each profile's threshold, else the threshold for all of them. */
static void report_nab(const char *name, const struct corpus *c, long rejected, int windows,
                       const char *dump, double fixed, struct table_row *row)
{
    struct nab_result *r = row->r;
    for (int i = 0; i < NPROF; i++)
        r[i] = sweep(c, NULL, &profiles[i], fixed);
    count_hits(c, r[0].threshold, &row->found, &row->total, &row->fps);
    row->name = name;
    printf("bench_detector nab detector=%s files=%d standard=%.1f reward_low_FP=%.1f "
           "reward_low_FN=%.1f thresholds=%.12g/%.12g/%.12g windows=%d/%d fp_rows=%ld "
           "rejected_rows=%ld\n",
           name, c->n, r[0].normalized, r[1].normalized, r[2].normalized, r[0].threshold,
           r[1].threshold, r[2].threshold, row->found, row->total, row->fps, rejected);
    if (windows)
        report_windows(name, c, r[0].threshold);
    if (dump)
        dump_scores(dump, name, c);
}

/* sel[f] = whether file f is in category cat (or, with invert, not in it); returns the count. */
static int select_cat(const struct corpus *c, int cat, int invert, unsigned char *sel)
{
    int n = 0;
    for (int f = 0; f < c->n; f++)
        n += sel[f] = (c->s[f].cat == cat) != invert;
    return n;
}

static const char *describe(char *buf, size_t len, const char *params, double thr)
{
    if (isinf(thr))
        snprintf(buf, len, "%.120s%snever fires", params, *params ? ", " : "");
    else
        snprintf(buf, len, "%.120s%sthreshold %.12g", params, *params ? ", " : "", thr);
    return buf;
}

/* Leave-one-category-out on the standard profile. For each category C: in-sample, (parameters,)
 * threshold optimised over every file and scored on C's files; held-out, optimised over the
 * other categories' files and scored on C's with that fixed threshold. Each is normalised with
 * C's own null and perfect. With a grid, every combination is scored once and each choice is the
 * best (combination, threshold) on its training files (the first combination on a tie). Without
 * a grid, or for a scorer other than an aiopsd detector, the scores already in c are used. */
static int run_loco(const struct scorer *sc, const struct ad_det_params *base, const struct grid *g,
                    const char *grid_spec, const char *nab, struct corpus *c, struct table_row *row)
{
    const struct profile *pr = &profiles[0];
    long ncombo = sc->kind == SC_DETECTOR ? grid_combos(g) : 1;
    unsigned char *sel = malloc((size_t)c->n), *rest = malloc((size_t)c->n);
    struct nab_result all = {.raw = -INFINITY}, in[MAX_CAT], train[MAX_CAT], out[MAX_CAT];
    char in_params[128] = "", out_params[MAX_CAT][128], buf[256];
    if (!sel || !rest)
        abort();
    for (int k = 0; k < c->ncat; k++)
        train[k].raw = -INFINITY;
    for (long combo = 0; combo < ncombo; combo++) {
        struct ad_det_params p = *base;
        char params[128] = "";
        if (sc->kind == SC_DETECTOR)
            grid_apply(g, combo, &p, params, sizeof(params));
        long rejected;
        if (sc->kind == SC_DETECTOR && g->n > 0 && fill_scores(sc, &p, nab, c, &rejected) < 0) {
            free(sel);
            free(rest);
            return -EINVAL;
        }
        struct nab_result r = sweep(c, NULL, pr, NAN);
        if (r.raw > all.raw) {
            all = r;
            snprintf(in_params, sizeof(in_params), "%s", params);
            for (int k = 0; k < c->ncat; k++) {
                select_cat(c, k, 0, sel);
                in[k] = sweep(c, sel, pr, r.threshold);
            }
        }
        for (int k = 0; k < c->ncat; k++) {
            select_cat(c, k, 1, rest);
            struct nab_result t = sweep(c, rest, pr, NAN);
            if (t.raw > train[k].raw) {
                train[k] = t;
                snprintf(out_params[k], sizeof(out_params[k]), "%s", params);
                select_cat(c, k, 0, sel);
                out[k] = sweep(c, sel, pr, t.threshold);
            }
        }
    }
    printf("bench_detector loco detector=%s categories=%d combinations=%ld%s%s: standard "
           "profile; in-sample: optimised over all %d files; held-out: optimised over the other "
           "categories' files\n",
           sc->name, c->ncat, ncombo, sc->kind == SC_DETECTOR && g->n ? " grid=" : "",
           sc->kind == SC_DETECTOR ? grid_spec : "", c->n);
    printf("| category | files | windows | in-sample standard | held-out standard | held-out "
           "choice |\n|---|---:|---:|---:|---:|---|\n");
    double in_sum = 0, out_sum = 0, out_raw = 0, null_raw = 0, perfect = 0;
    row->drop = -INFINITY;
    int nfiles = 0, nwin = 0;
    for (int k = 0; k < c->ncat; k++) {
        int files = select_cat(c, k, 0, sel), win = 0;
        for (int f = 0; f < c->n; f++)
            for (int w = 0; sel[f] && w < c->s[f].nwin; w++)
                win += c->s[f].win[w].right >= c->s[f].probation;
        nfiles += files;
        nwin += win;
        printf("| %s | %d | %d | %.1f | %.1f | %s |\n", c->cat[k], files, win, in[k].normalized,
               out[k].normalized, describe(buf, sizeof(buf), out_params[k], train[k].threshold));
        in_sum += in[k].normalized;
        out_sum += out[k].normalized;
        out_raw += out[k].raw;
        null_raw += out[k].null_raw;
        perfect += out[k].perfect;
        if (in[k].normalized - out[k].normalized > row->drop) {
            row->drop = in[k].normalized - out[k].normalized;
            row->drop_cat = c->cat[k];
        }
    }
    row->in_mean = in_sum / c->ncat;
    row->out_mean = out_sum / c->ncat;
    row->loco = 1;
    double pooled = normalize(out_raw, null_raw, perfect), in_raw = 0;
    for (int k = 0; k < c->ncat; k++)
        in_raw += in[k].raw;
    if (fabs(in_raw - all.raw) > 1e-6 * (1 + fabs(all.raw))) {
        /* The categories partition the files: their totals at one threshold add up to the whole. */
        fprintf(stderr,
                "bench_detector loco detector=%s: the categories' raw scores add up to "
                "%.6f, the corpus' is %.6f\n",
                sc->name, in_raw, all.raw);
        free(sel);
        free(rest);
        return -EINVAL;
    }
    printf("| mean of %d categories | %d | %d | %.1f | %.1f | |\n", c->ncat, nfiles, nwin,
           row->in_mean, row->out_mean);
    printf("| all files (held-out: the %d held-out totals summed) | %d | %d | %.1f | %.1f | "
           "in-sample choice: %s |\n",
           c->ncat, nfiles, nwin, all.normalized, pooled,
           describe(buf, sizeof(buf), in_params, all.threshold));
    printf("bench_detector loco detector=%s in_sample_mean=%.1f held_out_mean=%.1f "
           "in_sample_all=%.1f held_out_all=%.1f largest_drop=%.1f largest_drop_category=%s\n",
           sc->name, row->in_mean, row->out_mean, all.normalized, pooled, row->drop, row->drop_cat);
    free(sel);
    free(rest);
    return 0;
}

static void print_table(const char *nab, const struct corpus *c, const struct table_row *rows,
                        int n, int loco, const char *grid_spec)
{
    int labelled = 0;
    for (int f = 0; f < c->n; f++)
        labelled += c->s[f].nwin;
    printf("bench_detector table: NAB scoring on the %d files of %s (%d windows), the threshold "
           "optimised per scorer and profile over them; windows and FP rows at the standard "
           "threshold%s%s%s\n",
           c->n, nab, labelled,
           loco ? "; LOCO: standard profile, mean over the categories (in-sample, held-out) and "
                  "the largest in-sample minus held-out difference"
                : "",
           loco && *grid_spec ? ", aiopsd detectors' parameters chosen with the threshold over "
                                "the grid "
                              : "",
           loco ? grid_spec : "");
    printf("| detector | standard | reward_low_FP | reward_low_FN | windows found/total | FP rows "
           "|%s\n|---|---:|---:|---:|---:|---:|%s\n",
           loco ? " LOCO in-sample | LOCO held-out | largest drop |" : "",
           loco ? "---:|---:|---|" : "");
    for (int i = 0; i < n; i++) {
        const struct table_row *r = &rows[i];
        printf("| %s | %.1f | %.1f | %.1f | %d/%d | %ld |", r->name, r->r[0].normalized,
               r->r[1].normalized, r->r[2].normalized, r->found, r->total, r->fps);
        if (loco && r->loco)
            printf(" %.1f | %.1f | %.1f (%s) |", r->in_mean, r->out_mean, r->drop, r->drop_cat);
        else if (loco)
            printf(" | | |");
        printf("\n");
    }
}

static void usage(FILE *o)
{
    fprintf(o,
            "usage: bench_detector [--nab DIR] [--updates N] [--series N] [--only nab|speed]\n"
            "                      [--windows] [--detector NAME] [--band B] [--warmup N]\n"
            "                      [--memory N] [--q Q] [--max-gap-h H] [--threshold T]\n"
            "                      [--dump OUTDIR] [--loco] [--grid NAME=V1,V2,...]... [--help]\n"
            "  --nab DIR         NAB folder (data/, labels/, published/); default $AD_NAB_DIR,\n"
            "                    else ../shared/data/nab; the NAB part is skipped without it\n"
            "  --only nab|speed  run only the NAB scoring or only the throughput part\n"
            "  --updates N, --series N  throughput: updates after warm-up, series (10M, 100000)\n"
            "  --detector NAME   an aiopsd detector, wgauss, ARTime or CAD_OSE (default: all)\n"
            "  --band, --warmup, --memory, --q, --max-gap-h  the aiopsd detectors' parameters\n"
            "  --windows         each file's windows found and FP rows at the standard threshold\n"
            "  --threshold T     score every profile at the fixed threshold T (score >= T)\n"
            "  --dump OUTDIR     write each row's score to OUTDIR/<scorer>.<file>.txt\n"
            "  --loco            leave-one-category-out: in-sample and held-out per category\n"
            "  --grid NAME=V,... with --loco: candidate values of band, q, warmup, memory or\n"
            "                    max-gap-h for the aiopsd detectors; several make a product\n");
}

int main(int argc, char **argv)
{
    const char *nab = getenv("AD_NAB_DIR");
    long updates = 10000000, nseries = 100000;
    const char *only = NULL, *name = NULL, *dump = NULL;
    int windows = 0, loco = 0;
    double fixed = NAN;
    struct grid grid = {0};
    char grid_spec[512] = "";
    struct ad_det_params p;
    ad_det_params_default(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--windows") == 0 || strcmp(a, "--loco") == 0) {
            *(a[2] == 'w' ? &windows : &loco) = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_detector: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--nab") == 0)
            nab = v;
        else if (strcmp(a, "--updates") == 0)
            updates = atol(v);
        else if (strcmp(a, "--series") == 0)
            nseries = atol(v);
        else if (strcmp(a, "--dump") == 0)
            dump = v;
        else if (strcmp(a, "--detector") == 0)
            name = v;
        else if (strcmp(a, "--only") == 0)
            only = v;
        else if (strcmp(a, "--threshold") == 0)
            fixed = atof(v);
        else if (strcmp(a, "--grid") == 0) {
            if (grid_add(&grid, v) < 0)
                return 2;
            size_t off = strlen(grid_spec);
            snprintf(grid_spec + off, sizeof(grid_spec) - off, "%s%s", off ? ";" : "", v);
        } else if (strncmp(a, "--", 2) != 0 || set_param(&p, a + 2, atof(v)) < 0) {
            fprintf(stderr, "bench_detector: unknown option %s (--help)\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (grid.n && !loco) {
        fprintf(stderr, "bench_detector: --grid needs --loco\n");
        return 2;
    }
    if (grid_combos(&grid) > GRID_MAX_COMBOS) {
        fprintf(stderr, "bench_detector: the grid has %ld combinations, at most %d\n",
                grid_combos(&grid), GRID_MAX_COMBOS);
        return 2;
    }
    if (!nab)
        nab = "../shared/data/nab";
    if (!only || strcmp(only, "speed") == 0)
        for (size_t i = 0; ad_detectors[i]; i++)
            if ((!name || strcmp(name, ad_detectors[i]->name) == 0) &&
                run_speed(ad_detectors[i], &p, nseries, updates) < 0)
                return 1;
    if (only && strcmp(only, "nab") != 0)
        return 0;
    struct corpus c;
    if (load_nab(nab, &c) < 0) {
        printf("bench_detector nab: skipped, no %s/labels/combined_windows.json (--nab DIR or "
               "AD_NAB_DIR)\n",
               nab);
        return 0;
    }
    size_t ndet = 0;
    while (ad_detectors[ndet])
        ndet++;
    struct scorer *sc = calloc(ndet + 3, sizeof(*sc));
    struct table_row *rows = calloc(ndet + 3, sizeof(*rows));
    if (!sc || !rows)
        abort();
    for (size_t i = 0; i < ndet; i++)
        sc[i] = (struct scorer){ad_detectors[i]->name, SC_DETECTOR, ad_detectors[i], NULL};
    sc[ndet] = (struct scorer){"wgauss", SC_WGAUSS, NULL, NULL};
    sc[ndet + 1] = (struct scorer){"ARTime", SC_PUBLISHED, NULL, "ARTime"};
    sc[ndet + 2] = (struct scorer){"CAD_OSE", SC_PUBLISHED, NULL, "contextOSE"};
    int nrows = 0, rc = 0, matched = 0;
    for (size_t i = 0; i < ndet + 3 && rc == 0; i++) {
        if (name && strcmp(name, sc[i].name) != 0)
            continue;
        matched = 1;
        long rejected;
        rc = fill_scores(&sc[i], &p, nab, &c, &rejected);
        if (rc == -ENOENT) {
            printf("bench_detector nab detector=%s: skipped, no %s/published/%s\n", sc[i].name, nab,
                   sc[i].folder);
            rc = 0;
            continue;
        }
        if (rc < 0)
            break;
        report_nab(sc[i].name, &c, rejected, windows, dump, fixed, &rows[nrows]);
        if (loco)
            rc = run_loco(&sc[i], &p, &grid, grid_spec, nab, &c, &rows[nrows]);
        nrows++;
    }
    if (name && !matched) {
        fprintf(stderr, "bench_detector: unknown detector %s (--help)\n", name);
        rc = -EINVAL;
    }
    if (rc == 0)
        print_table(nab, &c, rows, nrows, loco, grid_spec);
    free(sc);
    free(rows);
    free_corpus(&c);
    return rc < 0 ? 1 : 0;
}
