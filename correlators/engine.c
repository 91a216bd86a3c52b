/* correlators/engine.c: the incident correlator's engine (correlators.service_window). A new
 * firing alert joins the live candidate the linking rules find (correlators/rules.c, in the order
 * `link` lists them) or opens one; member events update it; a candidate resolves when its alerts
 * do, is emitted as it changes (coalesced to update_interval) and forgotten after retain.
 * Candidates live in a slot array; a u64 map finds the candidate of each member fingerprint (for
 * resolves). Pure: no I/O, no clock. */
#include "correlators/service_window.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/time.h"
#include "common/u64map.h"
#include "correlators/candidate.h"
#include "correlators/engine.h"
#include "correlators/topology.h"

#define NIL AD_SW_NIL

static const char *const NAME = "service_window";

static void rules_fini(struct ad_sw_rules *r)
{
    for (size_t i = 0; i < r->n_group; i++)
        free(r->group[i].name);
    free(r->group);
    ad_topology_free(r->topo);
    memset(r, 0, sizeof(*r));
}

/* "topology, group_by, text and/or cooccurrence" (every rule of the table). */
static void rule_list(char *buf, size_t n)
{
    size_t off = 0, k = ad_sw_rule_count();
    buf[0] = '\0';
    for (size_t i = 0; i < k && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", i == 0 ? "" : i + 1 == k ? " and/or " : ", ",
                                ad_sw_rules[i]->name);
}

static int rules_build(const struct ad_svcwin_cfg *cfg, struct ad_sw_rules *r, struct ad_err *reterr)
{
    static const char *const fields[] = {"", "service", "resource", "check", "source"};
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < cfg->link.n; i++) {
        int k = -1;
        for (size_t j = 0; ad_sw_rules[j]; j++)
            if (strcmp(cfg->link.v[i], ad_sw_rules[j]->name) == 0)
                k = (int)j;
        bool dup = false;
        for (size_t j = 0; k >= 0 && j < r->n; j++)
            dup = dup || r->order[j] == (uint8_t)k;
        if (k < 0 || dup) {
            char names[256];
            rule_list(names, sizeof(names));
            return ad_err_set(reterr, EINVAL,
                              "correlators.service_window.link: %s '%s' (expected %s, each once)",
                              k < 0 ? "unknown rule" : "repeated rule", cfg->link.v[i], names);
        }
        r->order[r->n++] = (uint8_t)k;
    }
    if (r->n == 0)
        return ad_err_set(reterr, EINVAL, "correlators.service_window.link: at least one rule");
    r->group = calloc(cfg->group_by.n ? cfg->group_by.n : 1, sizeof(*r->group));
    if (!r->group)
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    for (size_t i = 0; i < cfg->group_by.n; i++) {
        struct ad_sw_gfield *g = &r->group[r->n_group++];
        for (int j = 1; j < 5; j++)
            if (strcmp(cfg->group_by.v[i], fields[j]) == 0)
                g->kind = (enum ad_sw_gfield_kind)j;
        if (!(g->name = strdup(cfg->group_by.v[i]))) {
            rules_fini(r);
            return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
        }
    }
    r->depth = (uint32_t)cfg->topology_depth;
    int rc = ad_sw_priority_matrix(cfg, r->prio, reterr);
    if (rc < 0) {
        rules_fini(r);
        return rc;
    }
    if (cfg->topology_file && cfg->topology_file[0]) {
        rc = ad_topology_load(cfg->topology_file, &r->topo, reterr);
        if (rc < 0) {
            char msg[sizeof(reterr->msg)];
            snprintf(msg, sizeof(msg), "%s", reterr ? reterr->msg : "");
            rules_fini(r);
            return ad_err_set(reterr, -rc, "correlators.service_window.topology_file: %s", msg);
        }
    }
    return 0;
}

static void set_active(struct ad_svcwin *s)
{
    memset(s->active, 0, sizeof(s->active));
    for (size_t i = 0; i < s->rules.n; i++)
        s->active[s->rules.order[i]] = true;
    s->st.topology_nodes = ad_topology_nodes(s->rules.topo);
    s->st.topology_edges = ad_topology_edges(s->rules.topo);
}

int ad_svcwin_create(const struct ad_svcwin_cfg *cfg, struct ad_svcwin **ret, struct ad_err *reterr)
{
    struct ad_svcwin *s = calloc(1, sizeof(*s));
    if (!s)
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    s->cfg = *cfg;
    s->cfg.link = s->cfg.group_by = (struct ad_strlist){0};
    s->cfg.topology_file = NULL;
    s->cfg.learn_state_file = NULL; /* the daemon's (daemon/model_state.c) */
    s->free_head = NIL;
    bool oom = ad_u64map_init(&s->by_fp, 1024) < 0 || ad_sw_problems_create(&s->prob) < 0;
    for (size_t i = 0; !oom && ad_sw_rules[i]; i++)
        oom = ad_sw_rules[i]->create && ad_sw_rules[i]->create(s, &s->rstate[i]) < 0;
    if (oom) {
        ad_svcwin_destroy(s);
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    }
    int r = rules_build(cfg, &s->rules, reterr);
    if (r < 0) {
        ad_svcwin_destroy(s);
        return r;
    }
    set_active(s);
    *ret = s;
    return 0;
}

void ad_svcwin_learn_all(struct ad_svcwin *s, bool on)
{
    s->learn_all = on;
}

void ad_svcwin_destroy(struct ad_svcwin *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            ad_candidate_fini(&s->slots[i].c);
    free(s->slots);
    ad_u64map_fini(&s->by_fp);
    ad_sw_problems_destroy(s->prob);
    for (size_t i = 0; ad_sw_rules[i]; i++)
        if (ad_sw_rules[i]->destroy)
            ad_sw_rules[i]->destroy(s->rstate[i]);
    rules_fini(&s->rules);
    free(s);
}

uint64_t ad_sw_ci_key(struct ad_str ci)
{
    return ad_u64map_key(ad_hash_field(0xc1c1, ci));
}

uint64_t ad_sw_ci_key_c(const char *ci)
{
    return ad_sw_ci_key((struct ad_str){ci, strlen(ci)});
}

