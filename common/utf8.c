/* common/utf8.c: see utf8.h. */
#include "common/utf8.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"

size_t ad_utf8_char_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Offset of the first invalid sequence in s..s+n, or n. ASCII, the common case, goes eight bytes
 * at a time. */
static size_t first_invalid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & UINT64_C(0x8080808080808080)) == 0) {
                i += 8;
                continue;
            }
        }
        size_t l = ad_utf8_char_len(s + i, n - i);
        if (l == 0)
            return i;
        i += l;
    }
    return n;
}

bool ad_utf8_valid(const char *p, size_t n)
{
    return first_invalid((const unsigned char *)p, n) == n;
}

int ad_utf8_repair(struct ad_str s, struct ad_arena *arena, struct ad_str *ret, bool *ret_replaced)
{
    static const char fffd[3] = {'\xEF', '\xBF', '\xBD'};
    const unsigned char *p = (const unsigned char *)s.p;
    size_t bad = first_invalid(p, s.len);
    if (bad == s.len) {
        *ret = s;
        return 0;
    }
    /* Each invalid byte becomes 3 bytes at most. */
    if (s.len > (SIZE_MAX - 1) / 3)
        return -ENOMEM;
    char *out = ad_arena_alloc(arena, s.len * 3 + 1);
    if (!out)
        return -ENOMEM;
    memcpy(out, p, bad);
    size_t o = bad, i = bad;
    while (i < s.len) {
        size_t l = ad_utf8_char_len(p + i, s.len - i);
        if (l == 0) {
            memcpy(out + o, fffd, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, p + i, l);
        o += l;
        i += l;
    }
    out[o] = '\0';
    *ret = (struct ad_str){out, o};
    *ret_replaced = true;
    return 0;
}

struct ad_str ad_utf8_cut(struct ad_str s, size_t max)
{
    if (s.len <= max)
        return s;
    size_t n = max;
    while (n > 0 && ((unsigned char)s.p[n] & 0xC0) == 0x80)
        n--;
    return (struct ad_str){s.p, n};
}
