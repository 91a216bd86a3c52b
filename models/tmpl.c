/* models/tmpl.c: see tmpl.h. A line is cut into whitespace tokens, each classified by a
 * hand-written scanner (configured regexes run only on tokens the scanner left alone); templates
 * live in a Drain prefix tree whose nodes are found through a u64 map keyed by the hash of their
 * path. Pure: no I/O, no clock; no allocation per line in steady state. */
#include "models/tmpl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/err.h"
#include "common/hash.h"
#include "common/ser.h"
#include "common/u64map.h"

#define MAX_TOKENS 256  /* per line; the rest of a longer line is its last token, unmasked */
#define NAME_MAX_LEN 32 /* an extra mask's name */
#define NIL UINT32_MAX
#define HSEED 0x7a1e5eedULL
#define WILD_KEY 0x5bd1e9955bd1e995ULL /* the wildcard child's token in node keys */
#define STATE_MAGIC 0x4d544441u        /* "ADTM" */
#define STATE_VERSION 3u /* 1: before issue 13 (other token hashes): refused; 2: no splits */
#define SPLIT_SLOTS 6    /* words tracked at a folded position; more are counted as other */
#define SPLIT_WORD 23    /* longest tracked word (bytes); a longer one counts as other */
#define MAX_HOPS 64      /* resolving an id through the merge records */

/* Per position: TF_WILD merged <*>; TF_VAR masked variable; TF_WORD plain word (or key=word);
 * TF_KEY key= with no value (an absent field: a constant that never becomes <*>); TF_SPAN
 * key=value whose value is not masked. TF_VAR and TF_SPAN tokens have a decoration (the text
 * around the value) that a merge keeps: "rhost=<*>". */
enum { TF_WILD = 1, TF_VAR = 2, TF_WORD = 4, TF_KEY = 8, TF_SPAN = 16 };
#define TF_DECO (TF_VAR | TF_SPAN)
#define TF_ALL (TF_WILD | TF_VAR | TF_WORD | TF_KEY | TF_SPAN)

enum mask { M_NONE, M_IP, M_NUM, M_HEX, M_UUID, M_PATH, M_URL, M_EMAIL, M_ANY, M_EXTRA };
static const struct ad_str mask_names[M_EXTRA] = {
    {"", 0},
    AD_STR_LIT("<IP>"),
    AD_STR_LIT("<NUM>"),
    AD_STR_LIT("<HEX>"),
    AD_STR_LIT("<UUID>"),
    AD_STR_LIT("<PATH>"),
    AD_STR_LIT("<URL>"),
    AD_STR_LIT("<EMAIL>"),
    AD_STR_LIT("<*>"),
};

struct extra {
    char name[NAME_MAX_LEN + 3]; /* "<name>" */
    size_t name_len;
    pcre2_code *re;
};

struct ltok {        /* one token of the line being mined */
    uint32_t s, e;   /* raw bytes */
    uint32_t vs, ve; /* the variable part (masked); vs == ve: none */
    uint32_t mo, ml; /* masked text in scratch.mtext */
    uint64_t h;      /* hash of the masked text, never 0 */
    uint32_t deco;   /* hash of the constant text around the variable (TF_VAR) */
    uint32_t mask;   /* enum mask, M_EXTRA + i for extra mask i */
    uint8_t flags;   /* TF_VAR, TF_WORD */
};

struct scratch {
    struct ltok *tok;
    uint32_t n;
    char *mtext; /* masked tokens joined by one space: the text a new template starts with */
    size_t mlen, mcap;
    pcre2_match_data *md;
};

struct link {
    uint32_t prev, next;
};
struct list {
    uint32_t head, tail;
};
/* Every live template is on two lists: least recently used first, and creation order (foreach,
 * save). A free slot is chained through its L_AGE next. */
enum { L_LRU, L_AGE };

/* A folded position's evidence (docs/templates.md, "Splits"): the first SPLIT_SLOTS words seen
 * there with their line counts, and the lines of every other token. */
struct trk {
    uint32_t pos, n;
    uint64_t lines, other;
    struct {
        uint64_t h, count;
        uint8_t flags, len;
        char w[SPLIT_WORD + 1];
    } s[SPLIT_SLOTS];
};

struct tpl {
    uint64_t id, count, seq; /* seq: creation order, survives save/load */
    struct trk *trk;         /* a fold survivor's evidence at the folded position, or NULL */
    bool split_done;         /* it tracked once (it tracks one fold, splits at most once) */
    int64_t last_ns;
    uint32_t leaf, leaf_next; /* its leaf node; next template of the leaf (creation order) */
    struct link ln[2];        /* L_LRU, L_AGE */
    uint32_t n_tok, n_wild;   /* n_tok == NIL: free slot */
    uint64_t *th;             /* token hashes; 0 at <*> positions */
    uint8_t *tf;              /* TF_* */
    uint32_t *td;             /* deco of TF_VAR positions */
    uint32_t *toff, *tlen;    /* token i is text[toff[i]..+tlen[i]] */
    char *text;
    uint32_t text_len;
};

struct merge {
    uint64_t from, to;
};
struct ring { /* the last AD_TMPL_MAX_SPLITS records, oldest at head */
    struct merge *r;
    uint32_t n, head;
};

struct node {
    uint32_t n_children;
    uint32_t head, tail; /* templates of a leaf, creation order */
    uint64_t key;
};

struct ad_tmpl {
    struct ad_tmpl_cfg cfg; /* extra_masks not kept: compiled into extra */
    uint64_t st_ppm;        /* similarity in millionths: integer comparisons, same on any machine */
    uint32_t levels;        /* token levels of the tree: depth - 2 */
    struct extra *extra;
    size_t n_extra, max_name;
    struct node *nodes;
    uint32_t n_nodes, cap_nodes;
    struct ad_u64map node_map;
    struct tpl *tpls;
    uint32_t cap_tpls, free_head, live;
    struct ad_u64map id_map;
    struct list ls[2]; /* L_LRU, L_AGE */
    uint64_t seq;
    size_t tpl_bytes;     /* arrays and text of the live templates */
    struct merge *merges; /* ring of the last AD_TMPL_MAX_MERGES merges, oldest at merge_head */
    uint32_t n_merges, merge_head;
    struct ad_u64map merge_map; /* old id -> ring slot */
    struct ring splits;         /* old id -> new id, one record per split-off word */
    uint32_t *sib;              /* fold_siblings' scratch: one slot per template */
    uint32_t cap_sib;
    struct scratch scr;
    struct ad_tmpl_stats st;
};

/* ---- token classification ------------------------------------------------------------------ */

/* Byte classes: a token's OR of classes says which scanners can match it, so a plain word costs
 * one pass and most variables one or two. */
enum {
    C_D = 1,
    C_H = 2,
    C_A = 4,
    C_W = 8,
    C_DOT = 16,
    C_COL = 32,
    C_AT = 64,
    C_SL = 128,
    C_EQ = 256,
    C_SP = 512,
    C_OTH = 1024
};
static const uint16_t cls[256] = {
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_SP,  C_SP,  C_SP,  C_SP,
    C_SP,  C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_SP,  C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_W,   C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_W,   C_DOT, C_SL,  C_D,   C_D,   C_D,   C_D,
    C_D,   C_D,   C_D,   C_D,   C_D,   C_D,   C_COL, C_OTH, C_OTH, C_EQ,  C_OTH, C_OTH, C_AT,
    C_H,   C_H,   C_H,   C_H,   C_H,   C_H,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,
    C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,
    C_OTH, C_OTH, C_OTH, C_OTH, C_W,   C_OTH, C_H,   C_H,   C_H,   C_H,   C_H,   C_H,   C_A,
    C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_A,
    C_A,   C_A,   C_A,   C_A,   C_A,   C_A,   C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
    C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH, C_OTH,
};

static uint32_t classes(const unsigned char *p, size_t n)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= cls[p[i]];
    return acc;
}

static inline bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
static inline bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
static inline bool is_hex(unsigned char c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
static inline bool is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static inline bool is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

static bool is_lead_punct(unsigned char c)
{
    return c == '(' || c == '[' || c == '{' || c == '<' || c == '"' || c == '\'';
}

static bool is_trail_punct(unsigned char c)
{
    switch (c) {
    case ')':
    case ']':
    case '}':
    case '>':
    case ',':
    case ';':
    case ':':
    case '.':
    case '!':
    case '?':
    case '"':
    case '\'':
        return true;
    default:
        return false;
    }
}

static size_t digits(const unsigned char *p, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && is_digit(p[j]))
        j++;
    return j - i;
}

/* IPv4, optionally with :port: the length of the prefix it covers, 0 if none. The prefix must
 * end the token or be followed by punctuation other than . - + ~ ("1.2.3.4.5" is a version). */
static size_t scan_ipv4(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (int g = 0; g < 4; g++) {
        size_t d = digits(p, n, i);
        if (d == 0 || d > 3)
            return 0;
        i += d;
        if (g < 3) {
            if (i >= n || p[i] != '.')
                return 0;
            i++;
        }
    }
    if (i + 1 < n && p[i] == ':' && is_digit(p[i + 1]))
        i += 1 + digits(p, n, i + 1);
    /* "1.2.3.4-2", "1.2.3.4+deb12u1", "1.2.3.4~rc1": a (package) version, not an address */
    if (i < n &&
        (is_alnum(p[i]) || p[i] == '.' || p[i] == '_' || p[i] == '-' || p[i] == '+' || p[i] == '~'))
        return 0;
    return i;
}

static bool is_ipv6(const unsigned char *p, size_t n)
{
    if (n < 3 || n > 45)
        return false;
    int colons = 0, group = 0;
    bool dbl = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ':') {
            colons++;
            if (i + 1 < n && p[i + 1] == ':')
                dbl = true;
            group = 0;
        } else if (is_hex(p[i])) {
            if (++group > 4)
                return false;
        } else {
            return false;
        }
    }
    return colons >= 2 && colons <= 7 && (dbl || colons == 7);
}

static bool is_uuid(const unsigned char *p, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : !is_hex(p[i]))
            return false;
    }
    return true;
}

/* Signed decimals, digit groups joined by . : / , - _ (times, dates, versions, ranges), an
 * exponent, and a unit of up to 3 letters or '%' (12ms, 3.5s, 64MB, 100%). */