char *ad_sw_dup_str(struct ad_str s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

void ad_sw_unindex_members(struct ad_svcwin *s, struct ad_u64map *m, uint32_t idx,
                           uint64_t (*key)(const struct ad_cand_member *))
{
    const struct ad_candidate *c = &s->slots[idx].c;
    uint32_t v;
    for (uint32_t i = 0; i < c->n_members; i++) {
        uint64_t k = key(&c->members[i]);
        if (ad_u64map_get(m, k, &v) && v == idx)
            ad_u64map_del(m, k);
    }
}

bool ad_sw_cover(void ***arr, uint32_t *cap, uint32_t idx)
{
    if (idx < *cap)
        return true;
    uint32_t c = *cap ? *cap : 64;
    while (c <= idx)
        c *= 2;
    void **v = realloc(*arr, (size_t)c * sizeof(*v));
    if (!v)
        return false;
    for (uint32_t i = *cap; i < c; i++)
        v[i] = NULL;
    *arr = v;
    *cap = c;
    return true;
}

bool ad_sw_live(const struct ad_svcwin *s, uint32_t idx, int64_t now_ns)
{
    return idx < s->cap && s->slots[idx].used &&
           now_ns - s->slots[idx].c.last_seen_ns <= s->cfg.window_ns;
}

static int emit(struct ad_svcwin *s, struct ad_sw_slot *sl, int64_t now_ns,
                const struct ad_cand_sink *sink)
{
    ad_sw_priority(s, sl, now_ns, true); /* the reason as of now; it only ever rises */
    ad_sw_set_root(s, (uint32_t)(sl - s->slots));
    sl->c.version++;
    sl->c.updated_ns = now_ns;
    sl->dirty = false;
    if (sl->c.state != AD_CAND_OPEN || sl->c.version > 1)
        s->st.updates_emitted++;
    sl->c.max_listed = (uint32_t)s->cfg.max_listed;
    return sink->emit(sink->ctx, &sl->c);
}

static void forget(struct ad_svcwin *s, uint32_t idx)
{
    struct ad_sw_slot *sl = &s->slots[idx];
    uint32_t v;
    for (uint32_t i = 0; i < sl->c.n_members; i++)
        if (ad_u64map_get(&s->by_fp, sl->c.members[i].fingerprint, &v) && v == idx)
            ad_u64map_del(&s->by_fp, sl->c.members[i].fingerprint);
    /* Every rule's index, active or not: a rule switched off by a reload may still hold this
     * slot, which is about to be reused. */
    for (size_t r = 0; ad_sw_rules[r]; r++)
        if (ad_sw_rules[r]->forgot)
            ad_sw_rules[r]->forgot(s, s->rstate[r], idx);
    ad_candidate_fini(&sl->c);
    sl->used = false;
    sl->dirty = false;
    sl->svc_key = 0;
    sl->next_free = s->free_head;
    s->free_head = idx;
    s->n_used--;
}

/* Evicts the candidate with the oldest last_seen (O(n) scan: only at the bound, which is rare and
 * counted). It is emitted first if it has unsent changes. */
static void evict_oldest(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink)
{
    uint32_t oldest = NIL;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used &&
            (oldest == NIL || s->slots[i].c.last_seen_ns < s->slots[oldest].c.last_seen_ns))
            oldest = i;
    if (oldest == NIL)
        return;
    if (s->slots[oldest].dirty) {
        s->slots[oldest].c.state = AD_CAND_UPDATED;
        emit(s, &s->slots[oldest], now_ns, sink);
    }
    forget(s, oldest);
    s->st.evicted++;
}

static int alloc_slot(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink,
                      uint32_t *ret)
{
    if (s->n_used >= s->cfg.max_open)
        evict_oldest(s, now_ns, sink);
    if (s->free_head == NIL) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        struct ad_sw_slot *slots = realloc(s->slots, (size_t)cap * sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        memset(slots + s->cap, 0, (size_t)(cap - s->cap) * sizeof(*slots));
        for (uint32_t i = cap; i-- > s->cap;) {
            slots[i].next_free = s->free_head;
            s->free_head = i;
        }
        s->slots = slots;
        s->cap = cap;
    }
    *ret = s->free_head;
    s->free_head = s->slots[*ret].next_free;
    s->n_used++;
    return 0;
}

/* The log template an alert carries (models/templates), counted on the candidate. */
static void note_template(struct ad_candidate *c, const struct ad_event *ev)
{
    if (ev->template_id == 0)
        return;
    for (uint32_t i = 0; i < c->n_templates; i++)
        if (c->templates[i].id == ev->template_id) {
            c->templates[i].alerts++;
            return;
        }
    char *text = c->n_templates < AD_CAND_MAX_TEMPLATES ? ad_sw_dup_str(ev->template_text) : NULL;
    if (!text) {
        c->templates_omitted++;
        return;
    }
    c->templates[c->n_templates++] = (struct ad_cand_template){ev->template_id, text, 1};
}

static int add_member(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev)
{
    struct ad_candidate *c = &s->slots[idx].c;
    note_template(c, ev);
    c->alert_count++;
    c->alerts_firing++;
    if (c->n_members >= s->cfg.max_members) {
        c->members_omitted++;
        s->st.members_omitted++;
        return 0;
    }
    if (c->n_members == c->cap_members) {
        uint32_t cap = c->cap_members ? c->cap_members * 2 : 4;
        if (cap > s->cfg.max_members)
            cap = (uint32_t)s->cfg.max_members;
        struct ad_cand_member *m = realloc(c->members, (size_t)cap * sizeof(*m));
        if (!m)
            return -ENOMEM;
        c->members = m;
        c->cap_members = cap;
    }
    struct ad_cand_member *m = &c->members[c->n_members];
    memset(m, 0, sizeof(*m));
    m->resource = ad_sw_dup_str(ev->resource);
    m->check = ad_sw_dup_str(ev->check);
    m->service = ad_sw_dup_str(ev->service);
    if (!m->resource || !m->check || !m->service ||
        ad_u64map_put(&s->by_fp, ev->fingerprint, idx) < 0) {
        free(m->resource);
        free(m->check);
        free(m->service);
        return -ENOMEM;
    }
    m->fingerprint = ev->fingerprint;
    m->severity = ev->severity;
    m->status = AD_STATUS_FIRING;
    m->first_seen_ns = m->last_seen_ns = ev->time_ns;
    m->count = 1;
    c->n_members++;
    ad_sw_note_service(&s->slots[idx], m->service);
    for (size_t i = 0; i < s->rules.n; i++) {
        uint8_t id = s->rules.order[i];
        if (ad_sw_rules[id]->joined)
            ad_sw_rules[id]->joined(s, s->rstate[id], idx, ev, c->n_members - 1);
    }
    return 0;
}

static struct ad_cand_member *find_member(struct ad_candidate *c, uint64_t fp)
{
    for (uint32_t i = 0; i < c->n_members; i++)
        if (c->members[i].fingerprint == fp)
            return &c->members[i];
    return NULL;
}

static void touch(struct ad_candidate *c, const struct ad_event *ev)
{
    c->event_count++;
    if (ev->time_ns > c->last_seen_ns)
        c->last_seen_ns = ev->time_ns;
    if (ev->time_ns < c->first_seen_ns)
        c->first_seen_ns = ev->time_ns;
}

/* Highest severity among firing members (resolved members no longer weigh). */
static bool recompute_severity(const struct ad_svcwin *s, struct ad_sw_slot *sl, int64_t now_ns)
{
    struct ad_candidate *c = &sl->c;
    enum ad_severity sev = AD_SEV_INFO;
    bool any = false;
    for (uint32_t i = 0; i < c->n_members; i++)
        if (c->members[i].status == AD_STATUS_FIRING && c->members[i].severity >= sev) {
            sev = c->members[i].severity;
            any = true;
        }
    if (!any)
        sev = c->severity;
    c->severity = sev;
    return ad_sw_priority(s, sl, now_ns, false);
}

bool ad_sw_has_link(const struct ad_candidate *c, const char *rule)
{
    for (uint32_t i = 0; i < c->n_links; i++)
        if (c->links[i].rule == rule)
            return true;
    return false;
}

/* Counts an alert joined by rule; the first alert a rule joins gives its reason. */
static void add_link(struct ad_candidate *c, uint8_t rule, const char *reason)
{
    for (uint32_t i = 0; i < c->n_links; i++)
        if (c->links[i].rule == ad_sw_rules[rule]->name) {
            c->links[i].alerts++;
            return;
        }
    if (c->n_links == AD_CAND_MAX_LINKS)
        return;
    struct ad_cand_link *l = &c->links[c->n_links];
    l->reason = strdup(reason);
    if (!l->reason)
        return; /* without its reason the link is not listed; the join itself stands */
    l->rule = ad_sw_rules[rule]->name;
    l->alerts = 1;
    c->n_links++;
}

