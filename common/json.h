/* common/json.h: the one interface to JSON. Parsing of events sits behind ad_json_parser so the
 * library can change (README: "JSON library"); writing is a small streaming writer on ad_buf. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

struct ad_arena;
struct ad_buf;
struct ad_err;
struct ad_event;

struct ad_json_parser; /* reusable, one per collector (not thread-safe) */

/* max_msg: messages longer than this are rejected with -EMSGSIZE before parsing. */
int ad_json_parser_create(size_t max_msg, struct ad_json_parser **ret);
void ad_json_parser_destroy(struct ad_json_parser *p); /* NULL-safe */
const char *ad_json_parser_library(void);               /* e.g. "simdjson 3.0.1" */

/* Parses one event object (docs/events.md). Strings of *ret point into buf or into arena, so ret is
 * valid while both live. now_ns is the receive time, used when the event has no timestamp.
 * Returns 0; -EBADMSG malformed JSON, wrong type, missing required field or unknown field;
 * -EMSGSIZE over max_msg or a field bound; -EILSEQ invalid UTF-8; -ENOMEM. reterr says which field. */
int ad_json_parse_event(struct ad_json_parser *p, const char *buf, size_t len, struct ad_arena *arena,
                        int64_t now_ns, struct ad_event *ret, struct ad_err *reterr);

/* Parses a JSON array of event objects, calling fn for each; stops at the first error (returned
 * with reterr naming the index). Used by the HTTP collector. A single object is accepted too.
 * All or nothing: fn is called only after every element has parsed, so a rejected batch hands
 * nothing over. fn returning < 0 stops the walk and that value is returned. */
typedef int (*ad_json_event_fn)(void *ctx, struct ad_event *ev);
int ad_json_parse_events(struct ad_json_parser *p, const char *buf, size_t len, struct ad_arena *arena,
                         int64_t now_ns, ad_json_event_fn fn, void *ctx, struct ad_err *reterr);

/* Prometheus Alertmanager webhook payloads (version 4; docs/collector-http.md): every element of
 * "alerts" becomes one alert event (source "alertmanager", check = label alertname, id = the
 * fingerprint). The label lists say which label names give the resource and the service: the first
 * one present in the list wins (none for the resource: the alertname; none for the service: the
 * resource). They are borrowed for the call. */
struct ad_am_map {
    const struct ad_str *resource_labels;
    size_t n_resource_labels;
    const struct ad_str *service_labels;
    size_t n_service_labels;
};
/* What the payload said besides the alerts themselves, for counters and logs. */
struct ad_am_info {
    uint64_t alerts;         /* elements of "alerts" */
    uint64_t truncated;      /* "truncatedAlerts": alerts Alertmanager left out (max_alerts) */
    uint64_t labels_dropped; /* labels past AD_MAX_LABELS per alert, not kept in the events */
};
/* All or nothing like ad_json_parse_events: fn is called only after every alert has mapped, and
 * an error names the alert ("alerts[2]: missing label 'alertname'"). now_ns is the receive time,
 * used for an alert without a usable startsAt/endsAt. Fields the mapping does not use are
 * skipped, whatever they hold. *ret_info is written on success (NULL: not wanted). Returns 0,
 * fn's negative value, or the errors of ad_json_parse_event. */
int ad_json_parse_alertmanager(struct ad_json_parser *p, const char *buf, size_t len,
                               struct ad_arena *arena, int64_t now_ns, const struct ad_am_map *map,
                               ad_json_event_fn fn, void *ctx, struct ad_am_info *ret_info,
                               struct ad_err *reterr);

/* Streaming writer. Commas are placed automatically. Strings are escaped per RFC 8259; invalid
 * UTF-8 in a string is replaced by U+FFFD so the output is always valid JSON. */
#define AD_JSONW_MAX_DEPTH 32
struct ad_jsonw {
    struct ad_buf *out;
    uint32_t depth;
    bool need_comma[AD_JSONW_MAX_DEPTH];
    bool after_key;
    int err; /* first -ENOMEM, sticky */
};

void ad_jsonw_init(struct ad_jsonw *w, struct ad_buf *out);
void ad_jsonw_obj_begin(struct ad_jsonw *w);
void ad_jsonw_obj_end(struct ad_jsonw *w);
void ad_jsonw_arr_begin(struct ad_jsonw *w);
void ad_jsonw_arr_end(struct ad_jsonw *w);
void ad_jsonw_key(struct ad_jsonw *w, const char *key);
void ad_jsonw_str(struct ad_jsonw *w, struct ad_str s);
void ad_jsonw_cstr(struct ad_jsonw *w, const char *s); /* NULL writes null */
void ad_jsonw_int(struct ad_jsonw *w, int64_t v);
void ad_jsonw_uint(struct ad_jsonw *w, uint64_t v);
void ad_jsonw_double(struct ad_jsonw *w, double v); /* non-finite writes null */
void ad_jsonw_bool(struct ad_jsonw *w, bool v);
void ad_jsonw_null(struct ad_jsonw *w);
/* 0, or the first error: -ENOMEM, or -ENOBUFS for nesting deeper than AD_JSONW_MAX_DEPTH. */
int ad_jsonw_finish(struct ad_jsonw *w);

/* The event as docs/events.md JSON (time as RFC 3339), e.g. for dead-letters and replay output. */
int ad_event_to_json(const struct ad_event *ev, struct ad_buf *out);