static bool is_number(const unsigned char *p, size_t n)
{
    size_t i = (p[0] == '-' || p[0] == '+') ? 1 : 0;
    size_t d = digits(p, n, i);
    if (d == 0)
        return false;
    i += d;
    while (i + 1 < n && strchr(".:/,-_", p[i]) && is_digit(p[i + 1]))
        i += 1 + digits(p, n, i + 1);
    if (i + 1 < n && (p[i] | 0x20) == 'e') {
        size_t j = i + 1 + ((p[i + 1] == '-' || p[i + 1] == '+') ? 1 : 0);
        size_t e = digits(p, n, j);
        if (e)
            i = j + e;
    }
    if (i < n && p[i] == '%')
        return i + 1 == n;
    size_t u = 0;
    while (i + u < n && is_alpha(p[i + u]))
        u++;
    return i + u == n && u <= 3;
}

static bool is_hexnum(const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (n > 2 && p[0] == '0' && (p[1] | 0x20) == 'x')
        i = 2;
    bool digit = false;
    for (size_t j = i; j < n; j++) {
        if (!is_hex(p[j]))
            return false;
        digit |= is_digit(p[j]);
    }
    return i == 2 || (n >= 8 && digit);
}

static bool is_path(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == '/')
        return true;
    if (n >= 3 && p[0] == '~' && p[1] == '/')
        return true;
    return n >= 3 && p[0] == '.' && (p[1] == '/' || (p[1] == '.' && p[2] == '/'));
}

static bool is_url(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < 16 && (is_alpha(p[i]) || p[i] == '+'))
        i++;
    return i > 0 && i + 3 < n && p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/';
}

static bool is_email(const unsigned char *p, size_t n)
{
    const unsigned char *at = memchr(p, '@', n);
    if (!at || at == p)
        return false;
    size_t a = (size_t)(at - p);
    for (size_t i = 0; i < a; i++)
        if (!is_alnum(p[i]) && !strchr("._%+-", p[i]))
            return false;
    bool dot = false;
    for (size_t i = a + 1; i < n; i++) {
        if (p[i] == '.' && i > a + 1 && i + 1 < n)
            dot = true;
        else if (!is_alnum(p[i]) && p[i] != '-' && p[i] != '.')
            return false;
    }
    return dot;
}

static bool is_word(const unsigned char *p, size_t n)
{
    if (n == 0 || !is_alpha(p[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha(p[i]) && p[i] != '-' && p[i] != '_' && p[i] != '\'')
            return false;
    return true;
}

/* Classifies the value p[0..n): the mask, and in *ret_len the length of the prefix it covers
 * (all of it except an IPv4 followed by punctuation: "10.0.0.1:50010:Got"). tok_acc: the byte
 * classes of p[0..n) when the caller has them, else 0. */
static uint32_t classify(const struct ad_tmpl *t, struct scratch *s, const unsigned char *p,
                         size_t n, uint32_t tok_acc, size_t *ret_off, size_t *ret_len)
{
    *ret_off = 0;
    *ret_len = n;
    unsigned char c = p[0];
    uint32_t acc = tok_acc ? tok_acc : classes(p, n);
    if (acc == C_D) /* digits only, the most common variable: a number, or hex when long */
        return n >= 8 ? M_HEX : M_NUM;
    if ((acc & C_D) && (is_hex(c) || c == '-' || c == '+' || c == ':')) {
        if (n == 36 && is_uuid(p, n))
            return M_UUID;
        size_t ip = scan_ipv4(p, n);
        if (ip) {
            /* a list of addresses is one variable: "10.0.0.5,10.11.10.1" */
            size_t more;
            while (ip + 1 < n && p[ip] == ',' && (more = scan_ipv4(p + ip + 1, n - ip - 1)))
                ip += 1 + more;
            *ret_len = ip;
            return M_IP;
        }
        if ((acc & C_COL) && is_ipv6(p, n))
            return M_IP;
        if (!(acc & ~(uint32_t)(C_D | C_H | C_A)) && is_hexnum(p, n))
            return M_HEX;
        if (is_number(p, n))
            return M_NUM;
    }
    if ((c == '/' || c == '~' || c == '.') && is_path(p, n))
        return M_PATH;
    if ((acc & C_COL) && (acc & C_SL) && is_url(p, n))
        return M_URL;
    if ((acc & C_AT) && is_email(p, n))
        return M_EMAIL;
    for (size_t i = 0; i < t->n_extra; i++) {
        int r = pcre2_match(t->extra[i].re, p, n, 0, 0, s->md, NULL);
        if (r <= 0)
            continue;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        if (ov[1] <= ov[0])
            continue; /* an empty match masks nothing */
        *ret_off = ov[0];
        *ret_len = ov[1] - ov[0];
        return M_EXTRA + (uint32_t)i;
    }
    return (acc & C_D) ? M_ANY : M_NONE;
}

static struct ad_str mask_name(const struct ad_tmpl *t, uint32_t m)
{
    if (m >= M_EXTRA)
        return (struct ad_str){t->extra[m - M_EXTRA].name, t->extra[m - M_EXTRA].name_len};
    return mask_names[m];
}

/* Fills the token's mask, variable part and flags from its raw bytes p[tk->s..tk->e). */
static void mask_token(const struct ad_tmpl *t, struct scratch *s, const unsigned char *p,
                       struct ltok *tk, uint32_t acc)
{
    size_t cs = tk->s, ce = tk->e;
    tk->mask = M_NONE;
    tk->flags = 0;
    tk->deco = 0;
    tk->vs = tk->ve = 0;
    while (cs < ce && is_lead_punct(p[cs]))
        cs++;
    while (ce > cs && is_trail_punct(p[ce - 1]))
        ce--;
    if (cs == ce)
        return;
    if (is_word(p + cs, ce - cs)) {
        tk->flags = TF_WORD;
        return;
    }
    /* key=value: only the value is a variable, the key stays in the template. */
    const unsigned char *eq = (acc & C_EQ) ? memchr(p + cs, '=', ce - cs) : NULL;
    bool kv = eq && eq > p + cs && !is_path(p + cs, ce - cs) && !is_url(p + cs, ce - cs);
    if (kv) {
        cs = (size_t)(eq - p) + 1;
        while (cs < ce && is_lead_punct(p[cs]))
            cs++;
        if (cs == ce) {
            tk->flags = TF_KEY;
            return;
        }
        tk->vs = (uint32_t)cs;
        tk->ve = (uint32_t)ce;
        if (is_word(p + cs, ce - cs)) {
            tk->flags = TF_WORD | TF_SPAN;
            return;
        }
    }
    size_t off, len;
    /* the classes of the whole token are those of the value when nothing was stripped */
    uint32_t m = classify(t, s, p + cs, ce - cs, cs == tk->s && ce == tk->e ? acc : 0, &off, &len);
    if (m == M_NONE) {
        tk->flags = kv ? TF_SPAN : 0;
        return;
    }
    tk->mask = m;
    tk->vs = (uint32_t)(cs + off);
    tk->ve = (uint32_t)(cs + off + len);
    tk->flags = TF_VAR;
}

/* FNV-1a over the letters, digits and '=' around the variable: "uid=<NUM>" and
 * "LOGIN(uid=<NUM>)" differ, "[<IP>]" and "<IP>," do not (punctuation is not a key). */
static uint32_t deco_of(const unsigned char *p, const struct ltok *tk)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = tk->s; i < tk->vs; i++)
        if (is_alnum(p[i]) || p[i] == '=')
            h = (h ^ p[i]) * 16777619u;
    h = (h ^ 0x100) * 16777619u;
    for (uint32_t i = tk->ve; i < tk->e; i++)
        if (is_alnum(p[i]) || p[i] == '=')
            h = (h ^ p[i]) * 16777619u;
    return h;
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return ad_u64map_key(x ^ (x >> 31));
}

/* Little-endian loads, the same value on any machine (one instruction where it is native). */
static inline uint32_t load_le32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* A token's hash (never 0): multiply-fold over little-endian words, the same on any machine.
 * Tokens are short; XXH3 through the library call cost more than the hashing itself. */
static uint64_t tok_hash(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    uint64_t h = HSEED ^ (n * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __uint128_t m = (__uint128_t)(load_le64(p + i) ^ h) * 0xbf58476d1ce4e5b9ULL;
        h = (uint64_t)m ^ (uint64_t)(m >> 64);
    }
    /* The last 0-7 bytes in at most two loads (overlapping; the length is in h already). */
    size_t r = n - i;
    const unsigned char *q = p + i;
    uint64_t tail = 0;
    if (r >= 4)
        tail = (uint64_t)load_le32(q) << 32 | load_le32(q + r - 4);
    else if (r)
        tail = (uint64_t)q[0] << 16 | (uint64_t)q[r >> 1] << 8 | q[r - 1];
    __uint128_t m = (__uint128_t)(tail ^ h ^ 0x94d049bb133111ebULL) * 0x9e3779b97f4a7c15ULL;
    h = (uint64_t)m ^ (uint64_t)(m >> 64);
    h ^= h >> 29;
    return h ? h : 1;
}

/* The token's hash (never 0): of its bytes when it has no mask, else of its decoration and mask,
 * so nothing is copied per line. */
static void hash_token(const char *line, struct ltok *tk)
{
    if (tk->mask == M_NONE) {
        tk->h = tok_hash(line + tk->s, tk->e - tk->s);
        return;
    }
    uint64_t h = mix(((uint64_t)tk->deco << 32 | tk->mask) ^ 0x2545f4914f6cdd1dULL);
    tk->h = h ? h : 1;
}

/* Writes the masked line into s->mtext (tokens joined by one space): only when a template is
 * created, the one time its text is needed. */
