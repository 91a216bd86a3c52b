/* correlators/priority.c: ITIL priority of an incident candidate, impact x urgency
 * (docs/priority.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/hash.h"
#include "correlators/engine.h"
#include "correlators/topology.h"

enum level { LVL_HIGH = 0, LVL_MEDIUM, LVL_LOW };
#define PRIO_REASON_LEN 200
static const char *const level_names[] = {"high", "medium", "low"};

/* Urgency of a severity alone: major and critical need action now. */
static enum level urgency_of_severity(enum ad_severity sev)
{
    return sev >= AD_SEV_MAJOR ? LVL_HIGH : sev >= AD_SEV_WARNING ? LVL_MEDIUM : LVL_LOW;
}

/* Notes a member's service among the candidate's distinct ones (see struct ad_sw_slot). */
void ad_sw_note_service(struct ad_sw_slot *sl, const char *svc)
{
    if (!svc || sl->n_svc == AD_SW_SVC_MAX)
        return;
    uint32_t h = (uint32_t)ad_hash64(svc, strlen(svc), 0x5e7);
    for (uint32_t i = 0; i < sl->n_svc; i++)
        if (sl->svc_h[i] == h)
            return;
    sl->svc_h[sl->n_svc++] = h;
}

/* Impact from the most critical CI involved and how many services are affected; urgency from
 * the highest firing severity and the rate new alerts join. Priority = matrix[impact][urgency],
 * and it never falls while the candidate lives: an incident is not downgraded because one of its
 * alerts cleared. Returns whether the priority changed. */
bool ad_sw_priority(const struct ad_svcwin *s, struct ad_sw_slot *sl, int64_t now_ns,
                    bool with_reason)
{
    /* Per event this runs on the candidate the event touched: the member loops are skipped
     * when they cannot matter (no topology: every CI has the default criticality; fewer
     * members than urgency_growth: it cannot be growing), and the reason is written only when
     * the candidate is emitted. */
    struct ad_candidate *c = &sl->c;
    const struct ad_topology *t = s->rules.topo;
    int crit = -1;
    const char *crit_ci = NULL;
    for (uint32_t i = 0; t && i < c->n_members; i++) {
        uint32_t node = ad_topology_find(t, ad_str_c(c->members[i].resource));
        int k = node == AD_TOPO_NONE ? s->cfg.default_criticality
                                     : (int)ad_topology_criticality(t, node);
        if (k > crit) {
            crit = k;
            crit_ci = c->members[i].resource;
        }
    }
    if (crit < 0)
        crit = s->cfg.default_criticality;
    uint32_t services = sl->n_svc;
    int score = crit + (services >= s->cfg.impact_services ? 1 : 0);
    enum level impact = score >= 3 ? LVL_HIGH : score >= 1 ? LVL_MEDIUM : LVL_LOW;

    enum level urgency = urgency_of_severity(c->severity);
    /* Members are kept in the order they joined: urgency_growth of them joined within the
     * window when the urgency_growth-th newest did. */
    uint64_t g = s->cfg.urgency_growth;
    bool growing = c->n_members >= g &&
                   now_ns - c->members[c->n_members - g].first_seen_ns <= s->cfg.urgency_window_ns;
    if (growing && urgency > LVL_HIGH)
        urgency--;

    int prio = s->rules.prio[impact][urgency];
    c->impact = (uint8_t)impact;
    c->urgency = (uint8_t)urgency;
    /* Kept apart from the candidate (a pointer): every tick walks the candidates. */
    if (with_reason && (c->priority_reason || (c->priority_reason = malloc(PRIO_REASON_LEN))))
        snprintf(c->priority_reason, PRIO_REASON_LEN,
                 "impact %s: %s CI%s%.60s%s, %u service%s; urgency %s: %s severity%s",
                 level_names[impact], ad_criticality_name((enum ad_criticality)crit),
                 crit_ci ? " '" : "", crit_ci ? crit_ci : "", crit_ci ? "'" : "", services,
                 services == 1 ? "" : "s", level_names[urgency], ad_severity_name(c->severity),
                 growing ? ", growing" : "");
    if (c->priority != 0 && c->priority <= prio)
        return false;
    c->priority = prio;
    return true;
}

/* The priority_matrix option: 9 of P1..P5, impact rows by urgency columns. */
int ad_sw_priority_matrix(const struct ad_svcwin_cfg *cfg, int prio[3][3], struct ad_err *reterr)
{
    static const int def_prio[9] = {1, 2, 3, 2, 3, 4, 3, 4, 5};
    if (cfg->priority_matrix.n != 0 && cfg->priority_matrix.n != 9)
        return ad_err_set(reterr, EINVAL,
                          "correlators.service_window.priority_matrix: expected 9 priorities "
                          "(impact high, medium, low x urgency high, medium, low), got %zu",
                          cfg->priority_matrix.n);
    for (int i = 0; i < 9; i++) {
        int p = def_prio[i];
        if (cfg->priority_matrix.n) {
            const char *v = cfg->priority_matrix.v[i];
            if ((v[0] == 'P' || v[0] == 'p') && v[1] >= '1' && v[1] <= '5' && v[2] == '\0')
                p = v[1] - '0';
            else
                return ad_err_set(reterr, EINVAL,
                                  "correlators.service_window.priority_matrix: item %d: expected "
                                  "P1..P5, got \"%s\"",
                                  i + 1, v);
        }
        prio[i / 3][i % 3] = p;
    }
    return 0;
}
