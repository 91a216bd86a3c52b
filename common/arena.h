/* common/arena.h: bump allocator for one batch. Reset is O(1) in steady state: the first chunk is
 * kept, and chunks added during a burst are freed on reset. */
#pragma once
#include <stddef.h>

#include "common/str.h"

struct ad_arena_chunk;

struct ad_arena {
    struct ad_arena_chunk *head; /* current chunk; older ones follow ->next */
    size_t chunk_size;           /* bytes per regular chunk */
    size_t used;                 /* bytes used in head */
};

void ad_arena_init(struct ad_arena *a, size_t chunk_size);
void ad_arena_fini(struct ad_arena *a);  /* frees everything; leaves *a zeroed */
void ad_arena_reset(struct ad_arena *a); /* forgets every allocation, keeps one chunk */
/* 8-byte aligned; NULL only on out-of-memory. */
void *ad_arena_alloc(struct ad_arena *a, size_t n);
/* Copies s into the arena; returns a slice of the copy (NUL-terminated for convenience). */
int ad_arena_strdup(struct ad_arena *a, struct ad_str s, struct ad_str *ret);
