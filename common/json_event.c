/* common/json_event.c: the event schema of docs/events.md, independent of the JSON library:
 * field lookup, bounds, escapes, enums, timestamps, defaults and the error texts. Pure: no I/O,
 * no clock (the receive time is passed in), no allocation except strings with escapes (arena). */
#include "common/json_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
#include "common/time.h"

#define QUOTE_MAX 40 /* bytes of a bad value or unknown key echoed in an error message */
/* Event times lie in [1970-01-01, 2262-01-01): int64 ns end in April 2262, and keeping whole
 * years means every accepted time writes out (RFC 3339) as one that parses back. */
#define TIME_END_NS INT64_C(9214646400000000000)
#define AD_STRINGIFY_(x) #x
#define AD_STRINGIFY(x) AD_STRINGIFY_(x)

static const char *const jf_names[AD_JF_COUNT] = {
    [AD_JF_ID] = "id",
    [AD_JF_KIND] = "kind",
    [AD_JF_SOURCE] = "source",
    [AD_JF_RESOURCE] = "resource",
    [AD_JF_SERVICE] = "service",
    [AD_JF_CHECK] = "check",
    [AD_JF_SEVERITY] = "severity",
    [AD_JF_STATUS] = "status",
    [AD_JF_SUMMARY] = "summary",
    [AD_JF_MESSAGE] = "message",
    [AD_JF_LABELS] = "labels",
    [AD_JF_VALUE] = "value",
    [AD_JF_TIMESTAMP] = "timestamp",
};

const char *ad_jf_name(enum ad_jf f)
{
    return jf_names[f];
}

#define BIT(f) (UINT32_C(1) << (f))

void ad_jev_begin(struct ad_jev *j, struct ad_event *ev, struct ad_arena *arena, struct ad_err *err)
{
    /* Everything but labels[]: clearing 1 KiB of label slots per event would cost more than
     * the rest of the parse; slots past n_labels are never read. */
    memset(ev, 0, offsetof(struct ad_event, labels));
    memset(&ev->n_labels, 0, sizeof(*ev) - offsetof(struct ad_event, n_labels));
    j->ev = ev;
    j->arena = arena;
    j->err = err;
    j->seen = 0;
}

void ad_jev_quote(char *dst, size_t n, const char *s, size_t len, size_t max)
{
    size_t i = 0, cut = len > max ? max : len;
    /* Back off to the start of a UTF-8 sequence so the message stays valid UTF-8. */
    if (cut < len)
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
    for (; i < cut && i + 4 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (cut < len && i + 4 < n) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i < n ? i : n - 1] = '\0';
}