static int open_candidate(struct ad_svcwin *s, const struct ad_event *ev,
                          const struct ad_cand_sink *sink)
{
    uint32_t idx;
    if (alloc_slot(s, ev->time_ns, sink, &idx) < 0) {
        s->st.oom++;
        return -ENOMEM;
    }
    struct ad_sw_slot *sl = &s->slots[idx];
    memset(sl, 0, sizeof(*sl));
    sl->used = true;
    struct ad_candidate *c = &sl->c;
    /* Deterministic id: the same event stream always yields the same ids (replay-safe). */
    uint64_t h = ad_hash_field(0x1cc1de47, ev->service);
    h = ad_hash64(&ev->fingerprint, sizeof(ev->fingerprint), h);
    h = ad_hash64(&ev->time_ns, sizeof(ev->time_ns), h);
    snprintf(c->id, sizeof(c->id), "inc-%016llx", (unsigned long long)h);
    c->state = AD_CAND_OPEN;
    c->service = ad_sw_dup_str(ev->service);
    c->ci = ad_sw_dup_str(ev->resource);
    c->correlator = NAME;
    c->first_seen_ns = c->last_seen_ns = ev->time_ns;
    c->severity = ev->severity;
    c->priority = 0; /* set by recompute_priority once the first member is in */
    char why[384];
    ad_sw_group_reason(s, ev, why, sizeof(why));
    c->reason = strdup(why);
    if (!c->service || !c->ci || !c->reason || add_member(s, idx, ev) < 0) {
        forget(s, idx);
        s->st.oom++;
        return -ENOMEM;
    }
    c->event_count = 1;
    ad_sw_priority(s, sl, ev->time_ns, false);
    /* The opening alert counts for the first rule: the group when group_by is a rule. */
    bool grouped = s->active[AD_SW_GROUP_BY];
    if (!grouped) {
        snprintf(why, sizeof(why), "first alert on '%.*s'",
                 (int)(ev->resource.len > 200 ? 200 : ev->resource.len), ev->resource.p);
    }
    add_link(c, grouped ? AD_SW_GROUP_BY : AD_SW_TOPOLOGY, why);
    ad_sw_set_title(c);
    s->st.opened++;
    return emit(s, sl, ev->time_ns, sink);
}

/* The active rules learn from a resolved incident. */
static void rules_resolved(struct ad_svcwin *s, const struct ad_candidate *c)
{
    for (size_t i = 0; i < s->rules.n; i++) {
        uint8_t id = s->rules.order[i];
        if (ad_sw_rules[id]->resolved)
            ad_sw_rules[id]->resolved(s, s->rstate[id], c);
    }
}

#define MERGE_MAX 4 /* candidates merged per new alert */

/* Candidate `from` is the same incident as `into` (a rule's merge_with): its members, links,
 * counts and templates move to into; it is emitted once more, resolved, empty, with
 * merged_into, and forgotten. Later events of its alerts go to into. */
static void merge_into(struct ad_svcwin *s, uint32_t into, uint32_t from, int64_t now_ns,
                       const struct ad_cand_sink *sink)
{
    struct ad_sw_slot *a = &s->slots[into], *b = &s->slots[from];
    struct ad_candidate *x = &a->c, *y = &b->c;
    for (size_t r = 0; ad_sw_rules[r]; r++) {
        if (ad_sw_rules[r]->merged)
            ad_sw_rules[r]->merged(s, s->rstate[r], from, into, x->n_members);
        else if (ad_sw_rules[r]->forgot)
            ad_sw_rules[r]->forgot(s, s->rstate[r], from);
    }
    for (uint32_t k = 0; k < y->n_members; k++) {
        struct ad_cand_member *m = &y->members[k];
        bool room = x->n_members < s->cfg.max_members;
        if (room && x->n_members == x->cap_members) {
            uint32_t cap = x->cap_members ? x->cap_members * 2 : 4;
            if (cap > s->cfg.max_members)
                cap = (uint32_t)s->cfg.max_members;
            struct ad_cand_member *v = realloc(x->members, (size_t)cap * sizeof(*v));
            room = v != NULL;
            if (v) {
                x->members = v;
                x->cap_members = cap;
            }
        }
        if (!room || ad_u64map_put(&s->by_fp, m->fingerprint, into) < 0) {
            uint32_t v;
            if (ad_u64map_get(&s->by_fp, m->fingerprint, &v) && v == from)
                ad_u64map_del(&s->by_fp, m->fingerprint);
            x->members_omitted++;
            free(m->resource);
            free(m->check);
            free(m->service);
            continue;
        }
        x->members[x->n_members++] = *m;
        ad_sw_note_service(a, m->service);
    }
    y->n_members = 0; /* moved or freed */
    x->alert_count += y->alert_count;
    x->alerts_firing += y->alerts_firing;
    x->event_count += y->event_count;
    x->members_omitted += y->members_omitted;
    if (y->first_seen_ns < x->first_seen_ns)
        x->first_seen_ns = y->first_seen_ns;
    if (y->last_seen_ns > x->last_seen_ns)
        x->last_seen_ns = y->last_seen_ns;
    for (uint32_t k = 0; k < y->n_links; k++) {
        uint32_t i = 0;
        while (i < x->n_links && x->links[i].rule != y->links[k].rule)
            i++;
        if (i < x->n_links) {
            x->links[i].alerts += y->links[k].alerts;
        } else if (x->n_links < AD_CAND_MAX_LINKS) {
            x->links[x->n_links++] = y->links[k];
            y->links[k].reason = NULL; /* moved */
        }
    }
    for (uint32_t k = 0; k < y->n_links; k++)
        free(y->links[k].reason);
    y->n_links = 0; /* its last version says merged_into instead */
    for (uint32_t k = 0; k < y->n_templates; k++) {
        uint32_t i = 0;
        while (i < x->n_templates && x->templates[i].id != y->templates[k].id)
            i++;
        if (i < x->n_templates) {
            x->templates[i].alerts += y->templates[k].alerts;
        } else if (x->n_templates < AD_CAND_MAX_TEMPLATES) {
            x->templates[x->n_templates++] = y->templates[k];
            y->templates[k].text = NULL; /* moved */
        } else {
            x->templates_omitted++;
        }
    }
    x->templates_omitted += y->templates_omitted;
    recompute_severity(s, a, now_ns);
    ad_sw_set_title(x);
    a->dirty = true;
    if (x->state == AD_CAND_RESOLVED && x->alerts_firing > 0)
        x->state = AD_CAND_UPDATED;
    y->alert_count = y->alerts_firing = 0;
    y->state = AD_CAND_RESOLVED;
    y->resolved_because = "merged into another incident";
    y->merged_into = x->id;
    emit(s, b, now_ns, sink);
    y->merged_into = NULL;
    forget(s, from);
    s->st.merged++;
}

/* What the active rules' merge_with find for an alert that joined idx. */
static void merge_related(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev,
                          const struct ad_cand_sink *sink)
{
    for (size_t i = 0; i < s->rules.n; i++) {
        uint8_t id = s->rules.order[i];
        for (int k = 0; ad_sw_rules[id]->merge_with && k < MERGE_MAX; k++) {
            uint32_t other = ad_sw_rules[id]->merge_with(s, s->rstate[id], ev, idx);
            if (other == NIL || other == idx || !ad_sw_live(s, other, ev->time_ns))
                break;
            merge_into(s, idx, other, ev->time_ns, sink);
        }
    }
}

