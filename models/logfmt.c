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