static int lookup(const char *k, size_t n)
{
    /* By length first: one memcmp per key on the hot path. */
#define IS(lit) (memcmp(k, lit, sizeof(lit) - 1) == 0)
    switch (n) {
    case 2:
        return IS("id") ? AD_JF_ID : -1;
    case 4:
        return IS("kind") ? AD_JF_KIND : -1;
    case 5:
        return IS("check") ? AD_JF_CHECK : IS("value") ? AD_JF_VALUE : -1;
    case 6:
        return IS("source")   ? AD_JF_SOURCE
               : IS("status") ? AD_JF_STATUS
               : IS("labels") ? AD_JF_LABELS
                              : -1;
    case 7:
        return IS("service")   ? AD_JF_SERVICE
               : IS("summary") ? AD_JF_SUMMARY
               : IS("message") ? AD_JF_MESSAGE
                               : -1;
    case 8:
        return IS("resource") ? AD_JF_RESOURCE : IS("severity") ? AD_JF_SEVERITY : -1;
    case 9:
        return IS("timestamp") ? AD_JF_TIMESTAMP : -1;
    default:
        return -1;
    }
#undef IS
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static long hex4(const char *s, const char *end)
{
    if (end - s < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(char *d, unsigned long cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | cp >> 12);
        d[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | cp >> 18);
    d[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* \uXXXX at s (after the backslash and 'u'), with its low surrogate when it needs one. */
static int unescape_u(const char **ps, const char *end, unsigned long *ret, const char **why)
{
    const char *s = *ps;
    long hi = hex4(s, end);
    if (hi < 0)
        return *why = "bad \\u escape (needs 4 hex digits)", -EBADMSG;
    s += 4;
    unsigned long cp = (unsigned long)hi;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return *why = "lone low surrogate in \\u escape", -EILSEQ;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = end - s >= 6 && s[0] == '\\' && s[1] == 'u' ? hex4(s + 2, end) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return *why = "lone high surrogate in \\u escape", -EILSEQ;
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
        s += 6;
    }
    if (cp == 0)
        return *why = "contains a NUL character (\\u0000)", -EBADMSG;
    *ps = s;
    *ret = cp;
    return 0;
}

int ad_json_unescape(const char *s, size_t len, char *dst, size_t *ret_len, const char **why)
{
    const char *end = s + len;
    char *d = dst;
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        size_t run = bs ? (size_t)(bs - s) : (size_t)(end - s);
        memmove(d, s, run);
        d += run;
        s += run;
        if (!bs)
            break;
        if (end - s < 2)
            return *why = "bad escape at the end of a string", -EBADMSG;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *simple = memchr(from, s[1], sizeof(from) - 1);
        char c = s[1];
        s += 2;
        if (simple) {
            *d++ = to[simple - from];
        } else if (c == 'u') {
            unsigned long cp;
            int r = unescape_u(&s, end, &cp, why);
            if (r < 0)
                return r;
            d += put_utf8(d, cp);
        } else {
            return *why = "bad escape (\\ must be followed by one of \"\\/bfnrtu)", -EBADMSG;
        }
    }
    *ret_len = (size_t)(d - dst);
    return 0;
}

int ad_jraw_str(struct ad_arena *arena, struct ad_jraw s, size_t max, struct ad_str *ret,
                const char **why)
{
    if (!s.escaped) {
        if (s.len > max)
            return *why = "too long", -EMSGSIZE;
        *ret = (struct ad_str){s.p, s.len};
        return 0;
    }
    /* Every decoded byte takes at most 6 input bytes: reject the hopeless before copying. */
    if (s.len / 6 > max)
        return *why = "too long", -EMSGSIZE;
    char *d = ad_arena_alloc(arena, s.len + 1);
    if (!d)
        return *why = "out of memory", -ENOMEM;
    size_t n;
    int r = ad_json_unescape(s.p, s.len, d, &n, why);
    if (r < 0)
        return r;
    if (n > max)
        return *why = "too long", -EMSGSIZE;
    d[n] = '\0';
    *ret = (struct ad_str){d, n};
    return 0;
}

static int take_str(struct ad_jev *j, struct ad_jraw s, size_t max, struct ad_str *ret,
                    const char **why)
{
    return ad_jraw_str(j->arena, s, max, ret, why);
}

static size_t field_max(enum ad_jf f)
{
    return f == AD_JF_SUMMARY || f == AD_JF_MESSAGE ? AD_MAX_SUMMARY_LEN : AD_MAX_FIELD_LEN;
}

static int str_error(struct ad_jev *j, int r, const char *field, const char *why, size_t max)
{
    if (r == -EMSGSIZE)
        return ad_err_set(j->err, EMSGSIZE, "field '%s': longer than %zu bytes", field, max);
    return ad_err_set(j->err, -r, "field '%s': %s", field, why);
}

int ad_jev_key(struct ad_jev *j, struct ad_jraw key, enum ad_jf *ret)
{
    struct ad_str k = {key.p, key.len};
    const char *why;
    /* Escaped keys ("\u0073ource") are rare but legal JSON; decode them to look them up. */
    if (key.escaped) {
        int r = take_str(j, key, AD_MAX_FIELD_LEN, &k, &why);
        if (r < 0 && r != -EMSGSIZE)
            return ad_err_set(j->err, -r, "bad field name: %s", why);
        if (r < 0)
            k = (struct ad_str){key.p, key.len};
    }
    int f = lookup(k.p, k.len);
    if (f < 0) {
        char q[64];
        ad_jev_quote(q, sizeof(q), k.p, k.len, QUOTE_MAX);
        return ad_err_set(j->err, EBADMSG, "unknown field '%s'", q);
    }
    if (j->seen & BIT(f))
        return ad_err_set(j->err, EBADMSG, "duplicate field '%s'", jf_names[f]);
    if ((f == AD_JF_SUMMARY && (j->seen & BIT(AD_JF_MESSAGE))) ||
        (f == AD_JF_MESSAGE && (j->seen & BIT(AD_JF_SUMMARY))))
        return ad_err_set(j->err, EBADMSG,
                          "duplicate field: 'summary' and 'message' are the same "
                          "field, send one");
    j->seen |= BIT(f);
    *ret = (enum ad_jf)f;
    return 0;
}

static int bad_value(struct ad_jev *j, enum ad_jf f, struct ad_str s, const char *expect)
{
    char q[64];
    ad_jev_quote(q, sizeof(q), s.p, s.len, QUOTE_MAX);
    return ad_err_set(j->err, EBADMSG, "field '%s': unknown value '%s' (expected %s)", jf_names[f],
                      q, expect);
}

static int time_range_error(struct ad_err *err, const char *field)
{
    return ad_err_set(err, EBADMSG, "field '%s': outside 1970-01-01..2261-12-31", field);
}

static int set_time(struct ad_jev *j, int64_t ns)
{
    if (ns < 0 || ns >= TIME_END_NS)
        return time_range_error(j->err, "timestamp");
    j->ev->time_ns = ns;
    return 0;
}

int ad_json_time(struct ad_str s, const char *field, const char *expect, struct ad_err *err,
                 int64_t *ret_ns)
{
    /* The year is checked first because converting a later one would overflow int64 ns. */
    int year = 0, digits = 0;
    for (; digits < 4 && (size_t)digits < s.len && s.p[digits] >= '0' && s.p[digits] <= '9';
         digits++)
        year = year * 10 + (s.p[digits] - '0');
    if (digits == 4 && (year < 1970 || year > 2261))
        return time_range_error(err, field);
    int64_t ns;
    if (digits < 4 || ad_time_parse_rfc3339(s, &ns) < 0) {
        char q[64];
        ad_jev_quote(q, sizeof(q), s.p, s.len, QUOTE_MAX);
        return ad_err_set(err, EBADMSG, "field '%s': expected %s, got '%s'", field, expect, q);
    }
    /* Offsets can still move it out: 1970-01-01T00:30:00+01:00. */
    if (ns < 0 || ns >= TIME_END_NS)
        return time_range_error(err, field);
    *ret_ns = ns;
    return 0;
}

static int set_time_str(struct ad_jev *j, struct ad_str s)
{
    return ad_json_time(s, "timestamp", "RFC 3339 (2026-11-24T15:30:00Z) or epoch seconds", j->err,
                        &j->ev->time_ns);
}

int ad_jev_string(struct ad_jev *j, enum ad_jf f, struct ad_jraw raw)
{
    struct ad_event *ev = j->ev;
    struct ad_str s;
    const char *why;
    size_t max = field_max(f);
    int r = take_str(j, raw, max, &s, &why);
    if (r < 0)
        return str_error(j, r, jf_names[f], why, max);
    switch (f) {
    case AD_JF_ID:
        ev->id = s;
        return 0;
    case AD_JF_SOURCE:
        ev->source = s;
        return 0;
    case AD_JF_RESOURCE:
        ev->resource = s;
        return 0;
    case AD_JF_SERVICE:
        ev->service = s;
        return 0;
    case AD_JF_CHECK:
        ev->check = s;
        return 0;
    case AD_JF_SUMMARY:
    case AD_JF_MESSAGE:
        ev->summary = s;
        return 0;
    case AD_JF_KIND:
        return ad_kind_parse(s, &ev->kind) < 0 ? bad_value(j, f, s, "alert, log or metric") : 0;
    case AD_JF_SEVERITY:
        return ad_severity_parse(s, &ev->severity) < 0
                   ? bad_value(j, f, s, "info, warning, minor, major, critical or an alias")
                   : 0;
    case AD_JF_STATUS:
        return ad_status_parse(s, &ev->status) < 0
                   ? bad_value(j, f, s, "firing, resolved or an alias")
                   : 0;
    case AD_JF_TIMESTAMP:
        return set_time_str(j, s);
    default:
        return ad_jev_type_error(j, f);
    }
}

int ad_jev_double(struct ad_jev *j, enum ad_jf f, double v)
{
    if (f == AD_JF_VALUE) {
        j->ev->value = v;
        j->ev->has_value = true;
        return 0;
    }
    if (f == AD_JF_TIMESTAMP) {
        int64_t ns;
        if (ad_epoch_to_ns(v, &ns) < 0)
            return ad_err_set(j->err, EBADMSG, "field 'timestamp': epoch %.17g out of range", v);
        return set_time(j, ns);
    }
    return ad_jev_type_error(j, f);
}

int ad_jev_epoch_int(struct ad_jev *j, int64_t v)
{
    /* Nanosecond epochs (>= 1e17) exceed a double's 53 bits: take them as they are. */
    if (v >= INT64_C(100000000000000000))
        return set_time(j, v);
    return ad_jev_double(j, AD_JF_TIMESTAMP, (double)v);
}

static int label_error(struct ad_jev *j, int code, struct ad_str name, const char *tail)
{
    char q[64];
    ad_jev_quote(q, sizeof(q), name.p, name.len, QUOTE_MAX);
    return ad_err_set(j->err, code, "field 'labels': label '%s': %s", q, tail);
}

int ad_jev_label(struct ad_jev *j, struct ad_jraw name, struct ad_jraw value)
{
    struct ad_event *ev = j->ev;
    if (ev->n_labels >= AD_MAX_LABELS)
        return ad_jev_too_many_labels(j);
    struct ad_label *l = &ev->labels[ev->n_labels];
    const char *why;
    int r = take_str(j, name, AD_MAX_FIELD_LEN, &l->name, &why);
    if (r < 0)
        return str_error(j, r, "labels", why, AD_MAX_FIELD_LEN);
    if (l->name.len == 0)
        return ad_err_set(j->err, EBADMSG, "field 'labels': empty label name");
    r = take_str(j, value, AD_MAX_FIELD_LEN, &l->value, &why);
    if (r == -EMSGSIZE)
        return label_error(j, EMSGSIZE, l->name,
                           "longer than " AD_STRINGIFY(AD_MAX_FIELD_LEN) " bytes");
    if (r < 0)
        return label_error(j, -r, l->name, why);
    /* At most 32 labels: the quadratic check is bounded and cheaper than hashing 3-5 names. */
    for (unsigned i = 0; i < ev->n_labels; i++)
        if (ad_str_eq(ev->labels[i].name, l->name))
            return label_error(j, EBADMSG, l->name, "given twice");
    ev->n_labels++;
    return 0;
}

static const char *expected(enum ad_jf f)
{
    switch (f) {
    case AD_JF_LABELS:
        return "an object";
    case AD_JF_VALUE:
        return "a number";
    case AD_JF_TIMESTAMP:
        return "an RFC 3339 string or an epoch number";
    default:
        return "a string";
    }
}

int ad_jev_type_error(struct ad_jev *j, enum ad_jf f)
{
    return ad_err_set(j->err, EBADMSG, "field '%s': expected %s", jf_names[f], expected(f));
}

int ad_jev_label_type_error(struct ad_jev *j, struct ad_jraw name)
{
    char q[64];
    ad_jev_quote(q, sizeof(q), name.p, name.len, QUOTE_MAX);
    return ad_err_set(j->err, EBADMSG,
                      "field 'labels': label '%s': expected a string, number or bool", q);
}

int ad_jev_too_many_labels(struct ad_jev *j)
{
    return ad_err_set(j->err, EMSGSIZE, "field 'labels': more than %d labels", AD_MAX_LABELS);
}

static int missing(struct ad_jev *j, enum ad_jf f)
{
    if (j->seen & BIT(f))
        return ad_err_set(j->err, EBADMSG, "field '%s': must not be empty", jf_names[f]);
    return ad_err_set(j->err, EBADMSG, "missing required field '%s'", jf_names[f]);
}

int ad_jev_end(struct ad_jev *j, int64_t now_ns)
{
    struct ad_event *ev = j->ev;
    uint32_t seen = j->seen;
    if (ev->resource.len == 0)
        return missing(j, AD_JF_RESOURCE);
    if (ev->kind != AD_KIND_LOG && ev->check.len == 0)
        return missing(j, AD_JF_CHECK);
    if (ev->kind == AD_KIND_LOG && ev->summary.len == 0)
        return missing(j, (seen & BIT(AD_JF_SUMMARY)) ? AD_JF_SUMMARY : AD_JF_MESSAGE);
    if (ev->kind == AD_KIND_METRIC && !ev->has_value)
        return missing(j, AD_JF_VALUE);
    /* Empty optional strings count as absent so that collectors can send "" for "unknown". */
    if (ev->source.len == 0)
        ev->source = AD_STR_LIT("unknown");
    if (ev->service.len == 0)
        ev->service = ev->resource;
    if (ev->summary.len == 0)
        ev->summary = ev->kind == AD_KIND_ALERT ? ev->check : AD_STR_LIT("");
    if (!ev->id.p)
        ev->id = AD_STR_LIT("");
    if (!ev->check.p)
        ev->check = AD_STR_LIT("");
    if (!(seen & BIT(AD_JF_SEVERITY)))
        ev->severity = ev->kind == AD_KIND_ALERT ? AD_SEV_WARNING : AD_SEV_INFO;
    if (!(seen & BIT(AD_JF_TIMESTAMP)))
        ev->time_ns = now_ns;
    return 0;
}

void ad_jev_err_index(struct ad_err *err, const char *array, size_t idx)
{
    if (!err)
        return;
    char tmp[sizeof(err->msg)];
    memcpy(tmp, err->msg, sizeof(tmp));
    tmp[sizeof(tmp) - 1] = '\0';
    snprintf(err->msg, sizeof(err->msg), "%s[%zu]: %.220s", array, idx, tmp);
}
