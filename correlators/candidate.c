/* correlators/candidate.c: candidate JSON (docs/redis.md "Candidate JSON"). Pure: no I/O. */
#include "correlators/candidate.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/time.h"

static const char *const state_names[] = {"open", "updated", "resolved"};

const char *ad_cand_state_name(enum ad_cand_state s) { return state_names[s]; }

static void time_field(struct ad_jsonw *w, const char *key, int64_t ns)
{
    char ts[40];
    ad_jsonw_key(w, key);
    ad_jsonw_cstr(w, ad_time_format_rfc3339(ns, ts, sizeof(ts)));
}

static void member_json(struct ad_jsonw *w, const struct ad_cand_member *m)
{
    char fp[17];
    snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)m->fingerprint);
    ad_jsonw_obj_begin(w);
    ad_jsonw_key(w, "fingerprint");
    ad_jsonw_cstr(w, fp);
    ad_jsonw_key(w, "resource");
    ad_jsonw_cstr(w, m->resource);
    ad_jsonw_key(w, "check");
    ad_jsonw_cstr(w, m->check);
    ad_jsonw_key(w, "severity");
    ad_jsonw_cstr(w, ad_severity_name(m->severity));
    ad_jsonw_key(w, "status");
    ad_jsonw_cstr(w, ad_status_name(m->status));
    time_field(w, "first_seen", m->first_seen_ns);
    time_field(w, "last_seen", m->last_seen_ns);
    ad_jsonw_key(w, "count");
    ad_jsonw_uint(w, m->count);
    if (m->flapping) {
        ad_jsonw_key(w, "flapping");
        ad_jsonw_bool(w, true);
    }
    ad_jsonw_obj_end(w);
}

/* Distinct values of one string field of the members, at most max, in member order. At most
 * max values are ever kept, so the set of seen hashes has room for 2 x max: on the stack for the
 * usual 32, allocated for larger listings (offline evaluation). */
static void distinct(struct ad_jsonw *w, const char *key, const struct ad_candidate *c, uint32_t max,
                     size_t field)
{
#define FIELD(i) (*(char *const *)((const char *)&c->members[i] + field))
    struct seen {
        uint64_t h; /* 0: empty */
        uint32_t at;
    } stack[128], *set = stack;
    size_t cap = 128, room = max < c->n_members ? max : c->n_members; /* values ever kept */
    while (cap < 2 * room && cap < ((size_t)1 << 24))
        cap *= 2;
    if (cap > 128 && !(set = calloc(cap, sizeof(*set)))) {
        set = stack; /* out of memory: list fewer, never more than the stack set holds */
        cap = 128;
        if (max > 64)
            max = 64;
    }
    if (set == stack)
        memset(stack, 0, sizeof(stack));
    ad_jsonw_key(w, key);
    ad_jsonw_arr_begin(w);
    for (uint32_t i = 0, shown = 0; i < c->n_members && shown < max; i++) {
        const char *v = FIELD(i);
        if (!v)
            continue;
        uint64_t h = ad_hash64(v, strlen(v), 0xd15) | 1;
        size_t k = (size_t)h & (cap - 1);
        bool dup = false;
        for (; set[k].h; k = (k + 1) & (cap - 1))
            if (set[k].h == h && strcmp(FIELD(set[k].at), v) == 0) {
                dup = true;
                break;
            }
        if (dup)
            continue;
        set[k].h = h;
        set[k].at = i;
        ad_jsonw_cstr(w, v);
        shown++;
    }
    ad_jsonw_arr_end(w);
    if (set != stack)
        free(set);
#undef FIELD
}

/* The fields both documents start with: id, message_key, type, source, state. */
static void head_fields(struct ad_jsonw *w, const struct ad_candidate *c, const char *type)
{
    ad_jsonw_key(w, "id");
    ad_jsonw_cstr(w, c->id);
    ad_jsonw_key(w, "message_key"); /* ServiceNow's dedup key: stable per candidate */
    ad_jsonw_cstr(w, c->id);
    ad_jsonw_key(w, "type");
    ad_jsonw_cstr(w, type);
    ad_jsonw_key(w, "source");
    ad_jsonw_cstr(w, "aiopsd");
    ad_jsonw_key(w, "state");
    ad_jsonw_cstr(w, ad_cand_state_name(c->state));
}

static void priority_fields(struct ad_jsonw *w, int priority)
{
    char prio[16];
    snprintf(prio, sizeof(prio), "P%d", priority);
    ad_jsonw_key(w, "priority");
    ad_jsonw_cstr(w, prio);
    ad_jsonw_key(w, "priority_level");
    ad_jsonw_int(w, priority);
}

