/* common/ser.c: see ser.h. */
#include "common/ser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static void put(struct ad_wr *w, const void *p, size_t n)
{
    if (w->err == 0 && ad_buf_append(w->b, p, n) < 0)
        w->err = -ENOMEM;
}

static void put_le(struct ad_wr *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, (size_t)bytes);
}

void ad_wr_u8(struct ad_wr *w, uint8_t v) { put(w, &v, 1); }
void ad_wr_u32(struct ad_wr *w, uint32_t v) { put_le(w, v, 4); }
void ad_wr_u64(struct ad_wr *w, uint64_t v) { put_le(w, v, 8); }
void ad_wr_i64(struct ad_wr *w, int64_t v) { put_le(w, (uint64_t)v, 8); }

void ad_wr_bytes(struct ad_wr *w, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        w->err = w->err ? w->err : -EOVERFLOW;
        return;
    }
    ad_wr_u32(w, (uint32_t)n);
    if (n)
        put(w, p, n);
}

void ad_wr_cstr(struct ad_wr *w, const char *s) { ad_wr_bytes(w, s ? s : "", s ? strlen(s) : 0); }

size_t ad_wr_begin_len(struct ad_wr *w)
{
    size_t at = w->b->len;
    ad_wr_u32(w, 0);
    return at;
}

void ad_wr_end_len(struct ad_wr *w, size_t at)
{
    if (w->err)
        return;
    size_t n = w->b->len - at - 4;
    if (n > UINT32_MAX) {
        w->err = -EOVERFLOW;
        return;
    }
    for (int i = 0; i < 4; i++)
        w->b->p[at + (size_t)i] = (char)(unsigned char)(n >> (8 * i));
}

static uint64_t get_le(struct ad_rd *r, int bytes)
{
    if (r->bad || r->n < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->n -= (size_t)bytes;
    return v;
}

uint8_t ad_rd_u8(struct ad_rd *r) { return (uint8_t)get_le(r, 1); }
uint32_t ad_rd_u32(struct ad_rd *r) { return (uint32_t)get_le(r, 4); }
uint64_t ad_rd_u64(struct ad_rd *r) { return get_le(r, 8); }
int64_t ad_rd_i64(struct ad_rd *r) { return (int64_t)get_le(r, 8); }

struct ad_rd ad_rd_sub(struct ad_rd *r)
{
    uint32_t n = ad_rd_u32(r);
    if (r->bad || r->n < n) {
        r->bad = true;
        return (struct ad_rd){NULL, 0, true};
    }
    struct ad_rd sub = {r->p, n, false};
    r->p += n;
    r->n -= n;
    return sub;
}

char *ad_rd_strdup(struct ad_rd *r, size_t max)
{
    struct ad_rd s = ad_rd_sub(r);
    if (s.bad || s.n > max || (s.n && memchr(s.p, '\0', s.n))) {
        r->bad = true;
        return NULL;
    }
    char *p = malloc(s.n + 1);
    if (!p) {
        r->bad = true;
        return NULL;
    }
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return p;
}
