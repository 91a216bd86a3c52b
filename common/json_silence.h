/* common/json_silence.h: reads silence documents (docs/silences.md): the body of
 * POST /api/v1/silences (Alertmanager's v2 PostableSilence shape) and the daemon's silences file
 * (an array of GettableSilence-shaped objects). Only the JSON: times, matcher syntax and bounds
 * are checked by models/silence. Pure: no I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ad_arena;
struct ad_err;

#define AD_JSIL_MAX_MATCHERS 16

struct ad_jsil_matcher {
    struct ad_str name, value;
    bool is_regex; /* "isRegex", default false */
    bool is_equal; /* "isEqual", default true (as in Alertmanager) */
};

/* One silence object. Strings are decoded and live in the arena; p == NULL when the field was
 * absent or null. */
struct ad_jsil {
    struct ad_str id;
    struct ad_str matchers_text; /* "matchers" given as one string in the text syntax */
    struct ad_jsil_matcher matchers[AD_JSIL_MAX_MATCHERS]; /* "matchers" given as an array */
    size_t n_matchers;
    struct ad_str starts_at, ends_at, updated_at, created_by, comment;
};

/* Parses one silence object (array false) or an array of them (array true), then calls fn for
 * each in order: all or nothing, fn is called only once everything parsed. Unknown fields are
 * errors, except the read-only ones a GET returns ("status", "matched", "origin"), which are
 * skipped. Returns 0, fn's negative value, -EBADMSG (malformed JSON, wrong type, unknown field:
 * reterr names it, "silences[2]: matchers[0].isRegex: expected true or false" for an array), -EILSEQ
 * (invalid UTF-8), -E2BIG (more than max elements or AD_JSIL_MAX_MATCHERS matchers) or -ENOMEM. */
typedef int (*ad_jsil_fn)(void *ctx, const struct ad_jsil *s, size_t index);
int ad_json_parse_silences(const char *buf, size_t len, bool array, size_t max,
                           struct ad_arena *arena, ad_jsil_fn fn, void *ctx,
                           struct ad_err *reterr);

#ifdef __cplusplus
}
#endif