static void build_mtext(const struct ad_tmpl *t, struct scratch *s, const char *p)
{
    char *o = s->mtext;
    for (uint32_t k = 0; k < s->n; k++) {
        struct ltok *tk = &s->tok[k];
        if (k)
            *o++ = ' ';
        tk->mo = (uint32_t)(o - s->mtext);
        if (tk->mask == M_NONE) {
            o = (char *)memcpy(o, p + tk->s, tk->e - tk->s) + (tk->e - tk->s);
        } else {
            struct ad_str nm = mask_name(t, tk->mask);
            o = (char *)memcpy(o, p + tk->s, tk->vs - tk->s) + (tk->vs - tk->s);
            o = (char *)memcpy(o, nm.p, nm.len) + nm.len;
            o = (char *)memcpy(o, p + tk->ve, tk->e - tk->ve) + (tk->e - tk->ve);
        }
        tk->ml = (uint32_t)(o - s->mtext) - tk->mo;
    }
    s->mlen = (size_t)(o - s->mtext);
}

/* English month and weekday abbreviations ("Fri Jun 17 07:07:00 2005"): parts of a date when
 * a number or another such name stands next to them. */
static bool date_name(const unsigned char *p, size_t n)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDecMonTueWedThuFriSatSun";
    if (n < 3 || p[0] < 'A' || p[0] > 'Z') /* the common case: a lower-case word */
        return false;
    while (n > 3 && is_trail_punct(p[n - 1]))
        n--;
    if (n != 3)
        return false;
    for (size_t i = 0; i + 3 <= sizeof(names) - 1; i += 3)
        if (names[i] == p[0] && names[i + 1] == p[1] && names[i + 2] == p[2])
            return true;
    return false;
}

/* The next token of the line starts with a digit or is a date name. */
static bool date_next(const unsigned char *p, size_t n, size_t i)
{
    while (i < n && is_space(p[i]))
        i++;
    size_t j = i;
    while (j < n && !is_space(p[j]))
        j++;
    return i < n && (is_digit(p[i]) || date_name(p + i, j - i));
}

/* A unit of size or time standing after a number ("5.2 KB,", "200 ms"): the length of the unit
 * (without trailing punctuation), 0 when the word is none. */
static size_t unit_len(const unsigned char *p, size_t n)
{
    static const char *const units[] = {"B",   "KB",  "kB",  "MB", "GB", "TB", "PB", "KiB",
                                        "MiB", "GiB", "TiB", "ms", "us", "ns", "s",  "sec"};
    while (n && is_trail_punct(p[n - 1]))
        n--;
    for (size_t i = 0; n && n <= 3 && i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i]) == n && !memcmp(units[i], p, n))
            return n;
    return 0;
}

/* How many of the 8 bytes (little-endian order) are ASCII letters before the first other
 * byte (SWAR: a byte with the high bit, or below 'a' or above 'z' once lower-cased; borrows and
 * carries only ever spill above a true hit, so the lowest hit is exact). */
static inline unsigned letters8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t lo = x | 0x2020202020202020ULL;
    uint64_t below = (lo - ones * 'a') & ~lo & high;
    uint64_t above = ((lo & ~high) + ones * (127 - 'z')) & high;
    uint64_t other = (x & high) | below | above;
    return other ? (unsigned)__builtin_ctzll(other) / 8 : 8;
}

/* Two masked tokens with the same bytes around their variables ("blk_1" "blk_2"; not "libc6"
 * "(2.36-9)"): a run of them is one list. */
static bool same_punct(const unsigned char *p, const struct ltok *a, const struct ltok *b)
{
    uint32_t la = a->vs - a->s, lb = b->vs - b->s, ta = a->e - a->ve, tb = b->e - b->ve;
    return la == lb && ta == tb && !memcmp(p + a->s, p + b->s, la) &&
           !memcmp(p + a->ve, p + b->ve, ta);
}

/* Cuts the line (already bounded by max_line) into masked tokens. */
static void tokenize(const struct ad_tmpl *t, struct scratch *s, const char *line, size_t n)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t i = 0;
    s->n = 0;
    while (n > 0 && is_space(p[n - 1]))
        n--;
    while (i < n) {
        while (i < n && is_space(p[i]))
            i++;
        if (i >= n)
            break;
        struct ltok *tk = &s->tok[s->n++];
        tk->s = (uint32_t)i;
        if (s->n == MAX_TOKENS) { /* the rest of the line, as it is */
            tk->e = (uint32_t)n;
            tk->mask = M_NONE;
            tk->flags = 0;
            tk->deco = tk->vs = tk->ve = 0;
            hash_token(line, tk);
            break;
        }
        uint32_t acc = 0;
        for (unsigned k = 8; k == 8 && i + 8 <= n; i += k) { /* up to eight letters a step */
            k = letters8(load_le64(p + i));
            acc |= k ? C_A | C_H : 0; /* (which letters does not matter to the scanners) */
        }
        while (i + 4 <= n) { /* four bytes a step: one branch for the common run of letters */
            uint32_t c0 = cls[p[i]], c1 = cls[p[i + 1]], c2 = cls[p[i + 2]], c3 = cls[p[i + 3]];
            if ((c0 | c1 | c2 | c3) & C_SP)
                break;
            acc |= c0 | c1 | c2 | c3;
            i += 4;
        }
        for (uint32_t c; i < n && !((c = cls[p[i]]) & C_SP); i++)
            acc |= c;
        tk->e = (uint32_t)i;
        if (!(acc & ~(uint32_t)(C_A | C_H))) { /* letters only: a word, the common case */
            tk->mask = M_NONE;
            tk->flags = TF_WORD;
            tk->deco = tk->vs = tk->ve = 0;
            if (date_name(p + tk->s, i - tk->s) &&
                ((s->n > 1 && tk[-1].mask == M_NUM) || date_next(p, n, i))) {
                tk->mask = M_NUM; /* one date: "Fri Jun 17 07:07:00 2005" is one <NUM> run */
                tk->flags = TF_VAR;
                tk->vs = tk->s;
                tk->ve = tk->s + 3;
            }
        } else {
            mask_token(t, s, p, tk, acc);
        }
        struct ltok *prev = s->n > 1 ? tk - 1 : NULL;
        size_t ul;
        if (prev && prev->mask == M_NUM && prev->ve == prev->e && (tk->flags & TF_WORD) &&
            (ul = unit_len(p + tk->s, tk->e - tk->s))) {
            /* "5.2 KB," is one number with its unit, whatever the unit */
            prev->ve = tk->s + (uint32_t)ul;
            prev->e = tk->e;
            prev->deco = deco_of(p, prev);
            hash_token(line, prev);
            s->n--;
            continue;
        }
        if (tk->flags & TF_DECO)
            tk->deco = deco_of(p, tk);
        hash_token(line, tk);
        /* A run of identical masked tokens is one list-valued variable ("delete <*> <*> <*>"
         * has as many tokens as blocks): the run becomes one token spanning it. */
        if (prev && (prev->flags & tk->flags & TF_VAR) && prev->h == tk->h &&
            same_punct(p, prev, tk)) {
            prev->e = tk->e;
            prev->ve = tk->ve;
            s->n--;
        }
    }
}

/* ---- prefix tree -------------------------------------------------------------------------- */

static inline uint64_t len_key(uint32_t n)
{
    return mix(0x1e9a7c3d5b2f4e61ULL + n);
}
static inline uint64_t child_key(uint64_t parent, uint64_t tok)
{
    return mix(parent ^ (tok * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL));
}

static uint32_t node_get(const struct ad_tmpl *t, uint64_t key)
{
    uint32_t v;
    return ad_u64map_get(&t->node_map, key, &v) ? v : NIL;
}

static int node_add(struct ad_tmpl *t, uint64_t key, uint32_t *ret)
{
    if (t->n_nodes == t->cap_nodes) {
        uint32_t cap = t->cap_nodes ? t->cap_nodes * 2 : 64;
        struct node *nn = realloc(t->nodes, (size_t)cap * sizeof(*nn));
        if (!nn)
            return -ENOMEM;
        t->nodes = nn;
        t->cap_nodes = cap;
    }
    if (ad_u64map_put(&t->node_map, key, t->n_nodes) < 0)
        return -ENOMEM;
    t->nodes[t->n_nodes] = (struct node){0, NIL, NIL, key};
    *ret = t->n_nodes++;
    return 0;
}

/* A child of node `at`, created (and counted in its parent) when missing. */
static int node_child(struct ad_tmpl *t, uint32_t at, uint64_t tok, uint32_t *ret)
{
    uint64_t key = child_key(t->nodes[at].key, tok);
    *ret = node_get(t, key);
    if (*ret != NIL)
        return 0;
    int r = node_add(t, key, ret);
    if (r == 0)
        t->nodes[at].n_children++;
    return r;
}

/* The leaf a line is compared in, without learning: the exact child where there is one, else
 * the wildcard child; NIL when neither exists. */
static uint32_t leaf_find(const struct ad_tmpl *t, const struct scratch *s)
{
    uint32_t at = node_get(t, len_key(s->n));
    for (uint32_t l = 0; at != NIL && l < t->levels && l < s->n; l++) {
        const struct ltok *tk = &s->tok[l];
        uint32_t next = tk->mask == M_NONE ? node_get(t, child_key(t->nodes[at].key, tk->h)) : NIL;
        at = next != NIL ? next : node_get(t, child_key(t->nodes[at].key, WILD_KEY));
    }
    return at;
}

/* The leaf a new template goes to (Drain's addSeqToPrefixTree): variables and tokens past
 * max_children go to the wildcard child. */
static int leaf_make(struct ad_tmpl *t, const struct scratch *s, uint32_t *ret)
{
    uint32_t at;
    uint64_t key = len_key(s->n);
    int r = 0;
    if ((at = node_get(t, key)) == NIL && (r = node_add(t, key, &at)) < 0)
        return r;
    for (uint32_t l = 0; l < t->levels && l < s->n; l++) {
        const struct ltok *tk = &s->tok[l];
        uint64_t tok = WILD_KEY;
        if (tk->mask == M_NONE) {
            bool exists = node_get(t, child_key(t->nodes[at].key, tk->h)) != NIL;
            bool has_wild = node_get(t, child_key(t->nodes[at].key, WILD_KEY)) != NIL;
            /* room left for this token, keeping one child for the wildcard */
            uint32_t room = t->cfg.max_children - (has_wild ? 0 : 1);
            if (exists || t->nodes[at].n_children < room)
                tok = tk->h;
        }
        if ((r = node_child(t, at, tok, &at)) < 0)
            return r;
    }
    *ret = at;
    return 0;
}

