/* correlators/rule_text.c: the text rule. A new alert joins the live candidate holding an alert
 * whose check and summary say the same (MinHash estimate of the token-set Jaccard similarity,
 * numbers left out, at least text_similarity), found through locality-sensitive bands. Each
 * candidate keeps the sketches of up to TEXT_SKETCHES distinct texts of its alerts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/event.h"
#include "common/minhash.h"
#include "common/ser.h"
#include "correlators/engine.h"

#define TEXT_SKETCHES 4   /* distinct alert texts kept per candidate */
#define TEXT_MIN_TOKENS 2 /* fewer words say too little to compare */
#define TEXT_SAME 0.9     /* a text this close to one kept already adds no sketch */

/* The sketches of one candidate, each with the member it came from. */
struct slot_text {
    struct ad_minhash sk[TEXT_SKETCHES];
    uint32_t sk_member[TEXT_SKETCHES];
    uint8_t n_sk;
};

struct text_state {
    struct ad_u64map by_band;  /* MinHash band key -> slot that last registered it */
    void **tx;                 /* struct slot_text by slot, allocated on first use */
    uint32_t cap;
};

static int text_create(const struct ad_svcwin *s, void **ret)
{
    (void)s;
    struct text_state *t = calloc(1, sizeof(*t));
    if (!t || ad_u64map_init(&t->by_band, 256) < 0) {
        free(t);
        return -ENOMEM;
    }
    *ret = t;
    return 0;
}

static void text_destroy(void *state)
{
    struct text_state *t = state;
    if (!t)
        return;
    for (uint32_t i = 0; i < t->cap; i++)
        free(t->tx[i]);
    free(t->tx);
    ad_u64map_fini(&t->by_band);
    free(t);
}

/* The sketches of slot idx (created with create); NULL when none or out of memory. */
static struct slot_text *slot_text(struct text_state *t, uint32_t idx, bool create)
{
    if (idx >= t->cap && (!create || !ad_sw_cover(&t->tx, &t->cap, idx)))
        return NULL;
    if (!t->tx[idx] && create)
        t->tx[idx] = calloc(1, sizeof(struct slot_text));
    return t->tx[idx];
}

static void alert_sketch(const struct ad_event *ev, struct ad_minhash *m)
{
    ad_minhash_init(m);
    ad_minhash_add_text(m, ev->check);
    ad_minhash_add_text(m, ev->summary);
}

/* Keeps the member's text sketch (when it differs from those kept) and registers its bands. */
static void text_joined(struct ad_svcwin *s, void *state, uint32_t idx, const struct ad_event *ev,
                        uint32_t member)
{
    struct text_state *t = state;
    struct ad_minhash m;
    alert_sketch(ev, &m);
    if (m.n_tokens < TEXT_MIN_TOKENS)
        return;
    struct slot_text *tx = slot_text(t, idx, true);
    if (!tx) {
        s->st.oom++;
        return;
    }
    if (tx->n_sk == TEXT_SKETCHES)
        return;
    for (uint32_t k = 0; k < tx->n_sk; k++)
        if (ad_minhash_similarity(&tx->sk[k], &m) >= TEXT_SAME)
            return;
    tx->sk[tx->n_sk] = m;
    tx->sk_member[tx->n_sk++] = member;
    for (int b = 0; b < AD_MINHASH_BANDS; b++)
        if (ad_u64map_put(&t->by_band, ad_minhash_band(&m, b), idx) < 0)
            s->st.oom++; /* this band is not indexed: a lookup may miss it */
}

/* The live candidate holding a text most similar to the alert's (at least text_similarity),
 * found through the MinHash bands; AD_SW_NIL when none. */
