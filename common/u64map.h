/* common/u64map.h: open-addressing map from a 64-bit hash key to a 32-bit index.
 * Keys are already well-mixed hashes (xxHash), so the key is its own hash. Linear probing with
 * backward-shift deletion (no tombstones), load factor <= 0.5, grows by doubling: no allocation in
 * steady state. Key 0 is reserved; callers pass ad_u64map_key(h) to remap it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_u64map_slot {
    uint64_t key; /* 0 = empty */
    uint32_t val;
};

struct ad_u64map {
    struct ad_u64map_slot *slots;
    size_t cap;   /* power of two */
    size_t n;
};

static inline uint64_t ad_u64map_key(uint64_t h) { return h ? h : 1; }

int ad_u64map_init(struct ad_u64map *m, size_t expected); /* 0 or -ENOMEM */
void ad_u64map_fini(struct ad_u64map *m);
/* Returns true and writes *ret_val when key is present. */
bool ad_u64map_get(const struct ad_u64map *m, uint64_t key, uint32_t *ret_val);
/* Inserts or overwrites. 0 or -ENOMEM (growth failed; the map is unchanged). */
int ad_u64map_put(struct ad_u64map *m, uint64_t key, uint32_t val);
/* Removes key; returns true if it was present. */
bool ad_u64map_del(struct ad_u64map *m, uint64_t key);
size_t ad_u64map_bytes(const struct ad_u64map *m);
