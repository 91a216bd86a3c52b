/* correlators/rule_cooccur.c: the cooccurrence rule. Every resolved incident teaches which
 * alert kinds (checks) fired together in it (correlators/cooccur.c); a new alert of kind A
 * joins the live candidate holding a kind B that was in at least cooccur_min_support of A's
 * incidents and in at least cooccur_min_confidence of them, the most confident first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/event.h"
#include "correlators/cooccur.h"
#include "correlators/engine.h"

struct cooc_state {
    struct ad_cooccur *co;   /* kinds that fired together in resolved incidents */
    struct ad_u64map by_kind; /* hash(check) -> slot that last took that kind */
};

static int cooc_create(const struct ad_svcwin *s, void **ret)
{
    struct cooc_state *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (ad_u64map_init(&c->by_kind, 256) < 0 ||
        ad_cooccur_create((uint32_t)s->cfg.cooccur_max_kinds, &c->co) < 0) {
        ad_u64map_fini(&c->by_kind);
        free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

static void cooc_destroy(void *state)
{
    struct cooc_state *c = state;
    if (!c)
        return;
    ad_cooccur_destroy(c->co);
    ad_u64map_fini(&c->by_kind);
    free(c);
}

static uint32_t cooc_match(struct ad_svcwin *s, void *state, const struct ad_event *ev, char *why,
                           size_t n)
{
    struct cooc_state *cs = state;
    struct ad_cooccur_link l[AD_COOCCUR_PARTNERS];
    size_t k = ad_cooccur_partners(cs->co, ev->check, (uint32_t)s->cfg.cooccur_min_support,
                                   s->cfg.cooccur_min_confidence, l, AD_COOCCUR_PARTNERS);
    for (size_t i = 0; i < k; i++) {
        uint32_t idx;
        if (!ad_u64map_get(&cs->by_kind, l[i].key, &idx) || !ad_sw_live(s, idx, ev->time_ns))
            continue;
        snprintf(why, n, "'%.*s' fired with '%.80s' in %u of %u incidents (confidence %.2f)",
                 (int)(ev->check.len > 80 ? 80 : ev->check.len), ev->check.p, l[i].name,
                 l[i].together, l[i].incidents, l[i].confidence);
        return idx;
    }
    return AD_SW_NIL;
}

static void cooc_joined(struct ad_svcwin *s, void *state, uint32_t idx, const struct ad_event *ev,
                        uint32_t member)
{
    (void)member;
    struct cooc_state *cs = state;
    if (ad_u64map_put(&cs->by_kind, ad_cooccur_key(ev->check), idx) < 0)
        s->st.oom++;
}

static uint64_t member_kind_key(const struct ad_cand_member *m)
{
    return ad_cooccur_key(ad_str_c(m->check));
}

static void cooc_forgot(struct ad_svcwin *s, void *state, uint32_t idx)
{
    struct cooc_state *cs = state;
    ad_sw_unindex_members(s, &cs->by_kind, idx, member_kind_key);
}

/* A resolved incident teaches which kinds (checks) fired together. */
static void cooc_resolved(struct ad_svcwin *s, void *state, const struct ad_candidate *c)
{
    (void)s;
    struct cooc_state *cs = state;
    struct ad_str kinds[AD_COOCCUR_MAX_LEARN];
    size_t n = 0;
    for (uint32_t i = 0; i < c->n_members && n < AD_COOCCUR_MAX_LEARN; i++) {
        struct ad_str k = ad_str_c(c->members[i].check);
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = ad_str_eq(kinds[j], k);
        if (!dup)
            kinds[n++] = k;
    }
    if (n >= 2)
        ad_cooccur_learn(cs->co, kinds, n);
}

static void cooc_stats(const struct ad_svcwin *s, const void *state, struct ad_svcwin_stats *st)
{
    (void)s;
    const struct cooc_state *cs = state;
    st->cooccur_kinds = ad_cooccur_kinds(cs->co);
}

static void cooc_save(const struct ad_svcwin *s, const void *state, struct ad_wr *w)
{
    (void)s;
    const struct cooc_state *cs = state;
    ad_sw_save_map(w, &cs->by_kind);
    ad_cooccur_save(cs->co, w);
}

static int cooc_load(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version)
{
    struct cooc_state *cs = state;
    if (version < 6)
        return 0;
    int rc = ad_sw_load_map(s, r, &cs->by_kind);
    return rc < 0 ? rc : ad_cooccur_load(cs->co, r);
}

const struct ad_sw_rule ad_sw_rule_cooccur = {
    .name = "cooccurrence",
    .create = cooc_create,
    .destroy = cooc_destroy,
    .match = cooc_match,
    .joined = cooc_joined,
    .forgot = cooc_forgot,
    .resolved = cooc_resolved,
    .stats = cooc_stats,
    .save = cooc_save,
    .load = cooc_load,
};
