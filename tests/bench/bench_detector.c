/* tests/bench/bench_detector.c: the baseline detectors (models/detector.h). (a) Throughput: 100 000
 * series updated round-robin, ns/update and state bytes per series. (b) Quality: every detector on
 * the NAB files with NAB's scoring (ALGORITHMS.md 2.5), the threshold optimised per detector and
 * profile over the whole corpus. Counts are checked, times are not.
 *
 * bench_detector [--nab DIR] [--updates N] [--series N] [--only nab|speed] [--windows]
 *                [--detector NAME|wgauss] [--band B] [--warmup N] [--memory N] [--q Q]
 *                [--max-gap-h H] [--dump OUTDIR]
 * DIR defaults to $AD_NAB_DIR, else ../shared/data/nab; the NAB part is skipped when it is absent.
 * --windows lists each file's windows found and false positives at the standard threshold;
 * --dump writes each row's score per detector and file (OUTDIR/<detector>.<file>.txt).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct window {
    long left, right; /* row indices, inclusive */
};

struct series {
    char name[128];
    long n, probation;
    int64_t *t;
    double *x;
    struct window win[8];
    int nwin;
    double *score; /* per row, for the detector being scored */
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

static int load_nab(const char *dir, struct series **ret, int *ret_n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/labels/combined_windows.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return -ENOENT;
    struct series *all = calloc(json_object_size(root), sizeof(*all));
    int n = 0;
    const char *key;
    json_t *wins;
    json_object_foreach(root, key, wins)
    {
        struct series *s = &all[n];
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
            if (s->nwin == 8)
                break;
            int64_t a = parse_ts(json_string_value(json_array_get(w, 0)));
            int64_t b = parse_ts(json_string_value(json_array_get(w, 1)));
            long l = row_at_or_after(s, a), r = row_at_or_after(s, b);
            if (r == s->n || s->t[r] > b)
                r--;
            s->win[s->nwin++] = (struct window){l, r};
        }
        n++;
    }
    json_decref(root);
    *ret = all;
    *ret_n = n;
    return 0;
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

struct nab_result {
    double threshold, raw, normalized;
};

/* A score as NAB's results files hold it: Python 2's str() of a float, 12 significant digits. The
 * published scores were computed from those files, so 1 - 1e-13 counts as 1.0 there and here. */
static double nab_round(double score)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.12g", score);
    return strtod(buf, NULL);
}

/* Sweeps the threshold down over every distinct score: NAB's optimiser over the corpus. With
 * fixed_thr > 0 (AD_NAB_THRESHOLD), the score at that threshold instead. */
static struct nab_result sweep(struct series *all, int nfiles, const struct profile *pr,
                               double fixed_thr)
{
    long total = 0;
    int nwin = 0;
    for (int f = 0; f < nfiles; f++) {
        total += all[f].n - all[f].probation;
        nwin += all[f].nwin;
    }
    struct cand *c = malloc((size_t)total * sizeof(*c));
    double *best_tp = calloc((size_t)nwin, sizeof(*best_tp));
    char *hit = calloc((size_t)nwin, 1);
    long k = 0;
    int base = 0, counted = 0;
    for (int f = 0; f < nfiles; f++) {
        struct series *s = &all[f];
        for (int w = 0; w < s->nwin; w++)
            counted += s->win[w].right >= s->probation; /* NAB scores no row in probation */
        for (long i = s->probation; i < s->n; i++) {
            int w = row_value(s, i, pr, &c[k].value);
            c[k].window = w < 0 ? -1 : base + w;
            c[k++].score = nab_round(s->score[i]);
        }
        base += s->nwin;
    }
    qsort(c, (size_t)k, sizeof(*c), by_score_desc);
    double null_raw = -pr->fn * counted, perfect = pr->tp * counted;
    double cur = null_raw;
    struct nab_result best = {INFINITY, null_raw, 0};
    for (long i = 0; i < k;) {
        double thr = c[i].score;
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
        if (cur > best.raw && !(fixed_thr > 0))
            best = (struct nab_result){thr, cur, 0};
        if (fixed_thr > 0 && thr >= fixed_thr)
            best = (struct nab_result){thr, cur, 0}; /* the last row at or over it */
    }
    best.normalized = 100 * (best.raw - null_raw) / (perfect - null_raw);
    free(c);
    free(best_tp);
    free(hit);
    return best;
}

/* Windows detected and false-positive rows at threshold thr (scored rows only). */
static void count_hits(struct series *all, int nfiles, double thr, int *found, int *total,
                       long *fps)
{
    *found = *total = 0;
    *fps = 0;
    for (int f = 0; f < nfiles; f++) {
        struct series *s = &all[f];
        for (long i = s->probation; i < s->n; i++) {
            int in = 0;
            for (int w = 0; w < s->nwin; w++)
                in |= i >= s->win[w].left && i <= s->win[w].right;
            *fps += !in && nab_round(s->score[i]) >= thr;
        }
        for (int w = 0; w < s->nwin; w++) {
            if (s->win[w].right < s->probation)
                continue;
            ++*total;
            for (long i = s->win[w].left; i <= s->win[w].right; i++)
                if (i >= s->probation && nab_round(s->score[i]) >= thr) {
                    ++*found;
                    break;
                }
        }
    }
}

