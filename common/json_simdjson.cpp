/* common/json_simdjson.cpp: the C API of common/json.h on simdjson's On Demand front end
 * (docs/json-choice.md says why). This file only walks the JSON; json_event.c owns the schema.
 * Pure: no I/O. Uses simdjson's error codes, never its exceptions. */
extern "C" {
#include "common/json.h"
}

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include <simdjson.h>

extern "C" {
#include "common/arena.h"
#include "common/err.h"
#include "common/event.h"
}
#include "common/json_internal.h"

using namespace simdjson;

struct ad_json_parser {
    ondemand::parser parser;
    size_t max_msg;     /* bound on one message, from the collector's config */
    char *pad;          /* copy of the input + SIMDJSON_PADDING zero bytes (simdjson reads ahead) */
    size_t pad_cap;     /* bytes usable in pad before the padding; grows to max_msg at most */
    struct ad_event ev; /* scratch: copied to *ret only on success */
};

/* Grown on demand so a parser for 1 MiB bodies that only ever sees 300-byte events stays small. */
static const size_t initial_cap = 16 * 1024;

static int grow(ad_json_parser *p, size_t len)
{
    size_t cap = p->pad_cap * 2 > len ? p->pad_cap * 2 : len;
    if (cap > p->max_msg)
        cap = p->max_msg;
    /* The parser first: pad_cap only grows once both can hold cap bytes. */
    if (p->parser.allocate(cap) != SUCCESS)
        return -ENOMEM;
    char *pad = static_cast<char *>(realloc(p->pad, cap + SIMDJSON_PADDING));
    if (!pad)
        return -ENOMEM;
    p->pad = pad;
    p->pad_cap = cap;
    return 0;
}

extern "C" int ad_json_parser_create(size_t max_msg, struct ad_json_parser **ret)
{
    if (max_msg == 0 || max_msg >= SIMDJSON_MAXSIZE_BYTES)
        return -EINVAL;
    ad_json_parser *p = new (std::nothrow) ad_json_parser;
    if (!p)
        return -ENOMEM;
    p->max_msg = max_msg;
    p->pad = nullptr;
    p->pad_cap = 0;
    if (grow(p, max_msg < initial_cap ? max_msg : initial_cap) < 0) {
        ad_json_parser_destroy(p);
        return -ENOMEM;
    }
    *ret = p;
    return 0;
}

extern "C" void ad_json_parser_destroy(struct ad_json_parser *p)
{
    if (!p)
        return;
    free(p->pad);
    delete p;
}

extern "C" const char *ad_json_parser_library(void)
{
    /* The stage-1 kernel is picked at run time (haswell, westmere, fallback...): log it. */
    static const std::string name =
        std::string("simdjson " SIMDJSON_STRINGIFY(SIMDJSON_VERSION) " (") +
        get_active_implementation()->name() + ")";
    return name.c_str();
}

/* ---- walking one event ---- */

