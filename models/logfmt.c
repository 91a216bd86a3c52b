/* models/logfmt.c: see logfmt.h. The conversion is the logparser benchmark's
 * (generate_logformat_regex): fields become lazy groups, runs of spaces \s+, anchored. */
#include "models/logfmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/buf.h"
#include "common/err.h"

struct ad_logfmt {
    pcre2_code *re;
    pcre2_match_data *md;
    uint32_t content; /* capture group of <Content> */
};

static bool is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The length of a field "<Name>" at s (name: no '<' or '>'), 0 when s does not start one. */
static size_t field_len(const char *s)
{
    if (s[0] != '<')
        return 0;
    size_t i = 1;
    while (s[i] && s[i] != '<' && s[i] != '>')
        i++;
    return s[i] == '>' && i > 1 ? i + 1 : 0;
}

static int to_regex(const char *format, struct ad_buf *b, bool *ret_content)
{
    int r = ad_buf_puts(b, "^");
    *ret_content = false;
    for (const char *s = format; *s && r == 0;) {
        size_t f = field_len(s);
        if (f == 9 && !memcmp(s, "<Content>", 9)) {
            r = *ret_content ? -EINVAL : ad_buf_puts(b, "(?<Content>.*?)");
            *ret_content = true;
            s += f;
        } else if (f) {
            r = ad_buf_puts(b, "(?:.*?)");
            s += f;
        } else if (*s == ' ') {
            while (*s == ' ')
                s++;
            r = ad_buf_puts(b, "\\s+");
        } else {
            r = ad_buf_append(b, s++, 1);
        }
    }
    return r < 0 ? r : ad_buf_puts(b, "$");
}

int ad_logfmt_compile(const char *format, struct ad_logfmt **ret, struct ad_err *reterr)
{
    struct ad_buf b;
    bool content;
    ad_buf_init(&b);
    int r = to_regex(format, &b, &content);
    if (r == -EINVAL || (r == 0 && !content)) {
        ad_buf_fini(&b);
        return ad_err_set(reterr, EINVAL, "log format \"%.80s\": needs exactly one <Content>",
                          format);
    }
    struct ad_logfmt *f = r == 0 ? calloc(1, sizeof(*f)) : NULL;
    if (!f) {
        ad_buf_fini(&b);
        return ad_err_set(reterr, ENOMEM, "log format: out of memory");
    }
    int code;
    PCRE2_SIZE off;
    f->re = pcre2_compile((PCRE2_SPTR)b.p, b.len, PCRE2_DOTALL, &code, &off, NULL);
    if (!f->re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof(msg));
        r = ad_err_set(reterr, EINVAL, "log format \"%.80s\": regex %s: error at offset %zu: %s",
                       format, b.p, (size_t)off, (const char *)msg);
        goto out_free;
    }
    pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE); /* without JIT it still matches */
    f->md = pcre2_match_data_create_from_pattern(f->re, NULL);
    int n = pcre2_substring_number_from_name(f->re, (PCRE2_SPTR) "Content");
    if (!f->md || n <= 0) {
        r = ad_err_set(reterr, ENOMEM, "log format: out of memory");
        goto out_free;
    }
    f->content = (uint32_t)n;
    ad_buf_fini(&b);
    *ret = f;
    return 0;
out_free:
    ad_buf_fini(&b);
    ad_logfmt_destroy(f);
    return r;
}

void ad_logfmt_destroy(struct ad_logfmt *f)
{
    if (!f)
        return;
    pcre2_match_data_free(f->md);
    pcre2_code_free(f->re);
    free(f);
}

int ad_logfmt_content(struct ad_logfmt *f, struct ad_str line, struct ad_str *ret)
{
    const unsigned char *p = (const unsigned char *)line.p;
    size_t n = line.len;
    while (n && is_space(p[0]))
        p++, n--;
    while (n && is_space(p[n - 1]))
        n--;
    int r = pcre2_match(f->re, p ? p : (const unsigned char *)"", n, 0, 0, f->md, NULL);
    if (r == PCRE2_ERROR_NOMEMORY)
        return -ENOMEM;
    if (r <= 0)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(f->md);
    size_t a = ov[2 * f->content], e = ov[2 * f->content + 1];
    if (a == PCRE2_UNSET)
        return 0;
    *ret = (struct ad_str){(const char *)p + a, e - a};
    return 1;
}

/* ---- JSON lines --------------------------------------------------------------------------- */

struct jcur {
    const unsigned char *p, *end;
    char *o; /* next free byte of the string storage */
};

