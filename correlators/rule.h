/* correlators/rule.h: a linking rule of the incident correlator (docs/topology.md, "How a new
 * alert finds its incident"). A rule finds the live candidate a new alert joins, and keeps
 * whatever index or learned state it needs as alerts join, candidates are forgotten and
 * incidents resolve. A new rule is one file and one line in correlators/rules.c; `link` in
 * the config orders the active ones. Every rule's state exists whether it is active or not
 * (a reload may switch it on), and it is saved and restored with the correlator's. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "correlators/service_window.h"

struct ad_candidate;
struct ad_event;
struct ad_rd;
struct ad_svcwin;
struct ad_wr;

#define AD_SW_MAX_RULES AD_SVCWIN_MAX_RULES

struct ad_sw_rule {
    const char *name;  /* in `link`, correlation[].correlator and the joins metric */
    /* Its state; NULL create: none. 0 or -ENOMEM. */
    int (*create)(const struct ad_svcwin *s, void **ret_state);
    void (*destroy)(void *state); /* NULL-safe */
    /* The live candidate ev joins (a slot index), or AD_SW_NIL; why gets the reason when the
     * candidate has no link of this rule yet (the first alert a rule joins gives it). */
    uint32_t (*match)(struct ad_svcwin *s, void *state, const struct ad_event *ev, char *why,
                      size_t n);
    /* Active rules (all with ad_svcwin_learn_all), every new firing alert, after the rules
     * looked for its candidate: what a rule learns from all alerts. NULL: nothing. */
    void (*seen)(struct ad_svcwin *s, void *state, const struct ad_event *ev);
    /* Active rules only: member `member` (ev) joined slot idx; NULL: nothing indexed. */
    void (*joined)(struct ad_svcwin *s, void *state, uint32_t idx, const struct ad_event *ev,
                   uint32_t member);
    /* Slot idx is about to be reused: drop what points at it (every rule, active or not). */
    void (*forgot)(struct ad_svcwin *s, void *state, uint32_t idx);
    /* Active rules only, after ev joined slot idx: another live candidate the alert shows to be
     * the same incident (merged into idx by the engine), or AD_SW_NIL. NULL: never. */
    uint32_t (*merge_with)(struct ad_svcwin *s, void *state, const struct ad_event *ev,
                           uint32_t idx);
    /* Slot from is merged into slot into, its members appended after the first `base`: point
     * what pointed at from to into. NULL: forgot(from) is called instead. */
    void (*merged)(struct ad_svcwin *s, void *state, uint32_t from, uint32_t into, uint32_t base);
    /* Active rules only: an incident resolved (learn from it); NULL: nothing learned. */
    void (*resolved)(struct ad_svcwin *s, void *state, const struct ad_candidate *c);
    /* The configuration (topology_file, ...) changed: re-index. NULL: nothing to do. */
    int (*reconfigured)(struct ad_svcwin *s, void *state);
    /* Statistics it keeps into st. NULL: none. */
    void (*stats)(const struct ad_svcwin *s, const void *state, struct ad_svcwin_stats *st);
    /* Snapshot: its whole state. load reads into a freshly created state after the candidates
     * were restored; version is the correlator snapshot's (older layouts: engine.c). */
    void (*save)(const struct ad_svcwin *s, const void *state, struct ad_wr *w);
    int (*load)(struct ad_svcwin *s, void *state, struct ad_rd *r, uint32_t version);
    /* Per-candidate state, saved inside each candidate's record. NULL: none. */
    void (*save_slot)(const void *state, uint32_t idx, struct ad_wr *w);
    int (*load_slot)(void *state, uint32_t idx, struct ad_rd *r, uint32_t version);
};

/* correlators/rules.c: the rules by id (the id is saved in snapshots: append only), NULL ended. */
enum { AD_SW_TOPOLOGY = 0, AD_SW_GROUP_BY, AD_SW_TEXT, AD_SW_COOCCUR, AD_SW_MENTIONS, AD_SW_LEARNED };
extern const struct ad_sw_rule *const ad_sw_rules[];
size_t ad_sw_rule_count(void);

extern const struct ad_sw_rule ad_sw_rule_topology;
extern const struct ad_sw_rule ad_sw_rule_group_by;
extern const struct ad_sw_rule ad_sw_rule_text;
extern const struct ad_sw_rule ad_sw_rule_cooccur;
extern const struct ad_sw_rule ad_sw_rule_mentions;
extern const struct ad_sw_rule ad_sw_rule_learned;
