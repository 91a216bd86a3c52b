/* common/u64map.c: see u64map.h. */
#include "common/u64map.h"

#include <errno.h>
#include <stdlib.h>

int ad_u64map_init(struct ad_u64map *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap <<= 1;
    m->slots = calloc(cap, sizeof(*m->slots));
    if (!m->slots)
        return -ENOMEM;
    m->cap = cap;
    m->n = 0;
    return 0;
}

void ad_u64map_fini(struct ad_u64map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

bool ad_u64map_get(const struct ad_u64map *m, uint64_t key, uint32_t *ret_val)
{
    size_t mask = m->cap - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
        if (m->slots[i].key == key) {
            *ret_val = m->slots[i].val;
            return true;
        }
        if (m->slots[i].key == 0)
            return false;
    }
}

static void insert_slot(struct ad_u64map_slot *slots, size_t cap, uint64_t key, uint32_t val)
{
    size_t mask = cap - 1;
    size_t i = key & mask;
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].val = val;
}

static int grow(struct ad_u64map *m)
{
    size_t cap = m->cap * 2;
    struct ad_u64map_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            insert_slot(slots, cap, m->slots[i].key, m->slots[i].val);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int ad_u64map_put(struct ad_u64map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
        return -ENOMEM;
    size_t mask = m->cap - 1;
    size_t i = key & mask;
    while (m->slots[i].key != 0 && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (m->slots[i].key == 0)
        m->n++;
    m->slots[i].key = key;
    m->slots[i].val = val;
    return 0;
}

bool ad_u64map_del(struct ad_u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = key & mask;
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return false;
        i = (i + 1) & mask;
    }
    /* Backward shift: move later entries of the probe run into the hole when their home slot
     * allows it, so lookups never need tombstones. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
        size_t home = m->slots[j].key & mask;
        bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].key = 0;
    m->n--;
    return true;
}

size_t ad_u64map_bytes(const struct ad_u64map *m) { return m->cap * sizeof(*m->slots); }
