/* common/hash.h: 64-bit hashing (xxHash XXH3, from Debian's libxxhash). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

uint64_t ad_hash64(const void *p, size_t n, uint64_t seed);

/* Chains fields into one hash; the field boundary is part of the hash ("ab","c" != "a","bc"). */
static inline uint64_t ad_hash_field(uint64_t h, struct ad_str s)
{
    return ad_hash64(s.p, s.len, h ^ (0x9e3779b97f4a7c15ULL + s.len));
}
