/* correlators/service_window.c: one incident candidate per service and window.
 * Candidates live in a slot array; a u64 map finds the live candidate of a service (by the hash
 * of its name) and another finds the candidate of each member fingerprint (for resolves).
 * Pure: no I/O, no clock. */
#include "correlators/service_window.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/hash.h"
#include "common/metrics.h"
#include "common/ser.h"
#include "common/u64map.h"
#include "correlators/candidate.h"

#define NIL UINT32_MAX

struct slot {
    struct ad_candidate c;
    bool used;
    bool dirty;          /* changed since the last emitted version */
    uint64_t svc_key;    /* key in by_service while this slot is the service's live candidate */
    uint32_t next_free;
};

struct ad_svcwin {
    struct ad_svcwin_cfg cfg;
    struct slot *slots;
    uint32_t cap, n_used, free_head;
    struct ad_u64map by_service;     /* hash(service) -> slot */
    struct ad_u64map by_fp;          /* member fingerprint -> slot */
    struct ad_svcwin_stats st;
};

static const char *const NAME = "service_window";

int ad_svcwin_create(const struct ad_svcwin_cfg *cfg, struct ad_svcwin **ret, struct ad_err *reterr)
{
    struct ad_svcwin *s = calloc(1, sizeof(*s));
    if (!s)
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    s->cfg = *cfg;
    s->free_head = NIL;
    if (ad_u64map_init(&s->by_service, 256) < 0 || ad_u64map_init(&s->by_fp, 1024) < 0) {
        ad_svcwin_destroy(s);
        return ad_err_set(reterr, ENOMEM, "correlators.service_window: out of memory");
    }
    *ret = s;
    return 0;
}

void ad_svcwin_destroy(struct ad_svcwin *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            ad_candidate_fini(&s->slots[i].c);
    free(s->slots);
    ad_u64map_fini(&s->by_service);
    ad_u64map_fini(&s->by_fp);
    free(s);
}

static uint64_t service_key(struct ad_str service)
{
    return ad_u64map_key(ad_hash_field(0x5e41ce, service));
}

