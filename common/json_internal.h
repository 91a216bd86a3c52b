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

/* Rewrites reterr->msg as "event[idx]: msg" (ad_json_parse_events). NULL-safe. */
void ad_jev_err_index(struct ad_err *err, size_t idx);
/* Appends s to dst (size n) for an error message: at most max bytes, cut on a UTF-8 boundary,
 * control characters as '?', "..." when cut. */
void ad_jev_quote(char *dst, size_t n, const char *s, size_t len, size_t max);

/* Decodes the escapes of a JSON string body into dst (room for len bytes). Returns 0 and the
 * decoded length, -EBADMSG (bad escape, or \u0000) or -EILSEQ (lone surrogate); *why says which. */
int ad_json_unescape(const char *s, size_t len, char *dst, size_t *ret_len, const char **why);

#ifdef __cplusplus
}
#endif