/* ---- templates ---------------------------------------------------------------------------- */

struct score {
    uint32_t eq, diff, wild, cdiff, cpos;
};

/* A template position or line token that is a plain constant candidate: no mask, no wildcard,
 * not a key=value value. Two of them that differ make a sibling, never a <*>, until the
 * position proves variable (fold_siblings). */
static inline bool const_flags(uint8_t f)
{
    return !(f & (TF_WILD | TF_VAR | TF_KEY)) && (!(f & TF_SPAN) || (f & TF_WORD));
}

/* Compares the line with a template of the same length; false when it may not join it nor be
 * its sibling: under the similarity, or refused by a guard. sc->cdiff counts the positions
 * where both sides are different constants (the last one in sc->cpos): the line joins only at
 * cdiff 0. The similarity is over the positions that are not such constants. */
static bool compare(const struct ad_tmpl *t, const struct tpl *tp, const struct scratch *s,
                    struct score *sc)
{
    uint32_t eq = 0, diff = 0, cdiff = 0, cpos = NIL;
    for (uint32_t i = 0; i < tp->n_tok; i++) {
        uint8_t f = tp->tf[i];
        const struct ltok *tk = &s->tok[i];
        if (f & TF_WILD) {
            /* <*> takes anything but an absent field; "rhost=<*>" only values in the same
             * decoration, or (turning into <*>) a token that is no variable. */
            if (tk->flags & TF_KEY)
                return false;
            if (!(f & TF_DECO))
                continue;
            if (tk->flags & TF_DECO) {
                if (tk->deco != tp->td[i])
                    return false;
                continue;
            }
            diff++;
            continue;
        }
        if (tp->th[i] == tk->h) {
            eq++;
            continue;
        }
        diff++;
        if ((f | tk->flags) & TF_KEY)
            return false;
        if ((f & TF_DECO) && (tk->flags & TF_DECO) && tp->td[i] != tk->deco)
            return false;
        if (const_flags(f) && const_flags(tk->flags)) {
            cdiff++;
            cpos = i;
        }
    }
    if ((uint64_t)eq * 1000000u < t->st_ppm * (tp->n_tok - cdiff))
        return false;
    *sc = (struct score){eq, diff, tp->n_wild, cdiff, cpos};
    return true;
}

/* The best template of the leaf for the line (Drain's fast_match): most equal positions, then
 * most wildcards, then the oldest. NIL when none passes the similarity and the guards. */
static uint32_t best_in_leaf(const struct ad_tmpl *t, uint32_t leaf, const struct scratch *s,
                             struct score *ret)
{
    uint32_t best = NIL;
    struct score b = {0, 0, 0, 0, NIL}, sc;
    for (uint32_t i = t->nodes[leaf].head; i != NIL; i = t->tpls[i].leaf_next) {
        const struct tpl *tp = &t->tpls[i];
        if (tp->n_tok != s->n || !compare(t, tp, s, &sc) || sc.cdiff)
            continue;
        if (best == NIL || sc.eq > b.eq || (sc.eq == b.eq && sc.wild > b.wild)) {
            best = i;
            b = sc;
        }
    }
    *ret = b;
    return best;
}

static size_t tpl_mem(uint32_t n_tok)
{
    return (size_t)n_tok * (sizeof(uint64_t) + 3 * sizeof(uint32_t) + 1);
}

/* Points the template's arrays into one block (uint64 first for alignment). */
static int tpl_alloc(struct tpl *tp, uint32_t n_tok, size_t text_len)
{
    void *mem = malloc(tpl_mem(n_tok) + 1);
    char *text = malloc(text_len + 1);
    if (!mem || !text) {
        free(mem);
        free(text);
        return -ENOMEM;
    }
    tp->th = mem;
    tp->toff = (uint32_t *)(tp->th + n_tok);
    tp->tlen = tp->toff + n_tok;
    tp->td = tp->tlen + n_tok;
    tp->tf = (uint8_t *)(tp->td + n_tok);
    tp->text = text;
    tp->n_tok = n_tok;
    return 0;
}

static void tpl_release(struct tpl *tp)
{
    free(tp->trk);
    tp->trk = NULL;
    free(tp->th);
    free(tp->text);
    tp->th = NULL;
    tp->text = NULL;
}

static void list_unlink(struct ad_tmpl *t, int which, uint32_t i)
{
    struct link *l = &t->tpls[i].ln[which];
    struct list *ls = &t->ls[which];
    if (l->prev != NIL)
        t->tpls[l->prev].ln[which].next = l->next;
    else
        ls->head = l->next;
    if (l->next != NIL)
        t->tpls[l->next].ln[which].prev = l->prev;
    else
        ls->tail = l->prev;
}

static void list_append(struct ad_tmpl *t, int which, uint32_t i)
{
    struct list *ls = &t->ls[which];
    t->tpls[i].ln[which] = (struct link){ls->tail, NIL};
    if (ls->tail != NIL)
        t->tpls[ls->tail].ln[which].next = i;
    else
        ls->head = i;
    ls->tail = i;
}

static void leaf_append(struct ad_tmpl *t, uint32_t leaf, uint32_t i)
{
    struct node *nd = &t->nodes[leaf];
    t->tpls[i].leaf = leaf;
    t->tpls[i].leaf_next = NIL;
    if (nd->tail != NIL)
        t->tpls[nd->tail].leaf_next = i;
    else
        nd->head = i;
    nd->tail = i;
}

