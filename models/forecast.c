/* models/forecast.c: see forecast.h. Sen's slope and the Mann-Kendall test (Sen 1968, Kendall
 * 1975) over at most AD_FC_BUCKETS bucket means: 120 pairs per fit, one fit per bucket. */
#include "models/forecast.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/detector.h"

#define NS 1e9
#define MIN_BUCKETS (AD_FC_BUCKETS / 2)
#define MAX_PAIRS (AD_FC_BUCKETS * (AD_FC_BUCKETS - 1) / 2)
#define SCAN_STEPS 64 /* crossing search steps over the horizon when the series has a season */

void ad_fc_init(struct ad_fc *f)
{
    memset(f, 0, sizeof(*f));
}

static int64_t bucket_ns(const struct ad_fc_params *p)
{
    int64_t w = p->window_ns / AD_FC_BUCKETS;
    return w > 0 ? w : 1;
}

static int oldest(const struct ad_fc *f)
{
    return (f->head + AD_FC_BUCKETS - f->n) % AD_FC_BUCKETS;
}

bool ad_fc_add(struct ad_fc *f, const struct ad_fc_params *p, int64_t t_ns, double x)
{
    bool closed = false;
    if (f->cur_n > 0 && t_ns - f->cur_start >= bucket_ns(p)) {
        f->bt[f->head] = f->cur_start + (int64_t)(f->cur_tsum / f->cur_n * NS);
        f->bv[f->head] = f->cur_sum / f->cur_n;
        f->head = (uint8_t)((f->head + 1) % AD_FC_BUCKETS);
        if (f->n < AD_FC_BUCKETS)
            f->n++;
        f->cur_n = 0;
        closed = true;
    }
    if (f->cur_n == 0) {
        f->cur_start = t_ns;
        f->cur_sum = f->cur_tsum = 0;
    }
    f->cur_n++;
    f->cur_sum += x;
    f->cur_tsum += (double)(t_ns - f->cur_start) / NS;
    while (f->n > 0 && f->bt[oldest(f)] < t_ns - p->window_ns)
        f->n--; /* older than the window (after a gap, say) */
    uint32_t h = (uint32_t)(t_ns / (3600 * (int64_t)NS));
    if (h != f->h_cur && f->h_n > 0) {
        f->hh[f->h_cur % AD_FC_HOURS] = f->h_cur;
        f->hv[f->h_cur % AD_FC_HOURS] = (float)(f->h_sum / f->h_n);
        f->h_n = 0;
        f->h_sum = 0;
    }
    f->h_cur = h;
    f->h_n++;
    f->h_sum += x;
    return closed;
}

/* The mean of the last complete hour minus that of the same hour a day before, NaN when either
 * is missing. */
static double day_change(const struct ad_fc *f)
{
    uint32_t a = f->h_cur - 1, b = f->h_cur - 25;
    if (f->h_cur < 25 || f->hh[a % AD_FC_HOURS] != a || f->hh[b % AD_FC_HOURS] != b)
        return NAN;
    return (double)f->hv[a % AD_FC_HOURS] - (double)f->hv[b % AD_FC_HOURS];
}