static void report_windows(const char *name, struct series *all, int nfiles, double thr)
{
    for (int f = 0; f < nfiles; f++) {
        struct series *s = &all[f];
        long fp = 0;
        for (long i = s->probation; i < s->n; i++) {
            int in = 0;
            for (int w = 0; w < s->nwin; w++)
                in |= i >= s->win[w].left && i <= s->win[w].right;
            fp += !in && nab_round(s->score[i]) >= thr;
        }
        /* The file's raw standard score at thr, as NAB's per-file results list it. */
        double raw = 0, v;
        for (int w = 0; w < s->nwin; w++)
            raw -= s->win[w].right >= s->probation ? profiles[0].fn : 0;
        long firsts[8];
        for (int w = 0; w < s->nwin; w++)
            firsts[w] = -1;
        for (long i = s->probation; i < s->n; i++) {
            if (nab_round(s->score[i]) < thr)
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
                if (i >= s->probation && nab_round(s->score[i]) >= thr)
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
static void dump_scores(const char *dir, const char *name, struct series *all, int nfiles)
{
    for (int f = 0; f < nfiles; f++) {
        const char *base = strrchr(all[f].name, '/');
        base = base ? base + 1 : all[f].name;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s.%s.txt", dir, name, base);
        FILE *o = fopen(path, "w");
        if (!o) {
            fprintf(stderr, "bench_detector: cannot write %s\n", path);
            return;
        }
        for (long i = 0; i < all[f].n; i++)
            fprintf(o, "%.12g\n", all[f].score[i]);
        fclose(o);
    }
}

static void report_nab(const char *name, struct series *all, int nfiles, long rejected, int windows,
                       const char *dump)
{
    struct nab_result r[NPROF];
    double fixed = getenv("AD_NAB_THRESHOLD") ? atof(getenv("AD_NAB_THRESHOLD")) : 0;
    for (int i = 0; i < NPROF; i++)
        r[i] = sweep(all, nfiles, &profiles[i], fixed);
    int found, total;
    long fps;
    count_hits(all, nfiles, r[0].threshold, &found, &total, &fps);
    printf("bench_detector nab detector=%s files=%d standard=%.1f reward_low_FP=%.1f "
           "reward_low_FN=%.1f thresholds=%.12g/%.12g/%.12g windows=%d/%d fp_rows=%ld "
           "rejected_rows=%ld\n",
           name, nfiles, r[0].normalized, r[1].normalized, r[2].normalized, r[0].threshold,
           r[1].threshold, r[2].threshold, found, total, fps, rejected);
    if (windows)
        report_windows(name, all, nfiles, r[0].threshold);
    if (dump)
        dump_scores(dump, name, all, nfiles);
}

static void run_nab(const struct ad_det_ops *d, const struct ad_det_params *p, struct series *all,
                    int nfiles, int windows, const char *dump)
{
    struct ad_det_state st;
    struct ad_det_out out;
    long rejected = 0;
    for (int f = 0; f < nfiles; f++) {
        struct series *s = &all[f];
        ad_det_init(d, &st, p);
        for (long i = 0; i < s->n; i++) {
            s->score[i] = 0;
            if (ad_det_update(d, &st, p, s->t[i], s->x[i], &out) == 0)
                s->score[i] = out.score;
            else
                rejected++;
        }
    }
    report_nab(d->name, all, nfiles, rejected, windows, dump);
}

/* NAB's "windowed gaussian" reference (nab/detectors/gaussian): mean and sigma of the last
 * WG_WINDOW values (here slid by one point, with running sums, where NAB slides by 100), score =
 * 1 - the Gaussian tail probability of the value beyond it: 0.5 at the mean, -> 1 far out. Not a
 * baseline detector: a check that the scorer ranks a known method where NAB ranks it (39.6
 * standard on the 58-file corpus). */
#define WG_WINDOW 6400
static void run_wgauss(struct series *all, int nfiles, int windows, const char *dump)
{
    double *ring = malloc(WG_WINDOW * sizeof(*ring));
    if (!ring)
        abort();
    for (int f = 0; f < nfiles; f++) {
        struct series *s = &all[f];
        double sum = 0, sum2 = 0, mean = 0, sd = 1;
        long n = 0;
        for (long i = 0; i < s->n; i++) {
            double x = s->x[i];
            double z = fabs(x - mean) / sd;
            s->score[i] = n > 0 ? 1 - 0.5 * erfc(z / sqrt(2)) : 0;
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
    report_nab("wgauss", all, nfiles, 0, windows, dump);
}

int main(int argc, char **argv)
{
    const char *nab = getenv("AD_NAB_DIR");
    long updates = 10000000, nseries = 100000;
    const char *only = NULL, *name = NULL, *dump = NULL;
    int windows = 0;
    struct ad_det_params p;
    ad_det_params_default(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--windows") == 0) {
            windows = 1;
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
        else if (strcmp(a, "--band") == 0)
            p.band = atof(v);
        else if (strcmp(a, "--warmup") == 0)
            p.warmup = (uint32_t)atol(v);
        else if (strcmp(a, "--memory") == 0)
            p.memory = atof(v);
        else if (strcmp(a, "--q") == 0)
            p.q = atof(v);
        else if (strcmp(a, "--max-gap-h") == 0)
            p.max_gap_ns = (int64_t)(atof(v) * 3600 * AD_NS_PER_S);
        else {
            fprintf(stderr, "bench_detector: unknown option %s\n", a);
            return 2;
        }
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
    struct series *all;
    int nfiles;
    if (load_nab(nab, &all, &nfiles) < 0) {
        printf("bench_detector nab: skipped, no %s/labels/combined_windows.json (--nab DIR or "
               "AD_NAB_DIR)\n",
               nab);
        return 0;
    }
    for (size_t i = 0; ad_detectors[i]; i++)
        if (!name || strcmp(name, ad_detectors[i]->name) == 0)
            run_nab(ad_detectors[i], &p, all, nfiles, windows, dump);
    if (!name || strcmp(name, "wgauss") == 0)
        run_wgauss(all, nfiles, windows, dump);
    for (int f = 0; f < nfiles; f++) {
        free(all[f].t);
        free(all[f].x);
        free(all[f].score);
    }
    free(all);
    return 0;
}