static int on_new_alert(struct ad_svcwin *s, const struct ad_event *ev,
                        const struct ad_cand_sink *sink)
{
    if (ev->flags & AD_EVF_SILENCED) { /* models/silence: counted, but opens no incident */
        s->st.silenced++;
        return 0;
    }
    uint32_t idx = NIL;
    uint8_t rule = AD_SW_GROUP_BY;
    char why[384] = "";
    for (size_t i = 0; i < s->rules.n && idx == NIL; i++) {
        rule = s->rules.order[i];
        idx = ad_sw_rules[rule]->match(s, s->rstate[rule], ev, why, sizeof(why));
    }
    for (size_t i = 0; ad_sw_rules[i]; i++)
        if (ad_sw_rules[i]->seen && (s->active[i] || s->learn_all))
            ad_sw_rules[i]->seen(s, s->rstate[i], ev);
    if (idx == NIL)
        return open_candidate(s, ev, sink);

    struct ad_sw_slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    bool was_resolved = c->state == AD_CAND_RESOLVED;
    if (m) {
        /* The same alert fires again after its resolve. */
        if (m->status == AD_STATUS_RESOLVED)
            c->alerts_firing++;
        m->status = AD_STATUS_FIRING;
        m->flapping = false; /* settled */
        m->severity = ev->severity;
        m->last_seen_ns = ev->time_ns;
        m->count++;
    } else {
        uint32_t dummy;
        if (ad_u64map_get(&s->by_fp, ev->fingerprint, &dummy) && dummy != idx) {
            /* Still a member of an older candidate of this service: move its resolve routing. */
            ad_u64map_del(&s->by_fp, ev->fingerprint);
        }
        if (add_member(s, idx, ev) < 0) {
            s->st.oom++;
            return -ENOMEM;
        }
        add_link(c, rule, why);
        ad_sw_set_title(c);
        s->st.joined++;
        s->st.joined_by[rule]++;
        merge_related(s, idx, ev, sink);
    }
    touch(c, ev);
    bool prio_changed = recompute_severity(s, sl, ev->time_ns);
    sl->dirty = true;
    if (was_resolved) {
        s->st.reopened++;
        c->state = AD_CAND_UPDATED;
        return emit(s, sl, ev->time_ns, sink);
    }
    c->state = AD_CAND_UPDATED;
    if (prio_changed || ev->time_ns - c->updated_ns >= s->cfg.update_interval_ns)
        return emit(s, sl, ev->time_ns, sink);
    return 0;
}

static int on_member_event(struct ad_svcwin *s, const struct ad_event *ev,
                           const struct ad_cand_sink *sink)
{
    uint32_t idx;
    if (!ad_u64map_get(&s->by_fp, ev->fingerprint, &idx)) {
        s->st.unknown_fingerprint++;
        return 0;
    }
    struct ad_sw_slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    if (!m)
        return 0;
    touch(c, ev);
    m->last_seen_ns = ev->time_ns > m->last_seen_ns ? ev->time_ns : m->last_seen_ns;
    m->count++;
    m->flapping = false; /* settled */
    if (ev->flags & AD_EVF_RESOLVED) {
        if (m->status == AD_STATUS_FIRING && c->alerts_firing > 0)
            c->alerts_firing--;
        m->status = AD_STATUS_RESOLVED;
    } else if (ev->flags & AD_EVF_ESCALATED) {
        m->severity = ev->severity;
    }
    bool prio_changed = recompute_severity(s, sl, ev->time_ns);
    if (c->alerts_firing == 0 && c->members_omitted == 0 && c->state != AD_CAND_RESOLVED) {
        c->state = AD_CAND_RESOLVED;
        s->st.resolved++;
        c->resolved_because = "all alerts resolved";
        int r = emit(s, sl, ev->time_ns, sink);
        ad_sw_problems_resolved(s, c, ev->time_ns, sink);
        rules_resolved(s, c);
        return r;
    }
    if (c->state == AD_CAND_RESOLVED)
        return 0;
    sl->dirty = true;
    c->state = AD_CAND_UPDATED;
    if (prio_changed || ev->time_ns - c->updated_ns >= s->cfg.update_interval_ns)
        return emit(s, sl, ev->time_ns, sink);
    return 0;
}


/* A flapping alert that is a member already: its state is followed quietly (no candidate change
 * is emitted, the candidate is neither resolved nor reopened by it) until it settles. Returns
 * false when it is not a member (it is then handled like any alert). */
static bool on_flapping(struct ad_svcwin *s, const struct ad_event *ev)
{
    uint32_t idx;
    if (!ad_u64map_get(&s->by_fp, ev->fingerprint, &idx))
        return false;
    struct ad_candidate *c = &s->slots[idx].c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    if (!m)
        return false;
    if (ev->status == AD_STATUS_FIRING && m->status == AD_STATUS_RESOLVED)
        c->alerts_firing++;
    else if (ev->status == AD_STATUS_RESOLVED && m->status == AD_STATUS_FIRING &&
             c->alerts_firing > 0)
        c->alerts_firing--;
    m->status = ev->status;
    m->flapping = true;
    m->count++;
    if (ev->time_ns > m->last_seen_ns)
        m->last_seen_ns = ev->time_ns;
    touch(c, ev);
    s->st.flapping_quiet++;
    return true;
}

int ad_svcwin_correlate(struct ad_svcwin *s, const struct ad_event *ev, const struct ad_cand_sink *sink)
{
    if (ev->kind != AD_KIND_ALERT || ev->fingerprint == 0)
        return 0;
    if ((ev->flags & AD_EVF_FLAPPING) && on_flapping(s, ev))
        return 0;
    if ((ev->flags & AD_EVF_NEW) && ev->status == AD_STATUS_FIRING)
        return on_new_alert(s, ev, sink);
    if (ev->flags & (AD_EVF_RESOLVED | AD_EVF_ESCALATED | AD_EVF_REPEAT))
        return on_member_event(s, ev, sink);
    return 0;
}

void ad_svcwin_tick(struct ad_svcwin *s, int64_t now_ns, const struct ad_cand_sink *sink)
{
    for (uint32_t i = 0; i < s->cap; i++) {
        struct ad_sw_slot *sl = &s->slots[i];
        if (!sl->used)
            continue;
        struct ad_candidate *c = &sl->c;
        /* Resolved by quiet: no event for resolve_after, or every alert resolved while some
         * flapped (their resolves were followed quietly) and nothing came for update_interval. */
        bool quiet_all_resolved = c->alerts_firing == 0 && c->members_omitted == 0 &&
                                  now_ns - c->last_seen_ns >= s->cfg.update_interval_ns;
        bool quiet = s->cfg.resolve_after_ns > 0 && now_ns - c->last_seen_ns > s->cfg.resolve_after_ns;
        if (c->state != AD_CAND_RESOLVED && (quiet_all_resolved || quiet)) {
            c->state = AD_CAND_RESOLVED;
            c->resolved_because = quiet_all_resolved ? "all alerts resolved" : "quiet";
            s->st.resolved++;
            s->st.resolved_quiet += !quiet_all_resolved;
            emit(s, sl, now_ns, sink);
            ad_sw_problems_resolved(s, c, now_ns, sink);
            rules_resolved(s, c);
            continue;
        }
        if (sl->dirty && now_ns - sl->c.updated_ns >= s->cfg.update_interval_ns)
            emit(s, sl, now_ns, sink);
        if (sl->c.state == AD_CAND_RESOLVED && !sl->dirty &&
            now_ns - sl->c.last_seen_ns > s->cfg.retain_ns) {
            forget(s, i);
            s->st.forgotten++;
        }
    }
}

