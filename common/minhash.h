/* common/minhash.h: MinHash sketches of short texts (alert summaries, log lines) for estimating
 * their token-set (Jaccard) similarity in constant space and time, with band keys for
 * locality-sensitive lookup. Pure. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

#define AD_MINHASH_K 16    /* hash functions: similarity estimates within about +-0.12 */
#define AD_MINHASH_BANDS 4 /* of AD_MINHASH_K / AD_MINHASH_BANDS rows each */

struct ad_minhash {
    uint32_t v[AD_MINHASH_K];
    uint32_t n_tokens; /* tokens added (with repeats) */
};

void ad_minhash_init(struct ad_minhash *m);
/* Adds the tokens of text: runs of ASCII letters, digits, '_' and '.', lowercased, at least two
 * bytes long, skipping those that contain a digit (ids, counts, addresses, times vary between
 * alerts of the same kind). Calling it again adds to the same set. */
void ad_minhash_add_text(struct ad_minhash *m, struct ad_str text);
/* Estimated Jaccard similarity of the two token sets, 0..1 (0 when either is empty). */
double ad_minhash_similarity(const struct ad_minhash *a, const struct ad_minhash *b);
/* Key of band b (0..AD_MINHASH_BANDS-1): equal keys mean that band of rows is identical, which
 * sets with Jaccard s share with probability 1 - (1 - s^4)^4 in some band (0.6 -> 0.41, 0.8 ->
 * 0.86, 0.9 -> 0.98). Never 0. */
uint64_t ad_minhash_band(const struct ad_minhash *m, int b);
