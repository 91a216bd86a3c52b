/* tests/bench/bench_json_jsonc.c: json-c for bench_json, in its own file because json-c and
 * jansson both define json_object_iter. DOM with a reusable tokener, UTF-8 validation on. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

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

void *bench_jsonc_create(void);
void bench_jsonc_destroy(void *state);
int bench_jsonc_parse(void *state, const char *buf, size_t len, struct ad_arena *a,
                      struct ad_event *ev);

void *bench_jsonc_create(void)
{
    struct json_tokener *tok = json_tokener_new();
    if (tok)
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    return tok;
}

void bench_jsonc_destroy(void *state)
{
    json_tokener_free(state);
}

int bench_jsonc_parse(void *state, const char *buf, size_t len, struct ad_arena *a,
                      struct ad_event *ev)
{
    struct json_tokener *tok = state;
    json_tokener_reset(tok);
    struct json_object *root = json_tokener_parse_ex(tok, buf, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        json_object_put(root);
        return -EBADMSG;
    }
    int r = json_object_is_type(root, json_type_object) ? 0 : -EBADMSG;
    struct bmap m;
    bmap_begin(&m, ev, a);
    if (r == 0) {
        json_object_object_foreach(root, key, v)
        {
            size_t kl = strlen(key);
            enum json_type t = json_object_get_type(v);
            if (t == json_type_string)
                r = bmap_str(&m, key, kl, json_object_get_string(v),
                             (size_t)json_object_get_string_len(v));
            else if (t == json_type_double || t == json_type_int)
                r = bmap_num(&m, key, kl, json_object_get_double(v));
            else if (t == json_type_object && kl == 6 && memcmp(key, "labels", 6) == 0) {
                json_object_object_foreach(v, lk, lv)
                {
                    if (!json_object_is_type(lv, json_type_string)) {
                        r = -EBADMSG;
                        break;
                    }
                    r = bmap_label(&m, lk, strlen(lk), json_object_get_string(lv),
                                   (size_t)json_object_get_string_len(lv));
                    if (r < 0)
                        break;
                }
            } else
                r = -EBADMSG;
            if (r < 0)
                break;
        }
    }
    json_object_put(root);
    return r < 0 ? r : bmap_end(&m);
}
