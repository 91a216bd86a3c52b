/* models/det_context.c: the "context" detector, the default (issue 12, docs/baselines.md). Two
 * views of a series side by side, and one score:
 *
 * - The band: a "seasonal" detector (det_seasonal.c) runs inside, unchanged. It draws the
 *   expected value and the band [lower, upper] an SRE reads and plots, picks the season, suggests
 *   static thresholds, and gives its own score (the anomaly likelihood of the recent run,
 *   det_internal.h).
 * - Context novelty, after the idea behind NAB's contextual detectors (CAD OSE): every value is
 *   placed on one of LEVELS levels of the range seen so far, and the last few levels form
 *   contexts of several lengths (ORDERS: the value alone, the last 2, 3, 5, 8 and 13 values) plus
 *   one seasonal context (the level at this hour of the day). Each context is hashed into one
 *   table of saturating counters shared by all lengths; a context's novelty is 1 / (1 + its
 *   count), and the point's novelty is the mean over its contexts (1: every context new, as a
 *   shape never seen). The counters are halved every HALVE_EVERY points, so the table forgets
 *   what has not come back. A value beyond the range seen so far by more than RANGE_EXCESS of
 *   that range has novelty 1 (a new record that is not just drift). Values only: a gap is not a
 *   context break.
 *
 * The score is max(band score, NOVELTY_WEIGHT * novelty), reported only on its rising edges:
 * a point scores when it is above the running maximum of the scores before it, decayed by DECAY
 * per point, and either REFRACTORY points have passed since the last point that scored or it
 * beats the undecayed maximum; every other point scores 0. So a run of unusual points (a level
 * shift, a burst) scores once, at its start, and the same kind of event scores again only when
 * it is bigger or has not been seen for a while: what an operator wants paged, and what NAB
 * rewards (the earliest detection in a window; each detection outside one costs).
 *
 * `cause` says which view decided: AD_DET_CAUSE_BAND (the seasonal score was the larger),
 * AD_DET_CAUSE_PATTERN (contexts never or rarely seen), AD_DET_CAUSE_RANGE (beyond every value
 * seen). The constants were chosen by leave-one-category-out on NAB's shared series
 * (docs/baselines.md), one setting for every series. Pure: no I/O, O(1), no allocation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/det_internal.h"
#include "models/detector.h"

#define LAYOUT 1  /* 0: 16 levels, orders {1,2,4,6,10,16}, before the LOCO re-selection */
#define LEVELS 12
#define TABLE 2048 /* counters, shared by every context length */
#define HALVE_EVERY 4096
#define RING 16 /* at least the longest context */
#define RANGE_EXCESS 0.02
#define NOVELTY_WEIGHT 0.9
#define DECAY 0.999
#define REFRACTORY 50

static const uint8_t orders[] = {1, 2, 3, 5, 8, 13};
#define NORDERS (sizeof(orders) / sizeof(orders[0]))

struct context {
    struct ad_det_hdr h;
    _Alignas(8) unsigned char band[DET_SEASONAL_SIZE]; /* the seasonal detector's state */
    double lo, hi;        /* range seen so far */
    float peak;           /* running maximum of the combined score, decayed per point */
    uint32_t since;       /* points since the last one that scored */
    uint32_t n;           /* points seen (saturates) */
    uint8_t ring[RING];   /* the last levels; ring[(n - 1) % RING] is the newest */
    uint8_t count[TABLE]; /* saturating counts of hashed contexts */
};

_Static_assert(sizeof(struct context) <= AD_DET_STATE_MAX, "context state over budget");

static struct ad_det_state *band_state(struct context *c)
{
    return (struct ad_det_state *)(void *)c->band;
}

static const void *band_const(const struct context *c)
{
    return c->band;
}

static void context_init(void *st, const struct ad_det_params *p)
{
    struct context *c = st;
    ad_det_init(&ad_det_seasonal, band_state(c), p);
    c->lo = INFINITY;
    c->hi = -INFINITY;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    return h ^ (v + 0x9e3779b9u + (h << 6) + (h >> 2));
}

/* Novelty of a context (hash h), then counts it. */
static double visit(struct context *c, uint32_t h)
{
    uint8_t *k = &c->count[h % TABLE];
    double nov = 1.0 / (1.0 + *k);
    if (*k < UINT8_MAX)
        ++*k;
    return nov;
}

/* Places x in the range (widening it) and returns its novelty; *ret_range is set when x is
 * beyond the range seen so far by more than RANGE_EXCESS of it. */
