/* models/dedup.h: duplicate suppression by fingerprint. Pure: no I/O and no clock reads; time
 * arrives inside the events. Only alerts are fingerprinted; logs and metrics pass untouched. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/opt.h"
#include "models/model.h"

struct ad_event;
struct ad_err;
struct ad_dedup;

struct ad_dedup_cfg {
    int64_t window_ns;               /* repeats inside the window are suppressed */
    int64_t expire_after_ns;         /* a fingerprint unseen this long (event time) is forgotten */
    uint64_t max_fingerprints;       /* bound; least recently seen evicted first */
    struct ad_strlist identity;      /* event fields hashed into the fingerprint */
    struct ad_strlist identity_labels; /* label names hashed too (absent label = empty value) */
};

struct ad_dedup_stats {
    uint64_t seen, passed_new, passed_escalated, passed_repeat, passed_resolved;
    uint64_t suppressed, orphan_resolved, stale, evicted, expired, oom;
    size_t tracked, bytes;
};

extern const struct ad_model_ops ad_model_dedup;

int ad_dedup_create(const struct ad_dedup_cfg *cfg, struct ad_dedup **ret, struct ad_err *reterr);
void ad_dedup_destroy(struct ad_dedup *d);
int ad_dedup_reconfigure(struct ad_dedup *d, const struct ad_dedup_cfg *cfg, struct ad_err *reterr);
/* Alerts: sets ev->fingerprint and one AD_EVF_* flag. Returns 0 (pass on: new, escalated, repeat
 * after the window, resolve of a firing alert), AD_CONSUMED (duplicate inside the window, repeated
 * resolve, resolve of an unknown fingerprint, or an event older than the record's last state
 * change), or -ENOMEM. Other kinds: 0, untouched. ev is borrowed for the call. */
int ad_dedup_observe(struct ad_dedup *d, struct ad_event *ev);
/* Forgets fingerprints unseen for expire_after, at most `budget` per call. Returns the count. */
size_t ad_dedup_expire(struct ad_dedup *d, int64_t now_ns, size_t budget);
/* The fingerprint the model would give ev (for tests and tools). */
uint64_t ad_dedup_fingerprint(const struct ad_dedup *d, const struct ad_event *ev);
void ad_dedup_get_stats(const struct ad_dedup *d, struct ad_dedup_stats *ret);
struct ad_rd;
struct ad_wr;
/* Snapshot of every record, least recently seen first; load into a new, empty model (past
 * max_fingerprints the least recently seen are left out). 0, -EINVAL (corrupt) or -ENOMEM. */
int ad_dedup_save(const struct ad_dedup *d, struct ad_wr *w);
int ad_dedup_load(struct ad_dedup *d, struct ad_rd *r);
