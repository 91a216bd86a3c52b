/* correlators/problems.c: problems, recurring incidents of one cause (docs/problems.md). A
 * resolved incident counts for the cause of its root alert (root CI and check); problem_threshold
 * of them within problem_period raise (then update) that cause's problem candidate. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/ser.h"
#include "common/time.h"
#include "correlators/engine.h"

#define CAUSE_MAX_INCIDENTS 32 /* recent incidents kept per cause (for the problem's list) */

/* A cause signature (root CI + check) and its recent resolved incidents, oldest first. */
struct cause {
    uint64_t sig;      /* 0: free */
    char *ci, *check, *service;
    struct ad_cand_incident *inc; /* owned, cap_inc of them (most causes recur never) */
    uint32_t n_inc, cap_inc, total;
    uint32_t version;  /* of its problem candidate; 0: none raised yet */
    int64_t last_ns;
};

struct ad_sw_problems {
    struct cause *causes;   /* one per cause signature, max_problems at most */
    uint32_t n_causes, cap_causes;
    struct ad_u64map by_sig;
};

int ad_sw_problems_create(struct ad_sw_problems **ret)
{
    struct ad_sw_problems *p = calloc(1, sizeof(*p));
    if (!p || ad_u64map_init(&p->by_sig, 64) < 0) {
        free(p);
        return -ENOMEM;
    }
    *ret = p;
    return 0;
}

static void cause_free(struct cause *k)
{
    free(k->inc);
    free(k->ci);
    free(k->check);
    free(k->service);
    memset(k, 0, sizeof(*k));
}

void ad_sw_problems_destroy(struct ad_sw_problems *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n_causes; i++)
        cause_free(&p->causes[i]);
    free(p->causes);
    ad_u64map_fini(&p->by_sig);
    free(p);
}

size_t ad_sw_problems_tracked(const struct ad_sw_problems *p)
{
    return p->n_causes;
}

static uint64_t cause_sig(const char *ci, const char *check)
{
    uint64_t h = ad_hash_field(0xca05e, ad_str_c(ci));
    return ad_u64map_key(ad_hash_field(h, ad_str_c(check)));
}

/* The cause record of sig, created (the least recently active forgotten past max_problems);
 * NULL when out of memory. Records stay in a dense array, so indices move on removal. */
static struct cause *cause_get(struct ad_svcwin *s, uint64_t sig, const struct ad_cand_member *root,
                               int64_t now_ns)
{
    struct ad_sw_problems *p = s->prob;
    uint32_t i;
    if (ad_u64map_get(&p->by_sig, sig, &i))
        return &p->causes[i];
    if (p->n_causes >= s->cfg.max_problems && p->n_causes > 0) {
        /* The least recently seen of 64 records sampled at places the new signature decides:
         * bounded work at the bound, and the same choice in a replay or after a restore. */
        uint32_t old = (uint32_t)(sig % p->n_causes);
        for (uint32_t j = 1; j < 64 && j < p->n_causes; j++) {
            uint32_t k = (uint32_t)((sig + (uint64_t)j * 0x9E3779B1u) % p->n_causes);
            if (p->causes[k].last_ns < p->causes[old].last_ns)
                old = k;
        }
        ad_u64map_del(&p->by_sig, p->causes[old].sig);
        cause_free(&p->causes[old]);
        uint32_t last = --p->n_causes;
        if (old != last) {
            p->causes[old] = p->causes[last];
            ad_u64map_put(&p->by_sig, p->causes[old].sig, old); /* overwrite: no allocation */
        }
        memset(&p->causes[last], 0, sizeof(p->causes[last]));
        s->st.causes_forgotten++;
    }
    if (p->n_causes == p->cap_causes) {
        uint32_t cap = p->cap_causes ? p->cap_causes * 2 : 16;
        struct cause *v = realloc(p->causes, (size_t)cap * sizeof(*v));
        if (!v)
            return NULL;
        p->causes = v;
        p->cap_causes = cap;
    }
    struct cause *k = &p->causes[p->n_causes];
    memset(k, 0, sizeof(*k));
    k->sig = sig;
    k->ci = strdup(root->resource);
    k->check = strdup(root->check);
    k->service = strdup(root->service ? root->service : "");
    k->last_ns = now_ns;
    if (!k->ci || !k->check || !k->service || ad_u64map_put(&p->by_sig, sig, p->n_causes) < 0) {
        cause_free(k);
        return NULL;
    }
    return &p->causes[p->n_causes++];
}