static int slot_alloc(struct ad_tmpl *t, uint32_t *ret)
{
    if (t->free_head == NIL) {
        uint32_t cap = t->cap_tpls ? t->cap_tpls * 2 : 64;
        struct tpl *nt = realloc(t->tpls, (size_t)cap * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        for (uint32_t i = cap; i-- > t->cap_tpls;) {
            nt[i] = (struct tpl){.n_tok = NIL, .ln[L_AGE].next = t->free_head};
            t->free_head = i;
        }
        t->tpls = nt;
        t->cap_tpls = cap;
    }
    *ret = t->free_head;
    t->free_head = t->tpls[*ret].ln[L_AGE].next;
    return 0;
}

static void slot_free(struct ad_tmpl *t, uint32_t i)
{
    t->tpls[i] = (struct tpl){.n_tok = NIL, .ln[L_AGE].next = t->free_head};
    t->free_head = i;
}

/* Takes template i out of its leaf, its lists and the id map, and frees it. */
static void tpl_remove(struct ad_tmpl *t, uint32_t i)
{
    struct tpl *tp = &t->tpls[i];
    struct node *nd = &t->nodes[tp->leaf];
    uint32_t prev = NIL;
    for (uint32_t j = nd->head; j != i; j = t->tpls[j].leaf_next)
        prev = j;
    if (prev == NIL)
        nd->head = tp->leaf_next;
    else
        t->tpls[prev].leaf_next = tp->leaf_next;
    if (nd->tail == i)
        nd->tail = prev;
    list_unlink(t, L_LRU, i);
    list_unlink(t, L_AGE, i);
    ad_u64map_del(&t->id_map, tp->id);
    t->tpl_bytes -= tpl_mem(tp->n_tok) + 1 + tp->text_len + 1 + (tp->trk ? sizeof(*tp->trk) : 0);
    tpl_release(tp);
    slot_free(t, i);
    t->live--;
}

static void evict(struct ad_tmpl *t, uint32_t i)
{
    tpl_remove(t, i);
    t->st.evicted++;
}

/* A stable id: the hash of the first line's masked text; a collision with a live template (or 0)
 * is perturbed deterministically. */
static uint64_t new_id(const struct ad_tmpl *t, const char *text, size_t len)
{
    uint64_t id = ad_hash64(text, len, HSEED);
    for (uint64_t k = 1; id == 0 || ad_u64map_get(&t->id_map, id, &(uint32_t){0}); k++)
        id = ad_hash64(text, len, HSEED + k);
    return id;
}

static int tpl_create(struct ad_tmpl *t, struct scratch *s, const char *line, int64_t now_ns,
                      uint32_t *ret)
{
    uint32_t leaf, i;
    int r = leaf_make(t, s, &leaf);
    if (r < 0 || (r = slot_alloc(t, &i)) < 0)
        return r;
    build_mtext(t, s, line);
    struct tpl *tp = &t->tpls[i];
    if (tpl_alloc(tp, s->n, s->mlen) < 0) {
        slot_free(t, i);
        return -ENOMEM;
    }
    tp->id = new_id(t, s->mtext, s->mlen);
    if (ad_u64map_put(&t->id_map, tp->id, i) < 0) {
        tpl_release(tp);
        slot_free(t, i);
        return -ENOMEM;
    }
    memcpy(tp->text, s->mtext, s->mlen);
    tp->text[s->mlen] = '\0';
    tp->text_len = (uint32_t)s->mlen;
    for (uint32_t k = 0; k < s->n; k++) {
        tp->th[k] = s->tok[k].h;
        tp->tf[k] = s->tok[k].flags;
        tp->td[k] = s->tok[k].deco;
        tp->toff[k] = s->tok[k].mo;
        tp->tlen[k] = s->tok[k].ml;
    }
    tp->n_wild = 0;
    tp->count = 0;
    tp->seq = t->seq++;
    tp->last_ns = now_ns;
    leaf_append(t, leaf, i);
    list_append(t, L_LRU, i);
    list_append(t, L_AGE, i);
    t->live++;
    t->tpl_bytes += tpl_mem(tp->n_tok) + 1 + s->mlen + 1;
    *ret = i;
    return 0;
}

enum { KEEP, PLAIN, DECORATED }; /* what a merge does to a position */

/* Rewrites the template with act[k] applied to each position (KEEP, PLAIN <*>, or DECORATED:
 * the line's decoration around <*>; s and line are only read for DECORATED); len is the new
 * text's length. On -ENOMEM nothing changed. */
static int tpl_rebuild(struct ad_tmpl *t, struct tpl *tp, const uint8_t *act, size_t len,
                       const struct scratch *s, const char *line)
{
    char *text = malloc(len + 1);
    if (!text)
        return -ENOMEM;
    char *o = text;
    tp->n_wild = 0;
    for (uint32_t k = 0; k < tp->n_tok; k++) {
        const struct ltok *tk = act[k] == DECORATED ? &s->tok[k] : NULL;
        if (k)
            *o++ = ' ';
        char *start = o;
        if (act[k] == KEEP) {
            memcpy(o, tp->text + tp->toff[k], tp->tlen[k]);
            o += tp->tlen[k];
        } else {
            if (tk)
                o = (char *)memcpy(o, line + tk->s, tk->vs - tk->s) + (tk->vs - tk->s);
            o = (char *)memcpy(o, "<*>", 3) + 3;
            if (tk)
                o = (char *)memcpy(o, line + tk->ve, tk->e - tk->ve) + (tk->e - tk->ve);
            tp->tf[k] = act[k] == DECORATED ? TF_WILD | TF_VAR : TF_WILD;
            tp->th[k] = 0;
        }
        tp->toff[k] = (uint32_t)(start - text);
        tp->tlen[k] = (uint32_t)(o - start);
        tp->n_wild += (tp->tf[k] & TF_WILD) ? 1 : 0;
    }
    *o = '\0';
    t->tpl_bytes = t->tpl_bytes - tp->text_len + len;
    free(tp->text);
    tp->text = text;
    tp->text_len = (uint32_t)len;
    return 0;
}

/* Turns the positions where the line differs into <*>: "<*>", or "rhost=<*>" when both sides
 * are masked in the same decoration. The text is rebuilt; on -ENOMEM nothing changed. */
static int tpl_merge(struct ad_tmpl *t, struct tpl *tp, const struct scratch *s, const char *line,
                     bool *ret_changed)
{
    uint8_t act[MAX_TOKENS];
    size_t len = tp->n_tok ? tp->n_tok - 1 : 0;
    bool any = false;
    for (uint32_t k = 0; k < tp->n_tok; k++) {
        const struct ltok *tk = &s->tok[k];
        uint8_t f = tp->tf[k];
        act[k] = KEEP;
        if (f & TF_WILD)
            act[k] = (f & TF_DECO) && !(tk->flags & TF_DECO) ? PLAIN : KEEP;
        else if (tp->th[k] != tk->h)
            act[k] = (f & TF_DECO) && (tk->flags & TF_DECO) ? DECORATED : PLAIN;
        any |= act[k] != KEEP;
        len += act[k] == KEEP    ? tp->tlen[k]
               : act[k] == PLAIN ? 3
                                 : tk->e - tk->s - (tk->ve - tk->vs) + 3;
    }
    *ret_changed = any;
    return any ? tpl_rebuild(t, tp, act, len, s, line) : 0;
}

/* Turns the marked positions of a template (mark[k] == PLAIN) into a plain <*>. */
static int tpl_wild_at(struct ad_tmpl *t, struct tpl *tp, const uint8_t *mark)
{
    size_t len = tp->n_tok ? tp->n_tok - 1 : 0;
    for (uint32_t k = 0; k < tp->n_tok; k++)
        len += mark[k] ? 3 : tp->tlen[k];
    return tpl_rebuild(t, tp, mark, len, NULL, NULL);
}

/* The slot of a ring of cap records for a new one (the oldest when full). */
static uint32_t ring_slot(uint32_t *n, uint32_t *head, uint32_t cap)
{
    uint32_t slot;
    if (*n == cap) {
        slot = *head;
        *head = (*head + 1) % cap;
    } else {
        slot = (*head + (*n)++) % cap;
    }
    return slot;
}

/* Remembers that `from` now lives on as `to` (the ring drops the oldest record when full). */
static int merge_record(struct ad_tmpl *t, uint64_t from, uint64_t to)
{
    bool full = t->n_merges == AD_TMPL_MAX_MERGES;
    uint32_t v, slot = ring_slot(&t->n_merges, &t->merge_head, AD_TMPL_MAX_MERGES);
    uint64_t old = full ? t->merges[slot].from : 0; /* the oldest record, dropped */
    if (full && ad_u64map_get(&t->merge_map, old, &v) && v == slot)
        ad_u64map_del(&t->merge_map, old);
    t->merges[slot] = (struct merge){from, to};
    return ad_u64map_put(&t->merge_map, from, slot);
}

static void split_record(struct ad_tmpl *t, uint64_t from, uint64_t to)
{
    t->splits.r[ring_slot(&t->splits.n, &t->splits.head, AD_TMPL_MAX_SPLITS)] =
        (struct merge){from, to};
}

/* Counts c lines of one token at the tracked position. */
static void trk_see(struct trk *k, uint64_t h, uint8_t flags, const char *w, size_t len, uint64_t c)
{
    k->lines += c;
    for (uint32_t j = 0; j < k->n; j++) {
        if (k->s[j].h == h) {
            k->s[j].count += c;
            return;
        }
    }
    if (k->n == SPLIT_SLOTS || len > SPLIT_WORD || !const_flags(flags)) {
        k->other += c;
        return;
    }
    k->s[k->n].h = h;
    k->s[k->n].count = c;
    k->s[k->n].flags = flags;
    k->s[k->n].len = (uint8_t)len;
    memcpy(k->s[k->n].w, w, len);
    k->s[k->n].w[len] = '\0';
    k->n++;
}

/* The split rule: once split_min lines were seen at the position, the words with at least
 * 1/(4 SPLIT_SLOTS) of them are frequent; when there are two or more and the rest (rare words
 * and every word past the tracked ones) is at most 1/16 of the lines, the position holds
 * constants. Returns the mask of the frequent slots, 0 when no split is due. */
static uint32_t split_due(const struct ad_tmpl *t, const struct trk *k)
{
    if (k->lines < t->cfg.split_min)
        return 0;
    uint32_t mask = 0, n = 0;
    uint64_t freq = 0, top = 0;
    for (uint32_t j = 0; j < k->n; j++) {
        if (k->s[j].count * 4 * SPLIT_SLOTS >= k->lines) {
            mask |= 1u << j;
            freq += k->s[j].count;
            n++;
        }
        top = k->s[j].count > top ? k->s[j].count : top;
    }
    /* no word dominates (a usual value and rare others is a variable, as in fold_siblings) */
    return n >= 2 && top < k->lines - top && (k->lines - freq) * 16 <= k->lines ? mask : 0;
}

/* Splits template i: one new template per word of the mask, the same but for that word at the
 * tracked position, with the id of its text (new_id), in i's leaf; i stays (<*>, the other
 * words) and stops tracking. *ret: the new template of the word hashed h, NIL when none. */
static int split_off(struct ad_tmpl *t, uint32_t i, uint32_t mask, uint64_t h, int64_t now_ns,
                     uint32_t *ret)
{
    *ret = NIL;
    struct trk *k = t->tpls[i].trk;
    uint32_t pos = k->pos;
    if (!(t->tpls[i].tf[pos] & TF_WILD))
        mask = 0; /* never after a fold; the tracker is dropped */
    for (uint32_t j = 0; j < k->n; j++) {
        if (!(mask & (1u << j)))
            continue;
        uint32_t ni;
        int r = slot_alloc(t, &ni);
        if (r < 0)
            return r;
        const struct tpl *src = &t->tpls[i];
        struct tpl *tp = &t->tpls[ni];
        uint32_t wl = k->s[j].len, delta = wl - src->tlen[pos];
        size_t len = src->text_len + delta;
        if (tpl_alloc(tp, src->n_tok, len) < 0) {
            slot_free(t, ni);
            return -ENOMEM;
        }
        memcpy(tp->th, src->th, tpl_mem(src->n_tok));
        char *o = tp->text;
        memcpy(o, src->text, src->toff[pos]);
        memcpy(o + src->toff[pos], k->s[j].w, wl);
        memcpy(o + src->toff[pos] + wl, src->text + src->toff[pos] + src->tlen[pos],
               src->text_len - src->toff[pos] - src->tlen[pos]);
        o[len] = '\0';
        tp->text_len = (uint32_t)len;
        for (uint32_t q = pos + 1; q < src->n_tok; q++)
            tp->toff[q] += delta;
        tp->th[pos] = k->s[j].h;
        tp->tf[pos] = k->s[j].flags;
        tp->td[pos] = 0;
        tp->tlen[pos] = wl;
        tp->n_wild = src->n_wild - 1;
        tp->id = new_id(t, tp->text, len);
        if (ad_u64map_put(&t->id_map, tp->id, ni) < 0) {
            tpl_release(tp);
            slot_free(t, ni);
            return -ENOMEM;
        }
        tp->count = 0;
        tp->seq = t->seq++;
        tp->last_ns = now_ns;
        leaf_append(t, src->leaf, ni);
        list_append(t, L_LRU, ni);
        list_append(t, L_AGE, ni);
        t->live++;
        t->tpl_bytes += tpl_mem(tp->n_tok) + 1 + len + 1;
        split_record(t, src->id, tp->id);
        t->st.split++;
        if (k->s[j].h == h)
            *ret = ni;
    }
    t->tpl_bytes -= sizeof(*k);
    free(k);
    t->tpls[i].trk = NULL;
    return 0;
}

static int sib_reserve(struct ad_tmpl *t)
{
    if (t->cap_sib >= t->cap_tpls)
        return 0;
    uint32_t *v = realloc(t->sib, (size_t)t->cap_tpls * sizeof(*v));
    if (!v)
        return -ENOMEM;
    t->sib = v;
    t->cap_sib = t->cap_tpls;
    return 0;
}

/* No template of the leaf takes the line. When some differ from it in one constant word, all
 * at the same position, they and the line are the values of that position: once there are
 * merge_always of them, or merge_min of them of which the most frequent has at least as many
 * lines as the others together and the others average at most merge_mean lines, the position
 * is a variable and they fold into the oldest, which takes the line (*ret, NIL when no fold).
 * Folded templates are removed; their ids are recorded as now meaning the survivor. */
static int fold_siblings(struct ad_tmpl *t, uint32_t leaf, const struct scratch *s,
                         const char *line, uint32_t *ret)
{
    *ret = NIL;
    int r = sib_reserve(t);
    if (r < 0)
        return r;
    uint32_t n = 0, pos = NIL;
    struct score sc;
    for (uint32_t i = t->nodes[leaf].head; i != NIL; i = t->tpls[i].leaf_next) {
        const struct tpl *tp = &t->tpls[i];
        if (tp->n_tok != s->n || !compare(t, tp, s, &sc) || sc.cdiff != 1)
            continue;
        if (pos == NIL)
            pos = sc.cpos;
        if (sc.cpos == pos)
            t->sib[n++] = i;
    }
    /* A usual value and a tail of rare ones is a variable (root x368, then uucp, ftp, git);
     * a few values of similar counts are constants (VM Started, Paused, Resumed). */
    uint64_t lines = 1, top = 1;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t c = t->tpls[t->sib[k]].count;
        lines += c;
        top = c > top ? c : top;
    }
    uint32_t d = n + 1;
    bool fold =
        n && (d >= t->cfg.merge_always || (d >= t->cfg.merge_min && top >= lines - top &&
                                           (double)(lines - top) <= t->cfg.merge_mean * (d - 1)));
    if (!fold)
        return 0;
    uint32_t surv = t->sib[0]; /* the leaf lists templates oldest first */
    struct tpl *sp = &t->tpls[surv];
    if (!sp->trk && !sp->split_done && t->cfg.split_min != AD_TMPL_SPLIT_NEVER) {
        /* the evidence starts with the siblings' words and counts (the line is seen later) */
        struct trk *k = calloc(1, sizeof(*k));
        if (!k)
            return -ENOMEM;
        k->pos = pos;
        for (uint32_t q = 0; q < n; q++) {
            const struct tpl *o = &t->tpls[t->sib[q]];
            trk_see(k, o->th[pos], o->tf[pos], o->text + o->toff[pos], o->tlen[pos], o->count);
        }
        sp->trk = k;
        sp->split_done = true;
        t->tpl_bytes += sizeof(*k);
    }
    bool changed;
    if ((r = tpl_merge(t, sp, s, line, &changed)) < 0)
        return r;
    uint8_t mark[MAX_TOKENS];
    for (uint32_t k = 1; k < n; k++) {
        const struct tpl *o = &t->tpls[t->sib[k]];
        bool any = false;
        for (uint32_t j = 0; j < sp->n_tok; j++) {
            mark[j] = !(sp->tf[j] & TF_WILD) && sp->th[j] != o->th[j];
            any |= mark[j];
        }
        if (any && (r = tpl_wild_at(t, sp, mark)) < 0)
            return r;
    }
    for (uint32_t k = 1; k < n; k++) {
        struct tpl *o = &t->tpls[t->sib[k]];
        sp->count += o->count;
        if (o->last_ns > sp->last_ns)
            sp->last_ns = o->last_ns;
        if ((r = merge_record(t, o->id, sp->id)) < 0)
            return r;
        tpl_remove(t, t->sib[k]);
        t->st.merged++;
    }
    *ret = surv;
    return 0;
}

