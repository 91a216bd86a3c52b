/* tests/bench/bench_json_simdjson.cpp: simdjson ondemand used the plain way for bench_json
 * (unescaped_key, get_string, every string copied out of the parser's buffer into the arena).
 * common/json_simdjson.cpp is the tuned production shim; this one is the library's baseline. */
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include <simdjson.h>

extern "C" {
#include "common/arena.h"
#include "common/event.h"

struct bmap {
    struct ad_event *ev;
    struct ad_arena *a;
    unsigned seen;
};
void bmap_begin(struct bmap *m, struct ad_event *ev, struct ad_arena *a);
int bmap_str(struct bmap *m, const char *k, size_t kl, const char *v, size_t vl);
int bmap_num(struct bmap *m, const char *k, size_t kl, double v);
int bmap_label(struct bmap *m, const char *k, size_t kl, const char *v, size_t vl);
int bmap_end(struct bmap *m);

void *bench_simdjson_create(size_t max_len);
void bench_simdjson_destroy(void *state);
int bench_simdjson_parse(void *state, const char *buf, size_t len, struct ad_arena *a,
                         struct ad_event *ev);
}

using namespace simdjson;

struct sj_state {
    ondemand::parser parser;
    char *pad;
    size_t cap;
};

void *bench_simdjson_create(size_t max_len)
{
    sj_state *s = new (std::nothrow) sj_state;
    if (!s)
        return nullptr;
    s->cap = max_len + SIMDJSON_PADDING;
    s->pad = static_cast<char *>(calloc(1, s->cap));
    if (!s->pad || s->parser.allocate(max_len) != SUCCESS) {
        bench_simdjson_destroy(s);
        return nullptr;
    }
    return s;
}

void bench_simdjson_destroy(void *state)
{
    sj_state *s = static_cast<sj_state *>(state);
    if (!s)
        return;
    free(s->pad);
    delete s;
}

static int labels(bmap *m, ondemand::object obj)
{
    for (auto fr : obj) {
        ondemand::field f;
        std::string_view k, v;
        if (std::move(fr).get(f) || f.unescaped_key().get(k))
            return -EBADMSG;
        /* The unescaped key lives in the parser's string buffer until the next parse; the value
         * call below does not overwrite it. */
        if (f.value().get_string().get(v))
            return -EBADMSG;
        int r = bmap_label(m, k.data(), k.size(), v.data(), v.size());
        if (r < 0)
            return r;
    }
    return 0;
}

int bench_simdjson_parse(void *state, const char *buf, size_t len, struct ad_arena *a,
                         struct ad_event *ev)
{
    sj_state *s = static_cast<sj_state *>(state);
    if (len + SIMDJSON_PADDING > s->cap)
        return -EMSGSIZE;
    memcpy(s->pad, buf, len);
    memset(s->pad + len, 0, SIMDJSON_PADDING);
    ondemand::document doc;
    ondemand::object obj;
    if (s->parser.iterate(s->pad, len, s->cap).get(doc) || doc.get_object().get(obj))
        return -EBADMSG;
    bmap m;
    bmap_begin(&m, ev, a);
    for (auto fr : obj) {
        ondemand::field f;
        std::string_view k;
        if (std::move(fr).get(f) || f.unescaped_key().get(k))
            return -EBADMSG;
        ondemand::value v = f.value();
        ondemand::json_type t;
        if (v.type().get(t))
            return -EBADMSG;
        int r;
        if (t == ondemand::json_type::string) {
            std::string_view sv;
            if (v.get_string().get(sv))
                return -EBADMSG;
            r = bmap_str(&m, k.data(), k.size(), sv.data(), sv.size());
        } else if (t == ondemand::json_type::number) {
            double d;
            if (v.get_double().get(d))
                return -EBADMSG;
            r = bmap_num(&m, k.data(), k.size(), d);
        } else if (t == ondemand::json_type::object && k == "labels") {
            ondemand::object lo;
            if (v.get_object().get(lo))
                return -EBADMSG;
            r = labels(&m, lo);
        } else {
            r = -EBADMSG;
        }
        if (r < 0)
            return r;
    }
    const char *loc;
    if (doc.current_location().get(loc) == SUCCESS)
        return -EBADMSG; /* trailing content */
    return bmap_end(&m);
}
