/* common/arena.c: chunked bump allocator. */
#include "common/arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ad_arena_chunk {
    struct ad_arena_chunk *next;
    size_t size;
    _Alignas(16) char data[];
};

void ad_arena_init(struct ad_arena *a, size_t chunk_size)
{
    memset(a, 0, sizeof(*a));
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void ad_arena_fini(struct ad_arena *a)
{
    struct ad_arena_chunk *c = a->head;
    while (c) {
        struct ad_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof(*a));
}

void ad_arena_reset(struct ad_arena *a)
{
    if (!a->head)
        return;
    /* Keep the oldest regular-sized chunk; free burst chunks. */
    struct ad_arena_chunk *c = a->head, *keep = NULL;
    while (c) {
        struct ad_arena_chunk *next = c->next;
        if (!keep && c->size == a->chunk_size && next == NULL)
            keep = c;
        else
            free(c);
        c = next;
    }
    a->head = keep;
    if (keep)
        keep->next = NULL;
    a->used = 0;
}

void *ad_arena_alloc(struct ad_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (!a->head || a->used + n > a->head->size) {
        size_t size = n > a->chunk_size ? n : a->chunk_size;
        struct ad_arena_chunk *c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->next = a->head;
        a->head = c;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

int ad_arena_strdup(struct ad_arena *a, struct ad_str s, struct ad_str *ret)
{
    char *p = ad_arena_alloc(a, s.len + 1);
    if (!p)
        return -ENOMEM;
    if (s.len)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    *ret = (struct ad_str){p, s.len};
    return 0;
}
