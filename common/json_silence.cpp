/* common/json_silence.cpp: common/json_silence.h on simdjson's On Demand front end (the library
 * behind common/json.h). Uses simdjson's error codes, never its exceptions. Pure: no I/O. */
#include "common/json_silence.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <string_view>

#include <simdjson.h>

extern "C" {
#include "common/arena.h"
#include "common/err.h"
}
#include "common/json_internal.h"

using namespace simdjson;

namespace {

struct ctx {
    ad_arena *arena;
    ad_err *err;
};

int bad(ctx &c, error_code e, const char *what)
{
    if (e == MEMALLOC)
        return ad_err_set(c.err, ENOMEM, "out of memory");
    if (e == UTF8_ERROR)
        return ad_err_set(c.err, EILSEQ, "invalid UTF-8");
    return ad_err_set(c.err, EBADMSG, "malformed JSON (in %s): %s", what, error_message(e));
}

int type_error(ctx &c, const char *what, const char *expected)
{
    return ad_err_set(c.err, EBADMSG, "%s: expected %s", what, expected);
}

/* A string (copied into the arena) or null (left as AD_STR_NULL). */
int string_or_null(ctx &c, ondemand::value v, const char *what, ad_str *out)
{
    bool is_null = false;
    if (v.is_null().get(is_null) == SUCCESS && is_null) {
        *out = AD_STR_NULL;
        return 0;
    }
    std::string_view sv;
    error_code e = v.get_string().get(sv);
    if (e)
        return e == INCORRECT_TYPE ? type_error(c, what, "a string") : bad(c, e, what);
    if (ad_arena_strdup(c.arena, ad_str{sv.data(), sv.size()}, out) < 0)
        return ad_err_set(c.err, ENOMEM, "out of memory");
    return 0;
}

int boolean(ctx &c, ondemand::value v, const char *what, bool *out)
{
    error_code e = v.get_bool().get(*out);
    if (e)
        return e == INCORRECT_TYPE ? type_error(c, what, "true or false") : bad(c, e, what);
    return 0;
}

int matcher(ctx &c, ondemand::value v, size_t i, ad_jsil_matcher *m)
{
    char what[48];
    snprintf(what, sizeof(what), "matchers[%zu]", i);
    ondemand::object obj;
    error_code e = v.get_object().get(obj);
    if (e)
        return e == INCORRECT_TYPE ? type_error(c, what, "an object") : bad(c, e, what);
    *m = ad_jsil_matcher{AD_STR_NULL, AD_STR_NULL, false, true};
    for (auto fr : obj) {
        ondemand::field f;
        std::string_view key;
        if ((e = std::move(fr).get(f)) || (e = f.unescaped_key().get(key)))
            return bad(c, e, what);
        char fw[96];
        snprintf(fw, sizeof(fw), "%s.%.*s", what, (int)(key.size() > 20 ? 20 : key.size()),
                 key.data());
        int r;
        if (key == "name")
            r = string_or_null(c, f.value(), fw, &m->name);
        else if (key == "value")
            r = string_or_null(c, f.value(), fw, &m->value);
        else if (key == "isRegex")
            r = boolean(c, f.value(), fw, &m->is_regex);
        else if (key == "isEqual")
            r = boolean(c, f.value(), fw, &m->is_equal);
        else
            r = ad_err_set(c.err, EBADMSG, "%s: unknown field (expected name, value, isRegex, "
                           "isEqual)", fw);
        if (r < 0)
            return r;
    }
    if (!m->name.p || !m->value.p)
        return ad_err_set(c.err, EBADMSG, "%s: expected \"name\" and \"value\"", what);
    return 0;
}

int matchers(ctx &c, ondemand::value v, ad_jsil *s)
{
    ondemand::json_type t;
    error_code e = v.type().get(t);
    if (e)
        return bad(c, e, "matchers");
    if (t == ondemand::json_type::string)
        return string_or_null(c, v, "matchers", &s->matchers_text);
    ondemand::array arr;
    if ((e = v.get_array().get(arr)))
        return e == INCORRECT_TYPE
                   ? type_error(c, "matchers", "an array of {name, value, isRegex, isEqual} or "
                                "a string such as \"service=checkout check=~Disk.*\"")
                   : bad(c, e, "matchers");
    for (auto el : arr) {
        ondemand::value mv;
        if ((e = std::move(el).get(mv)))
            return bad(c, e, "matchers");
        if (s->n_matchers == AD_JSIL_MAX_MATCHERS)
            return ad_err_set(c.err, E2BIG, "matchers: more than %d", AD_JSIL_MAX_MATCHERS);
        int r = matcher(c, mv, s->n_matchers, &s->matchers[s->n_matchers]);
        if (r < 0)
            return r;
        s->n_matchers++;
    }
    return 0;
}

int silence(ctx &c, ondemand::value v, ad_jsil *s)
{
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {
        {"id", offsetof(ad_jsil, id)},
        {"startsAt", offsetof(ad_jsil, starts_at)},
        {"endsAt", offsetof(ad_jsil, ends_at)},
        {"updatedAt", offsetof(ad_jsil, updated_at)},
        {"createdBy", offsetof(ad_jsil, created_by)},
        {"comment", offsetof(ad_jsil, comment)},
    };
    ondemand::object obj;
    error_code e = v.get_object().get(obj);
    if (e)
        return e == INCORRECT_TYPE ? type_error(c, "silence", "a JSON object") : bad(c, e, "silence");
    memset(static_cast<void *>(s), 0, sizeof(*s));
    for (auto fr : obj) {
        ondemand::field f;
        std::string_view key;
        if ((e = std::move(fr).get(f)) || (e = f.unescaped_key().get(key)))
            return bad(c, e, "silence");
        int r = 1;
        for (const auto &d : strs)
            if (key == d.key)
                r = string_or_null(c, f.value(), d.key,
                                   reinterpret_cast<ad_str *>(reinterpret_cast<char *>(s) + d.off));
        if (r == 1 && key == "matchers")
            r = matchers(c, f.value(), s);
        else if (r == 1 && (key == "status" || key == "matched" || key == "origin"))
            r = 0; /* read-only fields of a GET: On Demand skips the unread value */
        else if (r == 1)
            r = ad_err_set(c.err, EBADMSG, "unknown field '%.*s' (expected matchers, startsAt, "
                           "endsAt, createdBy, comment, id)",
                           (int)(key.size() > 32 ? 32 : key.size()), key.data());
        if (r < 0)
            return r;
    }
    if (!s->matchers_text.p && s->n_matchers == 0)
        return ad_err_set(c.err, EBADMSG, "\"matchers\" is missing or empty");
    return 0;
}

} // namespace

