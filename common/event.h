/* common/event.h: the normalized event every collector produces and every stage speaks.
 * docs/events.md is the authority on the JSON form. Strings are slices into the receive buffer
 * or the batch arena: an ad_event is valid only for the batch that produced it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

#define AD_MAX_LABELS 32           /* labels per event; more is -EMSGSIZE */
#define AD_MAX_FIELD_LEN 4096      /* bytes per string field (summary may be longer: 64 KiB) */
#define AD_MAX_SUMMARY_LEN 65536

enum ad_kind { AD_KIND_ALERT = 0, AD_KIND_LOG, AD_KIND_METRIC };

/* Fixed scale, higher is worse. ServiceNow numeric codes: critical 1, major 2, minor 3,
 * warning 4, info 5 (see docs/events.md for every accepted alias). */
enum ad_severity {
    AD_SEV_INFO = 0,
    AD_SEV_WARNING = 1,
    AD_SEV_MINOR = 2,
    AD_SEV_MAJOR = 3,
    AD_SEV_CRITICAL = 4,
};
#define AD_SEV_COUNT 5

enum ad_status { AD_STATUS_FIRING = 0, AD_STATUS_RESOLVED = 1 };

struct ad_label {
    struct ad_str name;
    struct ad_str value;
};

struct ad_event {
    enum ad_kind kind;         /* default alert */
    enum ad_severity severity; /* default warning */
    enum ad_status status;     /* default firing */
    int64_t time_ns;           /* event time, ns since epoch; default: receive time */
    struct ad_str id;          /* optional explicit id; empty when absent */
    struct ad_str source;      /* monitoring tool; default "unknown" */
    struct ad_str resource;    /* the CI / host */
    struct ad_str service;     /* default: resource */
    struct ad_str check;       /* alert name / metric name */
    struct ad_str summary;     /* "summary" or "message" in JSON */
    struct ad_label labels[AD_MAX_LABELS];
    uint8_t n_labels;
    bool has_value;
    double value;              /* metrics (and optional on alerts) */

    /* Set by stages, never by the parser. */
    uint64_t fingerprint;      /* models/dedup; 0 = not fingerprinted */
    uint64_t template_id;      /* models/templates: the log line's template (stable id); 0 = none */
    struct ad_str template_text; /* models/templates: the template ("conn to <*> refused") */
    const struct ad_str *params; /* models/templates: the line's values at its variable positions */
    uint8_t n_params;
    uint32_t flags;            /* AD_EVF_* below */
};

/* ev->flags, set by models for the correlators. */
#define AD_EVF_NEW (1u << 0)        /* first firing of this fingerprint (or re-fire after resolve) */
#define AD_EVF_ESCALATED (1u << 1)  /* same fingerprint, higher severity than before */
#define AD_EVF_REPEAT (1u << 2)     /* still firing, suppression window passed */
#define AD_EVF_RESOLVED (1u << 3)   /* closes a firing fingerprint */
#define AD_EVF_SILENCED (1u << 4)   /* models/silence: an active silence matches; counted, opens
                                     * no incident */
#define AD_EVF_FLAPPING (1u << 5)   /* models/flap: the alert changes state too often (1u << 4 is
                                     * models/silence's AD_EVF_SILENCED) */
#define AD_EVF_CLAMPED (1u << 6)    /* daemon/pipeline: its time was out of bounds and became
                                     * the stream's event time (pipeline.max_future/max_past) */

const char *ad_kind_name(enum ad_kind k);
const char *ad_severity_name(enum ad_severity s);
const char *ad_status_name(enum ad_status s);
int ad_severity_snow_code(enum ad_severity s); /* ServiceNow numeric: critical 1 .. info 5 */

/* Each returns 0 and writes *ret, or -EINVAL for an unknown name. Case-insensitive; aliases are
 * listed in docs/events.md (e.g. "error" -> major, "warn" -> warning, "ok"/"clear" -> resolved). */
int ad_kind_parse(struct ad_str s, enum ad_kind *ret);
int ad_severity_parse(struct ad_str s, enum ad_severity *ret);
int ad_status_parse(struct ad_str s, enum ad_status *ret);

/* Label lookup by name; returns an empty slice (p == NULL) when absent. */
struct ad_str ad_event_label(const struct ad_event *ev, struct ad_str name);

/* Epoch number to ns: seconds (fractions allowed); values >= 1e11 are taken as ms, >= 1e14 as µs,
 * >= 1e17 as ns (docs/events.md). Returns -EINVAL for negative, NaN or out-of-range values. */
int ad_epoch_to_ns(double v, int64_t *ret_ns);
