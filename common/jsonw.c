/* common/jsonw.c: the streaming JSON writer and the event's JSON form (docs/events.md).
 * Output is always valid JSON: strings are escaped per RFC 8259 and invalid UTF-8 becomes U+FFFD.
 * Pure: no I/O; memory only through the caller's ad_buf. */
#include "common/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/event.h"
#include "common/time.h"
#include "common/utf8.h"

void ad_jsonw_init(struct ad_jsonw *w, struct ad_buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

static void put(struct ad_jsonw *w, const void *p, size_t n)
{
    if (w->err == 0 && ad_buf_append(w->out, p, n) < 0)
        w->err = -ENOMEM;
}

/* Before any value: the comma that separates it from the previous one, unless it follows a key. */
static void sep(struct ad_jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth])
        put(w, ",", 1);
    w->need_comma[w->depth] = true;
}

static void nest(struct ad_jsonw *w, char c)
{
    sep(w);
    put(w, &c, 1);
    if (w->depth + 1 >= AD_JSONW_MAX_DEPTH) {
        if (w->err == 0)
            w->err = -ENOBUFS; /* nesting bound; a programmer error, reported not crashed */
        return;
    }
    w->depth++;
    w->need_comma[w->depth] = false;
}

static void unnest(struct ad_jsonw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    w->after_key = false;
    put(w, &c, 1);
}

void ad_jsonw_obj_begin(struct ad_jsonw *w)
{
    nest(w, '{');
}
void ad_jsonw_obj_end(struct ad_jsonw *w)
{
    unnest(w, '}');
}
void ad_jsonw_arr_begin(struct ad_jsonw *w)
{
    nest(w, '[');
}
void ad_jsonw_arr_end(struct ad_jsonw *w)
{
    unnest(w, ']');
}


static void put_escaped(struct ad_jsonw *w, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)p, *end = s + n, *run = s;
    put(w, "\"", 1);
    while (s < end) {
        unsigned char c = *s;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            s++;
            continue;
        }
        size_t ulen = c >= 0x80 ? ad_utf8_char_len(s, (size_t)(end - s)) : 0;
        if (ulen) {
            s += ulen;
            continue;
        }
        put(w, run, (size_t)(s - run));
        char e[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            e[1] = '"';
            break;
        case '\\':
            e[1] = '\\';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        default:
            if (c < 0x20) {
                memcpy(e, "\\u00", 4);
                e[4] = hex[c >> 4];
                e[5] = hex[c & 15];
                elen = 6;
            } else {
                memcpy(e, "\xEF\xBF\xBD", 3); /* U+FFFD for each byte of an invalid sequence */
                elen = 3;
            }
        }
        put(w, e, elen);
        s++;
        run = s;
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

void ad_jsonw_key(struct ad_jsonw *w, const char *key)
{
    sep(w);
    put_escaped(w, key, strlen(key));
    put(w, ":", 1);
    w->after_key = true;
}

void ad_jsonw_str(struct ad_jsonw *w, struct ad_str s)
{
    if (!s.p) {
        ad_jsonw_null(w);
        return;
    }
    sep(w);
    put_escaped(w, s.p, s.len);
}

void ad_jsonw_cstr(struct ad_jsonw *w, const char *s)
{
    if (!s) {
        ad_jsonw_null(w);
        return;
    }
    sep(w);
    put_escaped(w, s, strlen(s));
}

static void put_raw(struct ad_jsonw *w, const char *s, size_t n)
{
    sep(w);
    put(w, s, n);
}

void ad_jsonw_int(struct ad_jsonw *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    put_raw(w, tmp, (size_t)n);
}

void ad_jsonw_uint(struct ad_jsonw *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    put_raw(w, tmp, (size_t)n);
}

void ad_jsonw_double(struct ad_jsonw *w, double v)
{
    if (!isfinite(v)) {
        ad_jsonw_null(w);
        return;
    }
    /* The shortest of %.15g / %.16g / %.17g that reads back as the same double: 0.1 stays
     * "0.1", and every value round-trips. */
    char tmp[32];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    put_raw(w, tmp, (size_t)n);
}

void ad_jsonw_bool(struct ad_jsonw *w, bool v)
{
    put_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void ad_jsonw_null(struct ad_jsonw *w)
{
    put_raw(w, "null", 4);
}

int ad_jsonw_finish(struct ad_jsonw *w)
{
    return w->err;
}

/* Events built by hand may carry AD_STR_NULL; "" keeps the output parseable as an event. */
static struct ad_str nonnull(struct ad_str s)
{
    return s.p ? s : AD_STR_LIT("");
}

int ad_event_to_json(const struct ad_event *ev, struct ad_buf *out)
{
    struct ad_jsonw w;
    char ts[40];
    ad_jsonw_init(&w, out);
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "kind");
    ad_jsonw_cstr(&w, ad_kind_name(ev->kind));
    if (ev->id.len) {
        ad_jsonw_key(&w, "id");
        ad_jsonw_str(&w, ev->id);
    }
    ad_jsonw_key(&w, "source");
    ad_jsonw_str(&w, nonnull(ev->source));
    ad_jsonw_key(&w, "resource");
    ad_jsonw_str(&w, nonnull(ev->resource));
    ad_jsonw_key(&w, "service");
    ad_jsonw_str(&w, nonnull(ev->service));
    if (ev->check.len) {
        ad_jsonw_key(&w, "check");
        ad_jsonw_str(&w, ev->check);
    }
    ad_jsonw_key(&w, "severity");
    ad_jsonw_cstr(&w, ad_severity_name(ev->severity));
    ad_jsonw_key(&w, "status");
    ad_jsonw_cstr(&w, ad_status_name(ev->status));
    if (ev->summary.len) {
        ad_jsonw_key(&w, ev->kind == AD_KIND_LOG ? "message" : "summary");
        ad_jsonw_str(&w, ev->summary);
    }
    if (ev->n_labels) {
        ad_jsonw_key(&w, "labels");
        ad_jsonw_obj_begin(&w);
        for (unsigned i = 0; i < ev->n_labels && i < AD_MAX_LABELS; i++) {
            /* Label names are not NUL-terminated slices: write the key by hand. */
            struct ad_str name = ev->labels[i].name;
            sep(&w);
            put_escaped(&w, name.p ? name.p : "", name.len);
            put(&w, ":", 1);
            w.after_key = true;
            ad_jsonw_str(&w, nonnull(ev->labels[i].value));
        }
        ad_jsonw_obj_end(&w);
    }
    if (ev->has_value) {
        ad_jsonw_key(&w, "value");
        ad_jsonw_double(&w, ev->value);
    }
    ad_jsonw_key(&w, "timestamp");
    ad_jsonw_cstr(&w, ad_time_format_rfc3339(ev->time_ns, ts, sizeof(ts)));
    ad_jsonw_obj_end(&w);
    return ad_jsonw_finish(&w);
}