extern "C" int ad_json_parse_silences(const char *buf, size_t len, bool array, size_t max,
                                      struct ad_arena *arena, ad_jsil_fn fn, void *fctx,
                                      struct ad_err *reterr)
{
    ctx c{arena, reterr};
    padded_string ps(buf, len);
    if (len && !ps.data())
        return ad_err_set(reterr, ENOMEM, "out of memory");
    ondemand::parser parser;
    ondemand::document doc;
    error_code e = parser.iterate(ps).get(doc);
    if (e)
        return bad(c, e, "the document");
    ondemand::value root;
    if ((e = doc.get_value().get(root)))
        return e == SCALAR_DOCUMENT_AS_VALUE
                   ? type_error(c, array ? "silences" : "silence",
                                array ? "a JSON array" : "a JSON object")
                   : bad(c, e, "the document");
    /* All or nothing: the parsed silences wait in the arena until the document is complete. */
    ad_jsil *v = nullptr;
    size_t n = 0;
    int r = 0;
    if (!array) {
        v = static_cast<ad_jsil *>(ad_arena_alloc(arena, sizeof(*v)));
        if (!v)
            return ad_err_set(reterr, ENOMEM, "out of memory");
        if ((r = silence(c, root, v)) < 0)
            return r;
        n = 1;
    } else {
        ondemand::array arr;
        if ((e = root.get_array().get(arr)))
            return e == INCORRECT_TYPE ? type_error(c, "silences", "a JSON array")
                                       : bad(c, e, "the document");
        v = static_cast<ad_jsil *>(ad_arena_alloc(arena, (max ? max : 1) * sizeof(*v)));
        if (!v)
            return ad_err_set(reterr, ENOMEM, "out of memory");
        for (auto el : arr) {
            ondemand::value sv;
            if ((e = std::move(el).get(sv)))
                return bad(c, e, "the document");
            if (n == max)
                return ad_err_set(reterr, E2BIG, "more than %zu silences", max);
            if ((r = silence(c, sv, &v[n])) < 0) {
                ad_jev_err_index(reterr, "silences", n);
                return r;
            }
            n++;
        }
    }
    const char *loc;
    if (doc.current_location().get(loc) == SUCCESS)
        return ad_err_set(reterr, EBADMSG, "malformed JSON: trailing characters after the value");
    for (size_t i = 0; i < n; i++)
        if ((r = fn(fctx, &v[i], i)) < 0)
            return r;
    return 0;
}