/* service, ci, title. */
static void where_fields(struct ad_jsonw *w, const struct ad_candidate *c)
{
    ad_jsonw_key(w, "service");
    ad_jsonw_cstr(w, c->service ? c->service : "");
    ad_jsonw_key(w, "ci");
    ad_jsonw_cstr(w, c->ci ? c->ci : "");
    ad_jsonw_key(w, "title");
    ad_jsonw_cstr(w, c->title ? c->title : "");
}

/* One entry of "correlation": {correlator, reason[, alerts]} (alerts < 0: left out). */
static void correlation_entry(struct ad_jsonw *w, const char *correlator, const char *reason,
                              int64_t alerts)
{
    ad_jsonw_obj_begin(w);
    ad_jsonw_key(w, "correlator");
    ad_jsonw_cstr(w, correlator ? correlator : "");
    ad_jsonw_key(w, "reason");
    ad_jsonw_cstr(w, reason ? reason : "");
    if (alerts >= 0) {
        ad_jsonw_key(w, "alerts");
        ad_jsonw_uint(w, (uint64_t)alerts);
    }
    ad_jsonw_obj_end(w);
}

/* docs/redis.md "Problem JSON". */
static int problem_json(const struct ad_candidate *c, struct ad_buf *out)
{
    struct ad_jsonw w;
    char prio[4];
    ad_jsonw_init(&w, out);
    ad_jsonw_obj_begin(&w);
    head_fields(&w, c, "problem");
    ad_jsonw_key(&w, "version");
    ad_jsonw_uint(&w, c->version);
    priority_fields(&w, c->priority);
    where_fields(&w, c);
    ad_jsonw_key(&w, "cause");
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "ci");
    ad_jsonw_cstr(&w, c->cause_ci ? c->cause_ci : "");
    ad_jsonw_key(&w, "check");
    ad_jsonw_cstr(&w, c->cause_check ? c->cause_check : "");
    ad_jsonw_obj_end(&w);
    ad_jsonw_key(&w, "recurrence");
    ad_jsonw_obj_begin(&w);
    ad_jsonw_key(&w, "incidents_in_period");
    ad_jsonw_uint(&w, c->n_incidents);
    ad_jsonw_key(&w, "period_s");
    ad_jsonw_int(&w, c->period_ns / 1000000000);
    ad_jsonw_key(&w, "incidents_total");
    ad_jsonw_uint(&w, c->incidents_total);
    ad_jsonw_obj_end(&w);
    time_field(&w, "first_seen", c->first_seen_ns);
    time_field(&w, "last_seen", c->last_seen_ns);
    time_field(&w, "updated_at", c->updated_ns);
    ad_jsonw_key(&w, "incidents");
    ad_jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < c->n_incidents; i++) {
        const struct ad_cand_incident *x = &c->incidents[i];
        ad_jsonw_obj_begin(&w);
        ad_jsonw_key(&w, "id");
        ad_jsonw_cstr(&w, x->id);
        time_field(&w, "first_seen", x->first_seen_ns);
        time_field(&w, "resolved_at", x->resolved_ns);
        snprintf(prio, sizeof(prio), "P%d", x->priority);
        ad_jsonw_key(&w, "priority");
        ad_jsonw_cstr(&w, prio);
        ad_jsonw_key(&w, "alert_count");
        ad_jsonw_uint(&w, x->alert_count);
        ad_jsonw_obj_end(&w);
    }
    ad_jsonw_arr_end(&w);

    ad_jsonw_key(&w, "correlation");
    ad_jsonw_arr_begin(&w);
    correlation_entry(&w, "problems", c->reason, -1);
    ad_jsonw_arr_end(&w);
    ad_jsonw_obj_end(&w);
    return ad_jsonw_finish(&w);
}

