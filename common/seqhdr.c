/* common/seqhdr.c: see seqhdr.h. */
#include "common/seqhdr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define MAGIC_LEN (sizeof(AD_SEQ_MAGIC) - 1)

struct ad_seq_tracker {
    struct ad_seq_pub *v;
    size_t n, max;
    uint64_t untracked;
};

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
}

bool ad_seq_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > AD_SEQ_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char(id[i]))
            return false;
    return true;
}

int ad_seq_format(char *buf, size_t n, const char *id, uint64_t seq)
{
    if (!ad_seq_id_valid(id, strlen(id)))
        return -EINVAL;
    int k = snprintf(buf, n, "%s%s %llu", AD_SEQ_MAGIC, id, (unsigned long long)seq);
    return k < 0 || (size_t)k >= n ? -EINVAL : k;
}

int ad_seq_parse(const void *p, size_t n, char *id, uint64_t *ret_seq)
{
    const char *s = p, *end = s + n;
    if (n < MAGIC_LEN || memcmp(s, AD_SEQ_MAGIC, MAGIC_LEN) != 0)
        return 0;
    s += MAGIC_LEN;
    const char *sp = memchr(s, ' ', (size_t)(end - s));
    if (!sp || !ad_seq_id_valid(s, (size_t)(sp - s)) || sp + 1 == end)
        return -EINVAL;
    uint64_t v = 0;
    for (const char *q = sp + 1; q < end; q++) {
        if (*q < '0' || *q > '9' || v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    if (v == 0)
        return -EINVAL;
    memcpy(id, s, (size_t)(sp - s));
    id[sp - s] = '\0';
    *ret_seq = v;
    return 1;
}

int ad_seq_tracker_create(size_t max, struct ad_seq_tracker **ret)
{
    struct ad_seq_tracker *t = calloc(1, sizeof(*t));
    if (!t || !(t->v = calloc(max ? max : 1, sizeof(*t->v)))) {
        free(t);
        return -ENOMEM;
    }
    t->max = max;
    *ret = t;
    return 0;
}

void ad_seq_tracker_destroy(struct ad_seq_tracker *t)
{
    if (!t)
        return;
    free(t->v);
    free(t);
}

int64_t ad_seq_observe(struct ad_seq_tracker *t, const char *id, uint64_t seq)
{
    size_t len = strlen(id);
    uint64_t h = ad_hash64(id, len, 0);
    struct ad_seq_pub *p = NULL;
    /* Linear: a daemon has a handful of publishers, and the hash is compared first. */
    for (size_t i = 0; i < t->n && !p; i++)
        if (t->v[i].hash == h && strcmp(t->v[i].id, id) == 0)
            p = &t->v[i];
    if (!p) {
        if (t->n == t->max || len > AD_SEQ_ID_MAX) {
            t->untracked++;
            return -1;
        }
        p = &t->v[t->n++];
        memcpy(p->id, id, len + 1);
        p->hash = h;
    }
    p->received++;
    uint64_t missing = 0;
    if (p->received == 1)
        missing = seq - 1;
    else if (seq > p->last)
        missing = seq - p->last - 1;
    else
        p->resets++;
    if (missing > INT64_MAX)
        missing = INT64_MAX;
    p->gaps += missing;
    p->last = seq;
    return (int64_t)missing;
}

size_t ad_seq_count(const struct ad_seq_tracker *t) { return t->n; }

const struct ad_seq_pub *ad_seq_at(const struct ad_seq_tracker *t, size_t i) { return &t->v[i]; }

uint64_t ad_seq_untracked(const struct ad_seq_tracker *t) { return t->untracked; }