static void jws(struct jcur *c)
{
    while (c->p < c->end && is_space(*c->p))
        c->p++;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = p[i] >= '0' && p[i] <= '9'                     ? p[i] - '0'
                : (p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f' ? (p[i] | 0x20) - 'a' + 10
                                                               : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* A string at c->p ('"' ...), unescaped into the storage (never longer than its source). */
static bool jstring(struct jcur *c, struct ad_str *ret)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    char *start = c->o;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = *c->p++;
        if (ch < 0x20)
            return false;
        if (ch != '\\') {
            *c->o++ = (char)ch;
            continue;
        }
        if (c->p >= c->end)
            return false;
        ch = *c->p++;
        char e = ch == '"' || ch == '\\' || ch == '/' ? (char)ch
                 : ch == 'b'                          ? '\b'
                 : ch == 'f'                          ? '\f'
                 : ch == 'n'                          ? '\n'
                 : ch == 'r'                          ? '\r'
                 : ch == 't'                          ? '\t'
                                                      : 0;
        if (e) {
            *c->o++ = e;
            continue;
        }
        if (ch != 'u' || c->end - c->p < 4)
            return false;
        int cp = hex4(c->p);
        c->p += 4;
        if (cp < 0)
            return false;
        if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
            c->p[1] == 'u') {
            int lo = hex4(c->p + 2);
            if (lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                c->p += 6;
            }
        }
        if (cp >= 0xd800 && cp < 0xe000)
            cp = 0xfffd; /* a lone surrogate */
        c->o = put_utf8(c->o, (unsigned)cp);
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    *ret = (struct ad_str){start, (size_t)(c->o - start)};
    return true;
}

/* Any other value: its raw text (objects and arrays balanced, strings inside them skipped). */
static bool jraw(struct jcur *c, struct ad_str *ret)
{
    const unsigned char *s = c->p;
    int depth = 0;
    while (c->p < c->end) {
        unsigned char ch = *c->p;
        if (ch == '"') {
            if (depth == 0)
                return false;
            for (c->p++; c->p < c->end && *c->p != '"'; c->p++)
                if (*c->p == '\\')
                    c->p++;
            if (c->p >= c->end)
                return false;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0)
                break;
            if (--depth == 0) {
                c->p++;
                break;
            }
        } else if (depth == 0 && (ch == ',' || is_space(ch))) {
            break;
        }
        c->p++;
    }
    if (depth != 0 || c->p == s)
        return false;
    *ret = (struct ad_str){(const char *)s, (size_t)(c->p - s)};
    return true;
}

static int message_rank(struct ad_str k)
{
    static const char *const names[] = {"msg", "message", "log"};
    for (int i = 0; i < 3; i++)
        if (ad_str_eq_c(k, names[i]))
            return i;
    return 3;
}

int ad_logjson_parse(struct ad_str line, struct ad_logjson *j)
{
    struct jcur c = {(const unsigned char *)line.p, (const unsigned char *)line.p + line.len, NULL};
    j->message = j->message_key = AD_STR_NULL;
    j->n_fields = j->n_dropped = 0;
    jws(&c);
    if (c.p >= c.end || *c.p != '{')
        return 0;
    if (line.len + 1 > j->cap) {
        char *b = realloc(j->buf, line.len + 1);
        if (!b)
            return -ENOMEM;
        j->buf = b;
        j->cap = line.len + 1;
    }
    c.o = j->buf;
    c.p++;
    int best = 3;
    jws(&c);
    if (c.p < c.end && *c.p == '}')
        return 0;
    for (;;) {
        struct ad_str k, v;
        jws(&c);
        if (!jstring(&c, &k))
            return 0;
        jws(&c);
        if (c.p >= c.end || *c.p++ != ':')
            return 0;
        jws(&c);
        bool str = c.p < c.end && *c.p == '"';
        if (!(str ? jstring(&c, &v) : jraw(&c, &v)))
            return 0;
        int rank = str ? message_rank(k) : 3;
        if (rank < best) {
            if (j->message_key.p) { /* the previous candidate is an ordinary field after all */
                if (j->n_fields < AD_LOGJSON_MAX_FIELDS)
                    j->fields[j->n_fields++] =
                        (struct ad_logjson_field){j->message_key, j->message};
                else
                    j->n_dropped++;
            }
            best = rank;
            j->message = v;
            j->message_key = k;
        } else if (j->n_fields < AD_LOGJSON_MAX_FIELDS) {
            j->fields[j->n_fields++] = (struct ad_logjson_field){k, v};
        } else {
            j->n_dropped++;
        }
        jws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (c.p < c.end && *c.p == '}')
            break;
        return 0;
    }
    c.p++;
    jws(&c);
    return c.p == c.end && j->message_key.p ? 1 : 0;
}

void ad_logjson_fini(struct ad_logjson *j)
{
    free(j->buf);
    j->buf = NULL;
    j->cap = 0;
}