/* Raises (version 1) or updates the problem candidate of a cause. */
static int emit_problem(struct ad_svcwin *s, struct cause *k, int64_t now_ns,
                        const struct ad_cand_sink *sink)
{
    struct ad_candidate p;
    char title[320], reason[256];
    memset(&p, 0, sizeof(p));
    p.type = AD_CAND_PROBLEM;
    snprintf(p.id, sizeof(p.id), "prb-%016llx", (unsigned long long)k->sig);
    p.version = ++k->version;
    p.state = p.version == 1 ? AD_CAND_OPEN : AD_CAND_UPDATED;
    p.priority = 5;
    for (uint32_t i = 0; i < k->n_inc; i++)
        if (k->inc[i].priority < p.priority)
            p.priority = k->inc[i].priority;
    snprintf(title, sizeof(title), "Recurring %.100s on %.100s: %u incidents within %llds",
             k->check, k->ci, k->n_inc, (long long)(s->cfg.problem_period_ns / AD_NS_PER_S));
    snprintf(reason, sizeof(reason),
             "%u incidents with root cause %.80s / %.80s within %llds (threshold %llu)", k->n_inc,
             k->ci, k->check, (long long)(s->cfg.problem_period_ns / AD_NS_PER_S),
             (unsigned long long)s->cfg.problem_threshold);
    p.title = title;
    p.reason = reason;
    p.service = k->service;
    p.ci = k->ci;
    p.cause_ci = k->ci;
    p.cause_check = k->check;
    p.incidents = k->inc;
    p.n_incidents = k->n_inc;
    p.incidents_total = k->total;
    p.period_ns = s->cfg.problem_period_ns;
    p.first_seen_ns = k->inc[0].first_seen_ns;
    p.last_seen_ns = k->inc[k->n_inc - 1].resolved_ns;
    p.updated_ns = now_ns;
    if (p.version == 1)
        s->st.problems_raised++;
    else
        s->st.problem_updates++;
    return sink->emit(sink->ctx, &p); /* p borrows everything: nothing to free */
}

/* A resolved incident counts for the cause of its root alert; problem_threshold of them within
 * problem_period raise (then update) that cause's problem candidate. A reopened incident that
 * resolves again is counted once. */
