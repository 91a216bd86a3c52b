/* common/buf.h: growable byte buffer for serialization (owned memory, amortised growth). */
#pragma once
#include <stddef.h>

#include "common/str.h"

struct ad_buf {
    char *p;    /* always NUL-terminated after any append (when non-NULL) */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
};

void ad_buf_init(struct ad_buf *b);
void ad_buf_fini(struct ad_buf *b); /* frees; leaves *b zeroed */
void ad_buf_reset(struct ad_buf *b); /* len = 0, keeps capacity */
int ad_buf_reserve(struct ad_buf *b, size_t extra); /* 0 or -ENOMEM */
int ad_buf_append(struct ad_buf *b, const void *p, size_t n);
int ad_buf_append_str(struct ad_buf *b, struct ad_str s);
int ad_buf_puts(struct ad_buf *b, const char *s);
int ad_buf_printf(struct ad_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the memory to the caller (free() it); leaves *b zeroed. */
char *ad_buf_steal(struct ad_buf *b, size_t *ret_len);