int ad_candidate_to_json(const struct ad_candidate *c, struct ad_buf *out)
{
    struct ad_jsonw w;

    if (c->type == AD_CAND_PROBLEM)
        return problem_json(c, out);

    ad_jsonw_init(&w, out);
    ad_jsonw_obj_begin(&w);
    head_fields(&w, c, "incident");
    ad_jsonw_key(&w, "resolution_state"); /* ServiceNow: New / Closing */
    ad_jsonw_cstr(&w, c->state == AD_CAND_RESOLVED ? "Closing" : "New");
    ad_jsonw_key(&w, "version");
    ad_jsonw_uint(&w, c->version);
    if (c->state == AD_CAND_RESOLVED && c->resolved_because) {
        ad_jsonw_key(&w, "resolved_because");
        ad_jsonw_cstr(&w, c->resolved_because);
    }
    if (c->merged_into) {
        ad_jsonw_key(&w, "merged_into");
        ad_jsonw_cstr(&w, c->merged_into);
    }
    priority_fields(&w, c->priority);
    if (c->priority_reason && c->priority_reason[0]) {
        static const char *const levels[] = {"high", "medium", "low"};
        ad_jsonw_key(&w, "impact");
        ad_jsonw_cstr(&w, levels[c->impact < 3 ? c->impact : 2]);
        ad_jsonw_key(&w, "urgency");
        ad_jsonw_cstr(&w, levels[c->urgency < 3 ? c->urgency : 2]);
        ad_jsonw_key(&w, "priority_reason");
        ad_jsonw_cstr(&w, c->priority_reason);
    }
    ad_jsonw_key(&w, "severity");
    ad_jsonw_cstr(&w, ad_severity_name(c->severity));
    ad_jsonw_key(&w, "severity_code"); /* ServiceNow numeric: 1 critical .. 5 info */
    ad_jsonw_int(&w, ad_severity_snow_code(c->severity));
    where_fields(&w, c);
    ad_jsonw_key(&w, "alert_count");
    ad_jsonw_uint(&w, c->alert_count);
    ad_jsonw_key(&w, "alerts_firing");
    ad_jsonw_uint(&w, c->alerts_firing);
    ad_jsonw_key(&w, "event_count");
    ad_jsonw_uint(&w, c->event_count);
    time_field(&w, "first_seen", c->first_seen_ns);
    time_field(&w, "last_seen", c->last_seen_ns);
    time_field(&w, "updated_at", c->updated_ns);

    ad_jsonw_key(&w, "alerts");
    ad_jsonw_arr_begin(&w);
    const uint32_t max_listed = c->max_listed ? c->max_listed : AD_CAND_MAX_LISTED;
    uint32_t listed = c->n_members < max_listed ? c->n_members : max_listed;
    for (uint32_t i = 0; i < listed; i++)
        member_json(&w, &c->members[i]);
    ad_jsonw_arr_end(&w);
    ad_jsonw_key(&w, "alerts_omitted");
    ad_jsonw_uint(&w, (uint64_t)(c->n_members - listed) + c->members_omitted);

    distinct(&w, "cis", c, max_listed, offsetof(struct ad_cand_member, resource));
    distinct(&w, "services", c, max_listed, offsetof(struct ad_cand_member, service));

    if (c->n_members > 0) {
        const struct ad_cand_member *r =
            &c->members[c->root_member < c->n_members ? c->root_member : 0];
        ad_jsonw_key(&w, "root_cause");
        ad_jsonw_obj_begin(&w);
        ad_jsonw_key(&w, "ci");
        ad_jsonw_cstr(&w, r->resource);
        ad_jsonw_key(&w, "check");
        ad_jsonw_cstr(&w, r->check);
        ad_jsonw_key(&w, "service");
        ad_jsonw_cstr(&w, r->service ? r->service : "");
        ad_jsonw_key(&w, "reason");
        ad_jsonw_cstr(&w, c->root_reason ? c->root_reason : "first alert");
        ad_jsonw_obj_end(&w);
    }

    if (c->n_templates > 0) {
        ad_jsonw_key(&w, "templates");
        ad_jsonw_arr_begin(&w);
        for (uint32_t i = 0; i < c->n_templates; i++) {
            char id[24];
            snprintf(id, sizeof(id), "%016llx", (unsigned long long)c->templates[i].id);
            ad_jsonw_obj_begin(&w);
            ad_jsonw_key(&w, "id");
            ad_jsonw_cstr(&w, id);
            ad_jsonw_key(&w, "template");
            ad_jsonw_cstr(&w, c->templates[i].text);
            ad_jsonw_key(&w, "alerts");
            ad_jsonw_uint(&w, c->templates[i].alerts);
            ad_jsonw_obj_end(&w);
        }
        ad_jsonw_arr_end(&w);
        ad_jsonw_key(&w, "templates_omitted");
        ad_jsonw_uint(&w, c->templates_omitted);
    }

    ad_jsonw_key(&w, "correlation");
    ad_jsonw_arr_begin(&w);
    for (uint32_t i = 0; i < c->n_links; i++)
        correlation_entry(&w, c->links[i].rule, c->links[i].reason, c->links[i].alerts);
    if (c->n_links == 0)
        correlation_entry(&w, c->correlator, c->reason, -1);
    ad_jsonw_arr_end(&w);
    ad_jsonw_obj_end(&w);
    return ad_jsonw_finish(&w);
}

void ad_candidate_fini(struct ad_candidate *c)
{
    for (uint32_t i = 0; i < c->n_members; i++) {
        free(c->members[i].resource);
        free(c->members[i].check);
        free(c->members[i].service);
    }
    for (uint32_t i = 0; i < c->n_links; i++)
        free(c->links[i].reason);
    for (uint32_t i = 0; i < c->n_templates; i++)
        free(c->templates[i].text);
    free(c->priority_reason);
    free(c->members);
    free(c->service);
    free(c->ci);
    free(c->title);
    free(c->reason);
    memset(c, 0, sizeof(*c));
}
