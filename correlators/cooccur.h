/* correlators/cooccur.h: co-occurrence of alert kinds learned online. Each resolved incident
 * teaches which kinds (check names) fired together in it; a kind keeps its AD_COOCCUR_PARTNERS
 * most frequent partners (a bounded, approximate top list). The confidence of "b with a" is the
 * share of a's incidents that also held b. Pure; bounded by max_kinds. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

struct ad_rd;
struct ad_wr;
struct ad_cooccur;

#define AD_COOCCUR_PARTNERS 8     /* partners kept per kind */
#define AD_COOCCUR_MAX_LEARN 16   /* distinct kinds of one incident that are learned */
#define AD_COOCCUR_NAME_MAX 128   /* bytes of a kind name kept */

struct ad_cooccur_link {
    uint64_t key;         /* the partner kind's key (ad_cooccur_key) */
    const char *name;     /* borrowed from the table */
    uint32_t together;    /* incidents holding both */
    uint32_t incidents;   /* incidents holding the asked kind */
    double confidence;    /* together / incidents */
};

uint64_t ad_cooccur_key(struct ad_str kind);
int ad_cooccur_create(uint32_t max_kinds, struct ad_cooccur **ret); /* 0 or -ENOMEM */
void ad_cooccur_destroy(struct ad_cooccur *c);
/* One incident's distinct kinds (at most AD_COOCCUR_MAX_LEARN are used). */
void ad_cooccur_learn(struct ad_cooccur *c, const struct ad_str *kinds, size_t n);
/* The partners of kind with together >= min_support and confidence >= min_confidence, best
 * confidence first (then more support, then table order); returns how many were written. */
size_t ad_cooccur_partners(const struct ad_cooccur *c, struct ad_str kind, uint32_t min_support,
                           double min_confidence, struct ad_cooccur_link *out, size_t max);
size_t ad_cooccur_kinds(const struct ad_cooccur *c);
uint64_t ad_cooccur_forgotten(const struct ad_cooccur *c); /* kinds dropped at the bound */
int ad_cooccur_save(const struct ad_cooccur *c, struct ad_wr *w);
int ad_cooccur_load(struct ad_cooccur *c, struct ad_rd *r); /* into an empty table; 0 or -EINVAL */
