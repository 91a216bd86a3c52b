/* correlators/rule_group.c: the group_by rule. Alerts with equal values of the group_by fields
 * (service, resource, check, source) or labels (default: service) join one live candidate, like
 * Alertmanager's group_by across sources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/event.h"
#include "common/hash.h"
#include "correlators/engine.h"

struct group_state {
    struct ad_u64map by_group; /* group key -> slot of the group's live candidate */
};

static int group_create(const struct ad_svcwin *s, void **ret)
{
    (void)s;
    struct group_state *g = calloc(1, sizeof(*g));
    if (!g || ad_u64map_init(&g->by_group, 256) < 0) {
        free(g);
        return -ENOMEM;
    }
    *ret = g;
    return 0;
}

static void group_destroy(void *state)
{
    struct group_state *g = state;
    if (!g)
        return;
    ad_u64map_fini(&g->by_group);
    free(g);
}

static struct ad_str label_value(const struct ad_event *ev, const char *name)
{
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (ad_str_eq_c(ev->labels[i].name, name))
            return ev->labels[i].value;
    return AD_STR_NULL;
}

static struct ad_str group_value(const struct ad_sw_gfield *g, const struct ad_event *ev)
{
    switch (g->kind) {
    case AD_GF_SERVICE:
        return ev->service;
    case AD_GF_RESOURCE:
        return ev->resource;
    case AD_GF_CHECK:
        return ev->check;
    case AD_GF_SOURCE:
        return ev->source;
    default:
        return label_value(ev, g->name);
    }
}

/* The key of the alert's group: its group_by values (a missing label counts as empty). The
 * default, group_by [service], gives the same keys as the backbone's per-service grouping. */
uint64_t ad_sw_group_key(const struct ad_svcwin *s, const struct ad_event *ev)
{
    uint64_t h = 0x5e41ce;
    for (size_t i = 0; i < s->rules.n_group; i++) {
        struct ad_str v = group_value(&s->rules.group[i], ev);
        h = i == 0 ? ad_hash_field(h, v) : ad_hash_field(h ^ 0x9f, v);
    }
    return ad_u64map_key(h);
}

/* "same service 'checkout' within 600s", or "same cluster='eu-1', check='DiskFull' ...". */
void ad_sw_group_reason(const struct ad_svcwin *s, const struct ad_event *ev, char *buf, size_t n)
{
    size_t off = 0;
    const struct ad_sw_rules *r = &s->rules;
    if (r->n_group == 1 && r->group[0].kind == AD_GF_SERVICE) {
        off = (size_t)snprintf(buf, n, "same service '%.*s'",
                               (int)(ev->service.len > 200 ? 200 : ev->service.len), ev->service.p);
    } else {
        off = (size_t)snprintf(buf, n, "same ");
        for (size_t i = 0; i < r->n_group && off < n; i++) {
            struct ad_str v = group_value(&r->group[i], ev);
            off += (size_t)snprintf(buf + off, n - off, "%s%s='%.*s'", i ? ", " : "",
                                    r->group[i].name, (int)(v.len > 100 ? 100 : v.len),
                                    v.p ? v.p : "");
        }
    }
    if (off < n)
        snprintf(buf + off, n - off, " within %llds", (long long)(s->cfg.window_ns / 1000000000));
}

static uint32_t group_match(struct ad_svcwin *s, void *state, const struct ad_event *ev, char *why,
                            size_t n)
{
    struct group_state *gs = state;
    uint32_t g;
    if (!ad_u64map_get(&gs->by_group, ad_sw_group_key(s, ev), &g) || !ad_sw_live(s, g, ev->time_ns))
        return AD_SW_NIL;
    if (!ad_sw_has_link(&s->slots[g].c, ad_sw_rule_group_by.name)) /* only when it will be kept */
        ad_sw_group_reason(s, ev, why, n);
    return g;
}

/* The opening alert (member 0) makes the candidate its group's. */
static void group_joined(struct ad_svcwin *s, void *state, uint32_t idx, const struct ad_event *ev,
                         uint32_t member)
{
    struct group_state *gs = state;
    if (member != 0)
        return;
    struct ad_sw_slot *sl = &s->slots[idx];
    sl->svc_key = ad_sw_group_key(s, ev);
    if (ad_u64map_put(&gs->by_group, sl->svc_key, idx) < 0)
        s->st.oom++; /* not indexed: the group's next alert opens another candidate */
}

static void group_forgot(struct ad_svcwin *s, void *state, uint32_t idx)
{
    struct group_state *gs = state;
    struct ad_sw_slot *sl = &s->slots[idx];
    uint32_t v;
    if (sl->svc_key && ad_u64map_get(&gs->by_group, sl->svc_key, &v) && v == idx)
        ad_u64map_del(&gs->by_group, sl->svc_key);
}

static void group_stats(const struct ad_svcwin *s, const void *state, struct ad_svcwin_stats *st)
{
    (void)s;
    const struct group_state *gs = state;
    st->bytes += ad_u64map_bytes(&gs->by_group);
}

static void group_save(const struct ad_svcwin *s, const void *state, struct ad_wr *w)
{
    (void)s;
    const struct group_state *gs = state;
    ad_sw_save_map(w, &gs->by_group);
}

static int group_load(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version)
{
    (void)version;
    struct group_state *gs = state;
    return ad_sw_load_map(s, r, &gs->by_group);
}

const struct ad_sw_rule ad_sw_rule_group_by = {
    .name = "group_by",
    .create = group_create,
    .destroy = group_destroy,
    .match = group_match,
    .joined = group_joined,
    .forgot = group_forgot,
    .stats = group_stats,
    .save = group_save,
    .load = group_load,
};
