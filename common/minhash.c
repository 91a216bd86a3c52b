/* common/minhash.c: see minhash.h. One 64-bit hash per token (xxh3), then K cheap universal
 * hashes derived from it: (h * a_i + b_i) >> 32 with odd multipliers. */
#include "common/minhash.h"

#include <string.h>

#include "common/hash.h"

static const uint64_t mul[AD_MINHASH_K] = {
    0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0xD6E8FEB86659FD93ull,
    0xFF51AFD7ED558CCDull, 0xC4CEB9FE1A85EC53ull, 0x94D049BB133111EBull, 0xBF58476D1CE4E5B9ull,
    0x2545F4914F6CDD1Dull, 0x9FB21C651E98DF25ull, 0xA0761D6478BD642Full, 0xE7037ED1A0B428DBull,
    0x8EBC6AF09C88C6E3ull, 0x589965CC75374CC3ull, 0x1D8E4E27C47D124Full, 0xD1342543DE82EF95ull};

void ad_minhash_init(struct ad_minhash *m)
{
    memset(m->v, 0xff, sizeof(m->v));
    m->n_tokens = 0;
}

static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.';
}

static void add_token(struct ad_minhash *m, const char *tok, size_t n)
{
    uint64_t h = ad_hash64(tok, n, 0x7a11);
    for (int i = 0; i < AD_MINHASH_K; i++) {
        uint32_t x = (uint32_t)((h * mul[i] + (uint64_t)i * 0x632BE59BD9B4E019ull) >> 32);
        if (x < m->v[i])
            m->v[i] = x;
    }
    m->n_tokens++;
}

void ad_minhash_add_text(struct ad_minhash *m, struct ad_str text)
{
    char tok[64];
    size_t i = 0;
    while (i < text.len) {
        while (i < text.len && !is_word((unsigned char)text.p[i]))
            i++;
        size_t start = i;
        bool digit = false;
        while (i < text.len && is_word((unsigned char)text.p[i])) {
            digit = digit || (text.p[i] >= '0' && text.p[i] <= '9');
            i++;
        }
        size_t n = i - start;
        /* Leading/trailing dots are punctuation ("down." / "...") rather than part of a name. */
        while (n > 0 && text.p[start] == '.') {
            start++;
            n--;
        }
        while (n > 0 && text.p[start + n - 1] == '.')
            n--;
        if (n < 2 || digit)
            continue;
        if (n > sizeof(tok))
            n = sizeof(tok); /* long words: their first 64 bytes identify them well enough */
        for (size_t k = 0; k < n; k++) {
            char c = text.p[start + k];
            tok[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        add_token(m, tok, n);
    }
}

double ad_minhash_similarity(const struct ad_minhash *a, const struct ad_minhash *b)
{
    if (!a->n_tokens || !b->n_tokens)
        return 0;
    int same = 0;
    for (int i = 0; i < AD_MINHASH_K; i++)
        same += a->v[i] == b->v[i];
    return (double)same / AD_MINHASH_K;
}

uint64_t ad_minhash_band(const struct ad_minhash *m, int b)
{
    const int rows = AD_MINHASH_K / AD_MINHASH_BANDS;
    uint64_t h = ad_hash64(&m->v[b * rows], rows * sizeof(uint32_t), 0xba9d0 + (uint64_t)b);
    return h ? h : 1;
}
