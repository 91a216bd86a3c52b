/* correlators/service_window.h: the incident correlator. A new firing alert joins a live
 * candidate (one that saw an alert within `window`) found by the linking rules, in the order
 * `link` lists them, or opens a new one:
 *   topology  a candidate holding the alert's CI, or a CI within topology_depth dependency hops
 *             of it in the configuration-item graph (topology_file, docs/topology.md);
 *   group_by  the candidate of the alert's group: equal values of the group_by fields/labels
 *             (default: service).
 * The probable root cause of a candidate is its member CI lowest in the dependency graph.
 * Pure but for reading topology_file at create/reconfigure; event time only. */
#pragma once
#include <stdint.h>

#include "correlators/correlator.h"

#define AD_SVCWIN_MAX_RULES 8 /* linking rules the correlator can have (correlators/rules.c) */

struct ad_svcwin_cfg {
    int64_t window_ns;          /* join window since the candidate's last alert */
    int64_t update_interval_ns; /* at most one coalesced "updated" per candidate per interval */
    int64_t retain_ns;          /* a resolved candidate is forgotten this long after last_seen */
    uint64_t max_open;          /* candidates held at once; oldest evicted past it */
    uint64_t max_members;       /* alerts tracked per candidate; more are counted only */
    uint64_t max_listed;        /* member alerts (and CIs) listed in the candidate JSON */
    struct ad_strlist link;     /* linking rules in order: "topology", "group_by", "text" */
    struct ad_strlist group_by; /* event fields (service, resource, check, source) or labels */
    char *topology_file;        /* "" = no topology */
    uint64_t topology_depth;    /* hops walked from an alert's CI */
    int64_t topology_lag_ns;    /* a symptom may precede its cause by at most this */
    int64_t topology_window_ns; /* a symptom follows its cause within this */
    bool topology_learn;        /* join only delays seen more often than chance (learned) */
    struct ad_strlist priority_matrix; /* 9 of P1..P5: impact high..low x urgency high..low */
    int default_criticality;    /* enum ad_criticality of CIs not in the topology */
    uint64_t impact_services;   /* this many services affected raise the impact one level */
    uint64_t urgency_growth;    /* this many new alerts within urgency_window raise urgency */
    int64_t urgency_window_ns;
    int64_t resolve_after_ns;   /* 0: resolve only when every alert resolved */
    double text_similarity;     /* text rule: MinHash Jaccard estimate to join */
    uint64_t cooccur_min_support; /* cooccurrence rule: incidents together before linking */
    double cooccur_min_confidence;
    uint64_t cooccur_max_kinds;
    uint64_t learn_min_support;   /* learned rule: onsets of a pair before it can link */
    double learn_min_confidence;  /* learned rule: P(y fails | x failed) to link */
    char *learn_state_file;       /* the daemon's file of the learned graph; "" = none */
    int64_t learn_save_interval_ns;
    uint64_t problem_threshold; /* incidents of one cause within problem_period raise a problem */
    int64_t problem_period_ns;
    uint64_t max_problems;      /* causes tracked; the least recent forgotten past it */
};

struct ad_svcwin_stats {
    uint64_t opened, joined, reopened, resolved, updates_emitted, evicted, forgotten;
    uint64_t merged;            /* candidates merged into another (a rule's merge_with) */
    uint64_t members_omitted, unknown_fingerprint, oom;
    uint64_t silenced;          /* new alerts marked AD_EVF_SILENCED (no incident opened) */
    uint64_t joined_by[AD_SVCWIN_MAX_RULES]; /* by rule id (correlators/rules.c) */
    size_t cooccur_kinds;
    uint32_t learned_cis, learned_pairs; /* learned rule: CIs and (x, y) pairs counted */
    uint64_t flapping_quiet;    /* events of flapping members that emitted nothing */
    uint64_t resolved_quiet;    /* resolved by resolve_after */
    uint64_t problems_raised, problem_updates, causes_forgotten;
    size_t causes_tracked;
    uint64_t topology_reloads;
    int64_t topology_window_learned_ns; /* the window in force; topology_window until learned */
    uint64_t topology_late;     /* dependency matches later than the learned window */
    uint32_t topology_nodes, topology_edges;
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
struct ad_buf;
/* The dependencies learned so far (learned rule) in the topology file format, with support,
 * confidence and lag as comments (docs/topology.md). 0 or -ENOMEM. */
int ad_svcwin_learned_topology(const struct ad_svcwin *s, struct ad_buf *out);
/* Learn with every rule, in `link` or not (what the learned rule learns is otherwise learned
 * only when it is in `link`): aiopsctl learn-topology. */
void ad_svcwin_learn_all(struct ad_svcwin *s, bool on);
/* The learned rule's graph (CIs, pair counts, recent onsets; not the links to live candidates,
 * which the snapshot keeps) as the payload of the daemon's state file (topology_learned.state,
 * daemon/model_state.c). save appends it to out (0 or -ENOMEM); load replaces the graph with
 * data, or changes nothing and returns -EINVAL with why in reterr (corrupt, foreign version,
 * trailing bytes, past the bounds) or -ENOMEM. */
int ad_svcwin_learned_save(const struct ad_svcwin *s, struct ad_buf *out);
int ad_svcwin_learned_load(struct ad_svcwin *s, const void *data, size_t len,
                           struct ad_err *reterr);
