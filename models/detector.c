/* models/detector.c: the detector table, the checks every update goes through (finite value,
 * increasing time) and what the detectors share: the band-to-score mapping. Pure: no I/O. */
#include "models/detector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/det_internal.h"

/* The first is the default: docs/baselines.md "Detectors" has the NAB figures behind the choice. */
const struct ad_det_ops *const ad_detectors[] = {
    &ad_det_context,
    &ad_det_seasonal,
    &ad_det_robust,
    &ad_det_spot,
    NULL,
};

const struct ad_det_ops *ad_det_find(const char *name)
{
    for (size_t i = 0; ad_detectors[i]; i++)
        if (strcmp(ad_detectors[i]->name, name) == 0)
            return ad_detectors[i];
    return NULL;
}

const struct ad_det_ops *ad_det_by_id(uint8_t id)
{
    for (size_t i = 0; ad_detectors[i]; i++)
        if (ad_detectors[i]->id == id)
            return ad_detectors[i];
    return NULL;
}

void ad_det_params_default(struct ad_det_params *p)
{
    p->band = 3.5;
    p->q = 1e-4;
    p->warmup = 288; /* a day of 5-minute points */
    p->memory = 288;
    p->max_gap_ns = 6 * DET_NS_PER_H;
}

void ad_det_init(const struct ad_det_ops *d, struct ad_det_state *st, const struct ad_det_params *p)
{
    memset(st->b, 0, d->state_size); /* callers may allocate only state_size bytes */
    d->init(st->b, p);
    struct ad_det_hdr *h = (struct ad_det_hdr *)(void *)st->b;
    h->det = d->id;
    h->layout = d->layout;
    h->last_ns = INT64_MIN;
    h->points = 0;
}

int ad_det_adopt(const struct ad_det_ops *d, struct ad_det_state *st, const struct ad_det_params *p,
                 const struct ad_det_state *from)
{
    if (!d->adopt)
        return -ENOTSUP;
    struct ad_det_state next; /* st stays as it was unless the adoption succeeds */
    ad_det_init(d, &next, p);
    int rc = d->adopt(next.b, p, from->b);
    if (rc < 0)
        return rc;
    struct ad_det_hdr *h = (struct ad_det_hdr *)(void *)next.b;
    h->last_ns = ad_det_hdr(from)->last_ns;
    h->points = ad_det_hdr(from)->points;
    memcpy(st->b, next.b, d->state_size);
    return 0;
}

int ad_det_update(const struct ad_det_ops *d, struct ad_det_state *st,
                  const struct ad_det_params *p, int64_t t_ns, double x, struct ad_det_out *out)
{
    struct ad_det_hdr *h = (struct ad_det_hdr *)(void *)st->b;
    if (!isfinite(x))
        return -EINVAL;
    if (t_ns <= h->last_ns)
        return -ERANGE;
    d->update(st->b, p, t_ns, x, out);
    h->last_ns = t_ns;
    h->points++;
    return 0;
}

void det_out_warmup(struct ad_det_out *out, double x)
{
    out->score = 0;
    out->expected = x;
    out->lower = NAN;
    out->upper = NAN;
    out->warm = false;
    out->cause = AD_DET_CAUSE_NONE;
}

const char *ad_det_cause_name(uint8_t cause)
{
    static const char *const names[] = {"none", "band", "pattern", "range"};
    return cause < sizeof(names) / sizeof(names[0]) ? names[cause] : "none";
}

void det_out_band(struct ad_det_out *out, double expected, double below, double above)
{
    /* A band of zero width would turn rounding noise into alerts. */
    double floor_w = 1e-9 * (1 + fabs(expected));
    below = below > floor_w ? below : floor_w;
    above = above > floor_w ? above : floor_w;
    out->expected = expected;
    out->lower = expected - below;
    out->upper = expected + above;
    out->score = 0;
    out->warm = true;
    out->cause = AD_DET_CAUSE_BAND;
}

int det_out_side(const struct ad_det_out *out, double x)
{
    return x > out->upper ? 1 : x < out->lower ? -1 : 0;
}