void ad_svcwin_flush(struct ad_svcwin *s, const struct ad_cand_sink *sink)
{
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used && s->slots[i].dirty)
            emit(s, &s->slots[i], s->slots[i].c.last_seen_ns, sink);
}

void ad_svcwin_get_stats(const struct ad_svcwin *s, struct ad_svcwin_stats *ret)
{
    *ret = s->st;
    ret->open = s->n_used;
    ret->causes_tracked = ad_sw_problems_tracked(s->prob);
    ret->tracked_alerts = s->by_fp.n;
    ret->bytes = sizeof(*s) + (size_t)s->cap * sizeof(struct ad_sw_slot) +
                 ad_u64map_bytes(&s->by_fp);
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            ret->bytes += (size_t)s->slots[i].c.cap_members * sizeof(struct ad_cand_member);
    for (size_t r = 0; ad_sw_rules[r]; r++)
        if (ad_sw_rules[r]->stats)
            ad_sw_rules[r]->stats(s, s->rstate[r], ret);
}

/* --- snapshot ----------------------------------------------------------------------------- */

/* 9: each rule's state after the problems, in rule-table order; 8: templates; 7: learned
 * topology delays; 6: co-occurrence; 5: text sketches; 4: causes (problems); 3: member flapping;
 * 2: member services, links, the CI index */
#define SVCWIN_SNAP_VERSION 9
#define SNAP_MAX_SLOTS (1u << 26)

void ad_sw_save_map(struct ad_wr *w, const struct ad_u64map *m)
{
    ad_wr_u64(w, m->n);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            ad_wr_u64(w, m->slots[i].key);
            ad_wr_u32(w, m->slots[i].val);
        }
}