static char *dup_str(struct ad_str s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.p, s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Interim priority until impact x urgency (issue 5): the highest firing severity decides. */
static int priority_of(enum ad_severity sev) { return 5 - (int)sev; }

static int emit(struct ad_svcwin *s, struct slot *sl, int64_t now_ns, const struct ad_cand_sink *sink)
{
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
    struct slot *sl = &s->slots[idx];
    uint32_t v;
    for (uint32_t i = 0; i < sl->c.n_members; i++)
        if (ad_u64map_get(&s->by_fp, sl->c.members[i].fingerprint, &v) && v == idx)
            ad_u64map_del(&s->by_fp, sl->c.members[i].fingerprint);
    if (sl->svc_key && ad_u64map_get(&s->by_service, sl->svc_key, &v) && v == idx)
        ad_u64map_del(&s->by_service, sl->svc_key);
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
        struct slot *slots = realloc(s->slots, (size_t)cap * sizeof(*slots));
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

static void set_title(struct ad_candidate *c)
{
    const struct ad_cand_member *m = &c->members[0];
    size_t n = strlen(m->check) + strlen(m->resource) + 64;
    char *t = malloc(n);
    if (!t)
        return; /* keep the previous title */
    if (c->alert_count > 1)
        snprintf(t, n, "%s on %s and %u more alert%s", m->check, m->resource, c->alert_count - 1,
                 c->alert_count == 2 ? "" : "s");
    else
        snprintf(t, n, "%s on %s", m->check, m->resource);
    free(c->title);
    c->title = t;
}

/* Adds ev as a member; returns 0, or -ENOMEM. Past max_members the alert is only counted. */
static int add_member(struct ad_svcwin *s, uint32_t idx, const struct ad_event *ev)
{
    struct ad_candidate *c = &s->slots[idx].c;
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
    m->resource = dup_str(ev->resource);
    m->check = dup_str(ev->check);
    if (!m->resource || !m->check || ad_u64map_put(&s->by_fp, ev->fingerprint, idx) < 0) {
        free(m->resource);
        free(m->check);
        return -ENOMEM;
    }
    m->fingerprint = ev->fingerprint;
    m->severity = ev->severity;
    m->status = AD_STATUS_FIRING;
    m->first_seen_ns = m->last_seen_ns = ev->time_ns;
    m->count = 1;
    c->n_members++;
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
static bool recompute_severity(struct ad_candidate *c)
{
    enum ad_severity sev = AD_SEV_INFO;
    bool any = false;
    for (uint32_t i = 0; i < c->n_members; i++)
        if (c->members[i].status == AD_STATUS_FIRING && c->members[i].severity >= sev) {
            sev = c->members[i].severity;
            any = true;
        }
    if (!any)
        sev = c->severity;
    int prio = priority_of(sev);
    bool changed = prio != c->priority;
    c->severity = sev;
    c->priority = prio;
    return changed;
}

static int open_candidate(struct ad_svcwin *s, const struct ad_event *ev,
                          const struct ad_cand_sink *sink)
{
    uint32_t idx;
    if (alloc_slot(s, ev->time_ns, sink, &idx) < 0) {
        s->st.oom++;
        return -ENOMEM;
    }
    struct slot *sl = &s->slots[idx];
    memset(sl, 0, sizeof(*sl));
    sl->used = true;
    struct ad_candidate *c = &sl->c;
    /* Deterministic id: the same event stream always yields the same ids (replay-safe). */
    uint64_t h = ad_hash_field(0x1cc1de47, ev->service);
    h = ad_hash64(&ev->fingerprint, sizeof(ev->fingerprint), h);
    h = ad_hash64(&ev->time_ns, sizeof(ev->time_ns), h);
    snprintf(c->id, sizeof(c->id), "inc-%016llx", (unsigned long long)h);
    c->state = AD_CAND_OPEN;
    c->service = dup_str(ev->service);
    c->ci = dup_str(ev->resource);
    c->correlator = NAME;
    c->first_seen_ns = c->last_seen_ns = ev->time_ns;
    c->severity = ev->severity;
    c->priority = priority_of(ev->severity);
    size_t rn = ev->service.len + 64;
    c->reason = malloc(rn);
    if (c->reason)
        snprintf(c->reason, rn, "same service '%.*s' within %llds", (int)ev->service.len,
                 ev->service.p, (long long)(s->cfg.window_ns / 1000000000));
    if (!c->service || !c->ci || !c->reason || add_member(s, idx, ev) < 0) {
        forget(s, idx);
        s->st.oom++;
        return -ENOMEM;
    }
    c->event_count = 1;
    set_title(c);
    sl->svc_key = service_key(ev->service);
    if (ad_u64map_put(&s->by_service, sl->svc_key, idx) < 0) {
        forget(s, idx);
        s->st.oom++;
        return -ENOMEM;
    }
    s->st.opened++;
    return emit(s, sl, ev->time_ns, sink);
}

static int on_new_alert(struct ad_svcwin *s, const struct ad_event *ev,
                        const struct ad_cand_sink *sink)
{
    uint32_t idx;
    uint64_t key = service_key(ev->service);
    if (!ad_u64map_get(&s->by_service, key, &idx) ||
        ev->time_ns - s->slots[idx].c.last_seen_ns > s->cfg.window_ns)
        return open_candidate(s, ev, sink);

    struct slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    bool was_resolved = c->state == AD_CAND_RESOLVED;
    if (m) {
        /* The same alert fires again after its resolve. */
        if (m->status == AD_STATUS_RESOLVED)
            c->alerts_firing++;
        m->status = AD_STATUS_FIRING;
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
        set_title(c);
        s->st.joined++;
    }
    touch(c, ev);
    bool prio_changed = recompute_severity(c);
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
    struct slot *sl = &s->slots[idx];
    struct ad_candidate *c = &sl->c;
    struct ad_cand_member *m = find_member(c, ev->fingerprint);
    if (!m)
        return 0;
    touch(c, ev);
    m->last_seen_ns = ev->time_ns > m->last_seen_ns ? ev->time_ns : m->last_seen_ns;
    m->count++;
    if (ev->flags & AD_EVF_RESOLVED) {
        if (m->status == AD_STATUS_FIRING && c->alerts_firing > 0)
            c->alerts_firing--;
        m->status = AD_STATUS_RESOLVED;
    } else if (ev->flags & AD_EVF_ESCALATED) {
        m->severity = ev->severity;
    }
    bool prio_changed = recompute_severity(c);
    if (c->alerts_firing == 0 && c->members_omitted == 0 && c->state != AD_CAND_RESOLVED) {
        c->state = AD_CAND_RESOLVED;
        s->st.resolved++;
        return emit(s, sl, ev->time_ns, sink);
    }
    if (c->state == AD_CAND_RESOLVED)
        return 0;
    sl->dirty = true;
    c->state = AD_CAND_UPDATED;
    if (prio_changed || ev->time_ns - c->updated_ns >= s->cfg.update_interval_ns)
        return emit(s, sl, ev->time_ns, sink);
    return 0;
}

int ad_svcwin_correlate(struct ad_svcwin *s, const struct ad_event *ev, const struct ad_cand_sink *sink)
{
    if (ev->kind != AD_KIND_ALERT || ev->fingerprint == 0)
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
        struct slot *sl = &s->slots[i];
        if (!sl->used)
            continue;
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
    ret->tracked_alerts = s->by_fp.n;
    size_t bytes = sizeof(*s) + (size_t)s->cap * sizeof(struct slot) +
                   ad_u64map_bytes(&s->by_service) + ad_u64map_bytes(&s->by_fp);
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i].used)
            bytes += (size_t)s->slots[i].c.cap_members * sizeof(struct ad_cand_member);
    ret->bytes = bytes;
}

/* --- snapshot ----------------------------------------------------------------------------- */

#define SVCWIN_SNAP_VERSION 1
#define SNAP_MAX_SLOTS (1u << 26)
#define SNAP_MAX_STR (1u << 20)

static void save_map(struct ad_wr *w, const struct ad_u64map *m)
{
    ad_wr_u64(w, m->n);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            ad_wr_u64(w, m->slots[i].key);
            ad_wr_u32(w, m->slots[i].val);
        }
}

