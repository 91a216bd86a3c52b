/* common/hash.c: xxHash wrapper, so callers don't include xxhash.h. */
#include "common/hash.h"

#include <xxhash.h>

uint64_t ad_hash64(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}
