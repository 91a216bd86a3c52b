/* correlators/engine.h: the inside of the incident correlator (correlators.service_window),
 * shared by its files and by nothing else:
 *   engine.c        slots, open/join/resolve, tick, emission, snapshot, the config section
 *   rule.h/rules.c  the linking rule interface and the table of rules (like collectors/registry.c)
 *   rule_*.c        one linking rule each
 *   priority.c      ITIL impact x urgency
 *   root_cause.c    the probable root cause of a candidate
 *   problems.c      recurring incidents of one cause
 * Pure: no I/O but for reading topology_file at create/reconfigure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"
#include "common/u64map.h"
#include "correlators/candidate.h"
#include "correlators/rule.h"
#include "correlators/service_window.h"

struct ad_event;
struct ad_rd;
struct ad_wr;
struct ad_topology;

#define AD_SW_NIL UINT32_MAX
#define AD_SW_SVC_MAX 16      /* distinct member services kept per candidate (priority) */
#define AD_SW_TOPO_MAX_VISIT 512 /* CIs looked at per new alert, whatever the depth */
#define AD_SW_SNAP_MAX_STR (1u << 20)

struct ad_sw_slot {
    bool used;           /* first, with the candidate's scan fields: every tick walks the slots */
    bool dirty;          /* changed since the last emitted version */
    struct ad_candidate c;
    uint64_t svc_key;    /* key in the group_by rule's index while this is the group's candidate */
    uint32_t next_free;
    /* priority: hashes of the distinct member services, the first AD_SW_SVC_MAX (enough for any
     * impact_services), kept as members join so that no event compares strings for it */
    uint32_t svc_h[AD_SW_SVC_MAX];
    uint8_t n_svc;
};

/* One group_by field: an event field, or a label (name owned). */
enum ad_sw_gfield_kind { AD_GF_LABEL = 0, AD_GF_SERVICE, AD_GF_RESOURCE, AD_GF_CHECK, AD_GF_SOURCE };
struct ad_sw_gfield {
    enum ad_sw_gfield_kind kind;
    char *name;
};

/* What the linking options turn into; built whole before it replaces the running one. */
struct ad_sw_rules {
    uint8_t order[AD_SW_MAX_RULES]; /* rule ids (index in ad_sw_rules) in `link` order */
    size_t n;
    struct ad_sw_gfield *group;
    size_t n_group;
    struct ad_topology *topo; /* NULL: no topology_file */
    uint32_t depth;
    int prio[3][3]; /* [impact][urgency], 1..5 */
};

struct ad_sw_problems; /* problems.c */

struct ad_svcwin {
    struct ad_svcwin_cfg cfg;   /* scalars only: the string options live in rules */
    struct ad_sw_rules rules;
    bool active[AD_SW_MAX_RULES];  /* the rules `link` lists */
    void *rstate[AD_SW_MAX_RULES]; /* each rule's own state (every rule's, active or not) */
    bool learn_all;                /* seen() for inactive rules too (aiopsctl learn-topology) */
    struct ad_sw_problems *prob;
    struct ad_sw_slot *slots;
    uint32_t cap, n_used, free_head;
    struct ad_u64map by_fp;          /* member fingerprint -> slot */
    struct ad_svcwin_stats st;
};

/* engine.c */
bool ad_sw_live(const struct ad_svcwin *s, uint32_t idx, int64_t now_ns);
bool ad_sw_has_link(const struct ad_candidate *c, const char *rule);
char *ad_sw_dup_str(struct ad_str s);
uint64_t ad_sw_ci_key(struct ad_str ci);
uint64_t ad_sw_ci_key_c(const char *ci);
/* Drops the entries of m that point at slot idx, for a key computed from each member. */
void ad_sw_unindex_members(struct ad_svcwin *s, struct ad_u64map *m, uint32_t idx,
                           uint64_t (*key)(const struct ad_cand_member *));
/* Rule state by slot: grows the NULL-filled array *arr of *cap pointers to cover idx. */
bool ad_sw_cover(void ***arr, uint32_t *cap, uint32_t idx);
/* A map as (n, then key u64 + slot u32 each); loading checks every slot is in use. */
void ad_sw_save_map(struct ad_wr *w, const struct ad_u64map *m);
int ad_sw_load_map(const struct ad_svcwin *s, struct ad_rd *r, struct ad_u64map *m);

/* rule_group.c: the group key and reason of an alert (also the reason a candidate opens with) */
uint64_t ad_sw_group_key(const struct ad_svcwin *s, const struct ad_event *ev);
void ad_sw_group_reason(const struct ad_svcwin *s, const struct ad_event *ev, char *buf, size_t n);

/* rule_topology.c: the window in force; the learned-delay section of snapshots 7 and 8 */
int64_t ad_sw_topology_window(const struct ad_svcwin *s);
int ad_sw_topology_load_learned(struct ad_svcwin *s, struct ad_rd *r);

/* rule_mentions.c: the member the candidate's other alerts name (its slot), if any */
bool ad_sw_mentions_root(const struct ad_svcwin *s, uint32_t idx, uint32_t *ret_member);

/* rule_learned.c: the member whose CI the others are learned to follow, if any */
bool ad_sw_learned_root(const struct ad_svcwin *s, const struct ad_candidate *c,
                        uint32_t *ret_member);

/* priority.c */
void ad_sw_note_service(struct ad_sw_slot *sl, const char *svc);
/* Impact from the most critical CI and the services affected, urgency from severity and growth;
 * the priority never falls while the candidate lives. Returns whether it changed. */
bool ad_sw_priority(const struct ad_svcwin *s, struct ad_sw_slot *sl, int64_t now_ns,
                    bool with_reason);
int ad_sw_priority_matrix(const struct ad_svcwin_cfg *cfg, int prio[3][3], struct ad_err *reterr);

/* root_cause.c: the probable root cause; makes it the candidate's ci and title */
void ad_sw_set_root(const struct ad_svcwin *s, uint32_t idx);
void ad_sw_set_title(struct ad_candidate *c);

/* problems.c */
int ad_sw_problems_create(struct ad_sw_problems **ret);
void ad_sw_problems_destroy(struct ad_sw_problems *p);
/* A resolved incident counts for the cause of its root alert (may raise or update a problem). */
void ad_sw_problems_resolved(struct ad_svcwin *s, const struct ad_candidate *c, int64_t now_ns,
                             const struct ad_cand_sink *sink);
size_t ad_sw_problems_tracked(const struct ad_sw_problems *p);
void ad_sw_problems_save(const struct ad_sw_problems *p, struct ad_wr *w);
int ad_sw_problems_load(struct ad_svcwin *s, struct ad_rd *r);