static uint32_t text_match(struct ad_svcwin *s, void *state, const struct ad_event *ev, char *why,
                           size_t n)
{
    struct text_state *t = state;
    struct ad_minhash m;
    alert_sketch(ev, &m);
    if (m.n_tokens < TEXT_MIN_TOKENS)
        return AD_SW_NIL;
    uint32_t best = AD_SW_NIL, best_k = 0;
    double best_sim = 0;
    for (int b = 0; b < AD_MINHASH_BANDS; b++) {
        uint32_t idx;
        if (!ad_u64map_get(&t->by_band, ad_minhash_band(&m, b), &idx) ||
            !ad_sw_live(s, idx, ev->time_ns))
            continue;
        const struct slot_text *tx = slot_text(t, idx, false);
        for (uint32_t k = 0; tx && k < tx->n_sk; k++) {
            double sim = ad_minhash_similarity(&tx->sk[k], &m);
            if (sim > best_sim) {
                best_sim = sim;
                best = idx;
                best_k = k;
            }
        }
    }
    if (best == AD_SW_NIL || best_sim < s->cfg.text_similarity)
        return AD_SW_NIL;
    const struct ad_candidate *c = &s->slots[best].c;
    uint32_t mi = slot_text(t, best, false)->sk_member[best_k];
    const struct ad_cand_member *other = mi < c->n_members ? &c->members[mi] : &c->members[0];
    snprintf(why, n, "text like '%.80s on %.80s' (similarity %.2f)", other->check, other->resource,
             best_sim);
    return best;
}

static void text_forgot(struct ad_svcwin *s, void *state, uint32_t idx)
{
    (void)s;
    struct text_state *t = state;
    struct slot_text *tx = slot_text(t, idx, false);
    uint32_t v;
    for (uint32_t k = 0; tx && k < tx->n_sk; k++)
        for (int b = 0; b < AD_MINHASH_BANDS; b++) {
            uint64_t bk = ad_minhash_band(&tx->sk[k], b);
            if (ad_u64map_get(&t->by_band, bk, &v) && v == idx)
                ad_u64map_del(&t->by_band, bk);
        }
    if (tx) {
        free(tx);
        t->tx[idx] = NULL;
    }
}

static void text_save(const struct ad_svcwin *s, const void *state, struct ad_wr *w)
{
    (void)s;
    const struct text_state *t = state;
    ad_sw_save_map(w, &t->by_band);
}

static int text_load(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version)
{
    struct text_state *t = state;
    return version >= 5 ? ad_sw_load_map(s, r, &t->by_band) : 0;
}

static void text_save_slot(const void *state, uint32_t idx, struct ad_wr *w)
{
    const struct text_state *t = state;
    const struct slot_text *tx = idx < t->cap ? (const struct slot_text *)t->tx[idx] : NULL;
    ad_wr_u8(w, tx ? tx->n_sk : 0);
    for (uint32_t k = 0; tx && k < tx->n_sk; k++) {
        ad_wr_u32(w, tx->sk_member[k]);
        ad_wr_u32(w, tx->sk[k].n_tokens);
        for (int j = 0; j < AD_MINHASH_K; j++)
            ad_wr_u32(w, tx->sk[k].v[j]);
    }
}

static int text_load_slot(void *state, uint32_t idx, struct ad_rd *r, uint32_t version)
{
    struct text_state *t = state;
    if (version < 5)
        return 0;
    uint8_t n_sk = ad_rd_u8(r);
    if (r->bad || n_sk > TEXT_SKETCHES)
        return -EINVAL;
    if (n_sk == 0)
        return 0;
    struct slot_text *tx = slot_text(t, idx, true);
    if (!tx)
        return -ENOMEM;
    for (uint32_t k = 0; k < n_sk; k++) {
        tx->sk_member[k] = ad_rd_u32(r);
        tx->sk[k].n_tokens = ad_rd_u32(r);
        for (int j = 0; j < AD_MINHASH_K; j++)
            tx->sk[k].v[j] = ad_rd_u32(r);
        tx->n_sk = (uint8_t)(k + 1);
    }
    return 0;
}

const struct ad_sw_rule ad_sw_rule_text = {
    .name = "text",
    .create = text_create,
    .destroy = text_destroy,
    .match = text_match,
    .joined = text_joined,
    .forgot = text_forgot,
    .save = text_save,
    .load = text_load,
    .save_slot = text_save_slot,
    .load_slot = text_load_slot,
};
