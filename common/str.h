/* common/str.h: length-carrying string slices. They borrow memory; they never own it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct ad_str {
    const char *p; /* not NUL-terminated in general */
    size_t len;
};

#define AD_STR_LIT(s) ((struct ad_str){(s), sizeof(s) - 1})
#define AD_STR_NULL ((struct ad_str){NULL, 0})

static inline struct ad_str ad_str_c(const char *s)
{
    return (struct ad_str){s, s ? strlen(s) : 0};
}

static inline bool ad_str_eq(struct ad_str a, struct ad_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool ad_str_eq_c(struct ad_str a, const char *b)
{
    return ad_str_eq(a, ad_str_c(b));
}
