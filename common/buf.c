/* common/buf.c: growable byte buffer. */
#include "common/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ad_buf_init(struct ad_buf *b) { memset(b, 0, sizeof(*b)); }

void ad_buf_fini(struct ad_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void ad_buf_reset(struct ad_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

int ad_buf_reserve(struct ad_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int ad_buf_append(struct ad_buf *b, const void *p, size_t n)
{
    if (ad_buf_reserve(b, n) < 0)
        return -ENOMEM;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int ad_buf_append_str(struct ad_buf *b, struct ad_str s) { return ad_buf_append(b, s.p, s.len); }

int ad_buf_puts(struct ad_buf *b, const char *s) { return ad_buf_append(b, s, strlen(s)); }

int ad_buf_printf(struct ad_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if (ad_buf_reserve(b, (size_t)n) < 0)
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *ad_buf_steal(struct ad_buf *b, size_t *ret_len)
{
    char *p = b->p;
    if (ret_len)
        *ret_len = b->len;
    memset(b, 0, sizeof(*b));
    return p;
}
