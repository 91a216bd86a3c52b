/* common/ser.h: compact little-endian binary for state snapshots (Kafka partition checkpoints).
 * The writer records its first error and ignores later writes; the reader is bounds-checked and
 * turns every short or oversized field into a sticky error, so a corrupt snapshot is refused
 * rather than trusted. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ad_buf;

struct ad_wr {
    struct ad_buf *b;
    int err; /* 0 or the first -errno */
};

void ad_wr_u8(struct ad_wr *w, uint8_t v);
void ad_wr_u32(struct ad_wr *w, uint32_t v);
void ad_wr_u64(struct ad_wr *w, uint64_t v);
void ad_wr_i64(struct ad_wr *w, int64_t v);
void ad_wr_bytes(struct ad_wr *w, const void *p, size_t n); /* u32 length, then the bytes */
void ad_wr_cstr(struct ad_wr *w, const char *s);             /* NULL is written as "" */
/* Reserves a u32 length slot; ad_wr_end_len() fills it with the bytes written since. */
size_t ad_wr_begin_len(struct ad_wr *w);
void ad_wr_end_len(struct ad_wr *w, size_t at);

struct ad_rd {
    const unsigned char *p;
    size_t n;
    bool bad; /* sticky: a read went past the end or a bound */
};

static inline struct ad_rd ad_rd_make(const void *p, size_t n)
{
    return (struct ad_rd){(const unsigned char *)p, n, false};
}
uint8_t ad_rd_u8(struct ad_rd *r);
uint32_t ad_rd_u32(struct ad_rd *r);
uint64_t ad_rd_u64(struct ad_rd *r);
int64_t ad_rd_i64(struct ad_rd *r);
/* A length-prefixed field as a sub-reader (not copied); bad when longer than what is left. */
struct ad_rd ad_rd_sub(struct ad_rd *r);
/* A length-prefixed string, copied and NUL-terminated (free() it); NULL and bad when longer than
 * max, truncated, containing NUL, or out of memory. */
char *ad_rd_strdup(struct ad_rd *r, size_t max);
