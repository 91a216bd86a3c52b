/* correlators/service_window.h: the backbone's correlator. Each new firing alert opens an
 * incident candidate for its service, or joins the one the service already has when that one saw
 * an alert within `window`. Pure: no I/O; event time only. */
#pragma once
#include <stdint.h>

#include "correlators/correlator.h"

struct ad_svcwin_cfg {
    int64_t window_ns;          /* join window since the candidate's last alert */
    int64_t update_interval_ns; /* at most one coalesced "updated" per candidate per interval */
    int64_t retain_ns;          /* a resolved candidate is forgotten this long after last_seen */
    uint64_t max_open;          /* candidates held at once; oldest evicted past it */
    uint64_t max_members;       /* alerts tracked per candidate; more are counted only */
    uint64_t max_listed;        /* member alerts (and CIs) listed in the candidate JSON */
};

struct ad_svcwin_stats {
    uint64_t opened, joined, reopened, resolved, updates_emitted, evicted, forgotten;
    uint64_t members_omitted, unknown_fingerprint, oom;
    size_t open, tracked_alerts, bytes;
};

extern const struct ad_correlator_ops ad_correlator_service_window;

struct ad_svcwin;
int ad_svcwin_create(const struct ad_svcwin_cfg *cfg, struct ad_svcwin **ret, struct ad_err *reterr);
void ad_svcwin_destroy(struct ad_svcwin *s);
int ad_svcwin_correlate(struct ad_svcwin *s, const struct ad_event *ev, const struct ad_cand_sink *sink);
void ad_svcwin_tick(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink);
void ad_svcwin_flush(struct ad_svcwin *s, const struct ad_cand_sink *sink);
void ad_svcwin_get_stats(const struct ad_svcwin *s, struct ad_svcwin_stats *ret);
struct ad_rd;
struct ad_wr;
/* Snapshot of every candidate with the slot layout; load into a new, empty correlator.
 * 0, -EINVAL (corrupt) or -ENOMEM (the caller destroys the correlator either way). */
int ad_svcwin_save(const struct ad_svcwin *s, struct ad_wr *w);
int ad_svcwin_load(struct ad_svcwin *s, struct ad_rd *r);
