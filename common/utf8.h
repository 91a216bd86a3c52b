/* common/utf8.h: UTF-8 checks (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) and repair. Pure: no I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"

struct ad_arena;

/* Length (1-4) of the valid UTF-8 sequence at s (n bytes available, n > 0), or 0 when the bytes
 * there are not one. */
size_t ad_utf8_char_len(const unsigned char *s, size_t n);
/* Whether all of p..p+n is valid UTF-8. */
bool ad_utf8_valid(const char *p, size_t n);
/* *ret = s when s is valid UTF-8; otherwise a copy in the arena where every invalid byte is
 * replaced by U+FFFD, and *ret_replaced is set true. Returns 0 or -ENOMEM. */
int ad_utf8_repair(struct ad_str s, struct ad_arena *arena, struct ad_str *ret, bool *ret_replaced);
/* The longest prefix of valid UTF-8 s that is at most max bytes and ends on a character
 * boundary. */
struct ad_str ad_utf8_cut(struct ad_str s, size_t max);