void ad_sw_problems_resolved(struct ad_svcwin *s, const struct ad_candidate *c, int64_t now_ns,
                             const struct ad_cand_sink *sink)
{
    if (s->cfg.problem_threshold == 0 || c->n_members == 0)
        return;
    const struct ad_cand_member *root = &c->members[c->root_member < c->n_members ? c->root_member : 0];
    struct cause *k = cause_get(s, cause_sig(root->resource, root->check), root, now_ns);
    if (!k) {
        s->st.oom++;
        return;
    }
    k->last_ns = now_ns;
    for (uint32_t i = 0; i < k->n_inc; i++)
        if (strcmp(k->inc[i].id, c->id) == 0)
            return;
    /* Forget incidents that fell out of the period, then make room. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < k->n_inc; i++)
        if (now_ns - k->inc[i].first_seen_ns <= s->cfg.problem_period_ns)
            k->inc[keep++] = k->inc[i];
    k->n_inc = keep;
    if (k->n_inc == CAUSE_MAX_INCIDENTS) {
        memmove(&k->inc[0], &k->inc[1], (CAUSE_MAX_INCIDENTS - 1) * sizeof(k->inc[0]));
        k->n_inc--;
    }
    if (k->n_inc == k->cap_inc) {
        uint32_t cap = k->cap_inc ? k->cap_inc * 2 : 2;
        struct ad_cand_incident *v = realloc(k->inc, (size_t)cap * sizeof(*v));
        if (!v) {
            s->st.oom++;
            return;
        }
        k->inc = v;
        k->cap_inc = cap;
    }
    struct ad_cand_incident *x = &k->inc[k->n_inc++];
    memset(x, 0, sizeof(*x));
    snprintf(x->id, sizeof(x->id), "%s", c->id);
    x->first_seen_ns = c->first_seen_ns;
    x->resolved_ns = now_ns;
    x->priority = c->priority;
    x->alert_count = c->alert_count;
    k->total++;
    if (k->n_inc >= s->cfg.problem_threshold)
        emit_problem(s, k, now_ns, sink);
}

void ad_sw_problems_save(const struct ad_sw_problems *p, struct ad_wr *w)
{
    ad_wr_u32(w, p->n_causes);
    for (uint32_t i = 0; i < p->n_causes; i++) {
        const struct cause *k = &p->causes[i];
        ad_wr_u64(w, k->sig);
        ad_wr_cstr(w, k->ci);
        ad_wr_cstr(w, k->check);
        ad_wr_cstr(w, k->service);
        ad_wr_u32(w, k->total);
        ad_wr_u32(w, k->version);
        ad_wr_i64(w, k->last_ns);
        ad_wr_u32(w, k->n_inc);
        for (uint32_t j = 0; j < k->n_inc; j++) {
            ad_wr_cstr(w, k->inc[j].id);
            ad_wr_i64(w, k->inc[j].first_seen_ns);
            ad_wr_i64(w, k->inc[j].resolved_ns);
            ad_wr_u32(w, (uint32_t)k->inc[j].priority);
            ad_wr_u32(w, k->inc[j].alert_count);
        }
    }
}

int ad_sw_problems_load(struct ad_svcwin *s, struct ad_rd *r)
{
    struct ad_sw_problems *p = s->prob;
    uint32_t n = ad_rd_u32(r);
    if (r->bad || n > s->cfg.max_problems || n > r->n / 32)
        return -EINVAL;
    if (n) {
        p->causes = calloc(n, sizeof(*p->causes));
        if (!p->causes)
            return -ENOMEM;
        p->cap_causes = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct cause *k = &p->causes[i];
        k->sig = ad_rd_u64(r);
        k->ci = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        k->check = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        k->service = ad_rd_strdup(r, AD_SW_SNAP_MAX_STR);
        k->total = ad_rd_u32(r);
        k->version = ad_rd_u32(r);
        k->last_ns = ad_rd_i64(r);
        uint32_t n_inc = ad_rd_u32(r);
        p->n_causes = i + 1; /* owned strings freed by destroy on failure */
        if (r->bad || k->sig == 0 || n_inc > CAUSE_MAX_INCIDENTS)
            return -EINVAL;
        if (n_inc && !(k->inc = calloc(n_inc, sizeof(*k->inc))))
            return -ENOMEM;
        k->n_inc = k->cap_inc = n_inc;
        for (uint32_t j = 0; j < k->n_inc; j++) {
            char *id = ad_rd_strdup(r, AD_CAND_ID_LEN);
            if (!id)
                return -EINVAL;
            snprintf(k->inc[j].id, sizeof(k->inc[j].id), "%s", id);
            free(id);
            k->inc[j].first_seen_ns = ad_rd_i64(r);
            k->inc[j].resolved_ns = ad_rd_i64(r);
            k->inc[j].priority = (int)ad_rd_u32(r);
            k->inc[j].alert_count = ad_rd_u32(r);
        }
        if (r->bad || ad_u64map_put(&p->by_sig, k->sig, i) < 0)
            return -EINVAL;
    }
    return 0;
}
