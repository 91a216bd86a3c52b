/* common/json_internal.h: the seam between the JSON library shim (json_simdjson.cpp: traversal,
 * syntax) and the event schema (json_event.c: fields, bounds, defaults, error texts). Swapping
 * the library means rewriting the shim only. Nothing outside common/json_* includes this. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ad_arena;
struct ad_err;
struct ad_event;

/* Top-level fields of docs/events.md. */
enum ad_jf {
    AD_JF_ID,
    AD_JF_KIND,
    AD_JF_SOURCE,
    AD_JF_RESOURCE,
    AD_JF_SERVICE,
    AD_JF_CHECK,
    AD_JF_SEVERITY,
    AD_JF_STATUS,
    AD_JF_SUMMARY,
    AD_JF_MESSAGE,
    AD_JF_LABELS,
    AD_JF_VALUE,
    AD_JF_TIMESTAMP,
    AD_JF_COUNT
};

/* A JSON string body as the shim found it (between the quotes, escapes not decoded), pointing
 * into the caller's buffer. The parser has already checked that it is UTF-8 without raw control
 * characters; escaped says whether it holds any backslash. */
struct ad_jraw {
    const char *p;
    uint32_t len;     /* messages are below 4 GiB (simdjson's bound, checked at create) */
    uint32_t escaped; /* 0 or 1; 16 bytes in all, so the struct travels in two registers */
};

/* One event being decoded. ev is scratch: the shim copies it out only on success. */
struct ad_jev {
    struct ad_event *ev;
    struct ad_arena *arena;
    struct ad_err *err;
    uint32_t seen; /* bit (1 << enum ad_jf) per field already given */
};

void ad_jev_begin(struct ad_jev *j, struct ad_event *ev, struct ad_arena *arena,
                  struct ad_err *err);
/* Looks up a top-level key: 0 and *ret, or -EBADMSG (unknown or duplicate field). */
int ad_jev_key(struct ad_jev *j, struct ad_jraw key, enum ad_jf *ret);
/* A string value of a string field (or of "timestamp"). */
int ad_jev_string(struct ad_jev *j, enum ad_jf f, struct ad_jraw s);
/* A number for "value" or "timestamp" (epoch; see ad_epoch_to_ns). */
int ad_jev_double(struct ad_jev *j, enum ad_jf f, double v);
/* An integer "timestamp", kept exact when it is in nanoseconds (>= 1e17). */
int ad_jev_epoch_int(struct ad_jev *j, int64_t v);
/* A label; value is a string body, or the literal text of a number or bool (escaped false). */
int ad_jev_label(struct ad_jev *j, struct ad_jraw name, struct ad_jraw value);
/* "field 'x': expected ..." (-EBADMSG); for a label, name is its raw name. */
int ad_jev_type_error(struct ad_jev *j, enum ad_jf f);
int ad_jev_label_type_error(struct ad_jev *j, struct ad_jraw name);
/* More than AD_MAX_LABELS labels: -EMSGSIZE. */
int ad_jev_too_many_labels(struct ad_jev *j);
/* Checks required fields and applies defaults (docs/events.md); now_ns when no timestamp. */
int ad_jev_end(struct ad_jev *j, int64_t now_ns);
const char *ad_jf_name(enum ad_jf f);

/* Rewrites reterr->msg as "<array>[idx]: msg", e.g. "event[3]: ..." (ad_json_parse_events) or
 * "alerts[0]: ..." (ad_json_parse_alertmanager). NULL-safe. */
void ad_jev_err_index(struct ad_err *err, const char *array, size_t idx);
/* Appends s to dst (size n) for an error message: at most max bytes, cut on a UTF-8 boundary,
 * control characters as '?', "..." when cut. */
void ad_jev_quote(char *dst, size_t n, const char *s, size_t len, size_t max);

/* A string body as a slice: into the caller's buffer when it has no escapes, else decoded into the
 * arena. Returns 0, or -EMSGSIZE (decoded longer than max), -EBADMSG, -EILSEQ or -ENOMEM with
 * *why set (the caller names the field). */
int ad_jraw_str(struct ad_arena *arena, struct ad_jraw s, size_t max, struct ad_str *ret,
                const char **why);
/* An RFC 3339 time within 1970..2261 into *ret_ns; on error reterr says
 * "field '<field>': ..., got '...'" with expect naming the accepted forms. */
int ad_json_time(struct ad_str s, const char *field, const char *expect, struct ad_err *err,
                 int64_t *ret_ns);

/* ---- Alertmanager webhook payloads (json_alertmanager.c) ---- */

/* Keys the walk cares about; anything else in the payload or an alert is skipped (Alertmanager
 * and Grafana add fields over time). */
enum ad_amk {
    AD_AMK_OTHER = 0,
    AD_AMK_ALERTS,      /* top level */
    AD_AMK_TRUNCATED,   /* top level: truncatedAlerts */
    AD_AMK_STATUS,      /* per alert, from here on */
    AD_AMK_LABELS,
    AD_AMK_ANNOTATIONS,
    AD_AMK_STARTS_AT,
    AD_AMK_ENDS_AT,
    AD_AMK_FINGERPRINT,
    AD_AMK_SUMMARY,     /* annotations */
    AD_AMK_DESCRIPTION,
    AD_AMK_COUNT
};

struct ad_am_map;

/* One alert being mapped to an event. The shim feeds it keys, strings and labels. */
struct ad_am_alert {
    struct ad_jev jev;           /* ev, arena, err */
    const struct ad_am_map *map; /* borrowed */
    struct ad_str str[AD_AMK_COUNT]; /* decoded strings of the string keys */
    uint32_t seen;               /* bit (1 << enum ad_amk) per key given */
    struct ad_str alertname, severity, resource, service;
    size_t resource_rank, service_rank; /* index in the map's list of the label kept; n = none */
    uint64_t labels_dropped;     /* labels past AD_MAX_LABELS */
};

void ad_am_begin(struct ad_am_alert *a, const struct ad_am_map *map, struct ad_event *ev,
                 struct ad_arena *arena, struct ad_err *err);
/* The kind of a key: AD_AMK_OTHER when not known at that level (top: the payload; alert: an
 * alert object; annotation: its annotations). -EBADMSG for a known key given twice (the top
 * level is tracked in an ad_am_alert of its own). */
enum ad_am_level { AD_AM_TOP, AD_AM_ALERT, AD_AM_ANNOTATION };
int ad_am_key(struct ad_am_alert *a, enum ad_am_level level, struct ad_jraw key);
/* A string value of a string key (status, startsAt, endsAt, fingerprint, summary, description). */
int ad_am_string(struct ad_am_alert *a, enum ad_amk k, struct ad_jraw s);
/* One label; value is a string body. */
int ad_am_label(struct ad_am_alert *a, struct ad_jraw name, struct ad_jraw value);
/* "field 'x': expected ..." (-EBADMSG); for a label, name is its raw name. */
int ad_am_type_error(struct ad_am_alert *a, enum ad_amk k);
int ad_am_label_type_error(struct ad_am_alert *a, struct ad_jraw name);
/* Builds the event: required label, resource, service, severity, status, time (now_ns when the
 * alert has no usable time), summary. */
int ad_am_end(struct ad_am_alert *a, int64_t now_ns);

/* Decodes the escapes of a JSON string body into dst (room for len bytes). Returns 0 and the
 * decoded length, -EBADMSG (bad escape, or \u0000) or -EILSEQ (lone surrogate); *why says which. */
int ad_json_unescape(const char *s, size_t len, char *dst, size_t *ret_len, const char **why);

#ifdef __cplusplus
}
#endif