uint64_t ad_tmpl_resolve(const struct ad_tmpl *t, uint64_t id)
{
    uint32_t v;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        if (ad_u64map_get(&t->id_map, id, &v) || !ad_u64map_get(&t->merge_map, id, &v))
            return id;
        id = t->merges[v].to;
    }
    return id;
}

void ad_tmpl_foreach_merge(const struct ad_tmpl *t,
                           void (*fn)(void *ctx, uint64_t from, uint64_t to), void *ctx)
{
    for (uint32_t k = 0; k < t->n_merges; k++) {
        const struct merge *m = &t->merges[(t->merge_head + k) % AD_TMPL_MAX_MERGES];
        fn(ctx, m->from, m->to);
    }
}

void ad_tmpl_foreach_split(const struct ad_tmpl *t,
                           void (*fn)(void *ctx, uint64_t from, uint64_t to), void *ctx)
{
    for (uint32_t k = 0; k < t->splits.n; k++) {
        const struct merge *m = &t->splits.r[(t->splits.head + k) % AD_TMPL_MAX_SPLITS];
        fn(ctx, m->from, m->to);
    }
}

static void fill_match(const struct tpl *tp, const struct scratch *s, const char *line,
                       struct ad_tmpl_match *out)
{
    out->id = tp->id;
    out->text = (struct ad_str){tp->text, tp->text_len};
    out->count = tp->count;
    out->n_params = 0;
    for (uint32_t k = 0; k < tp->n_tok && out->n_params < AD_TMPL_MAX_PARAMS; k++) {
        if (!(tp->tf[k] & (TF_WILD | TF_VAR)))
            continue;
        const struct ltok *tk = &s->tok[k];
        bool var = (tk->flags & TF_DECO) != 0;
        uint32_t a = var ? tk->vs : tk->s, b = var ? tk->ve : tk->e;
        out->params[out->n_params++] = (struct ad_str){line + a, b - a};
    }
}

/* ---- public API --------------------------------------------------------------------------- */

static int scratch_init(const struct ad_tmpl *t, struct scratch *s)
{
    memset(s, 0, sizeof(*s));
    s->mcap = t->cfg.max_line + (size_t)MAX_TOKENS * (t->max_name + 1) + 1;
    s->tok = malloc(MAX_TOKENS * sizeof(*s->tok));
    s->mtext = malloc(s->mcap);
    if (t->n_extra)
        s->md = pcre2_match_data_create(1, NULL);
    if (!s->tok || !s->mtext || (t->n_extra && !s->md))
        return -ENOMEM;
    return 0;
}

static void scratch_fini(struct scratch *s)
{
    free(s->tok);
    free(s->mtext);
    pcre2_match_data_free(s->md);
    memset(s, 0, sizeof(*s));
}

static int compile_extra(struct ad_tmpl *t, const struct ad_tmpl_cfg *cfg, struct ad_err *reterr)
{
    if (!cfg->n_extra_masks)
        return 0;
    t->extra = calloc(cfg->n_extra_masks, sizeof(*t->extra));
    if (!t->extra)
        return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    for (size_t i = 0; i < cfg->n_extra_masks; i++, t->n_extra++) {
        const char *item = cfg->extra_masks[i] ? cfg->extra_masks[i] : "";
        const char *eq = strchr(item, '=');
        size_t nl = eq ? (size_t)(eq - item) : 0;
        bool ok = nl > 0 && nl <= NAME_MAX_LEN && eq[1] != '\0';
        for (size_t k = 0; ok && k < nl; k++)
            ok = is_alnum((unsigned char)item[k]) || item[k] == '_';
        if (!ok)
            return ad_err_set(reterr, EINVAL,
                              "models.templates.masks[%zu]: \"%.64s\": expected name=regex with "
                              "a name of 1-%d letters, digits or _",
                              i, item, NAME_MAX_LEN);
        struct extra *x = &t->extra[i];
        x->name[0] = '<';
        memcpy(x->name + 1, item, nl);
        x->name[nl + 1] = '>';
        x->name_len = nl + 2;
        if (x->name_len > t->max_name)
            t->max_name = x->name_len;
        int code;
        PCRE2_SIZE off;
        x->re = pcre2_compile((PCRE2_SPTR)(eq + 1), PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
        if (!x->re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof(msg));
            return ad_err_set(reterr, EINVAL,
                              "models.templates.masks[%zu]: mask \"%.*s\": bad regex at offset "
                              "%zu: %s",
                              i, (int)nl, item, (size_t)off, (const char *)msg);
        }
        pcre2_jit_compile(x->re, PCRE2_JIT_COMPLETE); /* without JIT it still matches */
    }
    return 0;
}

int ad_tmpl_create(const struct ad_tmpl_cfg *cfg, struct ad_tmpl **ret, struct ad_err *reterr)
{
    struct ad_tmpl_cfg c = *cfg;
    if (c.similarity <= 0)
        c.similarity = AD_TMPL_DEFAULT_SIMILARITY;
    if (c.depth == 0)
        c.depth = AD_TMPL_DEFAULT_DEPTH;
    if (c.max_children == 0)
        c.max_children = AD_TMPL_DEFAULT_MAX_CHILDREN;
    if (c.max_templates == 0)
        c.max_templates = AD_TMPL_DEFAULT_MAX_TEMPLATES;
    if (c.max_line == 0)
        c.max_line = AD_TMPL_DEFAULT_MAX_LINE;
    if (c.merge_min == 0)
        c.merge_min = AD_TMPL_DEFAULT_MERGE_MIN;
    if (c.merge_mean <= 0)
        c.merge_mean = AD_TMPL_DEFAULT_MERGE_MEAN;
    if (c.merge_always == 0)
        c.merge_always = AD_TMPL_DEFAULT_MERGE_ALWAYS;
    if (c.split_min == 0)
        c.split_min = AD_TMPL_DEFAULT_SPLIT_MIN;
    if (c.merge_min < 2 || c.merge_always < 2)
        return ad_err_set(reterr, EINVAL,
                          "models.templates: merge_min and merge_always must be >= 2");
    if (c.similarity > 1 || c.depth < 3 || c.depth > 16 || c.max_children < 2 ||
        c.max_line > (1u << 24))
        return ad_err_set(reterr, EINVAL,
                          "models.templates: similarity must be in (0, 1], depth in 3-16, "
                          "max_children >= 2, max_line <= 16 MiB");
    struct ad_tmpl *t = calloc(1, sizeof(*t));
    if (!t)
        return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    t->cfg = c;
    t->cfg.extra_masks = NULL;
    t->cfg.n_extra_masks = 0;
    t->st_ppm = (uint64_t)(c.similarity * 1000000.0 + 0.5);
    t->levels = c.depth - 2;
    t->max_name = 7; /* "<EMAIL>" */
    t->free_head = NIL;
    t->ls[L_LRU] = t->ls[L_AGE] = (struct list){NIL, NIL};
    int r = compile_extra(t, cfg, reterr);
    if (r < 0)
        goto out_free;
    if (ad_u64map_init(&t->node_map, 256) < 0 || ad_u64map_init(&t->id_map, 256) < 0 ||
        ad_u64map_init(&t->merge_map, 64) < 0 ||
        !(t->merges = malloc(AD_TMPL_MAX_MERGES * sizeof(*t->merges))) ||
        !(t->splits.r = malloc(AD_TMPL_MAX_SPLITS * sizeof(*t->splits.r))) ||
        scratch_init(t, &t->scr) < 0) {
        r = ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
        goto out_free;
    }
    *ret = t;
    return 0;
out_free:
    ad_tmpl_destroy(t);
    return r;
}

