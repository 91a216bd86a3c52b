/* models/templates.h: log template mining in the pipeline (issue 7, docs/templates.md). A log
 * event's message is mined by its service's miner (models/tmpl.h); the event leaves the model
 * carrying its template id, template text and parameters (ev->template_*).
 *
 * Two signals become alert events that enter dedup and correlation like any other alert (handed
 * out through take(), after the log event's own call or after expire()):
 *  - a template never seen before for its service, once the service's learning_period has
 *    passed: check "log:new_template", firing, resolved new_hold later;
 *  - a template's rate far above its own baseline: per template, lines are counted per
 *    rate_interval and each count is learned by a robust baseline detector (models/detector.h);
 *    a count above the band (and at least rate_min) raises "log:rate:<template id>", and
 *    rate_resolve_after intervals back inside resolve it.
 * Both carry the template id and text (ev->template_*, and labels). Pure: no I/O, event time. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"
#include "models/model.h"

struct ad_buf;
struct ad_err;
struct ad_event;
struct ad_templates;
struct ad_tmpl_cfg;

struct ad_templates_cfg {
    bool enabled;
    bool json; /* a message that is a JSON object: mine its msg/message/log, other fields labels */
    double similarity, merge_mean;
    uint64_t depth, max_children, max_templates, max_services, max_line, merge_min, merge_always;
    uint64_t split_min;              /* lines at a folded position before it may split again */
    struct ad_strlist masks;         /* extra "name=regex" masks */
    int64_t learning_period_ns;      /* per service: no new-template alerts before this */
    bool alert_new;
    int64_t new_hold_ns;             /* a new-template alert resolves after this */
    int new_severity;                /* enum ad_severity */
    bool alert_rate;
    int64_t rate_interval_ns;
    uint64_t rate_min;               /* lines per interval below which no rate alert */
    double rate_band;                /* band of the rate baseline, in its spreads */
    uint64_t rate_warmup;            /* intervals learned before a rate alert */
    uint64_t rate_resolve_after;     /* intervals back inside that resolve a rate alert */
    int rate_severity;               /* enum ad_severity */
    int64_t forget_after_ns;         /* a template's rate state unseen this long is dropped */
    char *state_file;                /* the daemon's (daemon/model_state.c); "" = none */
    int64_t save_interval_ns;
};

struct ad_templates_stats {
    uint64_t lines, created, changed, evicted, truncated, merged, split, services_refused;
    uint64_t json_lines, json_labels_dropped; /* JSON messages; their fields not made labels */
    uint64_t new_raised, new_resolved, rate_raised, rate_resolved, pending_dropped;
    size_t services, templates, rates, bytes;
};

extern const struct ad_model_ops ad_model_templates;

int ad_templates_create(const struct ad_templates_cfg *cfg, struct ad_templates **ret,
                        struct ad_err *reterr);
void ad_templates_destroy(struct ad_templates *t); /* NULL-safe */
/* The miner's config from the model's (masks borrowed from cfg): one mapping for the daemon and
 * aiopsctl templates. */
void ad_templates_tmpl_cfg(const struct ad_templates_cfg *cfg, struct ad_tmpl_cfg *ret);
/* Log events: mined and annotated, 0 (passed on). Other kinds pass untouched. */
int ad_templates_observe(struct ad_templates *t, struct ad_event *ev);
/* 1 and the next alert produced by observe or expire (valid until the next observe, expire or
 * take), 0 when none is left. */
int ad_templates_take(struct ad_templates *t, struct ad_event *ev);
void ad_templates_expire(struct ad_templates *t, int64_t now_ns);
void ad_templates_get_stats(const struct ad_templates *t, struct ad_templates_stats *ret);
int ad_templates_save(const struct ad_templates *t, struct ad_buf *out);
int ad_templates_load(struct ad_templates *t, const void *data, size_t len, struct ad_err *reterr);