static void swap(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest of v[0..n) (v is reordered): Hoare's selection. */
static double kth(double *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j)
                swap(&v[i++], &v[j--]);
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

static double median(double *v, int n)
{
    double m = kth(v, n, (n - 1) / 2);
    if (n % 2)
        return m;
    double up = v[n / 2]; /* the upper half is v[n/2..n) after kth: its least */
    for (int i = n / 2 + 1; i < n; i++)
        if (v[i] < up)
            up = v[i];
    return (m + up) / 2;
}

/* What the detector expects at t (its season and its current level), 0 without a detector. */
static double expect_at(const struct ad_det_ops *d, const void *st, const struct ad_det_params *p,
                        int64_t t_ns)
{
    if (!d)
        return 0;
    struct ad_det_out o;
    memset(&o, 0, sizeof(o)); /* whatever fields ad_det_out has */
    d->expect(st, p, t_ns, &o);
    return isfinite(o.expected) ? o.expected : 0;
}

/* The first time in [now, limit] the fitted line (plus the season's change from now) reaches thr
 * coming from the side sg points away from; INT64_MAX when it does not. */
static int64_t crossing(const struct ad_fc_pred *pr, double thr, double sg, int64_t limit,
                        bool seasonal, const struct ad_det_ops *d, const void *st,
                        const struct ad_det_params *p)
{
    if (sg * (pr->level - thr) >= 0)
        return pr->now_ns;
    if (!seasonal) {
        double dt = (thr - pr->level) / pr->slope; /* > 0: slope points towards thr */
        return dt * NS <= (double)(limit - pr->now_ns) ? pr->now_ns + (int64_t)(dt * NS) : INT64_MAX;
    }
    double e_now = expect_at(d, st, p, pr->now_ns), prev = sg * (pr->level - thr);
    int64_t step = (limit - pr->now_ns) / SCAN_STEPS, t_prev = pr->now_ns;
    for (int k = 1; k <= SCAN_STEPS && step > 0; k++) {
        int64_t t = pr->now_ns + k * step;
        double g = sg * (pr->level + pr->slope * (double)(t - pr->now_ns) / NS +
                         expect_at(d, st, p, t) - e_now - thr);
        if (g >= 0) /* between t_prev and t: where the straight line between them meets 0 */
            return t_prev + (int64_t)((double)step * (-prev) / (g - prev));
        prev = g;
        t_prev = t;
    }
    return INT64_MAX;
}

void ad_fc_fit(struct ad_fc *f, const struct ad_fc_params *p, int64_t now_ns,
               const struct ad_fc_rule *rule, uint8_t reached, const struct ad_det_ops *det,
               const void *det_st, const struct ad_det_params *det_p, struct ad_fc_pred *ret)
{
    struct ad_fc_pred pr;
    memset(&pr, 0, sizeof(pr));
    pr.now_ns = now_ns;
    pr.buckets = f->n;
    pr.threshold = NAN;
    pr.day_change = day_change(f);
    int n = f->n;
    if (n < MIN_BUCKETS) {
        f->last = *ret = pr;
        return;
    }
    /* Without a season the detector expects the same at every time: nothing to take out. */
    struct ad_det_info info = {"none", 0};
    if (det)
        det->describe(det_st, &info);
    bool seasonal = det && strcmp(info.season, "none") != 0;
    if (!seasonal)
        det = NULL;
    double tt[AD_FC_BUCKETS], yy[AD_FC_BUCKETS], sl[MAX_PAIRS];
    double e_now = expect_at(det, det_st, det_p, now_ns);
    for (int i = 0, k = oldest(f); i < n; i++, k = (k + 1) % AD_FC_BUCKETS) {
        tt[i] = (double)(f->bt[k] - now_ns) / NS;
        yy[i] = f->bv[k] - (expect_at(det, det_st, det_p, f->bt[k]) - e_now);
        if (!isfinite(yy[i])) { /* sums of values near DBL_MAX: no trend to speak of */
            f->last = *ret = pr;
            return;
        }
    }
    int m = 0;
    long s = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double dy = yy[j] - yy[i];
            s += (dy > 0) - (dy < 0);
            if (tt[j] > tt[i])
                sl[m++] = dy / (tt[j] - tt[i]);
        }
    pr.fitted = m > 0;
    if (!pr.fitted) {
        f->last = *ret = pr;
        return;
    }
    pr.slope = median(sl, m);
    for (int i = 0; i < n; i++)
        yy[i] -= pr.slope * tt[i];
    pr.level = median(yy, n);
    double var = (double)n * (n - 1) * (2.0 * n + 5) / 18;
    pr.z = s > 0 ? (double)(s - 1) / sqrt(var) : s < 0 ? (double)(s + 1) / sqrt(var) : 0;
    pr.span_ns = now_ns - f->bt[oldest(f)];

    double sg = rule->below ? -1 : 1;
    int64_t limit = now_ns + (int64_t)((double)p->horizon_ns * AD_FC_MARGIN);
    double window_s = (double)p->window_ns / NS;
    if (sg * pr.slope > 0 && sg * pr.z >= p->min_z &&
        sg * pr.day_change >= sg * pr.slope * window_s / 2) /* false when NaN */
        for (uint8_t lvl = 2; lvl > reached; lvl--) {
            double thr = lvl == 2 ? rule->critical : rule->warning;
            if (isnan(thr))
                continue;
            int64_t at = crossing(&pr, thr, sg, limit, seasonal, det, det_st, det_p);
            if (at != INT64_MAX) {
                pr.target = lvl;
                pr.threshold = thr;
                pr.at_ns = at;
                break;
            }
        }
    f->last = *ret = pr;
}

enum ad_fc_change ad_fc_step(struct ad_fc *f, const struct ad_fc_params *p,
                             const struct ad_fc_pred *pred)
{
    if (!pred->fitted)
        return AD_FC_NONE;
    if (!f->firing) {
        bool within = pred->target && pred->at_ns - pred->now_ns <= p->horizon_ns;
        f->hits = within ? (uint8_t)(f->hits + 1) : 0;
        if (f->hits < AD_FC_CONFIRM)
            return AD_FC_NONE;
        f->firing = pred->target;
        f->hits = f->misses = 0;
        return AD_FC_RAISED;
    }
    if (pred->target == 0) {
        if (++f->misses < AD_FC_CONFIRM)
            return AD_FC_NONE;
        f->firing = 0;
        f->hits = f->misses = 0;
        return AD_FC_RESOLVED_TREND;
    }
    f->firing = pred->target;
    f->misses = 0;
    return AD_FC_UPDATED;
}

enum ad_fc_change ad_fc_reached(struct ad_fc *f, uint8_t reached)
{
    if (!f->firing || reached < f->firing)
        return AD_FC_NONE;
    f->firing = 0;
    f->hits = f->misses = 0;
    return AD_FC_RESOLVED_REACHED;
}

bool ad_fc_valid(const struct ad_fc *f)
{
    return f->head < AD_FC_BUCKETS && f->n <= AD_FC_BUCKETS && f->firing <= 2 &&
           f->last.target <= 2 && f->last.buckets <= AD_FC_BUCKETS;
}

char *ad_fc_duration(int64_t ns, char *buf, size_t n)
{
    long long s = (long long)(ns / 1000000000), m = s / 60, h = m / 60, d = h / 24;
    if (d > 0)
        snprintf(buf, n, "%lldd%lldh", d, h % 24);
    else if (h > 0)
        snprintf(buf, n, "%lldh%02lldm", h, m % 60);
    else if (m > 0)
        snprintf(buf, n, "%lldm", m);
    else
        snprintf(buf, n, "%llds", s < 0 ? 0 : s);
    return buf;
}