static double novelty(struct context *c, int64_t t_ns, double x, bool *ret_range)
{
    double width = c->hi - c->lo;
    bool beyond = c->n > 0 && (x < c->lo - RANGE_EXCESS * width || x > c->hi + RANGE_EXCESS * width);
    c->lo = x < c->lo ? x : c->lo;
    c->hi = x > c->hi ? x : c->hi;
    width = c->hi - c->lo;
    int q = width > 0 ? (int)((x - c->lo) / width * LEVELS) : 0;
    c->ring[c->n % RING] = (uint8_t)(q < LEVELS ? q : LEVELS - 1);
    if (c->n < UINT32_MAX)
        c->n++;
    double nov = 0;
    for (size_t o = 0; o < NORDERS; o++) {
        uint32_t h = orders[o] * 2654435761u;
        for (uint32_t i = 0; i < orders[o]; i++)
            h = mix(h, c->ring[(c->n - 1 - i) % RING]);
        nov += visit(c, h);
    }
    /* The seasonal context: this level at this hour of the day (UTC). */
    uint32_t hour = (uint32_t)(((t_ns / DET_NS_PER_H) % 24 + 24) % 24);
    nov += visit(c, mix(0x51ed27u + hour * 7919u, c->ring[(c->n - 1) % RING]));
    nov /= NORDERS + 1;
    if (c->n % HALVE_EVERY == 0)
        for (size_t i = 0; i < TABLE; i++)
            c->count[i] >>= 1;
    *ret_range = beyond;
    return beyond ? 1 : nov;
}

static void context_update(void *st, const struct ad_det_params *p, int64_t t_ns, double x,
                           struct ad_det_out *out)
{
    struct context *c = st;
    struct ad_det_out b;
    /* Times are checked by ad_det_update() before this: the inner update cannot refuse. */
    ad_det_update(&ad_det_seasonal, band_state(c), p, t_ns, x, &b);
    bool range;
    double nov = NOVELTY_WEIGHT * novelty(c, t_ns, x, &range);
    /* Adopted from a seasonal state (context_adopt): the band is old, the novelty view new; it
     * says nothing until it has seen two warm-ups of its own. */
    if (c->n <= c->h.points && c->n < 2 * (uint64_t)p->warmup)
        nov = 0;
    *out = b;
    if (!b.warm)
        return;
    double score = b.score > nov ? b.score : nov;
    double floor = c->peak * DECAY;
    bool fires = score > floor && (c->since >= REFRACTORY || score > c->peak);
    c->peak = (float)(score > floor ? score : floor);
    c->since = fires ? 0 : c->since < UINT32_MAX ? c->since + 1 : c->since;
    out->score = fires ? score : 0;
    out->cause = !fires               ? AD_DET_CAUSE_NONE
                 : b.score >= nov     ? AD_DET_CAUSE_BAND
                 : range              ? AD_DET_CAUSE_RANGE
                                      : AD_DET_CAUSE_PATTERN;
}

static void context_expect(const void *st, const struct ad_det_params *p, int64_t t_ns,
                           struct ad_det_out *out)
{
    ad_det_seasonal.expect(band_const(st), p, t_ns, out);
}

/* The inner seasonal state learns every point (an adopted one carries its count over), so its
 * points are the context detector's. */
static void context_describe(const void *st, struct ad_det_info *info)
{
    ad_det_seasonal.describe(band_const(st), info);
}

static void context_suggest(const void *st, const struct ad_det_params *p,
                            struct ad_det_suggest *s)
{
    ad_det_seasonal.suggest(band_const(st), p, s);
}

/* A seasonal state becomes the band, as if it had run inside from the start; so does the band of
 * a context state of an older layout (its levels and contexts meant something else). The novelty
 * view starts empty (range, contexts): the next values set it up, as at a series' start. */
static int context_adopt(void *st, const struct ad_det_params *p, const void *from)
{
    (void)p;
    const struct ad_det_hdr *h = from;
    struct context *c = st;
    if (h->det == ad_det_seasonal.id)
        memcpy(c->band, from, ad_det_seasonal.state_size);
    else if (h->det == ad_det_context.id && h->layout != LAYOUT)
        memcpy(c->band, ((const struct context *)from)->band, sizeof(c->band));
    else
        return -ENOTSUP;
    return 0;
}

const struct ad_det_ops ad_det_context = {
    .name = "context",
    .id = 4,
    .layout = LAYOUT,
    .state_size = sizeof(struct context),
    .init = context_init,
    .update = context_update,
    .expect = context_expect,
    .describe = context_describe,
    .suggest = context_suggest,
    .adopt = context_adopt,
};