static void free_templates(struct tpl *tpls, uint32_t cap)
{
    for (uint32_t i = 0; tpls && i < cap; i++)
        if (tpls[i].n_tok != NIL)
            tpl_release(&tpls[i]);
    free(tpls);
}

void ad_tmpl_destroy(struct ad_tmpl *t)
{
    if (!t)
        return;
    free_templates(t->tpls, t->cap_tpls);
    free(t->nodes);
    ad_u64map_fini(&t->node_map);
    ad_u64map_fini(&t->id_map);
    ad_u64map_fini(&t->merge_map);
    free(t->merges);
    free(t->splits.r);
    free(t->sib);
    for (size_t i = 0; i < t->n_extra; i++)
        pcre2_code_free(t->extra[i].re);
    free(t->extra);
    scratch_fini(&t->scr);
    free(t);
}

static size_t cut(const struct ad_tmpl *t, struct ad_str line)
{
    return line.len > t->cfg.max_line ? t->cfg.max_line : line.len;
}

int ad_tmpl_add(struct ad_tmpl *t, struct ad_str line, int64_t now_ns, struct ad_tmpl_match *out)
{
    struct scratch *s = &t->scr;
    size_t n = cut(t, line);
    t->st.lines++;
    if (n < line.len)
        t->st.truncated++;
    tokenize(t, s, line.p, n);
    uint32_t leaf = leaf_find(t, s), i = NIL;
    struct score sc;
    if (leaf != NIL)
        i = best_in_leaf(t, leaf, s, &sc);
    bool created = false, changed = false;
    int r;
    if (i == NIL && leaf != NIL) {
        if ((r = fold_siblings(t, leaf, s, line.p, &i)) < 0)
            return r;
        if (i != NIL) {
            changed = true;
            t->st.changed++;
            list_unlink(t, L_LRU, i);
            list_append(t, L_LRU, i);
        }
    } else if (i != NIL) {
        if (sc.diff && (r = tpl_merge(t, &t->tpls[i], s, line.p, &changed)) < 0)
            return r; /* diff 0: the template takes the line as it is */
        if (changed)
            t->st.changed++;
        list_unlink(t, L_LRU, i);
        list_append(t, L_LRU, i);
    }
    if (i != NIL && t->tpls[i].trk) {
        struct trk *k = t->tpls[i].trk;
        const struct ltok *tk = &s->tok[k->pos];
        trk_see(k, tk->h, tk->flags, line.p + tk->s, tk->e - tk->s, 1);
        uint32_t mask = split_due(t, k), ni;
        if (mask) {
            if ((r = split_off(t, i, mask, tk->h, now_ns, &ni)) < 0)
                return r;
            if (ni != NIL) /* the line goes to its word's new template */
                i = ni;
            changed = true;
            list_unlink(t, L_LRU, i);
            list_append(t, L_LRU, i);
        }
    }
    if (i == NIL) {
        if ((r = tpl_create(t, s, line.p, now_ns, &i)) < 0)
            return r;
        created = true;
        t->st.created++;
    }
    struct tpl *tp = &t->tpls[i];
    tp->count++;
    if (now_ns > tp->last_ns)
        tp->last_ns = now_ns;
    fill_match(tp, s, line.p, out);
    out->created = created;
    out->changed = changed;
    while (t->live > t->cfg.max_templates)
        evict(t, t->ls[L_LRU].head); /* never the template just used: it is the tail */
    return 0;
}

int ad_tmpl_match(const struct ad_tmpl *t, struct ad_str line, struct ad_tmpl_match *out)
{
    struct scratch s;
    int r = scratch_init(t, &s);
    if (r < 0)
        goto out;
    tokenize(t, &s, line.p, cut(t, line));
    uint32_t leaf = leaf_find(t, &s), i = NIL;
    struct score sc;
    if (leaf != NIL)
        i = best_in_leaf(t, leaf, &s, &sc);
    r = 0;
    /* Without learning, a match must not need new wildcards: the template as it is. */
    if (i != NIL && sc.diff == 0) {
        fill_match(&t->tpls[i], &s, line.p, out);
        out->created = out->changed = false;
        r = 1;
    }
out:
    scratch_fini(&s);
    return r;
}

void ad_tmpl_foreach(const struct ad_tmpl *t,
                     void (*fn)(void *ctx, uint64_t id, struct ad_str text, uint64_t count,
                                int64_t last_ns),
                     void *ctx)
{
    for (uint32_t i = t->ls[L_AGE].head; i != NIL; i = t->tpls[i].ln[L_AGE].next) {
        const struct tpl *tp = &t->tpls[i];
        fn(ctx, tp->id, (struct ad_str){tp->text, tp->text_len}, tp->count, tp->last_ns);
    }
}

void ad_tmpl_get_stats(const struct ad_tmpl *t, struct ad_tmpl_stats *ret)
{
    *ret = t->st;
    ret->templates = t->live;
    ret->bytes = sizeof(*t) + (size_t)t->cap_nodes * sizeof(struct node) +
                 (size_t)t->cap_tpls * sizeof(struct tpl) + ad_u64map_bytes(&t->node_map) +
                 ad_u64map_bytes(&t->id_map) + ad_u64map_bytes(&t->merge_map) +
                 (AD_TMPL_MAX_MERGES + AD_TMPL_MAX_SPLITS) * sizeof(struct merge) +
                 (size_t)t->cap_sib * sizeof(uint32_t) + t->tpl_bytes + t->scr.mcap +
                 MAX_TOKENS * sizeof(struct ltok);
}

/* ---- state -------------------------------------------------------------------------------- */

/* Layout (little-endian, common/ser.h): magic, version, tree levels, next seq, counters; the
 * nodes in index order (key, children); the templates in creation order (id, seq, count,
 * last_ns, leaf node index, tokens as flags + text); the LRU order as creation ordinals. */
int ad_tmpl_save(const struct ad_tmpl *t, struct ad_wr *w)
{
    uint32_t *ord = malloc(((size_t)t->cap_tpls + 1) * sizeof(*ord));
    if (!ord)
        return -ENOMEM;
    ad_wr_u32(w, STATE_MAGIC);
    ad_wr_u32(w, STATE_VERSION);
    ad_wr_u32(w, t->levels);
    ad_wr_u64(w, t->seq);
    ad_wr_u64(w, t->st.lines);
    ad_wr_u64(w, t->st.created);
    ad_wr_u64(w, t->st.changed);
    ad_wr_u64(w, t->st.evicted);
    ad_wr_u64(w, t->st.truncated);
    ad_wr_u32(w, t->n_nodes);
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        ad_wr_u64(w, t->nodes[i].key);
        ad_wr_u32(w, t->nodes[i].n_children);
    }
    ad_wr_u32(w, t->live);
    uint32_t n = 0;
    for (uint32_t i = t->ls[L_AGE].head; i != NIL; i = t->tpls[i].ln[L_AGE].next) {
        const struct tpl *tp = &t->tpls[i];
        ord[i] = n++;
        ad_wr_u64(w, tp->id);
        ad_wr_u64(w, tp->seq);
        ad_wr_u64(w, tp->count);
        ad_wr_i64(w, tp->last_ns);
        ad_wr_u32(w, tp->leaf);
        ad_wr_u32(w, tp->n_tok);
        for (uint32_t k = 0; k < tp->n_tok; k++) {
            ad_wr_u8(w, tp->tf[k]);
            ad_wr_u64(w, tp->th[k]);
            ad_wr_u32(w, tp->td[k]);
            ad_wr_bytes(w, tp->text + tp->toff[k], tp->tlen[k]);
        }
        const struct trk *k = tp->trk;
        ad_wr_u8(w, (uint8_t)((tp->split_done ? 1 : 0) | (k ? 2 : 0)));
        if (k) {
            ad_wr_u32(w, k->pos);
            ad_wr_u64(w, k->lines);
            ad_wr_u64(w, k->other);
            ad_wr_u32(w, k->n);
            for (uint32_t j = 0; j < k->n; j++) {
                ad_wr_u64(w, k->s[j].h);
                ad_wr_u64(w, k->s[j].count);
                ad_wr_u8(w, k->s[j].flags);
                ad_wr_bytes(w, k->s[j].w, k->s[j].len);
            }
        }
    }
    for (uint32_t i = t->ls[L_LRU].head; i != NIL; i = t->tpls[i].ln[L_LRU].next)
        ad_wr_u32(w, ord[i]);
    free(ord);
    ad_wr_u64(w, t->st.merged);
    ad_wr_u32(w, t->n_merges);
    for (uint32_t k = 0; k < t->n_merges; k++) {
        const struct merge *m = &t->merges[(t->merge_head + k) % AD_TMPL_MAX_MERGES];
        ad_wr_u64(w, m->from);
        ad_wr_u64(w, m->to);
    }
    ad_wr_u64(w, t->st.split);
    ad_wr_u32(w, t->splits.n);
    for (uint32_t k = 0; k < t->splits.n; k++) {
        const struct merge *m = &t->splits.r[(t->splits.head + k) % AD_TMPL_MAX_SPLITS];
        ad_wr_u64(w, m->from);
        ad_wr_u64(w, m->to);
    }
    return w->err;
}

/* One saved template into the staging miner (slots are handed out 0, 1, 2...: slot = ordinal). */
/* A version 3 template's split evidence: its flags byte and, when tracking, the tracker. */
static int load_trk(struct ad_tmpl *m, struct tpl *tp, struct ad_rd *r)
{
    uint8_t fl = ad_rd_u8(r);
    if (r->bad || (fl & ~3u))
        return -EINVAL;
    tp->split_done = fl & 1;
    if (!(fl & 2))
        return 0;
    struct trk *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    tp->trk = k;
    m->tpl_bytes += sizeof(*k);
    k->pos = ad_rd_u32(r);
    k->lines = ad_rd_u64(r);
    k->other = ad_rd_u64(r);
    k->n = ad_rd_u32(r);
    if (r->bad || !tp->split_done || k->pos >= tp->n_tok || !(tp->tf[k->pos] & TF_WILD) ||
        k->n > SPLIT_SLOTS || k->other > k->lines)
        return -EINVAL;
    uint64_t sum = k->other;
    for (uint32_t j = 0; j < k->n; j++) {
        k->s[j].h = ad_rd_u64(r);
        k->s[j].count = ad_rd_u64(r);
        k->s[j].flags = ad_rd_u8(r);
        struct ad_rd wd = ad_rd_sub(r);
        if (r->bad || k->s[j].h == 0 || wd.n > SPLIT_WORD || !const_flags(k->s[j].flags) ||
            k->s[j].count > k->lines - sum)
            return -EINVAL;
        sum += k->s[j].count;
        k->s[j].len = (uint8_t)wd.n;
        memcpy(k->s[j].w, wd.p, wd.n);
    }
    return sum == k->lines ? 0 : -EINVAL;
}