namespace
{

struct walk {
    ad_jev jev;
    const char *pad; /* the copy simdjson reads */
    const char *buf; /* the caller's bytes at the same offsets: slices point here */
};

/* simdjson's failure, in our terms. field: the field being read, or nullptr at the top. */
int sj_error(walk &w, error_code e, const char *field)
{
    ad_err *err = w.jev.err;
    switch (e) {
    case UTF8_ERROR:
        return ad_err_set(err, EILSEQ, "invalid UTF-8");
    case MEMALLOC:
        return ad_err_set(err, ENOMEM, "out of memory");
    case CAPACITY:
        return ad_err_set(err, EMSGSIZE, "message too large");
    case EMPTY:
        return ad_err_set(err, EBADMSG, "malformed JSON: empty message");
    case UNCLOSED_STRING:
        return ad_err_set(err, EBADMSG, "malformed JSON: unclosed string");
    case UNESCAPED_CHARS:
        return ad_err_set(err, EBADMSG, "malformed JSON: control character in a string");
    default:
        break;
    }
    if (field)
        return ad_err_set(err, EBADMSG, "field '%s': malformed JSON (%s)", field, error_message(e));
    return ad_err_set(err, EBADMSG, "malformed JSON (%s)", error_message(e));
}

inline bool has_backslash(const char *p, size_t n)
{
    /* memchr rather than a byte loop: string lengths vary from event to event, and a loop's
     * exit branch then mispredicts on every string (measured: 90 ns per event). */
    return memchr(p, '\\', n) != nullptr;
}

/* The body of a key, which starts right after its opening quote (field::key().raw()) and ends
 * at the quote before the ':' that precedes the value (found from the value's token, so the key
 * is not scanned forwards byte by byte). simdjson has checked that a key string and a ':' are
 * there. */
inline ad_jraw raw_key(const walk &w, const char *k, const char *value)
{
    const char *q = value - 1; /* back over whitespace and the ':' to the closing quote */
    while (*q != ':')
        q--;
    q--;
    while (*q != '"')
        q--;
    size_t len = static_cast<size_t>(q - k);
    return ad_jraw{w.buf + (k - w.pad), static_cast<uint32_t>(len), has_backslash(k, len)};
}

/* The raw token of a value: from its first byte to the next structural character, trailing
 * whitespace included (simdjson's raw_json_token). */
inline std::string_view trim(std::string_view t)
{
    size_t n = t.size();
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' || t[n - 1] == '\r'))
        n--;
    return t.substr(0, n);
}

/* A string token "..." as a body slice into the caller's buffer. No copy, no unescaping: strings
 * without a backslash (nearly all) become slices; json_event.c decodes the others. */
inline ad_jraw raw_string(const walk &w, std::string_view tok)
{
    tok = trim(tok);
    const char *body = tok.data() + 1;
    size_t len = tok.size() >= 2 ? tok.size() - 2 : 0;
    return ad_jraw{w.buf + (body - w.pad), static_cast<uint32_t>(len), has_backslash(body, len)};
}

inline ad_jraw raw_literal(const walk &w, std::string_view tok)
{
    tok = trim(tok);
    return ad_jraw{w.buf + (tok.data() - w.pad), static_cast<uint32_t>(tok.size()), 0};
}

int labels(walk &w, ondemand::value v)
{
    ondemand::object obj;
    error_code e = v.get_object().get(obj);
    if (e)
        return e == INCORRECT_TYPE ? ad_jev_type_error(&w.jev, AD_JF_LABELS)
                                   : sj_error(w, e, "labels");
    for (auto fr : obj) {
        ondemand::field f;
        if ((e = std::move(fr).get(f)))
            return sj_error(w, e, "labels");
        if (w.jev.ev->n_labels >= AD_MAX_LABELS)
            return ad_jev_too_many_labels(&w.jev);
        ondemand::value lv = f.value();
        std::string_view tok = lv.raw_json_token();
        ad_jraw name = raw_key(w, f.key().raw(), tok.data());
        char c = tok.empty() ? 0 : tok[0];
        ad_jraw val;
        if (c == '"') {
            val = raw_string(w, tok);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            double d;
            if ((e = lv.get_double().get(d))) /* validates the number; its text is kept */
                return sj_error(w, e, "labels");
            val = raw_literal(w, tok);
        } else if (c == 't' || c == 'f') {
            bool b;
            if ((e = lv.get_bool().get(b)))
                return sj_error(w, e, "labels");
            val = raw_literal(w, tok);
        } else {
            return ad_jev_label_type_error(&w.jev, name);
        }
        int r = ad_jev_label(&w.jev, name, val);
        if (r < 0)
            return r;
    }
    return 0;
}

int timestamp(walk &w, ondemand::value v)
{
    error_code e;
    ondemand::number_type t;
    if ((e = v.get_number_type().get(t)))
        return sj_error(w, e, "timestamp");
    if (t == ondemand::number_type::signed_integer) {
        int64_t i;
        if ((e = v.get_int64().get(i)))
            return sj_error(w, e, "timestamp");
        return ad_jev_epoch_int(&w.jev, i);
    }
    double d;
    if ((e = v.get_double().get(d))) /* fractions, and integers above INT64_MAX (rejected) */
        return sj_error(w, e, "timestamp");
    return ad_jev_double(&w.jev, AD_JF_TIMESTAMP, d);
}

int field_value(walk &w, ad_jf f, ondemand::value v, std::string_view tok)
{
    char c = tok.empty() ? 0 : tok[0];
    bool number = c == '-' || (c >= '0' && c <= '9');
    switch (f) {
    case AD_JF_LABELS:
        return labels(w, v);
    case AD_JF_VALUE: {
        if (!number)
            return ad_jev_type_error(&w.jev, f);
        double d;
        error_code e = v.get_double().get(d);
        return e ? sj_error(w, e, "value") : ad_jev_double(&w.jev, f, d);
    }
    case AD_JF_TIMESTAMP:
        if (number)
            return timestamp(w, v);
        break;
    default:
        break;
    }
    if (c != '"')
        return ad_jev_type_error(&w.jev, f);
    return ad_jev_string(&w.jev, f, raw_string(w, tok));
}

int event_object(walk &w, ondemand::object obj)
{
    for (auto fr : obj) {
        ondemand::field f;
        error_code e = std::move(fr).get(f);
        if (e)
            return sj_error(w, e, nullptr);
        ad_jf id;
        ondemand::value v = f.value();
        std::string_view tok = v.raw_json_token();
        int r = ad_jev_key(&w.jev, raw_key(w, f.key().raw(), tok.data()), &id);
        if (r < 0)
            return r;
        if ((r = field_value(w, id, v, tok)) < 0)
            return r;
    }
    return 0;
}

/* Copies the parsed event out without touching label slots past n_labels (1 KiB otherwise). */
void copy_event(struct ad_event *dst, const struct ad_event *src)
{
    memcpy(dst, src, offsetof(struct ad_event, labels));
    memcpy(dst->labels, src->labels, src->n_labels * sizeof(src->labels[0]));
    memcpy(&dst->n_labels, &src->n_labels, sizeof(*src) - offsetof(struct ad_event, n_labels));
}

int load(ad_json_parser *p, const char *buf, size_t len, ondemand::document &doc, walk &w)
{
    if (len > p->max_msg)
        return ad_err_set(w.jev.err, EMSGSIZE,
                          "message of %zu bytes exceeds the limit of %zu bytes", len, p->max_msg);
    /* RFC 8259 lets parsers ignore a byte order mark; some Windows senders write one. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    if (len > p->pad_cap && grow(p, len) < 0)
        return ad_err_set(w.jev.err, ENOMEM, "out of memory");
    if (len)
        memcpy(p->pad, buf, len);
    memset(p->pad + len, 0, SIMDJSON_PADDING);
    w.pad = p->pad;
    w.buf = buf;
    error_code e = p->parser.iterate(p->pad, len, p->pad_cap + SIMDJSON_PADDING).get(doc);
    return e ? sj_error(w, e, nullptr) : 0;
}

/* Nothing but whitespace may follow the value (simdjson would stop reading at its end). */
int at_end(walk &w, ondemand::document &doc)
{
    const char *loc;
    if (doc.current_location().get(loc) == SUCCESS)
        return ad_err_set(w.jev.err, EBADMSG,
                          "malformed JSON: trailing characters after the value");
    return 0;
}

int one_event(walk &w, ondemand::object obj, int64_t now_ns)
{
    int r = event_object(w, obj);
    return r < 0 ? r : ad_jev_end(&w.jev, now_ns);
}

int not_object(walk &w, error_code e)
{
    if (e == INCORRECT_TYPE)
        return ad_err_set(w.jev.err, EBADMSG, "expected a JSON object");
    return sj_error(w, e, nullptr);
}

/* One pass over an array of events: validates only when fn is NULL, else hands each over. */
int array_pass(walk &w, ondemand::document &doc, int64_t now_ns, ad_json_event_fn fn, void *ctx)
{
    ondemand::array arr;
    error_code e = doc.get_array().get(arr);
    if (e)
        return sj_error(w, e, nullptr);
    size_t i = 0;
    for (auto el : arr) {
        ondemand::object obj;
        ad_jev_begin(&w.jev, w.jev.ev, w.jev.arena, w.jev.err);
        int r = (e = el.get_object().get(obj)) ? not_object(w, e) : one_event(w, obj, now_ns);
        if (r < 0) {
            ad_jev_err_index(w.jev.err, "event", i);
            return r;
        }
        if (fn && (r = fn(ctx, w.jev.ev)) < 0)
            return r;
        i++;
    }
    return at_end(w, doc);
}

/* ---- Alertmanager webhook payloads (json_alertmanager.c owns the mapping) ---- */

/* The walk of one payload: pass 1 validates and maps (fn NULL), pass 2 hands each event to fn. */
struct am_walk {
    walk w;
    const ad_am_map *map;
    int64_t now_ns;
    ad_json_event_fn fn;
    void *ctx;
    ad_am_info info;
};

/* An object whose values are strings (labels, annotations): each pair to pair(name, value tok). */
template <typename Pair>
int string_map(walk &w, ad_am_alert &a, ad_amk k, ondemand::value v, Pair pair)
{
    ondemand::object obj;
    error_code e = v.get_object().get(obj);
    if (e)
        return e == INCORRECT_TYPE ? ad_am_type_error(&a, k) : sj_error(w, e, nullptr);
    for (auto fr : obj) {
        ondemand::field f;
        if ((e = std::move(fr).get(f)))
            return sj_error(w, e, nullptr);
        std::string_view tok = f.value().raw_json_token();
        int r = pair(raw_key(w, f.key().raw(), tok.data()), tok);
        if (r < 0)
            return r;
    }
    return 0;
}

int am_labels(walk &w, ad_am_alert &a, ondemand::value v)
{
    return string_map(w, a, AD_AMK_LABELS, v, [&](ad_jraw name, std::string_view tok) {
        if (tok.empty() || tok[0] != '"')
            return ad_am_label_type_error(&a, name);
        return ad_am_label(&a, name, raw_string(w, tok));
    });
}

/* Only summary and description are read; other annotations are skipped whatever they hold. */
int am_annotations(walk &w, ad_am_alert &a, ondemand::value v)
{
    return string_map(w, a, AD_AMK_ANNOTATIONS, v, [&](ad_jraw name, std::string_view tok) {
        int k = ad_am_key(&a, AD_AM_ANNOTATION, name);
        if (k <= AD_AMK_OTHER)
            return k;
        if (tok.empty() || tok[0] != '"')
            return ad_am_type_error(&a, static_cast<ad_amk>(k));
        return ad_am_string(&a, static_cast<ad_amk>(k), raw_string(w, tok));
    });
}

int am_alert(am_walk &aw, ad_am_alert &a, ondemand::object obj)
{
    walk &w = aw.w;
    for (auto fr : obj) {
        ondemand::field f;
        error_code e = std::move(fr).get(f);
        if (e)
            return sj_error(w, e, nullptr);
        ondemand::value v = f.value();
        std::string_view tok = v.raw_json_token();
        int k = ad_am_key(&a, AD_AM_ALERT, raw_key(w, f.key().raw(), tok.data()));
        int r = k;
        if (k == AD_AMK_LABELS)
            r = am_labels(w, a, v);
        else if (k == AD_AMK_ANNOTATIONS)
            r = am_annotations(w, a, v);
        else if (k > AD_AMK_OTHER && (tok.empty() || tok[0] != '"'))
            r = ad_am_type_error(&a, static_cast<ad_amk>(k));
        else if (k > AD_AMK_OTHER)
            r = ad_am_string(&a, static_cast<ad_amk>(k), raw_string(w, tok));
        if (r < 0)
            return r;
    }
    return ad_am_end(&a, aw.now_ns);
}

int am_alerts(am_walk &aw, ad_am_alert &top, ondemand::value v)
{
    walk &w = aw.w;
    ondemand::array arr;
    error_code e = v.get_array().get(arr);
    if (e)
        return e == INCORRECT_TYPE ? ad_am_type_error(&top, AD_AMK_ALERTS) : sj_error(w, e, nullptr);
    size_t i = 0;
    for (auto el : arr) {
        ad_am_alert a;
        ad_am_begin(&a, aw.map, w.jev.ev, w.jev.arena, w.jev.err);
        ondemand::object obj;
        int r = (e = el.get_object().get(obj)) ? not_object(w, e) : am_alert(aw, a, obj);
        if (r < 0) {
            ad_jev_err_index(w.jev.err, "alerts", i);
            return r;
        }
        aw.info.labels_dropped += a.labels_dropped;
        if (aw.fn && (r = aw.fn(aw.ctx, w.jev.ev)) < 0)
            return r;
        i++;
    }
    aw.info.alerts = i;
    return 0;
}

int am_pass(am_walk &aw, ondemand::document &doc)
{
    walk &w = aw.w;
    ondemand::object obj;
    error_code e = doc.get_object().get(obj);
    if (e)
        return e == INCORRECT_TYPE
                   ? ad_err_set(w.jev.err, EBADMSG, "expected a JSON object (an Alertmanager webhook payload)")
                   : sj_error(w, e, nullptr);
    ad_am_alert top;
    ad_am_begin(&top, aw.map, w.jev.ev, w.jev.arena, w.jev.err);
    aw.info = ad_am_info{};
    for (auto fr : obj) {
        ondemand::field f;
        if ((e = std::move(fr).get(f)))
            return sj_error(w, e, nullptr);
        ondemand::value v = f.value();
        std::string_view tok = v.raw_json_token();
        int k = ad_am_key(&top, AD_AM_TOP, raw_key(w, f.key().raw(), tok.data()));
        int r = k;
        if (k == AD_AMK_ALERTS) {
            r = am_alerts(aw, top, v);
        } else if (k == AD_AMK_TRUNCATED) {
            uint64_t n; /* informational: anything but a count is ignored */
            if (v.get_uint64().get(n) == SUCCESS)
                aw.info.truncated = n;
        }
        if (r < 0)
            return r;
    }
    if (!(top.seen & (UINT32_C(1) << AD_AMK_ALERTS)))
        return ad_err_set(w.jev.err, EBADMSG, "missing required field 'alerts'");
    return at_end(w, doc);
}

/* ---- mapped events waiting for the end of the payload ---- */

/* An event packed without its unused label slots: the fields before labels, those after
 * n_labels, then n_labels labels. */
struct stashed {
    stashed *next;
    uint8_t n_labels;
};
constexpr size_t EV_HEAD = offsetof(ad_event, labels);
constexpr size_t EV_TAIL_AT = offsetof(ad_event, n_labels);
constexpr size_t EV_TAIL = sizeof(ad_event) - EV_TAIL_AT;

struct stash {
    ad_arena *arena;
    stashed *head, **tail;
};

int stash_event(void *ctx, ad_event *ev)
{
    stash *st = static_cast<stash *>(ctx);
    size_t lab = ev->n_labels * sizeof(ad_label);
    char *m = static_cast<char *>(ad_arena_alloc(st->arena, sizeof(stashed) + EV_HEAD + EV_TAIL + lab));
    if (!m)
        return -ENOMEM;
    stashed *e = reinterpret_cast<stashed *>(m);
    e->next = nullptr;
    e->n_labels = ev->n_labels;
    char *d = m + sizeof(stashed);
    memcpy(d, ev, EV_HEAD);
    memcpy(d + EV_HEAD, reinterpret_cast<char *>(ev) + EV_TAIL_AT, EV_TAIL);
    memcpy(d + EV_HEAD + EV_TAIL, ev->labels, lab);
    *st->tail = e;
    st->tail = &e->next;
    return 0;
}

void unstash(const stashed *e, ad_event *ev)
{
    const char *s = reinterpret_cast<const char *>(e) + sizeof(stashed);
    memcpy(static_cast<void *>(ev), s, EV_HEAD);
    memcpy(reinterpret_cast<char *>(ev) + EV_TAIL_AT, s + EV_HEAD, EV_TAIL);
    memcpy(static_cast<void *>(ev->labels), s + EV_HEAD + EV_TAIL, e->n_labels * sizeof(ad_label));
}

} // namespace

extern "C" int ad_json_parse_alertmanager(struct ad_json_parser *p, const char *buf, size_t len,
                                          struct ad_arena *arena, int64_t now_ns,
                                          const struct ad_am_map *map, ad_json_event_fn fn,
                                          void *ctx, struct ad_am_info *ret_info,
                                          struct ad_err *reterr)
{
    if (!fn || !map)
        return ad_err_set(reterr, EINVAL, "no event callback or label mapping");
    am_walk aw;
    ad_jev_begin(&aw.w.jev, &p->ev, arena, reterr);
    aw.map = map;
    aw.now_ns = now_ns;
    /* All or nothing, as for event batches: every alert maps before the first is handed over.
     * One pass: the mapped events wait in the arena (compact: only their labels), which is
     * cheaper than walking the payload twice. */
    stash st{arena, nullptr, nullptr};
    st.tail = &st.head;
    aw.fn = stash_event;
    aw.ctx = &st;
    ondemand::document doc;
    int r = load(p, buf, len, doc, aw.w);
    if (r < 0 || (r = am_pass(aw, doc)) < 0)
        return r;
    for (stashed *e = st.head; e; e = e->next) {
        unstash(e, &p->ev);
        if ((r = fn(ctx, &p->ev)) < 0)
            return r;
    }
    if (ret_info)
        *ret_info = aw.info;
    return 0;
}

extern "C" int ad_json_parse_event(struct ad_json_parser *p, const char *buf, size_t len,
                                   struct ad_arena *arena, int64_t now_ns, struct ad_event *ret,
                                   struct ad_err *reterr)
{
    walk w;
    ad_jev_begin(&w.jev, &p->ev, arena, reterr);
    ondemand::document doc;
    int r = load(p, buf, len, doc, w);
    if (r < 0)
        return r;
    ondemand::object obj;
    error_code e = doc.get_object().get(obj);
    if (e)
        return not_object(w, e);
    if ((r = one_event(w, obj, now_ns)) < 0 || (r = at_end(w, doc)) < 0)
        return r;
    copy_event(ret, &p->ev);
    return 0;
}

extern "C" int ad_json_parse_events(struct ad_json_parser *p, const char *buf, size_t len,
                                    struct ad_arena *arena, int64_t now_ns, ad_json_event_fn fn,
                                    void *ctx, struct ad_err *reterr)
{
    if (!fn)
        return ad_err_set(reterr, EINVAL, "no event callback");
    walk w;
    ad_jev_begin(&w.jev, &p->ev, arena, reterr);
    ondemand::document doc;
    int r = load(p, buf, len, doc, w);
    if (r < 0)
        return r;
    ondemand::json_type t;
    error_code e = doc.type().get(t);
    if (e)
        return sj_error(w, e, nullptr);
    if (t == ondemand::json_type::object) {
        ondemand::object obj;
        if ((e = doc.get_object().get(obj)))
            return sj_error(w, e, nullptr);
        if ((r = one_event(w, obj, now_ns)) < 0 || (r = at_end(w, doc)) < 0)
            return r;
        r = fn(ctx, &p->ev);
        return r < 0 ? r : 0;
    }
    if (t != ondemand::json_type::array)
        return ad_err_set(reterr, EBADMSG, "expected a JSON array of event objects, or one object");
    /* All or nothing: a batch with a bad event is rejected before any event is handed over, so
     * an HTTP client can fix and resend the whole batch without creating duplicates. */
    if ((r = array_pass(w, doc, now_ns, nullptr, nullptr)) < 0)
        return r;
    if ((r = load(p, buf, len, doc, w)) < 0)
        return r;
    return array_pass(w, doc, now_ns, fn, ctx);
}
