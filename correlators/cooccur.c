/* correlators/cooccur.c: see cooccur.h. Kinds live in a dense array found through a u64 map;
 * past max_kinds the kind seen in the fewest incidents is dropped (an O(n) scan, only at the
 * bound). A partner list that is full replaces its weakest entry, Space-Saving style: the newcomer
 * inherits the weakest count plus one, which over-estimates it at worst by that count. */
#include "correlators/cooccur.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/ser.h"
#include "common/u64map.h"

struct partner {
    uint64_t key;
    uint32_t together;
};

struct kind {
    uint64_t key;
    char name[AD_COOCCUR_NAME_MAX + 1];
    uint32_t incidents;
    struct partner p[AD_COOCCUR_PARTNERS];
    uint32_t n_p;
};

struct ad_cooccur {
    struct kind *k;
    uint32_t n, cap, max;
    struct ad_u64map by_key;
    uint64_t forgotten;
};

uint64_t ad_cooccur_key(struct ad_str kind)
{
    return ad_u64map_key(ad_hash_field(0xc0cc, kind));
}

int ad_cooccur_create(uint32_t max_kinds, struct ad_cooccur **ret)
{
    struct ad_cooccur *c = calloc(1, sizeof(*c));
    if (!c || ad_u64map_init(&c->by_key, 64) < 0) {
        free(c);
        return -ENOMEM;
    }
    c->max = max_kinds ? max_kinds : 1;
    *ret = c;
    return 0;
}

void ad_cooccur_destroy(struct ad_cooccur *c)
{
    if (!c)
        return;
    free(c->k);
    ad_u64map_fini(&c->by_key);
    free(c);
}

static void drop_weakest(struct ad_cooccur *c)
{
    uint32_t w = 0;
    for (uint32_t i = 1; i < c->n; i++)
        if (c->k[i].incidents < c->k[w].incidents)
            w = i;
    ad_u64map_del(&c->by_key, c->k[w].key);
    uint32_t last = --c->n;
    if (w != last) {
        c->k[w] = c->k[last];
        ad_u64map_put(&c->by_key, c->k[w].key, w); /* overwrites: no allocation */
    }
    c->forgotten++;
}

static struct kind *get_kind(struct ad_cooccur *c, struct ad_str name, uint64_t key)
{
    uint32_t i;
    if (ad_u64map_get(&c->by_key, key, &i))
        return &c->k[i];
    if (c->n >= c->max)
        drop_weakest(c);
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 32;
        struct kind *k = realloc(c->k, (size_t)cap * sizeof(*k));
        if (!k)
            return NULL;
        c->k = k;
        c->cap = cap;
    }
    struct kind *k = &c->k[c->n];
    memset(k, 0, sizeof(*k));
    k->key = key;
    size_t n = name.len > AD_COOCCUR_NAME_MAX ? AD_COOCCUR_NAME_MAX : name.len;
    memcpy(k->name, name.p, n);
    if (ad_u64map_put(&c->by_key, key, c->n) < 0)
        return NULL;
    return &c->k[c->n++];
}

static void bump(struct kind *k, uint64_t partner)
{
    uint32_t weakest = 0;
    for (uint32_t i = 0; i < k->n_p; i++) {
        if (k->p[i].key == partner) {
            k->p[i].together++;
            return;
        }
        if (k->p[i].together < k->p[weakest].together)
            weakest = i;
    }
    if (k->n_p < AD_COOCCUR_PARTNERS) {
        k->p[k->n_p++] = (struct partner){partner, 1};
        return;
    }
    k->p[weakest] = (struct partner){partner, k->p[weakest].together + 1};
}

void ad_cooccur_learn(struct ad_cooccur *c, const struct ad_str *kinds, size_t n)
{
    uint64_t keys[AD_COOCCUR_MAX_LEARN];
    if (n > AD_COOCCUR_MAX_LEARN)
        n = AD_COOCCUR_MAX_LEARN;
    for (size_t i = 0; i < n; i++) {
        keys[i] = ad_cooccur_key(kinds[i]);
        struct kind *k = get_kind(c, kinds[i], keys[i]);
        if (k)
            k->incidents++;
    }
    /* Looked up again: get_kind may have moved kinds when it dropped one. */
    for (size_t i = 0; i < n; i++) {
        uint32_t ia;
        if (!ad_u64map_get(&c->by_key, keys[i], &ia))
            continue;
        for (size_t j = 0; j < n; j++)
            if (j != i && keys[j] != keys[i])
                bump(&c->k[ia], keys[j]);
    }
}

size_t ad_cooccur_partners(const struct ad_cooccur *c, struct ad_str kind, uint32_t min_support,
                           double min_confidence, struct ad_cooccur_link *out, size_t max)
{
    uint32_t i;
    if (!ad_u64map_get(&c->by_key, ad_cooccur_key(kind), &i))
        return 0;
    const struct kind *k = &c->k[i];
    size_t n = 0;
    for (uint32_t j = 0; j < k->n_p && n < max; j++) {
        const struct partner *p = &k->p[j];
        double conf = k->incidents ? (double)p->together / k->incidents : 0;
        uint32_t pi;
        if (p->together < min_support || conf < min_confidence ||
            !ad_u64map_get(&c->by_key, p->key, &pi))
            continue;
        struct ad_cooccur_link l = {p->key, c->k[pi].name, p->together, k->incidents, conf};
        size_t at = n++;
        while (at > 0 && (out[at - 1].confidence < l.confidence ||
                          (out[at - 1].confidence == l.confidence &&
                           out[at - 1].together < l.together))) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = l;
    }
    return n;
}

size_t ad_cooccur_kinds(const struct ad_cooccur *c) { return c->n; }

uint64_t ad_cooccur_forgotten(const struct ad_cooccur *c) { return c->forgotten; }

int ad_cooccur_save(const struct ad_cooccur *c, struct ad_wr *w)
{
    ad_wr_u32(w, c->n);
    for (uint32_t i = 0; i < c->n; i++) {
        const struct kind *k = &c->k[i];
        ad_wr_u64(w, k->key);
        ad_wr_cstr(w, k->name);
        ad_wr_u32(w, k->incidents);
        ad_wr_u32(w, k->n_p);
        for (uint32_t j = 0; j < k->n_p; j++) {
            ad_wr_u64(w, k->p[j].key);
            ad_wr_u32(w, k->p[j].together);
        }
    }
    return w->err;
}

int ad_cooccur_load(struct ad_cooccur *c, struct ad_rd *r)
{
    uint32_t n = ad_rd_u32(r);
    if (r->bad || c->n || n > c->max || n > r->n / 20)
        return -EINVAL;
    if (n) {
        c->k = calloc(n, sizeof(*c->k));
        if (!c->k)
            return -ENOMEM;
        c->cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct kind *k = &c->k[i];
        k->key = ad_rd_u64(r);
        char *name = ad_rd_strdup(r, AD_COOCCUR_NAME_MAX);
        if (!name)
            return -EINVAL;
        memcpy(k->name, name, strlen(name));
        free(name);
        k->incidents = ad_rd_u32(r);
        k->n_p = ad_rd_u32(r);
        if (r->bad || k->key == 0 || k->n_p > AD_COOCCUR_PARTNERS)
            return -EINVAL;
        for (uint32_t j = 0; j < k->n_p; j++) {
            k->p[j].key = ad_rd_u64(r);
            k->p[j].together = ad_rd_u32(r);
        }
        if (r->bad || ad_u64map_put(&c->by_key, k->key, i) < 0)
            return -EINVAL;
        c->n = i + 1;
    }
    return 0;
}