static int load_tpl(struct ad_tmpl *m, struct ad_rd *r, uint64_t *prev_seq, uint32_t version)
{
    struct ad_rd tok[MAX_TOKENS];
    uint8_t fl[MAX_TOKENS];
    uint32_t deco[MAX_TOKENS];
    uint64_t th[MAX_TOKENS];
    uint64_t id = ad_rd_u64(r), seq = ad_rd_u64(r), count = ad_rd_u64(r);
    int64_t last_ns = ad_rd_i64(r);
    uint32_t leaf = ad_rd_u32(r), n_tok = ad_rd_u32(r);
    if (r->bad || id == 0 || leaf >= m->n_nodes || n_tok > MAX_TOKENS || seq >= m->seq ||
        (*prev_seq != UINT64_MAX && seq <= *prev_seq) ||
        ad_u64map_get(&m->id_map, id, &(uint32_t){0}))
        return -EINVAL;
    size_t len = n_tok ? n_tok - 1 : 0;
    for (uint32_t k = 0; k < n_tok; k++) {
        fl[k] = ad_rd_u8(r);
        th[k] = ad_rd_u64(r);
        deco[k] = ad_rd_u32(r);
        tok[k] = ad_rd_sub(r);
        len += tok[k].n;
        bool wild_ok = (fl[k] & TF_WILD) ? th[k] == 0 : th[k] != 0;
        if (r->bad || (fl[k] & ~TF_ALL) || !wild_ok || len > UINT32_MAX / 2)
            return -EINVAL;
    }
    uint32_t i;
    int rc = slot_alloc(m, &i);
    if (rc < 0)
        return rc;
    struct tpl *tp = &m->tpls[i];
    if (tpl_alloc(tp, n_tok, len) < 0 || ad_u64map_put(&m->id_map, id, i) < 0) {
        tpl_release(tp);
        slot_free(m, i);
        return -ENOMEM;
    }
    char *o = tp->text;
    tp->n_wild = 0;
    for (uint32_t k = 0; k < n_tok; k++) {
        if (k)
            *o++ = ' ';
        memcpy(o, tok[k].p, tok[k].n);
        tp->toff[k] = (uint32_t)(o - tp->text);
        tp->tlen[k] = (uint32_t)tok[k].n;
        tp->tf[k] = fl[k];
        tp->td[k] = deco[k];
        tp->th[k] = th[k];
        tp->n_wild += (fl[k] & TF_WILD) ? 1 : 0;
        o += tok[k].n;
    }
    *o = '\0';
    tp->text_len = (uint32_t)len;
    tp->id = id;
    tp->seq = seq;
    tp->count = count;
    tp->last_ns = last_ns;
    leaf_append(m, leaf, i);
    list_append(m, L_AGE, i);
    m->live++;
    m->tpl_bytes += tpl_mem(n_tok) + 1 + len + 1;
    *prev_seq = seq;
    return version >= 3 ? load_trk(m, tp, r) : 0;
}

/* n (old id, new id) records: fold records, or split records when split. */
static int load_records(struct ad_tmpl *m, struct ad_rd *r, uint32_t n, bool split,
                        struct ad_err *reterr)
{
    const char *what = split ? "split" : "merge";
    for (uint32_t k = 0; k < n; k++) {
        uint64_t from = ad_rd_u64(r), to = ad_rd_u64(r);
        if (r->bad || from == 0 || to == 0 || from == to)
            return ad_err_set(reterr, EINVAL, "models.templates: state: bad %s record %u", what, k);
        if (split)
            split_record(m, from, to);
        else if (merge_record(m, from, to) < 0)
            return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    }
    return 0;
}

static int load_into(struct ad_tmpl *m, struct ad_rd *r, struct ad_err *reterr)
{
    if (ad_rd_u32(r) != STATE_MAGIC)
        return ad_err_set(reterr, EINVAL,
                          "models.templates: state: not a template state (bad magic)");
    uint32_t version = ad_rd_u32(r);
    if (version == 1)
        return ad_err_set(reterr, EINVAL,
                          "models.templates: state: version 1 (written before the sibling "
                          "miner, whose token hashes differ): refused, mining starts afresh");
    if (version != 2 && version != STATE_VERSION) /* 2: before splits, loads without them */
        return ad_err_set(reterr, EINVAL,
                          "models.templates: state: unknown version %u (this build reads %u)",
                          version, STATE_VERSION);
    uint32_t levels = ad_rd_u32(r);
    if (!r->bad && levels != m->levels)
        return ad_err_set(reterr, EINVAL,
                          "models.templates: state: saved with depth %u, "
                          "configured depth %u",
                          levels + 2, m->levels + 2);
    m->seq = ad_rd_u64(r);
    m->st.lines = ad_rd_u64(r);
    m->st.created = ad_rd_u64(r);
    m->st.changed = ad_rd_u64(r);
    m->st.evicted = ad_rd_u64(r);
    m->st.truncated = ad_rd_u64(r);
    uint32_t n_nodes = ad_rd_u32(r);
    if (r->bad || n_nodes > r->n / 12)
        return ad_err_set(reterr, EINVAL, "models.templates: state: truncated tree");
    for (uint32_t i = 0; i < n_nodes; i++) {
        uint64_t key = ad_rd_u64(r);
        uint32_t nch = ad_rd_u32(r), at;
        if (r->bad || key == 0 || node_get(m, key) != NIL)
            return ad_err_set(reterr, EINVAL, "models.templates: state: bad tree node %u", i);
        if (node_add(m, key, &at) < 0)
            return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
        m->nodes[at].n_children = nch;
    }
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > m->cfg.max_templates)
        return ad_err_set(reterr, EINVAL,
                          "models.templates: state: %u templates, more than "
                          "max_templates (%u)",
                          n, m->cfg.max_templates);
    uint64_t prev_seq = UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
        int rc = load_tpl(m, r, &prev_seq, version);
        if (rc < 0)
            return ad_err_set(reterr, -rc, "models.templates: state: bad template %u", i);
    }
    bool *seen = calloc((size_t)n + 1, 1);
    if (!seen)
        return ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = ad_rd_u32(r);
        if (r->bad || k >= n || seen[k]) {
            free(seen);
            return ad_err_set(reterr, EINVAL, "models.templates: state: bad LRU order");
        }
        seen[k] = true;
        list_append(m, L_LRU, k);
    }
    free(seen);
    m->st.merged = ad_rd_u64(r);
    uint32_t nm = ad_rd_u32(r);
    if (r->bad || nm > AD_TMPL_MAX_MERGES)
        return ad_err_set(reterr, EINVAL, "models.templates: state: bad merge records");
    int rc = load_records(m, r, nm, false, reterr);
    if (rc < 0)
        return rc;
    uint32_t ns = 0;
    if (version >= 3) {
        m->st.split = ad_rd_u64(r);
        ns = ad_rd_u32(r);
    }
    if (r->bad || ns > AD_TMPL_MAX_SPLITS)
        return ad_err_set(reterr, EINVAL, "models.templates: state: bad split records");
    if ((rc = load_records(m, r, ns, true, reterr)) < 0)
        return rc;
    if (r->bad || r->n != 0)
        return ad_err_set(reterr, EINVAL, "models.templates: state: %s",
                          r->bad ? "truncated" : "trailing bytes");
    return 0;
}

static void release_tables(struct ad_tmpl *m)
{
    free_templates(m->tpls, m->cap_tpls);
    free(m->nodes);
    ad_u64map_fini(&m->node_map);
    ad_u64map_fini(&m->id_map);
    ad_u64map_fini(&m->merge_map);
    free(m->merges);
    free(m->splits.r);
}

int ad_tmpl_load(struct ad_tmpl *t, struct ad_rd *r, struct ad_err *reterr)
{
    if (t->live || t->n_nodes || t->st.lines)
        return ad_err_set(reterr, EINVAL, "models.templates: state: load needs a fresh miner");
    /* Everything is built in a staging miner and swapped in only when all of it was read. */
    struct ad_tmpl m = {.cfg = t->cfg, .levels = t->levels};
    m.free_head = NIL;
    m.ls[L_LRU] = m.ls[L_AGE] = (struct list){NIL, NIL};
    int rc;
    if (ad_u64map_init(&m.node_map, 256) < 0 || ad_u64map_init(&m.id_map, 256) < 0 ||
        ad_u64map_init(&m.merge_map, 64) < 0 ||
        !(m.merges = malloc(AD_TMPL_MAX_MERGES * sizeof(*m.merges))) ||
        !(m.splits.r = malloc(AD_TMPL_MAX_SPLITS * sizeof(*m.splits.r))))
        rc = ad_err_set(reterr, ENOMEM, "models.templates: out of memory");
    else
        rc = load_into(&m, r, reterr);
    if (rc < 0) {
        release_tables(&m);
        return rc;
    }
    release_tables(t);
    t->nodes = m.nodes;
    t->n_nodes = m.n_nodes;
    t->cap_nodes = m.cap_nodes;
    t->node_map = m.node_map;
    t->tpls = m.tpls;
    t->cap_tpls = m.cap_tpls;
    t->free_head = m.free_head;
    t->live = m.live;
    t->id_map = m.id_map;
    t->ls[L_LRU] = m.ls[L_LRU];
    t->ls[L_AGE] = m.ls[L_AGE];
    t->seq = m.seq;
    t->tpl_bytes = m.tpl_bytes;
    t->merges = m.merges;
    t->merge_map = m.merge_map;
    t->n_merges = m.n_merges;
    t->merge_head = m.merge_head;
    t->splits = m.splits;
    t->st = m.st;
    return 0;
}
