/* correlators/candidate.h: an incident candidate, the unit the outputs write (docs/redis.md).
 * Owned by the correlator that made it; outputs borrow it for the duration of a call. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/event.h"

struct ad_buf;

enum ad_cand_state { AD_CAND_OPEN = 0, AD_CAND_UPDATED, AD_CAND_RESOLVED };
/* An incident groups alerts; a problem groups recurring incidents of one cause (ITIL). */
enum ad_cand_type { AD_CAND_INCIDENT = 0, AD_CAND_PROBLEM };

/* One incident of a problem. */
struct ad_cand_incident {
    char id[21];                  /* the incident's id ("inc-" + 16 hex) */
    int64_t first_seen_ns, resolved_ns;
    int priority;
    uint32_t alert_count;
};

#define AD_CAND_ID_LEN 20          /* "inc-" + 16 hex digits */
#define AD_CAND_MAX_LISTED 32      /* default of max_listed */
#define AD_CAND_MAX_LINKS 4        /* correlation rules listed per candidate */

#define AD_CAND_MAX_TEMPLATES 8    /* log templates listed per candidate */

/* A log template involved: member alerts raised from it (models/templates). */
struct ad_cand_template {
    uint64_t id;
    char *text;                   /* owned */
    uint32_t alerts;              /* member alerts that carried it */
};

/* One rule that joined alerts into the candidate, with why (for the first alert it joined). */
struct ad_cand_link {
    const char *rule;             /* static: "group_by", "topology", ... */
    char *reason;                 /* owned */
    uint32_t alerts;              /* alerts it joined (the opening alert counts for its rule) */
};

struct ad_cand_member {
    uint64_t fingerprint;
    char *resource;               /* owned */
    char *check;                  /* owned */
    char *service;                /* owned; NULL when not known */
    enum ad_severity severity;
    enum ad_status status;
    int64_t first_seen_ns;
    int64_t last_seen_ns;
    uint32_t count;               /* events seen for this alert while in the candidate */
    bool flapping;                /* models/flap says so: its changes do not update the candidate */
};

struct ad_candidate {
    /* First what a correlator's periodic scan reads, together in one cache line. */
    enum ad_cand_state state;
    uint32_t alerts_firing;       /* distinct alerts currently firing */
    uint32_t members_omitted;     /* alerts beyond the member bound, counted only */
    int64_t last_seen_ns;
    int64_t updated_ns;           /* event time of the last emitted change */
    enum ad_cand_type type;       /* incident unless set */
    char id[AD_CAND_ID_LEN + 1];  /* deterministic: derived from service, first fingerprint, time */
    uint32_t version;             /* 1 on open, +1 per emitted change; idempotency key with id */
    int priority;                 /* 1 (P1, highest) .. 5 (P5) */
    enum ad_severity severity;    /* highest firing member severity */
    char *service;                /* owned */
    char *ci;                     /* owned: primary CI (resource of the first alert) */
    char *title;                  /* owned */
    uint32_t alert_count;         /* distinct alerts (fingerprints) that joined */
    uint64_t event_count;         /* events (including duplicates the correlator saw) */
    int64_t first_seen_ns;
    struct ad_cand_member *members; /* owned array, n_members <= max_members */
    uint32_t n_members;
    uint32_t cap_members;
    const char *correlator;       /* static name of the correlator that built it */
    char *reason;                 /* owned: "joined because ..." */
    uint32_t max_listed;          /* member alerts and CIs listed in the JSON (0: the default) */
    struct ad_cand_link links[AD_CAND_MAX_LINKS];
    uint32_t n_links;             /* 0: the JSON lists correlator/reason instead */
    struct ad_cand_template templates[AD_CAND_MAX_TEMPLATES];
    uint32_t n_templates;         /* the JSON has "templates" only when there are some */
    uint32_t templates_omitted;   /* further templates, counted */
    uint32_t root_member;         /* index in members of the probable root cause */
    uint8_t impact, urgency;      /* ITIL levels: 0 high, 1 medium, 2 low (docs/priority.md) */
    char *priority_reason;        /* owned: "impact high: ...; urgency medium: ..."; NULL: none */
    const char *root_reason;      /* static; NULL: "first alert" */
    const char *resolved_because; /* static, while resolved: "all alerts resolved", "quiet" */
    const char *merged_into;      /* borrowed for the call: the incident it was merged into */
    /* Problems only (borrowed from the correlator for the call): the recent incidents of the
     * cause, oldest first; how many there were in all; the period they recurred within; the
     * cause (root CI and check). */
    const struct ad_cand_incident *incidents;
    uint32_t n_incidents, incidents_total;
    int64_t period_ns;
    const char *cause_ci, *cause_check;
};

const char *ad_cand_state_name(enum ad_cand_state s);
/* Candidate as JSON (docs/redis.md). 0 or -ENOMEM. */
int ad_candidate_to_json(const struct ad_candidate *c, struct ad_buf *out);
/* Frees owned members; leaves *c zeroed. */
void ad_candidate_fini(struct ad_candidate *c);