double det_gauss_surprise(double z)
{
    double u = fabs(z) / sqrt(2);
    if (u < 5)
        return -log(erfc(u));
    /* erfc(u) = e^-u^2 / (u sqrt(pi)) (1 - 1/(2u^2) + 3/(4u^4) - ...): exact to 1e-6 here, and
     * it does not underflow at u > 26. */
    double u2 = u * u;
    return u2 + log(u * 1.7724538509055160) - log1p(-0.5 / u2 + 0.75 / (u2 * u2));
}

double det_lik_score(struct det_lik *l, double s_point)
{
    return det_lik_score_r(l, s_point > 0 ? sqrt(2 * s_point) : 0);
}

double det_lik_score_r(struct det_lik *l, double r)
{
    if (r > DET_LIK_RCAP)
        r = DET_LIK_RCAP;
    double s_run = 0;
    if (l->n == 0) {
        l->avg = l->mean = (float)r;
        l->var = 0;
    } else {
        double as = 2.0 / (DET_LIK_SHORT + 1);
        double avg = l->avg + as * (r - l->avg);
        /* The run's surprise once the long-term distribution has a few short windows behind it:
         * scored against what was learned before this point. */
        if (l->n >= 4 * DET_LIK_SHORT) {
            double sd = sqrt(l->var + DET_LIK_VFLOOR);
            s_run = det_gauss_surprise((avg - l->mean) / sd);
        }
        double al = 1.0 / (l->n < DET_LIK_LONG ? l->n + 1.0 : (double)DET_LIK_LONG);
        double d = avg - l->mean;
        l->mean += (float)(al * d);
        l->var = (float)((1 - al) * (l->var + al * d * d));
        l->avg = (float)avg;
    }
    if (l->n < UINT32_MAX)
        l->n++;
    return s_run / (s_run + DET_LIK_HALF);
}

double det_alpha(const struct ad_det_params *p)
{
    double a = 2 / (p->memory + 1);
    return a > 1 ? 1 : a < 1e-6 ? 1e-6 : a;
}

uint32_t det_shift_after(const struct ad_det_params *p)
{
    uint32_t k = p->warmup / 2; /* half a warm-up: 12 h of 5-minute points by default */
    return k < 6 ? 6 : k > 1000 ? 1000 : k;
}

bool det_shift_step(struct det_shift *s, int side, double v, uint32_t after, double *ret_mean)
{
    if (side == 0) {
        s->k = (int16_t)(s->k > 0 ? s->k - 1 : s->k < 0 ? s->k + 1 : 0);
        if (s->k == 0)
            *s = (struct det_shift){0};
        return false;
    }
    if (s->k * side < 0)
        *s = (struct det_shift){0};
    s->k = (int16_t)(s->k + side);
    s->n++;
    s->sum += (float)v;
    if ((uint32_t)(s->k * side) < after)
        return false;
    *ret_mean = s->sum / s->n;
    *s = (struct det_shift){0};
    return true;
}

double det_tail_step(double tail, double ares)
{
    const double step = 0.05;
    if (tail == 0)
        return ares;
    return tail * exp(ares > tail ? step * (1 - DET_TAIL_P) : -step * DET_TAIL_P);
}

double det_normal_upper(double prob)
{
    /* Bisection on erfc: cold path (suggest()), 60 halvings are exact to double precision. */
    double lo = -40, hi = 40;
    for (int i = 0; i < 60; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(mid / sqrt(2)) > prob)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

void det_one_in(double prob, char *buf, size_t len)
{
    double n = prob > 0 ? 1 / prob : INFINITY;
    if (!isfinite(n) || n >= 1e15) {
        snprintf(buf, len, "never");
        return;
    }
    /* Group thousands with a space, as the docs write figures. */
    char digits[32];
    int nd = snprintf(digits, sizeof(digits), "%.0f", n);
    char grouped[48];
    int g = 0;
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && nd > 4)
            grouped[g++] = ' ';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    snprintf(buf, len, "1 time in %s points", grouped);
}