/* Slot layout, free list and both maps are saved as they are, so that a restored correlator
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
    for (uint32_t i = 0; i < s->cap; i++) {
        const struct slot *sl = &s->slots[i];
        if (!sl->used)
            continue;
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
        }
    }
    save_map(w, &s->by_service);
    save_map(w, &s->by_fp);
    return w->err;
}

static int load_map(struct ad_svcwin *s, struct ad_rd *r, struct ad_u64map *m)
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

static int load_candidate(struct ad_rd *r, struct ad_candidate *c)
{
    char *id = ad_rd_strdup(r, AD_CAND_ID_LEN);
    if (id)
        memcpy(c->id, id, strlen(id) + 1);
    free(id);
    c->state = (enum ad_cand_state)ad_rd_u8(r);
    c->version = ad_rd_u32(r);
    c->priority = (int)ad_rd_u32(r);
    c->severity = (enum ad_severity)ad_rd_u8(r);
    c->service = ad_rd_strdup(r, SNAP_MAX_STR);
    c->ci = ad_rd_strdup(r, SNAP_MAX_STR);
    c->title = ad_rd_strdup(r, SNAP_MAX_STR);
    c->reason = ad_rd_strdup(r, SNAP_MAX_STR);
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
        m->resource = ad_rd_strdup(r, SNAP_MAX_STR);
        m->check = ad_rd_strdup(r, SNAP_MAX_STR);
        m->severity = (enum ad_severity)ad_rd_u8(r);
        m->status = (enum ad_status)ad_rd_u8(r);
        m->first_seen_ns = ad_rd_i64(r);
        m->last_seen_ns = ad_rd_i64(r);
        m->count = ad_rd_u32(r);
        c->n_members = k + 1; /* owned strings are freed by ad_candidate_fini on failure */
        if (r->bad || m->severity > AD_SEV_CRITICAL || m->status > AD_STATUS_RESOLVED)
            return -EINVAL;
    }
    return 0;
}

int ad_svcwin_load(struct ad_svcwin *s, struct ad_rd *r)
{
    if (s->cap != 0 || ad_rd_u32(r) != SVCWIN_SNAP_VERSION)
        return -EINVAL;
    uint32_t cap = ad_rd_u32(r), n_used = ad_rd_u32(r), n_free = ad_rd_u32(r);
    if (r->bad || cap > SNAP_MAX_SLOTS || n_used > cap || n_free > cap - n_used ||
        n_free > r->n / 4)
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
        struct slot *sl = &s->slots[i];
        sl->used = true;
        s->n_used++;
        sl->dirty = ad_rd_u8(r) != 0;
        sl->svc_key = ad_rd_u64(r);
        rc = load_candidate(r, &sl->c);
    }
    free(seen);
    /* Slots in neither list would be lost for good: refuse such a snapshot. */
    if (rc == 0 && n_used + n_free != cap)
        rc = -EINVAL;
    if (rc < 0)
        return rc;
    rc = load_map(s, r, &s->by_service);
    if (rc == 0)
        rc = load_map(s, r, &s->by_fp);
    return rc < 0 ? rc : r->bad ? -EINVAL : 0;
}

/* --- correlator ops ------------------------------------------------------------------- */

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
    AD_OPT_END,
};

static int op_create(const void *cfg, void **ret, struct ad_err *reterr)
{
    return ad_svcwin_create(cfg, (struct ad_svcwin **)ret, reterr);
}

static int op_reconfigure(void *state, const void *cfg, struct ad_err *reterr)
{
    (void)reterr;
    ((struct ad_svcwin *)state)->cfg = *(const struct ad_svcwin_cfg *)cfg;
    return 0;
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
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"reopened\"", st.reopened);
    ad_metrics_counter(m, "aiopsd_candidates_total", h, "transition=\"resolved\"", st.resolved);
    ad_metrics_counter(m, "aiopsd_candidate_updates_total", "Coalesced 'updated' entries emitted.",
                       NULL, st.updates_emitted);
    ad_metrics_counter(m, "aiopsd_candidates_evicted_total",
                       "Candidates evicted because max_open was reached.", NULL, st.evicted);
    ad_metrics_counter(m, "aiopsd_candidate_members_omitted_total",
                       "Alerts counted but not tracked (max_members).", NULL, st.members_omitted);
    ad_metrics_counter(m, "aiopsd_correlator_oom_total", "Events shed because memory ran out.",
                       NULL, st.oom);
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
    .doc = "Opens one incident candidate per service and time window (the backbone correlator).",
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