int ad_sw_load_map(const struct ad_svcwin *s, struct ad_rd *r, struct ad_u64map *m)
{
    uint64_t n = ad_rd_u64(r);
    if (r->bad || n > r->n / 12)
        return -EINVAL;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t key = ad_rd_u64(r);
        uint32_t val = ad_rd_u32(r);
        if (r->bad || key == 0 || val >= s->cap || !s->slots[val].used)
            return -EINVAL;
        if (ad_u64map_put(m, key, val) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void save_candidate(const struct ad_svcwin *s, uint32_t i, struct ad_wr *w)
{
    const struct ad_sw_slot *sl = &s->slots[i];
    const struct ad_candidate *c = &sl->c;
    ad_wr_u32(w, i);
    ad_wr_u8(w, sl->dirty);
    ad_wr_u64(w, sl->svc_key);
    ad_wr_cstr(w, c->id);
    ad_wr_u8(w, (uint8_t)c->state);
    ad_wr_u32(w, c->version);
    ad_wr_u32(w, (uint32_t)c->priority);
    ad_wr_u8(w, (uint8_t)c->severity);
    ad_wr_cstr(w, c->service);
    ad_wr_cstr(w, c->ci);
    ad_wr_cstr(w, c->title);
    ad_wr_cstr(w, c->reason);
    ad_wr_u32(w, c->alert_count);
    ad_wr_u32(w, c->alerts_firing);
    ad_wr_u64(w, c->event_count);
    ad_wr_i64(w, c->first_seen_ns);
    ad_wr_i64(w, c->last_seen_ns);
    ad_wr_i64(w, c->updated_ns);
    ad_wr_u32(w, c->members_omitted);
    ad_wr_u32(w, c->n_members);
    for (uint32_t k = 0; k < c->n_members; k++) {
        const struct ad_cand_member *m = &c->members[k];
        ad_wr_u64(w, m->fingerprint);
        ad_wr_cstr(w, m->resource);
        ad_wr_cstr(w, m->check);
        ad_wr_u8(w, (uint8_t)m->severity);
        ad_wr_u8(w, (uint8_t)m->status);
        ad_wr_i64(w, m->first_seen_ns);
        ad_wr_i64(w, m->last_seen_ns);
        ad_wr_u32(w, m->count);
        ad_wr_cstr(w, m->service ? m->service : "");
        ad_wr_u8(w, m->flapping);
    }
    for (size_t r = 0; ad_sw_rules[r]; r++)
        if (ad_sw_rules[r]->save_slot)
            ad_sw_rules[r]->save_slot(s->rstate[r], i, w);
    ad_wr_u32(w, c->n_links);
    for (uint32_t k = 0; k < c->n_links; k++) {
        uint8_t rule = AD_SW_GROUP_BY;
        for (size_t j = 0; ad_sw_rules[j]; j++)
            if (c->links[k].rule == ad_sw_rules[j]->name)
                rule = (uint8_t)j;
        ad_wr_u8(w, rule);
        ad_wr_cstr(w, c->links[k].reason);
        ad_wr_u32(w, c->links[k].alerts);
    }
    ad_wr_u32(w, c->n_templates);
    ad_wr_u32(w, c->templates_omitted);
    for (uint32_t k = 0; k < c->n_templates; k++) {
        ad_wr_u64(w, c->templates[k].id);
        ad_wr_cstr(w, c->templates[k].text);
        ad_wr_u32(w, c->templates[k].alerts);
    }
}

/* Slot layout, free list and every map are saved as they are, so that a restored correlator
 * allocates, iterates and evicts exactly as the original would have. */
int ad_svcwin_save(const struct ad_svcwin *s, struct ad_wr *w)
{
    ad_wr_u32(w, SVCWIN_SNAP_VERSION);
    ad_wr_u32(w, s->cap);
    ad_wr_u32(w, s->n_used);
    uint32_t n_free = 0;
    for (uint32_t i = s->free_head; i != NIL && n_free < s->cap; i = s->slots[i].next_free)
        n_free++;
    ad_wr_u32(w, n_free);
    for (uint32_t i = s->free_head, k = 0; k < n_free; i = s->slots[i].next_free, k++)
        ad_wr_u32(w, i);
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            save_candidate(s, i, w);
    ad_sw_save_map(w, &s->by_fp);
    ad_sw_problems_save(s->prob, w);
    /* Each rule's state, named (a rule unknown to the loader is refused, not misread). */
    ad_wr_u32(w, (uint32_t)ad_sw_rule_count());
    for (size_t r = 0; ad_sw_rules[r]; r++) {
        ad_wr_cstr(w, ad_sw_rules[r]->name);
        size_t at = ad_wr_begin_len(w);
        if (ad_sw_rules[r]->save)
            ad_sw_rules[r]->save(s, s->rstate[r], w);
        ad_wr_end_len(w, at);
    }
    return w->err;
}

static int load_candidate(struct ad_svcwin *s, struct ad_rd *r, uint32_t idx, uint32_t version)
{
    struct ad_sw_slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    char *id = ad_rd_strdup(r, AD_CAND_ID_LEN);
    if (id)
        memcpy(c->id, id, strlen(id) + 1);
    free(id);
    c->state = (enum ad_cand_state)ad_rd_u8(r);
    c->version = ad_rd_u32(r);
    c->priority = (int)ad_rd_u32(r);
    c->severity = (enum ad_severity)ad_rd_u8(r);
    c->service = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
    c->ci = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
    c->title = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
    c->reason = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
    c->alert_count = ad_rd_u32(r);
    c->alerts_firing = ad_rd_u32(r);
    c->event_count = ad_rd_u64(r);
    c->first_seen_ns = ad_rd_i64(r);
    c->last_seen_ns = ad_rd_i64(r);
    c->updated_ns = ad_rd_i64(r);
    c->members_omitted = ad_rd_u32(r);
    uint32_t n = ad_rd_u32(r);
    c->correlator = NAME;
    if (r->bad || c->state > AD_CAND_RESOLVED || c->severity > AD_SEV_CRITICAL || n > r->n / 38)
        return -EINVAL;
    if (n) {
        c->members = calloc(n, sizeof(*c->members));
        if (!c->members)
            return -ENOMEM;
        c->cap_members = n;
    }
    for (uint32_t k = 0; k < n; k++) {
        struct ad_cand_member *m = &c->members[k];
        m->fingerprint = ad_rd_u64(r);
        m->resource = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        m->check = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        m->severity = (enum ad_severity)ad_rd_u8(r);
        m->status = (enum ad_status)ad_rd_u8(r);
        m->first_seen_ns = ad_rd_i64(r);
        m->last_seen_ns = ad_rd_i64(r);
        m->count = ad_rd_u32(r);
        if (version >= 2)
            m->service = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        if (version >= 3)
            m->flapping = ad_rd_u8(r) != 0;
        c->n_members = k + 1; /* owned strings are freed by ad_candidate_fini on failure */
        if (r->bad || m->severity > AD_SEV_CRITICAL || m->status > AD_STATUS_RESOLVED)
            return -EINVAL;
    }
    for (size_t k = 0; ad_sw_rules[k]; k++) {
        int rc = ad_sw_rules[k]->load_slot ? ad_sw_rules[k]->load_slot(s->rstate[k], idx, r, version)
                                           : 0;
        if (rc < 0)
            return rc;
    }
    if (version < 2)
        return 0;
    uint32_t nl = ad_rd_u32(r);
    if (r->bad || nl > AD_CAND_MAX_LINKS)
        return -EINVAL;
    for (uint32_t k = 0; k < nl; k++) {
        uint8_t rule = ad_rd_u8(r);
        char *reason = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        uint32_t alerts = ad_rd_u32(r);
        if (r->bad || rule >= ad_sw_rule_count() || !reason) {
            free(reason);
            return -EINVAL;
        }
        c->links[k] = (struct ad_cand_link){ad_sw_rules[rule]->name, reason, alerts};
        c->n_links = k + 1;
    }
    if (version < 8)
        return 0;
    uint32_t nt = ad_rd_u32(r);
    c->templates_omitted = ad_rd_u32(r);
    if (r->bad || nt > AD_CAND_MAX_TEMPLATES)
        return -EINVAL;
    for (uint32_t k = 0; k < nt; k++) {
        uint64_t id = ad_rd_u64(r);
        char *text = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        uint32_t alerts = ad_rd_u32(r);
        if (r->bad || !text || id == 0) {
            free(text);
            return -EINVAL;
        }
        c->templates[k] = (struct ad_cand_template){id, text, alerts};
        c->n_templates = k + 1;
    }
    return 0;
}

static int load_rule(struct ad_svcwin *s, size_t id, struct ad_rd *r, uint32_t version)
{
    return ad_sw_rules[id]->load ? ad_sw_rules[id]->load(s, s->rstate[id], r, version) : 0;
}

/* Snapshots 1-8 interleave the rules' state with the engine's: group index, fingerprints, CI
 * index, text bands, co-occurrence, problems, learned topology delays. */
static int load_v8(struct ad_svcwin *s, struct ad_rd *r, uint32_t version)
{
    int rc = load_rule(s, AD_SW_GROUP_BY, r, version);
    if (rc == 0)
        rc = ad_sw_load_map(s, r, &s->by_fp);
    for (size_t id = AD_SW_TOPOLOGY; rc == 0 && id <= AD_SW_COOCCUR; id++)
        if (id != AD_SW_GROUP_BY)
            rc = load_rule(s, id, r, version);
    if (rc == 0 && version >= 4)
        rc = ad_sw_problems_load(s, r);
    if (rc == 0 && version >= 7)
        rc = ad_sw_topology_load_learned(s, r);
    return rc;
}

/* From 9: the rules' sections by name, each read whole (a rule that reads less or more than
 * its section is a corrupt snapshot). A rule absent from the snapshot starts empty. */
static int load_rules(struct ad_svcwin *s, struct ad_rd *r, uint32_t version)
{
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > AD_SW_MAX_RULES)
        return -EINVAL;
    for (uint32_t k = 0; k < n; k++) {
        char *name = ad_rd_strdup(r, 64);
        uint32_t len = ad_rd_u32(r);
        if (!name || r->bad || len > r->n) {
            free(name);
            return -EINVAL;
        }
        size_t id = 0;
        while (ad_sw_rules[id] && strcmp(ad_sw_rules[id]->name, name) != 0)
            id++;
        free(name);
        if (!ad_sw_rules[id])
            return -EINVAL;
        struct ad_rd sub = {r->p, len, false};
        int rc = load_rule(s, id, &sub, version);
        if (rc < 0)
            return rc;
        if (sub.bad || sub.n != 0)
            return -EINVAL;
        r->p += len;
        r->n -= len;
    }
    return 0;
}

int ad_svcwin_load(struct ad_svcwin *s, struct ad_rd *r)
{
    uint32_t version = ad_rd_u32(r);
    if (s->cap != 0 || version < 1 || version > SVCWIN_SNAP_VERSION)
        return -EINVAL;
    uint32_t cap = ad_rd_u32(r), n_used = ad_rd_u32(r), n_free = ad_rd_u32(r);
    /* Every slot is in one of the lists, by a u32 index at least: a few bytes cannot claim a
     * huge table (a 10 GB calloc from a 40-byte snapshot, found by tests/fuzz/fuzz_state). */
    if (r->bad || cap > SNAP_MAX_SLOTS || n_used > cap || n_free > cap - n_used ||
        n_used + n_free != cap || cap > r->n / 4)
        return -EINVAL;
    if (cap) {
        s->slots = calloc(cap, sizeof(*s->slots));
        if (!s->slots)
            return -ENOMEM;
        s->cap = cap;
    }
    /* The free list in its saved order, then the used slots; each slot exactly once. */
    uint8_t *seen = calloc(cap ? cap : 1, 1);
    if (!seen)
        return -ENOMEM;
    int rc = 0;
    uint32_t *tail = &s->free_head;
    for (uint32_t k = 0; k < n_free && rc == 0; k++) {
        uint32_t i = ad_rd_u32(r);
        if (r->bad || i >= cap || seen[i]) {
            rc = -EINVAL;
            break;
        }
        seen[i] = 1;
        *tail = i;
        tail = &s->slots[i].next_free;
    }
    *tail = NIL;
    for (uint32_t k = 0; k < n_used && rc == 0; k++) {
        uint32_t i = ad_rd_u32(r);
        if (r->bad || i >= cap || seen[i]) {
            rc = -EINVAL;
            break;
        }
        seen[i] = 1;
        struct ad_sw_slot *sl = &s->slots[i];
        sl->used = true;
        s->n_used++;
        sl->dirty = ad_rd_u8(r) != 0;
        sl->svc_key = ad_rd_u64(r);
        rc = load_candidate(s, r, i, version);
        for (uint32_t k2 = 0; rc == 0 && k2 < sl->c.n_members; k2++)
            ad_sw_note_service(sl, sl->c.members[k2].service);
    }
    free(seen);
    /* Slots in neither list would be lost for good: refuse such a snapshot. */
    if (rc == 0 && n_used + n_free != cap)
        rc = -EINVAL;
    if (rc < 0)
        return rc;
    if (version <= 8) {
        rc = load_v8(s, r, version);
    } else {
        rc = ad_sw_load_map(s, r, &s->by_fp);
        if (rc == 0)
            rc = ad_sw_problems_load(s, r);
        if (rc == 0)
            rc = load_rules(s, r, version);
    }
    return rc < 0 ? rc : r->bad ? -EINVAL : 0;
}

/* --- correlator ops ------------------------------------------------------------------- */

static const char *const crit_names[] = {"low", "medium", "high", "critical", NULL};

static const struct ad_opt svcwin_opts[] = {
    AD_OPT_DURATION("window", "10m", "1s", "1d", struct ad_svcwin_cfg, window_ns,
                    "A new alert joins its service's candidate if that candidate saw an alert "
                    "within this window; otherwise it opens a new candidate."),
    AD_OPT_DURATION("update_interval", "30s", "0s", "1h", struct ad_svcwin_cfg, update_interval_ns,
                    "Member joins and repeats are coalesced into at most one 'updated' entry per "
                    "candidate per interval; open, resolve and priority changes are immediate."),
    AD_OPT_DURATION("retain", "1h", "1s", "7d", struct ad_svcwin_cfg, retain_ns,
                    "A resolved candidate is kept (and can be reopened) this long after its last "
                    "alert, then forgotten."),
    AD_OPT_UINT("max_open", "10000", "10", "10000000", struct ad_svcwin_cfg, max_open,
                "Candidates held at once; past this the least recently active is evicted."),
    AD_OPT_UINT("max_members", "1000", "1", "1000000", struct ad_svcwin_cfg, max_members,
                "Alerts tracked per candidate; more are counted in alerts_omitted."),
    AD_OPT_UINT("max_listed", "32", "1", "1000000", struct ad_svcwin_cfg, max_listed,
                "Member alerts (and CIs) listed in a candidate's JSON; the rest are counted in "
                "alerts_omitted. Raise it for offline evaluation (aiopsctl replay)."),
    AD_OPT_STRLIST("link", "topology,mentions,group_by", struct ad_svcwin_cfg, link,
                   "Linking rules tried in this order for a new alert: topology (the dependency "
                   "graph of topology_file), mentions (the CIs an alert's text names), group_by, "
                   "text, cooccurrence (docs/topology.md); the first that finds a live candidate "
                   "wins, else the alert opens one."),
    AD_OPT_STRLIST("group_by", "service", struct ad_svcwin_cfg, group_by,
                   "Fields (service, resource, check, source) or label names whose equal values "
                   "put alerts in one candidate, like Alertmanager's group_by across sources."),
    AD_OPT_STRING("topology_file", "", "4096", struct ad_svcwin_cfg, topology_file,
                  "Configuration-item graph (docs/topology.md); re-read on SIGHUP. Empty: no "
                  "topology linking."),
    AD_OPT_UINT("topology_depth", "3", "1", "16", struct ad_svcwin_cfg, topology_depth,
                "Dependency hops walked from a new alert's CI to find a candidate to join."),
    AD_OPT_STRLIST("priority_matrix", "P1,P2,P3,P2,P3,P4,P3,P4,P5", struct ad_svcwin_cfg,
                   priority_matrix,
                   "ITIL priority by impact (rows: high, medium, low) and urgency (columns: high, "
                   "medium, low), 9 of P1..P5 row by row (docs/priority.md)."),
    AD_OPT_ENUM("default_criticality", "medium", crit_names, struct ad_svcwin_cfg,
                default_criticality, "Criticality of CIs not in the topology (or without one)."),
    AD_OPT_UINT("impact_services", "3", "1", "16", struct ad_svcwin_cfg, impact_services,
                "An incident affecting this many services or more has its impact raised a level."),
    AD_OPT_UINT("urgency_growth", "10", "1", "1000000", struct ad_svcwin_cfg, urgency_growth,
                "This many alerts joining within urgency_window raise the urgency a level (a "
                "growing incident)."),
    AD_OPT_DURATION("urgency_window", "5m", "1s", "1d", struct ad_svcwin_cfg, urgency_window_ns,
                    "The window of urgency_growth."),
    AD_OPT_DOUBLE("text_similarity", "0.6", "0.1", "1", struct ad_svcwin_cfg, text_similarity,
                  "Text rule: estimated token-set (Jaccard) similarity of check and summary, "
                  "numbers left out, at which an alert joins a candidate with such a text."),
    AD_OPT_UINT("cooccur_min_support", "3", "1", "1000000", struct ad_svcwin_cfg,
                cooccur_min_support,
                "Co-occurrence rule: resolved incidents in which two kinds (checks) fired "
                "together before they link."),
    AD_OPT_DOUBLE("cooccur_min_confidence", "0.8", "0.1", "1", struct ad_svcwin_cfg,
                  cooccur_min_confidence,
                  "Co-occurrence rule: share of the alert kind's incidents that also held the "
                  "other kind."),
    AD_OPT_UINT("cooccur_max_kinds", "10000", "16", "10000000", struct ad_svcwin_cfg,
                cooccur_max_kinds,
                "Alert kinds learned; past it the kind seen in the fewest incidents is dropped."),
    AD_OPT_UINT("learn_min_support", "3", "1", "1000000", struct ad_svcwin_cfg, learn_min_support,
                "Learned rule: times a CI failed within topology_window after another before "
                "the pair can link (docs/topology.md)."),
    AD_OPT_DOUBLE("learn_min_confidence", "0.5", "0.01", "1", struct ad_svcwin_cfg,
                  learn_min_confidence,
                  "Learned rule: share of the first CI's failures that the second followed "
                  "(besides standing out from the pair's base rates by 3 sigma)."),
    AD_OPT_STRING_R("learn_state_file", "topology_learned.state", "4096", struct ad_svcwin_cfg,
                    learn_state_file,
                    "Where aiopsd keeps the learned dependencies (learned rule) across restarts, "
                    "relative to daemon.state_dir; \"\" disables (Kafka partitions keep them in "
                    "their checkpoints)."),
    AD_OPT_DURATION("learn_save_interval", "5m", "10s", "1d", struct ad_svcwin_cfg,
                    learn_save_interval_ns,
                    "How often the learned dependencies' state file is rewritten (and at "
                    "shutdown)."),
    AD_OPT_UINT("problem_threshold", "3", "0", "1000", struct ad_svcwin_cfg, problem_threshold,
                "Incidents with the same cause (root CI and check) within problem_period that "
                "raise a problem candidate (docs/problems.md); 0: no problems."),
    AD_OPT_DURATION("problem_period", "24h", "1m", "90d", struct ad_svcwin_cfg, problem_period_ns,
                    "The window of problem_threshold."),
    AD_OPT_UINT("max_problems", "10000", "1", "10000000", struct ad_svcwin_cfg, max_problems,
                "Causes tracked for problems; past it the least recently seen is forgotten."),
    AD_OPT_DURATION("resolve_after", "0s", "0s", "30d", struct ad_svcwin_cfg, resolve_after_ns,
                    "Resolve a candidate that saw no event for this long, firing alerts or not "
                    "(for sources that never send resolves); 0s: only when all alerts resolved."),
    AD_OPT_DURATION("topology_window", "10m", "1s", "1d", struct ad_svcwin_cfg, topology_window_ns,
                    "How long after its cause's alert a symptom may fire and still join it along "
                    "a dependency. Alerting rules with a 'for:' delay fire minutes after the "
                    "cause, so keep it above the longest such delay (docs/topology.md)."),
    AD_OPT_BOOL("topology_learn", "true", struct ad_svcwin_cfg, topology_learn,
                "Learn how long after their cause symptoms arrive here (a histogram of the delays "
                "to failing dependencies) and join only delays seen more often than chance; "
                "topology_window stays the upper bound (docs/topology.md)."),
    AD_OPT_DURATION("topology_lag", "2m", "0s", "1h", struct ad_svcwin_cfg, topology_lag_ns,
                    "How much earlier than its cause a symptom may be seen: an alert joins a "
                    "candidate whose firing alerts on CIs that depend on it started at most this "
                    "long before (causes are usually seen first; monitoring intervals differ)."),
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_svcwin_create(cfg, (struct ad_svcwin **)ret, reterr);
}

/* Re-reads topology_file too (SIGHUP is how an operator says the graph changed). Nothing
 * changes when the new rules cannot be built. */
static int op_reconfigure(void *state, const void *cfgp, struct ad_err *reterr)
{
    struct ad_svcwin *s = state;
    const struct ad_svcwin_cfg *cfg = cfgp;
    struct ad_sw_rules next;
    int r = rules_build(cfg, &next, reterr);
    if (r < 0)
        return r;
    rules_fini(&s->rules);
    s->rules = next;
    s->cfg = *cfg;
    s->cfg.link = s->cfg.group_by = (struct ad_strlist){0};
    s->cfg.topology_file = NULL;
    s->cfg.learn_state_file = NULL; /* the daemon's (daemon/model_state.c) */
    s->st.topology_reloads++;
    set_active(s);
    for (size_t i = 0; r == 0 && ad_sw_rules[i]; i++)
        if (ad_sw_rules[i]->reconfigured)
            r = ad_sw_rules[i]->reconfigured(s, s->rstate[i]);
    return r;
}

static int op_correlate(void *state, const struct ad_event *ev, const struct ad_cand_sink *sink)
{
    return ad_svcwin_correlate(state, ev, sink);
}

static void op_tick(void *state, int64_t now_ns, const struct ad_cand_sink *sink)
{
    ad_svcwin_tick(state, now_ns, sink);
}

static void op_flush(void *state, const struct ad_cand_sink *sink) { ad_svcwin_flush(state, sink); }

static void op_stats(const void *state, struct ad_metrics *m)
{
    struct ad_svcwin_stats st;
    ad_svcwin_get_stats(state, &st);
    ad_metrics_gauge(m, "aiopsd_candidates_open", "Incident candidates held now.", NULL,
                     (double)st.open);
    ad_metrics_gauge(m, "aiopsd_correlator_tracked_alerts", "Member alerts tracked for resolves.",
                     NULL, (double)st.tracked_alerts);
    ad_metrics_gauge(m, "aiopsd_correlator_bytes", "Memory held by the correlator.", NULL,
                     (double)st.bytes);
    const char *h = "Candidate lifecycle transitions.";
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"opened\"", st.opened);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"joined\"", st.joined);
    const char *jh = "Alerts joined to an existing candidate, by linking rule.";
    for (size_t r = 0; ad_sw_rules[r]; r++) {
        char lbl[80];
        snprintf(lbl, sizeof(lbl), "rule=\"%s\"", ad_sw_rules[r]->name);
        ad_metrics_counter(m, "aiopsd_candidate_joins_total", jh, lbl, st.joined_by[r]);
    }
    ad_metrics_gauge(m, "aiopsd_learned_topology_cis", "CIs with counted failures (learned rule).",
                     NULL, (double)st.learned_cis);
    ad_metrics_gauge(m, "aiopsd_learned_topology_pairs",
                     "CI pairs counted for learned dependencies (learned rule).", NULL,
                     (double)st.learned_pairs);
    ad_metrics_gauge(m, "aiopsd_cooccur_kinds", "Alert kinds with learned co-occurrences.", NULL,
                     (double)st.cooccur_kinds);
    ad_metrics_gauge(m, "aiopsd_topology_cis", "CIs in the loaded topology_file.", NULL,
                     (double)st.topology_nodes);
    ad_metrics_gauge(m, "aiopsd_topology_dependencies", "Dependencies in the loaded topology_file.",
                     NULL, (double)st.topology_edges);
    ad_metrics_gauge(m, "aiopsd_topology_window_seconds",
                     "How long after a failing dependency a symptom may join it: learned "
                     "(topology_learn) or topology_window.", NULL,
                     (double)st.topology_window_learned_ns / 1e9);
    ad_metrics_counter(m, "aiopsd_topology_late_total",
                       "Alerts whose failing dependency fired longer ago than the learned window "
                       "(not joined along the dependency).", NULL, st.topology_late);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"reopened\"", st.reopened);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"resolved\"", st.resolved);
    ad_metrics_counter(m, "aiopsd_candidate_updates_total", "Coalesced 'updated' entries emitted.",
                       NULL, st.updates_emitted);
    ad_metrics_counter(m, "aiopsd_problems_total", "Problem candidates: raised, and updated by a "
                       "further recurrence.", "transition=\"raised\"", st.problems_raised);
    ad_metrics_counter(m, "aiopsd_problems_total", "Problem candidates: raised, and updated by a "
                       "further recurrence.", "transition=\"updated\"", st.problem_updates);
    ad_metrics_gauge(m, "aiopsd_problem_causes", "Cause signatures tracked for problems.", NULL,
                     (double)st.causes_tracked);
    ad_metrics_counter(m, "aiopsd_problem_causes_forgotten_total",
                       "Causes forgotten because max_problems was reached.", NULL,
                       st.causes_forgotten);
    ad_metrics_counter(m, "aiopsd_candidates_resolved_quiet_total",
                       "Candidates resolved by resolve_after (no event for that long).", NULL,
                       st.resolved_quiet);
    ad_metrics_counter(m, "aiopsd_candidate_flapping_events_total",
                       "Events of flapping member alerts followed without updating the candidate.",
                       NULL, st.flapping_quiet);
    ad_metrics_counter(m, "aiopsd_candidates_evicted_total",
                       "Candidates evicted because max_open was reached.", NULL, st.evicted);
    ad_metrics_counter(m, "aiopsd_candidate_members_omitted_total",
                       "Alerts counted but not tracked (max_members).", NULL, st.members_omitted);
    ad_metrics_counter(m, "aiopsd_correlator_oom_total", "Events shed because memory ran out.",
                       NULL, st.oom);
    ad_metrics_counter(m, "aiopsd_alerts_silenced_total",
                       "New alerts that opened no incident because a silence matched.", NULL,
                       st.silenced);
}

static void op_destroy(void *state) { ad_svcwin_destroy(state); }

static int op_save(const void *state, struct ad_wr *w) { return ad_svcwin_save(state, w); }

static int op_load(void *state, struct ad_rd *r, struct ad_err *reterr)
{
    int rc = ad_svcwin_load(state, r);
    return rc < 0 ? ad_err_set(reterr, -rc, "correlators.service_window: %s",
                               rc == -ENOMEM ? "out of memory" : "corrupt snapshot")
                  : 0;
}

const struct ad_correlator_ops ad_correlator_service_window = {
    .name = "service_window",
    .doc = "Joins alerts into incident candidates by dependency topology and by group_by "
           "fields within a time window; names the probable root cause.",
    .opts = svcwin_opts,
    .cfg_size = sizeof(struct ad_svcwin_cfg),
    .create = op_create,
    .reconfigure = op_reconfigure,
    .correlate = op_correlate,
    .tick = op_tick,
    .flush = op_flush,
    .stats = op_stats,
    .destroy = op_destroy,
    .save = op_save,
    .load = op_load,
};
